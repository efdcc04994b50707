//! What a YAML scalar means, decided the way Meltano's reader (`ruamel.yaml`'s round-trip
//! loader) decides it, so a value in `meltano.yml` has the same type in smelt as in Meltano.
//!
//! YAML 1.2 (the default): `true`/`false` (three spellings each), `null`/`~`/empty, integers
//! in decimal (leading zeros allowed: `017` is 17), `0o` octal, `0x` hex and `0b` binary, all
//! with `_` separators, and floats with a `.` or an exponent. `yes`, `on` and `2020-01-01`
//! stay strings. A file that starts with `%YAML 1.1` gets the YAML 1.1 rules instead
//! (`yes`/`on`/`y` are booleans, `017` is octal, `1:20` is 80).
//!
//! Deliberate differences, each because JSON has no form for the value: `.inf`, `.nan` and
//! floats too large for 64 bits stay strings; integers beyond 64 bits become floats;
//! timestamps stay the text that was written.

use saphyr_parser::{ScalarStyle, Tag};
use serde_json::{Number, Value};

/// Which YAML version's rules resolve plain scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    /// YAML 1.2 core schema, as `ruamel.yaml` applies it (the default).
    Yaml12,
    /// YAML 1.1, used when the file starts with `%YAML 1.1`.
    Yaml11,
}

/// Resolves a scalar's text to a JSON value.
pub(crate) fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    schema: Schema,
) -> Value {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() || tag.handle == "!!" {
            let resolved = match tag.suffix.as_str() {
                "str" | "binary" | "timestamp" => Some(Value::String(text.to_string())),
                "null" => Some(Value::Null),
                "bool" => tagged_bool(text),
                "int" => tagged_int(text),
                "float" => float_value(text, true),
                _ => None,
            };
            return resolved.unwrap_or_else(|| Value::String(text.to_string()));
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    resolve_plain(text, schema).unwrap_or_else(|| Value::String(text.to_string()))
}

/// The meaning of a plain scalar, or `None` when it is just a string.
pub(crate) fn resolve_plain(text: &str, schema: Schema) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    if schema == Schema::Yaml11 {
        match text {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
                return Some(Value::Bool(true))
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
                return Some(Value::Bool(false))
            }
            _ => {}
        }
    }
    // ruamel tries the float pattern before the integer one; they never both match.
    if is_float(text, schema) {
        return float_value(text, false);
    }
    if is_int(text, schema) {
        return int_value(text, schema);
    }
    None
}

/// `!!bool` accepts every spelling YAML 1.1 knows, as ruamel does.
fn tagged_bool(text: &str) -> Option<Value> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" => Some(Value::Bool(true)),
        "false" | "no" | "n" | "off" => Some(Value::Bool(false)),
        _ => None,
    }
}

fn tagged_int(text: &str) -> Option<Value> {
    if is_int(text, Schema::Yaml12) {
        int_value(text, Schema::Yaml12)
    } else {
        None
    }
}

