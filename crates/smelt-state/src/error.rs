//! The one error type every state operation returns, so callers (the CLI, the runtime) can print
//! a message that says what went wrong, where, and what to do about it.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while reading, validating or storing job state.
///
/// Each variant carries enough context for its `Display` text to name the state ID or file
/// involved and to suggest a next step.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A state document was handed to us (CLI input, plugin output) and does not have
    /// Meltano's shape. Backends report stored documents as [`StateError::Corrupt`] instead.
    #[error("invalid state: {reason}")]
    Invalid {
        /// What is wrong with the document.
        reason: String,
    },

    /// Stored state exists but cannot be read as a Meltano state document. The stored copy is
    /// left untouched so it can be inspected or repaired by hand.
    #[error(
        "stored state at {location} is corrupt: {reason}; it was left untouched - fix or remove \
         it by hand (or replace it with `state set --force`) before running again"
    )]
    Corrupt {
        /// Where the state lives (a file path, or a backend name plus state ID).
        location: String,
        /// Why it could not be read.
        reason: String,
    },

    /// A state ID that cannot be used (empty, path tricks, reserved delimiter, ...).
    #[error("invalid state ID {id:?}: {reason}")]
    InvalidId {
        /// The rejected state ID (or component).
        id: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A `--pattern` for listing state IDs that is not a valid glob.
    #[error("invalid state ID pattern {pattern:?}: {reason}; use a glob such as 'dev:*'")]
    InvalidPattern {
        /// The rejected pattern.
        pattern: String,
        /// The glob parser's complaint.
        reason: String,
    },

    /// A filesystem operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What we were doing, e.g. "write state file".
        action: String,
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// Another process held the lock for this state ID for longer than we were willing to wait.
    #[error(
        "state ID {id:?} is locked by another process (lock file {lock_path}{}); gave up after \
         {:.1}s. If no other smelt or meltano process is using this state, delete the lock file \
         and try again",
        locked_at.as_ref().map(|t| format!(", taken at {t}")).unwrap_or_default(),
        waited.as_secs_f64()
    )]
    Locked {
        /// The state ID whose lock could not be taken.
        id: String,
        /// Where the lock lives.
        lock_path: String,
        /// When the current holder took the lock, if known (RFC 3339, UTC).
        locked_at: Option<String>,
        /// How long we waited before giving up.
        waited: Duration,
    },

    /// A backend-specific failure (database, object store, ...), already phrased for people.
    #[error("state backend error: {0}")]
    Backend(String),
}

impl StateError {
    /// Build an [`StateError::Io`] from an `io::Error`, naming the action and path.
    pub fn io(action: impl Into<String>, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StateError::Io {
            action: action.into(),
            path: path.into(),
            source,
        }
    }

    /// Turn a document-level [`StateError::Invalid`] into [`StateError::Corrupt`] at `location`.
    ///
    /// Backends call this after parsing what they read, so the message names where the bad
    /// document is stored. Other variants pass through unchanged.
    pub fn located(self, location: impl Into<String>) -> Self {
        match self {
            StateError::Invalid { reason } => StateError::Corrupt {
                location: location.into(),
                reason,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_turns_invalid_into_corrupt() {
        let err = StateError::Invalid {
            reason: "not an object".into(),
        }
        .located("/tmp/x/state.json");
        match &err {
            StateError::Corrupt { location, reason } => {
                assert_eq!(location, "/tmp/x/state.json");
                assert_eq!(reason, "not an object");
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("/tmp/x/state.json"), "{text}");
        assert!(text.contains("left untouched"), "{text}");
    }

    #[test]
    fn located_keeps_other_errors() {
        let err = StateError::Backend("boom".into()).located("x");
        assert!(matches!(err, StateError::Backend(ref m) if m == "boom"));
    }

    #[test]
    fn locked_message_says_what_to_do() {
        let err = StateError::Locked {
            id: "dev:tap-to-target".into(),
            lock_path: "/s/dev:tap-to-target/lock".into(),
            locked_at: Some("2024-01-01T00:00:00Z".into()),
            waited: Duration::from_millis(2500),
        };
        let text = err.to_string();
        assert!(text.contains("taken at 2024-01-01T00:00:00Z"), "{text}");
        assert!(text.contains("2.5s"), "{text}");
        assert!(text.contains("delete the lock file"), "{text}");
    }
}
