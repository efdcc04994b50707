//! Turning one JSON value into what a column of a given [`ColumnType`] stores, with an error
//! in words when it does not fit.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::Value;
use smelt_plugin_sdk::json_type_name;

use crate::columns::ColumnType;

/// One converted, non-null value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// INT64 and TIMESTAMP columns.
    Int64(i64),
    /// DATE columns.
    Int32(i32),
    /// DOUBLE columns.
    Double(f64),
    /// BOOLEAN columns.
    Boolean(bool),
    /// Text columns (UTF-8, JSON, mixed).
    Bytes(Vec<u8>),
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

fn found(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() > 60 => {
            let head: String = s.chars().take(60).collect();
            format!("the string \"{head}…\"")
        }
        Value::String(s) => format!("the string {s:?}"),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        other => json_type_name(other).to_string(),
    }
}

/// A JSON value as compact JSON text.
fn json_text(value: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail (its keys are strings).
    serde_json::to_vec(value).unwrap_or_default()
}

/// Parses a `date-time` string: RFC 3339 (`T` or space, any offset; `Z`), or without an
/// offset (taken as UTC, as the Singer SDK's targets do), or a bare date (midnight UTC).
/// Returns microseconds since the Unix epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if let Some(micros) = parse_rfc3339_fast(text.as_bytes()) {
        return Some(micros);
    }
    let text = text.trim();
    const WITH_OFFSET: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ];
    const NAIVE: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    if let Some(rest) = text.strip_suffix(['Z', 'z']) {
        return NAIVE
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(rest, f).ok())
            .map(|t| t.and_utc().timestamp_micros());
    }
    WITH_OFFSET
        .iter()
        .find_map(|f| DateTime::parse_from_str(text, f).ok())
        .map(|t| t.timestamp_micros())
        .or_else(|| {
            NAIVE
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
                .map(|t| t.and_utc().timestamp_micros())
        })
        .or_else(|| parse_date(text).map(|days| i64::from(days) * 86_400_000_000))
}

/// The `n` ASCII digits at `b[at..]` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = b.get(at..at + n)?;
    slice.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// The common shape `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}](Z|±HH:MM|±HHMM)?` without chrono's
