//! The stored state of one pipeline (one state ID), in Meltano's `{completed, partial}` shape,
//! and the rules for how a run moves it forward.

use serde_json::{Map, Value};

use crate::merge::{is_truthy, merge_into, merge_values};
use crate::pyjson::{dumps, PyJsonStyle};
use crate::{StateError, StateStrategy};

/// The key under which Meltano keeps the Singer state inside `completed` and `partial`.
pub const SINGER_STATE_KEY: &str = "singer_state";

/// Meltano's stored state: `{"completed": {"singer_state": …}, "partial": {…}}`.
///
/// `completed` is the state of the last successful run; `partial` holds states a target
/// acknowledged during a run that has not (yet) succeeded. A tap receives `completed` with
/// `partial` merged on top ([`JobState::effective_singer_state`]), so progress acknowledged by
/// a failed run is never lost and never has to be redone.
///
/// Either side may be `{}`. A `null` read from a file is kept as `null` (so the file
/// round-trips byte for byte) and treated like `{}` everywhere else.
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    /// State of the last successful run (Meltano's `completed_state`).
    pub completed: Value,
    /// States acknowledged since then (Meltano's `partial_state`).
    pub partial: Value,
}

impl Default for JobState {
    fn default() -> Self {
        JobState {
            completed: Value::Object(Map::new()),
            partial: Value::Object(Map::new()),
        }
    }
}

impl JobState {
    /// An empty state: `{"completed": {}, "partial": {}}`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state `meltano state set <id> '<json>'` stores: `singer_state` becomes the completed
    /// state and `partial` is empty.
    pub fn from_singer_state(singer_state: Value) -> Self {
        let mut completed = Map::new();
        completed.insert(SINGER_STATE_KEY.to_string(), singer_state);
        JobState {
            completed: Value::Object(completed),
            partial: Value::Object(Map::new()),
        }
    }

    /// Build a state from its two halves (as stored in a database row), checking each is a
    /// JSON object or `null`.
    pub fn from_parts(completed: Value, partial: Value) -> Result<Self, StateError> {
        check_half("completed", &completed)?;
        check_half("partial", &partial)?;
        Ok(JobState { completed, partial })
    }

