//! The `smelt state` operations as library functions, so the CLI stays a thin shell (parse →
//! call → print) and every operation behaves the same on every [`StateBackend`].
//!
//! Semantics follow Meltano's `StateService`:
//!
//! * [`get_effective`]: completed state with partial state merged on top, `{}` when none
//!   (what `meltano state get` prints and what the next run starts from);
//! * [`set`]: the value (which must hold `singer_state`) becomes the completed state and
//!   partial state is emptied;
//! * [`merge`]/[`merge_from`]: the value (or another ID's effective state) is deep-merged onto
//!   the *partial* state, under the backend's lock, so concurrent merges lose nothing;
//! * [`copy`]/[`move_state`]: the source's effective state becomes the destination's
//!   completed state (a move then clears the source);
//! * [`clear`]/[`clear_all`], and [`export`]/[`import`] of every state as one JSON document
//!   ([`StateExport`]) for backups and migrations between backends;
//! * [`edit`]: round-trips the effective state through an editor.
//!
//! Every write goes through [`StateBackend::set`] or [`StateBackend::update`], so it is
//! atomic and, on lock-based backends, taken under the state ID's lock.
//!
//! [`StateBackend`]: crate::StateBackend
//! [`StateBackend::set`]: crate::StateBackend::set
//! [`StateBackend::update`]: crate::StateBackend::update

mod clear;
mod edit;
mod error;
mod export;
mod merge;
mod set;
mod transfer;
mod value;

pub use clear::{clear, clear_all};
pub use edit::{edit, EditOutcome};
pub use error::OpError;
pub use export::{
    existing_ids, export, import, ExportFormat, StateExport, EXPORT_FORMAT_KEY,
    EXPORT_FORMAT_VERSION,
};
pub use merge::{merge, merge_from};
pub use set::{get_effective, set};
pub use transfer::{copy, move_state};
pub use value::{check_state_value, parse_state_value};

#[cfg(test)]
pub(crate) mod test_support {
    //! A throwaway file backend for the operations' unit tests.

    use std::time::Duration;

    use crate::FileStateBackend;

    /// A file backend in a fresh temporary directory (kept alive by the returned guard).
    pub fn backend() -> (tempfile::TempDir, FileStateBackend) {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let backend = FileStateBackend::new(
            dir.path().join("state"),
            Duration::from_secs(10),
            Duration::from_millis(5),
        );
        (dir, backend)
    }

    /// Unwraps a result, showing the error's message on failure.
    pub fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
}
