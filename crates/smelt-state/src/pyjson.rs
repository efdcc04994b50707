//! A JSON writer that produces exactly the bytes Python's `json.dumps` produces.
//!
//! Meltano writes `state.json` with `json.dumps(state)` (separators `", "` / `": "`, everything
//! outside printable ASCII escaped as `\uXXXX`), prints `meltano state get` with
//! `separators=(",", ":")` or `indent=2`, and formats floats with Python's `repr`. To keep
//! state files byte-compatible — so a team can point smelt at the directory or bucket Meltano
//! used and diffs stay quiet — we reproduce those rules here instead of using serde_json's
//! own formatting (which differs for non-ASCII text, separators and float exponents).
//!
//! Known limit: integers outside the 64-bit range are parsed by serde_json as floats, so they
//! come back in float notation (Python would keep the exact integer).

use serde_json::{Map, Number, Value};

/// Which of Python's `json.dumps` layouts to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyJsonStyle {
    /// `json.dumps(v)`: one line, `", "` between items and `": "` after keys. Meltano's
    /// `state.json` layout.
    Default,
    /// `json.dumps(v, separators=(",", ":"))`: one line, no spaces. `meltano state get`'s
    /// default output.
    Compact,
    /// `json.dumps(v, indent=n)`: one item per line indented by `n` spaces, `","` at line ends
    /// and `": "` after keys. `meltano state get --format pretty` uses `n = 2`.
    Indent(usize),
}

/// Serialize `value` exactly like Python's `json.dumps` would with the given style
/// (`ensure_ascii=True`, key order preserved, no trailing newline).
pub fn dumps(value: &Value, style: PyJsonStyle) -> String {
    let mut out = String::new();
    write_value(&mut out, value, style, 0);
    out
}

fn write_value(out: &mut String, value: &Value, style: PyJsonStyle, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => write_array(out, items, style, level),
        Value::Object(map) => write_object(out, map, style, level),
    }
}

fn item_separator(style: PyJsonStyle) -> &'static str {
    match style {
        PyJsonStyle::Default => ", ",
        PyJsonStyle::Compact | PyJsonStyle::Indent(_) => ",",
    }
}

fn key_separator(style: PyJsonStyle) -> &'static str {
    match style {
        PyJsonStyle::Compact => ":",
        PyJsonStyle::Default | PyJsonStyle::Indent(_) => ": ",
    }
}

/// Newline plus indentation for `level`, or nothing when the style is single-line.
fn newline_indent(out: &mut String, style: PyJsonStyle, level: usize) {
    if let PyJsonStyle::Indent(width) = style {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', width * level));
    }
}

fn write_array(out: &mut String, items: &[Value], style: PyJsonStyle, level: usize) {
    if items.is_empty() {
        out.push_str("[]");
        return;
    }
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(item_separator(style));
        }
        newline_indent(out, style, level + 1);
        write_value(out, item, style, level + 1);
    }
    newline_indent(out, style, level);
    out.push(']');
}

fn write_object(out: &mut String, map: &Map<String, Value>, style: PyJsonStyle, level: usize) {
    if map.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, (key, item)) in map.iter().enumerate() {
        if i > 0 {
            out.push_str(item_separator(style));
        }
        newline_indent(out, style, level + 1);
        write_string(out, key);
        out.push_str(key_separator(style));
        write_value(out, item, style, level + 1);
    }
    newline_indent(out, style, level);
    out.push('}');
}

/// Python's `ensure_ascii` string encoding: `\"`, `\\`, the five short escapes, and `\uXXXX`
/// (lower-case hex, surrogate pairs above U+FFFF) for everything outside `' '..='~'`.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) {
    if n.is_i64() || n.is_u64() {
        out.push_str(&n.to_string());
    } else if let Some(f) = n.as_f64() {
        out.push_str(&python_float_repr(f));
    } else {
        // Unreachable with serde_json's default number representation; keep its own text.
        out.push_str(&n.to_string());
    }
}

/// Python's `repr(float)`: the shortest round-tripping digits, in positional notation when the
/// decimal exponent is in `-5 < exp < 16`, otherwise `d.ddde±XX` with at least two exponent
/// digits. Integral values keep a trailing `.0`.
pub(crate) fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    let (digits, exp) = shortest_digits(f.abs());
    let sign = if f < 0.0 { "-" } else { "" };

    if (-5 < exp) && (exp < 16) {
        let (int_part, frac_part) = if exp >= 0 {
            let split = (exp as usize) + 1;
            if digits.len() > split {
                (digits[..split].to_string(), digits[split..].to_string())
            } else {
                let mut int_part = digits.clone();
                int_part.extend(std::iter::repeat_n('0', split - digits.len()));
                (int_part, "0".to_string())
            }
        } else {
            let zeros = (-exp - 1) as usize;
            let mut frac = "0".repeat(zeros);
            frac.push_str(&digits);
            ("0".to_string(), frac)
        };
        format!("{sign}{int_part}.{frac_part}")
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
    }
}

/// Split `{:e}`-style text (`d.ddde±x`) into its digits and decimal exponent.
fn split_sci(sci: &str) -> (String, i32) {
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci, 0),
    };
    (mantissa.chars().filter(char::is_ascii_digit).collect(), exp)
}

