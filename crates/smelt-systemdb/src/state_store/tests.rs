//! Tests for the systemdb state backend: CRUD, corruption, and concurrent updates from threads
//! and from separate processes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;

use serde_json::json;
use smelt_state::StateStrategy;

use super::*;

const ID: &str = "dev:tap-a-to-target-b";
const CHILD_DB_ENV: &str = "SMELT_SYSTEMDB_TEST_CHILD_DB";
const CHILD_PREFIX_ENV: &str = "SMELT_SYSTEMDB_TEST_CHILD_PREFIX";
const UPDATES_PER_WORKER: usize = 50;

fn open(path: &Path) -> Arc<SystemDb> {
    match SystemDb::open(path) {
        Ok(db) => Arc::new(db),
        Err(e) => panic!("open {}: {e}", path.display()),
    }
}

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

fn ok<T>(r: Result<T, StateError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// Open the database afresh and merge `UPDATES_PER_WORKER` distinct keys into `ID`'s state.
fn merge_keys(db_path: &Path, prefix: &str) {
    let backend = open(db_path).state_backend();
    for n in 0..UPDATES_PER_WORKER {
        let key = format!("{prefix}-{n}");
        ok(backend.update(ID, &mut |current| {
            let mut state = current.unwrap_or_default();
            state.record_ack(json!({"bookmarks": {key.clone(): n}}), StateStrategy::Merge);
            Ok(state)
        }));
    }
}

fn bookmark_count(db_path: &Path) -> usize {
    ok(open(db_path).state_backend().get(ID))
        .and_then(|s| s.effective_singer_state())
        .and_then(|s| {
            s.get("bookmarks")
                .and_then(Value::as_object)
                .map(|m| m.len())
        })
        .unwrap_or(0)
}

#[test]
fn crud_round_trip() {
    let dir = tempdir();
    let path = dir.path().join("smelt.db");
    let backend = open(&path).state_backend();
    assert!(
        backend.name().starts_with("systemdb ("),
        "{}",
        backend.name()
    );
    assert!(backend.name().contains("smelt.db"));
    assert_eq!(ok(backend.get(ID)), None);

    let state = JobState {
        completed: json!({"singer_state": {"bookmarks": {"users": {"id": 3}}}}),
        partial: Value::Null,
    };
    ok(backend.set(ID, &state));
    assert_eq!(ok(backend.get(ID)), Some(state.clone()));

    // Survives reopening.
    drop(backend);
    let backend = open(&path).state_backend();
    assert_eq!(ok(backend.get(ID)), Some(state));

    ok(backend.set("prod:x-to-y", &JobState::new()));
    ok(backend.set("dev:x-to-y:sfx", &JobState::new()));
    assert_eq!(
        ok(backend.list(None)),
        [ID, "dev:x-to-y:sfx", "prod:x-to-y"]
    );
    assert_eq!(ok(backend.list(Some("dev:*"))), [ID, "dev:x-to-y:sfx"]);
    assert!(matches!(
        backend.list(Some("[")),
        Err(StateError::InvalidPattern { .. })
    ));

    ok(backend.clear(ID));
    assert_eq!(ok(backend.get(ID)), None);
    ok(backend.clear(ID));
    assert_eq!(ok(backend.list(None)), ["dev:x-to-y:sfx", "prod:x-to-y"]);
}

#[test]
fn update_follows_run_semantics() {
    let dir = tempdir();
    let backend = open(&dir.path().join("smelt.db")).state_backend();
    ok(backend.set(
        ID,
        &JobState::from_singer_state(json!({"bookmarks": {"a": 1}})),
    ));
    // An ack during the run lands in partial; completed untouched.
    let mid = ok(backend.update(ID, &mut |s| {
        let mut s = s.unwrap_or_default();
        s.record_ack(json!({"bookmarks": {"a": 2}}), StateStrategy::Overwrite);
        Ok(s)
    }));
    assert_eq!(ok(backend.get(ID)), Some(mid));
    let stored = ok(backend.get(ID)).unwrap_or_default();
    assert_eq!(
        stored.completed,
        json!({"singer_state": {"bookmarks": {"a": 1}}})
    );
    assert_eq!(
        stored.effective_singer_state(),
        Some(json!({"bookmarks": {"a": 2}}))
    );
    // Success folds.
    ok(backend.update(ID, &mut |s| {
        let mut s = s.unwrap_or_default();
        s.complete_run(StateStrategy::Overwrite);
        Ok(s)
    }));
    let done = ok(backend.get(ID)).unwrap_or_default();
    assert_eq!(
        done.completed,
        json!({"singer_state": {"bookmarks": {"a": 2}}})
    );
    assert_eq!(done.partial, json!({}));
}

#[test]
fn failed_closure_rolls_back() {
    let dir = tempdir();
    let backend = open(&dir.path().join("smelt.db")).state_backend();
    let res = backend.update(ID, &mut |_| Err(StateError::Backend("no".into())));
    assert!(matches!(res, Err(StateError::Backend(ref m)) if m == "no"));
    assert_eq!(ok(backend.get(ID)), None);
}

#[test]
fn corrupt_row_is_reported_and_left_untouched() {
    let dir = tempdir();
    let db = open(&dir.path().join("smelt.db"));
    let backend = db.state_backend();
    ok(backend.set(ID, &JobState::new()));
    assert!(db
        .conn()
        .execute(
            "UPDATE state SET completed = '[1' WHERE state_id = ?1",
            [ID]
        )
        .is_ok());
    match backend.get(ID) {
        Err(StateError::Corrupt { location, reason }) => {
            assert!(
                location.contains(ID) && location.contains("smelt.db"),
                "{location}"
            );
            assert!(reason.contains("\"completed\""), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let mut called = false;
    let res = backend.update(ID, &mut |_| {
        called = true;
        Ok(JobState::new())
    });
    assert!(matches!(res, Err(StateError::Corrupt { .. })));
    assert!(!called);
    let raw: String = db
        .conn()
        .query_row(
            "SELECT completed FROM state WHERE state_id = ?1",
            [ID],
            |r| r.get(0),
        )
        .unwrap_or_default();
    assert_eq!(raw, "[1");

    // Valid JSON of the wrong shape is corrupt too.
    assert!(db
        .conn()
        .execute(
            "UPDATE state SET completed = '[1]' WHERE state_id = ?1",
            [ID]
        )
        .is_ok());
    assert!(matches!(backend.get(ID), Err(StateError::Corrupt { .. })));
    // set() (state set --force) repairs it.
    ok(backend.set(ID, &JobState::new()));
    assert_eq!(ok(backend.get(ID)), Some(JobState::new()));
}

#[test]
fn invalid_ids_are_refused() {
    let dir = tempdir();
    let backend = open(&dir.path().join("smelt.db")).state_backend();
    assert!(matches!(
        backend.get("../x"),
        Err(StateError::InvalidId { .. })
    ));
    assert!(matches!(
        backend.set("", &JobState::new()),
        Err(StateError::InvalidId { .. })
    ));
    assert!(matches!(
        backend.clear("a/b"),
        Err(StateError::InvalidId { .. })
    ));
}

#[test]
fn concurrent_threads_with_separate_connections_lose_nothing() {
    let dir = tempdir();
    let path = dir.path().join("smelt.db");
    drop(open(&path)); // create the schema once up front
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            thread::spawn(move || merge_keys(&path, &format!("thread{w}")))
        })
        .collect();
    for w in workers {
        assert!(w.join().is_ok(), "worker panicked");
    }
    assert_eq!(bookmark_count(&path), 4 * UPDATES_PER_WORKER);
}

#[test]
fn concurrent_threads_sharing_one_handle_lose_nothing() {
    let dir = tempdir();
    let path = dir.path().join("smelt.db");
    let backend = open(&path).state_backend();
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let backend = Arc::clone(&backend);
            thread::spawn(move || {
                for n in 0..UPDATES_PER_WORKER {
                    let key = format!("shared{w}-{n}");
                    ok(backend.update(ID, &mut |s| {
                        let mut s = s.unwrap_or_default();
                        s.record_ack(json!({"bookmarks": {key.clone(): n}}), StateStrategy::Merge);
                        Ok(s)
                    }));
                }
            })
        })
        .collect();
    for w in workers {
        assert!(w.join().is_ok(), "worker panicked");
    }
    assert_eq!(bookmark_count(&path), 3 * UPDATES_PER_WORKER);
}

