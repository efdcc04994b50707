//! `smelt config`: listing with provenance, printing, set/unset/reset in every store, both
//! argument orders, and comment-preserving edits of meltano.yml.

mod common;

use common::{assert_fails, text, TestProject};

const COMMENTED_YML: &str = r#"# Our warehouse project.
default_environment: dev
environments:
- name: dev   # local work
- name: prod
plugins:
  extractors:
  # The source database.
  - name: tap-db
    namespace: tap_db
    executable: /bin/true
    settings:
    - name: host
    - name: port
      kind: integer
      value: 5432
    - name: password
      kind: password
    - name: mode
      kind: options
      options:
      - {label: Fast, value: fast}
      - {label: Safe, value: safe}
    - name: auth.token
      sensitive: true
    - name: flags
      kind: object
    config:
      host: db.internal   # the primary
      custom_thing: 1
  - name: tap-db-replica
    inherit_from: tap-db
    config:
      host: replica.internal
  loaders:
  - name: target-x
    executable: /bin/true
elt:
  buffer_size: 2048   # small lines only
"#;

fn project() -> TestProject {
    TestProject::new(COMMENTED_YML)
}

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn list_shows_values_sources_and_variables() {
    let p = project();
    let out = stdout(&p.run_env(
        &["config", "list", "tap-db"],
        &[("TAP_DB_PASSWORD", "hunter2")],
    ));
    assert!(
        out.contains("host [env: TAP_DB_HOST] current value: 'db.internal' (from `meltano.yml` at meltano.yml:"),
        "{out}"
    );
    assert!(
        out.contains("password [env: TAP_DB_PASSWORD] current value: (redacted) (from the TAP_DB_PASSWORD variable in the environment)"),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "secret shown: {out}");
    assert!(out.contains("Custom, possibly unsupported by the plugin:\ncustom_thing [env: TAP_DB_CUSTOM_THING] current value: 1"), "{out}");
    assert!(
        out.contains("Optional settings with default values: 4 hidden. Use --all to show all."),
        "{out}"
    );
    let all = stdout(&p.run(&["config", "list", "tap-db", "--all"]));
    assert!(
        all.contains("port [env: TAP_DB_PORT] current value: 5432 (default)"),
        "{all}"
    );
    let unsafe_ = stdout(&p.run_env(
        &["config", "--unsafe", "list", "tap-db"],
        &[("TAP_DB_PASSWORD", "hunter2")],
    ));
    assert!(unsafe_.contains("current value: 'hunter2'"), "{unsafe_}");
    let filtered = stdout(&p.run(&["config", "list", "tap-db", "--filter", "PORT"]));
    assert!(filtered.contains("port [env"), "{filtered}");
    assert!(!filtered.contains("host [env"), "{filtered}");
}

#[test]
fn inheriting_plugins_read_their_own_variables_and_inherit_the_parents() {
    let p = project();
    std::fs::write(
        p.path(".env"),
        "TAP_DB_HOST=from-dotenv\nTAP_DB_PORT=7777\n",
    )
    .unwrap();
    let out = stdout(&p.run(&["config", "list", "tap-db-replica"]));
    assert!(
        out.contains(
            "host [env: TAP_DB_REPLICA_HOST] current value: 'replica.internal' (from `meltano.yml`"
        ),
        "the parent's .env variable must not override the child's own config: {out}"
    );
    assert!(
        out.contains("port [env: TAP_DB_REPLICA_PORT] (default: 5432) current value: 7777 (inherited from 'tap-db')"),
        "{out}"
    );
}

#[test]
fn meltano_3_order_and_bare_plugin_print_work() {
    let p = project();
    let new = stdout(&p.run(&["config", "print", "tap-db"]));
    let old = stdout(&p.run(&["config", "tap-db", "print"]));
    let bare = stdout(&p.run(&["config", "tap-db"]));
    assert_eq!(new, old);
    assert_eq!(new, bare);
    let v: serde_json::Value = serde_json::from_str(&new).unwrap();
    assert_eq!(v["host"], "db.internal");
    assert_eq!(v["port"], 5432);
    let listed = stdout(&p.run(&["config", "tap-db", "list"]));
    assert!(listed.contains("host [env: TAP_DB_HOST]"), "{listed}");
}

