//! Real Singer SDK plugins from PyPI (MeltanoLabs tap-postgres and target-postgres), configured
//! only through `smelt config set` and environment variables, narrowed with `smelt select`,
//! checked with `smelt config test` and `smelt invoke`, then run against PostgreSQL on
//! 127.0.0.1:5432.

mod common;

use common::{psql, pypi_venv, text, PgSchema, TestProject};

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn meltanolabs_postgres_plugins_configured_selected_invoked_and_run() {
    let tap = pypi_venv(
        "venv-meltanolabs-tap-postgres",
        "meltanolabs-tap-postgres==0.10.0",
        "tap-postgres",
    );
    let target = pypi_venv(
        "venv-meltanolabs-target-postgres",
        "meltanolabs-target-postgres==0.8.1",
        "target-postgres",
    );
    let src = PgSchema::create();
    let dst = PgSchema::create();
    psql(&format!(
        "CREATE TABLE {s}.users (id int PRIMARY KEY, name text); \
         INSERT INTO {s}.users SELECT g, 'user' || g FROM generate_series(1, 50) g; \
         CREATE TABLE {s}.orders (id int PRIMARY KEY, amount numeric(10,2)); \
         INSERT INTO {s}.orders SELECT g, g * 1.5 FROM generate_series(1, 20) g;",
        s = src.0
    ));
    let p = TestProject::new(&format!(
        r#"# Settings come only from smelt commands and variables.
default_environment: dev
environments:
- name: dev
plugins:
  extractors:
  - name: tap-postgres
    namespace: tap_postgres
    pip_url: meltanolabs-tap-postgres
    executable: {tap}
    capabilities: [catalog, discover, state, about]
    settings:
    - {{name: host}}
    - {{name: port, kind: integer}}
    - {{name: user}}
    - {{name: password, kind: password}}
    - {{name: database}}
    - {{name: filter_schemas, kind: array}}
  loaders:
  - name: target-postgres
    namespace: target_postgres
    pip_url: meltanolabs-target-postgres
    executable: {target}
    settings:
    - {{name: host}}
    - {{name: port, kind: integer}}
    - {{name: user}}
    - {{name: password, kind: password}}
    - {{name: database}}
    - {{name: default_target_schema}}
"#,
        tap = tap.display(),
        target = target.display()
    ));
    for (name, value) in [
        ("host", "127.0.0.1"),
        ("port", "5432"),
        ("user", "postgres"),
        ("database", "test"),
        ("password", "unused-with-trust-auth"),
    ] {
        ok(&p.run(&["config", "set", "tap-postgres", name, value]));
    }
    ok(&p.run(&[
        "config",
        "set",
        "tap-postgres",
        "filter_schemas",
        &format!("[\"{}\"]", src.0),
    ]));
    ok(&p.run(&[
        "--environment",
        "dev",
        "config",
        "set",
        "target-postgres",
        "default_target_schema",
        &dst.0,
    ]));
    let env = [
        ("TARGET_POSTGRES_HOST", "127.0.0.1"),
        ("TARGET_POSTGRES_PORT", "5432"),
        ("TARGET_POSTGRES_USER", "postgres"),
        ("TARGET_POSTGRES_PASSWORD", "unused-with-trust-auth"),
        ("TARGET_POSTGRES_DATABASE", "test"),
    ];
    let env_text = std::fs::read_to_string(p.path(".env")).unwrap();
    assert_eq!(env_text, "TAP_POSTGRES_PASSWORD='unused-with-trust-auth'\n");

    let listed = ok(&p.run_env(
        &["--environment", "dev", "config", "list", "target-postgres"],
        &env,
    ));
    assert!(
        listed.contains("host [env: TARGET_POSTGRES_HOST] current value: '127.0.0.1' (from the TARGET_POSTGRES_HOST variable in the environment)"),
        "{listed}"
    );
    assert!(
        listed.contains("password [env: TARGET_POSTGRES_PASSWORD] current value: (redacted)"),
        "{listed}"
    );
    assert!(
        listed.contains(&format!(
            "default_target_schema [env: TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA] current value: '{}' (from the active environment in `meltano.yml` at meltano.yml:",
            dst.0
        )),
        "{listed}"
    );

    let about = ok(&p.run(&["invoke", "tap-postgres", "--about", "--format", "json"]));
    let about: serde_json::Value = serde_json::from_str(&about).expect("--about JSON");
    assert_eq!(about["name"], "tap-postgres");

    let users = format!("{}-users", src.0);
    ok(&p.run(&["select", "tap-postgres", &users, "*"]));
    let listing = ok(&p.run(&["select", "tap-postgres", "--list"]));
    assert!(listing.contains(&format!("{users}.name")), "{listing}");
    assert!(!listing.contains("-orders."), "{listing}");

    let tested = ok(&p.run(&["config", "test", "tap-postgres"]));
    assert!(
        tested.contains(&format!(
            "Plugin configuration is valid: tap-postgres emitted a RECORD (stream {users})"
        )),
        "{tested}"
    );

    let run = p.run_env(&["run", "tap-postgres", "target-postgres"], &env);
    let summary = ok(&run);
    assert!(summary.contains("50 records"), "{}", text(&run));
    assert_eq!(psql(&format!("SELECT count(*) FROM {}.users", dst.0)), "50");
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}' AND table_name = 'orders'",
            dst.0
        )),
        "0",
        "orders was not selected"
    );
    assert!(
        !text(&run).contains("unused-with-trust-auth"),
        "a secret reached the output"
    );
    let state = p
        .state("dev:tap-postgres-to-target-postgres")
        .expect("state saved");
    assert!(
        state["completed"]["singer_state"].is_object(),
        "the target's state was saved: {state}"
    );
}
