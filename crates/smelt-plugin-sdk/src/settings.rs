//! Reading typed values out of a plugin's merged config.
//!
//! Config values reach a plugin from meltano.yml, environment variables or hand-written JSON,
//! so a boolean may arrive as `true`, `"true"`, `"on"` or `1`, a number as `5432` or `"5432"`,
//! a list as `["a"]`, `"[\"a\"]"` or `"a,b"`. Every plugin must accept the same spellings and
//! word the error the same way (the key, what was expected, what was found), so that reading
//! lives here.
//!
//! A string setting's value is never quoted in an error (it may be a password): any string is
//! accepted as a string, and other kinds are reported by their JSON type only.

use std::ops::RangeInclusive;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::json_type_name;

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

/// The string setting `key`, `None` when absent, null, empty or only blanks (an unset
/// environment variable arrives as `""`). A number is taken as its decimal text (YAML reads
/// `password: 1234` or `user: 1000` as numbers). Any other kind is an error naming the key and
/// the JSON type found — never the value, which may be a secret.
pub fn string_setting(config: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!(
            "`{key}` must be a string, found {}",
            json_type_name(other)
        )),
    }
}

/// The string setting `key`, which must be one of `choices` (exactly as written); `None` when
/// absent or blank. The error lists the choices and quotes what was found.
pub fn choice_setting<'c>(
    config: &Map<String, Value>,
    key: &str,
    choices: &[&'c str],
) -> Result<Option<&'c str>, String> {
    let Some(found) = string_setting(config, key)? else {
        return Ok(None);
    };
    choices
        .iter()
        .find(|c| **c == found)
        .map(|c| Some(*c))
        .ok_or_else(|| {
            format!(
                "`{key}` must be one of {}, found {found:?}",
                choices.join(", ")
            )
        })
}

/// The whole-number setting `key`, `None` when absent, null or blank: a non-negative JSON
/// integer or a string of digits. Anything else (a negative or fractional number, other text,
/// another kind) is an error naming the key and quoting what was found.
pub fn u64_setting(config: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    let wrong =
        |found: String| format!("`{key}` must be a whole number (0 or more), found {found}");
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| wrong(n.to_string())),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| wrong(format!("{s:?}"))),
        Some(other) => Err(wrong(json_type_name(other).to_string())),
    }
}

/// The whole-number setting `key` within `range`, `default` when absent or blank (the default
/// is not checked). Out of range is an error naming the key, the bounds and the value.
pub fn u64_setting_in(
    config: &Map<String, Value>,
    key: &str,
    default: u64,
    range: RangeInclusive<u64>,
) -> Result<u64, String> {
    let Some(value) = u64_setting(config, key)? else {
        return Ok(default);
    };
    if range.contains(&value) {
        return Ok(value);
    }
    Err(if *range.end() == u64::MAX {
        format!("`{key}` must be at least {}, found {value}", range.start())
    } else {
        format!(
            "`{key}` must be from {} to {}, found {value}",
            range.start(),
            range.end()
        )
    })
}

/// A bound in whole seconds, `key`: `default` when absent or blank, `None` (no bound) when 0.
pub fn timeout_setting(
    config: &Map<String, Value>,
    key: &str,
    default: Duration,
) -> Result<Option<Duration>, String> {
    Ok(match u64_setting(config, key)? {
        None => Some(default),
        Some(0) => None,
        Some(n) => Some(Duration::from_secs(n)),
    })
}

/// The list-of-names setting `key`, empty when absent or null: a JSON array of strings, a
/// string holding one (how an array arrives through an environment variable), or a
/// comma-separated string. Names are trimmed; empty names are dropped. Errors name the key and
/// the kind found.
pub fn string_list_setting(config: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    let expected = "a list of names or a comma-separated string";
    let names: Vec<String> = match config.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.trim_start().starts_with('[') => {
            serde_json::from_str::<Vec<String>>(s)
                .map_err(|_| format!("`{key}` must be {expected}, found {s:?}"))?
        }
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "`{key}` must be {expected}, found an array holding {}",
                    json_type_name(other)
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "`{key}` must be {expected}, found {}",
                json_type_name(other)
            ))
        }
    };
    Ok(names
        .into_iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect())
}

