//! `smelt job …` and `smelt schedule …` against the real binary: edits keep every other byte of
//! meltano.yml, validation refuses bad input without writing, `list` prints Meltano's text and
//! JSON (compared with Meltano 4.4.1 itself, installed from PyPI by `smelt install` into a venv
//! cached under target/), and `schedule run` runs job and ELT schedules with the schedule's
//! env and state ID.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_fails, text, TestProject, FIXTURE_YML};
use serde_json::{json, Value};

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn yml(p: &TestProject) -> String {
    std::fs::read_to_string(p.path("meltano.yml")).expect("read meltano.yml")
}

/// The fixture project with a comment to keep and one job and schedule already written.
fn project() -> TestProject {
    let extra = "# jobs and schedules\njobs:\n- name: load  # keep me\n  tasks:\n  - tap-fixture target-fixture\nschedules:\n- name: hourly-load\n  interval: '@hourly'\n  job: load\n";
    TestProject::new(&format!("{FIXTURE_YML}{extra}"))
}

#[test]
fn job_add_set_remove_keep_the_rest_of_the_file() {
    let p = project();
    let before = yml(&p);
    let out = ok(p.run(&["job", "add", "two", "--tasks", "tap-fixture target-fixture"]));
    assert_eq!(out, "Added job two: ['tap-fixture target-fixture']\n");
    let out = ok(p.run(&[
        "job",
        "add",
        "three",
        "--tasks",
        r#"["tap-fixture tag-a target-fixture", ["tap-fixture target-fixture"]]"#,
    ]));
    assert_eq!(
        out,
        "Added job three: ['tap-fixture tag-a target-fixture', ['tap-fixture target-fixture']]\n"
    );
    let after_add = yml(&p);
    assert_eq!(
        after_add,
        before.replace(
            "schedules:\n",
            "- name: two\n  tasks:\n  - tap-fixture target-fixture\n- name: three\n  tasks:\n  - tap-fixture tag-a target-fixture\n  - - tap-fixture target-fixture\nschedules:\n"
        )
    );

    // Refused: nothing written, exit 1, Meltano's message.
    assert_fails(
        &p.run(&["job", "add", "two", "--tasks", "tap-fixture target-fixture"]),
        1,
        &["Job 'two' already exists."],
    );
    assert_fails(
        &p.run(&["job", "add", "bad", "--tasks", "tap-nope target-fixture"]),
        1,
        &["Job 'bad' has invalid tasks.", "tap-nope"],
    );
    assert_fails(
        &p.run(&["job", "add", "bad", "--tasks", "{a: 1}"]),
        1,
        &["Job 'bad' has invalid tasks. Failed to validate task schema"],
    );
    assert_fails(
        &p.run(&[
            "job",
            "set",
            "nope",
            "--tasks",
            "tap-fixture target-fixture",
        ]),
        1,
        &["Job 'nope' was not found."],
    );
    assert_eq!(yml(&p), after_add);

    let out = ok(p.run(&[
        "job",
        "set",
        "load",
        "--tasks",
        "[tap-fixture target-fixture, tap-fixture tag-b target-fixture]",
    ]));
    assert_eq!(
        out,
        "Updated job load: ['tap-fixture target-fixture', 'tap-fixture tag-b target-fixture']\n"
    );
    let out = ok(p.run(&["job", "remove", "three"]));
    assert_eq!(out, "Removed job 'three'.\n");
    assert_fails(
        &p.run(&["job", "remove", "three"]),
        1,
        &["Job 'three' was not found."],
    );
    assert_eq!(
        yml(&p),
        before.replace(
            "- name: load  # keep me\n  tasks:\n  - tap-fixture target-fixture\n",
            "- name: load  # keep me\n  tasks:\n  - tap-fixture target-fixture\n  - tap-fixture tag-b target-fixture\n- name: two\n  tasks:\n  - tap-fixture target-fixture\n"
        )
    );
}

