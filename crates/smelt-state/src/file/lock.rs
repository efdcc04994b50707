//! Meltano's lock-file protocol for file-based state backends.
//!
//! The lock for a state ID is the file `<root>/<state_id>/lock`, holding the time it was taken
//! as Unix epoch seconds (`1732200000.123456`, the format Meltano writes and parses with
//! `float()`, so Meltano and smelt honour each other's locks). A lock older than
//! `lock_timeout` is considered abandoned and may be broken; otherwise the taker waits
//! `lock_retry` and tries again.
//!
//! Improvements over Meltano's check-then-write: the lock is created with `O_EXCL`
//! (`create_new`), so two processes can never both take a free lock; an abandoned lock is only
//! removed by the process holding the short-lived `lock.break` file, after re-checking it is
//! still the same abandoned lock; and a holder only deletes the lock on release if it is
//! still its own. Locks normally guard short read-modify-write sections; a run claim
//! ([`claim`]) holds one for a whole run and re-stamps it periodically.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use crate::lock_time::{epoch_seconds, format_time, is_expired, parse_lock_time};
use crate::StateError;

/// File name of the lock inside a state ID's directory (Meltano's name).
pub(crate) const LOCK_FILE: &str = "lock";
/// File name of the guard taken while breaking an abandoned lock (smelt only).
const BREAKER_FILE: &str = "lock.break";
/// How often a vanished state directory is re-created before giving up (it only vanishes when
/// another process clears the state at the same moment).
const MAX_DIR_RECREATE: u32 = 100;
/// Shortest pause between attempts, so a zero retry interval does not spin a core.
const MIN_PAUSE: Duration = Duration::from_millis(1);

/// How to wait for a lock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockPolicy {
    /// Age after which a lock is considered abandoned.
    pub timeout: Duration,
    /// Pause between attempts while the lock is held.
    pub retry: Duration,
    /// Give up with [`StateError::Locked`] after waiting this long.
    pub max_wait: Duration,
}

/// What we know about a lock file we found.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    content: String,
    identity: FileIdentity,
    locked_at: SystemTime,
}

/// Distinguishes one lock file from a later one at the same path (inode numbers get reused,
/// so the modification time and content are compared as well).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    inode: u64,
    modified: Option<SystemTime>,
}