/// The object setting `key`, empty when absent or null; any other kind is an error naming the
/// key and the kind found.
pub fn object_setting(
    config: &Map<String, Value>,
    key: &str,
) -> Result<Map<String, Value>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(format!(
            "`{key}` must be an object, found {}",
            json_type_name(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> Map<String, Value> {
        let mut config = Map::new();
        config.insert("k".into(), value);
        config
    }

    fn read(value: Value) -> Result<bool, String> {
        bool_setting(&config(value), "k", true)
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

    #[test]
    fn strings_blank_is_unset_numbers_are_text_and_values_stay_private() {
        let s = |v: Value| string_setting(&config(v), "k");
        assert_eq!(string_setting(&Map::new(), "k"), Ok(None));
        assert_eq!(s(json!(null)), Ok(None));
        assert_eq!(s(json!("  ")), Ok(None));
        assert_eq!(s(json!(" a b ")), Ok(Some(" a b ".into())));
        assert_eq!(s(json!(1234)), Ok(Some("1234".into())));
        assert_eq!(
            s(json!(["s3cret"])),
            Err("`k` must be a string, found an array".into())
        );
        let e = s(json!({"p": "s3cret"})).unwrap_err();
        assert!(
            e.starts_with("`k` must be a string") && !e.contains("s3cret"),
            "{e}"
        );
    }

    #[test]
    fn choices_are_exact() {
        let c = |v: Value| choice_setting(&config(v), "k", &["a-b", "c"]);
        assert_eq!(c(json!("c")), Ok(Some("c")));
        assert_eq!(c(json!("")), Ok(None));
        assert_eq!(
            c(json!("C")),
            Err("`k` must be one of a-b, c, found \"C\"".into())
        );
    }

    #[test]
    fn whole_numbers_and_bounds() {
        let n = |v: Value| u64_setting(&config(v), "k");
        assert_eq!(n(json!(7)), Ok(Some(7)));
        assert_eq!(n(json!(" 7 ")), Ok(Some(7)));
        assert_eq!(n(json!("")), Ok(None));
        assert_eq!(
            n(json!(-1)),
            Err("`k` must be a whole number (0 or more), found -1".into())
        );
        assert_eq!(
            n(json!(1.5)),
            Err("`k` must be a whole number (0 or more), found 1.5".into())
        );
        assert_eq!(
            n(json!("x")),
            Err("`k` must be a whole number (0 or more), found \"x\"".into())
        );
        assert_eq!(
            n(json!(true)),
            Err("`k` must be a whole number (0 or more), found a boolean".into())
        );
        let b = |v: Value, range| u64_setting_in(&config(v), "k", 5, range);
        assert_eq!(b(json!(null), 1..=3), Ok(5));
        assert_eq!(b(json!(3), 1..=3), Ok(3));
        assert_eq!(
            b(json!(4), 1..=3),
            Err("`k` must be from 1 to 3, found 4".into())
        );
        assert_eq!(
            b(json!(0), 1..=u64::MAX),
            Err("`k` must be at least 1, found 0".into())
        );
    }

    #[test]
    fn timeouts_zero_means_none() {
        let t = |v: Value| timeout_setting(&config(v), "k", Duration::from_secs(9));
        assert_eq!(t(json!(null)), Ok(Some(Duration::from_secs(9))));
        assert_eq!(t(json!("2")), Ok(Some(Duration::from_secs(2))));
        assert_eq!(t(json!(0)), Ok(None));
        assert!(t(json!(-2)).is_err());
    }

    #[test]
    fn lists_in_three_spellings() {
        let l = |v: Value| string_list_setting(&config(v), "k");
        assert_eq!(l(json!(null)), Ok(Vec::new()));
        assert_eq!(l(json!(["a", " b "])), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(l(json!("[\"a\", \"b\"]")), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(l(json!("a, b,,")), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(
            l(json!(["a", 1])),
            Err("`k` must be a list of names or a comma-separated string, found an array holding a number".into())
        );
        assert!(l(json!("[1]")).unwrap_err().contains("`k`"));
        assert!(l(json!(3)).unwrap_err().contains("found a number"));
    }

    #[test]
    fn objects() {
        assert_eq!(object_setting(&Map::new(), "k"), Ok(Map::new()));
        assert_eq!(
            object_setting(&config(json!({"a": 1})), "k").map(|m| m.len()),
            Ok(1)
        );
        assert_eq!(
            object_setting(&config(json!("x")), "k"),
            Err("`k` must be an object, found a string".into())
        );
    }
}
