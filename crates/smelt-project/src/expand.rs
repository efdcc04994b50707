//! `$VAR` / `${VAR}` expansion in config and `env:` values, with Meltano's rules.
//!
//! `${name}` takes any word characters; bare `$NAME` only upper-case names (`[A-Z][A-Z0-9_]*`),
//! so `$lowercase` and prices like `$5` stay as written. `\$VAR` is an escape and yields the
//! literal `$VAR`. Unknown variables expand to the empty string, as Meltano does by default.

use serde_json::Value;

/// Looks a variable up; `None` means "not set".
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expands variable references in `text`.
pub fn expand_str(text: &str, lookup: Lookup<'_>) -> String {
    if !text.contains('$') {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let escaped = c == '\\' && chars.get(i + 1) == Some(&'$');
        let dollar_at = if escaped { i + 1 } else { i };
        if chars.get(dollar_at) == Some(&'$') {
            if let Some((name, end, curly)) = reference_at(&chars, dollar_at + 1) {
                if escaped {
                    if curly {
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push('$');
                        out.push_str(&name);
                    }
                } else {
                    out.push_str(&lookup(&name).unwrap_or_default());
                }
                i = end;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Parses the name after a `$` starting at `start`: returns (name, index after it, curly?).
fn reference_at(chars: &[char], start: usize) -> Option<(String, usize, bool)> {
    match chars.get(start) {
        Some('{') => {
            let mut j = start + 1;
            let mut name = String::new();
            while let Some(&c) = chars.get(j) {
                if c == '}' {
                    return (!name.is_empty()).then_some((name, j + 1, true));
                }
                if !(c.is_alphanumeric() || c == '_') {
                    return None;
                }
                name.push(c);
                j += 1;
            }
            None
        }
        Some(c) if c.is_ascii_uppercase() => {
            let mut j = start;
            let mut name = String::new();
            while let Some(&c) = chars.get(j) {
                if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                    name.push(c);
                    j += 1;
                } else {
                    break;
                }
            }
            Some((name, j, false))
        }
        _ => None,
    }
}

/// Expands every string inside `value` (recursing into objects and arrays).
pub fn expand_value(value: &Value, lookup: Lookup<'_>) -> Value {
    match value {
        Value::String(s) => Value::String(expand_str(s, lookup)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| expand_value(v, lookup)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), expand_value(v, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.local".into()),
            "lower_name" => Some("low".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_both_forms() {
        assert_eq!(
            expand_str("postgres://$HOST:5432", &env),
            "postgres://db.local:5432"
        );
        assert_eq!(expand_str("${HOST}x", &env), "db.localx");
        assert_eq!(expand_str("${lower_name}", &env), "low");
        assert_eq!(expand_str("$lower_name", &env), "$lower_name");
        assert_eq!(expand_str("costs $5", &env), "costs $5");
    }

    #[test]
    fn unknown_is_empty_and_escapes_are_literal() {
        assert_eq!(expand_str("a${MISSING}b", &env), "ab");
        assert_eq!(expand_str("a$MISSING", &env), "a");
        assert_eq!(
            expand_str("\\$HOST and \\${HOST}", &env),
            "$HOST and ${HOST}"
        );
        assert_eq!(expand_str("${EMPTY}", &env), "");
        assert_eq!(expand_str("${unterminated", &env), "${unterminated");
        assert_eq!(expand_str("back\\slash $", &env), "back\\slash $");
    }

    #[test]
    fn expands_nested_values() {
        let v = json!({"a": ["$HOST", 1], "b": {"c": "${HOST}"}, "d": true});
        assert_eq!(
            expand_value(&v, &env),
            json!({"a": ["db.local", 1], "b": {"c": "db.local"}, "d": true})
        );
    }
}