/// A held lock; released (deleted, if still ours) when dropped.
#[derive(Debug)]
pub(crate) struct LockGuard {
    path: PathBuf,
    ours: Observed,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Only remove the lock if it is still the one we created: if we overran the timeout
        // and another process broke it and took its own, that one must survive.
        if let Ok(Some(found)) = observe(&self.path) {
            if found.content == self.ours.content && found.identity == self.ours.identity {
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}

/// Take the lock for `id`, whose directory is `dir` (created if missing).
pub(crate) fn acquire(id: &str, dir: &Path, policy: LockPolicy) -> Result<LockGuard, StateError> {
    let path = dir.join(LOCK_FILE);
    let started = Instant::now();
    let mut dir_recreated = 0u32;
    loop {
        match try_create(&path) {
            Ok(Some(guard)) => return Ok(guard),
            Ok(None) => {}
            Err(e) if e.kind() == ErrorKind::NotFound && dir_recreated < MAX_DIR_RECREATE => {
                // The state directory is missing (first write, or cleared meanwhile).
                dir_recreated += 1;
                fs::create_dir_all(dir)
                    .map_err(|e| StateError::io("create state directory", dir, e))?;
                continue;
            }
            Err(e) => return Err(StateError::io("create lock file", &path, e)),
        }

        let Some(found) = observe(&path)? else {
            continue; // released between our attempt and our look; try again at once
        };
        if is_expired(found.locked_at, policy.timeout) {
            break_abandoned(dir, &path, &found, policy)?;
            continue;
        }
        let waited = started.elapsed();
        if waited >= policy.max_wait {
            return Err(StateError::Locked {
                id: id.to_string(),
                lock_path: path.display().to_string(),
                locked_at: Some(format_time(found.locked_at)),
                waited,
            });
        }
        let remaining = policy.max_wait.saturating_sub(waited);
        sleep(policy.retry.min(remaining).max(MIN_PAUSE));
    }
}

/// Take the lock for `id` for a whole run, without waiting: a free or abandoned lock is taken;
/// a fresh one held by someone else is [`StateError::Locked`], unless `force`, which takes it
/// over (the caller asserts the other holder is gone).
pub(crate) fn claim(
    id: &str,
    dir: &Path,
    policy: LockPolicy,
    force: bool,
) -> Result<LockGuard, StateError> {
    let path = dir.join(LOCK_FILE);
    fs::create_dir_all(dir).map_err(|e| StateError::io("create state directory", dir, e))?;
    for _ in 0..MAX_DIR_RECREATE {
        if let Some(guard) =
            try_create(&path).map_err(|e| StateError::io("create lock file", &path, e))?
        {
            return Ok(guard);
        }
        let Some(found) = observe(&path)? else {
            continue;
        };
        if is_expired(found.locked_at, policy.timeout) {
            break_abandoned(dir, &path, &found, policy)?;
            continue;
        }
        if force {
            return write_lock(&path);
        }
        return Err(StateError::Locked {
            id: id.to_string(),
            lock_path: path.display().to_string(),
            locked_at: Some(format_time(found.locked_at)),
            waited: Duration::ZERO,
        });
    }
    Err(StateError::Backend(format!(
        "could not take the lock {} (it keeps changing)",
        path.display()
    )))
}

impl LockGuard {
    /// Re-stamps a held lock with the current time so it does not expire during a long run.
    /// Fails if the lock is no longer ours (another process broke or took it over).
    pub(crate) fn refresh(&mut self) -> Result<(), StateError> {
        match observe(&self.path)? {
            Some(found)
                if found.content == self.ours.content && found.identity == self.ours.identity =>
            {
                *self = write_lock(&self.path)?;
                Ok(())
            }
            _ => Err(StateError::Backend(format!(
                "the lock {} is no longer held by this run: another process took it over",
                self.path.display()
            ))),
        }
    }
}

/// Writes a fresh timestamp to the lock at `path` by temp file + rename (so readers never see
/// it half-written) and returns the guard for it.
fn write_lock(path: &Path) -> Result<LockGuard, StateError> {
    let now = SystemTime::now();
    let content = epoch_seconds(now);
    super::atomic::write_atomic(path, content.as_bytes())?;
    let meta = fs::metadata(path).map_err(|e| StateError::io("inspect lock file", path, e))?;
    Ok(LockGuard {
        path: path.to_path_buf(),
        ours: Observed {
            content,
            identity: identity(&meta),
            locked_at: now,
        },
    })
}

/// Try to create the lock file exclusively. `Ok(None)` means it already exists.
fn try_create(path: &Path) -> std::io::Result<Option<LockGuard>> {
    let mut file = match create_private(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(e),
    };
    let now = SystemTime::now();
    let content = epoch_seconds(now);
    let written = file
        .write_all(content.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| file.metadata());
    match written {
        Ok(meta) => Ok(Some(LockGuard {
            path: path.to_path_buf(),
            ours: Observed {
                content,
                identity: identity(&meta),
                locked_at: now,
            },
        })),
        Err(e) => {
            let _ = fs::remove_file(path);
            Err(e)
        }
    }
}

/// Create `path` exclusively (`O_EXCL`), readable by its owner only (0600, like `state.json`).
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut open = OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    open.open(path)
}

/// The most of a lock file we read: a timestamp is a few dozen bytes, so anything past this
/// is junk that must not be loaded whole.
const MAX_LOCK_READ: u64 = 4096;

/// Read the lock file at `path`; `None` if there is none.
fn observe(path: &Path) -> Result<Option<Observed>, StateError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::io("open lock file", path, e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| StateError::io("inspect lock file", path, e))?;
    let mut raw = Vec::new();
    Read::by_ref(&mut file)
        .take(MAX_LOCK_READ)
        .read_to_end(&mut raw)
        .map_err(|e| StateError::io("read lock file", path, e))?;
    let content = String::from_utf8_lossy(&raw).into_owned();
    // A lock whose content we cannot read (being written right now, or left half-written by
    // a crash) dates from its modification time.
    let locked_at = parse_lock_time(&content)
        .or_else(|| meta.modified().ok())
        .unwrap_or_else(SystemTime::now);
    Ok(Some(Observed {
        content,
        identity: identity(&meta),
        locked_at,
    }))
}

