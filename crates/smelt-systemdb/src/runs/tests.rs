//! Tests for run records: double-run refusal, stale detection, force, heartbeats, finishing.

use super::*;
use crate::process::local_hostname;

struct Fixture {
    _dir: tempfile::TempDir,
    db: SystemDb,
}

fn fixture() -> Fixture {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let db = match SystemDb::open(&dir.path().join("smelt.db")) {
        Ok(db) => db,
        Err(e) => panic!("{e}"),
    };
    Fixture { _dir: dir, db }
}

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

#[test]
fn begin_run_records_a_running_run() {
    let f = fixture();
    let rec = ok(f.db.begin_run(&new_run(SID, "r1")));
    assert_eq!(rec.status, RunStatus::Running);
    assert_eq!(rec.ended_at, None);
    assert_eq!(rec.started_at, rec.last_heartbeat);
    let stored = ok(f.db.runs(Some(SID), 10));
    assert_eq!(stored, vec![rec.clone()]);
    assert_eq!(ok(f.db.run("r1")), Some(rec));
    assert_eq!(ok(f.db.run("nope")), None);
}

#[test]
fn second_run_of_same_state_is_refused_while_first_is_alive() {
    let f = fixture();
    let first = ok(f.db.begin_run(&new_run(SID, "r1")));
    match f.db.begin_run(&new_run(SID, "r2")) {
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
    assert_eq!(ok(f.db.run("r2")), None);
    assert_eq!(ok(f.db.runs(Some(SID), 10)), vec![first]);
    // Another pipeline is independent.
    assert!(f
        .db
        .begin_run(&new_run("dev:tap-x-to-target-y", "r3"))
        .is_ok());
}

#[test]
fn force_starts_anyway_and_leaves_the_other_run_alone() {
    let f = fixture();
    ok(f.db.begin_run(&new_run(SID, "r1")));
    let mut forced = new_run(SID, "r2");
    forced.force = true;
    ok(f.db.begin_run(&forced));
    let statuses: Vec<_> = ok(f.db.runs(Some(SID), 10))
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

#[test]
fn run_of_a_dead_local_process_is_marked_failed() {
    let f = fixture();
    let mut crashed = new_run(SID, "crashed");
    crashed.pid = dead_pid();
    ok(f.db.begin_run(&crashed));
    let rec = ok(f.db.begin_run(&new_run(SID, "r2")));
    assert_eq!(rec.status, RunStatus::Running);
    let old = ok(f.db.run("crashed"));
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

#[test]
fn dead_pid_on_another_host_is_not_trusted() {
    let f = fixture();
    let mut remote = new_run(SID, "remote");
    remote.pid = dead_pid();
    remote.hostname = "some-other-host".to_string();
    ok(f.db.begin_run(&remote));
    assert!(matches!(
        f.db.begin_run(&new_run(SID, "r2")),
        Err(DbError::AlreadyRunning { ref run_id, .. }) if run_id == "remote"
    ));
}

#[test]
fn run_without_heartbeat_for_five_minutes_is_marked_failed() {
    let f = fixture();
    let always_alive = |_: u32| true;
    let t0 = now();
    ok(f.db.begin_run_at(&new_run(SID, "silent"), t0, &always_alive));
    // Just under the limit: still considered running.
    let almost = t0 + chrono::Duration::seconds(299);
    assert!(matches!(
        f.db.begin_run_at(&new_run(SID, "r2"), almost, &always_alive),
        Err(DbError::AlreadyRunning { .. })
    ));
    let later = t0 + chrono::Duration::seconds(301);
    ok(f.db.begin_run_at(&new_run(SID, "r3"), later, &always_alive));
    let silent = ok(f.db.run("silent")).map(|r| (r.status, r.error.unwrap_or_default()));
    assert!(
        matches!(&silent, Some((RunStatus::Failed, e)) if e.contains("no heartbeat")),
        "{silent:?}"
    );
}

#[test]
fn heartbeat_keeps_a_run_alive() {
    let f = fixture();
    let always_alive = |_: u32| true;
    let long_ago = now() - chrono::Duration::minutes(10);
    ok(f.db.begin_run_at(&new_run(SID, "busy"), long_ago, &always_alive));
    ok(f.db.heartbeat("busy"));
    let busy = ok(f.db.run("busy"));
    assert!(busy.is_some_and(|r| r.last_heartbeat > long_ago));
    assert!(matches!(
        f.db.begin_run_at(&new_run(SID, "r2"), now(), &always_alive),
        Err(DbError::AlreadyRunning { ref run_id, .. }) if run_id == "busy"
    ));
}

#[test]
fn heartbeat_reports_unknown_and_finished_runs() {
    let f = fixture();
    assert!(matches!(
        f.db.heartbeat("ghost"),
        Err(DbError::RunNotFound { ref run_id }) if run_id == "ghost"
    ));
    ok(f.db.begin_run(&new_run(SID, "r1")));
    ok(f.db.finish_run("r1", RunStatus::Failed, &BTreeMap::new(), Some("boom")));
    assert!(matches!(
        f.db.heartbeat("r1"),
        Err(DbError::RunNotRunning {
            status: RunStatus::Failed,
            ..
        })
    ));
}

#[test]
fn finish_run_records_outcome_and_counts() {
    let f = fixture();
    ok(f.db.begin_run(&new_run(SID, "r1")));
    let records = BTreeMap::from([("orders".to_string(), 42_u64), ("users".to_string(), 7)]);
    ok(f.db.finish_run("r1", RunStatus::Success, &records, None));
    let rec = match ok(f.db.run("r1")) {
        Some(r) => r,
        None => panic!("run missing"),
    };
    assert_eq!(rec.status, RunStatus::Success);
    assert_eq!(rec.records, records);
    assert_eq!(rec.error, None);
    assert!(rec.ended_at.is_some_and(|e| e >= rec.started_at));
    // Finished runs no longer block new ones.
    ok(f.db.begin_run(&new_run(SID, "r2")));
    ok(f.db.finish_run(
        "r2",
        RunStatus::Failed,
        &BTreeMap::new(),
        Some("target exited 1"),
    ));
    let r2 = ok(f.db.run("r2"));
    assert_eq!(
        r2.and_then(|r| r.error),
        Some("target exited 1".to_string())
    );
}

#[test]
fn finish_run_rejects_running_and_unknown_runs() {
    let f = fixture();
    ok(f.db.begin_run(&new_run(SID, "r1")));
    assert!(matches!(
        f.db.finish_run("r1", RunStatus::Running, &BTreeMap::new(), None),
        Err(DbError::InvalidFinalStatus { .. })
    ));
    assert!(matches!(
        f.db.finish_run("ghost", RunStatus::Success, &BTreeMap::new(), None),
        Err(DbError::RunNotFound { .. })
    ));
}

#[test]
fn finish_overrides_a_stale_mark() {
    let f = fixture();
    let always_alive = |_: u32| true;
    let t0 = now() - chrono::Duration::minutes(30);
    ok(f.db.begin_run_at(&new_run(SID, "slow"), t0, &always_alive));
    ok(f.db.begin_run(&new_run(SID, "r2"))); // marks "slow" failed
    ok(f.db.finish_run("slow", RunStatus::Success, &BTreeMap::new(), None));
    assert_eq!(
        ok(f.db.run("slow")).map(|r| r.status),
        Some(RunStatus::Success)
    );
}

#[test]
fn duplicate_run_id_is_refused() {
    let f = fixture();
    ok(f.db.begin_run(&new_run(SID, "same")));
    ok(f.db.finish_run("same", RunStatus::Success, &BTreeMap::new(), None));
    assert!(matches!(
        f.db.begin_run(&new_run(SID, "same")),
        Err(DbError::DuplicateRun { ref run_id }) if run_id == "same"
    ));
}

#[test]
fn runs_are_newest_first_filtered_and_limited() {
    let f = fixture();
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
        ok(f.db.begin_run_at(&req, at, &always_alive));
    }
    let ids = |v: Vec<RunRecord>| v.into_iter().map(|r| r.run_id).collect::<Vec<_>>();
    assert_eq!(ids(ok(f.db.runs(None, 100))), ["r3", "r2", "r1", "r0"]);
    assert_eq!(ids(ok(f.db.runs(Some("a:x-to-y"), 2))), ["r3", "r2"]);
    assert_eq!(ids(ok(f.db.runs(Some("b:x-to-y"), usize::MAX))), ["r1"]);
    assert!(ok(f.db.runs(Some("none"), 10)).is_empty());
}

#[test]
fn unreadable_rows_are_reported_as_corrupt() {
    let f = fixture();
    ok(f.db.begin_run(&new_run(SID, "r1")));
    assert!(f
        .db
        .conn()
        .execute(
            "UPDATE runs SET records = 'not json' WHERE run_id = 'r1'",
            []
        )
        .is_ok());
    match f.db.runs(None, 10) {
        Err(DbError::Corrupt { what, .. }) => assert_eq!(what, "records of run r1"),
        other => panic!("expected Corrupt, got {other:?}"),
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
