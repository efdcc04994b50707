//! The behavioural suite every state backend must pass, written against `&dyn StateBackend`
//! plus raw access to what the backend stored, so it can move into `smelt-state` as a shared
//! test kit and run against the file, database and cloud backends alike.
//!
//! Checks that need particular lock settings take a [`Target`], which builds backends on one
//! storage root; the others take a `&dyn StateBackend` directly.
#![allow(dead_code)] // each test binary uses a different part of the suite

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use smelt_state::{JobState, StateBackend, StateError, StateStrategy};

/// A state file exactly as Meltano writes it (single line, `", "` separators, escaped
/// non-ASCII, floats in Python's repr).
pub const MELTANO_SAMPLE: &str = r#"{"completed": {"singer_state": {"bookmarks": {"users": {"replication_key": "updated_at", "replication_key_value": "2024-03-01T12:00:00+00:00"}, "orders": {"replication_key": "id", "replication_key_value": 123456789012, "starting_replication_value": null}, "caf\u00e9_men\u00fc": {"ratio": 1e-05, "big": 1e+16, "flags": [true, null, "\u2603 \ud83d\ude00"]}}, "currently_syncing": null}}, "partial": {"singer_state": {"bookmarks": {"orders": {"replication_key_value": 123456789999}}}}}"#;

/// A truncated state file, as a crash of a non-atomic writer would leave it.
pub const CORRUPT_SAMPLE: &[u8] = b"{\"completed\": {\"singer_state\": ";

/// Direct access to the stored objects or files, by path relative to the backend's root
/// (`<state_id>/state.json`, `<state_id>/lock`), bypassing the backend.
pub trait RawStore: Sync {
    /// Store `bytes` at `rel`, replacing what is there.
    fn put(&self, rel: &str, bytes: &[u8]);
    /// The bytes at `rel`, or `None` if nothing is stored there.
    fn get(&self, rel: &str) -> Option<Vec<u8>>;
}

/// Lock settings for a backend built by a [`Target`].
#[derive(Debug, Clone, Copy)]
pub struct LockSettings {
    /// `state_backend.lock_timeout_seconds`.
    pub timeout: Duration,
    /// `state_backend.lock_retry_seconds`.
    pub retry: Duration,
    /// How long to wait for a held lock before `StateError::Locked` (`None`: the default).
    pub max_wait: Option<Duration>,
}

impl LockSettings {
    /// Settings for fast tests: locks expire after 10 s, retried every 5 ms.
    pub fn fast() -> Self {
        LockSettings {
            timeout: Duration::from_secs(10),
            retry: Duration::from_millis(5),
            max_wait: None,
        }
    }

    /// Settings for many writers fighting over one lock: a 50 ms retry keeps the waiting
    /// writers from flooding a slow emulator (moto) while still handing the lock over fast.
    pub fn contended() -> Self {
        LockSettings {
            retry: Duration::from_millis(50),
            ..Self::fast()
        }
    }
}

/// A storage root under test: builds backends on it and reads it raw.
pub struct Target<'a> {
    /// A new backend instance on the root (like a new process would create).
    pub make: &'a (dyn Fn(LockSettings) -> Box<dyn StateBackend> + Sync),
    /// Raw access to the same root.
    pub raw: &'a dyn RawStore,
}

