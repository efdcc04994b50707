//! `smelt run --jobs N`: concurrent extract-load sets, barriers, per-set state, failure
//! isolation, `--fail-fast`, signals and sets sharing a state ID. Overlap and ordering are
//! checked on the start/end times the fixture plugins record, never on wall-clock budgets.

mod common;

use std::time::{Duration, Instant};

use common::{text, TestProject};

/// Taps `tap-a`, `tap-b`, `tap-c`, `tap-d` (fixture taps recording their start and end in
/// `times-<x>.txt`), the fixture target and the fixture utility. `tap_config` is extra config
/// lines for every tap (indented for `config:`).
fn project(tap_config: &str) -> TestProject {
    let mut yml = String::from(
        "version: 1\ndefault_environment: dev\nproject_id: 7d0c1d8e-0000-4000-8000-000000000009\nenvironments:\n- name: dev\nplugins:\n  extractors:\n",
    );
    for x in ["a", "b", "c", "d"] {
        yml += &format!(
            "  - name: tap-{x}\n    executable: {{FIXTURES}}/tap-fixture\n    capabilities: [state]\n    settings:\n    - {{name: count, kind: integer}}\n    - {{name: state_every, kind: integer}}\n    - {{name: crash_after, kind: integer}}\n    - {{name: sleep_ms, kind: integer}}\n    - {{name: times_file}}\n    config:\n      times_file: times-{x}.txt\n      state_every: 5\n{tap_config}"
        );
    }
    yml += "  loaders:\n  - name: target-fixture\n    executable: {FIXTURES}/target-fixture\n    settings:\n    - {name: path}\n    config:\n      path: out.jsonl\n";
    yml += "  utilities:\n  - name: util-fixture\n    executable: {FIXTURES}/util-fixture\n";
    yml +=
        "jobs:\n- name: two-loads\n  tasks:\n  - tap-a target-fixture\n  - tap-b target-fixture\n- name: declared\n  annotations:\n    smelt:\n      parallelism: 2\n  tasks:\n  - tap-a target-fixture\n  - tap-b target-fixture\n";
    TestProject::new(&yml)
}

/// `(start, end)` pairs, in order, from a fixture's times file.
fn spans(p: &TestProject, file: &str) -> Vec<(f64, Option<f64>)> {
    let body = std::fs::read_to_string(p.path(file)).unwrap_or_default();
    let mut out: Vec<(f64, Option<f64>)> = Vec::new();
    for line in body.lines() {
        let (what, t) = line.split_once(' ').expect("'<what> <time>'");
        let t: f64 = t.parse().expect("a time");
        match what {
            "start" => out.push((t, None)),
            _ => out.last_mut().expect("end after start").1 = Some(t),
        }
    }
    out
}

/// The one span of a tap that ran once to completion.
fn span(p: &TestProject, x: &str) -> (f64, f64) {
    let s = spans(p, &format!("times-{x}.txt"));
    assert_eq!(s.len(), 1, "tap-{x} ran once: {s:?}");
    (s[0].0, s[0].1.expect("tap ended"))
}

fn last_id(p: &TestProject, tap: &str, part: &str) -> serde_json::Value {
    let id = format!("dev:{tap}-to-target-fixture");
    let state = p.state(&id).unwrap_or_else(|| panic!("state of {id}"));
    state[part]["singer_state"]["bookmarks"]["numbers"]["last_id"].clone()
}

const SLOW: &str = "      sleep_ms: 100\n      count: 10\n";

