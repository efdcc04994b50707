//! The `datetime` module as stream maps use it: `datetime.datetime`/`date`/`timedelta`/
//! `timezone` (constructors, `fromisoformat` as Python 3.11 reads it, `now`, `strptime`...)
//! and the attributes and methods of their instances.

use std::rc::Rc;

use chrono::format::{Item, StrftimeItems};
use chrono::{
    DateTime, Datelike, FixedOffset, Local, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc,
};

use crate::builtins::{to_float, Builtin};
use crate::call::Args;
use crate::error::{FResult, Fail};
use crate::ops::{td, timedelta_of};
use crate::repr::{date_iso, datetime_iso};
use crate::value::{DateTimeValue, ObjKind, Value};

const DATETIME_CLASS_METHODS: &[&str] = &[
    "fromisoformat",
    "now",
    "utcnow",
    "today",
    "fromtimestamp",
    "strptime",
    "combine",
];
const DATE_CLASS_METHODS: &[&str] = &["fromisoformat", "today", "fromtimestamp"];
const DATETIME_METHODS: &[&str] = &[
    "date",
    "timestamp",
    "isoformat",
    "strftime",
    "weekday",
    "isoweekday",
    "replace",
    "astimezone",
    "utcoffset",
];
const DATE_METHODS: &[&str] = &["isoformat", "strftime", "weekday", "isoweekday", "replace"];

/// Whether `b` is one of the datetime classes.
pub(crate) fn is_class(b: Builtin) -> bool {
    matches!(
        b,
        Builtin::DatetimeClass
            | Builtin::DateClass
            | Builtin::TimedeltaClass
            | Builtin::TimezoneClass
    )
}

fn invalid_iso(s: &str) -> Fail {
    Fail::value_err(format!(
        "Invalid isoformat string: {}",
        Value::str(s).py_repr()
    ))
}

fn class_obj(b: Builtin) -> Value {
    b.value()
}

/// `datetime.datetime.fromisoformat` and friends as attributes; `datetime.timezone.utc`.
pub(crate) fn class_attr(b: Builtin, name: &str) -> Option<Value> {
    let methods = match b {
        Builtin::DatetimeClass => DATETIME_CLASS_METHODS,
        Builtin::DateClass => DATE_CLASS_METHODS,
        Builtin::TimezoneClass if name == "utc" => return Some(utc()),
        _ => return None,
    };
    methods
        .contains(&name)
        .then(|| Value::obj(ObjKind::Method(class_obj(b), Rc::from(name))))
}

fn utc() -> Value {
    Value::obj(ObjKind::Timezone(Utc.fix()))
}

fn tz_of(v: Option<&Value>) -> FResult<Option<FixedOffset>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Object(o)) => match &o.kind {
            ObjKind::Timezone(z) => Ok(Some(*z)),
            _ => Err(Fail::type_err(
                "tzinfo argument must be None or of a tzinfo subclass",
            )),
        },
        Some(_) => Err(Fail::type_err(
            "tzinfo argument must be None or of a tzinfo subclass",
        )),
    }
}

fn int_of(v: Option<&Value>, default: i64, what: &str) -> FResult<i64> {
    match v {
        None => Ok(default),
        Some(Value::Int(i)) => Ok(*i),
        Some(Value::Bool(b)) => Ok(*b as i64),
        Some(v) => Err(Fail::type_err(format!(
            "'{}' object cannot be interpreted as an integer ({what})",
            v.type_name()
        ))),
    }
}

fn make_date(y: i64, m: i64, d: i64) -> FResult<NaiveDate> {
    if !(1..=9999).contains(&y) {
        return Err(Fail::value_err(format!("year {y} is out of range")));
    }
    if !(1..=12).contains(&m) {
        return Err(Fail::value_err("month must be in 1..12"));
    }
    NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)
        .ok_or_else(|| Fail::value_err("day is out of range for month"))
}

fn make_time(h: i64, mi: i64, s: i64, us: i64) -> FResult<NaiveTime> {
    let check = |v: i64, hi: i64, name: &str| {
        if (0..=hi).contains(&v) {
            Ok(())
        } else {
            Err(Fail::value_err(format!("{name} must be in 0..{hi}")))
        }
    };
    check(h, 23, "hour")?;
    check(mi, 59, "minute")?;
    check(s, 59, "second")?;
    check(us, 999_999, "microsecond")?;
    NaiveTime::from_hms_micro_opt(h as u32, mi as u32, s as u32, us as u32)
        .ok_or_else(|| Fail::value_err("invalid time"))
}

