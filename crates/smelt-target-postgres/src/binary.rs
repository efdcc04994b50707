//! Writing JSON values into PostgreSQL's binary COPY format, so the server stores them without
//! parsing text (its `timestamp_in` alone cost more than the whole target's parsing).
//!
//! A stream uses it when every column has a [`Binary`] kind (see [`crate::types`]); each row
//! is a 16-bit field count, then per field a 32-bit length (-1: NULL) and the value in the
//! type's `…_recv` layout, big-endian. The loader adds the signature header and the trailer.
//! Values are read as the text path would hand them to the server (the same string decoding
//! and NUL policy, offsets converted to UTC); a value the server would refuse is refused here
//! with the server's wording.

use crate::encode::{self, EncodeError, NulPolicy};

/// The binary COPY signature, flags and header-extension length, sent before the rows.
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The field count -1 that ends binary COPY data.
pub const TRAILER: &[u8] = &[0xff, 0xff];

/// The column types written in binary, by their receive layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    /// `smallint`: 2 bytes.
    Int2,
    /// `integer`: 4 bytes.
    Int4,
    /// `bigint`: 8 bytes.
    Int8,
    /// `boolean`: 1 byte.
    Bool,
    /// `text`, `character varying`: the UTF-8 bytes.
    Text,
    /// `jsonb`: version 1, then the JSON text.
    Jsonb,
    /// `timestamp without time zone`: microseconds since 2000-01-01 00:00:00.
    Timestamp,
    /// `date`: days since 2000-01-01.
    Date,
    /// `numeric`: base-10000 digits with weight, sign and display scale.
    Numeric,
}

impl Binary {
    /// The binary kind of a column of SQL type `sql` (as `format_type` spells it), if any.
    pub fn of(sql: &str) -> Option<Binary> {
        Some(match sql {
            "smallint" => Binary::Int2,
            "integer" => Binary::Int4,
            "bigint" => Binary::Int8,
            "boolean" => Binary::Bool,
            "jsonb" => Binary::Jsonb,
            "text" => Binary::Text,
            "date" => Binary::Date,
            "numeric" => Binary::Numeric,
            s if s.starts_with("character varying") => Binary::Text,
            s if s.starts_with("numeric(") => Binary::Numeric,
            s if s.starts_with("timestamp") && s.ends_with("without time zone") => {
                Binary::Timestamp
            }
            _ => return None,
        })
    }

    /// The SQL name used in messages that mimic the server's.
    fn name(self) -> &'static str {
        match self {
            Binary::Int2 => "smallint",
            Binary::Int4 => "integer",
            Binary::Int8 => "bigint",
            Binary::Bool => "boolean",
            Binary::Text => "text",
            Binary::Jsonb => "json",
            Binary::Timestamp => "timestamp",
            Binary::Date => "date",
            Binary::Numeric => "numeric",
        }
    }
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between 0001-01-01 (chrono's day 1 of the common era) and 2000-01-01.
const PG_EPOCH_DAYS_CE: i32 = 730_120;

/// Append a field of `bytes`.
fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Append a NULL field.
pub fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

/// Append the field count that starts a row of `n` columns.
pub fn row_start(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as i16).to_be_bytes());
}

/// Append a `bigint` field.
pub fn int8(out: &mut Vec<u8>, n: i64) {
    field(out, &n.to_be_bytes());
}

/// Microseconds since PostgreSQL's epoch of a UTC time.
pub fn pg_micros(t: &chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros() - PG_EPOCH_MICROS
}

/// Append an integer (a target-filled `_sdc_*` value) into a column of `kind`.
pub fn int_value(out: &mut Vec<u8>, kind: Binary, n: i64) -> Result<(), EncodeError> {
    match kind {
        Binary::Int8 => {
            int8(out, n);
            Ok(())
        }
        _ => text_value(out, kind, &n.to_string()),
    }
}

/// Append a timestamp (a target-filled `_sdc_*` value, `micros` since PostgreSQL's epoch)
/// into a column of `kind`.
pub fn time_value(
    out: &mut Vec<u8>,
    kind: Binary,
    micros: i64,
    text: &str,
) -> Result<(), EncodeError> {
    match kind {
        Binary::Timestamp => {
            int8(out, micros);
            Ok(())
        }
        _ => text_value(out, kind, text),
    }
}

/// Append one value of a column of `kind`, given as its JSON text (`None`: absent), reading
/// it as the text path would.
pub fn value(
    out: &mut Vec<u8>,
    json: Option<&str>,
    kind: Binary,
    nul: NulPolicy,
) -> Result<(), EncodeError> {
    let Some(text) = json else {
        null(out);
        return Ok(());
    };
    match text.as_bytes()[0] {
        b'n' => null(out),
        b'"' if kind != Binary::Jsonb => {
            let s = nul.text(encode::decode(text)?)?;
            text_value(out, kind, &s)?;
        }
        b'{' | b'[' | b'"' => {
            let json = nul.json(text)?;
            text_value(out, kind, &json)?;
        }
        _ => text_value(out, kind, text)?,
    }
    Ok(())
}