#[test]
fn schedule_add_set_remove_and_validation() {
    let p = project();
    let before = yml(&p);
    let out = ok(p.run(&[
        "schedule",
        "add",
        "daily",
        "--job",
        "load",
        "--interval",
        "@daily",
    ]));
    assert_eq!(out, "Scheduled job 'daily' at @daily\n");
    let out = ok(p.run(&[
        "schedule",
        "add",
        "nightly",
        "--extractor",
        "tap-fixture",
        "--loader",
        "target-fixture",
        "--interval",
        "0 2 * * *",
    ]));
    assert_eq!(out, "Scheduled elt 'nightly' at 0 2 * * *\n");
    let added = format!(
        "{before}- name: daily\n  interval: '@daily'\n  job: load\n- name: nightly\n  interval: '0 2 * * *'\n  extractor: tap-fixture\n  loader: target-fixture\n  transform: skip\n"
    );
    assert_eq!(yml(&p), added);

    for (args, code, needle) in [
        (
            &[
                "schedule",
                "add",
                "daily",
                "--job",
                "load",
                "--interval",
                "@daily",
            ][..],
            1,
            "Schedule 'daily' already exists.",
        ),
        (
            &[
                "schedule",
                "add",
                "x",
                "--job",
                "nope",
                "--interval",
                "@daily",
            ][..],
            1,
            "Job 'nope' was not found.",
        ),
        (
            &[
                "schedule",
                "add",
                "x",
                "--job",
                "load",
                "--interval",
                "61 * * * *",
            ][..],
            1,
            "Invalid Cron expression or alias: '61 * * * *'",
        ),
        (
            &[
                "schedule",
                "add",
                "x",
                "--job",
                "load",
                "--extractor",
                "tap-fixture",
                "--interval",
                "@daily",
            ][..],
            1,
            "Cannot mix --job with --extractor/--loader/--transform",
        ),
        (
            &[
                "schedule",
                "add",
                "x",
                "--extractor",
                "tap-fixture",
                "--interval",
                "@daily",
            ][..],
            2,
            "Missing --loader",
        ),
        (
            &["schedule", "set", "daily", "--loader", "target-fixture"][..],
            1,
            "Cannot mix --job with --extractor/--loader/--transform",
        ),
        (
            &["schedule", "set", "nope", "--interval", "@daily"][..],
            1,
            "Schedule 'nope' was not found.",
        ),
        (
            &["schedule", "remove", "nope"][..],
            1,
            "Schedule 'nope' was not found.",
        ),
    ] {
        assert_fails(&p.run(args), code, &[needle]);
    }
    assert_eq!(yml(&p), added, "a refused command wrote meltano.yml");

    // Meltano's `schedule` defaults to `add`.
    let out = ok(p.run(&[
        "schedule",
        "weekly",
        "--job",
        "load",
        "--interval",
        "@weekly",
    ]));
    assert_eq!(out, "Scheduled job 'weekly' at @weekly\n");
    ok(p.run(&["schedule", "remove", "weekly"]));
    assert_eq!(yml(&p), added);

    let out = ok(p.run(&[
        "schedule",
        "set",
        "nightly",
        "--interval",
        "@weekly",
        "--transform",
        "run",
    ]));
    assert_eq!(out, "Updated schedule 'nightly'\n");
    ok(p.run(&["schedule", "remove", "daily"]));
    assert_eq!(
        yml(&p),
        format!("{before}- name: nightly\n  interval: '@weekly'\n  extractor: tap-fixture\n  loader: target-fixture\n  transform: run\n")
    );
}

/// A project whose jobs and schedules cover every shape `list` prints: string tasks, nested
/// task lists, env, presets that have and have no cron expression, all three transforms.
const LIST_YML: &str = r#"default_environment: dev
project_id: 3c0b8f3e-0000-4000-8000-000000000001
environments:
- name: dev
plugins:
  extractors:
  - name: tap-x
    namespace: tap_x
    pip_url: tap-x
  loaders:
  - name: target-y
    namespace: target_y
    pip_url: target-y
  utilities:
  - name: dbt
    namespace: dbt
    commands:
      run: run