/// Run every check that writes; panics listing each failed check.
pub fn run_full(target: &Target<'_>) {
    let fast = || (target.make)(LockSettings::fast());
    run_checks(&[
        ("get/set/update round trip", &|| roundtrip(fast().as_ref())),
        ("list is sorted and filtered", &|| {
            list_sorted_and_filtered(fast().as_ref())
        }),
        ("clear removes state", &|| {
            clear_removes_state(fast().as_ref())
        }),
        ("invalid state IDs are refused", &|| {
            invalid_ids_are_refused(fast().as_ref())
        }),
        ("Meltano layout", &|| {
            meltano_layout(fast().as_ref(), target.raw)
        }),
        ("Meltano-written state is read and continued", &|| {
            meltano_state_is_continued(fast().as_ref(), target.raw)
        }),
        ("corrupt state.json is reported and untouched", &|| {
            corrupt_state_untouched(fast().as_ref(), target.raw)
        }),
        ("abandoned lock is broken at once", &|| {
            abandoned_lock_is_broken(target)
        }),
        ("fresh lock is waited for until it expires", &|| {
            fresh_lock_waits_for_expiry(target)
        }),
        ("retry interval is honoured", &|| {
            retry_interval_is_honoured(target)
        }),
        ("held lock gives Locked after the wait", &|| {
            held_lock_gives_locked(target)
        }),
        ("run claims: refuse, force, refresh, release", &|| {
            run_claims(target)
        }),
        ("expired run claim is taken", &|| {
            expired_claim_is_taken(target)
        }),
        ("8 simultaneous claims: exactly one wins", &|| {
            claim_race(target)
        }),
        ("8 writers x 50 merges lose nothing", &|| {
            let lock = LockSettings::contended();
            let backends: Vec<Box<dyn StateBackend>> =
                (0..8).map(|_| (target.make)(lock)).collect();
            let refs: Vec<&dyn StateBackend> = backends.iter().map(|b| b.as_ref()).collect();
            concurrent_merges(&refs, "dev:tap-concurrent-to-target", 50);
        }),
        ("4 threads sharing one backend x 20 merges", &|| {
            let shared = (target.make)(LockSettings::contended());
            let refs: Vec<&dyn StateBackend> = (0..4).map(|_| shared.as_ref()).collect();
            concurrent_merges(&refs, "dev:tap-shared-to-target", 20);
        }),
    ]);
}

/// The checks that only read (for stores whose emulator cannot take our writes); the stored
/// documents are put in place through `raw`.
pub fn run_read_only(target: &Target<'_>) {
    let fast = || (target.make)(LockSettings::fast());
    run_checks(&[
        ("missing state is None", &|| {
            missing_state_is_none(fast().as_ref())
        }),
        ("Meltano-written state is read", &|| {
            meltano_state_is_read(fast().as_ref(), target.raw)
        }),
        ("list is sorted and filtered (raw-seeded)", &|| {
            list_raw_seeded(fast().as_ref(), target.raw)
        }),
        ("corrupt state.json is reported", &|| {
            corrupt_state_reported(fast().as_ref(), target.raw)
        }),
        ("invalid state IDs are refused", &|| {
            invalid_ids_are_refused(fast().as_ref())
        }),
    ]);
}

/// Run named checks, each isolated, reporting every failure (not just the first).
pub fn run_checks(checks: &[(&str, &dyn Fn())]) {
    let mut failed = Vec::new();
    for (name, check) in checks {
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(check));
        let took = started.elapsed();
        match outcome {
            Ok(()) => eprintln!("  ok      {name} ({took:.1?})"),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                eprintln!("  FAILED  {name} ({took:.1?}): {message}");
                failed.push(format!("{name}: {message}"));
            }
        }
    }
    assert!(failed.is_empty(), "failed checks:\n{}", failed.join("\n"));
}

fn ok<T>(what: &str, r: Result<T, StateError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error: {e}"),
    }
}

fn state(bookmarks: Value) -> JobState {
    JobState::from_singer_state(json!({ "bookmarks": bookmarks }))
}

fn now_epoch() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:06}", since.as_secs(), since.subsec_micros())
}

/// get → None, set, get, set again (replaces), update (sees the current state).
pub fn roundtrip(b: &dyn StateBackend) {
    let id = "dev:tap-roundtrip-to-target";
    assert_eq!(ok("get missing", b.get(id)), None);
    let first = state(json!({"a": {"v": 1}}));
    ok("set", b.set(id, &first));
    assert_eq!(ok("get", b.get(id)), Some(first.clone()));
    let second = state(json!({"b": {"v": 2}}));
    ok("set again", b.set(id, &second));
    assert_eq!(ok("get after replace", b.get(id)), Some(second.clone()));
    let mut seen = None;
    let updated = ok(
        "update",
        b.update(id, &mut |current| {
            seen = current.clone();
            let mut s = current.unwrap_or_default();
            s.record_ack(json!({"bookmarks": {"c": {"v": 3}}}), StateStrategy::Merge);
            Ok(s)
        }),
    );
    assert_eq!(seen, Some(second));
    assert_eq!(ok("get after update", b.get(id)), Some(updated.clone()));
    assert_eq!(
        updated.effective_singer_state(),
        Some(json!({"bookmarks": {"b": {"v": 2}, "c": {"v": 3}}}))
    );
    // An update whose function fails writes nothing.
    let err = b.update(id, &mut |_| {
        Err(StateError::Invalid {
            reason: "refused by test".into(),
        })
    });
    assert!(matches!(err, Err(StateError::Invalid { .. })), "{err:?}");
    assert_eq!(ok("get after failed update", b.get(id)), Some(updated));
}

