//! Writing JSON values into PostgreSQL's COPY text format, straight from the record's JSON
//! text (no intermediate values): `\N` for null, backslash, tab, newline and carriage return
//! escaped, NUL characters replaced or refused.

use std::borrow::Cow;

use serde_json::value::RawValue;

use crate::types::Encoding;

/// Why a value cannot be written (the caller adds stream, record and column).
#[derive(Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A string holds U+0000, which PostgreSQL text cannot store.
    Nul,
    /// A string's JSON escapes are invalid.
    BadString(String),
    /// The server's type would refuse the value (binary COPY: checked before sending).
    Invalid(String),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::Nul => f.write_str(
                "the value contains a NUL character (\\u0000), which PostgreSQL text cannot \
                 store; set sanitize_null_text_characters to true to replace it with U+FFFD",
            ),
            EncodeError::BadString(e) => write!(f, "the value is not a valid JSON string: {e}"),
            EncodeError::Invalid(e) => f.write_str(e),
        }
    }
}

/// The COPY text null marker.
pub const NULL: &[u8] = b"\\N";

/// Append `bytes` with COPY text escapes for backslash, tab, newline and carriage return.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether NUL characters are replaced by U+FFFD (`sanitize_null_text_characters`) or refused.
#[derive(Debug, Clone, Copy)]
pub struct NulPolicy {
    /// Replace instead of refusing.
    pub sanitize: bool,
}

impl NulPolicy {
    /// A decoded string with NUL handled.
    pub(crate) fn text<'a>(self, s: Cow<'a, str>) -> Result<Cow<'a, str>, EncodeError> {
        if !s.contains('\0') {
            Ok(s)
        } else if self.sanitize {
            Ok(Cow::Owned(s.replace('\0', "\u{FFFD}")))
        } else {
            Err(EncodeError::Nul)
        }
    }

    /// JSON text with `\u0000` escapes handled (jsonb refuses them).
    pub(crate) fn json<'a>(self, text: &'a str) -> Result<Cow<'a, str>, EncodeError> {
        if !text.contains("\\u0000") {
            Ok(Cow::Borrowed(text))
        } else if self.sanitize {
            Ok(Cow::Owned(text.replace("\\u0000", "\\ufffd")))
        } else {
            Err(EncodeError::Nul)
        }
    }
}

/// The decoded content of a JSON string literal.
pub(crate) fn decode(raw: &str) -> Result<Cow<'_, str>, EncodeError> {
    if !raw.contains('\\') {
        return Ok(Cow::Borrowed(&raw[1..raw.len() - 1]));
    }
    serde_json::from_str::<String>(raw)
        .map(Cow::Owned)
        .map_err(|e| EncodeError::BadString(e.to_string()))
}

/// Append one value of a column with `encoding`, given as its JSON text (`None`: absent).
pub fn value(
    out: &mut Vec<u8>,
    json: Option<&str>,
    encoding: Encoding,
    nul: NulPolicy,
) -> Result<(), EncodeError> {
    let Some(text) = json else {
        out.extend_from_slice(NULL);
        return Ok(());
    };
    match text.as_bytes()[0] {
        b'n' => out.extend_from_slice(NULL),
        b'"' if encoding != Encoding::Json => {
            let s = nul.text(decode(text)?)?;
            if encoding == Encoding::Timestamp {
                timestamp_into(out, &s);
            } else {
                escape_into(out, s.as_bytes());
            }
        }
        b'[' if encoding == Encoding::Array => array_into(out, text, nul)?,
        b'{' | b'[' | b'"' => escape_into(out, nul.json(text)?.as_bytes()),
        _ => escape_into(out, text.as_bytes()),
    }
    Ok(())
}

/// An ISO 8601 timestamp for a `timestamp without time zone` column: with a non-zero offset,
/// converted to UTC; otherwise as given (PostgreSQL ignores a zero offset, parses the rest or
/// says why not).
pub fn timestamp_into(out: &mut Vec<u8>, s: &str) {
    match converted(s) {
        Some(t) => naive_into(out, &t),
        None => escape_into(out, s.as_bytes()),
    }
}

