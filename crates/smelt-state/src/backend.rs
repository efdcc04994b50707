//! The interface every place that stores job state implements, so the runtime and the `state`
//! commands work the same against the system database, a directory, or a cloud bucket.

use crate::{JobState, StateError};

/// A place where job states live, keyed by state ID.
///
/// Implementations: the system database (`smelt-systemdb`), the local directory
/// ([`crate::FileStateBackend`]), later S3/GCS/Azure/Postgres. All methods validate the state
/// ID with [`crate::validate_state_id`] first.
pub trait StateBackend: Send + Sync {
    /// A label for messages, e.g. `file:///x/state` or `systemdb (.meltano/smelt.db)`. Never
    /// contains credentials.
    fn name(&self) -> String;

    /// The stored state for `id`, or `None` when there is none. A stored document that cannot
    /// be parsed is reported as [`StateError::Corrupt`], never as `None`.
    fn get(&self, id: &str) -> Result<Option<JobState>, StateError>;

    /// Replace the state for `id` atomically: readers see the old or the new document, never a
    /// mix. Overwrites even a corrupt stored document (this is `state set --force`).
    fn set(&self, id: &str, state: &JobState) -> Result<(), StateError>;

    /// Read-modify-write under the backend's lock for `id`: `f` receives the current state
    /// (`None` if none) and returns the state to store, which is also returned. Concurrent
    /// updates of the same ID are serialized, so none is lost. If the stored document is
    /// corrupt, `f` is not called, nothing is written, and [`StateError::Corrupt`] is returned.
    /// If `f` fails, nothing is written and its error is returned.
    fn update(
        &self,
        id: &str,
        f: &mut dyn FnMut(Option<JobState>) -> Result<JobState, StateError>,
    ) -> Result<JobState, StateError>;

    /// State IDs that have stored state, sorted, optionally filtered by a glob pattern like
    /// Meltano's `state list --pattern 'dev:*'`.
    fn list(&self, pattern: Option<&str>) -> Result<Vec<String>, StateError>;

    /// Remove the state for `id`. Clearing an ID with no state is not an error.
    fn clear(&self, id: &str) -> Result<(), StateError>;

    /// Claims `id` for a whole `smelt run`: the duplicate-run guard, so two runs of one pipeline
    /// never interleave their state. Lock-based backends take the state ID's lock
    /// (`<id>/lock`, Meltano's format) without waiting: free or expired → taken; held and fresh
    /// → [`StateError::Locked`], unless `force`, which takes it over. While this instance holds
    /// the claim, its own `set`/`update` of `id` do not wait for that lock. The system
    /// database guards runs with its runs table instead and treats this as a no-op.
    fn claim_run(&self, id: &str, force: bool) -> Result<(), StateError>;

    /// Keeps a claim fresh (re-stamps the lock) so it does not expire during a long run; the
    /// runtime calls it every `lock_timeout / 3`. Fails if another process took the lock over.
    fn refresh_run(&self, id: &str) -> Result<(), StateError>;

    /// Ends a claim, removing the lock if it is still ours. Releasing an unclaimed ID is Ok.
    fn release_run(&self, id: &str) -> Result<(), StateError>;
}

/// Compile an optional `state list --pattern` glob, with a clear error when it is malformed.
///
/// Shared by backends so every backend accepts the same patterns.
pub fn compile_pattern(pattern: Option<&str>) -> Result<Option<glob::Pattern>, StateError> {
    pattern
        .map(|p| {
            glob::Pattern::new(p).map_err(|e| StateError::InvalidPattern {
                pattern: p.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
}

/// Whether `id` matches an optional compiled pattern (`None` matches everything).
pub fn pattern_matches(pattern: Option<&glob::Pattern>, id: &str) -> bool {
    pattern.is_none_or(|p| p.matches(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_filter_like_meltano_globs() {
        let p = compile_pattern(Some("dev:*")).ok().flatten();
        assert!(pattern_matches(p.as_ref(), "dev:tap-a-to-target-b"));
        assert!(!pattern_matches(p.as_ref(), "prod:tap-a-to-target-b"));
        let p = compile_pattern(Some("*tap-a*")).ok().flatten();
        assert!(pattern_matches(p.as_ref(), "prod:tap-a-to-target-b:sfx"));
        assert!(pattern_matches(None, "anything"));
    }

    #[test]
    fn malformed_pattern_is_reported() {
        let err = compile_pattern(Some("dev:[")).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("dev:[") && e.contains("glob")),
            "{err:?}"
        );
    }
}
