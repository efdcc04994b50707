//! Tests for the file backend: layout, corruption handling, locking and concurrency (threads
//! and separate processes).

use super::*;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
use std::thread;

const MELTANO_SAMPLE: &[u8] = include_bytes!("../../testdata/meltano_state.json");
const ID: &str = "dev:tap-github-to-target-jsonl";

/// Environment variables that turn [`concurrent_worker`] into a child process's job.
const CHILD_ROOT_ENV: &str = "SMELT_STATE_TEST_CHILD_ROOT";
const CHILD_PREFIX_ENV: &str = "SMELT_STATE_TEST_CHILD_PREFIX";
const UPDATES_PER_WORKER: usize = 50;

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

fn backend(root: &Path) -> FileStateBackend {
    FileStateBackend::new(
        root.to_path_buf(),
        Duration::from_secs(10),
        Duration::from_millis(2),
    )
}

fn ok<T>(r: Result<T, StateError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// Merge `key: n` into the completed Singer state of `ID`, `UPDATES_PER_WORKER` times.
fn merge_keys(b: &FileStateBackend, prefix: &str) {
    for n in 0..UPDATES_PER_WORKER {
        let key = format!("{prefix}-{n}");
        ok(b.update(ID, &mut |current| {
            let mut state = current.unwrap_or_default();
            state.record_ack(json!({"bookmarks": {key.clone(): n}}), StateStrategy::Merge);
            state.complete_run(StateStrategy::Merge);
            Ok(state)
        }));
    }
}

fn bookmark_count(b: &FileStateBackend) -> usize {
    ok(b.get(ID))
        .and_then(|s| s.effective_singer_state())
        .and_then(|s| {
            s.get("bookmarks")
                .and_then(Value::as_object)
                .map(|m| m.len())
        })
        .unwrap_or(0)
}

use crate::StateStrategy;

#[test]
fn layout_matches_meltano() {
    let dir = tempdir();
    let b = backend(dir.path());
    assert_eq!(b.name(), format!("file://{}", dir.path().display()));
    let state = ok(JobState::from_json(MELTANO_SAMPLE));
    ok(b.set(ID, &state));
    let path = dir.path().join(ID).join("state.json");
    assert_eq!(ok(b.state_path(ID)), path);
    assert_eq!(ok(b.lock_path(ID)), dir.path().join(ID).join("lock"));
    // Byte-for-byte what Meltano wrote, and the lock is gone afterwards.
    assert_eq!(fs::read(&path).ok().as_deref(), Some(MELTANO_SAMPLE));
    assert!(!dir.path().join(ID).join("lock").exists());
    assert_eq!(ok(b.get(ID)), Some(state));
}

#[test]
fn reads_a_state_file_meltano_wrote() {
    let dir = tempdir();
    assert!(fs::create_dir_all(dir.path().join(ID)).is_ok());
    assert!(fs::write(dir.path().join(ID).join("state.json"), MELTANO_SAMPLE).is_ok());
    let b = backend(dir.path());
    let state = ok(b.get(ID));
    assert!(state.is_some_and(|s| s.effective_singer_state().is_some()));
    assert_eq!(ok(b.list(None)), [ID]);
}

#[test]
fn missing_state_is_none() {
    let dir = tempdir();
    let b = backend(&dir.path().join("not-created-yet"));
    assert_eq!(ok(b.get(ID)), None);
    assert!(ok(b.list(None)).is_empty());
    ok(b.clear(ID));
}

#[test]
fn invalid_ids_are_refused_everywhere() {
    let dir = tempdir();
    let b = backend(dir.path());
    for bad in ["../escape", "..", "a/b", ""] {
        assert!(
            matches!(b.get(bad), Err(StateError::InvalidId { .. })),
            "{bad}"
        );
        assert!(matches!(
            b.set(bad, &JobState::new()),
            Err(StateError::InvalidId { .. })
        ));
        assert!(matches!(b.clear(bad), Err(StateError::InvalidId { .. })));
        assert!(matches!(
            b.update(bad, &mut |s| Ok(s.unwrap_or_default())),
            Err(StateError::InvalidId { .. })
        ));
    }
    assert!(fs::read_dir(dir.path())
        .map(|mut d| d.next().is_none())
        .unwrap_or(false));
}

#[test]
fn corrupt_file_is_reported_and_never_overwritten_by_update() {
    let dir = tempdir();
    let b = backend(dir.path());
    let path = dir.path().join(ID).join("state.json");
    assert!(fs::create_dir_all(dir.path().join(ID)).is_ok());
    assert!(fs::write(&path, b"{\"completed\": {\"singer_state\": ").is_ok());

    match b.get(ID) {
        Err(StateError::Corrupt { location, reason }) => {
            assert_eq!(location, path.display().to_string());
            assert!(reason.contains("not valid JSON"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }

    let mut called = false;
    let res = b.update(ID, &mut |_| {
        called = true;
        Ok(JobState::new())
    });
    assert!(matches!(res, Err(StateError::Corrupt { .. })), "{res:?}");
    assert!(!called, "update must not call f on a corrupt state");
    assert_eq!(
        fs::read(&path).ok().as_deref(),
        Some(&b"{\"completed\": {\"singer_state\": "[..])
    );
    assert!(
        !dir.path().join(ID).join("lock").exists(),
        "lock released after error"
    );

    // An explicit set (state set --force) may replace it.
    ok(b.set(ID, &JobState::from_singer_state(json!({"a": 1}))));
    assert!(ok(b.get(ID)).is_some());
}

#[test]
fn wrong_shape_is_corrupt_too() {
    let dir = tempdir();
    let b = backend(dir.path());
    assert!(fs::create_dir_all(dir.path().join(ID)).is_ok());
    assert!(fs::write(dir.path().join(ID).join("state.json"), b"[1, 2]").is_ok());
    assert!(matches!(b.get(ID), Err(StateError::Corrupt { .. })));
}

#[test]
fn update_error_from_closure_writes_nothing() {
    let dir = tempdir();
    let b = backend(dir.path());
    ok(b.set(ID, &JobState::from_singer_state(json!({"a": 1}))));
    let before = fs::read(dir.path().join(ID).join("state.json")).ok();
    let res = b.update(ID, &mut |_| Err(StateError::Backend("refused".into())));
    assert!(matches!(res, Err(StateError::Backend(ref m)) if m == "refused"));
    assert_eq!(
        fs::read(dir.path().join(ID).join("state.json")).ok(),
        before
    );
    assert!(!dir.path().join(ID).join("lock").exists());
}

#[test]
fn update_passes_current_state_and_returns_the_new_one() {
    let dir = tempdir();
    let b = backend(dir.path());
    let first = ok(b.update(ID, &mut |current| {
        assert!(current.is_none());
        Ok(JobState::from_singer_state(json!({"n": 1})))
    }));
    let second = ok(b.update(ID, &mut |current| {
        assert_eq!(current.as_ref(), Some(&first));
        let mut s = current.unwrap_or_default();
        s.record_ack(json!({"n": 2}), StateStrategy::Overwrite);
        Ok(s)
    }));
    assert_eq!(ok(b.get(ID)), Some(second));
}

#[test]
fn list_filters_sorts_and_skips_non_states() {
    let dir = tempdir();
    let b = backend(dir.path());
    for id in ["prod:b-to-c", "dev:x-to-y:sfx", "dev:a-to-b"] {
        ok(b.set(id, &JobState::new()));
    }
    // A directory without state.json (e.g. only a lock) and a stray file are not states.
    assert!(fs::create_dir_all(dir.path().join("dev:empty-to-dir")).is_ok());
    assert!(fs::write(dir.path().join("stray.txt"), b"x").is_ok());
    assert_eq!(
        ok(b.list(None)),
        ["dev:a-to-b", "dev:x-to-y:sfx", "prod:b-to-c"]
    );
    assert_eq!(ok(b.list(Some("dev:*"))), ["dev:a-to-b", "dev:x-to-y:sfx"]);
    assert_eq!(ok(b.list(Some("*:sfx"))), ["dev:x-to-y:sfx"]);
    assert!(matches!(
        b.list(Some("[")),
        Err(StateError::InvalidPattern { .. })
    ));
}

#[test]
fn clear_removes_state_and_directory() {
    let dir = tempdir();
    let b = backend(dir.path());
    ok(b.set(ID, &JobState::from_singer_state(json!({"a": 1}))));
    ok(b.clear(ID));
    assert_eq!(ok(b.get(ID)), None);
    assert!(!dir.path().join(ID).exists());
    assert!(ok(b.list(None)).is_empty());
    ok(b.clear(ID)); // idempotent
                     // Writing again after a clear recreates the directory.
    ok(b.set(ID, &JobState::new()));
    assert_eq!(ok(b.get(ID)), Some(JobState::new()));
}

#[test]
fn held_lock_makes_writes_wait_and_then_fail_clearly() {
    let dir = tempdir();
    let b = FileStateBackend::new(
        dir.path().to_path_buf(),
        Duration::from_secs(60),
        Duration::from_millis(10),
    )
    .with_max_lock_wait(Duration::from_millis(150));
    assert!(fs::create_dir_all(dir.path().join(ID)).is_ok());
    let lock = dir.path().join(ID).join("lock");
    // A live Meltano process holds the lock (written "now" in Meltano's format).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    assert!(fs::write(&lock, format!("{now}")).is_ok());
    let err = b.set(ID, &JobState::new()).err();
    let text = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(err, Some(StateError::Locked { .. })), "{text}");
    assert!(text.contains(&lock.display().to_string()), "{text}");
    // Reads do not need the lock.
    assert_eq!(ok(b.get(ID)), None);
    // The foreign lock is left alone.
    assert!(lock.exists());
}

#[test]
fn expired_lock_is_taken_over() {
    let dir = tempdir();
    let b = FileStateBackend::new(
        dir.path().to_path_buf(),
        Duration::from_millis(200),
        Duration::from_millis(20),
    );
    assert!(fs::create_dir_all(dir.path().join(ID)).is_ok());
    let lock = dir.path().join(ID).join("lock");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    assert!(fs::write(&lock, format!("{now}")).is_ok());
    let started = std::time::Instant::now();
    ok(b.set(ID, &JobState::from_singer_state(json!({"a": 1}))));
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert!(!lock.exists());
    assert!(ok(b.get(ID)).is_some());
}

#[test]
fn concurrent_thread_updates_lose_nothing() {
    let dir = tempdir();
    let root = Arc::new(dir.path().to_path_buf());
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let root = Arc::clone(&root);
            thread::spawn(move || merge_keys(&backend(&root), &format!("thread{w}")))
        })
        .collect();
    for w in workers {
        assert!(w.join().is_ok(), "worker panicked");
    }
    assert_eq!(bookmark_count(&backend(dir.path())), 4 * UPDATES_PER_WORKER);
}

/// Child-process entry point: with the env vars set (by
/// [`concurrent_process_updates_lose_nothing`]) it merges its keys into the shared root;
/// run alone it checks a single worker's keys all arrive.
#[test]
fn concurrent_worker() {
    match (
        std::env::var(CHILD_ROOT_ENV),
        std::env::var(CHILD_PREFIX_ENV),
    ) {
        (Ok(root), Ok(prefix)) => merge_keys(&backend(Path::new(&root)), &prefix),
        _ => {
            let dir = tempdir();
            merge_keys(&backend(dir.path()), "solo");
            assert_eq!(bookmark_count(&backend(dir.path())), UPDATES_PER_WORKER);
        }
    }
}

#[test]
fn concurrent_process_updates_lose_nothing() {
    let dir = tempdir();
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => panic!("current_exe: {e}"),
    };
    let children: Vec<_> = (0..2)
        .map(|c| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "file::tests::concurrent_worker",
                    "--test-threads=1",
                ])
                .env(CHILD_ROOT_ENV, dir.path())
                .env(CHILD_PREFIX_ENV, format!("proc{c}"))
                .stdout(std::process::Stdio::null())
                .spawn()
        })
        .collect();
    // The parent competes too.
    merge_keys(&backend(dir.path()), "parent");
    for child in children {
        let status = match child {
            Ok(mut c) => c.wait(),
            Err(e) => panic!("spawn child: {e}"),
        };
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "child failed: {status:?}"
        );
    }
    assert_eq!(bookmark_count(&backend(dir.path())), 3 * UPDATES_PER_WORKER);
}

