//! Reading typed values out of a plugin's merged config.
//!
//! Config values reach a plugin from meltano.yml, environment variables or hand-written JSON,
//! so a boolean may arrive as `true`, `"true"`, `"on"` or `1`. Every plugin must accept the
//! same spellings and word the error the same way, so that reading lives here.

use serde_json::{Map, Value};

/// The boolean setting `key`: `default` when absent or null; `true`/`false`, the strings
/// `true`/`1`/`yes`/`on` and `false`/`0`/`no`/`off`/`""` (any case), and the numbers 1 and 0.
/// Anything else is an error naming the key and the value.
pub fn bool_setting(config: &Map<String, Value>, key: &str, default: bool) -> Result<bool, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" | "" => Ok(false),
            _ => Err(format!("`{key}` must be true or false, found \"{s}\"")),
        },
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(other) => Err(format!("`{key}` must be true or false, found {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: Value) -> Result<bool, String> {
        let mut config = Map::new();
        config.insert("k".into(), value);
        bool_setting(&config, "k", true)
    }

    #[test]
    fn accepts_the_usual_spellings() {
        assert_eq!(bool_setting(&Map::new(), "k", false), Ok(false));
        assert_eq!(read(json!(null)), Ok(true));
        assert_eq!(read(json!(false)), Ok(false));
        for yes in ["true", "TRUE", " on ", "yes", "1"] {
            assert_eq!(read(json!(yes)), Ok(true), "{yes}");
        }
        for no in ["false", "Off", "no", "0", ""] {
            assert_eq!(read(json!(no)), Ok(false), "{no}");
        }
        assert_eq!(read(json!(1)), Ok(true));
        assert_eq!(read(json!(0)), Ok(false));
    }

    #[test]
    fn rejects_everything_else_naming_the_key() {
        assert_eq!(
            read(json!("maybe")),
            Err("`k` must be true or false, found \"maybe\"".to_string())
        );
        assert_eq!(
            read(json!(2)),
            Err("`k` must be true or false, found 2".to_string())
        );
        assert!(read(json!([])).is_err());
    }
}