/// `datetime.datetime(...)`, `datetime.date(...)`, `datetime.timedelta(...)`, `datetime.timezone(td)`.
pub(crate) fn construct(b: Builtin, a: &Args) -> FResult<Value> {
    match b {
        Builtin::DatetimeClass => {
            let names = [
                "year",
                "month",
                "day",
                "hour",
                "minute",
                "second",
                "microsecond",
            ];
            a.check(
                "datetime",
                3,
                8,
                &[
                    "year",
                    "month",
                    "day",
                    "hour",
                    "minute",
                    "second",
                    "microsecond",
                    "tzinfo",
                ],
            )?;
            let mut v = [0i64; 7];
            for (i, n) in names.iter().enumerate() {
                v[i] = int_of(a.get(i, n), 0, n)?;
            }
            let date = make_date(v[0], v[1], v[2])?;
            let time = make_time(v[3], v[4], v[5], v[6])?;
            Ok(Value::DateTime(DateTimeValue {
                naive: date.and_time(time),
                offset: tz_of(a.get(7, "tzinfo"))?,
            }))
        }
        Builtin::DateClass => {
            a.check("date", 3, 3, &["year", "month", "day"])?;
            let y = int_of(a.get(0, "year"), 0, "year")?;
            let m = int_of(a.get(1, "month"), 0, "month")?;
            let d = int_of(a.get(2, "day"), 0, "day")?;
            Ok(Value::Date(make_date(y, m, d)?))
        }
        Builtin::TimedeltaClass => {
            let names = [
                "days",
                "seconds",
                "microseconds",
                "milliseconds",
                "minutes",
                "hours",
                "weeks",
            ];
            a.check("timedelta", 0, 7, &names)?;
            let scale = [86_400e6, 1e6, 1.0, 1e3, 60e6, 3600e6, 604_800e6];
            let mut us = 0f64;
            for (i, n) in names.iter().enumerate() {
                if let Some(v) = a.get(i, n) {
                    us += to_float(v)? * scale[i];
                }
            }
            if us.abs() > 86_400e6 * 999_999_999.0 {
                return Err(Fail::other("days must be in -999999999..999999999"));
            }
            Ok(td(TimeDelta::microseconds(us.round_ties_even() as i64)))
        }
        Builtin::TimezoneClass => {
            a.check("timezone", 1, 2, &["offset", "name"])?;
            let t = a.get(0, "offset").and_then(timedelta_of).ok_or_else(|| {
                Fail::type_err("timezone() argument 1 must be datetime.timedelta")
            })?;
            let secs = t.num_seconds();
            if secs.abs() >= 86_400 {
                return Err(Fail::value_err("offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)"));
            }
            Ok(Value::obj(ObjKind::Timezone(
                FixedOffset::east_opt(secs as i32).ok_or_else(|| Fail::value_err("bad offset"))?,
            )))
        }
        _ => Err(Fail::type_err("not callable")),
    }
}

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let (y, m, d) = if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        (
            digits(&s[..4], 4)?,
            digits(&s[5..7], 2)?,
            digits(&s[8..], 2)?,
        )
    } else if s.len() == 8 {
        (
            digits(&s[..4], 4)?,
            digits(&s[4..6], 2)?,
            digits(&s[6..], 2)?,
        )
    } else {
        return None;
    };
    if y == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

fn parse_iso_time(s: &str) -> Option<(NaiveTime, Option<FixedOffset>)> {
    let (t, tz) = match s.find(['Z', '+', '-']) {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let offset = match tz {
        None => None,
        Some("Z") => Some(FixedOffset::east_opt(0)?),
        Some(z) => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (hms, _) = parse_hms(&z[1..])?;
            let secs = hms.num_seconds_from_midnight() as i32;
            Some(FixedOffset::east_opt(sign * secs)?)
        }
    };
    let (time, _) = parse_hms(t)?;
    Some((time, offset))
}