/// Append a value given as the text of a string (`time_extracted`), read as the text path
/// would.
pub fn str_value(out: &mut Vec<u8>, kind: Binary, s: &str) -> Result<(), EncodeError> {
    text_value(out, kind, s)
}

/// The server's message for a value its input function refuses.
fn invalid(kind: Binary, s: &str) -> EncodeError {
    EncodeError::Invalid(format!(
        "invalid input syntax for type {}: \"{s}\"",
        kind.name()
    ))
}

/// Append the value whose text (as COPY text would carry it) is `s`.
fn text_value(out: &mut Vec<u8>, kind: Binary, s: &str) -> Result<(), EncodeError> {
    match kind {
        Binary::Text => field(out, s.as_bytes()),
        Binary::Jsonb => {
            out.extend_from_slice(&(s.len() as i32 + 1).to_be_bytes());
            out.push(1);
            out.extend_from_slice(s.as_bytes());
        }
        Binary::Int2 | Binary::Int4 | Binary::Int8 => {
            let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
            let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(kind, s));
            }
            let n: i64 = t.parse().map_err(|_| out_of_range(kind, s))?;
            match kind {
                Binary::Int2 => {
                    let v = i16::try_from(n).map_err(|_| out_of_range(kind, s))?;
                    field(out, &v.to_be_bytes());
                }
                Binary::Int4 => {
                    let v = i32::try_from(n).map_err(|_| out_of_range(kind, s))?;
                    field(out, &v.to_be_bytes());
                }
                _ => field(out, &n.to_be_bytes()),
            }
        }
        Binary::Bool => field(
            out,
            &[u8::from(boolean(s).ok_or_else(|| invalid(kind, s))?)],
        ),
        Binary::Timestamp => {
            let t = timestamp(s).ok_or_else(|| invalid(kind, s))?;
            int8(out, t);
        }
        Binary::Date => {
            let d = date(s).ok_or_else(|| invalid(kind, s))?;
            field(out, &d.to_be_bytes());
        }
        Binary::Numeric => numeric(out, s).ok_or_else(|| invalid(kind, s))?,
    }
    Ok(())
}

/// The server's message for an integer outside its type's range.
fn out_of_range(kind: Binary, s: &str) -> EncodeError {
    EncodeError::Invalid(format!(
        "value \"{s}\" is out of range for type {}",
        kind.name()
    ))
}

/// `boolin`: true/false, yes/no, on/off (any unambiguous prefix, any case), 1/0, padded.
fn boolean(s: &str) -> Option<bool> {
    let t = s
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .to_ascii_lowercase();
    let prefix = |word: &str, min: usize| t.len() >= min && word.starts_with(t.as_str());
    if prefix("true", 1) || prefix("yes", 1) || prefix("on", 2) || t == "1" {
        Some(true)
    } else if prefix("false", 1) || prefix("no", 1) || prefix("off", 2) || t == "0" {
        Some(false)
    } else {
        None
    }
}

/// A date-time as the text path stores it, in microseconds since PostgreSQL's epoch: a
/// non-zero RFC 3339 offset converted to UTC (the fraction cut to microseconds); a zone the text path leaves to the server (`+00`,
/// `+0530`, …) dropped, as the server drops it for `timestamp without time zone`; none: as
/// given; a date alone: midnight. `None` for a form not read here exactly.
pub fn timestamp(s: &str) -> Option<i64> {
    use chrono::{NaiveDate, NaiveDateTime};
    if let Some(t) = encode::converted(s) {
        return Some(pg_micros(&t));
    }
    if let Some(micros) = plain_local(without_zone(s)) {
        return Some(micros);
    }
    let t = if s.len() == 10 {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
    } else {
        // What the server reads: a zone dropped, a finer fraction rounded (below).
        let local = without_zone(s);
        NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S%.f"))
            .ok()?
    };
    let micros = pg_micros(&t);
    match s.find('.').map(|i| &s[i..]) {
        // Finer than microseconds: rounded as the server does (`rint(strtod(".…") * 1e6)`).
        Some(frac) if frac.bytes().skip(1).take_while(u8::is_ascii_digit).count() > 6 => {
            let digits = 1 + frac.bytes().skip(1).take_while(u8::is_ascii_digit).count();
            let f: f64 = frac[..digits].parse().ok()?;
            let whole = micros - i64::from(t.and_utc().timestamp_subsec_micros());
            Some(whole + (f * 1e6).round_ties_even() as i64)
        }
        _ => Some(micros),
    }
}