/// Remove the abandoned lock `found`, coordinating with other breakers via `lock.break`.
fn break_abandoned(
    dir: &Path,
    path: &Path,
    found: &Observed,
    policy: LockPolicy,
) -> Result<(), StateError> {
    let breaker = dir.join(BREAKER_FILE);
    match create_private(&breaker) {
        Ok(_) => {
            let result = match observe(path) {
                Ok(Some(now)) if now == *found => match fs::remove_file(path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(StateError::io("remove abandoned lock file", path, e)),
                },
                Ok(_) => Ok(()), // gone or replaced meanwhile: nothing to break
                Err(e) => Err(e),
            };
            let _ = fs::remove_file(&breaker);
            result
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            // Someone else is breaking it. A breaker file left by a crash is removed once it
            // is itself older than the lock timeout.
            let abandoned = fs::metadata(&breaker)
                .and_then(|m| m.modified())
                .is_ok_and(|t| is_expired(t, policy.timeout.max(Duration::from_secs(1))));
            if abandoned {
                let _ = fs::remove_file(&breaker);
            } else {
                sleep(policy.retry.min(Duration::from_millis(10)).max(MIN_PAUSE));
            }
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()), // directory cleared; retry
        Err(e) => Err(StateError::io("create lock breaker file", &breaker, e)),
    }
}

#[cfg(unix)]
fn identity(meta: &fs::Metadata) -> FileIdentity {
    use std::os::unix::fs::MetadataExt;
    FileIdentity {
        inode: meta.ino(),
        modified: meta.modified().ok(),
    }
}

