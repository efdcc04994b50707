//! Block grammar, jobs, command blocks and project-file errors, through the real binary.

mod common;

use common::{text, TestProject, FIXTURE_YML};

fn with_extra(extra: &str) -> TestProject {
    TestProject::new(&format!("{FIXTURE_YML}{extra}"))
}

const UTILITY: &str = r#"  utilities:
  - name: marker
    executable: /bin/sh
    commands:
      hello:
        args: -c "echo hello-from-$MARKER_WHO >> events.log; echo said hello"
      fail:
        args: -c "exit 4"
    env:
      MARKER_WHO: utility
"#;

#[test]
fn job_and_command_block_run_in_sequence() {
    let p = with_extra(&format!(
        "{UTILITY}jobs:\n- name: my-job\n  tasks:\n  - tap-fixture tag-a target-fixture\n  - marker:hello\n"
    ));
    let out = p.run(&["run", "my-job", "marker:hello"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(p.output_records().len(), 10);
    let events = std::fs::read_to_string(p.path("events.log")).unwrap();
    assert_eq!(events, "hello-from-utility\nhello-from-utility\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[marker:hello] said hello"), "{err}");
}

#[test]
fn failing_command_block_stops_the_run_and_skips_the_rest() {
    let p = with_extra(UTILITY);
    let out = p.run(&["run", "marker:fail", "tap-fixture", "target-fixture"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Utility marker:fail failed (exit 4)"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not run"));
    assert!(p.output_records().is_empty());
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing() {
    let p = with_extra(UTILITY);
    let out = p.run(&[
        "run",
        "--dry-run",
        "tap-fixture",
        "tag-a",
        "target-fixture",
        "marker:hello",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1. tap-fixture → tag-a → target-fixture"),
        "{stdout}"
    );
    assert!(stdout.contains("2. marker:hello"), "{stdout}");
    assert!(!p.path("out.jsonl").exists());
    assert!(!p.path("events.log").exists());
}

#[test]
fn block_errors_are_plain_words_and_exit_2() {
    let p = with_extra(UTILITY);
    let cases: &[(&[&str], &str)] = &[
        (
            &["tap-nope", "target-fixture"],
            "block 'tap-nope' not found",
        ),
        (
            &["tap-fixture"],
            "loader missing after extractor 'tap-fixture'",
        ),
        (
            &["tap-fixture", "marker:hello"],
            "loader missing after extractor 'tap-fixture'",
        ),
        (
            &["target-fixture"],
            "loader 'target-fixture' has no extractor before it",
        ),
        (
            &["tag-a", "target-fixture"],
            "mapping 'tag-a' has no extractor before it",
        ),
        (
            &["tap-fixture", "mapper-fixture", "target-fixture"],
            "must be named by one of its mappings",
        ),
        (&["marker:nope"], "plugin 'marker' has no command 'nope'"),
    ];
    for (args, expected) in cases {
        let mut full = vec!["run"];
        full.extend_from_slice(args);
        let out = p.run(&full);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(expected),
            "{args:?}: expected {expected:?} in {err}"
        );
        assert!(err.contains("hint:"), "{args:?}: {err}");
    }
}

#[test]
fn broken_yaml_reports_file_line_and_column() {
    let p = TestProject::new(
        "version: 1\nplugins:\n  extractors:\n  - name: tap-x\n    config: {a: 1\n",
    );
    let out = p.run(&["run", "tap-x", "target-y"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("meltano.yml:"), "{err}");
    let loc = err.split("meltano.yml:").nth(1).unwrap();
    let mut parts = loc.split(':');
    assert!(
        parts.next().unwrap().parse::<u32>().is_ok(),
        "line number in {err}"
    );
    assert!(
        parts.next().unwrap().parse::<u32>().is_ok(),
        "column number in {err}"
    );
}

#[test]
fn unknown_inherit_from_points_at_its_line() {
    let p = TestProject::new(
        "version: 1\nplugins:\n  extractors:\n  - name: tap-a\n    inherit_from: tap-missing\n",
    );
    let out = p.run(&["run", "tap-a", "target-y"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("meltano.yml:5:"), "{err}");
    assert!(err.contains("tap-missing"), "{err}");
}

#[test]
fn project_is_found_from_a_subdirectory_and_with_cwd() {
    let p = TestProject::fixture();
    std::fs::create_dir_all(p.path("sub/dir")).unwrap();
    let mut cmd = p.command(&["run", "--dry-run", "tap-fixture", "target-fixture"]);
    cmd.current_dir(p.path("sub/dir"));
    assert!(cmd.output().unwrap().status.success());
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = p.command(&[
        "--cwd",
        p.dir.path().to_str().unwrap(),
        "run",
        "--dry-run",
        "tap-fixture",
        "target-fixture",
    ]);
    cmd.current_dir(elsewhere.path());
    assert!(cmd.output().unwrap().status.success());
    let mut cmd = p.command(&["run", "--dry-run", "tap-fixture", "target-fixture"]);
    cmd.current_dir(elsewhere.path());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("smelt init"),
        "{}",
        text(&out)
    );
}

#[test]
fn init_scaffolds_a_runnable_project() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("proj");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["init", target.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let yml = std::fs::read_to_string(target.join("meltano.yml")).unwrap();
    assert!(yml.contains("default_environment: dev"), "{yml}");
    assert!(yml.contains("project_id:"), "{yml}");
    for env in ["dev", "staging", "prod"] {
        assert!(yml.contains(&format!("name: {env}")), "{yml}");
    }
    assert!(target.join(".gitignore").exists());
    assert!(target.join(".meltano").is_dir());
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["init", target.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1), "refuses an existing project");
}

#[test]
fn version_and_usage_errors() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smelt"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("smelt "));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_smelt"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
