//! Cron expressions: Meltano's `interval` values, evaluated in UTC.
//!
//! Accepted: the five classic fields (minute, hour, day of month, month, day of week) with `*`,
//! numbers, ranges `a-b`, steps `*/n`, `a-b/n` and `a/n`, lists `a,b-c`, month names `jan`…`dec`
//! and weekday names `sun`…`sat` (0 and 7 are both Sunday); Meltano's presets `@hourly`,
//! `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`; and `@once`, `@manual`,
//! `@none`, which never fire on their own. As in Vixie cron, when both the day of month and the
//! day of week are restricted (neither starts with `*`) a day matches if either does.
//!
//! smelt extension (not Meltano's): six fields, the first being seconds (`*/2 * * * * *`), so
//! schedules (and tests) can fire more often than once a minute.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

/// Why an interval could not be read: the text, the field and the character position (1-based)
/// of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron interval {text:?}: {reason} (field {field}, at character {column})")]
pub struct CronError {
    /// The interval as written.
    pub text: String,
    /// Which field (`minute`, `hour`, …, or `expression`).
    pub field: &'static str,
    /// 1-based character position in `text` where the problem starts.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

/// A parsed interval: either a cron expression that fires, or a preset that never fires on its
/// own (`@once`, `@manual`, `@none`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interval {
    /// Fires at the times the expression matches.
    Cron(Box<CronExpr>),
    /// Never fires automatically (`@once`, `@manual`, `@none`): run with `smelt schedule run`.
    Manual(String),
}

impl Interval {
    /// Parses an `interval:` value.
    pub fn parse(text: &str) -> Result<Interval, CronError> {
        let trimmed = text.trim();
        let lower = trimmed.to_ascii_lowercase();
        let expanded = match lower.as_str() {
            "@once" | "@manual" | "@none" => return Ok(Interval::Manual(lower)),
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            _ if lower.starts_with('@') => {
                return Err(CronError {
                    text: text.to_string(),
                    field: "expression",
                    column: 1 + (text.len() - text.trim_start().len()),
                    reason: format!(
                        "unknown preset {trimmed:?}; use @hourly, @daily, @midnight, @weekly, \
                         @monthly, @yearly, @annually, @once, @manual or a cron expression"
                    ),
                })
            }
            _ => return CronExpr::parse(text).map(|c| Interval::Cron(Box::new(c))),
        };
        CronExpr::parse(expanded).map(|c| Interval::Cron(Box::new(c)))
    }

    /// The first fire time strictly after `after`, or `None` for manual schedules (and for
    /// expressions that can never match, such as `0 0 31 2 *`).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Interval::Cron(c) => c.next_after(after),
            Interval::Manual(_) => None,
        }
    }
}

