//! `smelt invoke` and `smelt el`/`elt` end to end, with the fixture plugins and the native
//! tap-csv / target-jsonl of the quickstart.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::{
    alive, assert_fails, quickstart, read_jsonl, text, wait_for_file, TestProject, FIXTURE_YML,
};

const RUN_STATE_ID: &str = "dev:tap-fixture-to-target-fixture";

/// The fixture pipeline plus a utility with commands and a secret setting on the tap.
fn project() -> TestProject {
    let yml = FIXTURE_YML
        .replace(
            "    - {name: env_dump}\n",
            "    - {name: env_dump}\n    - {name: password, kind: password}\n",
        )
        .replace(
            "      count: 10\n",
            "      count: 10\n      password: hunter2\n",
        )
        + r#"  utilities:
  - name: util-fixture
    executable: {FIXTURES}/util-fixture
    settings:
    - {name: exit_code, kind: integer}
    - {name: who}
    config:
      who: big world
    commands:
      greet:
        args: hello $UTIL_FIXTURE_WHO
        description: greets someone
      broken: echo $SMELT_TEST_UNSET_VARIABLE
"#;
    TestProject::new(&yml)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ids(records: &[serde_json::Value]) -> Vec<i64> {
    records.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

/// Runs smelt with `input` on stdin.
fn run_with_stdin(p: &TestProject, args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = p
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn util_output(out: &std::process::Output) -> serde_json::Value {
    let first = stdout(out).lines().next().unwrap_or_default().to_string();
    serde_json::from_str(&first).unwrap_or_else(|_| panic!("JSON line expected: {}", text(out)))
}

fn no_run_dirs_left(p: &TestProject) {
    let leftovers: Vec<_> = std::fs::read_dir(p.path(".meltano/run"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "run dir left behind: {leftovers:?}");
}

#[test]
fn invoke_passes_stdio_through_and_returns_the_exit_code() {
    let p = project();
    let out = run_with_stdin(
        &p,
        &["invoke", "util-fixture", "--flag", "x"],
        b"ping\npong\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let got = util_output(&out);
    assert_eq!(got["stdin"], "ping\npong\n");
    assert_eq!(
        got["args"],
        serde_json::json!(["--flag", "x"]),
        "no --config for utilities"
    );
    assert_eq!(got["env"]["UTIL_FIXTURE_WHO"], "big world");
    assert_eq!(got["env"]["MELTANO_UTILITY_NAME"], "util-fixture");
    assert_eq!(
        stdout(&out).lines().count(),
        1,
        "smelt adds nothing to stdout"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "util-fixture says hi",
        "stderr passes through untouched"
    );

    let out = p.run_env(
        &["invoke", "util-fixture"],
        &[("UTIL_FIXTURE_EXIT_CODE", "3")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn invoke_extractor_gets_config_but_never_state() {
    let p = project();
    assert!(p
        .run(&["run", "tap-fixture", "target-fixture"])
        .status
        .success());
    let dump = p.path("env.json");
    let out = p.run_env(
        &["invoke", "tap-fixture"],
        &[("TAP_FIXTURE_ENV_DUMP", dump.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records = lines.iter().filter(|m| m["type"] == "RECORD").count();
    assert_eq!(records, 10, "all ten records: stored state is not passed");
    let args: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dump.with_extension("json.args")).unwrap())
            .unwrap();
    assert_eq!(args.len(), 2, "{args:?}");
    assert_eq!(args[0], "--config");
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dump).unwrap()).unwrap();
    assert_eq!(env["MELTANO_EXTRACTOR_NAME"], "tap-fixture");
    no_run_dirs_left(&p);

    // Arguments after the plugin name go to the plugin, flags of smelt's included.
    let out = p.run_env(
        &["invoke", "tap-fixture", "--about", "--dump", "config"],
        &[("TAP_FIXTURE_ENV_DUMP", dump.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out));
    let args: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dump.with_extension("json.args")).unwrap())
            .unwrap();
    assert_eq!(&args[2..], ["--about", "--dump", "config"]);
}

#[test]
fn dump_config_prints_the_config_file_secrets_only_with_unsafe() {
    let p = project();
    let out = p.run(&["invoke", "--dump", "config", "tap-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stdout(&out),
        "{\n  \"count\": 10,\n  \"state_every\": 5,\n  \"password\": \"(redacted)\"\n}\n"
    );
    let out = p.run(&["invoke", "--unsafe", "--dump", "config", "tap-fixture"]);
    assert_eq!(
        stdout(&out),
        "{\n  \"count\": 10,\n  \"state_every\": 5,\n  \"password\": \"hunter2\"\n}\n"
    );
    let out = p.run_env(
        &["invoke", "--dump", "config", "tap-fixture"],
        &[("TAP_FIXTURE_COUNT", "4")],
    );
    assert!(stdout(&out).contains("\"count\": 4"), "{}", text(&out));
    no_run_dirs_left(&p);
}

#[test]
fn print_var_prints_what_the_plugin_sees_then_runs_it() {
    let p = project();
    let out = p.run_env(
        &[
            "invoke",
            "--print-var",
            "UTIL_FIXTURE_WHO",
            "--print-var",
            "MELTANO_UTILITY_NAME",
            "--print-var",
            "SMELT_TEST_UNSET_VARIABLE",
            "--print-var",
            "FROM_SHELL",
            "util-fixture",
        ],
        &[("FROM_SHELL", "yes")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let text_out = stdout(&out);
    let lines: Vec<&str> = text_out.lines().collect();
    assert_eq!(
        &lines[..4],
        [
            "UTIL_FIXTURE_WHO=big world",
            "MELTANO_UTILITY_NAME=util-fixture",
            "SMELT_TEST_UNSET_VARIABLE=",
            "FROM_SHELL=yes"
        ]
    );
    assert!(
        lines[4].contains("\"args\""),
        "the plugin ran after: {text_out}"
    );

    // Before a dump too, as in Meltano.
    let out = p.run(&[
        "invoke",
        "--print-var",
        "TAP_FIXTURE_COUNT",
        "--dump",
        "config",
        "tap-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).starts_with("TAP_FIXTURE_COUNT=10\n{\n  \"count\": 10,"),
        "{}",
        text(&out)
    );
}

#[test]
fn commands_get_their_expanded_args_then_the_extra_ones() {
    let p = project();
    let out = p.run(&["invoke", "util-fixture:greet", "--loud"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        util_output(&out)["args"],
        serde_json::json!(["hello", "big world", "--loud"])
    );

    let out = p.run(&["invoke", "util-fixture:nope"]);
    assert_fails(
        &out,
        2,
        &["command 'nope' could not be found", "broken, greet"],
    );
    let out = p.run(&["invoke", "util-fixture:broken"]);
    assert_fails(&out, 1, &["$SMELT_TEST_UNSET_VARIABLE"]);

    let out = p.run(&["invoke", "--list-commands", "util-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stdout(&out),
        "util-fixture:broken\nutil-fixture:greet   greets someone\n"
    );
    let out = p.run(&["invoke", "--list-commands", "tap-fixture"]);
    assert_eq!(
        stdout(&out),
        "Plugin 'tap-fixture' does not define any commands.\n"
    );
}

#[test]
fn invoke_rejects_what_it_cannot_do() {
    let p = project();
    assert_fails(
        &p.run(&["invoke", "--containers", "util-fixture"]),
        2,
        &["--containers is not supported"],
    );
    assert_fails(
        &p.run(&["invoke", "--install", "--no-install", "util-fixture"]),
        2,
        &["--no-install"],
    );
    // Nothing to install (no pip_url) and --only-install: exit 0 without running the plugin.
    let only = p.run(&["invoke", "--only-install", "util-fixture"]);
    assert_eq!(only.status.code(), Some(0), "{}", text(&only));
    assert_eq!(stdout(&only), "");
    assert_fails(
        &p.run(&["invoke", "nope"]),
        1,
        &["plugin 'nope' is not in this project"],
    );
    assert_fails(
        &p.run(&["invoke", "--plugin-type", "loader", "tap-fixture"]),
        1,
        &["loader plugin 'tap-fixture'", "target-fixture"],
    );
    assert!(p
        .run(&[
            "invoke",
            "--plugin-type",
            "extractors",
            "--dump",
            "config",
            "tap-fixture"
        ])
        .status
        .success());
    assert_fails(
        &p.run(&["invoke", "--dump", "catalog", "tap-fixture"]),
        1,
        &[
            "could not find a catalog for extractor tap-fixture",
            "capability",
        ],
    );
}

fn signal_test(signal: i32, expected: i32) {
    let p = project();
    let pid_file = p.path("util.pid");
    let child = p.spawn_env(
        &["invoke", "util-fixture"],
        &[
            ("UTIL_FIXTURE_SLEEP", "60"),
            ("UTIL_FIXTURE_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    assert!(wait_for_file(&pid_file, 20), "plugin never started");
    std::thread::sleep(Duration::from_millis(200));
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(expected), "{}", text(&out));
    let pids: Vec<i32> = std::fs::read_to_string(&pid_file)
        .unwrap()
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    for pid in pids {
        assert!(!alive(pid), "process {pid} outlived smelt");
    }
    no_run_dirs_left(&p);
}

#[test]
fn sigterm_reaches_the_plugin_and_its_children_and_exits_143() {
    signal_test(libc::SIGTERM, 143);
}

#[test]
fn sigint_reaches_the_plugin_and_exits_130() {
    signal_test(libc::SIGINT, 130);
}

#[test]
fn native_plugins_can_be_invoked() {
    let p = quickstart();
    let out = p.run(&["invoke", "tap-csv"]);
    assert!(out.status.success(), "{}", text(&out));
    let messages: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records = |s: &str| {
        messages
            .iter()
            .filter(|m| m["type"] == "RECORD" && m["stream"] == s)
            .count()
    };
    assert_eq!((records("customers"), records("orders")), (5, 6));

    let out = p.run(&["invoke", "--dump", "catalog", "tap-csv"]);
    assert!(out.status.success(), "{}", text(&out));
    let catalog: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(catalog["streams"].as_array().unwrap().len(), 2);

    // A loader reads its stdin: feed it the tap's output.
    let out = run_with_stdin(
        &p,
        &["invoke", "--plugin-type", "loader", "target-jsonl"],
        &p.run(&["invoke", "tap-csv"]).stdout,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(read_jsonl(&p.path("output/customers.jsonl")).len(), 5);
}

#[test]
fn el_with_state_id_saves_and_resumes() {
    let p = project();
    let out = p.run(&[
        "el",
        "--state-id",
        "my-pipeline",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let state = p
        .state("my-pipeline")
        .expect("state saved under the given ID");
    assert_eq!(
        state["completed"]["singer_state"]["bookmarks"]["numbers"]["last_id"],
        10
    );
    assert!(stdout(&out).contains("my-pipeline"), "{}", text(&out));
    let out = p.run_env(
        &[
            "el",
            "--state-id",
            "my-pipeline",
            "tap-fixture",
            "target-fixture",
        ],
        &[("TAP_FIXTURE_COUNT", "13")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(ids(&p.output_records()), (1..=13).collect::<Vec<_>>());
    // MELTANO_STATE_ID works like --state-id.
    let out = p.run_env(
        &["el", "tap-fixture", "target-fixture"],
        &[("MELTANO_STATE_ID", "from-env")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(p.state("from-env").is_some());
}

#[test]
fn el_without_state_id_uses_an_ephemeral_one_like_meltano() {
    let p = project();
    let out = p.run(&["el", "tap-fixture", "target-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ephemeral state ID"),
        "{}",
        text(&out)
    );
    let list = stdout(&p.run(&["state", "list"]));
    let id = list.trim();
    assert!(id.ends_with("--tap-fixture--target-fixture"), "{list}");
    assert_eq!(
        id.len(),
        "2026-01-02T030405--tap-fixture--target-fixture".len()
    );
}

#[test]
fn el_and_run_share_state_ids() {
    let p = project();
    let out = p.run(&[
        "el",
        "--state-id",
        RUN_STATE_ID,
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "12")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(ids(&p.output_records()), (1..=12).collect::<Vec<_>>());
    let out = p.run_env(
        &[
            "el",
            "--state-id",
            RUN_STATE_ID,
            "tap-fixture",
            "target-fixture",
        ],
        &[("TAP_FIXTURE_COUNT", "14")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(ids(&p.output_records()), (1..=14).collect::<Vec<_>>());
}

#[test]
fn el_state_file_replaces_stored_state_and_dump_state_shows_it() {
    let p = project();
    std::fs::write(
        p.path("start.json"),
        r#"{"bookmarks": {"numbers": {"last_id": 7}}}"#,
    )
    .unwrap();
    let out = p.run(&[
        "el",
        "--dump",
        "state",
        "--state-id",
        "s",
        "--state",
        "start.json",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stdout(&out),
        "{\"bookmarks\": {\"numbers\": {\"last_id\": 7}}}\n"
    );

    let out = p.run(&[
        "el",
        "--state-id",
        "s",
        "--state",
        "start.json",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(ids(&p.output_records()), [8, 9, 10]);

    let out = p.run(&[
        "el",
        "--dump",
        "state",
        "--state-id",
        "s",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stdout(&out),
        "{\n  \"bookmarks\": {\n    \"numbers\": {\n      \"last_id\": 10\n    }\n  }\n}\n"
    );
    assert_fails(
        &p.run(&[
            "el",
            "--dump",
            "state",
            "--state-id",
            "none-yet",
            "tap-fixture",
            "target-fixture",
        ]),
        1,
        &["could not find state", "none-yet"],
    );
    assert_fails(
        &p.run(&[
            "el",
            "--state-id",
            "s",
            "--state",
            "missing.json",
            "tap-fixture",
            "target-fixture",
        ]),
        1,
        &["missing.json"],
    );
}

#[test]
fn el_dumps_configs_and_dry_runs_nothing() {
    let p = project();
    let out = p.run(&[
        "el",
        "--dump",
        "loader-config",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stdout(&out), "{\n  \"path\": \"out.jsonl\"\n}\n");
    let out = p.run(&[
        "el",
        "--dump",
        "extractor-config",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(
        stdout(&out).contains("\"password\": \"(redacted)\""),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("hunter2"), "{}", text(&out));
    let out = p.run(&[
        "el",
        "--unsafe",
        "--dump",
        "extractor-config",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(
        stdout(&out).contains("\"password\": \"hunter2\""),
        "{}",
        text(&out)
    );

    let out = p.run(&[
        "el",
        "--dry",
        "--state-id",
        "x",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains("extractor: tap-fixture at"),
        "{}",
        text(&out)
    );
    assert!(!p.path("out.jsonl").exists());
    assert!(p.state("x").is_none());
    no_run_dirs_left(&p);
}

#[test]
fn el_select_and_exclude_narrow_the_catalog() {
    let p = quickstart();
    let out = p.run(&[
        "el",
        "--state-id",
        "a",
        "--select",
        "customers",
        "tap-csv",
        "target-jsonl",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(read_jsonl(&p.path("output/customers.jsonl")).len(), 5);
    assert!(!p.path("output/orders.jsonl").exists());

    let out = p.run(&[
        "el",
        "--state-id",
        "b",
        "--exclude",
        "customers",
        "tap-csv",
        "target-jsonl",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(read_jsonl(&p.path("output/orders.jsonl")).len(), 6);
    assert_eq!(
        read_jsonl(&p.path("output/customers.jsonl")).len(),
        5,
        "not extracted again"
    );

    // A dumped catalog round-trips through --catalog.
    let out = p.run(&[
        "el",
        "--dump",
        "catalog",
        "-s",
        "orders",
        "tap-csv",
        "target-jsonl",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(p.path("orders-only.json"), &out.stdout).unwrap();
    std::fs::remove_dir_all(p.path("output")).unwrap();
    let out = p.run(&[
        "el",
        "--state-id",
        "c",
        "--catalog",
        "orders-only.json",
        "tap-csv",
        "target-jsonl",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(read_jsonl(&p.path("output/orders.jsonl")).len(), 6);
    assert!(!p.path("output/customers.jsonl").exists());
}

#[test]
fn el_without_environment_still_uses_the_given_state_id() {
    let p = project();
    let out = p.run(&[
        "--no-environment",
        "el",
        "--state-id",
        "plain",
        "tap-fixture",
        "target-fixture",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(p.state("plain").is_some());
}

#[test]
fn elt_is_el_and_refuses_transforms() {
    let p = project();
    let out = p.run(&["elt", "--state-id", "e", "tap-fixture", "target-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("deprecated"));
    assert_eq!(p.output_records().len(), 10);
    assert_fails(
        &p.run(&["elt", "--transform", "run", "tap-fixture", "target-fixture"]),
        2,
        &["--transform run", "dbt:run"],
    );
    assert_fails(
        &p.run(&["el", "target-fixture", "tap-fixture"]),
        2,
        &["extractor plugin 'target-fixture'"],
    );
}

#[test]
fn run_command_blocks_get_the_same_words_as_invoke() {
    let p = project();
    let out = p.run(&["run", "util-fixture:greet"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(r#"{"args": ["hello", "big world"]"#),
        "a value with a space stays one argument: {}",
        text(&out)
    );
    assert_fails(
        &p.run(&["run", "util-fixture:broken"]),
        1,
        &["$SMELT_TEST_UNSET_VARIABLE"],
    );
}
