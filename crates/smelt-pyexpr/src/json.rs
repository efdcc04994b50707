//! JSON in and out of [`Value`]s: the mapper's hot path reads every record with [`parse_json`]
//! and writes it with [`write_json`], so both are hand-written over bytes.

use std::rc::Rc;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::float_fmt::py_float_repr;
use crate::repr::{date_iso, datetime_iso};
use crate::value::{Dict, ObjKind, Value};

/// A JSON text that could not be read, or a value that cannot be written as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct JsonError {
    /// Byte offset in the input where reading failed (0 for writing errors).
    pub offset: usize,
    /// What went wrong.
    pub message: String,
}

impl JsonError {
    fn at(offset: usize, message: impl Into<String>) -> JsonError {
        JsonError {
            offset,
            message: message.into(),
        }
    }
}

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 512;

/// Parses one JSON document (a Singer record) into Values: objects -> Dict with Str keys, in
/// order; integers -> Int (beyond i64: Decimal, or Float when even Decimal cannot hold them);
/// other numbers -> Decimal as written. Also accepts Python's `NaN`/`Infinity` as floats.
pub fn parse_json(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser {
        s: text.as_bytes(),
        src: text,
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(JsonError::at(p.i, "extra data after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::at(self.i, "JSON nested too deeply"));
        }
        match self.s.get(self.i) {
            None => Err(JsonError::at(self.i, "unexpected end of JSON")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::Str(Rc::from(self.string()?))),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::None),
            Some(b'N') => self.word("NaN", Value::Float(f64::NAN)),
            Some(b'I') => self.word("Infinity", Value::Float(f64::INFINITY)),
            Some(b'-') if self.s[self.i..].starts_with(b"-Infinity") => {
                self.word("-Infinity", Value::Float(f64::NEG_INFINITY))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(JsonError::at(self.i, "expected a JSON value")),
        }
    }

    fn word(&mut self, w: &str, v: Value) -> Result<Value, JsonError> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(JsonError::at(self.i, "expected a JSON value"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.i += 1;
        let mut d = Dict::with_capacity(8);
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Value::Dict(Rc::new(d)));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(JsonError::at(self.i, "expected a string key"));
            }
            let k = self.string()?;
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return Err(JsonError::at(self.i, "expected ':'"));
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth + 1)?;
            // One hash per key; a repeated key keeps its first position, like Python.
            d.insert(Value::Str(Rc::from(k)), v);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Dict(Rc::new(d)));
                }
                _ => return Err(JsonError::at(self.i, "expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.i += 1;
        let mut v = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Value::list(v));
        }
        loop {
            self.ws();
            v.push(self.value(depth + 1)?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::list(v));
                }
                _ => return Err(JsonError::at(self.i, "expected ',' or ']'")),
            }
        }
    }

    /// Reads a string starting at the opening quote; borrows when there are no escapes.
    fn string(&mut self) -> Result<std::borrow::Cow<'a, str>, JsonError> {
        let start = self.i + 1;
        let mut j = start;
        while j < self.s.len() {
            match self.s[j] {
                b'"' => {
                    self.i = j + 1;
                    return Ok(std::borrow::Cow::Borrowed(&self.src[start..j]));
                }
                b'\\' => break,
                c if c < 0x20 => return Err(JsonError::at(j, "control character in string")),
                _ => j += 1,
            }
        }
        let mut out = String::from(&self.src[start..j.min(self.s.len())]);
        loop {
            let Some(&c) = self.s.get(j) else {
                return Err(JsonError::at(j, "unterminated string"));
            };
            match c {
                b'"' => {
                    self.i = j + 1;
                    return Ok(std::borrow::Cow::Owned(out));
                }
                b'\\' => {
                    let e = *self
                        .s
                        .get(j + 1)
                        .ok_or_else(|| JsonError::at(j, "unterminated string"))?;
                    j += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4(j)?;
                            j += 4;
                            let cp = if (0xD800..0xDC00).contains(&hi)
                                && self.s.get(j) == Some(&b'\\')
                                && self.s.get(j + 1) == Some(&b'u')
                            {
                                let lo = self.hex4(j + 2)?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    j += 6;
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    hi
                                }
                            } else {
                                hi
                            };
                            // Lone surrogates cannot live in a Rust string.
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(JsonError::at(j - 1, "invalid escape")),
                    }
                }
                c if c < 0x20 => return Err(JsonError::at(j, "control character in string")),
                _ => {
                    let run = j;
                    while j < self.s.len() && !matches!(self.s[j], b'"' | b'\\' | 0..=0x1f) {
                        j += 1;
                    }
                    out.push_str(&self.src[run..j]);
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, JsonError> {
        let h = self
            .s
            .get(at..at + 4)
            .ok_or_else(|| JsonError::at(at, "invalid \\u escape"))?;
        let t = std::str::from_utf8(h).map_err(|_| JsonError::at(at, "invalid \\u escape"))?;
        u32::from_str_radix(t, 16).map_err(|_| JsonError::at(at, "invalid \\u escape"))
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        let s = self.s;
        let mut j = self.i;
        if s[j] == b'-' {
            j += 1;
        }
        let digits = j;
        while j < s.len() && s[j].is_ascii_digit() {
            j += 1;
        }
        if j == digits || (s[digits] == b'0' && j - digits > 1) {
            return Err(JsonError::at(start, "invalid number"));
        }
        let mut integral = true;
        if s.get(j) == Some(&b'.') {
            integral = false;
            j += 1;
            let f = j;
            while j < s.len() && s[j].is_ascii_digit() {
                j += 1;
            }
            if j == f {
                return Err(JsonError::at(start, "invalid number"));
            }
        }
        if let Some(b'e' | b'E') = s.get(j) {
            integral = false;
            j += 1;
            if let Some(b'+' | b'-') = s.get(j) {
                j += 1;
            }
            let f = j;
            while j < s.len() && s[j].is_ascii_digit() {
                j += 1;
            }
            if j == f {
                return Err(JsonError::at(start, "invalid number"));
            }
        }
        self.i = j;
        let text = &self.src[start..j];
        if integral {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Int(i));
            }
        }
        Ok(number_from_text(text))
    }
}