#[test]
fn print_env_format_can_be_evaluated_by_a_shell() {
    let p = project();
    let out = stdout(&p.run_env(
        &["config", "--unsafe", "print", "tap-db", "--format", "env"],
        &[("TAP_DB_PASSWORD", "it's $secret")],
    ));
    assert!(out.contains("TAP_DB_HOST='db.internal'"), "{out}");
    let script = format!("{out}\nprintf '%s' \"$TAP_DB_PASSWORD\"");
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sh.stdout), "it's $secret");
    let masked = stdout(&p.run_env(
        &["config", "print", "tap-db", "--format", "env"],
        &[("TAP_DB_PASSWORD", "it's $secret")],
    ));
    assert!(masked.contains("TAP_DB_PASSWORD='*****'"), "{masked}");
}

#[test]
fn set_keeps_comments_and_everything_outside_the_edit() {
    let p = project();
    let out = stdout(&p.run(&["config", "set", "tap-db", "host", "db2.internal"]));
    assert_eq!(
        out.trim(),
        "Extractor 'tap-db' setting 'host' was set in `meltano.yml`: 'db2.internal'"
    );
    let after = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    assert_eq!(
        after,
        COMMENTED_YML.replace(
            "host: db.internal   # the primary",
            "host: db2.internal   # the primary"
        )
    );
    // Nested names write nested mappings; typed kinds are converted.
    stdout(&p.run(&[
        "config",
        "set",
        "tap-db",
        "auth",
        "token",
        "t0k",
        "--store",
        "meltano_yml",
    ]));
    stdout(&p.run(&["config", "set", "tap-db", "port", "6543"]));
    stdout(&p.run(&["config", "set", "tap-db", "flags", "{\"a\": [1, 2]}"]));
    let printed: serde_json::Value =
        serde_json::from_str(&stdout(&p.run(&["config", "--unsafe", "print", "tap-db"]))).unwrap();
    assert_eq!(printed["auth"]["token"], "t0k");
    assert_eq!(printed["port"], 6543);
    assert_eq!(printed["flags"], serde_json::json!({"a": [1, 2]}));
    let after = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    for comment in [
        "# Our warehouse project.",
        "# local work",
        "# The source database.",
        "# small lines only",
        "# the primary",
    ] {
        assert!(after.contains(comment), "lost {comment}: {after}");
    }
}

#[test]
fn secrets_go_to_dotenv_and_values_are_validated() {
    let p = project();
    let out = stdout(&p.run(&["config", "set", "tap-db", "password", "s3cr3t"]));
    assert_eq!(
        out.trim(),
        "Extractor 'tap-db' setting 'password' was set in `.env`: (redacted)"
    );
    let env = std::fs::read_to_string(p.path(".env")).unwrap();
    assert_eq!(env, "TAP_DB_PASSWORD='s3cr3t'\n");
    let yml = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    assert!(!yml.contains("s3cr3t"));
    assert_fails(
        &p.run(&["config", "set", "tap-db", "port", "many"]),
        2,
        &["'many' is not a valid integer for setting 'port'"],
    );
    assert_fails(
        &p.run(&["config", "set", "tap-db", "mode", "reckless"]),
        2,
        &["not a valid choice for 'mode'", "fast, safe"],
    );
    stdout(&p.run(&["config", "set", "tap-db", "mode", "safe"]));
    // A bad value from a variable names the variable and the expected kind.
    assert_fails(
        &p.run_env(&["config", "list", "tap-db"], &[("TAP_DB_PORT", "x1")]),
        1,
        &["environment variable TAP_DB_PORT", "`port`", "integer"],
    );
}

