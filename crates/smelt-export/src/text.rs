//! Small text helpers: identifiers, quoting for Python, shell and YAML, and dates.

/// An Airflow id from `s`: letters, digits, `-`, `_` and `.` kept, anything else becomes `_`,
/// at most 200 characters (Airflow allows 250).
pub(crate) fn airflow_id(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.truncate(200);
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// A DNS-1123 label from `s` (lowercase letters, digits and `-`, starting and ending with an
/// alphanumeric), at most `max` characters; `None` when nothing usable remains.
pub(crate) fn dns_label(s: &str, max: usize) -> Option<String> {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(max);
    let trimmed = out.trim_matches('-').to_string();
    (!trimmed.is_empty()).then_some(trimmed)
}

/// `s` as a Python string literal (a JSON string is a valid Python `str` literal).
pub(crate) fn py_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// `s` as a YAML double-quoted scalar (JSON strings are valid YAML).
pub(crate) fn yaml_str(s: &str) -> String {
    py_str(s)
}

/// `s` quoted for a POSIX shell when it holds anything but safe characters.
pub(crate) fn sh_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '@' | ',' | '+')
        });
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Parses `YYYY-MM-DD`, optionally followed by ` ` or `T` and `HH:MM[:SS]`, checking ranges
/// (leap years included) so the generated `datetime(...)` cannot fail at import time.
pub(crate) fn parse_date_time(s: &str) -> Option<[u32; 6]> {
    let (date, time) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let num = |p: &str, len: usize| -> Option<u32> {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let d: Vec<&str> = date.split('-').collect();
    let [y, m, day] = d.as_slice() else {
        return None;
    };
    let (y, m, day) = (num(y, 4)?, num(m, 2)?, num(day, 2)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if y < 1 || day < 1 || day > days {
        return None;
    }
    let (mut h, mut mi, mut sec) = (0, 0, 0);
    if let Some(time) = time.filter(|t| !t.is_empty()) {
        let t: Vec<&str> = time.split(':').collect();
        match t.as_slice() {
            [a, b] => (h, mi) = (num(a, 2)?, num(b, 2)?),
            [a, b, c] => (h, mi, sec) = (num(a, 2)?, num(b, 2)?, num(c, 2)?),
            _ => return None,
        }
        if h > 23 || mi > 59 || sec > 59 {
            return None;
        }
    }
    Some([y, m, day, h, mi, sec])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_labels() {
        assert_eq!(airflow_id("tap-x target-y"), "tap-x_target-y");
        assert_eq!(airflow_id("dbt:run"), "dbt_run");
        assert_eq!(airflow_id(""), "_");
        assert_eq!(dns_label("Daily_Load!", 52).as_deref(), Some("daily-load"));
        assert_eq!(dns_label("--", 52), None);
        assert_eq!(dns_label("abcdef", 3).as_deref(), Some("abc"));
    }

    #[test]
    fn quoting() {
        assert_eq!(py_str("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(sh_quote("tap-x"), "tap-x");
        assert_eq!(sh_quote("/srv/my project"), "'/srv/my project'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date_time("2024-02-29"), Some([2024, 2, 29, 0, 0, 0]));
        assert_eq!(
            parse_date_time("2020-08-05 01:02:03"),
            Some([2020, 8, 5, 1, 2, 3])
        );
        assert_eq!(
            parse_date_time("2020-08-05T10:30"),
            Some([2020, 8, 5, 10, 30, 0])
        );
        assert_eq!(parse_date_time("2023-02-29"), None);
        assert_eq!(parse_date_time("2023-13-01"), None);
        assert_eq!(parse_date_time("2023-01-01 24:00"), None);
        assert_eq!(parse_date_time("yesterday"), None);
    }
}