fn split_sign(text: &str) -> (bool, &str) {
    if let Some(rest) = text.strip_prefix('-') {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix('+') {
        (false, rest)
    } else {
        (false, text)
    }
}

fn all_of(s: &str, ok: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(ok)
}

fn digit_or_underscore(c: char) -> bool {
    c.is_ascii_digit() || c == '_'
}

/// The integer patterns of ruamel's resolver for each YAML version.
fn is_int(text: &str, schema: Schema) -> bool {
    if !text.starts_with(|c: char| c == '-' || c == '+' || c.is_ascii_digit()) {
        return false;
    }
    let (_, body) = split_sign(text);
    if let Some(bin) = body.strip_prefix("0b") {
        return all_of(bin, |c| c == '0' || c == '1' || c == '_');
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return all_of(hex, |c| c.is_ascii_hexdigit() || c == '_');
    }
    match schema {
        Schema::Yaml12 => {
            if let Some(oct) = body.strip_prefix("0o") {
                return all_of(oct, |c| ('0'..='7').contains(&c) || c == '_');
            }
            all_of(body, digit_or_underscore)
        }
        Schema::Yaml11 => {
            // `0?[0-7_]+`: the leading 0 is optional, so `_7` and `-_1` match too.
            let octal = all_of(body, |c| ('0'..='7').contains(&c) || c == '_');
            let decimal = body == "0"
                || (body.starts_with(|c: char| ('1'..='9').contains(&c))
                    && all_of(body, digit_or_underscore));
            octal || decimal || is_sexagesimal_int(body)
        }
    }
}

/// `[1-9][0-9_]*(:[0-5]?[0-9])+` (YAML 1.1 only).
fn is_sexagesimal_int(body: &str) -> bool {
    let mut parts = body.split(':');
    let first = parts.next().unwrap_or("");
    let first_ok =
        first.starts_with(|c: char| ('1'..='9').contains(&c)) && all_of(first, digit_or_underscore);
    let mut rest = 0;
    for part in parts {
        if !sexagesimal_part(part) {
            return false;
        }
        rest += 1;
    }
    first_ok && rest > 0
}

/// `[0-5]?[0-9]`
fn sexagesimal_part(part: &str) -> bool {
    let b = part.as_bytes();
    match b.len() {
        1 => b[0].is_ascii_digit(),
        2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
        _ => false,
    }
}

/// Builds the integer as ruamel does: `_` dropped, then by prefix.
fn int_value(text: &str, schema: Schema) -> Option<Value> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, body) = split_sign(&cleaned);
    if body.is_empty() {
        return None; // ruamel fails on `-_`; a string is the lenient answer
    }
    if schema == Schema::Yaml11 && body.contains(':') {
        let mut total: i128 = 0;
        for part in body.split(':') {
            total = total
                .checked_mul(60)?
                .checked_add(part.parse::<i128>().ok()?)?;
        }
        return number_from_i128(if negative { -total } else { total }, &cleaned);
    }
    let (digits, radix) = if let Some(b) = body.strip_prefix("0b") {
        (b, 2)
    } else if let Some(h) = body.strip_prefix("0x") {
        (h, 16)
    } else if let Some(o) = body.strip_prefix("0o") {
        (o, 8)
    } else if schema == Schema::Yaml11 && body.len() > 1 && body.starts_with('0') {
        (body, 8)
    } else {
        (body, 10)
    };
    if digits.is_empty() {
        return None;
    }
    match u128::from_str_radix(digits, radix) {
        Ok(m) if m <= i128::MAX as u128 => {
            let v = m as i128;
            number_from_i128(if negative { -v } else { v }, &cleaned)
        }
        _ => big_int_as_float(negative, digits, radix),
    }
}

fn number_from_i128(v: i128, cleaned: &str) -> Option<Value> {
    if let Ok(u) = u64::try_from(v) {
        return Some(Value::Number(Number::from(u)));
    }
    if let Ok(i) = i64::try_from(v) {
        return Some(Value::Number(Number::from(i)));
    }
    // Beyond 64 bits JSON parsers give a float; so do we (ruamel keeps the exact integer).
    let (negative, body) = split_sign(cleaned);
    big_int_as_float(negative, body, 10)
}

fn big_int_as_float(negative: bool, digits: &str, radix: u32) -> Option<Value> {
    let f = if radix == 10 {
        digits.parse::<f64>().ok()?
    } else {
        let mut f = 0f64;
        for c in digits.chars() {
            f = f * f64::from(radix) + f64::from(c.to_digit(radix)?);
        }
        f
    };
    Number::from_f64(if negative { -f } else { f }).map(Value::Number)
}

/// The float patterns of ruamel's resolver:
/// `[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+]?[0-9]+)?`, `[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+`,
/// `[-+]?\.[0-9_]+([eE][-+][0-9]+)?` (1.1: no sign), `[-+]?\.(inf|Inf|INF)`,
/// `\.(nan|NaN|NAN)`, and in 1.1 sexagesimal `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*`.
fn is_float(text: &str, schema: Schema) -> bool {
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    if !text.starts_with(|c: char| matches!(c, '-' | '+' | '.') || c.is_ascii_digit()) {
        return false;
    }
    let (_, body) = split_sign(text);
    let signed = body.len() != text.len();
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let exponent_ok = |need_sign: bool| match exponent {
        None => true,
        Some(e) => {
            let (_, digits) = split_sign(e);
            let has_sign = digits.len() != e.len();
            (has_sign || !need_sign) && all_of(digits, |c| c.is_ascii_digit())
        }
    };
    if let Some(frac) = mantissa.strip_prefix('.') {
        // `.5`, `.5e+3`
        if schema == Schema::Yaml11 && signed {
            return false;
        }
        return all_of(frac, digit_or_underscore) && exponent_ok(true);
    }
    let starts_with_digit = mantissa.starts_with(|c: char| c.is_ascii_digit());
    match mantissa.split_once('.') {
        Some((int_part, frac)) => {
            let int_ok = starts_with_digit
                && (all_of(int_part, digit_or_underscore)
                    || (schema == Schema::Yaml11
                        && exponent.is_none()
                        && sexagesimal_head(int_part)));
            int_ok && frac.chars().all(digit_or_underscore) && exponent_ok(false)
        }
        None => {
            starts_with_digit
                && all_of(mantissa, digit_or_underscore)
                && exponent.is_some()
                && exponent_ok(false)
        }
    }
}