#[test]
fn environment_blocks_receive_plugin_settings_when_an_environment_is_chosen() {
    let p = project();
    let out = stdout(&p.run(&[
        "--environment",
        "prod",
        "config",
        "set",
        "tap-db",
        "host",
        "prod-db",
    ]));
    assert!(
        out.contains("was set in the active environment in `meltano.yml`"),
        "{out}"
    );
    let prod: serde_json::Value = serde_json::from_str(&stdout(&p.run(&[
        "--environment",
        "prod",
        "config",
        "print",
        "tap-db",
    ])))
    .unwrap();
    assert_eq!(prod["host"], "prod-db");
    // Without --environment, `config` ignores default_environment (as Meltano does).
    let base: serde_json::Value =
        serde_json::from_str(&stdout(&p.run(&["config", "print", "tap-db"]))).unwrap();
    assert_eq!(base["host"], "db.internal");
    let listed = stdout(&p.run(&["--environment", "prod", "config", "list", "tap-db"]));
    assert!(
        listed.contains("current value: 'prod-db' (from the active environment in `meltano.yml` at meltano.yml:"),
        "{listed}"
    );
}

#[test]
fn the_system_database_store_sits_below_meltano_yml() {
    let p = project();
    let out = stdout(&p.run(&["config", "set", "tap-db", "port", "1111", "--store", "db"]));
    assert!(
        out.contains("was set in the system database: 1111"),
        "{out}"
    );
    let listed = stdout(&p.run(&["config", "list", "tap-db"]));
    assert!(
        listed.contains("current value: 1111 (from the system database)"),
        "{listed}"
    );
    stdout(&p.run(&[
        "config",
        "set",
        "tap-db",
        "port",
        "2222",
        "--store",
        "meltano_yml",
    ]));
    let printed: serde_json::Value =
        serde_json::from_str(&stdout(&p.run(&["config", "print", "tap-db"]))).unwrap();
    assert_eq!(
        printed["port"], 2222,
        "meltano.yml wins over the system database"
    );
    let unset = stdout(&p.run(&["config", "unset", "tap-db", "port"]));
    assert!(
        unset.contains("`meltano.yml` and the system database"),
        "{unset}"
    );
    let printed: serde_json::Value =
        serde_json::from_str(&stdout(&p.run(&["config", "print", "tap-db"]))).unwrap();
    assert_eq!(printed["port"], 5432, "back to the default");
}

#[test]
fn project_settings_are_listed_set_and_validated() {
    let p = project();
    let listed = stdout(&p.run(&["config", "list", "meltano"]));
    assert!(
        listed.contains("elt.buffer_size [env: MELTANO_ELT_BUFFER_SIZE] (default: 104857600) current value: 2048 (from `meltano.yml` at meltano.yml:"),
        "{listed}"
    );
    let out = stdout(&p.run(&[
        "config",
        "set",
        "meltano",
        "state_backend.lock_timeout_seconds",
        "30",
    ]));
    assert_eq!(
        out.trim(),
        "Meltano setting 'state_backend.lock_timeout_seconds' was set in `meltano.yml`: 30"
    );
    let yml = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    assert!(
        yml.contains("state_backend:\n  lock_timeout_seconds: 30\n"),
        "{yml}"
    );
    // A bad project setting stops a run before anything starts, naming where it came from.
    assert_fails(
        &p.run_env(
            &["run", "--dry-run", "tap-db", "target-x"],
            &[("MELTANO_ELT_BUFFER_SIZE", "lots")],
        ),
        1,
        &["MELTANO_ELT_BUFFER_SIZE", "elt.buffer_size", "integer"],
    );
    assert_fails(
        &p.run(&[
            "run",
            "--dry-run",
            "--state-strategy",
            "bogus",
            "tap-db",
            "target-x",
        ]),
        2,
        &["bogus"],
    );
}

#[test]
fn reset_clears_every_store_after_confirmation() {
    let p = project();
    stdout(&p.run(&["config", "set", "tap-db", "password", "pw"]));
    stdout(&p.run(&["config", "set", "tap-db", "port", "9", "--store", "db"]));
    assert_fails(&p.run(&["config", "reset", "tap-db"]), 2, &["--force"]);
    stdout(&p.run(&["config", "reset", "tap-db", "--force"]));
    let printed: serde_json::Value =
        serde_json::from_str(&stdout(&p.run(&["config", "--unsafe", "print", "tap-db"]))).unwrap();
    assert_eq!(printed, serde_json::json!({"port": 5432}));
    let env = std::fs::read_to_string(p.path(".env")).unwrap();
    assert!(!env.contains("pw"), "{env}");
}