#[test]
fn three_sets_overlap_and_each_keeps_its_own_state() {
    let p = project(SLOW);
    let out = p.run(&[
        "run",
        "--jobs",
        "3",
        "tap-a",
        "target-fixture",
        "tap-b",
        "target-fixture",
        "tap-c",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let spans: Vec<(f64, f64)> = ["a", "b", "c"].iter().map(|x| span(&p, x)).collect();
    let last_start = spans.iter().map(|s| s.0).fold(f64::MIN, f64::max);
    let first_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
    assert!(
        last_start < first_end,
        "every tap started before any ended: {spans:?}"
    );
    for tap in ["tap-a", "tap-b", "tap-c"] {
        assert_eq!(last_id(&p, tap, "completed"), 10, "{tap}");
    }
    assert_eq!(p.output_records().len(), 30);
    let err = String::from_utf8_lossy(&out.stderr);
    for set in [
        "tap-a→target-fixture",
        "tap-b→target-fixture",
        "tap-c→target-fixture",
    ] {
        assert!(
            err.lines().any(|l| l.starts_with(&format!("[{set}] "))),
            "lines of {set} are prefixed:\n{err}"
        );
    }
    let summary = String::from_utf8_lossy(&out.stdout);
    for set in [
        "tap-a → target-fixture",
        "tap-b → target-fixture",
        "tap-c → target-fixture",
    ] {
        assert!(summary.contains(&format!("✓ {set}")), "{summary}");
    }
}

#[test]
fn a_command_block_waits_for_the_sets_before_it() {
    let p = project(SLOW);
    let times = p.path("times-util.txt");
    let out = p.run_env(
        &[
            "run",
            "--jobs",
            "3",
            "tap-a",
            "target-fixture",
            "tap-b",
            "target-fixture",
            "util-fixture",
        ],
        &[("UTIL_FIXTURE_TIMES_FILE", times.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out));
    let (a, b) = (span(&p, "a"), span(&p, "b"));
    assert!(a.0 < b.1 && b.0 < a.1, "the two sets overlap: {a:?} {b:?}");
    let util = spans(&p, "times-util.txt");
    assert_eq!(util.len(), 1, "{util:?}");
    assert!(
        util[0].0 > a.1 && util[0].0 > b.1,
        "the command starts after both sets: {a:?} {b:?} {util:?}"
    );
}

#[test]
fn a_job_runs_its_sets_concurrently() {
    let p = project(SLOW);
    let out = p.run(&["run", "--jobs", "2", "two-loads"]);
    assert!(out.status.success(), "{}", text(&out));
    let (a, b) = (span(&p, "a"), span(&p, "b"));
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "the job's sets overlap: {a:?} {b:?}"
    );
}

#[test]
fn a_job_declares_its_parallelism_and_jobs_1_overrides_it() {
    // Meltano's `annotations` carry smelt's key, so the project stays valid for Meltano.
    let p = project(SLOW);
    let out = p.run(&["run", "declared"]);
    assert!(out.status.success(), "{}", text(&out));
    let (a, b) = (span(&p, "a"), span(&p, "b"));
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "declared parallelism 2: {a:?} {b:?}"
    );

    let p = project(SLOW);
    let out = p.run(&["run", "--jobs", "1", "declared"]);
    assert!(out.status.success(), "{}", text(&out));
    let (a, b) = (span(&p, "a"), span(&p, "b"));
    assert!(
        a.1 <= b.0,
        "--jobs 1 runs the sets one after the other: {a:?} {b:?}"
    );
}

#[test]
fn a_failed_set_does_not_stop_the_others_and_the_run_fails() {
    let p = project(SLOW);
    // tap-b crashes after 3 records; the others complete.
    let yml = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    let yml = yml.replacen(
        "times_file: times-b.txt\n",
        "times_file: times-b.txt\n      crash_after: 3\n",
        1,
    );
    std::fs::write(p.path("meltano.yml"), yml).unwrap();
    let out = p.run(&[
        "run",
        "--jobs",
        "3",
        "tap-a",
        "target-fixture",
        "tap-b",
        "target-fixture",
        "tap-c",
        "target-fixture",
        "util-fixture",
    ]);
    common::assert_fails(&out, 1, &["[tap-b→target-fixture]", "tap-b failed"]);
    assert_eq!(last_id(&p, "tap-a", "completed"), 10);
    assert_eq!(last_id(&p, "tap-c", "completed"), 10);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("✓ tap-a → target-fixture"), "{summary}");
    assert!(summary.contains("✗ tap-b → target-fixture"), "{summary}");
    assert!(summary.contains("✓ tap-c → target-fixture"), "{summary}");
    assert!(
        summary.contains("- util-fixture  (not run"),
        "nothing after a failed group runs: {summary}"
    );
}