/// The UTC time of an ISO 8601 timestamp with a non-zero RFC 3339 offset (the fraction cut to
/// microseconds when written); `None`: the value goes to PostgreSQL as given.
pub fn converted(s: &str) -> Option<chrono::NaiveDateTime> {
    let utc = ["Z", "z", "+00:00", "-00:00", "+0000", "+00"]
        .iter()
        .any(|suffix| s.ends_with(suffix));
    if utc {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.naive_utc())
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (microseconds, PostgreSQL's precision), without chrono's
/// format-string parsing (this runs for every value).
pub fn naive_into(out: &mut Vec<u8>, t: &chrono::NaiveDateTime) {
    use chrono::{Datelike, Timelike};
    use std::io::Write;
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let micros = t.nanosecond() / 1000;
    if micros > 0 {
        let _ = write!(out, ".{micros:06}");
    }
}

/// A JSON array as a PostgreSQL array literal (COPY-escaped): null elements `NULL`, strings
/// quoted, everything else as its JSON text, quoted.
fn array_into(out: &mut Vec<u8>, text: &str, nul: NulPolicy) -> Result<(), EncodeError> {
    let items: Vec<&RawValue> =
        serde_json::from_str(text).map_err(|e| EncodeError::BadString(e.to_string()))?;
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('{');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            literal.push(',');
        }
        let t = item.get();
        let element: Cow<'_, str> = match t.as_bytes()[0] {
            b'n' => {
                literal.push_str("NULL");
                continue;
            }
            b'"' => nul.text(decode(t)?)?,
            _ => nul.json(t)?,
        };
        literal.push('"');
        for c in element.chars() {
            if c == '"' || c == '\\' {
                literal.push('\\');
            }
            literal.push(c);
        }
        literal.push('"');
    }
    literal.push('}');
    escape_into(out, literal.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(json: &str, encoding: Encoding, sanitize: bool) -> Result<String, EncodeError> {
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        let mut out = Vec::new();
        value(&mut out, Some(raw.get()), encoding, NulPolicy { sanitize })?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn scalars_strings_and_escapes() {
        assert_eq!(enc("null", Encoding::Scalar, false).unwrap(), "\\N");
        assert_eq!(enc("12.50", Encoding::Scalar, false).unwrap(), "12.50");
        assert_eq!(enc("true", Encoding::Scalar, false).unwrap(), "true");
        assert_eq!(
            enc(r#""a\tb\\c\nd\u00e9""#, Encoding::Scalar, false).unwrap(),
            "a\\tb\\\\c\\nd\u{e9}"
        );
        assert_eq!(
            enc(r#"{"k": "v\\x"}"#, Encoding::Scalar, false).unwrap(),
            r#"{"k": "v\\\\x"}"#
        );
        assert_eq!(enc(r#""s""#, Encoding::Json, false).unwrap(), r#""s""#);
    }

    #[test]
    fn nul_is_refused_or_replaced() {
        assert_eq!(
            enc(r#""a\u0000b""#, Encoding::Scalar, false),
            Err(EncodeError::Nul)
        );
        assert_eq!(
            enc(r#""a\u0000b""#, Encoding::Scalar, true).unwrap(),
            "a\u{FFFD}b"
        );
        assert_eq!(
            enc(r#"{"a": "\u0000"}"#, Encoding::Json, true).unwrap(),
            r#"{"a": "\\ufffd"}"#
        );
        assert!(enc(r#"{"a": "\u0000"}"#, Encoding::Json, false).is_err());
    }

    #[test]
    fn arrays_and_timestamps() {
        assert_eq!(
            enc(r#"["a\"b", null, 3, {"x": 1}]"#, Encoding::Array, false).unwrap(),
            r#"{"a\\"b",NULL,"3","{\\"x\\": 1}"}"#
        );
        assert_eq!(
            enc(r#""2024-01-02T03:04:05+02:00""#, Encoding::Timestamp, false).unwrap(),
            "2024-01-02 01:04:05"
        );
        assert_eq!(
            enc(
                r#""2024-01-02T03:04:05.25-01:30""#,
                Encoding::Timestamp,
                false
            )
            .unwrap(),
            "2024-01-02 04:34:05.250000"
        );
        assert_eq!(
            enc(r#""2024-01-02T03:04:05.25Z""#, Encoding::Timestamp, false).unwrap(),
            "2024-01-02T03:04:05.25Z"
        );
        assert_eq!(
            enc(r#""2024-01-02T03:04:05""#, Encoding::Timestamp, false).unwrap(),
            "2024-01-02T03:04:05"
        );
    }
}