/// format machinery (the hot path of date-time columns); `None` sends anything else (leap
/// seconds, odd spellings) to the general parser.
fn parse_rfc3339_fast(b: &[u8]) -> Option<i64> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(b, 0, 4)?).ok()?,
        digits(b, 5, 2)?,
        digits(b, 8, 2)?,
    )?;
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut at = 19;
    let mut micros = 0i64;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while at < b.len() && b[at].is_ascii_digit() {
            if at - start < 6 {
                micros = micros * 10 + i64::from(b[at] - b'0');
            }
            at += 1;
        }
        let count = at - start;
        if count == 0 || count > 9 {
            return None;
        }
        for _ in count..6 {
            micros *= 10;
        }
    }
    let offset_seconds: i64 = match &b[at..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [_, _, b':', _, _] | [_, _, _, _] => {
                    let colon = usize::from(rest.len() == 5);
                    (digits(rest, 0, 2)?, digits(rest, 2 + colon, 2)?)
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let total = i64::from(h * 3600 + m * 60);
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    let days = i64::from(date.to_epoch_days_since_ce());
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

/// Parses a `date` string (`YYYY-MM-DD`, or the date part of a date-time); days since the
/// Unix epoch.
pub fn parse_date(text: &str) -> Option<i32> {
    let text = text.trim();
    let date_part = match text.get(..10) {
        Some(head) if text.len() > 10 && matches!(text.as_bytes()[10], b'T' | b't' | b' ') => head,
        _ => text,
    };
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .ok()
        .map(|d| d.to_epoch_days_since_ce())
}

trait EpochDays {
    fn to_epoch_days_since_ce(&self) -> i32;
}

impl EpochDays for NaiveDate {
    fn to_epoch_days_since_ce(&self) -> i32 {
        use chrono::Datelike;
        self.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
    }
}

/// Converts a non-null `value` for a column of type `kind`; the error says what was expected
/// and what was found.
pub fn convert(kind: ColumnType, value: &Value) -> Result<Cell, String> {
    let mismatch = |expected: &str| format!("expected {expected}, found {}", found(value));
    match kind {
        ColumnType::Int64 => match value {
            Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(Cell::Int64(i)),
                None => match n.as_f64() {
                    // JSON Schema counts 3.0 as an integer.
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Cell::Int64(f as i64)),
                    _ => Err(mismatch("an integer (64-bit)")),
                },
            },
            _ => Err(mismatch("an integer")),
        },
        ColumnType::Double => match value.as_f64() {
            Some(f) if value.is_number() => Ok(Cell::Double(f)),
            _ => Err(mismatch("a number")),
        },
        ColumnType::Boolean => match value {
            Value::Bool(b) => Ok(Cell::Boolean(*b)),
            _ => Err(mismatch("true or false")),
        },
        ColumnType::Utf8 => match value {
            Value::String(s) => Ok(Cell::Bytes(s.as_bytes().to_vec())),
            _ => Err(mismatch("a string")),
        },
        ColumnType::Json => Ok(Cell::Bytes(json_text(value))),
        ColumnType::Mixed => match value {
            Value::String(s) => Ok(Cell::Bytes(s.as_bytes().to_vec())),
            other => Ok(Cell::Bytes(json_text(other))),
        },
        ColumnType::Timestamp => match value {
            Value::String(s) => parse_timestamp(s)
                .map(Cell::Int64)
                .ok_or_else(|| mismatch("a date-time (RFC 3339, e.g. 2024-05-01T12:00:00Z)")),
            _ => Err(mismatch("a date-time string")),
        },
        ColumnType::Date => match value {
            Value::String(s) => parse_date(s)
                .map(Cell::Int32)
                .ok_or_else(|| mismatch("a date (YYYY-MM-DD)")),
            _ => Err(mismatch("a date string")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_the_usual_spellings() {
        let micros = 1_714_564_800_000_000; // 2024-05-01T12:00:00Z
        for text in [
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00+00:00",
            "2024-05-01 14:00:00+02:00",
            "2024-05-01T12:00:00.000000Z",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00+0000",
            "2024-05-01T12:00Z",
        ] {
            assert_eq!(parse_timestamp(text), Some(micros), "{text}");
        }
        assert_eq!(
            parse_timestamp("2024-05-01T12:00:00.123456789Z"),
            Some(micros + 123_456)
        );
        assert_eq!(parse_timestamp("2024-05-01"), Some(1_714_521_600_000_000));
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z"), Some(-1_000_000));
        assert_eq!(parse_timestamp("yesterday"), None);
        // The fast path and chrono agree.
        for text in [
            "2024-02-29T23:59:59.999999-05:30",
            "1900-01-01 00:00:00.5+0100",
            "2038-01-19T03:14:07.1234567Z",
            "0001-01-01T00:00:00Z",
        ] {
            let fast = parse_rfc3339_fast(text.as_bytes());
            let general = DateTime::parse_from_str(
                &text.replace('Z', "+00:00"),
                if text.contains(' ') {
                    "%Y-%m-%d %H:%M:%S%.f%z"
                } else {
                    "%Y-%m-%dT%H:%M:%S%.f%z"
                },
            )
            .map(|t| t.timestamp_micros())
            .ok();
            assert!(fast.is_some(), "{text}");
            assert_eq!(fast, general, "{text}");
        }
        assert_eq!(parse_rfc3339_fast(b"2024-05-01T24:00:00Z"), None);
        assert_eq!(parse_rfc3339_fast(b"2024-05-01T12:00:00+5"), None);
        assert_eq!(parse_timestamp("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-05-01"), Some(19_844));
        assert_eq!(parse_date("2024-05-01T10:00:00Z"), Some(19_844));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(parse_date("05/01/2024"), None);
    }

    #[test]
    fn values_that_fit_and_values_that_do_not() {
        use ColumnType::*;
        assert_eq!(convert(Int64, &json!(7)).unwrap(), Cell::Int64(7));
        assert_eq!(convert(Int64, &json!(7.0)).unwrap(), Cell::Int64(7));
        assert_eq!(convert(Double, &json!(1)).unwrap(), Cell::Double(1.0));
        assert_eq!(
            convert(Json, &json!({"a": [1, "x"]})).unwrap(),
            Cell::Bytes(br#"{"a":[1,"x"]}"#.to_vec())
        );
        assert_eq!(
            convert(Mixed, &json!("plain")).unwrap(),
            Cell::Bytes(b"plain".to_vec())
        );
        assert_eq!(
            convert(Mixed, &json!(3)).unwrap(),
            Cell::Bytes(b"3".to_vec())
        );
        let err = convert(Int64, &json!(3.5)).unwrap_err();
        assert_eq!(err, "expected an integer (64-bit), found the number 3.5");
        let err = convert(Int64, &json!("12")).unwrap_err();
        assert_eq!(err, "expected an integer, found the string \"12\"");
        let err = convert(Utf8, &json!([1])).unwrap_err();
        assert_eq!(err, "expected a string, found an array");
        let err = convert(Timestamp, &json!("soon")).unwrap_err();
        assert!(
            err.contains("date-time") && err.contains("\"soon\""),
            "{err}"
        );
        assert!(convert(Boolean, &json!("true")).is_err());
    }
}
