//! `state copy` and `state move`: give one pipeline's bookmarks to another state ID (after a
//! rename of a plugin or environment, for instance).

use serde_json::Value;

use super::{check_state_value, set, OpError};
use crate::{JobState, StateBackend};

/// Stores the effective state of `src` (completed ⊕ partial) as the completed state of `dst`,
/// replacing what `dst` had, like `meltano state copy SRC DST`. `src` must have state and
/// differ from `dst`. Returns what was stored at `dst`.
pub fn copy(backend: &dyn StateBackend, src: &str, dst: &str) -> Result<JobState, OpError> {
    transfer(backend, src, dst, "copy")
}

/// [`copy`], then clear `src`, like `meltano state move SRC DST`. If clearing fails, `dst`
/// already holds the state and `src` still does too, so nothing is lost.
pub fn move_state(backend: &dyn StateBackend, src: &str, dst: &str) -> Result<JobState, OpError> {
    let stored = transfer(backend, src, dst, "move")?;
    backend.clear(src)?;
    Ok(stored)
}

fn transfer(
    backend: &dyn StateBackend,
    src: &str,
    dst: &str,
    action: &'static str,
) -> Result<JobState, OpError> {
    if src == dst {
        return Err(OpError::SameId {
            id: src.to_string(),
            action,
        });
    }
    crate::validate_state_id(dst)?;
    let value = source_state(backend, src, action)?;
    set(backend, dst, value)
}

/// The effective state of `src` (completed with partial merged on top), checked to be a
/// valid state value: what `copy`, `move` and `merge --from-state-id` carry over.
pub(crate) fn source_state(
    backend: &dyn StateBackend,
    src: &str,
    action: &'static str,
) -> Result<Value, OpError> {
    let source = backend.get(src)?.ok_or_else(|| OpError::NoState {
        id: src.to_string(),
        action,
    })?;
    let value = source.effective_state();
    check_state_value(&value).map_err(|reason| OpError::InvalidValue {
        origin: format!("the state of {src:?}"),
        reason,
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{backend, ok};
    use crate::StateError;
    use serde_json::json;

    fn source() -> JobState {
        JobState {
            completed: json!({"singer_state": {"bookmarks": {"a": 1}}}),
            partial: json!({"singer_state": {"bookmarks": {"b": 2}}}),
        }
    }

    #[test]
    fn copy_folds_partial_into_the_destinations_completed_state() {
        let (_d, b) = backend();
        ok(b.set("src", &source()));
        ok(b.set("dst", &JobState::from_singer_state(json!({"old": true}))));
        let stored = ok(copy(&b, "src", "dst"));
        assert_eq!(
            stored.to_meltano_json(),
            br#"{"completed": {"singer_state": {"bookmarks": {"a": 1, "b": 2}}}, "partial": {}}"#
        );
        assert_eq!(ok(b.get("dst")), Some(stored));
        assert_eq!(ok(b.get("src")), Some(source()));
    }

    #[test]
    fn move_clears_the_source() {
        let (_d, b) = backend();
        ok(b.set("src", &source()));
        ok(move_state(&b, "src", "dst"));
        assert_eq!(ok(b.get("src")), None);
        assert_eq!(
            ok(b.get("dst")).and_then(|s| s.effective_singer_state()),
            Some(json!({"bookmarks": {"a": 1, "b": 2}}))
        );
        assert_eq!(ok(b.list(None)), vec!["dst".to_string()]);
    }

    #[test]
    fn refuses_missing_sources_same_ids_and_bad_destinations() {
        let (_d, b) = backend();
        assert!(matches!(
            copy(&b, "nope", "dst"),
            Err(OpError::NoState { .. })
        ));
        ok(b.set("src", &source()));
        assert!(matches!(
            move_state(&b, "src", "src"),
            Err(OpError::SameId { .. })
        ));
        assert!(matches!(
            copy(&b, "src", "../x"),
            Err(OpError::State(StateError::InvalidId { .. }))
        ));
        assert_eq!(ok(b.get("src")), Some(source()));
        assert_eq!(ok(b.list(None)), vec!["src".to_string()]);
    }

    #[test]
    fn refuses_a_source_without_singer_state() {
        let (_d, b) = backend();
        ok(b.set("src", &JobState::new()));
        let err = copy(&b, "src", "dst").err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("the state of \"src\"")),
            "{err:?}"
        );
        assert_eq!(ok(b.get("dst")), None);
    }
}
