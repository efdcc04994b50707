//! `state merge`: add bookmarks to a state without touching the others, under the backend's
//! lock so concurrent merges (one per stream, say) never lose each other's work.

use serde_json::{Map, Value};

use super::{check_state_value, OpError};
use crate::{merge_values, JobState, StateBackend};

/// Deep-merges `value` (which must pass [`check_state_value`]) onto the *partial* state of
/// `id`, exactly like `meltano state merge ID STATE`: objects merge key by key, anything else
/// in `value` wins, the completed state is untouched, and an ID without state gets
/// `{"completed": {}, "partial": value}`. The next run starts from completed ⊕ partial.
///
/// Runs as one [`StateBackend::update`]: a corrupt stored document is reported and left as it
/// is. Returns the stored result.
pub fn merge(backend: &dyn StateBackend, id: &str, value: Value) -> Result<JobState, OpError> {
    check_state_value(&value).map_err(|reason| OpError::InvalidValue {
        origin: format!("the state to merge into {id:?}"),
        reason,
    })?;
    Ok(backend.update(id, &mut |current| {
        let mut state = current.unwrap_or_default();
        let partial = match &state.partial {
            Value::Object(_) => state.partial.clone(),
            _ => Value::Object(Map::new()),
        };
        state.partial = merge_values(&partial, &value);
        Ok(state)
    })?)
}

/// Merges the effective state of `src` (completed ⊕ partial, what `state get` shows) into
/// `dst` with [`merge`], like `meltano state merge DST --from-state-id SRC`. `src` must have
/// state; `src == dst` is refused.
pub fn merge_from(backend: &dyn StateBackend, dst: &str, src: &str) -> Result<JobState, OpError> {
    if src == dst {
        return Err(OpError::SameId {
            id: src.to_string(),
            action: "merge --from-state-id",
        });
    }
    let value = super::transfer::source_state(backend, src, "merge from")?;
    merge(backend, dst, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{backend, ok};
    use crate::StateError;
    use serde_json::json;

    const ID: &str = "dev:tap-a-to-target-b";

    #[test]
    fn merge_onto_nothing_becomes_partial_state() {
        let (_d, b) = backend();
        let stored = ok(merge(
            &b,
            ID,
            json!({"singer_state": {"bookmarks": {"a": 1}}}),
        ));
        assert_eq!(
            stored.to_meltano_json(),
            br#"{"completed": {}, "partial": {"singer_state": {"bookmarks": {"a": 1}}}}"#
        );
        assert_eq!(ok(b.get(ID)), Some(stored));
    }

    #[test]
    fn merge_deep_merges_into_partial_and_keeps_completed() {
        let (_d, b) = backend();
        ok(b.set(
            ID,
            &JobState {
                completed: json!({"singer_state": {"bookmarks": {"a": {"v": 1}}}}),
                partial: json!({"singer_state": {"bookmarks": {"b": {"v": 1, "w": 1}}}}),
            },
        ));
        let stored = ok(merge(
            &b,
            ID,
            json!({"singer_state": {"bookmarks": {"b": {"v": 2}, "c": {"v": 3}}}}),
        ));
        assert_eq!(
            stored.completed,
            json!({"singer_state": {"bookmarks": {"a": {"v": 1}}}})
        );
        assert_eq!(
            stored.partial,
            json!({"singer_state": {"bookmarks": {"b": {"v": 2, "w": 1}, "c": {"v": 3}}}})
        );
    }

    #[test]
    fn merge_refuses_bad_values_and_corrupt_state_without_writing() {
        let (_d, b) = backend();
        let err = merge(&b, ID, json!({"bookmarks": {}})).err();
        assert!(matches!(err, Some(OpError::InvalidValue { .. })), "{err:?}");
        assert_eq!(ok(b.get(ID)), None);

        let path = ok(b.state_path(ID));
        ok(std::fs::create_dir_all(path.parent().unwrap_or(&path)));
        ok(std::fs::write(&path, b"[1, 2"));
        let err = merge(&b, ID, json!({"singer_state": {}})).err();
        assert!(
            matches!(err, Some(OpError::State(StateError::Corrupt { .. }))),
            "{err:?}"
        );
        assert_eq!(ok(std::fs::read(&path)), b"[1, 2");
    }

    #[test]
    fn merge_from_uses_the_sources_effective_state() {
        let (_d, b) = backend();
        ok(b.set(
            "src",
            &JobState {
                completed: json!({"singer_state": {"bookmarks": {"a": 1}}}),
                partial: json!({"singer_state": {"bookmarks": {"b": 2}}}),
            },
        ));
        ok(b.set(
            "dst",
            &JobState::from_singer_state(json!({"bookmarks": {"z": 0}})),
        ));
        let stored = ok(merge_from(&b, "dst", "src"));
        assert_eq!(
            stored.partial,
            json!({"singer_state": {"bookmarks": {"a": 1, "b": 2}}})
        );
        assert_eq!(
            ok(b.get("dst")).map(|s| s.effective_singer_state()),
            Some(Some(json!({"bookmarks": {"z": 0, "a": 1, "b": 2}})))
        );
        // the source is untouched
        assert!(ok(b.get("src")).is_some_and(|s| s.partial != json!({})));
    }

    #[test]
    fn merge_from_needs_a_different_existing_source() {
        let (_d, b) = backend();
        assert!(matches!(
            merge_from(&b, "dst", "missing"),
            Err(OpError::NoState { ref id, .. }) if id == "missing"
        ));
        assert!(matches!(
            merge_from(&b, "same", "same"),
            Err(OpError::SameId { .. })
        ));
        assert_eq!(ok(b.get("dst")), None);
    }
}