/// The common shape, read without chrono's format parsing (this runs for every value, and
/// for every record's `time_extracted`): `YYYY-MM-DD(T| )HH:MM:SS[.f]` with at most six
/// fraction digits, in microseconds since PostgreSQL's epoch. `None` for anything else (a
/// leap second, more digits, another shape), which the general path then reads.
fn plain_local(s: &str) -> Option<i64> {
    use chrono::Datelike;
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let fraction = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=6).contains(&digits.len()) => {
            num(20, b.len())? * 10i64.pow(6 - digits.len() as u32)
        }
        _ => return None,
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(year).ok()?,
        u32::try_from(month).ok()?,
        u32::try_from(day).ok()?,
    )?;
    let days = i64::from(date.num_days_from_ce() - PG_EPOCH_DAYS_CE);
    Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + fraction)
}

/// `s` without a trailing `Z` or numeric zone (`±HH`, `±HHMM`, `±HH:MM`) after a time.
fn without_zone(s: &str) -> &str {
    if let Some(rest) = s.strip_suffix(['Z', 'z']) {
        return rest;
    }
    let b = s.as_bytes();
    for len in [3, 5, 6] {
        if b.len() <= len + 8 {
            continue;
        }
        let (head, zone) = s.split_at(b.len() - len);
        let z = zone.as_bytes();
        let digits_ok = match len {
            6 => z[3] == b':' && z[1..3].iter().chain(&z[4..]).all(u8::is_ascii_digit),
            _ => z[1..].iter().all(u8::is_ascii_digit),
        };
        if matches!(z[0], b'+' | b'-')
            && digits_ok
            && head.as_bytes()[head.len() - 1].is_ascii_digit()
        {
            return head;
        }
    }
    s
}

/// A `YYYY-MM-DD` date in days since PostgreSQL's epoch.
fn date(s: &str) -> Option<i32> {
    use chrono::Datelike;
    if s.len() != 10 {
        return None;
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.num_days_from_ce() - PG_EPOCH_DAYS_CE)
}

/// Append a `numeric` from a decimal literal (`[+-]digits[.digits][e[+-]digits]`, padded, or
/// `NaN`); the display scale is the digits after the point less the exponent, as `numeric_in`
/// keeps it (a column's typmod is applied by the server's `numeric_recv`).
fn numeric(out: &mut Vec<u8>, s: &str) -> Option<()> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.eq_ignore_ascii_case("nan") {
        field(out, &[0, 0, 0, 0, 0xC0, 0, 0, 0]);
        return Some(());
    }
    let (negative, t) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        || exponent.abs() > 1000
    {
        return None;
    }
    let dscale = (frac.len() as i64 - exponent).max(0);
    if dscale > 0x3FFF {
        return None;
    }
    // Decimal digits, most significant first; the last one's power of ten is `low`.
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let low = exponent - frac.len() as i64;
    let Some(first) = digits.iter().position(|&d| d != 0) else {
        // Zero, with its scale.
        let mut f = [0u8; 8];
        f[6..8].copy_from_slice(&(dscale as i16).to_be_bytes());
        field(out, &f);
        return Some(());
    };
    let last = digits.iter().rposition(|&d| d != 0)?;
    let power = |i: usize| low + (digits.len() - 1 - i) as i64;
    let high_group = power(first).div_euclid(4);
    let low_group = power(last).div_euclid(4);
    let mut groups = vec![0i16; (high_group - low_group + 1) as usize];
    for (i, &d) in digits.iter().enumerate().take(last + 1).skip(first) {
        let p = power(i);
        let g = (high_group - p.div_euclid(4)) as usize;
        groups[g] += i16::from(d) * [1, 10, 100, 1000][p.rem_euclid(4) as usize];
    }
    let weight = i16::try_from(high_group).ok()?;
    out.extend_from_slice(&((8 + 2 * groups.len()) as i32).to_be_bytes());
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&(if negative { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&(dscale as i16).to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_shape_reads_as_the_general_path_does() {
        for text in [
            "2024-01-02T01:04:05.500000+00:00",
            "2024-01-02T01:04:05Z",
            "2024-01-02 01:04:05.123",
            "1999-12-31T23:59:59.999999",
            "1970-01-01T00:00:00",
            "0001-01-01 00:00:00.000001",
            "2024-02-29T12:00:00.5",
        ] {
            let local = without_zone(text);
            let general = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S%.f"))
                .unwrap();
            assert_eq!(plain_local(local), Some(pg_micros(&general)), "{text}");
            assert_eq!(timestamp(text), Some(pg_micros(&general)), "{text}");
        }
        for other in [
            "2024-02-30T00:00:00",
            "2024-01-02T24:00:00",
            "2024-01-02T23:59:60",
            "2024-01-02T01:04:05.1234567",
            "2024-01-02T01:04",
            "2024-1-02T01:04:05",
            "+2024-01-02T01:04:05",
        ] {
            assert_eq!(plain_local(other), None, "{other}");
        }
    }
}
