//! The SQLite schema and its migrations, applied in order and recorded in a version table so
//! older databases upgrade in place and newer ones are refused rather than misread.

use rusqlite::{params, Connection, TransactionBehavior};

use crate::schema::{Migrated, SCHEMA_VERSION};

/// Migration `n` (1-based) is `MIGRATIONS[n - 1]`. Append only; never edit a shipped entry.
const MIGRATIONS: &[&str] = &[
    // 1: state and run records.
    "CREATE TABLE state (
         state_id   TEXT PRIMARY KEY NOT NULL,
         completed  TEXT NOT NULL,
         partial    TEXT NOT NULL,
         updated_at TEXT NOT NULL
     );
     CREATE TABLE runs (
         run_id         TEXT PRIMARY KEY NOT NULL,
         state_id       TEXT NOT NULL,
         status         TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed')),
         started_at     TEXT NOT NULL,
         ended_at       TEXT,
         last_heartbeat TEXT NOT NULL,
         pid            INTEGER NOT NULL,
         hostname       TEXT NOT NULL,
         records        TEXT NOT NULL DEFAULT '{}',
         error          TEXT
     );
     CREATE INDEX runs_by_state ON runs (state_id, started_at);
     CREATE INDEX runs_running ON runs (state_id) WHERE status = 'running';",
    // 2: settings stored with `config set --store db`, one row per (namespace, dotted name).
    "CREATE TABLE settings (
         namespace  TEXT NOT NULL,
         name       TEXT NOT NULL,
         value      TEXT NOT NULL,
         updated_at TEXT NOT NULL,
         PRIMARY KEY (namespace, name)
     );",
    // 3: ticks claimed by `smelt schedule serve`, one row per (schedule, tick): the unique key
    // makes exactly one of several serve processes win a tick.
    "CREATE TABLE schedule_ticks (
         schedule   TEXT NOT NULL,
         tick       TEXT NOT NULL,
         claimed_by TEXT NOT NULL,
         claimed_at TEXT NOT NULL,
         status     TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed')),
         attempt    INTEGER NOT NULL DEFAULT 0,
         heartbeat  TEXT NOT NULL,
         ended_at   TEXT,
         PRIMARY KEY (schedule, tick)
     );",
];

// Both engines' migration lists move in lockstep.
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION);

/// Bring the schema up to [`SCHEMA_VERSION`] inside one `BEGIN IMMEDIATE` transaction, so two
/// processes opening a fresh database at once do not both migrate.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<Migrated> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Apply the migrations up to `target` (tests build older databases with it).
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> rusqlite::Result<Migrated> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS smelt_schema_version (
             version    INTEGER PRIMARY KEY NOT NULL,
             applied_at TEXT NOT NULL
         );",
    )?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM smelt_schema_version",
        [],
        |row| row.get(0),
    )?;
    if current > SCHEMA_VERSION {
        return Ok(Migrated::TooNew(current));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= current || version > target {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO smelt_schema_version (version, applied_at) VALUES (?1, ?2)",
            params![version, crate::time::to_db(crate::time::now())],
        )?;
    }
    tx.commit()?;
    Ok(Migrated::UpToDate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Connection {
        match Connection::open_in_memory() {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn migrates_once_and_is_idempotent() {
        let mut conn = memory();
        assert_eq!(migrate(&mut conn).ok(), Some(Migrated::UpToDate));
        assert_eq!(migrate(&mut conn).ok(), Some(Migrated::UpToDate));
        let versions: i64 = conn
            .query_row("SELECT COUNT(*) FROM smelt_schema_version", [], |r| {
                r.get(0)
            })
            .unwrap_or(-1);
        assert_eq!(versions, SCHEMA_VERSION);
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('state', 'runs')",
                [],
                |r| r.get(0),
            )
            .unwrap_or(-1);
        assert_eq!(tables, 2);
    }

    #[test]
    fn newer_schema_is_reported() {
        let mut conn = memory();
        assert!(migrate(&mut conn).is_ok());
        assert!(conn
            .execute(
                "INSERT INTO smelt_schema_version VALUES (?1, 'later')",
                [SCHEMA_VERSION + 1],
            )
            .is_ok());
        assert_eq!(
            migrate(&mut conn).ok(),
            Some(Migrated::TooNew(SCHEMA_VERSION + 1))
        );
    }

    #[test]
    fn status_is_constrained() {
        let mut conn = memory();
        assert!(migrate(&mut conn).is_ok());
        let bad = conn.execute(
            "INSERT INTO runs (run_id, state_id, status, started_at, last_heartbeat, pid, hostname)
             VALUES ('r', 's', 'weird', 't', 't', 1, 'h')",
            [],
        );
        assert!(bad.is_err());
    }
}
