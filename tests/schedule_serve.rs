//! `smelt schedule serve` with real processes and real time: schedules firing every 2 s (the
//! six-field cron extension), retries with backoff, four serve processes sharing a PostgreSQL
//! system database, and SIGTERM during a run. Counts are checked with a margin of one; nothing
//! asserts on wall-clock durations beyond generous bounds.

mod common;

use std::fs::File;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{alive, psql, wait_for_file, PgSchema, TestProject};

/// The fixture project plus `tap-plain` (no state, 3 records per run, so the output file
/// counts runs) and the schedules given.
fn project(schedules: &str) -> TestProject {
    let yml = common::FIXTURE_YML.replace(
        "  mappers:\n",
        "  - name: tap-plain\n    executable: {FIXTURES}/tap-fixture\n    config:\n      count: 3\n  mappers:\n",
    );
    TestProject::new(&format!("{yml}schedules:\n{schedules}"))
}

/// Starts `smelt schedule serve ARGS…` with its output in `serve-N.log`.
fn serve(p: &TestProject, n: usize, args: &[&str]) -> Child {
    let log = p.path(&format!("serve-{n}.log"));
    let out = File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let mut all = vec!["schedule", "serve"];
    all.extend_from_slice(args);
    p.command(&all)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn smelt schedule serve")
}

fn log_of(p: &TestProject, n: usize) -> String {
    std::fs::read_to_string(p.path(&format!("serve-{n}.log"))).unwrap_or_default()
}

fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Waits for `child` at most `secs`; kills it and fails if it takes longer.
fn wait_exit(child: &mut Child, secs: u64, p: &TestProject, n: usize) -> ExitStatus {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not exit within {secs}s:\n{}", log_of(p, n));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The second-of-minute `secs` from now, for a six-field cron that fires once a minute soon.
fn second_in(secs: u64) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    (now + secs) % 60
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_schedule_every_two_seconds_runs_each_tick_once() {
    let p = project(
        "- name: every2\n  extractor: tap-plain\n  loader: target-fixture\n  interval: '*/2 * * * * *'\n",
    );
    let mut child = serve(&p, 0, &["--poll-interval", "0.2"]);
    std::thread::sleep(Duration::from_secs(7));
    signal(&child, libc::SIGTERM);
    let status = wait_exit(&mut child, 40, &p, 0);
    let log = log_of(&p, 0);
    assert_eq!(status.code(), Some(0), "{log}");
    // 7 s of a 2 s schedule: 3 or 4 ticks, give or take one.
    // A run may still be going at SIGTERM (runs take a second or two on a busy machine).
    let started = log.matches("started run for tick").count();
    let succeeded = log.matches("succeeded (attempt 1)").count();
    let interrupted = log.matches("ended while stopping").count();
    assert!((2..=5).contains(&started), "{started} runs:\n{log}");
    assert_eq!(succeeded + interrupted, started, "{log}");
    assert!(interrupted <= 1, "{log}");
    assert!(!log.contains("failed"), "{log}");
    // Each finished run loaded 3 records.
    let records = lines(&p.path("out.jsonl"));
    assert!(
        (3 * succeeded..=3 * started).contains(&records),
        "{records} records:\n{log}"
    );

    // The status file and `schedule status` show the last run and the next one.
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.path(".meltano/run/schedule-serve/status.json"))
            .expect("status file"),
    )
    .expect("status JSON");
    assert_eq!(file["state"], "stopped", "{file}");
    assert_eq!(
        file["schedules"]["every2"]["last_outcome"],
        if interrupted == 0 {
            "success"
        } else {
            "interrupted"
        },
        "{file}"
    );
    assert!(
        file["schedules"]["every2"]["next_run"].is_string(),
        "{file}"
    );
    let out = p.run(&["schedule", "status", "--format", "json"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    let row = &doc["schedules"][0];
    assert_eq!(row["name"], "every2", "{doc}");
    let last = if interrupted == 0 {
        "success"
    } else {
        "failed"
    };
    assert_eq!(row["last_status"], last, "{doc}");
    assert_eq!(row["last_attempt"], 1, "{doc}");
    assert!(row["next_run"].is_string(), "{doc}");
    let out = p.run(&["schedule", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("serve: stopped"), "{text}");
    assert!(text.contains("every2  interval */2 * * * * *"), "{text}");
}

#[test]
fn a_failing_run_is_retried_with_backoff() {
    let pg = PgSchema::create();
    let second = second_in(3);
    let p = project(&format!(
        "- name: flaky\n  extractor: tap-plain\n  loader: target-fixture\n  interval: '{second} * * * * *'\n  env:\n    TARGET_FIXTURE_CRASH_AFTER: '1'\n"
    ));
    let uri = pg.uri();
    let mut child = serve(
        &p,
        0,
        &[
            "--database-uri",
            &uri,
            "--retries",
            "2",
            "--retry-delay",
            "1",
            "--poll-interval",
            "0.2",
        ],
    );
    // Tick in ~3 s; attempts at +0, +1, +3 s (plus the runs' own time).
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end && !log_of(&p, 0).contains("after 3 attempt(s)") {
        std::thread::sleep(Duration::from_millis(200));
    }
    signal(&child, libc::SIGTERM);
    let status = wait_exit(&mut child, 40, &p, 0);
    let log = log_of(&p, 0);
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("retrying in 1s (attempt 2 of 3)"), "{log}");
    assert!(log.contains("retrying in 2s (attempt 3 of 3)"), "{log}");
    assert!(log.contains("failed (exit 1) after 3 attempt(s)"), "{log}");
    // One tick, three attempts, three failed runs recorded.
    let s = &pg.0;
    assert_eq!(
        psql(&format!(
            "SELECT count(*) || ' ' || max(attempt) || ' ' || max(status) FROM {s}.smelt_schedule_ticks"
        )),
        "1 3 failed"
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM {s}.smelt_runs WHERE state_id LIKE '%flaky%' AND status = 'failed'"
        )),
        "3",
        "{log}"
    );
}

