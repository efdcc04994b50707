//! Tests for the systemdb state backend on both engines: CRUD, corruption, and concurrent
//! updates from threads and from separate processes.

use std::process::{Command, Stdio};
use std::thread;

use serde_json::json;
use smelt_state::StateStrategy;

use super::*;
use crate::test_support::{child_db, each_engine, Kind, TestDb};

const ID: &str = "dev:tap-a-to-target-b";
const CHILD_PREFIX_ENV: &str = "SMELT_SYSTEMDB_TEST_CHILD_PREFIX";
const UPDATES_PER_WORKER: usize = 50;
/// Processes in the cross-process test, the parent included.
const PROCESSES: usize = 8;

fn ok<T>(r: Result<T, StateError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// Merge `UPDATES_PER_WORKER` distinct keys into `ID`'s state through `db`.
fn merge_keys(db: &Arc<SystemDb>, prefix: &str) {
    let backend = db.state_backend();
    for n in 0..UPDATES_PER_WORKER {
        let key = format!("{prefix}-{n}");
        ok(backend.update(ID, &mut |current| {
            let mut state = current.unwrap_or_default();
            state.record_ack(json!({"bookmarks": {key.clone(): n}}), StateStrategy::Merge);
            Ok(state)
        }));
    }
}

fn bookmarks(db: &Arc<SystemDb>) -> serde_json::Map<String, Value> {
    ok(db.state_backend().get(ID))
        .and_then(|s| s.effective_singer_state())
        .and_then(|s| s.get("bookmarks").and_then(Value::as_object).cloned())
        .unwrap_or_default()
}

/// Every worker's every key is present with its last value.
fn assert_all_merged(db: &Arc<SystemDb>, prefixes: &[String]) {
    let marks = bookmarks(db);
    assert_eq!(marks.len(), prefixes.len() * UPDATES_PER_WORKER);
    for prefix in prefixes {
        for n in 0..UPDATES_PER_WORKER {
            assert_eq!(marks.get(&format!("{prefix}-{n}")), Some(&json!(n)));
        }
    }
}

fn spawn_worker(f: &TestDb, prefix: &str) -> std::io::Result<std::process::Child> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "state_store::tests::concurrent_worker",
        "--test-threads=1",
    ])
    .env(CHILD_PREFIX_ENV, prefix)
    .stdout(Stdio::null());
    for (key, value) in f.child_env() {
        cmd.env(key, value);
    }
    cmd.spawn()
}

/// Child-process entry point for `concurrent_processes_lose_nothing`; run alone (no database
/// named in the environment) it checks a single worker's keys all arrive on SQLite.
#[test]
fn concurrent_worker() {
    match (child_db(), std::env::var(CHILD_PREFIX_ENV)) {
        (Some(db), Ok(prefix)) => merge_keys(&db, &prefix),
        _ => {
            let f = TestDb::new(Kind::Sqlite);
            let db = f.open();
            merge_keys(&db, "solo");
            assert_all_merged(&db, &["solo".to_string()]);
        }
    }
}