/// `HH[:MM[:SS[.f+]]]` or `HH[MM[SS[.f+]]]`.
fn parse_hms(t: &str) -> Option<(NaiveTime, ())> {
    let (main, frac) = match t.find(['.', ',']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let parts: Vec<u32> = if main.contains(':') {
        let p: Vec<&str> = main.split(':').collect();
        if p.len() > 3 {
            return None;
        }
        p.iter().map(|x| digits(x, 2)).collect::<Option<_>>()?
    } else {
        if main.len() % 2 != 0 || main.is_empty() || main.len() > 6 {
            return None;
        }
        (0..main.len() / 2)
            .map(|i| digits(&main[i * 2..i * 2 + 2], 2))
            .collect::<Option<_>>()?
    };
    if frac.is_some() && parts.len() != 3 {
        return None;
    }
    let us = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let f6: String = f.chars().chain(std::iter::repeat('0')).take(6).collect();
            f6.parse().ok()?
        }
        Some(_) => return None,
    };
    let get = |i: usize| parts.get(i).copied().unwrap_or(0);
    Some((
        NaiveTime::from_hms_micro_opt(get(0), get(1), get(2), us)?,
        (),
    ))
}

/// Python 3.11's `datetime.fromisoformat`.
pub(crate) fn datetime_fromisoformat(s: &str) -> FResult<DateTimeValue> {
    let date_len = if s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-') {
        10
    } else {
        8.min(s.len())
    };
    let date = s
        .get(..date_len)
        .and_then(parse_iso_date)
        .ok_or_else(|| invalid_iso(s))?;
    let rest = &s[date_len..];
    if rest.is_empty() {
        return Ok(DateTimeValue {
            naive: date.and_time(NaiveTime::MIN),
            offset: None,
        });
    }
    let sep_len = rest.chars().next().map_or(0, char::len_utf8);
    let (time, offset) = parse_iso_time(&rest[sep_len..]).ok_or_else(|| invalid_iso(s))?;
    Ok(DateTimeValue {
        naive: date.and_time(time),
        offset,
    })
}

fn local_naive(ts: f64) -> FResult<NaiveDateTime> {
    let secs = ts.floor();
    let us = ((ts - secs) * 1e6).round() as u32;
    let dt = DateTime::from_timestamp(secs as i64, us * 1000)
        .ok_or_else(|| Fail::value_err("year is out of range"))?;
    Ok(dt.with_timezone(&Local).naive_local())
}

/// The timestamp of a datetime (naive values are local time, as in Python).
fn timestamp(dt: &DateTimeValue) -> f64 {
    let utc = match dt.offset {
        Some(_) => dt.utc_naive(),
        None => match Local.from_local_datetime(&dt.naive).earliest() {
            Some(l) => l.naive_utc(),
            None => dt.naive,
        },
    };
    let t = utc.and_utc();
    t.timestamp() as f64 + t.timestamp_subsec_micros() as f64 / 1e6
}

fn strftime(fmt: &str, naive: NaiveDateTime, offset: Option<FixedOffset>) -> FResult<String> {
    use std::fmt::Write;
    let bad = || {
        Fail::value_err(format!(
            "Invalid format string: {}",
            Value::str(fmt).py_repr()
        ))
    };
    // Python prints %z / %Z of a naive value as empty; %f is always 6 digits.
    let fmt = fmt.replace("%f", "%6f");
    let fmt = if offset.is_none() {
        fmt.replace("%z", "").replace("%Z", "")
    } else {
        fmt
    };
    let items: Vec<Item> = StrftimeItems::new(&fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(bad());
    }
    // chrono reports unsupported fields through fmt::Error; write! keeps that an error.
    let mut out = String::new();
    let r = match offset.and_then(|o| o.from_local_datetime(&naive).single()) {
        Some(dt) => write!(out, "{}", dt.format_with_items(items.iter())),
        None => write!(out, "{}", naive.format_with_items(items.iter())),
    };
    r.map_err(|_| bad())?;
    Ok(out)
}