/// A non-i64 JSON number as Python's `parse_float=Decimal` would hold it.
pub(crate) fn number_from_text(text: &str) -> Value {
    let d = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str_exact(text).ok()
    };
    match d {
        Some(mut d) => {
            // Python keeps the sign of a negative zero ("-0.0" stays "-0.0").
            if d.is_zero() && text.starts_with('-') {
                d.set_sign_negative(true);
            }
            Value::Decimal(d)
        }
        None => Value::Float(text.parse().unwrap_or(f64::NAN)),
    }
}

/// Writes a Value as compact JSON the way the SDK's message writer does: no spaces, non-ASCII
/// as raw UTF-8, serde_json's escapes, Float as Python repr (NaN/inf as `null`, as the SDK's
/// `ignore_nan=True` does), Decimal as written, Date/DateTime as isoformat() strings, Tuple as
/// array, non-string dict keys as Python json writes them (True -> "true", 1 -> "1").
/// Sets and timedeltas are written as their str() (the SDK's `default=str`); other objects
/// (functions, modules) are an error.
pub fn write_json(value: &Value, out: &mut Vec<u8>) -> Result<(), JsonError> {
    write_value(value, out, 0, false)
}

/// Like [`write_json`], with non-ASCII characters escaped as `\uXXXX` (surrogate pairs beyond
/// the BMP): the SDK's `serialize_json` (simplejson's default `ensure_ascii`), which is what
/// flattening uses to turn nested objects and arrays into strings.
pub fn write_json_ascii(value: &Value, out: &mut Vec<u8>) -> Result<(), JsonError> {
    write_value(value, out, 0, true)
}

fn write_value(
    value: &Value,
    out: &mut Vec<u8>,
    depth: usize,
    ascii: bool,
) -> Result<(), JsonError> {
    if depth > MAX_DEPTH {
        return Err(JsonError::at(0, "value nested too deeply to write as JSON"));
    }
    match value {
        Value::None => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) if f.is_finite() => out.extend_from_slice(py_float_repr(*f).as_bytes()),
        Value::Float(_) => out.extend_from_slice(b"null"),
        Value::Decimal(d) => out.extend_from_slice(d.to_string().as_bytes()),
        Value::Str(s) => write_str(s, out, ascii),
        Value::List(l) | Value::Tuple(l) => {
            out.push(b'[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(x, out, depth + 1, ascii)?;
            }
            out.push(b']');
        }
        Value::Dict(d) => {
            out.push(b'{');
            for (i, (k, v)) in d.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match k {
                    Value::Str(s) => write_str(s, out, ascii),
                    other => write_str(&key_text(other)?, out, ascii),
                }
                out.push(b':');
                write_value(v, out, depth + 1, ascii)?;
            }
            out.push(b'}');
        }
        Value::Date(d) => write_str(&date_iso(d), out, ascii),
        Value::DateTime(dt) => write_str(&datetime_iso(dt, 'T'), out, ascii),
        Value::Object(o) => match &o.kind {
            ObjKind::Set(_) | ObjKind::Timedelta(_) | ObjKind::Timezone(_) => {
                write_str(&value.py_str(), out, ascii)
            }
            _ => {
                return Err(JsonError::at(
                    0,
                    format!(
                        "Object of type {} is not JSON serializable",
                        value.type_name()
                    ),
                ))
            }
        },
    }
    Ok(())
}

