//! `smelt run` end to end with real subprocess plugins (the fixtures in tests/fixtures/plugins).

mod common;

use common::{alive, assert_fails, text, wait_for_file, TestProject};
use std::time::{Duration, Instant};

const STATE_ID: &str = "dev:tap-fixture-to-target-fixture";

fn ids(records: &[serde_json::Value]) -> Vec<i64> {
    records.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[test]
fn tap_two_mappers_target_moves_every_record_in_order() {
    let p = TestProject::fixture();
    let out = p.run(&["run", "tap-fixture", "tag-a", "tag-b", "target-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    let records = p.output_records();
    assert_eq!(ids(&records), (1..=10).collect::<Vec<_>>());
    for r in &records {
        assert_eq!(
            r["tags"],
            serde_json::json!(["a", "b"]),
            "mappers ran in order"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("tap-fixture → tag-a → tag-b → target-fixture"),
        "{stdout}"
    );
    assert!(
        stdout.contains("numbers") && stdout.contains("10 records"),
        "{stdout}"
    );
    assert!(stdout.contains(STATE_ID), "{stdout}");
}

#[test]
fn second_run_resumes_from_state() {
    let p = TestProject::fixture();
    let first = p.run(&["run", "tap-fixture", "target-fixture"]);
    assert!(first.status.success(), "{}", text(&first));
    let state = p.state(STATE_ID).expect("state saved");
    assert_eq!(
        state["completed"]["singer_state"]["bookmarks"]["numbers"]["last_id"],
        10
    );
    assert_eq!(state["partial"], serde_json::json!({}));

    let second = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "13")],
    );
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(
        ids(&p.output_records()),
        (1..=13).collect::<Vec<_>>(),
        "only 11..13 were added"
    );
    let state = p.state(STATE_ID).unwrap();
    assert_eq!(
        state["completed"]["singer_state"]["bookmarks"]["numbers"]["last_id"],
        13
    );
}

#[test]
fn full_refresh_ignores_stored_state() {
    let p = TestProject::fixture();
    assert!(p
        .run(&["run", "tap-fixture", "target-fixture"])
        .status
        .success());
    let out = p.run(&["run", "--full-refresh", "tap-fixture", "target-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(p.output_records().len(), 20, "all ten records again");
}

#[test]
fn tap_crash_fails_names_the_tap_and_keeps_acknowledged_state() {
    let p = TestProject::fixture();
    let out = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_CRASH_AFTER", "7")],
    );
    assert_fails(&out, 1, &["Extractor tap-fixture failed (exit 3)"]);
    // The target acknowledged the state after record 5 before the crash.
    let state = p.state(STATE_ID).expect("partial state kept");
    assert_eq!(
        state["partial"]["singer_state"]["bookmarks"]["numbers"]["last_id"], 5,
        "{state}"
    );
    assert_eq!(state["completed"], serde_json::json!({}));
    // The next run resumes after 5.
    let again = p.run(&["run", "tap-fixture", "target-fixture"]);
    assert!(again.status.success(), "{}", text(&again));
    let got = ids(&p.output_records());
    assert_eq!(&got[got.len() - 5..], &[6, 7, 8, 9, 10]);
}

#[test]
fn failed_run_never_replaces_completed_state_with_less() {
    let p = TestProject::fixture();
    assert!(p
        .run(&["run", "tap-fixture", "target-fixture"])
        .status
        .success());
    let out = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "30"),
            ("TAP_FIXTURE_CRASH_AFTER", "2"),
        ],
    );
    assert!(!out.status.success());
    let state = p.state(STATE_ID).unwrap();
    assert_eq!(
        state["completed"]["singer_state"]["bookmarks"]["numbers"]["last_id"],
        10
    );
}

#[test]
fn target_crash_stops_the_tap() {
    let p = TestProject::fixture();
    let pid_file = p.path("tap.pid");
    let started = Instant::now();
    let out = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "1000000"),
            ("TAP_FIXTURE_SLEEP_MS", "5"),
            ("TAP_FIXTURE_PID_FILE", pid_file.to_str().unwrap()),
            ("TARGET_FIXTURE_CRASH_AFTER", "3"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the tap was not left running"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Loader target-fixture failed (exit 5)"),
        "{err}"
    );
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "tap process still alive");
}

#[test]
fn loader_exiting_early_with_success_still_fails_the_run() {
    let p = TestProject::fixture();
    let out = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "100000"),
            ("TARGET_FIXTURE_EXIT_AFTER", "2"),
        ],
    );
    assert_fails(
        &out,
        1,
        &["Loader target-fixture exited before reading all of its input"],
    );
}