fn strptime(s: &str, fmt: &str) -> FResult<DateTimeValue> {
    let bad = || {
        Fail::value_err(format!(
            "time data {} does not match format {}",
            Value::str(s).py_repr(),
            Value::str(fmt).py_repr()
        ))
    };
    if StrftimeItems::new(fmt).any(|i| matches!(i, Item::Error)) {
        return Err(bad());
    }
    let fmt_c = fmt.replace("%f", "%6f");
    if fmt.contains("%z") {
        let dt = DateTime::parse_from_str(s, &fmt_c).map_err(|_| bad())?;
        return Ok(DateTimeValue {
            naive: dt.naive_local(),
            offset: Some(*dt.offset()),
        });
    }
    if let Ok(n) = NaiveDateTime::parse_from_str(s, &fmt_c) {
        return Ok(DateTimeValue {
            naive: n,
            offset: None,
        });
    }
    let d = NaiveDate::parse_from_str(s, &fmt_c).map_err(|_| bad())?;
    Ok(DateTimeValue {
        naive: d.and_time(NaiveTime::MIN),
        offset: None,
    })
}

fn str_arg<'a>(a: &'a Args, i: usize, name: &str, fname: &str) -> FResult<&'a str> {
    match a.get(i, name) {
        Some(Value::Str(s)) => Ok(s),
        Some(v) => Err(Fail::type_err(format!(
            "{fname}: argument must be str, not {}",
            v.type_name()
        ))),
        None => Err(Fail::type_err(format!(
            "{fname}() missing required argument '{name}'"
        ))),
    }
}

/// A classmethod call such as `datetime.datetime.fromisoformat(s)`; None when `name` is not one.
pub(crate) fn class_method(b: Builtin, name: &str, a: &Args) -> Option<FResult<Value>> {
    let r = match (b, name) {
        (Builtin::DatetimeClass, "fromisoformat") => (|| {
            a.check(name, 1, 1, &[])?;
            datetime_fromisoformat(str_arg(a, 0, "date_string", name)?).map(Value::DateTime)
        })(),
        (Builtin::DateClass, "fromisoformat") => (|| {
            a.check(name, 1, 1, &[])?;
            let s = str_arg(a, 0, "date_string", name)?;
            parse_iso_date(s)
                .map(Value::Date)
                .ok_or_else(|| invalid_iso(s))
        })(),
        (Builtin::DatetimeClass, "now") => (|| {
            a.check(name, 0, 1, &["tz"])?;
            Ok(Value::DateTime(match tz_of(a.get(0, "tz"))? {
                Some(z) => DateTimeValue {
                    naive: Utc::now().with_timezone(&z).naive_local(),
                    offset: Some(z),
                },
                None => DateTimeValue {
                    naive: Local::now().naive_local(),
                    offset: None,
                },
            }))
        })(),
        (Builtin::DatetimeClass, "utcnow") => Ok(Value::DateTime(DateTimeValue {
            naive: Utc::now().naive_utc(),
            offset: None,
        })),
        (Builtin::DatetimeClass, "today") => Ok(Value::DateTime(DateTimeValue {
            naive: Local::now().naive_local(),
            offset: None,
        })),
        (Builtin::DateClass, "today") => Ok(Value::Date(Local::now().date_naive())),
        (Builtin::DatetimeClass | Builtin::DateClass, "fromtimestamp") => (|| {
            a.check(name, 1, 2, &["tz"])?;
            let ts = to_float(&a.pos[0])?;
            let tz = tz_of(a.get(1, "tz"))?;
            let naive = match tz {
                Some(z) => {
                    let secs = ts.floor();
                    let dt = DateTime::from_timestamp(
                        secs as i64,
                        ((ts - secs) * 1e6).round() as u32 * 1000,
                    )
                    .ok_or_else(|| Fail::value_err("year is out of range"))?;
                    dt.with_timezone(&z).naive_local()
                }
                None => local_naive(ts)?,
            };
            Ok(if b == Builtin::DateClass {
                Value::Date(naive.date())
            } else {
                Value::DateTime(DateTimeValue { naive, offset: tz })
            })
        })(),
        (Builtin::DatetimeClass, "strptime") => (|| {
            a.check(name, 2, 2, &[])?;
            strptime(
                str_arg(a, 0, "date_string", name)?,
                str_arg(a, 1, "format", name)?,
            )
            .map(Value::DateTime)
        })(),
        (Builtin::DatetimeClass, "combine") => (|| {
            a.check(name, 2, 3, &["tzinfo"])?;
            match (&a.pos[0], &a.pos[1]) {
                (Value::Date(d), Value::DateTime(t)) => Ok(Value::DateTime(DateTimeValue {
                    naive: d.and_time(t.naive.time()),
                    offset: tz_of(a.get(2, "tzinfo"))?,
                })),
                _ => Err(Fail::type_err("combine() argument 1 must be datetime.date")),
            }
        })(),
        _ => return None,
    };
    Some(r)
}

