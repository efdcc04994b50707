//! What a state operation can fail with, phrased for people: what went wrong, which state ID
//! or input, and what to do next.

use std::path::PathBuf;

use crate::StateError;

/// An error from one of the [`crate::ops`] functions.
///
/// Storage problems arrive as [`OpError::State`]; the other variants are about the user's
/// request (a bad value, a missing source, an interrupted bulk operation, an edit session).
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The backend failed (corrupt stored state, lock held, I/O, database, invalid ID, ...).
    #[error(transparent)]
    State(#[from] StateError),

    /// A state value given by the user cannot be stored.
    #[error("{origin} is not a usable state: {reason}")]
    InvalidValue {
        /// Where the value came from, e.g. "the STATE argument" or "file x.json".
        origin: String,
        /// What is wrong with it and what shape is expected.
        reason: String,
    },

    /// The operation needs existing state at `id`, and there is none.
    #[error(
        "no state is stored for {id:?}, so there is nothing to {action}\n  hint: `smelt state \
         list` shows the state IDs that exist"
    )]
    NoState {
        /// The state ID without state.
        id: String,
        /// What we wanted to do with it, e.g. "copy".
        action: &'static str,
    },

    /// Source and destination are one state ID (a move would clear what it just wrote).
    #[error("source and destination are both {id:?}; {action} needs two different state IDs")]
    SameId {
        /// The repeated state ID.
        id: String,
        /// The operation, e.g. "move".
        action: &'static str,
    },

    /// A document given to `import` is not a state export.
    #[error("{origin} is not a state export: {reason}")]
    InvalidExport {
        /// Where the document came from (a file name or "stdin").
        origin: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A bulk operation (clear --all, import) failed part-way; the states before the failing
    /// one were already handled.
    #[error(
        "{done} of {total} state(s) were {verb} before {id:?} failed: {source}\n  hint: fix \
         the cause and run the command again; it is safe to repeat"
    )]
    Interrupted {
        /// How many states were handled before the failure.
        done: usize,
        /// How many there were in total.
        total: usize,
        /// What happened to the handled ones, e.g. "imported".
        verb: &'static str,
        /// The state ID that failed.
        id: String,
        /// Why it failed (boxed to keep the error small).
        #[source]
        source: Box<StateError>,
    },

    /// The editor could not be started or exited unsuccessfully.
    #[error("the editor failed: {reason}; nothing was changed")]
    Editor {
        /// What went wrong.
        reason: String,
    },

    /// The result of `state edit` cannot be stored; the edit is kept on disk.
    #[error(
        "the edited state for {id:?} was not saved: {reason}\n  your edit was kept at {}; fix \
         it and load it with `smelt state set {id} --input-file {} --force`",
        kept.display(),
        kept.display()
    )]
    InvalidEdit {
        /// The state ID being edited.
        id: String,
        /// What is wrong with the edited document.
        reason: String,
        /// Where the user's edit was kept.
        kept: PathBuf,
    },

    /// The stored state changed while the user was editing it; saving would have silently
    /// discarded that change, so nothing was written.
    #[error(
        "the state for {id:?} changed while you were editing it (a run may have saved new \
         bookmarks), so your edit was not saved\n  your edit was kept at {}; run `smelt state \
         edit {id}` again",
        kept.display()
    )]
    ChangedWhileEditing {
        /// The state ID being edited.
        id: String,
        /// Where the user's edit was kept.
        kept: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_input_and_the_next_step() {
        let e = OpError::NoState {
            id: "dev:a-to-b".into(),
            action: "copy",
        };
        let text = e.to_string();
        assert!(text.contains("\"dev:a-to-b\"") && text.contains("nothing to copy"));
        assert!(text.contains("smelt state list"), "{text}");

        let e = OpError::Interrupted {
            done: 2,
            total: 5,
            verb: "imported",
            id: "x".into(),
            source: Box::new(StateError::Backend("boom".into())),
        };
        let text = e.to_string();
        assert!(text.contains("2 of 5 state(s) were imported"), "{text}");
        assert!(text.contains("boom"), "{text}");

        let e = OpError::InvalidEdit {
            id: "x".into(),
            reason: "bad".into(),
            kept: PathBuf::from("/tmp/e.json"),
        };
        let text = e.to_string();
        assert!(
            text.contains("/tmp/e.json") && text.contains("--input-file"),
            "{text}"
        );
    }

    #[test]
    fn state_errors_pass_through_unchanged() {
        let inner = StateError::Backend("db down".into());
        let text = inner.to_string();
        assert_eq!(OpError::from(inner).to_string(), text);
    }
}