jobs:
- name: j1
  tasks:
  - tap-x target-y
- name: j2
  tasks: tap-x target-y
- name: j3
  tasks:
  - [tap-x target-y, dbt:run]
  - tap-x target-y
schedules:
- name: s-elt
  interval: '@daily'
  extractor: tap-x
  loader: target-y
  transform: skip
  start_date: 2020-01-01
- name: s-elt2
  interval: '*/5 * * * *'
  extractor: tap-x
  loader: target-y
  transform: run
  env:
    FOO: bar
    ACCENT: "é"
- name: s-elt3
  interval: '@manual'
  extractor: tap-x
  loader: target-y
  transform: only
- name: s-job
  interval: '@hourly'
  job: j1
- name: s-job2
  interval: '@once'
  job: j3
  env:
    B: "2"
    A: "1"
"#;

/// What Meltano 4.4.1 prints for LIST_YML (`job list`, `schedule list`).
const JOB_LIST_TEXT: &str = "j1: ['tap-x target-y']\nj2: tap-x target-y\nj3: [['tap-x target-y', 'dbt:run'], 'tap-x target-y']\n";
const SCHEDULE_LIST_TEXT: &str = "[@daily] elt s-elt: tap-x → target-y x transforms\n[*/5 * * * *] elt s-elt2: tap-x → target-y → transforms\n[@manual] elt s-elt3: tap-x × target-y → transforms\n[@hourly] job s-job: j1 → ['tap-x target-y']\n[@once] job s-job2: j3 → [['tap-x target-y', 'dbt:run'], 'tap-x target-y']\n";

#[test]
fn list_prints_meltanos_text_and_json() {
    let p = TestProject::new(LIST_YML);
    assert_eq!(ok(p.run(&["job", "list"])), JOB_LIST_TEXT);
    assert_eq!(ok(p.run(&["schedule", "list"])), SCHEDULE_LIST_TEXT);
    assert_eq!(
        ok(p.run(&["job", "list", "j2", "--format", "json"])),
        "{\n  \"job_name\": \"j2\",\n  \"tasks\": \"tap-x target-y\"\n}\n"
    );
    let jobs: Value = serde_json::from_str(&ok(p.run(&["job", "list", "--format", "json"])))
        .expect("job list JSON");
    assert_eq!(
        jobs,
        json!({"jobs": [
            {"job_name": "j1", "tasks": ["tap-x target-y"]},
            {"job_name": "j2", "tasks": "tap-x target-y"},
            {"job_name": "j3", "tasks": [["tap-x target-y", "dbt:run"], "tap-x target-y"]},
        ]})
    );
    let raw = ok(p.run(&["schedule", "list", "--format", "json"]));
    // Python's json.dumps escapes non-ASCII text.
    assert!(raw.contains("\"ACCENT\": \"\\u00e9\""), "{raw}");
    let schedules: Value = serde_json::from_str(&raw).expect("schedule list JSON");
    let elt2 = &schedules["schedules"]["elt"][1];
    assert_eq!(elt2["cron_interval"], "*/5 * * * *");
    assert_eq!(
        elt2["elt_args"],
        json!(["tap-x", "target-y", "--transform=run", "--state-id=s-elt2"])
    );
    let keys: Vec<&String> = elt2
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "name",
            "extractor",
            "loader",
            "transform",
            "interval",
            "env",
            "cron_interval",
            "last_successful_run_ended_at",
            "elt_args"
        ]
    );
    let job2 = &schedules["schedules"]["job"][1];
    assert_eq!(job2["cron_interval"], Value::Null);
    let env_keys: Vec<&String> = job2["env"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(env_keys, ["B", "A"], "env keeps the order it is written in");
    assert_fails(
        &p.run(&["job", "list", "nope"]),
        1,
        &["Job 'nope' does not exist."],
    );
}

