//! Python's `str()` and `repr()` of values: what `str(x)`, f-string-free concatenation and
//! `default=str` serialization print.

use std::fmt::Write;

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeDelta, Timelike};

use crate::float_fmt::py_float_repr;
use crate::value::{DateTimeValue, ObjKind, Value};

/// Python `str(x)`.
pub(crate) fn py_str(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Date(d) => date_iso(d),
        Value::DateTime(dt) => datetime_iso(dt, ' '),
        Value::Object(o) => match &o.kind {
            ObjKind::Timedelta(t) => timedelta_str(*t),
            ObjKind::Timezone(z) => format!("UTC{}", offset_str(*z, true)),
            _ => py_repr(v),
        },
        _ => py_repr(v),
    }
}

/// Python `repr(x)`.
pub(crate) fn py_repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(v, &mut out);
    out
}

fn write_repr(v: &Value, out: &mut String) {
    match v {
        Value::None => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&py_float_repr(*f)),
        Value::Decimal(d) => {
            let _ = write!(out, "Decimal('{d}')");
        }
        Value::Str(s) => str_repr(s, out),
        Value::List(l) => seq_repr(l, '[', ']', out),
        Value::Tuple(t) => {
            if t.len() == 1 {
                out.push('(');
                write_repr(&t[0], out);
                out.push_str(",)");
            } else {
                seq_repr(t, '(', ')', out)
            }
        }
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(k, out);
                out.push_str(": ");
                write_repr(v, out);
            }
            out.push('}');
        }
        Value::Date(d) => {
            let _ = write!(
                out,
                "datetime.date({}, {}, {})",
                d.year(),
                d.month(),
                d.day()
            );
        }
        Value::DateTime(dt) => datetime_repr(dt, out),
        Value::Object(o) => match &o.kind {
            ObjKind::Builtin(b) => out.push_str(&b.repr()),
            ObjKind::Method(recv, name) => {
                let _ = write!(
                    out,
                    "<built-in method {name} of {} object>",
                    recv.type_name()
                );
            }
            ObjKind::Set(s) => {
                if s.is_empty() {
                    out.push_str("set()");
                } else {
                    out.push('{');
                    for (i, k) in s.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        write_repr(&k.0, out);
                    }
                    out.push('}');
                }
            }
            ObjKind::Timedelta(t) => {
                let (days, secs, micros) = timedelta_parts(*t);
                let mut parts = Vec::new();
                if days != 0 {
                    parts.push(format!("days={days}"));
                }
                if secs != 0 {
                    parts.push(format!("seconds={secs}"));
                }
                if micros != 0 {
                    parts.push(format!("microseconds={micros}"));
                }
                if parts.is_empty() {
                    parts.push("0".into());
                }
                let _ = write!(out, "datetime.timedelta({})", parts.join(", "));
            }
            ObjKind::Timezone(z) => out.push_str(&tz_repr(*z)),
            ObjKind::Faker(_) => out.push_str("<faker.proxy.Faker object>"),
        },
    }
}

fn seq_repr(items: &[Value], open: char, close: char, out: &mut String) {
    out.push(open);
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(x, out);
    }
    out.push(close);
}

