//! A JSON object split into its members with the values left as raw text.
//!
//! The mapper's hot path: a Singer line is split once into `type`, `stream`, `record`, ...;
//! the record is split once into its properties. A property an expression reads is parsed
//! when it is read; every other value is copied to the output as it came (numbers keep their
//! text, nothing is allocated for it). Only the structure is checked here (strings closed,
//! brackets balanced, members separated); values are checked when they are parsed.

use std::borrow::Cow;

/// One `"key": value` of an object.
pub(crate) type Member<'a> = (Cow<'a, str>, &'a str);

/// Splits the JSON object `text` (surrounding whitespace allowed) into its members, in order.
pub(crate) fn split_object(text: &str) -> Result<Vec<Member<'_>>, String> {
    let (members, end_at, _) = split_from(text, skip_ws(text.as_bytes(), 0), None)?;
    end(text.as_bytes(), end_at)?;
    Ok(members)
}

/// A Singer message split into its members, with the object under `nested` (the `record` of
/// a RECORD) split in the same pass, so the record's bytes are scanned once.
pub(crate) type SplitMessage<'a> = (Vec<Member<'a>>, Option<Vec<Member<'a>>>);

/// Splits a Singer message line, and the object value of member `nested` with it.
pub(crate) fn split_message<'a>(text: &'a str, nested: &str) -> Result<SplitMessage<'a>, String> {
    let (members, end_at, inner) = split_from(text, skip_ws(text.as_bytes(), 0), Some(nested))?;
    end(text.as_bytes(), end_at)?;
    Ok((members, inner))
}

/// An object's members, the index just past it, and the nested object's members.
type SplitAt<'a> = (Vec<Member<'a>>, usize, Option<Vec<Member<'a>>>);

/// Splits the object starting at byte `i`; returns its members, the index just past it, and
/// the members of the object value of `nested`, split on the way.
fn split_from<'a>(
    text: &'a str,
    mut i: usize,
    nested: Option<&str>,
) -> Result<SplitAt<'a>, String> {
    let bytes = text.as_bytes();
    if bytes.get(i) != Some(&b'{') {
        return Err("expected a JSON object".to_string());
    }
    i += 1;
    let mut members = Vec::with_capacity(16);
    let mut inner = None;
    i = skip_ws(bytes, i);
    if bytes.get(i) == Some(&b'}') {
        return Ok((members, i + 1, inner));
    }
    loop {
        if bytes.get(i) != Some(&b'"') {
            return Err(format!("expected a property name at byte {i}"));
        }
        let (key_end, escaped) = key_end(bytes, i)?;
        let key = if escaped {
            unescape_key(&text[i..key_end])?
        } else {
            Cow::Borrowed(&text[i + 1..key_end - 1])
        };
        i = skip_ws(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return Err(format!("expected ':' at byte {i}"));
        }
        i = skip_ws(bytes, i + 1);
        let value_end = if nested.is_some_and(|n| key == n) && bytes.get(i) == Some(&b'{') {
            let (object, object_end, _) = split_from(text, i, None)?;
            inner = Some(object);
            object_end
        } else {
            value_end(bytes, i)?
        };
        members.push((key, &text[i..value_end]));
        i = skip_ws(bytes, value_end);
        match bytes.get(i) {
            Some(b',') => i = skip_ws(bytes, i + 1),
            Some(b'}') => return Ok((members, i + 1, inner)),
            _ => return Err(format!("expected ',' or '}}' at byte {i}")),
        }
    }
}

fn end(bytes: &[u8], i: usize) -> Result<(), String> {
    let rest = skip_ws(bytes, i);
    if rest == bytes.len() {
        Ok(())
    } else {
        Err(format!("unexpected text after the object at byte {rest}"))
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
        i += 1;
    }
    i
}

/// The index just past the string starting (at its quote) at `start`. A plain loop over a
/// class table: Singer strings are short, where a vectorised search costs more than it saves.
fn string_end(bytes: &[u8], start: usize) -> Result<usize, String> {
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if CLASS[usize::from(b)] & STRING_STOP == 0 {
            i += 1;
        } else if b == b'"' {
            return Ok(i + 1);
        } else {
            // A backslash: skip it and the character it escapes.
            i += 2;
        }
    }
    Err(format!("unterminated string starting at byte {start}"))
}

/// Like [`string_end`] for a property name, also saying whether it has escapes (most names
/// have none and are then borrowed as they are).
fn key_end(bytes: &[u8], start: usize) -> Result<(usize, bool), String> {
    let mut i = start + 1;
    let mut escaped = false;
    while i < bytes.len() {
        let b = bytes[i];
        if CLASS[usize::from(b)] & STRING_STOP == 0 {
            i += 1;
        } else if b == b'"' {
            return Ok((i + 1, escaped));
        } else {
            escaped = true;
            i += 2;
        }
    }
    Err(format!("unterminated string starting at byte {start}"))
}

/// Byte classes for the scanner.
const STRING_STOP: u8 = 1;
const SCALAR_STOP: u8 = 2;
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'"' as usize] = STRING_STOP;
    table[b'\\' as usize] = STRING_STOP;
    let mut i = 0;
    let stops = b",}] \t\n\r";
    while i < stops.len() {
        table[stops[i] as usize] = SCALAR_STOP;
        i += 1;
    }
    table
};

