//! Checking state values users hand to `state set`, `merge` and `edit`: Meltano's rule is that
//! the value must have a top-level `singer_state`; we also require it to be an object so a tap
//! never receives a string or a list as its state.

use serde_json::Value;

use super::OpError;
use crate::SINGER_STATE_KEY;

/// Parses `text` (a command-line argument, a file's contents, an edited document) as a state
/// value and checks it with [`check_state_value`]. `origin` names the input in errors, e.g.
/// "the STATE argument" or "file state.json".
pub fn parse_state_value(text: &str, origin: &str) -> Result<Value, OpError> {
    let invalid = |reason: String| OpError::InvalidValue {
        origin: origin.to_string(),
        reason,
    };
    let value: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("it is not valid JSON ({e})")))?;
    check_state_value(&value).map_err(invalid)?;
    Ok(value)
}

/// Checks that `value` is `{"singer_state": {…}, …}`: a JSON object whose `singer_state` is an
/// object. Other top-level keys are kept, as Meltano keeps them. The error text says what is
/// wrong and shows the expected shape, recognising the two common mistakes (a bare Singer
/// state, and a stored `{completed, partial}` document).
pub fn check_state_value(value: &Value) -> Result<(), String> {
    const SHAPE: &str = "expected {\"singer_state\": {\"bookmarks\": {…}}}";
    let Value::Object(top) = value else {
        return Err(format!("{SHAPE}, found {}", crate::json_kind(value)));
    };
    match top.get(SINGER_STATE_KEY) {
        Some(Value::Object(_)) => Ok(()),
        Some(other) => Err(format!(
            "\"{SINGER_STATE_KEY}\" must be a JSON object, found {}",
            crate::json_kind(other)
        )),
        None if top.contains_key("completed") || top.contains_key("partial") => Err(format!(
            "this is a stored state document with \"completed\"/\"partial\"; give only the Singer \
             state, {SHAPE} (or use `smelt state import` for whole documents)"
        )),
        None if top.contains_key("bookmarks") || top.contains_key("currently_syncing") => {
            Err(format!(
                "this looks like a bare Singer state; wrap it as {{\"{SINGER_STATE_KEY}\": <your \
                 state>}}"
            ))
        }
        None => Err(format!(
            "\"{SINGER_STATE_KEY}\" not found in the top level of the provided state; {SHAPE}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reason(text: &str) -> String {
        match parse_state_value(text, "the STATE argument") {
            Err(OpError::InvalidValue { origin, reason }) => {
                assert_eq!(origin, "the STATE argument");
                reason
            }
            other => panic!("expected InvalidValue, got {other:?}"),
        }
    }

    #[test]
    fn accepts_singer_state_objects_and_keeps_extra_keys() {
        let v = parse_state_value(r#"{"singer_state": {"bookmarks": {}}, "x": 1}"#, "arg");
        assert_eq!(
            v.ok(),
            Some(json!({"singer_state": {"bookmarks": {}}, "x": 1}))
        );
        assert!(parse_state_value(r#"{"singer_state": {}}"#, "arg").is_ok());
    }

    #[test]
    fn refuses_bad_values_with_the_reason() {
        assert!(reason("{nope").contains("not valid JSON"));
        assert!(reason("[1]").contains("found an array"));
        assert!(
            reason(r#"{"singer_state": "x"}"#).contains("must be a JSON object, found a string")
        );
        assert!(reason(r#"{"singer_state": null}"#).contains("found null"));
        assert!(reason(r#"{"bookmarks": {"a": 1}}"#).contains("bare Singer state"));
        assert!(reason(r#"{"completed": {}, "partial": {}}"#).contains("state import"));
        assert!(reason(r#"{"other": 1}"#).contains("\"singer_state\" not found"));
        assert!(reason("").contains("not valid JSON"));
    }

    #[test]
    fn the_message_names_the_origin() {
        let e = parse_state_value("{}", "file s.json")
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.starts_with("file s.json is not a usable state")),
            "{e:?}"
        );
    }
}