/// Attributes of date, datetime, timedelta and timezone values; None when unknown.
pub(crate) fn get_attr(v: &Value, name: &str) -> Option<FResult<Value>> {
    let int = |i: u32| Some(Ok(Value::Int(i as i64)));
    let method = |list: &[&str]| {
        list.contains(&name)
            .then(|| Ok(Value::obj(ObjKind::Method(v.clone(), Rc::from(name)))))
    };
    match v {
        Value::Date(d) => match name {
            "year" => Some(Ok(Value::Int(d.year() as i64))),
            "month" => int(d.month()),
            "day" => int(d.day()),
            _ => method(DATE_METHODS),
        },
        Value::DateTime(dt) => {
            let n = &dt.naive;
            match name {
                "year" => Some(Ok(Value::Int(n.year() as i64))),
                "month" => int(n.month()),
                "day" => int(n.day()),
                "hour" => int(n.hour()),
                "minute" => int(n.minute()),
                "second" => int(n.second()),
                "microsecond" => int(n.nanosecond() / 1000 % 1_000_000),
                "tzinfo" => Some(Ok(dt
                    .offset
                    .map_or(Value::None, |o| Value::obj(ObjKind::Timezone(o))))),
                _ => method(DATETIME_METHODS),
            }
        }
        Value::Object(o) => match &o.kind {
            ObjKind::Timedelta(t) => {
                let (days, secs, us) = crate::repr::timedelta_parts(*t);
                match name {
                    "days" => Some(Ok(Value::Int(days))),
                    "seconds" => Some(Ok(Value::Int(secs))),
                    "microseconds" => Some(Ok(Value::Int(us))),
                    _ => method(&["total_seconds"]),
                }
            }
            ObjKind::Timezone(_) => method(&["utcoffset", "tzname"]),
            _ => None,
        },
        _ => None,
    }
}

fn weekday(d: NaiveDate) -> i64 {
    d.weekday().num_days_from_monday() as i64
}

