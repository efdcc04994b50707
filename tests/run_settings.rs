//! How settings shape a run: `--no-state-update` is stateless, the summary's `output:` line
//! appears only for loaders that write files and never shows a setting's secret.

mod common;

use common::{text, TestProject, FIXTURE_YML};

const STATE_ID: &str = "dev:tap-fixture-to-target-fixture";

#[test]
fn no_state_update_neither_reads_nor_writes_state() {
    let p = TestProject::fixture();
    let first = p.run(&["run", "tap-fixture", "target-fixture"]);
    assert!(first.status.success(), "{}", text(&first));
    let out = p.run_env(
        &["run", "--no-state-update", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "12")],
    );
    assert!(out.status.success(), "{}", text(&out));
    // Stateless: the tap started from scratch (12 more records, not 2).
    assert_eq!(p.output_records().len(), 10 + 12);
    let state = p.state(STATE_ID).expect("state kept");
    assert_eq!(
        state["completed"]["singer_state"]["bookmarks"]["numbers"]["last_id"], 10,
        "state untouched: {state}"
    );
}

#[test]
fn summary_names_a_file_destination_but_never_a_database_setting() {
    let yml = FIXTURE_YML.replace(
        "  loaders:\n",
        "  loaders:\n  - name: target-db\n    executable: ./target-db\n    settings:\n    - {name: password, kind: password}\n    config:\n      database: postgresql://loader:s3cret@db.internal/warehouse\n      host: db.internal\n",
    );
    let p = TestProject::new(&yml);
    let script = p.path("target-db");
    std::fs::write(&script, "#!/bin/sh\ncat >/dev/null\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let db = p.run(&["run", "tap-fixture", "target-db"]);
    assert!(db.status.success(), "{}", text(&db));
    let all = text(&db);
    assert!(
        !all.contains("output:"),
        "no files written, no output line: {all}"
    );
    assert!(!all.contains("s3cret"), "secret printed: {all}");
    assert!(!all.contains("db.internal"), "setting value printed: {all}");

    let files = p.run(&["run", "tap-fixture", "target-fixture"]);
    assert!(files.status.success(), "{}", text(&files));
    let shown = String::from_utf8_lossy(&files.stdout);
    assert!(shown.contains("output: "), "{shown}");
    assert!(shown.contains("out.jsonl"), "{shown}");
}

#[test]
fn state_commands_need_no_environment() {
    let p = TestProject::new("default_environment: gone\nplugins: {}\n");
    let out = p.run(&["state", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("continuing without one"),
        "{}",
        text(&out)
    );
    let set = p.run(&[
        "state",
        "set",
        "--force",
        "prod:tap-to-target",
        r#"{"singer_state": {"a": 1}}"#,
    ]);
    assert!(set.status.success(), "{}", text(&set));
    let get = p.run(&["state", "get", "prod:tap-to-target"]);
    assert_eq!(
        String::from_utf8_lossy(&get.stdout).trim(),
        r#"{"singer_state":{"a":1}}"#
    );
    // An environment asked for explicitly must exist.
    let explicit = p.run(&["--environment", "gone", "state", "list"]);
    assert_eq!(explicit.status.code(), Some(1), "{}", text(&explicit));
}

#[test]
fn a_config_too_large_for_environment_variables_names_the_plugin() {
    let big = "x".repeat(300 * 1024);
    let yml = FIXTURE_YML.replace(
        "      count: 10\n",
        &format!("      count: 10\n      blob: {big}\n"),
    );
    let p = TestProject::new(&yml);
    let out = p.run(&["run", "tap-fixture", "target-fixture"]);
    common::assert_fails(
        &out,
        1,
        &[
            "tap-fixture",
            "too large to pass as environment variables",
            "TAP_FIXTURE_BLOB",
        ],
    );
}
