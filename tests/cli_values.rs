//! No command-line value makes smelt panic, and the values it reports back are the ones given:
//! out-of-range numbers are usage errors (exit 2), "timed out after N seconds" names the
//! `--timeout` set, and a `--run-id` an earlier run used is refused before anything is touched.

mod common;

use common::*;

/// Asserts a usage error (exit 2) that is not a panic.
fn assert_usage_error(p: &TestProject, args: &[&str]) {
    let out = p.run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{args:?}: {}",
        text(&out)
    );
}

#[test]
fn out_of_range_timeouts_are_usage_errors_everywhere() {
    let p = TestProject::fixture();
    let bad = [
        "0",
        "-1",
        "31536001",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999",
        "1.5",
        "",
    ];
    for value in bad {
        assert_usage_error(
            &p,
            &["run", "tap-fixture", "target-fixture", "--timeout", value],
        );
        assert_usage_error(
            &p,
            &["el", "tap-fixture", "target-fixture", "--timeout", value],
        );
        assert_usage_error(&p, &["config", "test", "tap-fixture", "--timeout", value]);
    }
}

#[test]
fn the_longest_timeout_is_accepted_without_overflow() {
    let p = TestProject::fixture();
    let out = p.run(&[
        "run",
        "tap-fixture",
        "target-fixture",
        "--timeout",
        "31536000",
    ]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn timeout_message_names_the_timeout_given_even_in_a_later_block() {
    // A quick first set, then a slow one (a tap sleeping a second per record) under
    // --timeout 6: the second is stopped part-way through its own time, yet the message must
    // say 6 seconds, as the user asked. The margins are wide so a loaded machine still passes.
    let yml = FIXTURE_YML.replace(
        "  mappers:\n",
        "  - name: tap-slow\n    inherit_from: tap-fixture\n    config:\n      sleep_ms: 1000\n      count: 60\n  mappers:\n",
    );
    let p = TestProject::new(&yml);
    let out = p.run_env(
        &[
            "run",
            "tap-fixture",
            "target-fixture",
            "tap-slow",
            "target-fixture",
            "--timeout",
            "6",
        ],
        &[("TAP_FIXTURE_COUNT", "3")],
    );
    assert_fails(&out, 1, &["timed out after 6 seconds"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("✓ tap-fixture → target-fixture"),
        "the first set ran to the end: {}",
        text(&out)
    );
}

#[test]
fn a_run_id_already_recorded_is_refused_before_its_log_is_touched() {
    let p = TestProject::fixture();
    let id = "0b1c2d3e-0000-4000-8000-00000000abcd";
    let first = p.run(&["run", "tap-fixture", "target-fixture", "--run-id", id]);
    assert!(first.status.success(), "{}", text(&first));
    let log = p.path(&format!(".meltano/logs/run/{id}.log"));
    let before = std::fs::read(&log).expect("the first run wrote its log");
    assert!(!before.is_empty());
    let records = p.output_records().len();

    let again = p.run(&["run", "tap-fixture", "target-fixture", "--run-id", id]);
    assert_fails(&again, 2, &["run ID", id, "already used", "--run-id"]);
    assert_eq!(
        std::fs::read(&log).unwrap(),
        before,
        "the earlier run's log was changed"
    );
    assert_eq!(p.output_records().len(), records, "nothing may run");
    assert!(
        !String::from_utf8_lossy(&again.stdout).contains("FAILED"),
        "no run summary for a run that never started: {}",
        text(&again)
    );
    let db = smelt_systemdb::SystemDb::open(&p.path(".meltano/smelt.db")).unwrap();
    let runs = db.runs(None, 10).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status.as_str(), "success");
}

#[test]
fn a_run_id_whose_log_exists_is_refused_without_an_environment() {
    // Without an environment nothing is recorded in the database, but the log file is there.
    let p = TestProject::fixture();
    let id = "0b1c2d3e-0000-4000-8000-00000000beef";
    let args = [
        "--no-environment",
        "run",
        "tap-fixture",
        "target-fixture",
        "--run-id",
        id,
    ];
    let first = p.run(&args);
    assert!(first.status.success(), "{}", text(&first));
    let again = p.run(&args);
    assert_fails(&again, 2, &["already used", "log"]);
}

#[test]
fn malformed_run_ids_are_usage_errors() {
    let p = TestProject::fixture();
    let long = "a".repeat(100);
    for id in ["", "../../etc/passwd", "x y", long.as_str()] {
        assert_usage_error(
            &p,
            &["run", "tap-fixture", "target-fixture", "--run-id", id],
        );
    }
}

#[test]
fn the_same_extractor_twice_in_one_run_gets_its_own_files() {
    let p = TestProject::fixture();
    let out = p.run(&[
        "run",
        "tap-fixture",
        "target-fixture",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        p.output_records().len(),
        10,
        "the second set resumed from the first's state"
    );
}