each_engine! {
    fn state_over_the_limits_is_refused_before_writing(f) {
        let db = f.open();
        let backend = db.state_backend();
        let mut deep = json!(1);
        for _ in 0..smelt_state::MAX_STATE_DEPTH {
            deep = json!({ "k": deep });
        }
        let fine = JobState::from_singer_state(json!({"a": 1}));
        ok(backend.set(ID, &fine));
        let err = backend.set(ID, &JobState::from_singer_state(deep.clone())).err();
        assert!(
            err.as_ref().is_some_and(|e| e.to_string().contains("at most 100 levels")),
            "{err:?}"
        );
        let err = backend
            .update(ID, &mut |s| {
                let mut s = s.unwrap_or_default();
                s.record_ack(deep.clone(), StateStrategy::Auto);
                Ok(s)
            })
            .err();
        assert!(err.is_some());
        let big = "x".repeat(smelt_state::MAX_STATE_BYTES);
        assert!(backend.set(ID, &JobState::from_singer_state(json!({ "b": big }))).is_err());
        assert_eq!(ok(backend.get(ID)), Some(fine));
    }

    fn crud_round_trip(f) {
        let db = f.open();
        let backend = db.state_backend();
        assert_eq!(backend.name(), format!("systemdb ({})", db.location()));
        match f.kind {
            Kind::Sqlite => assert!(backend.name().contains("smelt.db"), "{}", backend.name()),
            Kind::Postgres => assert!(
                backend.name().starts_with("systemdb (postgresql://postgres@")
                    && backend.name().contains("(schema smelt_test_"),
                "{}",
                backend.name()
            ),
        }
        assert_eq!(ok(backend.get(ID)), None);

        let state = JobState {
            completed: json!({"singer_state": {"bookmarks": {"users": {"id": 3}}}}),
            partial: Value::Null,
        };
        ok(backend.set(ID, &state));
        assert_eq!(ok(backend.get(ID)), Some(state.clone()));

        // Survives reopening.
        drop(backend);
        drop(db);
        let backend = f.open().state_backend();
        assert_eq!(ok(backend.get(ID)), Some(state));

        ok(backend.set("prod:x-to-y", &JobState::new()));
        ok(backend.set("dev:x-to-y:sfx", &JobState::new()));
        ok(backend.set("Dev:upper-to-y", &JobState::new()));
        // Byte order on both engines, whatever the server's collation.
        assert_eq!(
            ok(backend.list(None)),
            ["Dev:upper-to-y", ID, "dev:x-to-y:sfx", "prod:x-to-y"]
        );
        assert_eq!(ok(backend.list(Some("dev:*"))), [ID, "dev:x-to-y:sfx"]);
        assert!(matches!(
            backend.list(Some("[")),
            Err(StateError::InvalidPattern { .. })
        ));

        ok(backend.clear(ID));
        assert_eq!(ok(backend.get(ID)), None);
        ok(backend.clear(ID));
        assert_eq!(
            ok(backend.list(None)),
            ["Dev:upper-to-y", "dev:x-to-y:sfx", "prod:x-to-y"]
        );
    }

    fn stored_text_keeps_key_order(f) {
        let backend = f.open().state_backend();
        let state = JobState::from_singer_state(json!({"bookmarks": {"zeta": 1, "alpha": 2}}));
        ok(backend.set(ID, &state));
        let raw = f.query_text(&format!(
            "SELECT completed FROM {} WHERE state_id = '{ID}'",
            f.table("state")
        ));
        assert_eq!(
            raw.as_deref(),
            Some(r#"{"singer_state":{"bookmarks":{"zeta":1,"alpha":2}}}"#)
        );
    }

    fn update_follows_run_semantics(f) {
        let backend = f.open().state_backend();
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

    fn update_of_a_new_id_sees_none(f) {
        let backend = f.open().state_backend();
        let mut seen = Vec::new();
        ok(backend.update(ID, &mut |s| {
            seen.push(s.clone());
            Ok(JobState::from_singer_state(json!({"n": 1})))
        }));
        assert_eq!(seen, [None]);
        assert_eq!(
            ok(backend.get(ID)).and_then(|s| s.effective_singer_state()),
            Some(json!({"n": 1}))
        );
    }

    fn failed_closure_rolls_back(f) {
        let backend = f.open().state_backend();
        let res = backend.update(ID, &mut |_| Err(StateError::Backend("no".into())));
        assert!(matches!(res, Err(StateError::Backend(ref m)) if m == "no"));
        assert_eq!(ok(backend.get(ID)), None);
        assert!(ok(backend.list(None)).is_empty());
        // An existing row is left as it was, too.
        let kept = JobState::from_singer_state(json!({"keep": true}));
        ok(backend.set(ID, &kept));
        let res = backend.update(ID, &mut |_| Err(StateError::Backend("no".into())));
        assert!(res.is_err());
        assert_eq!(ok(backend.get(ID)), Some(kept));
    }

    fn corrupt_row_is_reported_and_left_untouched(f) {
        let db = f.open();
        let backend = db.state_backend();
        let table = f.table("state");
        ok(backend.set(ID, &JobState::new()));
        f.exec(&format!(
            "UPDATE {table} SET completed = '[1' WHERE state_id = '{ID}'"
        ));
        match backend.get(ID) {
            Err(StateError::Corrupt { location, reason }) => {
                assert!(
                    location.contains(ID) && location.contains(db.location()),
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
        let raw = f.query_text(&format!(
            "SELECT completed FROM {table} WHERE state_id = '{ID}'"
        ));
        assert_eq!(raw.as_deref(), Some("[1"));

        // Valid JSON of the wrong shape is corrupt too.
        f.exec(&format!(
            "UPDATE {table} SET completed = '[1]' WHERE state_id = '{ID}'"
        ));
        assert!(matches!(backend.get(ID), Err(StateError::Corrupt { .. })));
        // set() (state set --force) repairs it.
        ok(backend.set(ID, &JobState::new()));
        assert_eq!(ok(backend.get(ID)), Some(JobState::new()));
    }

    fn invalid_ids_are_refused(f) {
        let backend = f.open().state_backend();
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
        assert!(matches!(
            backend.claim_run("a/b", false),
            Err(StateError::InvalidId { .. })
        ));
    }

    fn run_claims_are_no_ops(f) {
        let db = f.open();
        let backend = db.state_backend();
        ok(backend.claim_run(ID, false));
        // A second claim is not refused: the runs table is this backend's guard.
        ok(f.open().state_backend().claim_run(ID, false));
        ok(backend.refresh_run(ID));
        ok(backend.release_run(ID));
        ok(backend.release_run("dev:never-claimed"));
        assert_eq!(ok(backend.get(ID)), None);
        assert!(db.runs(None, 10).is_ok_and(|r| r.is_empty()));
    }

    fn concurrent_threads_with_separate_connections_lose_nothing(f) {
        drop(f.open()); // create the schema once up front
        let prefixes: Vec<String> = (0..4).map(|w| format!("thread{w}")).collect();
        let workers: Vec<_> = prefixes
            .iter()
            .map(|prefix| {
                let db = f.open();
                let prefix = prefix.clone();
                thread::spawn(move || merge_keys(&db, &prefix))
            })
            .collect();
        for w in workers {
            assert!(w.join().is_ok(), "worker panicked");
        }
        assert_all_merged(&f.open(), &prefixes);
    }

    fn concurrent_threads_sharing_one_handle_lose_nothing(f) {
        let db = f.open();
        let prefixes: Vec<String> = (0..3).map(|w| format!("shared{w}")).collect();
        let workers: Vec<_> = prefixes
            .iter()
            .map(|prefix| {
                let db = Arc::clone(&db);
                let prefix = prefix.clone();
                thread::spawn(move || merge_keys(&db, &prefix))
            })
            .collect();
        for w in workers {
            assert!(w.join().is_ok(), "worker panicked");
        }
        assert_all_merged(&db, &prefixes);
    }

    fn concurrent_processes_lose_nothing(f) {
        // Children open the fresh database at the same time as the parent: creating the
        // schema races too.
        let prefixes: Vec<String> = (0..PROCESSES).map(|p| format!("proc{p}")).collect();
        let children: Vec<_> = prefixes[1..]
            .iter()
            .map(|prefix| spawn_worker(f, prefix))
            .collect();
        let db = f.open();
        merge_keys(&db, &prefixes[0]);
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
        assert_all_merged(&db, &prefixes);
    }
}