#[test]
fn run_claim_guards_against_a_second_run_and_lets_the_holder_write() {
    let dir = tempdir();
    let first = backend(dir.path()).with_max_lock_wait(Duration::from_millis(50));
    let second = backend(dir.path()).with_max_lock_wait(Duration::from_millis(50));
    ok(first.claim_run(ID, false));
    // The holder's own writes do not wait for its lock.
    ok(first.set(ID, &JobState::from_singer_state(json!({"a": 1}))));
    ok(first.update(ID, &mut |s| Ok(s.unwrap_or_default())));
    // Another instance (another process) is refused at once, and cannot write meanwhile.
    match second.claim_run(ID, false) {
        Err(StateError::Locked { waited, .. }) => assert_eq!(waited, Duration::ZERO),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(matches!(
        second.set(ID, &JobState::new()),
        Err(StateError::Locked { .. })
    ));
    // Refreshing keeps the same lock file ours; releasing frees it for the next run.
    ok(first.refresh_run(ID));
    ok(first.release_run(ID));
    assert!(!ok(first.lock_path(ID)).exists());
    ok(second.claim_run(ID, false));
    ok(second.release_run(ID));
}

#[test]
fn forced_claim_takes_over_and_the_old_holder_notices() {
    let dir = tempdir();
    let first = backend(dir.path());
    let second = backend(dir.path());
    ok(first.claim_run(ID, false));
    ok(second.claim_run(ID, true));
    assert!(
        first.refresh_run(ID).is_err(),
        "old holder must learn it lost the lock"
    );
    // The old holder's release leaves the new holder's lock in place.
    ok(first.release_run(ID));
    assert!(ok(second.lock_path(ID)).exists());
    ok(second.release_run(ID));
}

#[test]
fn expired_claim_of_a_dead_run_is_taken() {
    let dir = tempdir();
    let lock = dir.path().join(ID).join("lock");
    fs::create_dir_all(lock.parent().unwrap()).unwrap();
    // Meltano-format timestamp from long ago: an abandoned lock.
    fs::write(&lock, "1000000000.000000").unwrap();
    let b = backend(dir.path());
    ok(b.claim_run(ID, false));
    let content = fs::read_to_string(&lock).unwrap();
    let secs: f64 = content.parse().unwrap();
    assert!(
        secs > 1_700_000_000.0,
        "lock re-stamped with now: {content}"
    );
    ok(b.release_run(ID));
}

/// `{"k": {"k": … 1 …}}` nested `levels` objects deep.
fn nested(levels: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..levels {
        v = json!({ "k": v });
    }
    v
}

#[test]
fn state_over_the_depth_limit_is_refused_and_the_old_state_kept() {
    let dir = tempdir();
    let b = backend(dir.path());
    ok(b.set(ID, &JobState::from_singer_state(json!({"ok": 1}))));
    // The stored document adds two levels: {"completed": {"singer_state": …}}.
    let fits = JobState::from_singer_state(nested(crate::MAX_STATE_DEPTH - 2));
    ok(b.set(ID, &fits));
    assert_eq!(ok(b.get(ID)), Some(fits));
    let too_deep = JobState::from_singer_state(nested(crate::MAX_STATE_DEPTH - 1));
    let err = b.set(ID, &too_deep).err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("at most 100 levels")),
        "{err:?}"
    );
    let err = b
        .update(ID, &mut |s| {
            let mut s = s.unwrap_or_default();
            s.record_ack(nested(crate::MAX_STATE_DEPTH), crate::StateStrategy::Auto);
            Ok(s)
        })
        .err();
    assert!(err.is_some());
    // What is stored can still be read back.
    assert!(b.get(ID).is_ok());
}

#[test]
fn oversized_state_file_is_refused_without_reading_it_whole() {
    let dir = tempdir();
    let b = backend(dir.path());
    let path = ok(b.state_path(ID));
    assert!(fs::create_dir_all(path.parent().unwrap_or(dir.path())).is_ok());
    let big = fs::File::create(&path).and_then(|f| f.set_len(crate::MAX_STATE_BYTES as u64 + 10));
    assert!(big.is_ok());
    let err = b.get(ID).err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("at most 67108864 bytes")),
        "{err:?}"
    );
}

#[cfg(unix)]
#[test]
fn lock_and_state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let b = backend(dir.path());
    ok(b.claim_run(ID, false));
    ok(b.set(ID, &JobState::from_singer_state(json!({"a": 1}))));
    let mode = |p: PathBuf| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
    assert_eq!(mode(ok(b.lock_path(ID))), Some(0o600));
    assert_eq!(mode(ok(b.state_path(ID))), Some(0o600));
    ok(b.refresh_run(ID));
    assert_eq!(mode(ok(b.lock_path(ID))), Some(0o600));
    ok(b.release_run(ID));
}
