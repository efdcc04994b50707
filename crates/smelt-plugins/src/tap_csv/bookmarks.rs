//! tap-csv's state: where each incremental stream stopped, in the Singer SDK layout
//! `{"bookmarks": {"<entity>": {"replication_key": "<col>", "replication_key_value": "<max>"}}}`.
//!
//! The `--state` file may hold the bare Singer state or one of its usual wrappers (Meltano's
//! stored `{"completed": {"singer_state": ...}, "partial": ...}`, `{"singer_state": ...}`, or a
//! whole STATE message); anything else the state holds is carried through untouched.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::error::TapCsvError;

/// The Singer state a tap run starts from and keeps updating.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TapState {
    value: Value,
}

impl Default for TapState {
    fn default() -> Self {
        TapState {
            value: Value::Object(Map::new()),
        }
    }
}

impl TapState {
    /// Interprets the content of a `--state` file.
    pub(crate) fn from_file_value(value: Value) -> Result<Self, TapCsvError> {
        let bare = unwrap_state(value)?;
        match &bare {
            Value::Object(map) => {
                if let Some(bookmarks) = map.get("bookmarks") {
                    if !bookmarks.is_object() && !bookmarks.is_null() {
                        return Err(TapCsvError::State(format!(
                            "`bookmarks` must be an object, found {}",
                            smelt_plugin_sdk::json_type_name(bookmarks)
                        )));
                    }
                }
                Ok(TapState { value: bare })
            }
            other => Err(TapCsvError::State(format!(
                "the state must be a JSON object, found {}",
                smelt_plugin_sdk::json_type_name(other)
            ))),
        }
    }

    /// The bare Singer state, for a STATE message.
    pub(crate) fn value(&self) -> &Value {
        &self.value
    }

    /// The stored replication key value of `entity`, if the bookmark is for `replication_key`.
    /// Numbers are returned in their JSON spelling so they compare as numbers.
    pub(crate) fn bookmark(&self, entity: &str, replication_key: &str) -> Option<String> {
        let entry = self.value.get("bookmarks")?.get(entity)?;
        if let Some(stored_key) = entry.get("replication_key").and_then(Value::as_str) {
            if stored_key != replication_key {
                return None;
            }
        }
        match entry.get("replication_key_value")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The replication key a stored bookmark of `entity` was made with, if any.
    pub(crate) fn bookmark_key(&self, entity: &str) -> Option<&str> {
        self.value
            .get("bookmarks")?
            .get(entity)?
            .get("replication_key")?
            .as_str()
    }

    /// Records that `entity` has been read up to `value` of `replication_key`.
    pub(crate) fn set_bookmark(&mut self, entity: &str, replication_key: &str, value: &str) {
        let Value::Object(root) = &mut self.value else {
            return;
        };
        let bookmarks = root
            .entry("bookmarks")
            .or_insert_with(|| Value::Object(Map::new()));
        if !bookmarks.is_object() {
            *bookmarks = Value::Object(Map::new());
        }
        if let Value::Object(bookmarks) = bookmarks {
            let mut entry = Map::new();
            entry.insert("replication_key".into(), replication_key.into());
            entry.insert("replication_key_value".into(), value.into());
            bookmarks.insert(entity.to_string(), Value::Object(entry));
        }
    }
}

/// Peels the known wrappers off a stored state.
fn unwrap_state(value: Value) -> Result<Value, TapCsvError> {
    let Value::Object(mut map) = value else {
        return Ok(value);
    };
    if map.contains_key("bookmarks") {
        return Ok(Value::Object(map));
    }
    if map.get("type").and_then(Value::as_str) == Some("STATE") {
        if let Some(inner) = map.remove("value") {
            return unwrap_state(inner);
        }
    }
    if map.contains_key("completed") || map.contains_key("partial") {
        let completed = map
            .remove("completed")
            .and_then(singer_state_of)
            .unwrap_or(Value::Object(Map::new()));
        let partial = map.remove("partial").and_then(singer_state_of);
        let merged = match partial {
            Some(partial) => merge(completed, partial),
            None => completed,
        };
        return unwrap_state(merged);
    }
    if let Some(inner) = map.remove("singer_state") {
        return unwrap_state(inner);
    }
    Ok(Value::Object(map))
}

fn singer_state_of(wrapper: Value) -> Option<Value> {
    match wrapper {
        Value::Object(mut map) => map.remove("singer_state"),
        _ => None,
    }
}

/// Overlays `overlay` on `base`: objects merge key by key, anything else is replaced.
fn merge(base: Value, overlay: Value) -> Value {
    match (base, overlay) {
        (Value::Object(mut base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                let merged = match base.remove(&key) {
                    Some(existing) => merge(existing, value),
                    None => value,
                };
                base.insert(key, merged);
            }
            Value::Object(base)
        }
        (_, overlay) => overlay,
    }
}

/// Orders two replication key values: as numbers when both are finite numbers, else as
/// strings (so ISO-8601 timestamps of one format sort by time).
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or_else(|| a.cmp(b)),
        _ => a.cmp(b),
    }
}

