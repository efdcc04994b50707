//! Timestamps as stored in the database: RFC 3339, UTC, fixed microsecond precision, so text
//! order is time order and values round-trip exactly.

use chrono::{DateTime, SecondsFormat, Utc};

/// The current time, truncated to what we store (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Database text for `t`, e.g. `2024-11-21T15:20:00.123456Z`.
pub(crate) fn to_db(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parse database text back into a time.
pub(crate) fn from_db(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 timestamp ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts_as_text() {
        let a = now();
        let text = to_db(a);
        assert!(text.ends_with('Z'), "{text}");
        assert_eq!(from_db(&text), Ok(a));
        let earlier = to_db(a - chrono::Duration::seconds(1));
        assert!(earlier < text);
        assert!(from_db("yesterday").is_err());
    }
}