#[test]
fn schedule_run_runs_a_job_schedule_with_its_env_and_extra_args() {
    let p = TestProject::new(&format!(
        "{FIXTURE_YML}jobs:\n- name: load\n  tasks:\n  - tap-fixture target-fixture\nschedules:\n- name: hourly-load\n  interval: '@hourly'\n  job: load\n  env:\n    TAP_FIXTURE_COUNT: '3'\n"
    ));
    // Extra arguments go to `run` before the job name.
    let out = ok(p.run(&["schedule", "run", "hourly-load", "--dry-run"]));
    assert!(out.contains("Dry run"), "{out}");
    assert!(p.output_records().is_empty());

    let out = p.run(&["schedule", "run", "hourly-load"]);
    assert!(out.status.success(), "{}", text(&out));
    let records = p.output_records();
    assert_eq!(
        records.len(),
        3,
        "the schedule's env set the count: {}",
        text(&out)
    );
    assert!(
        p.state("dev:tap-fixture-to-target-fixture").is_some(),
        "state saved under run's state ID: {}",
        text(&out)
    );
}

#[test]
fn schedule_run_runs_an_elt_schedule_under_its_own_state_id() {
    let p = TestProject::new(&format!(
        "{FIXTURE_YML}schedules:\n- name: nightly\n  interval: '@daily'\n  extractor: tap-fixture\n  loader: target-fixture\n  transform: skip\n"
    ));
    let listed: Value =
        serde_json::from_str(&ok(p.run(&["schedule", "list", "--format", "json"]))).expect("JSON");
    assert_eq!(
        listed["schedules"]["elt"][0]["last_successful_run_ended_at"],
        Value::Null
    );
    let out = p.run(&["schedule", "run", "nightly"]);
    assert!(out.status.success(), "{}", text(&out));
    let records = p.output_records().len();
    assert_eq!(records, 10, "{}", text(&out));
    assert!(
        p.state("nightly").is_some(),
        "state ID is the schedule name: {}",
        text(&out)
    );

    let listed: Value =
        serde_json::from_str(&ok(p.run(&["schedule", "list", "--format", "json"]))).expect("JSON");
    let ended = listed["schedules"]["elt"][0]["last_successful_run_ended_at"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Python's isoformat() of a naive timestamp: no zone, microseconds when non-zero.
    assert!(
        ended.len() >= 19
            && ended.as_bytes()[10] == b'T'
            && !ended.ends_with('Z')
            && !ended.contains('+'),
        "{ended:?}"
    );

    assert_fails(
        &p.run(&["schedule", "run", "nope"]),
        1,
        &["Schedule 'nope' was not found."],
    );
}

#[test]
fn install_schedule_installs_only_what_the_schedule_runs() {
    let p = TestProject::new(&format!(
        "{FIXTURE_YML}jobs:\n- name: load\n  tasks:\n  - tap-fixture target-fixture\nschedules:\n- name: hourly-load\n  interval: '@hourly'\n  job: load\n- name: nightly\n  interval: '@daily'\n  extractor: tap-fixture\n  loader: target-fixture\n  transform: skip\n"
    ));
    for name in ["hourly-load", "nightly"] {
        let out = p.run(&["install", "--schedule", name]);
        assert!(out.status.success(), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Installing 2 plugins"), "{}", text(&out));
    }
    let out = p.run(&[
        "install",
        "--schedule",
        "nightly",
        "--plugin-type",
        "loaders",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Installing 1 plugins"),
        "{}",
        text(&out)
    );
    assert_fails(
        &p.run(&["install", "--schedule", "nope"]),
        1,
        &["Schedule 'nope' was not found."],
    );
}

/// Meltano 4.4.1 from PyPI, installed by `smelt install` into a helper project under target/
/// (reused by later runs; a file lock serialises test binaries running at once).
fn meltano_reference() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("meltano-ref");
    std::fs::create_dir_all(&root).expect("create meltano-ref");
    let lock = std::fs::File::create(root.join(".lock")).expect("create lock file");
    lock.lock().expect("lock meltano-ref");
    std::fs::write(
        root.join("meltano.yml"),
        "project_id: meltano-reference\nplugins:\n  utilities:\n  - name: meltano\n    namespace: meltano_ref\n    pip_url: meltano==4.4.1\n    executable: meltano\n",
    )
    .expect("write meltano-ref/meltano.yml");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["install"])
        .current_dir(&root)
        .env("SMELT_CACHE_DIR", tmp.join("smelt-cache"))
        .env("UV_CACHE_DIR", tmp.join("uv-cache"))
        .output()
        .expect("run smelt install");
    assert!(
        out.status.success(),
        "smelt install of meltano==4.4.1 failed (is PyPI reachable?): {}",
        text(&out)
    );
    root.join(".meltano/utilities/meltano/venv/bin/meltano")
}

fn meltano(program: &Path, p: &TestProject, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(p.dir.path())
        .env("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
        .env("MELTANO_DISABLE_TRACKING", "true")
        .env_remove("MELTANO_ENVIRONMENT")
        .output()
        .expect("run meltano");
    assert!(out.status.success(), "meltano {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn list_output_matches_meltano_4() {
    let program = meltano_reference();
    let p = TestProject::new(LIST_YML);
    let commands = [
        &["job", "list", "--format", "json"][..],
        &["job", "list", "j3", "--format", "json"][..],
        &["schedule", "list", "--format", "json"][..],
        &["job", "list"][..],
        &["job", "list", "j2"][..],
        &["schedule", "list"][..],
    ];
    // Meltano takes seconds to start: ask it everything at once (the listings only read).
    let all_theirs = meltano_all(&program, &p, &commands);
    for (args, theirs) in commands.into_iter().zip(all_theirs) {
        let ours = ok(p.run(args));
        if args.contains(&"json") {
            let parse = |s: &str| {
                serde_json::from_str::<Value>(s).unwrap_or_else(|e| panic!("{args:?}: {e}: {s}"))
            };
            assert_eq!(parse(&ours), parse(&theirs), "{args:?}");
        }
        assert_eq!(ours, theirs, "{args:?}: byte for byte");
    }
    // After smelt edits the project, Meltano reads the same jobs and schedules back.
    ok(p.run(&["job", "add", "j4", "--tasks", "[tap-x target-y, dbt:run]"]));
    ok(p.run(&[
        "schedule",
        "add",
        "s-new",
        "--job",
        "j4",
        "--interval",
        "0 3 * * 1-5",
    ]));
    ok(p.run(&[
        "schedule",
        "set",
        "s-elt",
        "--interval",
        "@weekly",
        "--transform",
        "run",
    ]));
    ok(p.run(&["schedule", "remove", "s-elt3"]));
    let after = [
        &["job", "list", "--format", "json"][..],
        &["schedule", "list", "--format", "json"][..],
    ];
    for (args, theirs) in after.into_iter().zip(meltano_all(&program, &p, &after)) {
        assert_eq!(ok(p.run(args)), theirs, "{args:?} after edits");
    }
}

/// Meltano's stdout for each of `commands`: the first alone (it may create Meltano's system
/// database), the rest concurrently.
fn meltano_all(program: &Path, p: &TestProject, commands: &[&[&str]]) -> Vec<String> {
    let Some((first, rest)) = commands.split_first() else {
        return Vec::new();
    };
    let mut out = vec![meltano(program, p, first)];
    std::thread::scope(|s| {
        let handles: Vec<_> = rest
            .iter()
            .map(|args| s.spawn(move || meltano(program, p, args)))
            .collect();
        for h in handles {
            out.push(
                h.join()
                    .unwrap_or_else(|_| panic!("a Meltano call panicked")),
            );
        }
    });
    out
}