/// `list` returns exactly the IDs with state, sorted, filtered by a glob.
pub fn list_sorted_and_filtered(b: &dyn StateBackend) {
    let ids = [
        "listb:tap-x-to-target-y",
        "lista:tap-z-to-target-y:nightly",
        "lista:tap-a-to-target-y",
    ];
    for id in ids {
        ok("set", b.set(id, &state(json!({"s": {"v": 1}}))));
    }
    let all = ok("list", b.list(None));
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "list must be sorted");
    for id in ids {
        assert!(all.iter().any(|x| x == id), "{id} missing from {all:?}");
    }
    assert_eq!(
        ok("list lista:*", b.list(Some("lista:*"))),
        ["lista:tap-a-to-target-y", "lista:tap-z-to-target-y:nightly"]
    );
    assert_eq!(
        ok("list *nightly", b.list(Some("*:nightly"))),
        ["lista:tap-z-to-target-y:nightly"]
    );
    assert!(matches!(
        b.list(Some("lista:[")),
        Err(StateError::InvalidPattern { .. })
    ));
}

/// `clear` removes the state (and it drops out of `list`); clearing again is fine.
pub fn clear_removes_state(b: &dyn StateBackend) {
    let id = "clear:tap-a-to-target-b";
    ok("set", b.set(id, &state(json!({"s": {"v": 1}}))));
    ok("clear", b.clear(id));
    assert_eq!(ok("get after clear", b.get(id)), None);
    assert!(!ok("list", b.list(Some("clear:*"))).iter().any(|x| x == id));
    ok("clear again", b.clear(id));
}

/// Every operation refuses IDs that are not safe as a single path segment.
pub fn invalid_ids_are_refused(b: &dyn StateBackend) {
    for bad in ["", "..", "../escape", "a/b", ".hidden", "tab\there"] {
        assert!(
            matches!(b.get(bad), Err(StateError::InvalidId { .. })),
            "get {bad:?}"
        );
        assert!(
            matches!(
                b.set(bad, &JobState::new()),
                Err(StateError::InvalidId { .. })
            ),
            "set {bad:?}"
        );
        assert!(
            matches!(
                b.update(bad, &mut |s| Ok(s.unwrap_or_default())),
                Err(StateError::InvalidId { .. })
            ),
            "update {bad:?}"
        );
        assert!(
            matches!(b.clear(bad), Err(StateError::InvalidId { .. })),
            "clear {bad:?}"
        );
        assert!(
            matches!(b.claim_run(bad, false), Err(StateError::InvalidId { .. })),
            "claim {bad:?}"
        );
    }
}

/// What `set` stores is byte-for-byte Meltano's `state.json`, and no lock is left behind.
pub fn meltano_layout(b: &dyn StateBackend, raw: &dyn RawStore) {
    let id = "dev:tap-layout-to-target";
    let sample = ok(
        "parse sample",
        JobState::from_json(MELTANO_SAMPLE.as_bytes()),
    );
    ok("set", b.set(id, &sample));
    assert_eq!(
        raw.get(&format!("{id}/state.json")).as_deref(),
        Some(MELTANO_SAMPLE.as_bytes()),
        "state.json must hold Meltano's exact bytes"
    );
    assert_eq!(raw.get(&format!("{id}/lock")), None, "lock left behind");
}

/// A state Meltano wrote is read, updated in place, and stays in Meltano's format.
pub fn meltano_state_is_continued(b: &dyn StateBackend, raw: &dyn RawStore) {
    let id = "dev:tap-meltano-to-target";
    raw.put(&format!("{id}/state.json"), MELTANO_SAMPLE.as_bytes());
    let read = ok("get", b.get(id));
    let expected = ok(
        "parse sample",
        JobState::from_json(MELTANO_SAMPLE.as_bytes()),
    );
    assert_eq!(read, Some(expected));
    let updated = ok(
        "update",
        b.update(id, &mut |current| {
            let mut s = current.unwrap_or_default();
            s.record_ack(
                json!({"bookmarks": {"orders": {"replication_key_value": 123456790000_u64}}}),
                StateStrategy::Merge,
            );
            s.complete_run(StateStrategy::Merge);
            Ok(s)
        }),
    );
    let stored = raw.get(&format!("{id}/state.json")).unwrap_or_default();
    assert_eq!(
        stored,
        updated.to_meltano_json(),
        "stored bytes are Meltano's format"
    );
    let text = String::from_utf8_lossy(&stored);
    assert!(
        text.starts_with("{\"completed\": {\"singer_state\": "),
        "{text}"
    );
    assert!(
        text.contains("caf\\u00e9_men\\u00fc"),
        "non-ASCII stays escaped: {text}"
    );
    assert!(text.contains("123456790000"), "{text}");
}

