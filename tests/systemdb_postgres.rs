//! `database_uri: postgresql://…`: runs and state in the real PostgreSQL at 127.0.0.1:5432.

mod common;

use common::{assert_fails, psql, text, PgSchema, TestProject, FIXTURE_YML};

#[test]
fn runs_and_state_live_in_postgres() {
    let schema = PgSchema::create();
    let p = TestProject::new(&format!("database_uri: {}\n{FIXTURE_YML}", schema.uri()));
    let out = p.run(&["run", "tap-fixture", "target-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !p.path(".meltano/smelt.db").exists(),
        "SQLite must not be used"
    );
    let state = p
        .state("dev:tap-fixture-to-target-fixture")
        .expect("state in Postgres");
    assert_eq!(
        state["completed"]["singer_state"]["bookmarks"]["numbers"]["last_id"],
        10
    );
    // The rows are really in that schema.
    let done = psql(&format!(
        "SELECT count(*) FROM {}.smelt_runs WHERE status = 'success'",
        schema.0
    ));
    assert_eq!(done, "1");
}

#[test]
fn unreachable_postgres_is_a_clear_error_without_the_password() {
    let p = TestProject::new(&format!(
        "database_uri: postgresql://postgres:hunter2@127.0.0.1:1/test\n{FIXTURE_YML}"
    ));
    let out = p.run(&["run", "tap-fixture", "target-fixture"]);
    assert_fails(&out, 1, &["127.0.0.1:1"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("hunter2"),
        "{}",
        text(&out)
    );
}
