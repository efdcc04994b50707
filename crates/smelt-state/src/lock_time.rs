//! The content of Meltano's lock files (`<state_id>/lock`) and its expiry rule, shared by every
//! lock-based backend (directory and object stores) so they all read and write the same format.
//!
//! Meltano writes the lock time as Unix epoch seconds (`1732200000.123456`, Python's
//! `str(datetime.now(timezone.utc).timestamp())`) and reads it with `float()`; smelt writes
//! that, and also reads RFC 3339 timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `t` as Meltano's lock content: epoch seconds with microseconds.
pub fn epoch_seconds(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", since.as_secs(), since.subsec_micros())
}

/// Parses a lock's content: epoch seconds (Meltano) or an RFC 3339 timestamp; `None` when it is
/// neither (a lock being written, or garbage), so callers can fall back to the file's age.
pub fn parse_lock_time(content: &str) -> Option<SystemTime> {
    let text = content.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<f64>() {
        let since_epoch = Duration::try_from_secs_f64(secs).ok()?;
        return UNIX_EPOCH.checked_add(since_epoch);
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(SystemTime::from(parsed))
}

/// Meltano's expiry rule: abandoned when `locked_at < now - timeout`. Future times (clock skew)
/// are not expired.
pub fn is_expired(locked_at: SystemTime, timeout: Duration) -> bool {
    SystemTime::now()
        .duration_since(locked_at)
        .is_ok_and(|age| age > timeout)
}

/// A lock time for messages (RFC 3339, seconds).
pub fn format_time(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
