//! Tests for run records: double-run refusal, stale detection, force, heartbeats, finishing.
//! Each behaviour runs on both engines (`<test>::sqlite`, `<test>::postgres`).

use std::sync::{Arc, Barrier};
use std::thread;

use super::*;
use crate::process::local_hostname;
use crate::test_support::each_engine;

fn new_run(state_id: &str, run_id: &str) -> NewRun {
    NewRun {
        state_id: state_id.to_string(),
        run_id: run_id.to_string(),
        force: false,
        pid: std::process::id(),
        hostname: local_hostname(),
    }
}

fn ok<T>(r: Result<T, DbError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn dead_pid() -> u32 {
    let mut child = match std::process::Command::new("true").spawn() {
        Ok(c) => c,
        Err(e) => panic!("spawn true: {e}"),
    };
    let pid = child.id();
    assert!(child.wait().is_ok());
    pid
}

const SID: &str = "dev:tap-a-to-target-b";

each_engine! {
    fn begin_run_records_a_running_run(f) {
        let db = f.open();
        let rec = ok(db.begin_run(&new_run(SID, "r1")));
        assert_eq!(rec.status, RunStatus::Running);
        assert_eq!(rec.ended_at, None);
        assert_eq!(rec.started_at, rec.last_heartbeat);
        let stored = ok(db.runs(Some(SID), 10));
        assert_eq!(stored, vec![rec.clone()]);
        assert_eq!(ok(db.run("r1")), Some(rec));
        assert_eq!(ok(db.run("nope")), None);
    }

    fn second_run_of_same_state_is_refused_while_first_is_alive(f) {
        let db = f.open();
        let first = ok(db.begin_run(&new_run(SID, "r1")));
        match db.begin_run(&new_run(SID, "r2")) {
            Err(DbError::AlreadyRunning {
                state_id,
                run_id,
                started_at,
                pid,
                hostname,
            }) => {
                assert_eq!(state_id, SID);
                assert_eq!(run_id, "r1");
                assert_eq!(started_at, first.started_at);
                assert_eq!(pid, std::process::id());
                assert_eq!(hostname, local_hostname());
            }
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        // Nothing was recorded for the refused run; the first is untouched.
        assert_eq!(ok(db.run("r2")), None);
        assert_eq!(ok(db.runs(Some(SID), 10)), vec![first]);
        // Another pipeline is independent.
        assert!(db
            .begin_run(&new_run("dev:tap-x-to-target-y", "r3"))
            .is_ok());
    }

    fn force_starts_anyway_and_leaves_the_other_run_alone(f) {
        let db = f.open();
        ok(db.begin_run(&new_run(SID, "r1")));
        let mut forced = new_run(SID, "r2");
        forced.force = true;
        ok(db.begin_run(&forced));
        let statuses: Vec<_> = ok(db.runs(Some(SID), 10))
            .into_iter()
            .map(|r| (r.run_id, r.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("r2".to_string(), RunStatus::Running),
                ("r1".to_string(), RunStatus::Running)
            ]
        );
    }

    fn run_of_a_dead_local_process_is_marked_failed(f) {
        let db = f.open();
        let mut crashed = new_run(SID, "crashed");
        crashed.pid = dead_pid();
        ok(db.begin_run(&crashed));
        let rec = ok(db.begin_run(&new_run(SID, "r2")));
        assert_eq!(rec.status, RunStatus::Running);
        let old = ok(db.run("crashed"));
        let old = match old {
            Some(r) => r,
            None => panic!("crashed run vanished"),
        };
        assert_eq!(old.status, RunStatus::Failed);
        assert!(old.ended_at.is_some());
        let error = old.error.unwrap_or_default();
        assert!(error.contains("no longer running"), "{error}");
        assert!(error.contains(&crashed.pid.to_string()), "{error}");
    }

    fn dead_pid_on_another_host_is_not_trusted(f) {
        let db = f.open();
        let mut remote = new_run(SID, "remote");
        remote.pid = dead_pid();
        remote.hostname = "some-other-host".to_string();
        ok(db.begin_run(&remote));
        assert!(matches!(
            db.begin_run(&new_run(SID, "r2")),
            Err(DbError::AlreadyRunning { ref run_id, .. }) if run_id == "remote"
        ));
    }

    fn run_without_heartbeat_for_five_minutes_is_marked_failed(f) {
        let db = f.open();
        let always_alive = |_: u32| true;
        let t0 = now();
        ok(db.begin_run_at(&new_run(SID, "silent"), t0, &always_alive));
        // Just under the limit: still considered running.
        let almost = t0 + chrono::Duration::seconds(299);
        assert!(matches!(
            db.begin_run_at(&new_run(SID, "r2"), almost, &always_alive),
            Err(DbError::AlreadyRunning { .. })
        ));
        let later = t0 + chrono::Duration::seconds(301);
        ok(db.begin_run_at(&new_run(SID, "r3"), later, &always_alive));
        let silent = ok(db.run("silent")).map(|r| (r.status, r.error.unwrap_or_default()));
        assert!(
            matches!(&silent, Some((RunStatus::Failed, e)) if e.contains("no heartbeat")),
            "{silent:?}"
        );
    }

    fn heartbeat_keeps_a_run_alive(f) {
        let db = f.open();
        let always_alive = |_: u32| true;
        let long_ago = now() - chrono::Duration::minutes(10);
        ok(db.begin_run_at(&new_run(SID, "busy"), long_ago, &always_alive));
        ok(db.heartbeat("busy"));
        let busy = ok(db.run("busy"));
        assert!(busy.is_some_and(|r| r.last_heartbeat > long_ago));
        assert!(matches!(
            db.begin_run_at(&new_run(SID, "r2"), now(), &always_alive),
            Err(DbError::AlreadyRunning { ref run_id, .. }) if run_id == "busy"
        ));
    }

    fn heartbeat_reports_unknown_and_finished_runs(f) {
        let db = f.open();
        assert!(matches!(
            db.heartbeat("ghost"),
            Err(DbError::RunNotFound { ref run_id }) if run_id == "ghost"
        ));
        ok(db.begin_run(&new_run(SID, "r1")));
        ok(db.finish_run("r1", RunStatus::Failed, &BTreeMap::new(), Some("boom")));
        assert!(matches!(
            db.heartbeat("r1"),
            Err(DbError::RunNotRunning {
                status: RunStatus::Failed,
                ..
            })
        ));
    }

    fn finish_run_records_outcome_and_counts(f) {
        let db = f.open();
        ok(db.begin_run(&new_run(SID, "r1")));
        let records = BTreeMap::from([("orders".to_string(), 42_u64), ("users".to_string(), 7)]);
        ok(db.finish_run("r1", RunStatus::Success, &records, None));
        let rec = match ok(db.run("r1")) {
            Some(r) => r,
            None => panic!("run missing"),
        };
        assert_eq!(rec.status, RunStatus::Success);
        assert_eq!(rec.records, records);
        assert_eq!(rec.error, None);
        assert!(rec.ended_at.is_some_and(|e| e >= rec.started_at));
        // Finished runs no longer block new ones.
        ok(db.begin_run(&new_run(SID, "r2")));
        ok(db.finish_run(
            "r2",
            RunStatus::Failed,
            &BTreeMap::new(),
            Some("target exited 1"),
        ));
        let r2 = ok(db.run("r2"));
        assert_eq!(
            r2.and_then(|r| r.error),
            Some("target exited 1".to_string())
        );
    }

    fn finish_run_rejects_running_and_unknown_runs(f) {
        let db = f.open();
        ok(db.begin_run(&new_run(SID, "r1")));
        assert!(matches!(
            db.finish_run("r1", RunStatus::Running, &BTreeMap::new(), None),
            Err(DbError::InvalidFinalStatus { .. })
        ));
        assert!(matches!(
            db.finish_run("ghost", RunStatus::Success, &BTreeMap::new(), None),
            Err(DbError::RunNotFound { .. })
        ));
    }

    fn finish_overrides_a_stale_mark(f) {
        let db = f.open();
        let always_alive = |_: u32| true;
        let t0 = now() - chrono::Duration::minutes(30);
        ok(db.begin_run_at(&new_run(SID, "slow"), t0, &always_alive));
        ok(db.begin_run(&new_run(SID, "r2"))); // marks "slow" failed
        ok(db.finish_run("slow", RunStatus::Success, &BTreeMap::new(), None));
        assert_eq!(
            ok(db.run("slow")).map(|r| r.status),
            Some(RunStatus::Success)
        );
    }

    fn duplicate_run_id_is_refused(f) {
        let db = f.open();
        ok(db.begin_run(&new_run(SID, "same")));
        ok(db.finish_run("same", RunStatus::Success, &BTreeMap::new(), None));
        assert!(matches!(
            db.begin_run(&new_run(SID, "same")),
            Err(DbError::DuplicateRun { ref run_id }) if run_id == "same"
        ));
    }

    fn runs_are_newest_first_filtered_and_limited(f) {
        let db = f.open();
        let always_alive = |_: u32| true;
        let t0 = now();
        for (i, sid) in ["a:x-to-y", "b:x-to-y", "a:x-to-y", "a:x-to-y"]
            .iter()
            .enumerate()
        {
            let run_id = format!("r{i}");
            let at = t0 + chrono::Duration::seconds(i as i64);
            let mut req = new_run(sid, &run_id);
            req.force = true;
            ok(db.begin_run_at(&req, at, &always_alive));
        }
        let ids = |v: Vec<RunRecord>| v.into_iter().map(|r| r.run_id).collect::<Vec<_>>();
        assert_eq!(ids(ok(db.runs(None, 100))), ["r3", "r2", "r1", "r0"]);
        assert_eq!(ids(ok(db.runs(Some("a:x-to-y"), 2))), ["r3", "r2"]);
        assert_eq!(ids(ok(db.runs(Some("b:x-to-y"), usize::MAX))), ["r1"]);
        assert!(ok(db.runs(Some("none"), 10)).is_empty());
    }

    fn unreadable_rows_are_reported_as_corrupt(f) {
        let db = f.open();
        ok(db.begin_run(&new_run(SID, "r1")));
        f.exec(&format!(
            "UPDATE {} SET records = 'not json' WHERE run_id = 'r1'",
            f.table("runs")
        ));
        match db.runs(None, 10) {
            Err(DbError::Corrupt { what, database, .. }) => {
                assert_eq!(what, "records of run r1");
                assert_eq!(database, db.location());
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    fn unknown_status_is_refused_by_the_schema(f) {
        let db = f.open();
        ok(db.begin_run(&new_run(SID, "r1")));
        let runs = f.table("runs");
        assert_eq!(
            f.query_text(&format!("SELECT status FROM {runs} WHERE run_id = 'r1'")),
            Some("running".to_string())
        );
        let bad = f.try_exec(&format!("UPDATE {runs} SET status = 'weird' WHERE run_id = 'r1'"));
        assert!(bad.is_err_and(|e| e.contains("CHECK") || e.contains("check")));
    }

    fn runs_survive_reopening(f) {
        let rec = ok(f.open().begin_run(&new_run(SID, "r1")));
        assert_eq!(ok(f.open().run("r1")), Some(rec));
    }

    fn simultaneous_begins_on_separate_connections_start_exactly_one(f) {
        const WORKERS: usize = 8;
        drop(f.open()); // schema first, so only begin_run races
        let handles: Vec<_> = (0..WORKERS).map(|_| f.open()).collect();
        let barrier = Arc::new(Barrier::new(WORKERS));
        let threads: Vec<_> = handles
            .into_iter()
            .enumerate()
            .map(|(i, db)| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    db.begin_run(&new_run(SID, &format!("racer{i}")))
                })
            })
            .collect();
        let mut started = 0;
        for t in threads {
            match t.join() {
                Ok(Ok(_)) => started += 1,
                Ok(Err(DbError::AlreadyRunning { .. })) => {}
                Ok(Err(e)) => panic!("unexpected error: {e}"),
                Err(_) => panic!("worker panicked"),
            }
        }
        assert_eq!(started, 1);
        let running: Vec<_> = ok(f.open().runs(Some(SID), 100))
            .into_iter()
            .filter(|r| r.status == RunStatus::Running)
            .collect();
        assert_eq!(running.len(), 1, "{running:?}");
    }
}

#[test]
fn run_status_text_round_trips() {
    for s in [RunStatus::Running, RunStatus::Success, RunStatus::Failed] {
        assert_eq!(s.as_str().parse::<RunStatus>(), Ok(s));
        assert_eq!(s.to_string(), s.as_str());
    }
    assert!("done".parse::<RunStatus>().is_err());
}