#[test]
fn fail_fast_stops_the_other_sets() {
    // Slow sets (50 × 100 ms) and one that crashes at once.
    let p = project("      sleep_ms: 100\n      count: 50\n");
    let yml = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    let yml = yml.replacen(
        "times_file: times-b.txt\n",
        "times_file: times-b.txt\n      crash_after: 1\n",
        1,
    );
    std::fs::write(p.path("meltano.yml"), yml).unwrap();
    let out = p.run(&[
        "run",
        "--jobs",
        "3",
        "--fail-fast",
        "tap-a",
        "target-fixture",
        "tap-b",
        "target-fixture",
        "tap-c",
        "target-fixture",
        "tap-d",
        "target-fixture",
    ]);
    common::assert_fails(&out, 1, &["tap-b failed", "--fail-fast"]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("✗ tap-a → target-fixture"), "{summary}");
    assert!(summary.contains("✗ tap-c → target-fixture"), "{summary}");
    assert!(
        summary.contains("- tap-d → target-fixture  (not run"),
        "the queued set never starts: {summary}"
    );
    assert!(spans(&p, "times-d.txt").is_empty());
    for tap in ["tap-a", "tap-c"] {
        let state = p.state(&format!("dev:{tap}-to-target-fixture"));
        let completed = state.map(|s| s["completed"].clone());
        assert!(
            matches!(&completed, None | Some(serde_json::Value::Null))
                || completed == Some(serde_json::json!({})),
            "{tap} never completed: {completed:?}"
        );
    }
}

#[test]
fn sigterm_stops_every_set_and_keeps_acknowledged_state() {
    let p = project("      sleep_ms: 50\n      count: 2000\n");
    let child = p.spawn_env(
        &[
            "run",
            "--jobs",
            "3",
            "tap-a",
            "target-fixture",
            "tap-b",
            "target-fixture",
            "tap-c",
            "target-fixture",
        ],
        &[],
    );
    // Wait (bounded) until every set has an acknowledged state.
    let until = Instant::now() + Duration::from_secs(60);
    let acked = |tap: &str| last_id(&p, tap, "partial").as_u64().is_some();
    while !["tap-a", "tap-b", "tap-c"]
        .iter()
        .all(|t| p.state(&format!("dev:{t}-to-target-fixture")).is_some() && acked(t))
    {
        assert!(Instant::now() < until, "every set acknowledged a state");
        std::thread::sleep(Duration::from_millis(100));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().expect("smelt exits");
    assert_eq!(out.status.code(), Some(143), "{}", text(&out));
    for tap in ["tap-a", "tap-b", "tap-c"] {
        let n = last_id(&p, tap, "partial")
            .as_u64()
            .expect("partial state kept");
        assert!((5..2000).contains(&n), "{tap}: {n}");
        assert_eq!(spans(&p, &format!("times-{}.txt", &tap[4..])).len(), 1);
    }
}

#[test]
fn sets_with_the_same_state_id_run_one_after_the_other() {
    let p = project("      sleep_ms: 50\n      count: 10\n");
    let out = p.run(&[
        "run",
        "--jobs",
        "3",
        "tap-a",
        "target-fixture",
        "tap-a",
        "target-fixture",
        "tap-b",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let a = spans(&p, "times-a.txt");
    assert_eq!(a.len(), 2, "{a:?}");
    let first_end = a[0].1.expect("first run ended");
    assert!(
        a[1].0 > first_end,
        "second tap-a started after the first ended: {a:?}"
    );
    let b = span(&p, "b");
    assert!(b.0 < first_end, "tap-b did not wait for tap-a: {a:?} {b:?}");
    // The second run resumed from the first one's state: nothing new, same bookmark.
    assert_eq!(last_id(&p, "tap-a", "completed"), 10);
}