/// `[0-9][0-9_]*(:[0-5]?[0-9])+`, the part of a YAML 1.1 sexagesimal float before the `.`.
fn sexagesimal_head(s: &str) -> bool {
    let mut parts = s.split(':');
    let first = parts.next().unwrap_or("");
    let mut rest = 0;
    for part in parts {
        if !sexagesimal_part(part) {
            return false;
        }
        rest += 1;
    }
    all_of(first, digit_or_underscore) && rest > 0
}

/// Builds the float; `None` when JSON cannot hold it (infinities, NaN, overflow).
/// `forced` is for `!!float`, which also takes integer text (`!!float 1` is 1.0).
fn float_value(text: &str, forced: bool) -> Option<Value> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, body) = split_sign(&cleaned);
    let f = if body.contains(':') {
        let mut total = 0f64;
        for part in body.split(':') {
            total = total * 60.0 + part.parse::<f64>().ok()?;
        }
        if negative {
            -total
        } else {
            total
        }
    } else {
        let f: f64 = cleaned.parse().ok()?;
        if forced && !f.is_finite() {
            return None;
        }
        f
    };
    Number::from_f64(f).map(Value::Number)
}

/// A mapping key: its value (for anchors and duplicate checks) and the JSON object key
/// Meltano ends up with — ruamel builds a Python value (`1: x` has the integer key 1) and
/// `json.dumps` turns it back into text, exactly (`2**70` stays all digits, `.nan` is `NaN`).
pub(crate) fn resolve_key(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    schema: Schema,
) -> (Value, String) {
    let value = resolve_scalar(text, style, tag, schema);
    if style == ScalarStyle::Plain && tag.is_none() {
        if value.is_f64() && is_int(text, schema) {
            if let Some(exact) = exact_big_int(text) {
                return (value, exact);
            }
        }
        if value.is_string() && is_float(text, schema) {
            let cleaned: String = text.chars().filter(|c| *c != '_').collect();
            let lower = cleaned.to_ascii_lowercase();
            let special = if lower.ends_with(".nan") {
                Some("NaN")
            } else if lower.starts_with('-')
                && (lower.ends_with(".inf") || lower.parse::<f64>().is_ok())
            {
                Some("-Infinity")
            } else if lower.ends_with(".inf") || lower.parse::<f64>().is_ok_and(f64::is_infinite) {
                Some("Infinity")
            } else {
                None
            };
            if let Some(special) = special {
                return (value, special.to_string());
            }
        }
    }
    let key = key_text(&value);
    (value, key)
}

/// The decimal digits of an integer beyond 64 bits (up to 128), as Python prints it.
fn exact_big_int(text: &str) -> Option<String> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, body) = split_sign(&cleaned);
    let (digits, radix) = if let Some(b) = body.strip_prefix("0b") {
        (b, 2)
    } else if let Some(h) = body.strip_prefix("0x") {
        (h, 16)
    } else if let Some(o) = body.strip_prefix("0o") {
        (o, 8)
    } else {
        (body, 10)
    };
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    Some(format!("{}{magnitude}", if negative { "-" } else { "" }))
}

/// The JSON object key for a resolved scalar (see [`resolve_key`]).
pub(crate) fn key_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => python_float_repr(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// What Python's `==` (and so ruamel's duplicate-key check) sees: `1`, `1.0` and `true` are
/// the same key; `"1"` is not.
pub(crate) fn key_identity(value: &Value) -> String {
    match value {
        Value::String(s) => format!("s:{s}"),
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("n:{}", u8::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                format!("n:{i}")
            } else if let Some(u) = n.as_u64() {
                format!("n:{u}")
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    format!("n:{}", f as i64)
                } else {
                    format!("f:{}", python_float_repr(f))
                }
            }
        }
        other => other.to_string(),
    }
}