/// How Python's json writes a non-string dict key.
pub(crate) fn key_text(k: &Value) -> Result<String, JsonError> {
    Ok(match k {
        Value::Str(s) => s.to_string(),
        Value::Bool(true) => "true".into(),
        Value::Bool(false) => "false".into(),
        Value::None => "null".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "NaN".into(),
        Value::Float(f) if f.is_infinite() => {
            if *f > 0.0 { "Infinity" } else { "-Infinity" }.into()
        }
        Value::Float(f) => py_float_repr(*f),
        Value::Decimal(d) => d.to_string(),
        other => {
            return Err(JsonError::at(
                0,
                format!(
                    "keys must be str, int, float, bool or None, not {}",
                    other.type_name()
                ),
            ))
        }
    })
}

/// Writes a JSON string literal; `ascii` escapes non-ASCII as `\uXXXX` (Python's ensure_ascii).
pub(crate) fn write_str(s: &str, out: &mut Vec<u8>, ascii: bool) {
    smelt_singer::json_value::write_json_string(out, s, ascii);
}

impl From<&serde_json::Value> for Value {
    /// Converts a config value (stream_map_config arrives as serde_json, in key order).
    /// Non-integer numbers become Decimal from their text.
    fn from(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::None,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => number_from_text(&n.to_string()),
            },
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(m) => {
                let mut d = Dict::with_capacity(m.len());
                for (k, v) in m {
                    d.insert_str(k, Value::from(v));
                }
                Value::Dict(Rc::new(d))
            }
        }
    }
}

impl Value {
    /// Converts to serde_json (through the JSON text, so the rules of [`write_json`] apply).
    pub fn to_serde(&self) -> Result<serde_json::Value, JsonError> {
        let mut buf = Vec::new();
        write_json(self, &mut buf)?;
        serde_json::from_slice(&buf).map_err(|e| JsonError::at(0, e.to_string()))
    }
}

impl FromStr for Value {
    type Err = JsonError;
    /// Parses JSON text (same as [`parse_json`]).
    fn from_str(s: &str) -> Result<Value, JsonError> {
        parse_json(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) -> String {
        let v = parse_json(s).unwrap();
        let mut out = Vec::new();
        write_json(&v, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn roundtrips_records_as_written() {
        let rec = r#"{"email":"alice@example.com","count":21,"user":{"id":1,"sub":{"num":1},"some_numbers":[3.14,2.718]},"x":3.140,"z":-0.0,"n":null,"b":[true,false]}"#;
        assert_eq!(roundtrip(rec), rec);
        assert_eq!(roundtrip(r#" { "a" : [ 1 , 2 ] } "#), r#"{"a":[1,2]}"#);
        assert_eq!(
            roundtrip(r#""é\u00e9\ud83d\ude00\n\u0001/\/""#),
            "\"éé😀\\n\\u0001//\""
        );
    }

    #[test]
    fn numbers() {
        assert!(matches!(parse_json("12").unwrap(), Value::Int(12)));
        assert!(matches!(parse_json("-1.5").unwrap(), Value::Decimal(_)));
        assert_eq!(
            parse_json("99999999999999999999").unwrap().py_str(),
            "99999999999999999999"
        );
        assert_eq!(roundtrip("1e5"), "100000");
        assert!(parse_json("01").is_err());
        assert!(parse_json("1.").is_err());
        assert!(parse_json("-").is_err());
        assert_eq!(parse_json("[NaN]").unwrap().py_str(), "[nan]");
    }

    #[test]
    fn errors_have_offsets() {
        let e = parse_json(r#"{"a": }"#).unwrap_err();
        assert_eq!(e.offset, 6);
        assert!(parse_json(r#"{"a": 1} x"#).is_err());
        assert!(parse_json(r#""abc"#).is_err());
        assert!(parse_json(&"[".repeat(10000)).is_err());
    }

    #[test]
    fn writes_python_floats_and_keys() {
        let mut d = Dict::new();
        d.insert(Value::Bool(true), Value::Float(1640995200.0));
        d.insert(Value::Int(2), Value::Float(1e16));
        d.insert(Value::None, Value::Float(f64::NAN));
        let mut out = Vec::new();
        write_json(&Value::Dict(Rc::new(d)), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"true":1640995200.0,"2":1e+16,"null":null}"#
        );
    }

    #[test]
    fn serde_conversion_keeps_order() {
        let s: serde_json::Value = serde_json::from_str(r#"{"z":1,"a":[2.5,"x"]}"#).unwrap();
        let v = Value::from(&s);
        assert_eq!(v.py_str(), "{'z': 1, 'a': [Decimal('2.5'), 'x']}");
        assert_eq!(v.to_serde().unwrap(), s);
    }
}