/// A `state.json` that does not parse is reported (naming where it is) and never replaced by
/// `update`; `set` (`state set --force`) may replace it.
pub fn corrupt_state_untouched(b: &dyn StateBackend, raw: &dyn RawStore) {
    let id = "dev:tap-corrupt-to-target";
    let rel = format!("{id}/state.json");
    raw.put(&rel, CORRUPT_SAMPLE);
    corrupt_is_reported(b, id);
    let mut called = false;
    let res = b.update(id, &mut |_| {
        called = true;
        Ok(JobState::new())
    });
    assert!(matches!(res, Err(StateError::Corrupt { .. })), "{res:?}");
    assert!(!called, "update must not call f on a corrupt state");
    assert_eq!(
        raw.get(&rel).as_deref(),
        Some(CORRUPT_SAMPLE),
        "corrupt file was touched"
    );
    assert_eq!(raw.get(&format!("{id}/lock")), None, "lock left behind");
    let fixed = state(json!({"s": {"v": 1}}));
    ok("set over corrupt", b.set(id, &fixed));
    assert_eq!(ok("get after set", b.get(id)), Some(fixed));
}

fn corrupt_is_reported(b: &dyn StateBackend, id: &str) {
    match b.get(id) {
        Err(StateError::Corrupt { location, reason }) => {
            assert!(location.contains(id), "{location}");
            assert!(location.ends_with("state.json"), "{location}");
            assert!(reason.contains("not valid JSON"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// A lock left by a crashed Meltano long ago is broken without waiting.
pub fn abandoned_lock_is_broken(target: &Target<'_>) {
    let b = (target.make)(LockSettings::fast());
    let id = "dev:tap-abandoned-to-target";
    target.raw.put(&format!("{id}/lock"), b"1000000000.5");
    let started = Instant::now();
    ok("set", b.set(id, &state(json!({"s": {"v": 1}}))));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(target.raw.get(&format!("{id}/lock")), None);
}

/// A fresh lock is respected until `lock_timeout` has passed, then taken.
pub fn fresh_lock_waits_for_expiry(target: &Target<'_>) {
    let b = (target.make)(LockSettings {
        timeout: Duration::from_millis(1500),
        retry: Duration::from_millis(100),
        max_wait: None,
    });
    let id = "dev:tap-fresh-to-target";
    target
        .raw
        .put(&format!("{id}/lock"), now_epoch().as_bytes());
    let started = Instant::now();
    ok("update", b.update(id, &mut |s| Ok(s.unwrap_or_default())));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1400),
        "lock taken before it expired: {took:?}"
    );
    assert!(
        took < Duration::from_secs(6),
        "took far longer than the timeout: {took:?}"
    );
}

/// A held lock is re-tried every `lock_retry`, not more often: with a 2 s retry and a lock
/// expiring after 0.5 s, the second look (and the take) happens only after 2 s.
pub fn retry_interval_is_honoured(target: &Target<'_>) {
    let b = (target.make)(LockSettings {
        timeout: Duration::from_millis(500),
        retry: Duration::from_secs(2),
        max_wait: None,
    });
    let id = "dev:tap-retry-to-target";
    target
        .raw
        .put(&format!("{id}/lock"), now_epoch().as_bytes());
    let started = Instant::now();
    ok("set", b.set(id, &state(json!({"s": {"v": 1}}))));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "retried too early: {took:?}"
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

/// A lock held (and kept fresh) by someone else ends in `StateError::Locked` after the
/// configured wait, naming the lock and when it was taken.
pub fn held_lock_gives_locked(target: &Target<'_>) {
    let b = (target.make)(LockSettings {
        timeout: Duration::from_secs(60),
        retry: Duration::from_millis(50),
        max_wait: Some(Duration::from_millis(400)),
    });
    let id = "dev:tap-held-to-target";
    target
        .raw
        .put(&format!("{id}/lock"), now_epoch().as_bytes());
    let started = Instant::now();
    match b.update(id, &mut |s| Ok(s.unwrap_or_default())) {
        Err(StateError::Locked {
            id: locked_id,
            lock_path,
            locked_at,
            waited,
        }) => {
            assert_eq!(locked_id, id);
            assert!(lock_path.ends_with(&format!("{id}/lock")), "{lock_path}");
            assert!(locked_at.is_some());
            assert!(waited >= Duration::from_millis(400), "{waited:?}");
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        ok("get", b.get(id)),
        None,
        "nothing may be written without the lock"
    );
}

/// The duplicate-run guard: a second claim is refused, `force` takes over, the old holder
/// notices on refresh, and release only removes one's own lock.
pub fn run_claims(target: &Target<'_>) {
    let settings = LockSettings {
        timeout: Duration::from_secs(60),
        retry: Duration::from_millis(20),
        max_wait: Some(Duration::from_millis(300)),
    };
    let first = (target.make)(settings);
    let second = (target.make)(settings);
    let id = "dev:tap-claims-to-target";
    let lock = format!("{id}/lock");

    ok("first claim", first.claim_run(id, false));
    ok("claiming twice in one instance", first.claim_run(id, false));
    let content = target.raw.get(&lock).unwrap_or_default();
    let text = String::from_utf8_lossy(&content).to_string();
    assert!(
        text.parse::<f64>().is_ok(),
        "lock must hold epoch seconds: {text:?}"
    );

    match second.claim_run(id, false) {
        Err(StateError::Locked { waited, .. }) => assert_eq!(waited, Duration::ZERO),
        other => panic!("expected Locked, got {other:?}"),
    }
    // The holder writes without waiting for its own lock; others time out.
    let started = Instant::now();
    ok("holder sets", first.set(id, &state(json!({"s": {"v": 1}}))));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(
        second.set(id, &state(json!({"s": {"v": 2}}))),
        Err(StateError::Locked { .. })
    ));

    std::thread::sleep(Duration::from_millis(20));
    ok("refresh", first.refresh_run(id));
    let refreshed = String::from_utf8_lossy(&target.raw.get(&lock).unwrap_or_default()).to_string();
    assert_ne!(refreshed, text, "refresh must re-stamp the lock");

    ok("forced claim", second.claim_run(id, true));
    let err = first.refresh_run(id).err().map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(|e| e.contains("took it over")),
        "{err:?}"
    );
    ok("old holder releases", first.release_run(id));
    assert!(
        target.raw.get(&lock).is_some(),
        "release removed someone else's lock"
    );
    ok("new holder releases", second.release_run(id));
    assert_eq!(target.raw.get(&lock), None);
    ok("release twice", second.release_run(id));
    ok("claim after release", first.claim_run(id, false));
    ok("release", first.release_run(id));
}

/// A claim whose holder stopped refreshing it expires and can be claimed without force.
pub fn expired_claim_is_taken(target: &Target<'_>) {
    let settings = LockSettings {
        timeout: Duration::from_millis(400),
        retry: Duration::from_millis(20),
        max_wait: None,
    };
    let crashed = (target.make)(settings);
    let next = (target.make)(settings);
    let id = "dev:tap-expired-claim-to-target";
    ok("claim", crashed.claim_run(id, false));
    std::thread::sleep(Duration::from_millis(600));
    ok("claim of expired lock", next.claim_run(id, false));
    ok("release", next.release_run(id));
    assert_eq!(target.raw.get(&format!("{id}/lock")), None);
}

/// Eight processes claim one state ID at the same instant, ten times over: each time exactly
/// one wins. A check-then-write lock (Meltano's) lets several win; an atomic create does not.
pub fn claim_race(target: &Target<'_>) {
    let settings = LockSettings {
        timeout: Duration::from_secs(60),
        ..LockSettings::fast()
    };
    let backends: Vec<Box<dyn StateBackend>> = (0..8).map(|_| (target.make)(settings)).collect();
    for round in 0..10 {
        let id = format!("dev:tap-race{round}-to-target");
        let barrier = std::sync::Barrier::new(backends.len());
        let wins: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = backends
                .iter()
                .map(|b| {
                    let (id, barrier) = (&id, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        match b.claim_run(id, false) {
                            Ok(()) => 1,
                            Err(StateError::Locked { .. }) => 0,
                            Err(e) => panic!("claim: {e}"),
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(100)).sum()
        });
        assert_eq!(
            wins, 1,
            "round {round}: {wins} processes hold the same claim"
        );
        for b in &backends {
            ok("release", b.release_run(&id));
        }
        assert_eq!(target.raw.get(&format!("{id}/lock")), None);
    }
}

/// Bookmarks of `streams` writers each merging their own stream `rounds` times into one
/// state ID: afterwards every stream's last bookmark is present.
pub fn concurrent_merges(backends: &[&dyn StateBackend], id: &str, rounds: u64) {
    let writers = backends.len();
    std::thread::scope(|scope| {
        for (n, backend) in backends.iter().enumerate() {
            scope.spawn(move || merge_stream(*backend, id, &format!("stream_{n}"), rounds));
        }
    });
    let stored = ok("get", backends[0].get(id)).unwrap_or_default();
    assert_streams_complete(&stored, writers, rounds);
}

/// One writer's job: merge `{stream: {"replication_key_value": r}}` for r in 0..rounds into
/// the partial state, one update each (what a run does per acknowledged state).
pub fn merge_stream(backend: &dyn StateBackend, id: &str, stream: &str, rounds: u64) {
    for round in 0..rounds {
        ok(
            "update",
            backend.update(id, &mut |current| {
                let mut s = current.unwrap_or_default();
                s.record_ack(
                    json!({"bookmarks": {stream: {"replication_key_value": round}}}),
                    StateStrategy::Merge,
                );
                Ok(s)
            }),
        );
    }
}

/// Every `stream_<n>` for n < writers has bookmark `rounds - 1`.
pub fn assert_streams_complete(stored: &JobState, writers: usize, rounds: u64) {
    let effective = stored.effective_singer_state().unwrap_or_default();
    let bookmarks = effective.get("bookmarks").cloned().unwrap_or_default();
    for n in 0..writers {
        let value = bookmarks
            .get(format!("stream_{n}"))
            .and_then(|s| s.get("replication_key_value"))
            .and_then(Value::as_u64);
        assert_eq!(
            value,
            Some(rounds - 1),
            "stream_{n} lost its last bookmark; stored: {bookmarks}"
        );
    }
}

/// Reading an ID with no state gives `None`.
pub fn missing_state_is_none(b: &dyn StateBackend) {
    assert_eq!(ok("get", b.get("dev:tap-none-to-target")), None);
}

/// A state Meltano wrote is read as Meltano meant it.
pub fn meltano_state_is_read(b: &dyn StateBackend, raw: &dyn RawStore) {
    let id = "dev:tap-meltano-read-to-target";
    raw.put(&format!("{id}/state.json"), MELTANO_SAMPLE.as_bytes());
    let expected = ok(
        "parse sample",
        JobState::from_json(MELTANO_SAMPLE.as_bytes()),
    );
    let read = ok("get", b.get(id));
    assert_eq!(read.as_ref(), Some(&expected));
    assert_eq!(
        read.map(|s| s.to_meltano_json()).as_deref(),
        Some(MELTANO_SAMPLE.as_bytes())
    );
}

/// `list` over states put in place raw (also ignores objects that are not `<id>/state.json`).
pub fn list_raw_seeded(b: &dyn StateBackend, raw: &dyn RawStore) {
    for id in ["rawb:tap-x-to-t", "rawa:tap-y-to-t", "rawa:tap-b-to-t"] {
        raw.put(
            &format!("{id}/state.json"),
            b"{\"completed\": {}, \"partial\": {}}",
        );
    }
    raw.put("rawa:tap-lockonly-to-t/lock", now_epoch().as_bytes());
    raw.put("rawa:tap-deep-to-t/sub/state.json", b"{}");
    assert_eq!(
        ok("list rawa:*", b.list(Some("rawa:*"))),
        ["rawa:tap-b-to-t", "rawa:tap-y-to-t"]
    );
    let all = ok("list", b.list(None));
    assert!(all.iter().any(|x| x == "rawb:tap-x-to-t"), "{all:?}");
}

/// A corrupt `state.json` is reported with its location.
pub fn corrupt_state_reported(b: &dyn StateBackend, raw: &dyn RawStore) {
    let id = "dev:tap-corrupt-read-to-target";
    raw.put(&format!("{id}/state.json"), CORRUPT_SAMPLE);
    corrupt_is_reported(b, id);
    assert_eq!(
        raw.get(&format!("{id}/state.json")).as_deref(),
        Some(CORRUPT_SAMPLE)
    );
}