/// Python's `repr(float)`: shortest digits, fixed notation for decimal exponents -4..16,
/// else `1e+16` style.
fn python_float_repr(f: f64) -> String {
    let sci = format!("{f:e}"); // shortest round-trip digits, e.g. "-1.5e-7"
    let (negative, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci.as_str()),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    let point = exp + 1; // digits are 0.d1d2... × 10^point
    let body = if -4 < point && point <= 16 {
        if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point >= n {
            format!("{}{}.0", digits, "0".repeat((point - n) as usize))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        }
    } else {
        let (head, tail) = digits.split_at(1);
        let sign = if exp < 0 { '-' } else { '+' };
        let frac = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        format!("{head}{frac}e{sign}{:02}", exp.abs())
    };
    if negative {
        format!("-{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(text: &str) -> Value {
        resolve_scalar(text, ScalarStyle::Plain, None, Schema::Yaml12)
    }

    fn plain11(text: &str) -> Value {
        resolve_scalar(text, ScalarStyle::Plain, None, Schema::Yaml11)
    }

    #[test]
    fn integers_as_ruamel_reads_them() {
        let cases = [
            ("0o17", json!(15)),
            ("-0o17", json!(-15)),
            ("0x1F", json!(31)),
            ("0b101", json!(5)),
            ("1_000", json!(1000)),
            ("017", json!(17)),
            ("01234", json!(1234)),
            ("08", json!(8)),
            ("-_1", json!(-1)),
            ("1_", json!(1)),
            ("0x_1", json!(1)),
            ("-9223372036854775808", json!(-9223372036854775808i64)),
            ("18446744073709551615", json!(18446744073709551615u64)),
            ("_1", json!("_1")),
            ("0o8", json!("0o8")),
            ("0o-1", json!("0o-1")),
            ("+-5", json!("+-5")),
            ("0b", json!("0b")),
            ("0b_", json!("0b_")),
            ("1:20", json!("1:20")),
        ];
        for (text, want) in cases {
            assert_eq!(plain(text), want, "{text}");
        }
        assert!(plain("123456789012345678901234567890").is_f64());
    }

    #[test]
    fn floats_as_ruamel_reads_them() {
        let cases = [
            ("1.5", json!(1.5)),
            ("1e3", json!(1000.0)),
            ("1.", json!(1.0)),
            (".5", json!(0.5)),
            (".5e+3", json!(500.0)),
            (".5e3", json!(".5e3")),
            ("1._5", json!(1.5)),
            ("01.5", json!(1.5)),
            ("1.e5", json!(100000.0)),
            ("-.nan", json!("-.nan")),
            (".inf", json!(".inf")),
            ("1e400", json!("1e400")),
            ("1e", json!("1e")),
            (".e3", json!(".e3")),
        ];
        for (text, want) in cases {
            assert_eq!(plain(text), want, "{text}");
        }
    }

    #[test]
    fn yaml_1_1_rules() {
        assert_eq!(plain11("yes"), json!(true));
        assert_eq!(plain11("Off"), json!(false));
        assert_eq!(plain11("017"), json!(15));
        assert_eq!(plain11("09"), json!("09"));
        assert_eq!(plain11("1:20"), json!(80));
        assert_eq!(plain11("1:20.5"), json!(80.5));
        assert_eq!(plain11("0o17"), json!("0o17"));
        assert_eq!(plain11("-.5"), json!("-.5"));
        assert_eq!(plain11("-_1"), json!(-1));
        assert_eq!(plain11("0_7"), json!(7));
        assert_eq!(plain("yes"), json!("yes"));
    }

    #[test]
    fn tags_force_types() {
        let tag = |suffix: &str| Tag {
            handle: "!!".to_string(),
            suffix: suffix.to_string(),
        };
        let r = |text: &str, suffix: &str| {
            resolve_scalar(
                text,
                ScalarStyle::DoubleQuoted,
                Some(&tag(suffix)),
                Schema::Yaml12,
            )
        };
        assert_eq!(r("1", "float"), json!(1.0));
        assert_eq!(r("0x10", "int"), json!(16));
        assert_eq!(r("yes", "bool"), json!(true));
        assert_eq!(r("12", "str"), json!("12"));
        assert_eq!(r("x", "null"), Value::Null);
        assert_eq!(r("abc", "int"), json!("abc"));
    }

    #[test]
    fn keys_read_like_python_json() {
        assert_eq!(key_text(&json!(1)), "1");
        assert_eq!(key_text(&json!(1000.0)), "1000.0");
        assert_eq!(key_text(&json!(1e16)), "1e+16");
        assert_eq!(key_text(&json!(1e15)), "1000000000000000.0");
        assert_eq!(key_text(&json!(0.0001)), "0.0001");
        assert_eq!(key_text(&json!(0.00001)), "1e-05");
        assert_eq!(key_text(&json!(-2.5e-7)), "-2.5e-07");
        assert_eq!(key_text(&json!(123.456)), "123.456");
        assert_eq!(key_text(&Value::Null), "null");
        let key = |t: &str| resolve_key(t, ScalarStyle::Plain, None, Schema::Yaml12).1;
        assert_eq!(
            key("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(key(".nan"), "NaN");
        assert_eq!(key("-.inf"), "-Infinity");
        assert_eq!(key("1e400"), "Infinity");
        assert_eq!(key("0x1F"), "31");
        assert_eq!(key("~"), "null");
        assert_eq!(key("yes"), "yes");
        assert_eq!(key_identity(&json!(true)), key_identity(&json!(1)));
        assert_eq!(key_identity(&json!(1.0)), key_identity(&json!(1)));
        assert_ne!(key_identity(&json!("1")), key_identity(&json!(1)));
    }
}