/// Python's string repr: single quotes unless the text has `'` and no `"`.
pub(crate) fn str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// `date.isoformat()`.
pub(crate) fn date_iso(d: &NaiveDate) -> String {
    let y = d.year();
    if (0..=9999).contains(&y) {
        format!("{:04}-{:02}-{:02}", y, d.month(), d.day())
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

/// `datetime.isoformat(sep)`: microseconds only when non-zero, offset as `+HH:MM`.
pub(crate) fn datetime_iso(dt: &DateTimeValue, sep: char) -> String {
    let mut s = date_iso(&dt.naive.date());
    s.push(sep);
    s.push_str(&time_iso(&dt.naive));
    if let Some(o) = dt.offset {
        s.push_str(&offset_str(o, false));
    }
    s
}

fn time_iso(n: &NaiveDateTime) -> String {
    let micros = n.nanosecond() / 1000 % 1_000_000;
    if micros == 0 {
        format!("{:02}:{:02}:{:02}", n.hour(), n.minute(), n.second())
    } else {
        format!(
            "{:02}:{:02}:{:02}.{:06}",
            n.hour(),
            n.minute(),
            n.second(),
            micros
        )
    }
}

/// `+HH:MM` (with `:SS` when needed); `utc_empty` prints "" for a zero offset (timezone str).
pub(crate) fn offset_str(o: FixedOffset, utc_empty: bool) -> String {
    let secs = o.local_minus_utc();
    if utc_empty && secs == 0 {
        return String::new();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let mut s = format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60);
    if !a.is_multiple_of(60) {
        let _ = write!(s, ":{:02}", a % 60);
    }
    s
}

fn tz_repr(z: FixedOffset) -> String {
    let secs = z.local_minus_utc();
    if secs == 0 {
        "datetime.timezone.utc".into()
    } else {
        format!(
            "datetime.timezone({})",
            timedelta_repr_inner(TimeDelta::seconds(secs as i64))
        )
    }
}

fn timedelta_repr_inner(t: TimeDelta) -> String {
    let v = Value::obj(ObjKind::Timedelta(t));
    py_repr(&v)
}

fn datetime_repr(dt: &DateTimeValue, out: &mut String) {
    let n = &dt.naive;
    let _ = write!(
        out,
        "datetime.datetime({}, {}, {}, {}, {}",
        n.year(),
        n.month(),
        n.day(),
        n.hour(),
        n.minute()
    );
    let micros = n.nanosecond() / 1000 % 1_000_000;
    if n.second() != 0 || micros != 0 {
        let _ = write!(out, ", {}", n.second());
    }
    if micros != 0 {
        let _ = write!(out, ", {micros}");
    }
    if let Some(o) = dt.offset {
        let _ = write!(out, ", tzinfo={}", tz_repr(o));
    }
    out.push(')');
}

/// Python's normalized timedelta parts: days (may be negative), 0 <= seconds < 86400, micros.
pub(crate) fn timedelta_parts(t: TimeDelta) -> (i64, i64, i64) {
    let total_us = t.num_microseconds().unwrap_or(i64::MAX);
    let days = total_us.div_euclid(86_400_000_000);
    let rest = total_us.rem_euclid(86_400_000_000);
    (days, rest / 1_000_000, rest % 1_000_000)
}

/// Python `str(timedelta)`: "1 day, 0:00:00", "-1 days, 23:59:59.500000".
pub(crate) fn timedelta_str(t: TimeDelta) -> String {
    let (days, secs, micros) = timedelta_parts(t);
    let mut s = String::new();
    if days != 0 {
        let _ = write!(s, "{days} day{}, ", if days.abs() != 1 { "s" } else { "" });
    }
    let _ = write!(
        s,
        "{}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    if micros != 0 {
        let _ = write!(s, ".{micros:06}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_json;

    fn v(json: &str) -> Value {
        parse_json(json).unwrap()
    }

    #[test]
    fn str_and_repr_match_python() {
        // python3: str({'a': 1, 'b': [1.0, None, True, 'x']})
        assert_eq!(
            v(r#"{"a":1,"b":[1.0,null,true,"x"]}"#).py_str(),
            "{'a': 1, 'b': [Decimal('1.0'), None, True, 'x']}"
        );
        assert_eq!(Value::Float(1.0).py_str(), "1.0");
        assert_eq!(Value::str("it's").py_repr(), "\"it's\"");
        assert_eq!(Value::str("a\nb'\"").py_repr(), "'a\\nb\\'\"'");
        assert_eq!(v("3.140").py_str(), "3.140");
        assert_eq!(
            Value::Tuple(std::rc::Rc::new(vec![Value::Int(1)])).py_repr(),
            "(1,)"
        );
    }

    #[test]
    fn timedelta_text() {
        // python3: str(timedelta(days=1)), str(timedelta(seconds=-0.5)), str(timedelta(days=2, seconds=3661))
        assert_eq!(timedelta_str(TimeDelta::days(1)), "1 day, 0:00:00");
        assert_eq!(
            timedelta_str(TimeDelta::milliseconds(-500)),
            "-1 day, 23:59:59.500000"
        );
        assert_eq!(
            timedelta_str(TimeDelta::seconds(2 * 86400 + 3661)),
            "2 days, 1:01:01"
        );
    }
}