#[test]
fn four_serves_sharing_postgres_run_each_tick_once() {
    let pg = PgSchema::create();
    let p = project(
        "- name: shared\n  extractor: tap-plain\n  loader: target-fixture\n  interval: '*/2 * * * * *'\n",
    );
    let uri = pg.uri();
    let args = ["--database-uri", uri.as_str(), "--poll-interval", "0.2"];
    let mut children: Vec<Child> = (0..4).map(|n| serve(&p, n, &args)).collect();
    std::thread::sleep(Duration::from_secs(8));
    for c in &children {
        signal(c, libc::SIGTERM);
    }
    let mut logs = String::new();
    for (n, c) in children.iter_mut().enumerate() {
        let status = wait_exit(c, 40, &p, n);
        assert_eq!(status.code(), Some(0), "{}", log_of(&p, n));
        logs.push_str(&log_of(&p, n));
    }
    let s = &pg.0;
    let ticks: usize = psql(&format!("SELECT count(*) FROM {s}.smelt_schedule_ticks"))
        .parse()
        .expect("count");
    // 8 s of a 2 s schedule: 4 ticks, fewer when a run outlasted a tick (that tick is skipped
    // by every serve: no two runs of one schedule at once).
    assert!((2..=5).contains(&ticks), "{ticks} ticks:\n{logs}");
    let claimers = psql(&format!(
        "SELECT count(DISTINCT claimed_by) FROM {s}.smelt_schedule_ticks"
    ));
    // One run per tick, each successful (bar one still going at SIGTERM), and none refused as
    // a duplicate by the state ID's claim.
    let interrupted = logs.matches("ended while stopping: interrupted").count();
    assert!(interrupted <= 1, "{logs}");
    assert_eq!(
        logs.matches("started run for tick").count(),
        ticks,
        "{logs}"
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM {s}.smelt_runs WHERE state_id LIKE '%shared%' AND status = 'success'"
        )),
        (ticks - interrupted).to_string(),
        "{logs}"
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM {s}.smelt_schedule_ticks WHERE status <> 'success'"
        )),
        interrupted.to_string(),
        "{logs}"
    );
    assert!(!logs.contains("another run"), "{logs}");
    assert!(logs.contains("was claimed by another serve"), "{logs}");
    let records = lines(&p.path("out.jsonl"));
    assert!(
        (3 * (ticks - interrupted)..=3 * ticks).contains(&records),
        "{records} records:\n{logs}"
    );
    assert!(claimers.parse::<usize>().unwrap_or(0) >= 1);
    // Every tick any serve saw was run by exactly one of them or skipped by all.
    assert!(!logs.contains("attempt 2"), "{logs}");
}