#[cfg(not(unix))]
fn identity(meta: &fs::Metadata) -> FileIdentity {
    FileIdentity {
        inode: 0,
        modified: meta.modified().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn policy(timeout_ms: u64, retry_ms: u64, max_wait_ms: u64) -> LockPolicy {
        LockPolicy {
            timeout: Duration::from_millis(timeout_ms),
            retry: Duration::from_millis(retry_ms),
            max_wait: Duration::from_millis(max_wait_ms),
        }
    }

    fn tempdir() -> tempfile::TempDir {
        match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        }
    }

    #[test]
    fn parses_meltano_and_rfc3339_lock_times() {
        let t = parse_lock_time("1732200000.123456");
        assert_eq!(
            t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
            Some(1_732_200_000)
        );
        let t = parse_lock_time("2024-11-21T15:20:00Z");
        assert_eq!(
            t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
            Some(1_732_202_400)
        );
        assert_eq!(parse_lock_time(""), None);
        assert_eq!(parse_lock_time("garbage"), None);
        assert_eq!(parse_lock_time("-5"), None);
        assert_eq!(parse_lock_time("1e400"), None);
    }

    #[test]
    fn written_content_is_meltano_parsable_epoch_seconds() {
        let text = epoch_seconds(UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_042));
        assert_eq!(text, "1700000000.000042");
        assert!(text.parse::<f64>().is_ok());
    }

    #[test]
    fn acquire_creates_and_release_removes() {
        let dir = tempdir();
        let state_dir = dir.path().join("dev:a-to-b");
        let guard = acquire("dev:a-to-b", &state_dir, policy(10_000, 5, 1_000));
        let lock = state_dir.join(LOCK_FILE);
        assert!(guard.is_ok());
        let content = fs::read_to_string(&lock).unwrap_or_default();
        assert!(parse_lock_time(&content).is_some(), "{content:?}");
        drop(guard);
        assert!(!lock.exists());
    }

    #[test]
    fn second_taker_times_out_while_lock_is_fresh() {
        let dir = tempdir();
        let first = acquire("id", dir.path(), policy(60_000, 10, 100));
        assert!(first.is_ok());
        let second = acquire("id", dir.path(), policy(60_000, 10, 100));
        match second {
            Err(StateError::Locked {
                id,
                lock_path,
                locked_at,
                waited,
            }) => {
                assert_eq!(id, "id");
                assert!(lock_path.ends_with("/lock"), "{lock_path}");
                assert!(locked_at.is_some());
                assert!(waited >= Duration::from_millis(100));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        assert!(acquire("id", dir.path(), policy(60_000, 10, 100)).is_ok());
    }

    #[test]
    fn abandoned_lock_is_broken() {
        let dir = tempdir();
        let lock = dir.path().join(LOCK_FILE);
        // A lock Meltano left behind long ago.
        assert!(fs::write(&lock, "1000000000.5").is_ok());
        let guard = acquire("id", dir.path(), policy(10_000, 10, 1_000));
        assert!(guard.is_ok(), "{guard:?}");
        let content = fs::read_to_string(&lock).unwrap_or_default();
        assert_ne!(content, "1000000000.5");
        assert!(!dir.path().join(BREAKER_FILE).exists());
    }

    #[test]
    fn fresh_lock_is_waited_for_until_it_expires() {
        let dir = tempdir();
        let lock = dir.path().join(LOCK_FILE);
        assert!(fs::write(&lock, epoch_seconds(SystemTime::now())).is_ok());
        let started = Instant::now();
        let guard = acquire("id", dir.path(), policy(300, 20, 5_000));
        assert!(guard.is_ok(), "{guard:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "lock taken before it expired: {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn unreadable_lock_content_ages_by_mtime() {
        let dir = tempdir();
        let lock = dir.path().join(LOCK_FILE);
        assert!(fs::write(&lock, "").is_ok());
        // Fresh by mtime: not broken within the wait.
        let res = acquire("id", dir.path(), policy(60_000, 10, 50));
        assert!(matches!(res, Err(StateError::Locked { .. })), "{res:?}");
        // With a tiny timeout the same empty lock counts as abandoned.
        sleep(Duration::from_millis(30));
        let res = acquire("id", dir.path(), policy(10, 5, 1_000));
        assert!(res.is_ok(), "{res:?}");
    }

    #[test]
    fn release_keeps_a_lock_that_is_no_longer_ours() {
        let dir = tempdir();
        let lock = dir.path().join(LOCK_FILE);
        let guard = acquire("id", dir.path(), policy(10_000, 5, 1_000));
        assert!(guard.is_ok());
        // Someone broke our (overrun) lock and took their own.
        assert!(fs::remove_file(&lock).is_ok());
        assert!(fs::write(&lock, "1999999999.000001").is_ok());
        drop(guard);
        assert_eq!(
            fs::read_to_string(&lock).ok().as_deref(),
            Some("1999999999.000001")
        );
    }

    #[test]
    fn stale_breaker_file_is_cleaned_up() {
        let dir = tempdir();
        assert!(fs::write(dir.path().join(LOCK_FILE), "1000000000.0").is_ok());
        assert!(fs::write(dir.path().join(BREAKER_FILE), "").is_ok());
        // Breaker younger than 1s at first; once it ages past max(timeout, 1s) it is removed.
        let guard = acquire("id", dir.path(), policy(10, 50, 5_000));
        assert!(guard.is_ok(), "{guard:?}");
        assert!(!dir.path().join(BREAKER_FILE).exists());
    }
}
