//! How acknowledged states combine with stored state: Meltano's `--state-strategy`.

use std::fmt;
use std::str::FromStr;

use crate::StateError;

/// Meltano's `--state-strategy auto|merge|overwrite`.
///
/// * `Overwrite`: each acknowledged state replaces the previous one; on success the last one
///   becomes the completed state.
/// * `Merge`: acknowledged states are deep-merged ([`crate::merge_values`]) onto what is
///   stored, so streams not synced in this run keep their bookmarks.
/// * `Auto`: Meltano's default. It means `Merge` for a `--full-refresh` run and `Overwrite`
///   otherwise; call [`StateStrategy::resolve`] with the run's full-refresh flag to get that
///   choice. Where no flag is known ([`crate::JobState::record_ack`] and
///   [`crate::JobState::complete_run`] given `Auto` directly) it behaves as `Overwrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateStrategy {
    /// Meltano's default: merge on full refresh, overwrite otherwise.
    #[default]
    Auto,
    /// Deep-merge new state onto stored state.
    Merge,
    /// Replace stored state with new state.
    Overwrite,
}

impl StateStrategy {
    /// The concrete strategy (`Merge` or `Overwrite`) for a run, following Meltano's
    /// `should_merge_states`: `Auto` merges only when `full_refresh` is set.
    pub fn resolve(self, full_refresh: bool) -> StateStrategy {
        match self {
            StateStrategy::Auto if full_refresh => StateStrategy::Merge,
            StateStrategy::Auto => StateStrategy::Overwrite,
            other => other,
        }
    }

    /// Whether new state is merged (true) or replaces (false); `Auto` counts as overwrite.
    pub fn merges(self) -> bool {
        matches!(self, StateStrategy::Merge)
    }

    /// The CLI spelling: `auto`, `merge` or `overwrite`.
    pub fn as_str(self) -> &'static str {
        match self {
            StateStrategy::Auto => "auto",
            StateStrategy::Merge => "merge",
            StateStrategy::Overwrite => "overwrite",
        }
    }
}

impl fmt::Display for StateStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StateStrategy {
    type Err = StateError;

    /// Parse the CLI value (case-insensitive, like Meltano's click choice).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(StateStrategy::Auto),
            "merge" => Ok(StateStrategy::Merge),
            "overwrite" => Ok(StateStrategy::Overwrite),
            _ => Err(StateError::Invalid {
                reason: format!(
                    "unknown state strategy {s:?}; expected one of: auto, merge, overwrite"
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_values() {
        assert_eq!(
            "auto".parse::<StateStrategy>().ok(),
            Some(StateStrategy::Auto)
        );
        assert_eq!(
            "Merge".parse::<StateStrategy>().ok(),
            Some(StateStrategy::Merge)
        );
        assert_eq!(
            "overwrite".parse::<StateStrategy>().ok(),
            Some(StateStrategy::Overwrite)
        );
        let err = "append"
            .parse::<StateStrategy>()
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("auto, merge, overwrite")),
            "{err:?}"
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            StateStrategy::Auto,
            StateStrategy::Merge,
            StateStrategy::Overwrite,
        ] {
            assert_eq!(s.to_string().parse::<StateStrategy>().ok(), Some(s));
        }
    }

    #[test]
    fn auto_resolves_like_meltano() {
        assert_eq!(StateStrategy::Auto.resolve(false), StateStrategy::Overwrite);
        assert_eq!(StateStrategy::Auto.resolve(true), StateStrategy::Merge);
        assert_eq!(
            StateStrategy::Overwrite.resolve(true),
            StateStrategy::Overwrite
        );
        assert_eq!(StateStrategy::Merge.resolve(false), StateStrategy::Merge);
        assert!(!StateStrategy::Auto.merges());
        assert!(StateStrategy::Merge.merges());
    }
}
