//! `$VAR` / `${VAR}` expansion in config and `env:` values, with Meltano's rules.
//!
//! `${name}` takes any word characters; bare `$NAME` only upper-case names (`[A-Z][A-Z0-9_]*`),
//! so `$lowercase` and prices like `$5` stay as written. `\$VAR` is an escape and yields the
//! literal `$VAR`. Unknown variables expand to the empty string, as Meltano does by default.
//!
//! Expansion is one pass: a value brought in is never expanded again, so references cannot
//! recurse. Its size is bounded: one call ([`expand_str`] or [`expand_value`]) brings in at
//! most [`MAX_EXPANSION`] bytes of variable values; a reference whose value would go past
//! that is left as written (`${BIG}` stays `${BIG}`), which is visible in the result and
//! cannot make it grow without end when values that hold references are expanded again.

use serde_json::Value;

/// Looks a variable up; `None` means "not set".
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Most bytes of variable values one expansion brings in (16 MiB).
pub const MAX_EXPANSION: usize = 16 * 1024 * 1024;

/// Expands variable references in `text`.
pub fn expand_str(text: &str, lookup: Lookup<'_>) -> String {
    let mut budget = MAX_EXPANSION;
    expand_within(text, lookup, &mut budget)
}

/// Expands `text`, taking the bytes of every value brought in from `budget`.
fn expand_within(text: &str, lookup: Lookup<'_>, budget: &mut usize) -> String {
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
                let value = if escaped { None } else { lookup(&name) };
                match value {
                    Some(v) if v.len() > *budget => {
                        // Over the bound: keep the reference as written (escape included).
                        out.extend(&chars[i..end]);
                    }
                    Some(v) => {
                        *budget -= v.len();
                        out.push_str(&v);
                    }
                    None if escaped => {
                        if curly {
                            out.push_str(&format!("${{{name}}}"));
                        } else {
                            out.push('$');
                            out.push_str(&name);
                        }
                    }
                    None => {}
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

/// Expands every string inside `value` (recursing into objects and arrays); all strings
/// share one [`MAX_EXPANSION`] bound.
pub fn expand_value(value: &Value, lookup: Lookup<'_>) -> Value {
    let mut budget = MAX_EXPANSION;
    expand_value_within(value, lookup, &mut budget)
}

fn expand_value_within(value: &Value, lookup: Lookup<'_>, budget: &mut usize) -> Value {
    match value {
        Value::String(s) => Value::String(expand_within(s, lookup, budget)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| expand_value_within(v, lookup, budget))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), expand_value_within(v, lookup, budget)))
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
    fn expansion_is_bounded_and_never_recursive() {
        let big = "x".repeat(MAX_EXPANSION / 4 + 1);
        let lookup = |name: &str| match name {
            "BIG" => Some(big.clone()),
            "SELF" => Some("$SELF$SELF".to_string()),
            _ => None,
        };
        // Values brought in are not expanded again.
        assert_eq!(expand_str("$SELF", &lookup), "$SELF$SELF");
        // Three fit in the bound; the fourth reference stays as written, and so does
        // everything after it that would not fit.
        let out = expand_str("$BIG$BIG$BIG${BIG}-$BIG", &lookup);
        assert_eq!(out.len(), 3 * big.len() + "${BIG}-$BIG".len());
        assert!(out.ends_with("${BIG}-$BIG"), "{}", &out[out.len() - 20..]);
        // The bound is shared by all strings of one value.
        let v = json!(["$BIG", {"a": "$BIG", "b": ["$BIG", "$BIG"]}]);
        let expanded = expand_value(&v, &lookup);
        assert_eq!(expanded[1]["b"][1], json!("$BIG"));
        assert_eq!(expanded[1]["b"][0].as_str().map(str::len), Some(big.len()));
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