#[test]
fn unknown_plugins_are_usage_errors_listing_the_names() {
    let p = project();
    assert_fails(
        &p.run(&["config", "list", "tap-nope"]),
        2,
        &["no plugin named 'tap-nope'", "tap-db", "meltano"],
    );
}

#[test]
fn config_test_checks_extractors_and_loaders() {
    let p = TestProject::fixture();
    // A tap that would take a minute after its first record is stopped at that record.
    let started = std::time::Instant::now();
    let out = stdout(&p.run_env(
        &["config", "test", "tap-fixture"],
        &[("TAP_FIXTURE_SLEEP_MS", "60000")],
    ));
    assert!(
        out.contains(
            "Plugin configuration is valid: tap-fixture emitted a RECORD (stream numbers)"
        ),
        "{out}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_fails(
        &p.run_env(
            &["config", "test", "tap-fixture"],
            &[("TAP_FIXTURE_COUNT", "0")],
        ),
        1,
        &[
            "Plugin configuration is invalid",
            "without emitting any RECORD",
        ],
    );
    assert_fails(
        &p.run_env(
            &["config", "test", "tap-fixture"],
            &[("TAP_FIXTURE_COUNT", "lots")],
        ),
        1,
        &["TAP_FIXTURE_COUNT", "integer"],
    );
    let out = stdout(&p.run(&["config", "test", "target-fixture"]));
    assert!(
        out.contains("target-fixture accepted a one-record stream (and acknowledged its state)"),
        "{out}"
    );
    let written = common::read_jsonl(&p.path("out.jsonl"));
    assert_eq!(written.len(), 1);
    assert_eq!(written[0]["id"], 1);
    assert_fails(
        &p.run_env(
            &["config", "test", "target-fixture"],
            &[("TARGET_FIXTURE_CRASH_AFTER", "1")],
        ),
        1,
        &["target-fixture rejected a one-record stream (exit 5)"],
    );
}

#[test]
fn environments_are_added_listed_and_removed_keeping_comments() {
    let p = project();
    let out = stdout(&p.run(&["environment", "add", "staging"]));
    assert_eq!(out.trim(), "Created new environment 'staging'");
    let yml = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    assert!(yml.contains("- name: prod\n- name: staging\n"), "{yml}");
    assert!(yml.contains("- name: dev   # local work"), "{yml}");
    assert_fails(
        &p.run(&["environment", "add", "staging"]),
        1,
        &["already exists"],
    );
    assert_eq!(
        stdout(&p.run(&["environment", "list"])),
        "dev\nprod\nstaging\n"
    );
    let out = stdout(&p.run(&["environment", "remove", "prod"]));
    assert_eq!(out.trim(), "Removed environment 'prod'");
    assert_eq!(stdout(&p.run(&["environment", "list"])), "dev\nstaging\n");
    assert_fails(
        &p.run(&["environment", "remove", "nope"]),
        1,
        &["'nope' was not found", "dev, staging"],
    );
    let yml = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    assert_eq!(
        yml,
        COMMENTED_YML.replace("- name: prod\n", "- name: staging\n"),
        "only the edited entries changed"
    );
}

#[test]
fn command_line_settings_win_and_enumerated_flags_are_checked_when_parsed() {
    let p = project();
    let out = stdout(&p.run_env(
        &[
            "--database-uri",
            "sqlite:///elsewhere.db",
            "config",
            "list",
            "meltano",
            "--filter",
            "database_uri",
        ],
        &[("MELTANO_DATABASE_URI", "sqlite:///from-env.db")],
    ));
    assert!(
        out.contains("database_uri [env: MELTANO_DATABASE_URI] current value: 'sqlite:///elsewhere.db' (from the command line)"),
        "{out}"
    );
    assert_fails(
        &p.run(&["--log-level", "loud", "config", "list", "tap-db"]),
        2,
        &["loud"],
    );
    assert_fails(
        &p.run(&["--log-format", "xml", "config", "list", "tap-db"]),
        2,
        &["xml"],
    );
}
