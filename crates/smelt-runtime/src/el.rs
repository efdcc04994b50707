//! What `smelt el` adds around the run engine: Meltano's default state ID for `el`, and the
//! state an extractor would start from (for `el --dump state` and for the engine itself).

use std::path::PathBuf;

use serde_json::Value;
use smelt_project::Plugin;

use crate::context::RunContext;
use crate::error::RunError;

/// The state ID Meltano 4's `el` uses when no `--state-id` is given:
/// `<UTC %Y-%m-%dT%H%M%S>--<extractor>--<loader>`, new on every run, so incremental state is
/// saved but never resumed from. Kept for compatibility (runs and state look the same as
/// under Meltano); `--state-id` is the way to resume.
pub fn ephemeral_state_id(extractor: &str, loader: &str) -> String {
    format!(
        "{}--{extractor}--{loader}",
        chrono::Utc::now().format("%Y-%m-%dT%H%M%S")
    )
}

/// Where an extractor's starting state comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtractorState {
    /// The file named by the extractor's `state` extra (or `el --state`), used as is.
    File(PathBuf),
    /// The stored state of the state ID: completed with partial merged on top.
    Stored(Value),
}

/// The state the extractor `tap` starts from under state ID `id`, the way Meltano decides it:
/// none when the tap lacks the `state` capability or with `--full-refresh`; else the `state`
/// extra's file (which must exist); none with `--no-state-update`; else the stored state, if
/// any. The one rule for both the run engine and `el --dump state`.
pub fn extractor_state(
    ctx: &RunContext,
    tap: &Plugin,
    id: &str,
) -> Result<Option<ExtractorState>, RunError> {
    if !tap.has_capability("state") || ctx.options.full_refresh {
        return Ok(None);
    }
    if let Some(file) = &tap.state {
        let path = ctx.project.root.join(file);
        if !path.is_file() {
            return Err(RunError::Launch {
                label: "extractor".into(),
                plugin: tap.name.clone(),
                message: format!("its state file {} does not exist", path.display()),
                hint: "fix the path given to --state or the extractor's `state` extra (relative to the project root)".into(),
            });
        }
        return Ok(Some(ExtractorState::File(path)));
    }
    if ctx.options.no_state_update {
        // Meltano 4: `--no-state-update` is a stateless run; stored state is not read either.
        return Ok(None);
    }
    let stored = ctx.state.get(id).map_err(|source| RunError::State {
        state_id: id.to_string(),
        source,
    })?;
    Ok(stored
        .and_then(|s| s.effective_singer_state())
        .map(ExtractorState::Stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_ids_look_like_meltanos() {
        let id = ephemeral_state_id("tap-x", "target-y");
        let (stamp, rest) = id.split_once("--").unwrap();
        assert_eq!(rest, "tap-x--target-y");
        assert_eq!(stamp.len(), "2026-01-02T030405".len(), "{id}");
        assert!(chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H%M%S").is_ok());
        smelt_state::validate_state_id(&id).unwrap();
    }
}
