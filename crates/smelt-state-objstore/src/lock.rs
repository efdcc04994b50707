//! Meltano's lock protocol on an object store, made atomic with conditional writes.
//!
//! The lock for a state ID is the object `<prefix>/<state_id>/lock` holding the time it was
//! taken as Unix epoch seconds (`1732200000.123456`), exactly what Meltano writes and reads
//! with `float()`, so Meltano and smelt see each other's locks. A lock older than the timeout
//! is abandoned and may be replaced; a fresh one is retried every `lock_retry`.
//!
//! Where Meltano checks and then writes (two processes can both "take" the lock), smelt also
//! checks first, but:
//! * creates the lock with `PutMode::Create` (`If-None-Match: *`, GCS
//!   `x-goog-if-generation-match: 0`): of two takers that both saw no lock exactly one
//!   succeeds;
//! * replaces an abandoned lock with `PutMode::Update` against the version it observed, so
//!   two processes breaking the same lock cannot both win;
//! * refreshes a run claim the same way, which fails if someone took the lock over;
//! * deletes the lock on release only if it is still the one it wrote (checked by ETag just
//!   before the delete; object stores have no conditional delete, so a lock taken over in that
//!   instant — only possible after ours expired — can still be removed).

use smelt_state::lock_time::{epoch_seconds, format_time, is_expired, parse_lock_time};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use object_store::path::Path;
use object_store::{PutMode, UpdateVersion};
use smelt_state::StateError;

use crate::objects::{Fetched, Objects, Put};

/// File name of the lock inside a state ID's "directory" (Meltano's name).
pub(crate) const LOCK_FILE: &str = "lock";
/// Shortest pause between attempts, so a zero retry interval does not spin.
const MIN_PAUSE: Duration = Duration::from_millis(1);
/// How often a claim retries when the lock keeps changing under it.
const MAX_CLAIM_ATTEMPTS: usize = 100;

/// How to wait for a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockPolicy {
    /// Age after which a lock is considered abandoned.
    pub timeout: Duration,
    /// Pause between attempts while the lock is held.
    pub retry: Duration,
    /// Give up with [`StateError::Locked`] after waiting this long.
    pub max_wait: Duration,
}

impl LockPolicy {
    /// Meltano's two settings, waiting at most twice `timeout + retry` (at least one second):
    /// long enough for any abandoned lock to expire.
    pub(crate) fn new(timeout: Duration, retry: Duration) -> LockPolicy {
        LockPolicy {
            timeout,
            retry,
            max_wait: (timeout + retry)
                .saturating_mul(2)
                .max(Duration::from_secs(1)),
        }
    }
}

/// A lock object this process wrote.
#[derive(Debug, Clone)]
pub(crate) struct HeldLock {
    pub key: Path,
    pub version: UpdateVersion,
}

/// A lock object someone wrote.
struct Observed {
    version: UpdateVersion,
    locked_at: SystemTime,
}

impl Observed {
    fn from_fetched(fetched: &Fetched) -> Observed {
        // A lock whose content we cannot read (another tool's format, or garbage) dates from
        // the object's last modification.
        let locked_at = std::str::from_utf8(&fetched.bytes)
            .ok()
            .and_then(parse_lock_time)
            .unwrap_or_else(|| SystemTime::from(fetched.meta.last_modified));
        Observed {
            version: fetched.version(),
            locked_at,
        }
    }
}

/// Take the lock at `key` for `id`, waiting while someone else holds a fresh one.
///
/// Like Meltano, look first and create only when the lock is absent; the create itself is
/// conditional, so of two processes that both saw no lock only one gets it. (Looking first
/// also keeps the protocol as safe as Meltano's on a store that ignores the condition.)
pub(crate) fn acquire(
    objects: &Objects<'_>,
    id: &str,
    key: &Path,
    policy: LockPolicy,
) -> Result<HeldLock, StateError> {
    let started = Instant::now();
    // When the live lock we last saw was taken, for the error message.
    let mut last_seen: Option<SystemTime> = None;
    loop {
        match objects.get(key)?.as_ref().map(Observed::from_fetched) {
            None => {
                if let Put::Written(version) = objects.put(key, lock_content(), PutMode::Create)? {
                    return Ok(HeldLock {
                        key: key.clone(),
                        version,
                    });
                }
                // Someone created it between our look and our create: look again at once.
            }
            Some(found) if is_expired(found.locked_at, policy.timeout) => {
                if let Some(held) = replace(objects, key, &found)? {
                    return Ok(held);
                }
                // Someone else replaced it first: look again at once.
            }
            Some(found) => {
                last_seen = Some(found.locked_at);
                let waited = started.elapsed();
                if waited < policy.max_wait {
                    sleep(policy.retry.min(policy.max_wait - waited).max(MIN_PAUSE));
                }
            }
        }
        let waited = started.elapsed();
        if waited >= policy.max_wait {
            return Err(locked(objects, id, key, last_seen, waited));
        }
    }
}