    /// Parse a `state.json` document as Meltano writes it.
    ///
    /// The top level must be an object; `"completed"` and `"partial"` must each be an object or
    /// `null` and default to `{}` when missing (as in Meltano). Other top-level keys are
    /// ignored like Meltano does — except that a document with neither key but other content
    /// is refused, because it is almost always a bare Singer state passed where a Meltano state
    /// was expected, and accepting it would silently mean "no state".
    ///
    /// Documents over [`crate::MAX_STATE_BYTES`] or nested deeper than
    /// [`crate::MAX_STATE_DEPTH`] are refused, the same limits writes obey.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StateError> {
        crate::limits::check_size(bytes.len())?;
        let value: Value = serde_json::from_slice(bytes).map_err(|e| StateError::Invalid {
            reason: format!("not valid JSON ({e})"),
        })?;
        let Value::Object(mut top) = value else {
            return Err(StateError::Invalid {
                reason: format!(
                    "expected a JSON object with \"completed\" and \"partial\" keys, found {}",
                    crate::json_kind(&value)
                ),
            });
        };
        let completed = top.shift_remove("completed");
        let partial = top.shift_remove("partial");
        if completed.is_none() && partial.is_none() && !top.is_empty() {
            let reason = if top.contains_key(SINGER_STATE_KEY) || top.contains_key("bookmarks") {
                "this looks like a bare Singer state; a stored state must look like \
                 {\"completed\": {\"singer_state\": <your state>}, \"partial\": {}}"
                    .to_string()
            } else {
                let keys: Vec<&str> = top.keys().map(String::as_str).collect();
                format!(
                    "expected \"completed\" and/or \"partial\" keys, found only {}",
                    keys.join(", ")
                )
            };
            return Err(StateError::Invalid { reason });
        }
        let state = JobState::from_parts(
            completed.unwrap_or_else(|| Value::Object(Map::new())),
            partial.unwrap_or_else(|| Value::Object(Map::new())),
        )?;
        state.check_depth()?;
        Ok(state)
    }

    /// Refuses a state nested deeper than [`crate::MAX_STATE_DEPTH`] (the stored document,
    /// wrapper included), so it is never stored where no reader could parse it back.
    pub fn check_depth(&self) -> Result<(), StateError> {
        let inner = crate::json_depth(&self.completed).max(crate::json_depth(&self.partial));
        crate::limits::check_depth(inner + 1)
    }

    /// [`JobState::to_meltano_json`] for storing: refuses (before anything is written) a
    /// state over [`crate::MAX_STATE_DEPTH`] or [`crate::MAX_STATE_BYTES`], so every stored
    /// state can be read back.
    pub fn to_stored_json(&self) -> Result<Vec<u8>, StateError> {
        self.check_depth()?;
        let bytes = self.to_meltano_json();
        crate::limits::check_size(bytes.len())?;
        Ok(bytes)
    }

    /// The bytes Meltano writes for this state: Python's `json.dumps({"completed": …,
    /// "partial": …})` — a single line, `", "` and `": "` separators, non-ASCII escaped, no
    /// trailing newline. Parsing a file Meltano wrote and writing it back gives the same bytes.
    pub fn to_meltano_json(&self) -> Vec<u8> {
        let mut top = Map::new();
        top.insert("completed".to_string(), self.completed.clone());
        top.insert("partial".to_string(), self.partial.clone());
        dumps(&Value::Object(top), PyJsonStyle::Default).into_bytes()
    }

    /// True when neither side holds anything (both `{}` or `null`).
    pub fn is_empty(&self) -> bool {
        !is_truthy(&self.completed) && !is_truthy(&self.partial)
    }

    /// `completed` with `partial` merged on top: what `meltano state get` shows and what the
    /// next run starts from. Always an object.
    pub fn effective_state(&self) -> Value {
        let mut merged = as_object_or_empty(&self.completed);
        merge_into(&mut merged, &as_object_or_empty(&self.partial));
        merged
    }

    /// The Singer state a tap should receive: `completed.singer_state` with
    /// `partial.singer_state` merged on top (partial wins). `None` when there is nothing
    /// (missing, `null`, `{}` — Python-falsy, as Meltano checks it), meaning "start fresh".
    pub fn effective_singer_state(&self) -> Option<Value> {
        self.effective_state()
            .get(SINGER_STATE_KEY)
            .filter(|v| is_truthy(v))
            .cloned()
    }

    /// Record a state the target acknowledged during a run.
    ///
    /// The acknowledged Singer state goes into `partial.singer_state`: replacing what is there
    /// (`Overwrite`, and `Auto`), or deep-merged onto it (`Merge`). `completed` is not touched
    /// until [`JobState::complete_run`], so a failed run keeps its progress as partial state
    /// without ever replacing the last good completed state.
    pub fn record_ack(&mut self, ack: Value, strategy: StateStrategy) {
        let mut partial = take_object(&mut self.partial);
        match (strategy.merges(), partial.get_mut(SINGER_STATE_KEY)) {
            (true, Some(existing)) => merge_into(existing, &ack),
            _ => {
                partial.insert(SINGER_STATE_KEY.to_string(), ack);
            }
        }
        self.partial = Value::Object(partial);
    }

    /// Settle a successful run: fold `partial` into `completed` and clear `partial`.
    ///
    /// `Merge` deep-merges partial onto completed. `Overwrite` (and `Auto`) replaces each key
    /// of completed (normally just `singer_state`) with partial's value — except that an empty
    /// value (`null`/`{}`) never replaces a non-empty one, so completed state is never replaced
    /// with nothing. With no partial state (the run acknowledged nothing) completed is left
    /// exactly as it was.
    pub fn complete_run(&mut self, strategy: StateStrategy) {
        let partial = std::mem::replace(&mut self.partial, Value::Object(Map::new()));
        let Value::Object(partial) = partial else {
            return;
        };
        if partial.is_empty() {
            return;
        }
        if strategy.merges() {
            let overlay = Value::Object(partial);
            self.completed = merge_values(&as_object_or_empty(&self.completed), &overlay);
            return;
        }
        let mut completed = take_object(&mut self.completed);
        for (key, value) in partial {
            let keeps_old = !is_truthy(&value) && completed.get(&key).is_some_and(is_truthy);
            if !keeps_old {
                completed.insert(key, value);
            }
        }
        self.completed = Value::Object(completed);
    }
}

fn check_half(name: &str, value: &Value) -> Result<(), StateError> {
    match value {
        Value::Object(_) | Value::Null => Ok(()),
        other => Err(StateError::Invalid {
            reason: format!(
                "\"{name}\" must be a JSON object, found {}",
                crate::json_kind(other)
            ),
        }),
    }
}

fn as_object_or_empty(value: &Value) -> Value {
    match value {
        Value::Object(_) => value.clone(),
        _ => Value::Object(Map::new()),
    }
}