/// The index just past the value starting at `start`.
fn value_end(bytes: &[u8], start: usize) -> Result<usize, String> {
    match bytes.get(start) {
        Some(b'"') => string_end(bytes, start),
        Some(&open @ (b'{' | b'[')) => {
            // Only this bracket kind needs counting: the other kind nests properly inside it.
            let close = if open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                let b = bytes[i];
                if b == b'"' {
                    i = string_end(bytes, i)?;
                    continue;
                }
                if b == open {
                    depth += 1;
                } else if b == close {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(i + 1);
                    }
                }
                i += 1;
            }
            Err(format!("unclosed object or array starting at byte {start}"))
        }
        Some(_) => {
            let mut i = start;
            while i < bytes.len() && CLASS[usize::from(bytes[i])] & SCALAR_STOP == 0 {
                i += 1;
            }
            if i == start {
                Err(format!("expected a value at byte {start}"))
            } else {
                Ok(i)
            }
        }
        None => Err("expected a value at the end of the text".to_string()),
    }
}

/// Whether `text` can be written between JSON quotes as it is (no quote, backslash or control
/// character). Property names split from the input without escapes always can.
pub(crate) fn json_safe(text: &str) -> bool {
    text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// A property name with escapes, unescaped.
fn unescape_key(quoted: &str) -> Result<Cow<'_, str>, String> {
    serde_json::from_str::<String>(quoted)
        .map(Cow::Owned)
        .map_err(|e| format!("bad property name {quoted}: {e}"))
}

/// A raw JSON string value as text (`None` if the value is not a string).
pub(crate) fn as_str(raw: &str) -> Option<Cow<'_, str>> {
    if raw.len() < 2 || !raw.starts_with('"') {
        return None;
    }
    let inner = &raw[1..raw.len() - 1];
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

/// Writes the raw JSON value `raw` without insignificant whitespace, as a JSON string (the
/// flattening rule for arrays and deep objects). Returns false when the value has escapes or
/// non-ASCII text, in which case the caller must re-serialise it to match the SDK's text
/// exactly (it escapes every non-ASCII character).
pub(crate) fn write_compact_as_string(raw: &str, out: &mut Vec<u8>) -> bool {
    if !raw.is_ascii() || raw.contains('\\') {
        return false;
    }
    out.push(b'"');
    let mut in_string = false;
    for &b in raw.as_bytes() {
        if in_string {
            if b == b'"' {
                in_string = false;
                out.extend_from_slice(b"\\\"");
            } else if b < 0x20 {
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
            } else {
                out.push(b);
            }
            continue;
        }
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'"' => {
                in_string = true;
                out.extend_from_slice(b"\\\"");
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_members_keeping_raw_values() {
        let members =
            split_object(r#" {"a": 1.50, "b":{"x":[1,"]}"]}, "c\"d":"e\\f", "n":null} "#).unwrap();
        let got: Vec<(&str, &str)> = members.iter().map(|(k, v)| (k.as_ref(), *v)).collect();
        assert_eq!(
            got,
            [
                ("a", "1.50"),
                ("b", r#"{"x":[1,"]}"]}"#),
                ("c\"d", r#""e\\f""#),
                ("n", "null")
            ]
        );
        assert!(split_object("{}").unwrap().is_empty());
    }

    #[test]
    fn a_message_splits_its_record_in_the_same_pass() {
        let (members, record) = split_message(
            r#"{"type":"RECORD","record":{"a":1,"b":[2]},"x":null}"#,
            "record",
        )
        .unwrap();
        assert_eq!(members[1], (Cow::Borrowed("record"), r#"{"a":1,"b":[2]}"#));
        let record = record.unwrap();
        assert_eq!(
            record,
            [(Cow::Borrowed("a"), "1"), (Cow::Borrowed("b"), "[2]")]
        );
        assert!(split_message(r#"{"record":{"a":}}"#, "record").is_err());
        assert_eq!(
            split_message(r#"{"record":"x"}"#, "record").unwrap().1,
            None
        );
    }

    #[test]
    fn structural_errors_are_reported_not_panicked() {
        for bad in [
            "",
            "[]",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":[1}",
            "{\"a\":\"x}",
            "{\"a\":1} x",
            "{\"a\":1 \"b\":2}",
        ] {
            assert!(split_object(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compact_strings_like_the_sdk() {
        let mut out = Vec::new();
        assert!(write_compact_as_string(
            r#"{ "a" : [1, 2.50], "b": "x y" }"#,
            &mut out
        ));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""{\"a\":[1,2.50],\"b\":\"x y\"}""#
        );
        assert!(!write_compact_as_string(r#"["\u00e9"]"#, &mut Vec::new()));
        assert!(!write_compact_as_string(r#"["Zürich"]"#, &mut Vec::new()));
        assert_eq!(as_str(r#""a\nb""#).unwrap(), "a\nb");
        assert_eq!(as_str("12"), None);
    }
}
