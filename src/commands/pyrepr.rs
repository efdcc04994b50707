//! Python's `repr()` of JSON values: Meltano prints setting values that way (`'localhost'`,
//! `5432`, `None`, `True`, `['*.*']`), and scripts that read `config list` expect it.

use serde_json::Value;

/// `repr(value)` as Python prints the equivalent object.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// A Python string literal (`'a'`, `"it's"`), as smelt's Python expression engine prints it.
fn py_str(s: &str) -> String {
    smelt_pyexpr::Value::str(s).py_repr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reprs_match_python() {
        assert_eq!(py_repr(&json!("localhost")), "'localhost'");
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_repr(&json!("a'\"b")), "'a\\'\"b'");
        assert_eq!(py_repr(&json!(5432)), "5432");
        assert_eq!(py_repr(&json!(null)), "None");
        assert_eq!(py_repr(&json!(true)), "True");
        assert_eq!(py_repr(&json!(["*.*"])), "['*.*']");
        assert_eq!(py_repr(&json!({"a": [1, false]})), "{'a': [1, False]}");
        assert_eq!(py_repr(&json!("tab\there\u{1}")), "'tab\\there\\x01'");
    }
}
