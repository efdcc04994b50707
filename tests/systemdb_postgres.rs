//! `database_uri: postgresql://…`: runs and state in the real PostgreSQL at 127.0.0.1:5432.

mod common;

use common::{assert_fails, text, TestProject, FIXTURE_YML};

const PG: &str = "postgresql://postgres@127.0.0.1:5432/test";

/// A schema of its own, dropped when the test ends.
struct Schema(String);

impl Schema {
    fn create() -> Schema {
        let name = format!(
            "smelt_it_{}",
            std::process::id() as u64 * 1000 + rand_suffix()
        );
        psql(&format!("CREATE SCHEMA {name}"));
        Schema(name)
    }

    fn uri(&self) -> String {
        format!("{PG}?options=-csearch_path%3D{}", self.0)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        psql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 % 1000)
        .unwrap_or(0)
}

fn psql(sql: &str) {
    let out = std::process::Command::new("psql")
        .args([PG, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql is needed for this test (PostgreSQL client)");
    assert!(
        out.status.success(),
        "PostgreSQL at 127.0.0.1:5432 is not usable; start it with \
         `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`: {}",
        text(&out)
    );
}

#[test]
fn runs_and_state_live_in_postgres() {
    let schema = Schema::create();
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
    let count = std::process::Command::new("psql")
        .args([
            PG,
            "-tA",
            "-c",
            &format!(
                "SELECT count(*) FROM {}.smelt_runs WHERE status = 'success'",
                schema.0
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "1");
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