/// The shortest digits that round-trip to `f` (positive, finite, non-zero), choosing like
/// Python: among shortest candidates the one nearest the exact binary value, ties to even.
///
/// Rust's `{:e}` finds the shortest length but may pick the other candidate when the exact
/// value lies exactly halfway (e.g. `1940020052203543.25` prints `...543.3`, Python prints
/// `...543.2`). So we round the exact expansion to that length, half-to-even, and keep the
/// result when it still round-trips.
fn shortest_digits(f: f64) -> (String, i32) {
    let (short, exp) = split_sci(&format!("{f:e}"));
    let len = short.len();
    // 767 digits after the point are enough for the exact value of any f64.
    let (exact, exact_exp) = split_sci(&format!("{f:.767e}"));
    let Some((rounded, rounded_exp)) = round_half_even(&exact, exact_exp, len) else {
        return (short, exp);
    };
    let candidate = format!("{}.{}e{rounded_exp}", &rounded[..1], &rounded[1..]);
    if candidate.parse::<f64>().ok() == Some(f) {
        let trimmed = rounded.trim_end_matches('0');
        let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
        (trimmed.to_string(), rounded_exp)
    } else {
        (short, exp)
    }
}

/// Round the decimal digit string `digits` (value `d.ddd × 10^exp`) to `len` digits, half to
/// even. Returns the new digits (exactly `len` long) and exponent.
fn round_half_even(digits: &str, exp: i32, len: usize) -> Option<(String, i32)> {
    if len == 0 || digits.len() <= len {
        return Some((format!("{digits:0<len$}"), exp));
    }
    let (head, tail) = digits.split_at(len);
    let first_dropped = tail.as_bytes().first().copied()?;
    let rest_zero = tail.bytes().skip(1).all(|b| b == b'0');
    let last_kept_odd = head.bytes().last().is_some_and(|b| (b - b'0') % 2 == 1);
    let round_up = match first_dropped {
        b'6'..=b'9' => true,
        b'5' => !rest_zero || last_kept_odd,
        _ => false,
    };
    if !round_up {
        return Some((head.to_string(), exp));
    }
    let mut bytes = head.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return Some((String::from_utf8(bytes).ok()?, exp));
        }
    }
    // All nines carried over: 999 -> 1000, one more decade.
    let mut carried = String::with_capacity(len);
    carried.push('1');
    carried.extend(std::iter::repeat_n('0', len - 1));
    Some((carried, exp + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_style_matches_python_json_dumps() {
        // python3 -c 'import json; print(json.dumps({"completed": {"singer_state": {"bookmarks":
        //   {"s": {"v": 1, "l": [1, 2]}}}}, "partial": {}}))'
        let v = json!({"completed": {"singer_state": {"bookmarks": {"s": {"v": 1, "l": [1, 2]}}}},
                       "partial": {}});
        assert_eq!(
            dumps(&v, PyJsonStyle::Default),
            r#"{"completed": {"singer_state": {"bookmarks": {"s": {"v": 1, "l": [1, 2]}}}}, "partial": {}}"#
        );
    }

    #[test]
    fn compact_style() {
        let v = json!({"a": [1, {"b": null}], "c": "d"});
        assert_eq!(
            dumps(&v, PyJsonStyle::Compact),
            r#"{"a":[1,{"b":null}],"c":"d"}"#
        );
    }

    #[test]
    fn indent_style_matches_python() {
        // python3 -c 'import json; print(json.dumps({"a": [1, {}], "b": {"c": []}, "d": {"e": 1}}, indent=2))'
        let v = json!({"a": [1, {}], "b": {"c": []}, "d": {"e": 1}});
        let expected = "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": []\n  },\n  \"d\": {\n    \"e\": 1\n  }\n}";
        assert_eq!(dumps(&v, PyJsonStyle::Indent(2)), expected);
        assert_eq!(dumps(&json!({}), PyJsonStyle::Indent(2)), "{}");
    }

    #[test]
    fn strings_are_ascii_escaped_like_python() {
        // python3 -c 'import json; print(json.dumps("é\"\\\n\t\x01\x7f😀/"))'
        let v = json!("é\"\\\n\t\u{1}\u{7f}😀/");
        assert_eq!(
            dumps(&v, PyJsonStyle::Default),
            r#""\u00e9\"\\\n\t\u0001\u007f\ud83d\ude00/""#
        );
        assert_eq!(
            dumps(&json!("\u{8}\u{c}\r"), PyJsonStyle::Default),
            r#""\b\f\r""#
        );
    }

    #[test]
    fn floats_use_python_repr() {
        let cases = [
            (1.5, "1.5"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.2345e-7, "1.2345e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1e300, "1e+300"),
            (-2.5, "-2.5"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1234.5678, "1234.5678"),
            (12345678901234.5, "12345678901234.5"),
            // x.25 values: exactly halfway between two 17-digit candidates; Python rounds to
            // even (Rust's `{:e}` alone would print ...3).
            (-7_760_080_208_814_173.0 / 4.0, "-1940020052203543.2"),
            (6_653_033_644_194_597.0 / 4.0, "1663258411048649.2"),
            (4_021_448_435_846_797.0 / 4.0, "1005362108961699.2"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (1e23, "1e+23"),
        ];
        for (f, expected) in cases {
            assert_eq!(python_float_repr(f), expected, "repr({f:e})");
        }
    }

    #[test]
    fn integers_stay_integers() {
        let v: Value = match serde_json::from_str("[1, -7, 18446744073709551615, 1.0]") {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            dumps(&v, PyJsonStyle::Default),
            "[1, -7, 18446744073709551615, 1.0]"
        );
    }
}