/// Methods of date, datetime, timedelta and timezone values; None when unknown.
pub(crate) fn call_method(v: &Value, name: &str, a: &Args) -> Option<FResult<Value>> {
    let r = match (v, name) {
        (Value::DateTime(dt), "date") => Ok(Value::Date(dt.naive.date())),
        (Value::DateTime(dt), "timestamp") => Ok(Value::Float(timestamp(dt))),
        (Value::DateTime(dt), "isoformat") => (|| {
            a.check(name, 0, 1, &["sep"])?;
            let sep = match a.get(0, "sep") {
                None => 'T',
                Some(Value::Str(s)) if s.chars().count() == 1 => s.chars().next().unwrap_or('T'),
                Some(_) => {
                    return Err(Fail::type_err(
                        "isoformat() argument 1 must be a unicode character",
                    ))
                }
            };
            Ok(Value::str(&datetime_iso(dt, sep)))
        })(),
        (Value::Date(d), "isoformat") => Ok(Value::str(&date_iso(d))),
        (Value::DateTime(dt), "strftime") => (|| {
            a.check(name, 1, 1, &[])?;
            strftime(str_arg(a, 0, "format", name)?, dt.naive, dt.offset).map(|s| Value::str(&s))
        })(),
        (Value::Date(d), "strftime") => (|| {
            a.check(name, 1, 1, &[])?;
            strftime(
                str_arg(a, 0, "format", name)?,
                d.and_time(NaiveTime::MIN),
                None,
            )
            .map(|s| Value::str(&s))
        })(),
        (Value::DateTime(dt), "weekday") => Ok(Value::Int(weekday(dt.naive.date()))),
        (Value::Date(d), "weekday") => Ok(Value::Int(weekday(*d))),
        (Value::DateTime(dt), "isoweekday") => Ok(Value::Int(weekday(dt.naive.date()) + 1)),
        (Value::Date(d), "isoweekday") => Ok(Value::Int(weekday(*d) + 1)),
        (Value::DateTime(dt), "utcoffset") => Ok(dt.offset.map_or(Value::None, |o| {
            td(TimeDelta::seconds(o.local_minus_utc() as i64))
        })),
        (Value::DateTime(dt), "astimezone") => (|| {
            a.check(name, 0, 1, &["tz"])?;
            let target = match tz_of(a.get(0, "tz"))? {
                Some(z) => z,
                None => *Local::now().offset(),
            };
            let utc = match dt.offset {
                Some(_) => dt.utc_naive(),
                None => Local
                    .from_local_datetime(&dt.naive)
                    .earliest()
                    .map_or(dt.naive, |l| l.naive_utc()),
            };
            Ok(Value::DateTime(DateTimeValue {
                naive: utc + TimeDelta::seconds(target.local_minus_utc() as i64),
                offset: Some(target),
            }))
        })(),
        (Value::DateTime(dt), "replace") => (|| {
            let keys = [
                "year",
                "month",
                "day",
                "hour",
                "minute",
                "second",
                "microsecond",
                "tzinfo",
            ];
            a.check(name, 0, 0, &keys)?;
            let n = &dt.naive;
            let date = make_date(
                int_of(a.kw("year"), n.year() as i64, "year")?,
                int_of(a.kw("month"), n.month() as i64, "month")?,
                int_of(a.kw("day"), n.day() as i64, "day")?,
            )?;
            let time = make_time(
                int_of(a.kw("hour"), n.hour() as i64, "hour")?,
                int_of(a.kw("minute"), n.minute() as i64, "minute")?,
                int_of(a.kw("second"), n.second() as i64, "second")?,
                int_of(
                    a.kw("microsecond"),
                    (n.nanosecond() / 1000 % 1_000_000) as i64,
                    "microsecond",
                )?,
            )?;
            let offset = match a.kw("tzinfo") {
                Some(z) => tz_of(Some(z))?,
                None => dt.offset,
            };
            Ok(Value::DateTime(DateTimeValue {
                naive: date.and_time(time),
                offset,
            }))
        })(),
        (Value::Date(d), "replace") => (|| {
            a.check(name, 0, 0, &["year", "month", "day"])?;
            Ok(Value::Date(make_date(
                int_of(a.kw("year"), d.year() as i64, "year")?,
                int_of(a.kw("month"), d.month() as i64, "month")?,
                int_of(a.kw("day"), d.day() as i64, "day")?,
            )?))
        })(),
        (Value::Object(o), "total_seconds") => match &o.kind {
            ObjKind::Timedelta(t) => Ok(Value::Float(
                t.num_microseconds()
                    .map_or(t.num_seconds() as f64, |u| u as f64 / 1e6),
            )),
            _ => return None,
        },
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fromisoformat_like_python_311() {
        let r = |s: &str| {
            datetime_fromisoformat(s)
                .map(|d| Value::DateTime(d).py_repr())
                .map_err(|e| e.message)
        };
        assert_eq!(
            r("2022-01-01T00:00:00.1234567").unwrap(),
            "datetime.datetime(2022, 1, 1, 0, 0, 0, 123456)"
        );
        assert_eq!(
            r("2022-01-01 10").unwrap(),
            "datetime.datetime(2022, 1, 1, 10, 0)"
        );
        assert_eq!(
            r("20220101T102030").unwrap(),
            "datetime.datetime(2022, 1, 1, 10, 20, 30)"
        );
        assert_eq!(
            r("2022-01-01T10:20:30.123Z").unwrap(),
            "datetime.datetime(2022, 1, 1, 10, 20, 30, 123000, tzinfo=datetime.timezone.utc)"
        );
        assert_eq!(
            r("2022-01-01T10:20:30,5").unwrap(),
            "datetime.datetime(2022, 1, 1, 10, 20, 30, 500000)"
        );
        assert_eq!(
            r("2022-01-01").unwrap(),
            "datetime.datetime(2022, 1, 1, 0, 0)"
        );
        assert_eq!(
            r("2022-13-01").unwrap_err(),
            "Invalid isoformat string: '2022-13-01'"
        );
        assert!(r("nope").is_err());
        assert!(r("").is_err());
    }
}
