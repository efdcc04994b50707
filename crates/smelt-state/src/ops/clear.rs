//! `state clear ID` and `state clear --all`: forget state so the next run starts fresh.

use super::OpError;
use crate::StateBackend;

/// Removes the state of `id`; clearing an ID without state is not an error (as in Meltano).
pub fn clear(backend: &dyn StateBackend, id: &str) -> Result<(), OpError> {
    Ok(backend.clear(id)?)
}

/// Removes every state in the backend and returns the IDs cleared, sorted. If one fails, the
/// error says how many were already cleared; running it again finishes the job.
pub fn clear_all(backend: &dyn StateBackend) -> Result<Vec<String>, OpError> {
    let ids = backend.list(None)?;
    for (done, id) in ids.iter().enumerate() {
        backend.clear(id).map_err(|source| OpError::Interrupted {
            done,
            total: ids.len(),
            verb: "cleared",
            id: id.clone(),
            source: Box::new(source),
        })?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{backend, ok};
    use crate::JobState;
    use serde_json::json;

    #[test]
    fn clear_one_leaves_the_others() {
        let (_d, b) = backend();
        for id in ["a", "b"] {
            ok(b.set(id, &JobState::from_singer_state(json!({}))));
        }
        ok(clear(&b, "a"));
        ok(clear(&b, "never-existed"));
        assert_eq!(ok(b.list(None)), vec!["b".to_string()]);
    }

    #[test]
    fn clear_all_removes_everything_and_reports_ids() {
        let (_d, b) = backend();
        for id in ["dev:x", "prod:y", "z"] {
            ok(b.set(id, &JobState::from_singer_state(json!({"k": 1}))));
        }
        assert_eq!(ok(clear_all(&b)), vec!["dev:x", "prod:y", "z"]);
        assert!(ok(b.list(None)).is_empty());
        assert!(ok(clear_all(&b)).is_empty());
    }
}
