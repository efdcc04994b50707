//! Writing one scalar (or key) so that it reads back as exactly the same JSON value.
//!
//! Strings are written plain when that is unambiguous, in single quotes when they only need
//! protecting from being read as something else, and in double quotes with escapes when they
//! hold line breaks or other characters a single-quoted scalar cannot show. A plain candidate
//! is always checked by reading it back with [`crate::yaml::parse_yaml`], the project's own
//! reader, so what is written is what smelt will read.

use std::path::Path;

use serde_json::Value;

use crate::yaml::parse_yaml;

/// Where a scalar is written: flow collections forbid more characters in plain scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    Block,
    Flow,
}

/// A non-collection JSON value as YAML text (`null`, `true`, `12`, `'yes'`, ...).
///
/// Collections are written by the caller; for them this gives their empty form.
pub(super) fn scalar(value: &Value, ctx: Context) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, ctx),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

/// A string value, quoted when needed.
pub(super) fn string(s: &str, ctx: Context) -> String {
    if plain_is_safe(s, ctx) && reads_back_as_value(s, s, ctx) {
        return s.to_string();
    }
    quoted(s)
}

/// A mapping key, quoted when needed.
pub(super) fn key(s: &str, ctx: Context) -> String {
    if s != "<<" && plain_is_safe(s, ctx) && reads_back_as_key(s, s, ctx) {
        return s.to_string();
    }
    quoted(s)
}

/// `s` in single quotes, or in double quotes with escapes when it needs them.
fn quoted(s: &str) -> String {
    if s.chars().any(needs_escape) {
        double_quoted(s)
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Characters a single-quoted scalar cannot hold as they are: line breaks, tabs (kept out
/// for clarity), control and non-printable characters, and the byte order mark.
fn needs_escape(c: char) -> bool {
    let code = c as u32;
    code < 0x20
        || (0x7f..=0x9f).contains(&code)
        || matches!(code, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Syntactic rules for a plain scalar, kept stricter than YAML needs so the text also reads
/// the same in other YAML readers (YAML 1.1 booleans, numbers, dates and `.inf` are quoted).
fn plain_is_safe(s: &str, ctx: Context) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if first.is_whitespace() || s.ends_with(char::is_whitespace) {
        return false;
    }
    if s.chars().any(|c| needs_escape(c) || c == '\u{a0}') {
        return false;
    }
    if s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return false;
    }
    if ctx == Context::Flow && s.contains([',', '[', ']', '{', '}', ':']) {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    !looks_typed(s)
}

/// Whether some YAML reader would take `s` for a non-string: a number-like start, a YAML 1.1
/// boolean, or a null.
fn looks_typed(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~" | "="
    ) {
        return true;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let body = body.strip_prefix('.').unwrap_or(body);
    body.starts_with(|c: char| c.is_ascii_digit())
        || matches!(
            body.to_ascii_lowercase().as_str(),
            "inf" | "nan" | "infinity"
        )
}

fn reads_back_as_value(candidate: &str, expected: &str, ctx: Context) -> bool {
    let doc = match ctx {
        Context::Block => format!("k: {candidate}\n"),
        Context::Flow => format!("k: [{candidate}]\n"),
    };
    let Ok(parsed) = parse_yaml(&doc, Path::new("value")) else {
        return false;
    };
    let got = match ctx {
        Context::Block => parsed.value.get("k"),
        Context::Flow => parsed.value.get("k").and_then(|v| v.get(0)),
    };
    got == Some(&Value::String(expected.to_string()))
}

fn reads_back_as_key(candidate: &str, expected: &str, ctx: Context) -> bool {
    let doc = match ctx {
        Context::Block => format!("{candidate}: 1\n"),
        Context::Flow => format!("{{{candidate}: 1}}\n"),
    };
    let Ok(parsed) = parse_yaml(&doc, Path::new("key")) else {
        return false;
    };
    parsed
        .value
        .as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key(expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tricky_strings_read_back_unchanged() {
        for s in super::super::tests::TRICKY {
            for ctx in [Context::Block, Context::Flow] {
                let written = string(s, ctx);
                assert!(reads_back_as_value(&written, s, ctx), "{s:?} as {written}");
                let written = key(s, ctx);
                assert!(
                    reads_back_as_key(&written, s, ctx),
                    "key {s:?} as {written}"
                );
            }
        }
    }

    #[test]
    fn plain_when_safe_quoted_when_not() {
        assert_eq!(string("tap_github", Context::Block), "tap_github");
        assert_eq!(string("users.*", Context::Block), "users.*");
        assert_eq!(string("http://h:1/p", Context::Block), "http://h:1/p");
        assert_eq!(string("yes", Context::Block), "'yes'");
        assert_eq!(string("it's", Context::Block), "it's");
        assert_eq!(string("'q'", Context::Block), "'''q'''");
        assert_eq!(string("x\ny", Context::Block), "\"x\\ny\"");
        assert_eq!(string("a,b", Context::Block), "a,b");
        assert_eq!(string("a,b", Context::Flow), "'a,b'");
        assert_eq!(key("a.b", Context::Block), "a.b");
        assert_eq!(key("<<", Context::Block), "'<<'");
    }

    #[test]
    fn numbers_bools_and_null() {
        for v in [
            json!(null),
            json!(true),
            json!(12),
            json!(-3),
            json!(1.5),
            json!(1e300),
        ] {
            let text = scalar(&v, Context::Block);
            let doc = parse_yaml(&format!("k: {text}\n"), Path::new("t"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(doc.value["k"], v, "{text}");
        }
    }
}