/// Child-process entry point for [`concurrent_processes_lose_nothing`]; run alone it checks a
/// single worker's keys all arrive.
#[test]
fn concurrent_worker() {
    match (std::env::var(CHILD_DB_ENV), std::env::var(CHILD_PREFIX_ENV)) {
        (Ok(db), Ok(prefix)) => merge_keys(Path::new(&db), &prefix),
        _ => {
            let dir = tempdir();
            let path = dir.path().join("smelt.db");
            merge_keys(&path, "solo");
            assert_eq!(bookmark_count(&path), UPDATES_PER_WORKER);
        }
    }
}

#[test]
fn concurrent_processes_lose_nothing() {
    let dir = tempdir();
    let path = dir.path().join("smelt.db");
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => panic!("current_exe: {e}"),
    };
    // Children open the fresh database at the same time as the parent: migrations race too.
    let children: Vec<_> = (0..2)
        .map(|c| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "state_store::tests::concurrent_worker",
                    "--test-threads=1",
                ])
                .env(CHILD_DB_ENV, &path)
                .env(CHILD_PREFIX_ENV, format!("proc{c}"))
                .stdout(Stdio::null())
                .spawn()
        })
        .collect();
    merge_keys(&path, "parent");
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
    assert_eq!(bookmark_count(&path), 3 * UPDATES_PER_WORKER);
}