/// Take the lock for a whole run without waiting: a free or abandoned lock is taken; a fresh
/// one is [`StateError::Locked`], unless `force`, which takes it over.
pub(crate) fn claim(
    objects: &Objects<'_>,
    id: &str,
    key: &Path,
    policy: LockPolicy,
    force: bool,
) -> Result<HeldLock, StateError> {
    for _ in 0..MAX_CLAIM_ATTEMPTS {
        match objects.get(key)?.as_ref().map(Observed::from_fetched) {
            None => {
                if let Put::Written(version) = objects.put(key, lock_content(), PutMode::Create)? {
                    return Ok(HeldLock {
                        key: key.clone(),
                        version,
                    });
                }
            }
            Some(found) if force || is_expired(found.locked_at, policy.timeout) => {
                if let Some(held) = replace(objects, key, &found)? {
                    return Ok(held);
                }
            }
            Some(found) => {
                return Err(locked(
                    objects,
                    id,
                    key,
                    Some(found.locked_at),
                    Duration::ZERO,
                ))
            }
        }
    }
    Err(StateError::Backend(format!(
        "could not take the lock {} (it kept changing while we tried); try again",
        objects.url(key)
    )))
}

/// Re-stamp a held lock so it does not expire; fails if it is no longer ours.
pub(crate) fn refresh(objects: &Objects<'_>, held: &mut HeldLock) -> Result<(), StateError> {
    let mode = if has_version(&held.version) {
        PutMode::Update(held.version.clone())
    } else if is_ours(objects, held)? {
        PutMode::Overwrite // the store gave no version to condition on
    } else {
        return Err(taken_over(objects, held));
    };
    match objects.put(&held.key, lock_content(), mode)? {
        Put::Written(version) => {
            held.version = version;
            Ok(())
        }
        Put::Conflict => Err(taken_over(objects, held)),
    }
}

/// Remove a held lock if it is still ours.
pub(crate) fn release(objects: &Objects<'_>, held: &HeldLock) -> Result<(), StateError> {
    if is_ours(objects, held)? {
        objects.delete(&held.key)?;
    }
    Ok(())
}

/// Replace the lock `found` with ours, conditionally on it being unchanged. `None` if someone
/// else changed it first.
fn replace(
    objects: &Objects<'_>,
    key: &Path,
    found: &Observed,
) -> Result<Option<HeldLock>, StateError> {
    let mode = if has_version(&found.version) {
        PutMode::Update(found.version.clone())
    } else {
        PutMode::Overwrite
    };
    Ok(match objects.put(key, lock_content(), mode)? {
        Put::Written(version) => Some(HeldLock {
            key: key.clone(),
            version,
        }),
        Put::Conflict => None,
    })
}

fn is_ours(objects: &Objects<'_>, held: &HeldLock) -> Result<bool, StateError> {
    let Some(meta) = objects.head(&held.key)? else {
        return Ok(false);
    };
    // Every identifier the store gave us must still match. Without any we cannot tell and
    // assume the lock is ours, as Meltano always does.
    let same = |ours: &Option<String>, now: &Option<String>| ours.is_none() || ours == now;
    Ok(same(&held.version.e_tag, &meta.e_tag) && same(&held.version.version, &meta.version))
}

fn has_version(version: &UpdateVersion) -> bool {
    version.e_tag.is_some() || version.version.is_some()
}

fn taken_over(objects: &Objects<'_>, held: &HeldLock) -> StateError {
    StateError::Backend(format!(
        "the lock {} is no longer held by this run: another process took it over",
        objects.url(&held.key)
    ))
}

fn locked(
    objects: &Objects<'_>,
    id: &str,
    key: &Path,
    locked_at: Option<SystemTime>,
    waited: Duration,
) -> StateError {
    StateError::Locked {
        id: id.to_string(),
        lock_path: objects.url(key),
        locked_at: locked_at.map(format_time),
        waited,
    }
}

/// The lock content for "now": Unix epoch seconds with microseconds, like Python's
/// `str(datetime.now(timezone.utc).timestamp())`.
fn lock_content() -> Vec<u8> {
    epoch_seconds(SystemTime::now()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn lock_content_is_meltano_float_seconds() {
        let text = epoch_seconds(UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_042));
        assert_eq!(text, "1700000000.000042");
        assert!(text.parse::<f64>().is_ok());
        let now = String::from_utf8(lock_content()).unwrap_or_default();
        assert!(parse_lock_time(&now).is_some_and(|t| !is_expired(t, Duration::from_secs(5))));
    }

    #[test]
    fn parses_meltano_and_rfc3339_times() {
        let secs = |t: Option<SystemTime>| {
            t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
        };
        assert_eq!(
            secs(parse_lock_time("1732200000.123456")),
            Some(1_732_200_000)
        );
        assert_eq!(secs(parse_lock_time(" 1732200000\n")), Some(1_732_200_000));
        assert_eq!(
            secs(parse_lock_time("2024-11-21T15:20:00Z")),
            Some(1_732_202_400)
        );
        for bad in ["", "garbage", "-5", "1e400", "NaN"] {
            assert_eq!(parse_lock_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn expiry_follows_meltanos_rule() {
        let timeout = Duration::from_secs(10);
        assert!(is_expired(
            SystemTime::now() - Duration::from_secs(11),
            timeout
        ));
        assert!(!is_expired(
            SystemTime::now() - Duration::from_secs(9),
            timeout
        ));
        assert!(!is_expired(
            SystemTime::now() + Duration::from_secs(60),
            timeout
        ));
    }

    #[test]
    fn policy_waits_long_enough_for_expiry() {
        let p = LockPolicy::new(Duration::from_secs(10), Duration::from_secs(1));
        assert_eq!(p.max_wait, Duration::from_secs(22));
        let p = LockPolicy::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(p.max_wait, Duration::from_secs(1));
    }
}
