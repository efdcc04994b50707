//! The size and nesting limits every stored state obeys, on every backend.
//!
//! They are checked when state is written (a loader's acknowledgement, `state set`,
//! `state import`, a merge) and when it is read, so no state smelt accepted can make a backend
//! unreadable: the depth limit sits below the JSON parser's own recursion limit (128), and the
//! size limit keeps one state document from exhausting memory.

use serde_json::Value;

use crate::StateError;

/// Largest stored state document: 64 MiB of Meltano JSON.
pub const MAX_STATE_BYTES: usize = 64 * 1024 * 1024;

/// Deepest nesting of a stored state document, counting its `{"completed": {"singer_state":
/// …}}` wrapper. serde_json refuses documents nested past 128 levels, so a margin is kept for
/// the wrappers other tools (exports, Meltano) put around state.
pub const MAX_STATE_DEPTH: usize = 100;

/// How deeply `value` nests arrays and objects (a scalar is 0, `{}` is 1). Iterative, so a
/// deep value cannot overflow the stack.
pub fn json_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    deepest
}

/// Refuses a document nested deeper than [`MAX_STATE_DEPTH`] (`depth` as [`json_depth`]).
pub(crate) fn check_depth(depth: usize) -> Result<(), StateError> {
    if depth > MAX_STATE_DEPTH {
        return Err(StateError::Invalid {
            reason: format!(
                "it nests {depth} levels deep; smelt stores at most {MAX_STATE_DEPTH} levels \
                 (including the {{\"completed\": {{\"singer_state\": …}}}} wrapper) so every \
                 backend can read it back - flatten the state the plugin emits"
            ),
        });
    }
    Ok(())
}

/// Refuses a serialized document larger than [`MAX_STATE_BYTES`].
pub fn check_size(bytes: usize) -> Result<(), StateError> {
    if bytes > MAX_STATE_BYTES {
        return Err(StateError::Invalid {
            reason: format!(
                "it is {bytes} bytes; smelt stores at most {MAX_STATE_BYTES} bytes (64 MiB) \
                 of state per state ID so it can always be read back - keep less in the state \
                 the plugin emits"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_containers() {
        assert_eq!(json_depth(&json!(1)), 0);
        assert_eq!(json_depth(&json!({})), 1);
        assert_eq!(json_depth(&json!({"a": [1, {"b": []}]})), 4);
    }

    #[test]
    fn limits_name_the_cap() {
        assert!(check_depth(MAX_STATE_DEPTH).is_ok());
        let e = check_depth(MAX_STATE_DEPTH + 1)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("at most 100 levels")));
        assert!(check_size(MAX_STATE_BYTES).is_ok());
        assert!(check_size(MAX_STATE_BYTES + 1).is_err());
    }
}