fn as_number(text: &str) -> Option<f64> {
    let first = *text.as_bytes().first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_as_numbers_and_dates_as_strings() {
        assert_eq!(compare("10", "9"), Ordering::Greater);
        assert_eq!(compare("1e3", "999.5"), Ordering::Greater);
        assert_eq!(compare("-2", "-10"), Ordering::Greater);
        assert_eq!(
            compare("2024-01-10T00:00:00Z", "2024-01-09T23:59:59Z"),
            Ordering::Greater
        );
        assert_eq!(compare("b", "a"), Ordering::Greater);
        assert_eq!(compare("10", "9a"), Ordering::Less, "mixed → strings");
        assert_eq!(
            compare("nan", "inf"),
            Ordering::Greater,
            "words are strings"
        );
        assert_eq!(compare("5", "5.0"), Ordering::Equal);
    }

    #[test]
    fn accepts_bare_and_wrapped_states() {
        let bare =
            json!({"bookmarks": {"e": {"replication_key": "ts", "replication_key_value": "5"}}});
        let wrapped = [
            bare.clone(),
            json!({"singer_state": bare.clone()}),
            json!({"type": "STATE", "value": bare.clone()}),
            json!({"completed": {"singer_state": bare.clone()}, "partial": {}}),
            json!({"completed": {"singer_state": {"bookmarks": {"e": {"replication_key": "ts", "replication_key_value": "1"}}}},
                   "partial": {"singer_state": bare.clone()}}),
        ];
        for state in wrapped {
            let parsed = TapState::from_file_value(state.clone()).unwrap();
            assert_eq!(parsed.bookmark("e", "ts").as_deref(), Some("5"), "{state}");
            assert_eq!(parsed.value(), &bare);
        }
        let empty = TapState::from_file_value(json!({})).unwrap();
        assert_eq!(empty.bookmark("e", "ts"), None);
        assert!(TapState::from_file_value(json!([1])).is_err());
        assert!(TapState::from_file_value(json!({"bookmarks": 3})).is_err());
    }

    #[test]
    fn bookmarks_for_another_key_are_ignored_and_numbers_are_read() {
        let state = TapState::from_file_value(json!({"bookmarks": {
            "e": {"replication_key": "ts", "replication_key_value": 42}
        }}))
        .unwrap();
        assert_eq!(state.bookmark("e", "ts").as_deref(), Some("42"));
        assert_eq!(state.bookmark("e", "other"), None);
        assert_eq!(state.bookmark_key("e"), Some("ts"));
    }

    #[test]
    fn set_bookmark_keeps_other_streams_and_keys() {
        let mut state = TapState::from_file_value(json!({
            "bookmarks": {"other": {"replication_key": "x", "replication_key_value": "1"}},
            "currently_syncing": null
        }))
        .unwrap();
        state.set_bookmark("e", "ts", "2024");
        assert_eq!(
            state.value(),
            &json!({
                "bookmarks": {
                    "other": {"replication_key": "x", "replication_key_value": "1"},
                    "e": {"replication_key": "ts", "replication_key_value": "2024"}
                },
                "currently_syncing": null
            })
        );
        let mut fresh = TapState::default();
        fresh.set_bookmark("e", "ts", "1");
        assert_eq!(
            fresh.value(),
            &json!({"bookmarks": {"e": {"replication_key": "ts", "replication_key_value": "1"}}})
        );
    }
}