/// Move the map out of `value` (leaving `null`); anything that is not an object becomes `{}`.
fn take_object(value: &mut Value) -> Map<String, Value> {
    match std::mem::take(value) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MELTANO_SAMPLE: &[u8] = include_bytes!("../testdata/meltano_state.json");

    fn parse(bytes: &[u8]) -> JobState {
        match JobState::from_json(bytes) {
            Ok(s) => s,
            Err(e) => panic!("parse failed: {e}"),
        }
    }

    fn invalid_reason(bytes: &[u8]) -> String {
        match JobState::from_json(bytes) {
            Err(StateError::Invalid { reason }) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn meltano_file_round_trips_byte_for_byte() {
        let state = parse(MELTANO_SAMPLE);
        assert_eq!(state.to_meltano_json(), MELTANO_SAMPLE);
        assert_eq!(
            state.partial,
            json!({"singer_state": {"bookmarks": {"orders": {"replication_key_value": 123456789999_u64}}}})
        );
    }

    #[test]
    fn empty_state_layout() {
        assert_eq!(
            JobState::new().to_meltano_json(),
            br#"{"completed": {}, "partial": {}}"#
        );
        let s = parse(br#"{"completed": null, "partial": {}}"#);
        assert_eq!(
            s.to_meltano_json(),
            br#"{"completed": null, "partial": {}}"#
        );
        assert!(s.is_empty());
    }

    #[test]
    fn missing_halves_default_to_empty() {
        let s = parse(br#"{"completed": {"singer_state": {"a": 1}}}"#);
        assert_eq!(s.partial, json!({}));
        assert_eq!(parse(b"{}"), JobState::new());
        let s = parse(br#"{"partial": {"singer_state": {"a": 1}}, "extra": 1}"#);
        assert_eq!(s.completed, json!({}));
    }

    #[test]
    fn shape_errors_have_clear_reasons() {
        assert!(invalid_reason(b"{not json").contains("not valid JSON"));
        assert!(invalid_reason(b"[1]").contains("found an array"));
        assert!(
            invalid_reason(br#"{"completed": []}"#).contains("\"completed\" must be a JSON object")
        );
        assert!(invalid_reason(br#"{"partial": "x"}"#)
            .contains("\"partial\" must be a JSON object, found a string"));
        assert!(
            invalid_reason(br#"{"singer_state": {"bookmarks": {}}}"#).contains("bare Singer state")
        );
        assert!(invalid_reason(br#"{"bookmarks": {}}"#).contains("bare Singer state"));
        assert!(invalid_reason(br#"{"foo": 1, "bar": 2}"#).contains("found only foo, bar"));
        assert!(invalid_reason(b"").contains("not valid JSON"));
        assert!(invalid_reason(&[0xff, 0xfe]).contains("not valid JSON"));
    }

    #[test]
    fn effective_singer_state_merges_partial_over_completed() {
        let s = JobState {
            completed: json!({"singer_state": {"bookmarks": {"a": {"v": 1}, "b": {"v": 1}}}}),
            partial: json!({"singer_state": {"bookmarks": {"b": {"v": 2}}}}),
        };
        assert_eq!(
            s.effective_singer_state(),
            Some(json!({"bookmarks": {"a": {"v": 1}, "b": {"v": 2}}}))
        );
    }

    #[test]
    fn effective_singer_state_none_when_empty() {
        assert_eq!(JobState::new().effective_singer_state(), None);
        let s = JobState {
            completed: json!({"singer_state": {}}),
            partial: Value::Null,
        };
        assert_eq!(s.effective_singer_state(), None);
        let only_partial = JobState {
            completed: Value::Null,
            partial: json!({"singer_state": {"x": 1}}),
        };
        assert_eq!(only_partial.effective_singer_state(), Some(json!({"x": 1})));
    }

    #[test]
    fn overwrite_acks_replace_partial_and_success_folds() {
        let mut s = JobState::from_singer_state(json!({"bookmarks": {"a": 1, "b": 1}}));
        s.record_ack(json!({"bookmarks": {"a": 2}}), StateStrategy::Overwrite);
        s.record_ack(json!({"bookmarks": {"b": 3}}), StateStrategy::Overwrite);
        assert_eq!(s.partial, json!({"singer_state": {"bookmarks": {"b": 3}}}));
        // completed untouched during the run
        assert_eq!(
            s.completed,
            json!({"singer_state": {"bookmarks": {"a": 1, "b": 1}}})
        );
        s.complete_run(StateStrategy::Overwrite);
        assert_eq!(
            s.completed,
            json!({"singer_state": {"bookmarks": {"b": 3}}})
        );
        assert_eq!(s.partial, json!({}));
    }

    #[test]
    fn merge_acks_accumulate_and_success_merges() {
        let mut s = JobState::from_singer_state(json!({"bookmarks": {"a": 1, "b": 1}}));
        s.record_ack(json!({"bookmarks": {"a": 2}}), StateStrategy::Merge);
        s.record_ack(json!({"bookmarks": {"c": 3}}), StateStrategy::Merge);
        assert_eq!(
            s.partial,
            json!({"singer_state": {"bookmarks": {"a": 2, "c": 3}}})
        );
        s.complete_run(StateStrategy::Merge);
        assert_eq!(
            s.completed,
            json!({"singer_state": {"bookmarks": {"a": 2, "b": 1, "c": 3}}})
        );
        assert_eq!(s.partial, json!({}));
    }

    #[test]
    fn auto_behaves_as_overwrite() {
        let mut auto = JobState::from_singer_state(json!({"k": {"a": 1}}));
        let mut over = auto.clone();
        for ack in [json!({"k": {"b": 1}}), json!({"k": {"c": 1}})] {
            auto.record_ack(ack.clone(), StateStrategy::Auto);
            over.record_ack(ack, StateStrategy::Overwrite);
        }
        auto.complete_run(StateStrategy::Auto);
        over.complete_run(StateStrategy::Overwrite);
        assert_eq!(auto, over);
        assert_eq!(auto.completed, json!({"singer_state": {"k": {"c": 1}}}));
    }

    #[test]
    fn failed_run_keeps_partial_and_next_run_resumes_from_it() {
        let mut s = JobState::from_singer_state(json!({"bookmarks": {"a": 1}}));
        s.record_ack(json!({"bookmarks": {"a": 5}}), StateStrategy::Overwrite);
        // the run fails: nobody calls complete_run; the stored document keeps both halves
        let stored = parse(&s.to_meltano_json());
        assert_eq!(
            stored.completed,
            json!({"singer_state": {"bookmarks": {"a": 1}}})
        );
        assert_eq!(
            stored.effective_singer_state(),
            Some(json!({"bookmarks": {"a": 5}}))
        );
    }

    #[test]
    fn success_without_acks_leaves_completed_untouched() {
        for strategy in [
            StateStrategy::Auto,
            StateStrategy::Merge,
            StateStrategy::Overwrite,
        ] {
            let mut s = JobState::from_singer_state(json!({"bookmarks": {"a": 1}}));
            let before = s.completed.clone();
            s.complete_run(strategy);
            assert_eq!(s.completed, before, "{strategy}");
            assert_eq!(s.partial, json!({}));
        }
        let mut nulls = JobState {
            completed: json!({"singer_state": {"a": 1}}),
            partial: Value::Null,
        };
        nulls.complete_run(StateStrategy::Overwrite);
        assert_eq!(nulls.completed, json!({"singer_state": {"a": 1}}));
        assert_eq!(nulls.partial, json!({}));
    }

    #[test]
    fn empty_ack_never_replaces_completed_with_nothing() {
        let mut s = JobState::from_singer_state(json!({"bookmarks": {"a": 1}}));
        s.record_ack(json!({}), StateStrategy::Overwrite);
        assert_eq!(
            s.effective_singer_state(),
            Some(json!({"bookmarks": {"a": 1}}))
        );
        s.complete_run(StateStrategy::Overwrite);
        assert_eq!(
            s.completed,
            json!({"singer_state": {"bookmarks": {"a": 1}}})
        );
    }

    #[test]
    fn first_run_acks_create_completed() {
        let mut s = JobState::new();
        s.record_ack(json!({"bookmarks": {"a": 1}}), StateStrategy::Merge);
        s.complete_run(StateStrategy::Merge);
        assert_eq!(
            s.completed,
            json!({"singer_state": {"bookmarks": {"a": 1}}})
        );
        let mut n = JobState {
            completed: Value::Null,
            partial: Value::Null,
        };
        n.record_ack(json!({"x": 1}), StateStrategy::Overwrite);
        n.complete_run(StateStrategy::Overwrite);
        assert_eq!(n.completed, json!({"singer_state": {"x": 1}}));
    }

    #[test]
    fn from_parts_checks_types() {
        assert!(JobState::from_parts(json!({}), Value::Null).is_ok());
        assert!(JobState::from_parts(json!([]), json!({})).is_err());
        assert!(JobState::from_parts(json!({}), json!(1)).is_err());
    }
}
