//! Two facts about JSON values that several crates need the same way: Python's truthiness
//! (Meltano and the Singer SDK test values with Python's `if value:`) and the words error
//! messages use for a value's kind.

use serde_json::Value;

/// Python truthiness of a JSON value: `null`, `false`, `0`, `""`, `[]` and `{}` are falsy.
///
/// Meltano decides "is there any state?" and reads `selected-by-default` with Python's
/// `if value:`; mirroring it makes the same documents mean the same in both tools.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// "an object", "a string", ... for error messages about a JSON value's kind.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truthiness_matches_python() {
        for falsy in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!is_truthy(&falsy), "{falsy} should be falsy");
        }
        for truthy in [
            json!(true),
            json!(1),
            json!(-0.5),
            json!("x"),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(is_truthy(&truthy), "{truthy} should be truthy");
        }
    }

    #[test]
    fn kind_names() {
        assert_eq!(json_type_name(&json!([])), "an array");
        assert_eq!(json_type_name(&json!(null)), "null");
        assert_eq!(json_type_name(&json!({})), "an object");
    }
}