/// A cron expression: one set of allowed values per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Day of month written as `*…` (unrestricted for the OR rule).
    days_star: bool,
    /// Day of week written as `*…`.
    weekdays_star: bool,
    /// Whether a seconds field was given (six fields).
    has_seconds: bool,
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const SECOND: FieldSpec = FieldSpec {
    name: "second",
    min: 0,
    max: 59,
    names: &[],
};
const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: FieldSpec = FieldSpec {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const WEEKDAY: FieldSpec = FieldSpec {
    name: "day of week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// How far ahead [`CronExpr::next_after`] looks before deciding an expression never matches
/// (leap days repeat within 8 years, weekday/day combinations within 28).
const SEARCH_YEARS: i32 = 30;

impl CronExpr {
    /// Parses five (or, as a smelt extension, six with seconds first) whitespace-separated fields.
    pub fn parse(text: &str) -> Result<CronExpr, CronError> {
        let fields: Vec<(usize, &str)> = split_fields(text);
        let specs: &[&FieldSpec] = match fields.len() {
            5 => &[&MINUTE, &HOUR, &DAY, &MONTH, &WEEKDAY],
            6 => &[&SECOND, &MINUTE, &HOUR, &DAY, &MONTH, &WEEKDAY],
            n => {
                return Err(CronError {
                    text: text.to_string(),
                    field: "expression",
                    column: 1,
                    reason: format!(
                        "expected 5 fields (minute hour day-of-month month day-of-week), or 6 with \
                         seconds first, found {n}"
                    ),
                })
            }
        };
        let mut sets = Vec::with_capacity(6);
        for ((offset, field), spec) in fields.iter().zip(specs) {
            sets.push(parse_field(text, *offset, field, spec)?);
        }
        let has_seconds = fields.len() == 6;
        let base = usize::from(has_seconds);
        let seconds = if has_seconds { sets[0] } else { 1 };
        let mut weekdays = sets[base + 4];
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(CronExpr {
            seconds,
            minutes: sets[base],
            hours: sets[base + 1],
            days: sets[base + 2],
            months: sets[base + 3],
            weekdays,
            days_star: fields[base + 2].1.starts_with('*'),
            weekdays_star: fields[base + 4].1.starts_with('*'),
            has_seconds,
        })
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let dom = bit(self.days, date.day());
        let dow = bit(self.weekdays, date.weekday().num_days_from_sunday());
        if self.days_star || self.weekdays_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first time strictly after `after` that the expression matches (whole seconds; whole
    /// minutes for five fields), or `None` if none within the next 30 years.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let step = if self.has_seconds {
            Duration::seconds(1)
        } else {
            Duration::minutes(1)
        };
        let mut t = after.with_nanosecond(0)?;
        if !self.has_seconds {
            t = t.with_second(0)?;
        }
        t += step;
        let limit_year = after.year() + SEARCH_YEARS;
        while t.year() <= limit_year {
            if !bit(self.months, t.month()) {
                t = first_of_next_month(t)?;
                continue;
            }
            if !self.day_matches(t.date_naive()) {
                t = midnight(t.date_naive().succ_opt()?);
                continue;
            }
            if !bit(self.hours, t.hour()) {
                t = t.with_minute(0)?.with_second(0)? + Duration::hours(1);
                continue;
            }
            if !bit(self.minutes, t.minute()) {
                t = t.with_second(0)? + Duration::minutes(1);
                continue;
            }
            if !bit(self.seconds, t.second()) {
                t += Duration::seconds(1);
                continue;
            }
            return Some(t);
        }
        None
    }
}

fn bit(set: u64, value: u32) -> bool {
    value < 64 && set & (1u64 << value) != 0
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
}

fn first_of_next_month(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (y, m) = if t.month() == 12 {
        (t.year() + 1, 1)
    } else {
        (t.year(), t.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).map(midnight)
}

/// Splits on whitespace, keeping each field's byte offset for error positions.
fn split_fields(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

fn parse_field(text: &str, offset: usize, field: &str, spec: &FieldSpec) -> Result<u64, CronError> {
    let mut set = 0u64;
    let mut pos = offset;
    for part in field.split(',') {
        set |= parse_part(text, pos, part, spec)?;
        pos += part.len() + 1;
    }
    Ok(set)
}

fn parse_part(text: &str, offset: usize, part: &str, spec: &FieldSpec) -> Result<u64, CronError> {
    let err = |at: usize, reason: String| CronError {
        text: text.to_string(),
        field: spec.name,
        column: text[..at.min(text.len())].chars().count() + 1,
        reason,
    };
    if part.is_empty() {
        return Err(err(offset, "empty list item".into()));
    }
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => {
            let step_at = offset + r.len() + 1;
            let step: u32 = s.parse().map_err(|_| {
                err(
                    step_at,
                    format!("step {s:?} is not a positive whole number"),
                )
            })?;
            if step == 0 {
                return Err(err(step_at, "a step of 0 never advances".into()));
            }
            (r, Some(step))
        }
        None => (part, None),
    };
    let (lo, hi) = if range == "*" {
        (spec.min, spec.max)
    } else if let Some((a, b)) = range.split_once('-') {
        let lo = value(a, spec).ok_or_else(|| err(offset, out_of_range(a, spec)))?;
        let b_at = offset + a.len() + 1;
        let hi = value(b, spec).ok_or_else(|| err(b_at, out_of_range(b, spec)))?;
        if hi < lo {
            return Err(err(offset, format!("range {range:?} runs backwards")));
        }
        (lo, hi)
    } else {
        let v = value(range, spec).ok_or_else(|| err(offset, out_of_range(range, spec)))?;
        // `a/n` means from a to the end of the field, stepping n.
        (v, if step.is_some() { spec.max } else { v })
    };
    let step = step.unwrap_or(1);
    let mut set = 0u64;
    let mut v = lo;
    while v <= hi {
        set |= 1u64 << v;
        v += step;
    }
    Ok(set)
}

fn out_of_range(text: &str, spec: &FieldSpec) -> String {
    let names = if spec.names.is_empty() {
        String::new()
    } else {
        format!(
            " or a name ({}…{})",
            spec.names[0],
            spec.names[spec.names.len() - 1]
        )
    };
    format!(
        "{text:?} is not a value from {} to {}{names}",
        spec.min, spec.max
    )
}

fn value(text: &str, spec: &FieldSpec) -> Option<u32> {
    if let Ok(v) = text.parse::<u32>() {
        return (spec.min..=spec.max).contains(&v).then_some(v);
    }
    let lower = text.to_ascii_lowercase();
    let index = spec.names.iter().position(|n| *n == lower)?;
    u32::try_from(index).ok().map(|i| i + spec.min)
}

#[cfg(test)]
mod tests;
