//! Three things about JSON values that several crates need done the same way: Python's
//! truthiness (Meltano and the Singer SDK test values with Python's `if value:`), the words
//! error messages use for a value's kind, and writing a JSON string literal.

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

/// Appends `s` to `out` as a JSON string literal, escaping what RFC 8259 requires (`"`, `\\`,
/// control characters, with the short forms `\n` `\r` `\t` `\b` `\f`); with `ascii`, every
/// non-ASCII character too, as `\uXXXX` (surrogate pairs beyond the BMP) — Python's
/// `ensure_ascii`. One writer for the plugin SDK, the expression engine and the mapper, so
/// they cannot drift apart.
pub fn write_json_string(out: &mut Vec<u8>, s: &str, ascii: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            0x80.. if ascii => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if !esc.is_empty() {
            out.extend_from_slice(esc);
        } else if b < 0x80 {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]);
        } else {
            // Start of a multi-byte char in ASCII mode (continuation bytes are skipped).
            if b & 0xC0 == 0x80 {
                continue;
            }
            let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.extend_from_slice(b"\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((*u >> shift) & 15) as usize]);
                }
            }
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
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
    fn strings_are_escaped_and_round_trip() {
        for sample in [
            "",
            "plain",
            "q\" b\\ /",
            "l\nr\rt\t",
            "c \u{0} \u{1} \u{8} \u{c} \u{1f}",
            "é 简单 \u{2028} 😀",
        ] {
            for ascii in [false, true] {
                let mut out = Vec::new();
                write_json_string(&mut out, sample, ascii);
                let back: String = serde_json::from_slice(&out).unwrap();
                assert_eq!(back, sample);
                assert!(!ascii || out.is_ascii());
            }
        }
        let mut out = Vec::new();
        write_json_string(&mut out, "a\u{1}é😀", true);
        assert_eq!(out, br#""a\u0001\u00e9\ud83d\ude00""#);
    }

    #[test]
    fn kind_names() {
        assert_eq!(json_type_name(&json!([])), "an array");
        assert_eq!(json_type_name(&json!(null)), "null");
        assert_eq!(json_type_name(&json!({})), "an object");
    }
}
