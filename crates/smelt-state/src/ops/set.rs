//! Reading the state a run would start from, and replacing a state outright (`state set`).

use serde_json::{Map, Value};

use super::{check_state_value, OpError};
use crate::{JobState, StateBackend};

/// What `meltano state get` shows: the completed state with the partial state merged on top
/// (`{"singer_state": …}`), or `None` when nothing is stored for `id`.
pub fn get_effective(backend: &dyn StateBackend, id: &str) -> Result<Option<Value>, OpError> {
    Ok(backend.get(id)?.map(|s| s.effective_state()))
}

/// Replaces the state of `id` with `value`, like `meltano state set`: `value` (which must pass
/// [`check_state_value`]) becomes the completed state and the partial state is emptied.
/// Returns what was stored.
///
/// This overwrites whatever is stored, even a corrupt document; callers confirm with the user
/// first.
pub fn set(backend: &dyn StateBackend, id: &str, value: Value) -> Result<JobState, OpError> {
    check_state_value(&value).map_err(|reason| OpError::InvalidValue {
        origin: format!("the new state for {id:?}"),
        reason,
    })?;
    let state = JobState {
        completed: value,
        partial: Value::Object(Map::new()),
    };
    backend.set(id, &state)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{backend, ok};
    use crate::StateError;
    use serde_json::json;

    const ID: &str = "dev:tap-a-to-target-b";

    #[test]
    fn set_replaces_completed_and_empties_partial() {
        let (_d, b) = backend();
        ok(b.set(
            ID,
            &JobState {
                completed: json!({"singer_state": {"bookmarks": {"a": 1, "b": 1}}}),
                partial: json!({"singer_state": {"bookmarks": {"c": 1}}}),
            },
        ));
        let stored = ok(set(
            &b,
            ID,
            json!({"singer_state": {"bookmarks": {"z": 9}}}),
        ));
        assert_eq!(stored.partial, json!({}));
        assert_eq!(ok(b.get(ID)), Some(stored));
        assert_eq!(
            ok(get_effective(&b, ID)),
            Some(json!({"singer_state": {"bookmarks": {"z": 9}}}))
        );
    }

    #[test]
    fn set_refuses_values_without_singer_state_and_writes_nothing() {
        let (_d, b) = backend();
        let err = set(&b, ID, json!({"bookmarks": {}})).err();
        assert!(matches!(err, Some(OpError::InvalidValue { .. })), "{err:?}");
        assert_eq!(ok(b.get(ID)), None);
    }

    #[test]
    fn set_replaces_a_corrupt_document() {
        let (_d, b) = backend();
        let path = ok(b.state_path(ID));
        ok(std::fs::create_dir_all(path.parent().unwrap_or(&path)));
        ok(std::fs::write(&path, b"{torn"));
        assert!(matches!(b.get(ID), Err(StateError::Corrupt { .. })));
        ok(set(&b, ID, json!({"singer_state": {}})));
        assert!(ok(b.get(ID)).is_some());
    }

    #[test]
    fn get_effective_merges_partial_over_completed() {
        let (_d, b) = backend();
        assert_eq!(ok(get_effective(&b, ID)), None);
        ok(b.set(
            ID,
            &JobState {
                completed: json!({"singer_state": {"bookmarks": {"a": {"v": 1}, "b": {"v": 1}}}}),
                partial: json!({"singer_state": {"bookmarks": {"b": {"v": 2}}}}),
            },
        ));
        assert_eq!(
            ok(get_effective(&b, ID)),
            Some(json!({"singer_state": {"bookmarks": {"a": {"v": 1}, "b": {"v": 2}}}}))
        );
    }
}