#[test]
fn sigterm_during_a_run_stops_it_in_time_and_keeps_acknowledged_state() {
    let pg = PgSchema::create();
    let second = second_in(2);
    let pid_file = "tap.pid";
    let p = project(&format!(
        "- name: slow\n  extractor: tap-fixture\n  loader: target-fixture\n  interval: '{second} * * * * *'\n  env:\n    TAP_FIXTURE_COUNT: '100000'\n    TAP_FIXTURE_SLEEP_MS: '20'\n    TAP_FIXTURE_PID_FILE: {pid_file}\n"
    ));
    let uri = pg.uri();
    let mut child = serve(
        &p,
        0,
        &[
            "--database-uri",
            &uri,
            "--poll-interval",
            "0.2",
            "--shutdown-timeout",
            "20",
        ],
    );
    assert!(
        wait_for_file(&p.path(pid_file), 30),
        "the run never started:\n{}",
        log_of(&p, 0)
    );
    let tap: i32 = std::fs::read_to_string(p.path(pid_file))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    // Let some states be acknowledged (one per 5 records, 20 ms each).
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end && lines(&p.path("out.jsonl")) < 20 {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    let status = wait_exit(&mut child, 35, &p, 0);
    let log = log_of(&p, 0);
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("ended while stopping: interrupted"), "{log}");
    let end = Instant::now() + Duration::from_secs(5);
    while alive(tap) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(tap), "the tap outlived serve");
    // Acknowledged state kept as partial state of the schedule's state ID.
    let s = &pg.0;
    let partial = psql(&format!(
        "SELECT partial FROM {s}.smelt_state WHERE state_id LIKE '%slow%'"
    ));
    assert!(partial.contains("last_id"), "{partial}\n{log}");
    assert_eq!(
        psql(&format!("SELECT status FROM {s}.smelt_schedule_ticks")),
        "failed"
    );
}

#[test]
fn bad_intervals_and_unknown_names_are_usage_errors() {
    let p = project(
        "- name: bad\n  extractor: tap-plain\n  loader: target-fixture\n  interval: '0 25 * * *'\n",
    );
    let out = p.run(&["schedule", "serve"]);
    common::assert_fails(&out, 2, &["schedule 'bad'", "hour", "at character 3"]);
    let out = p.run(&["schedule", "serve", "nope"]);
    common::assert_fails(&out, 2, &["Schedule 'nope' was not found"]);
    let p = project(
        "- name: manual\n  extractor: tap-plain\n  loader: target-fixture\n  interval: '@manual'\n",
    );
    let out = p.run(&["schedule", "serve", "manual"]);
    common::assert_fails(&out, 2, &["never runs on its own"]);
    let out = p.run(&["schedule", "serve", "--poll-interval", "0"]);
    common::assert_fails(&out, 2, &["0.05 to 60"]);
}

#[test]
fn a_tick_missed_while_down_is_caught_up_once_on_restart() {
    let p = project(
        "- name: every2\n  extractor: tap-plain\n  loader: target-fixture\n  interval: '*/2 * * * * *'\n",
    );
    let mut first = serve(&p, 0, &["--poll-interval", "0.2"]);
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end && !log_of(&p, 0).contains("succeeded (attempt 1)") {
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(&first, libc::SIGTERM);
    assert_eq!(wait_exit(&mut first, 40, &p, 0).code(), Some(0));
    // Down for several ticks.
    std::thread::sleep(Duration::from_secs(5));
    let mut second = serve(&p, 1, &["--poll-interval", "0.2"]);
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end && !log_of(&p, 1).contains("succeeded (attempt 1)") {
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(&second, libc::SIGTERM);
    assert_eq!(wait_exit(&mut second, 40, &p, 1).code(), Some(0));
    let log = log_of(&p, 1);
    assert!(log.contains("1 missed tick(s) to catch up"), "{log}");

    // With --catch-up none nothing is caught up.
    std::thread::sleep(Duration::from_secs(5));
    let mut third = serve(&p, 2, &["--poll-interval", "0.2", "--catch-up", "none"]);
    std::thread::sleep(Duration::from_secs(1));
    signal(&third, libc::SIGTERM);
    assert_eq!(wait_exit(&mut third, 40, &p, 2).code(), Some(0));
    assert!(!log_of(&p, 2).contains("missed"), "{}", log_of(&p, 2));
}