fn sigterm_test(signal: i32, expected: i32) {
    let p = TestProject::fixture();
    let pid_file = p.path("tap.pid");
    let child = p.spawn_env(
        &["run", "tap-fixture", "tag-a", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "1000000"),
            ("TAP_FIXTURE_SLEEP_MS", "20"),
            ("TAP_FIXTURE_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    assert!(wait_for_file(&pid_file, 20), "tap never started");
    std::thread::sleep(Duration::from_millis(300));
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(expected), "{}", text(&out));
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "tap survived");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("interrupted by signal"), "{err}");
    // The run is recorded as failed, so a new run is not refused as a duplicate.
    let again = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "1")],
    );
    assert!(again.status.success(), "{}", text(&again));
}

#[test]
fn sigterm_stops_every_child_and_exits_143() {
    sigterm_test(libc::SIGTERM, 143);
}

#[test]
fn sigint_exits_130() {
    sigterm_test(libc::SIGINT, 130);
}

#[test]
fn timeout_stops_the_run() {
    let p = TestProject::fixture();
    let out = p.run_env(
        &["run", "--timeout", "1", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "1000000"),
            ("TAP_FIXTURE_SLEEP_MS", "10"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out after"));
}

#[test]
fn duplicate_run_is_refused_unless_forced() {
    let p = TestProject::fixture();
    let pid_file = p.path("tap.pid");
    let mut first = p.spawn_env(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "1000000"),
            ("TAP_FIXTURE_SLEEP_MS", "20"),
            ("TAP_FIXTURE_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    assert!(wait_for_file(&pid_file, 20));
    let second = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "1")],
    );
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("--force"), "{err}");
    let forced = p.run_env(
        &["run", "--force", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "1")],
    );
    assert!(forced.status.success(), "{}", text(&forced));
    unsafe {
        libc::kill(first.id() as i32, libc::SIGTERM);
    }
    let _ = first.wait();
}

#[test]
fn long_line_names_the_buffer_size_setting() {
    let p = TestProject::fixture();
    let out = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_LONG_LINE", "5000"),
            ("MELTANO_ELT_BUFFER_SIZE", "1024"),
        ],
    );
    assert_fails(
        &out,
        1,
        &[
            "tap-fixture wrote a message line longer than 1024 bytes",
            "elt.buffer_size",
        ],
    );
}

#[test]
fn no_environment_means_no_state() {
    let p = TestProject::fixture();
    let out = p.run(&["--no-environment", "run", "tap-fixture", "target-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("state: not saved"));
    assert!(p.state(STATE_ID).is_none());
}

#[test]
fn state_id_suffix_and_environment_shape_the_state_id() {
    let p = TestProject::fixture();
    let out = p.run(&[
        "--environment",
        "prod",
        "run",
        "--state-id-suffix",
        "s1",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(p.state("prod:tap-fixture-to-target-fixture:s1").is_some());
    let list = p.run(&["state", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).trim(),
        "prod:tap-fixture-to-target-fixture:s1"
    );
}

#[test]
fn plugins_get_meltano_env_config_file_and_state_args() {
    let p = TestProject::fixture();
    let dump = p.path("env.json");
    assert!(p
        .run(&["run", "tap-fixture", "target-fixture"])
        .status
        .success());
    let out = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_ENV_DUMP", dump.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out));
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dump).unwrap()).unwrap();
    assert_eq!(env["MELTANO_ENVIRONMENT"], "dev");
    assert_eq!(env["MELTANO_EXTRACTOR_NAME"], "tap-fixture");
    let args: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dump.with_extension("json.args")).unwrap())
            .unwrap();
    assert_eq!(args[0], "--config");
    assert!(args.contains(&"--state".to_string()), "{args:?}");
    // The private run directory (config files with secrets) is gone after the run.
    let run_dir = p.path(".meltano/run");
    let leftovers: Vec<_> = std::fs::read_dir(&run_dir)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "run dir left behind: {leftovers:?}");
}

#[test]
fn run_log_file_has_plugin_lines() {
    let p = TestProject::fixture();
    let out = p.run(&[
        "run",
        "--run-id",
        "0e1f2a3b-0000-4000-8000-00000000abcd",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let log = std::fs::read_to_string(
        p.path(".meltano/logs/run/0e1f2a3b-0000-4000-8000-00000000abcd.log"),
    )
    .unwrap();
    assert!(
        log.contains("[tap-fixture] fixture tap emitted 10 records"),
        "{log}"
    );
}

#[test]
fn json_log_format_tags_plugin_lines() {
    let p = TestProject::fixture();
    let out = p.run(&[
        "--log-format",
        "json",
        "run",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stderr line is JSON"))
        .collect();
    assert!(lines
        .iter()
        .any(|l| l["plugin"] == "tap-fixture" && l["event"] == "fixture tap emitted 10 records"));
}

#[test]
fn closed_stdout_does_not_panic_or_fail_the_run() {
    let p = TestProject::fixture();
    let mut child = p.spawn_env(&["run", "tap-fixture", "target-fixture"], &[]);
    drop(child.stdout.take()); // like `smelt run … | head -0`
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(p.output_records().len(), 10);
}
