//! The PostgreSQL schema and its migrations, recorded in `smelt_schema_version` like the
//! SQLite side so older databases upgrade in place and newer ones are refused.

use super::client::{PgCalls, PgClient, PgError};
use super::LOCK_CLASS_SCHEMA;
use crate::schema::{Migrated, SCHEMA_VERSION};
use crate::time::now;

/// Migration `n` (1-based) is `MIGRATIONS[n - 1]`; the same change as SQLite's migration `n`.
/// Append only; never edit a shipped entry.
///
/// State halves, record counts and setting values are TEXT, not JSONB, so documents keep their
/// exact bytes and key order, and unreadable text is reported instead of refused at write time
/// (as on SQLite).
const MIGRATIONS: &[&str] = &[
    // 1: state and run records.
    "CREATE TABLE smelt_state (
         state_id   TEXT PRIMARY KEY,
         completed  TEXT NOT NULL,
         partial    TEXT NOT NULL,
         updated_at TIMESTAMPTZ NOT NULL
     );
     CREATE TABLE smelt_runs (
         seq            BIGINT GENERATED ALWAYS AS IDENTITY,
         run_id         TEXT PRIMARY KEY,
         state_id       TEXT NOT NULL,
         status         TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed')),
         started_at     TIMESTAMPTZ NOT NULL,
         ended_at       TIMESTAMPTZ,
         last_heartbeat TIMESTAMPTZ NOT NULL,
         pid            BIGINT NOT NULL,
         hostname       TEXT NOT NULL,
         records        TEXT NOT NULL DEFAULT '{}',
         error          TEXT
     );
     CREATE INDEX smelt_runs_by_state ON smelt_runs (state_id, started_at);
     CREATE INDEX smelt_runs_running ON smelt_runs (state_id) WHERE status = 'running';",
    // 2: settings stored with `config set --store db`, one row per (namespace, dotted name).
    "CREATE TABLE smelt_settings (
         namespace  TEXT NOT NULL,
         name       TEXT NOT NULL,
         value      TEXT NOT NULL,
         updated_at TIMESTAMPTZ NOT NULL,
         PRIMARY KEY (namespace, name)
     );",
    // 3: ticks claimed by `smelt schedule serve`, one row per (schedule, tick): the unique key
    // makes exactly one of several serve processes win a tick. `tick` is RFC 3339 UTC text
    // (`2026-01-01T00:00:00Z`), which sorts in time order, as on SQLite.
    "CREATE TABLE smelt_schedule_ticks (
         schedule   TEXT NOT NULL,
         tick       TEXT NOT NULL,
         claimed_by TEXT NOT NULL,
         claimed_at TIMESTAMPTZ NOT NULL,
         status     TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed')),
         attempt    BIGINT NOT NULL DEFAULT 0,
         heartbeat  TIMESTAMPTZ NOT NULL,
         ended_at   TIMESTAMPTZ,
         PRIMARY KEY (schedule, tick)
     );",
];

// Both engines' migration lists move in lockstep.
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION);

/// Bring the schema up to [`SCHEMA_VERSION`] in one transaction holding an advisory lock, so
/// processes opening a fresh database at once do not race on `CREATE TABLE`.
pub(crate) fn migrate(client: &mut PgClient) -> Result<Migrated, PgError> {
    migrate_to(client, SCHEMA_VERSION)
}

/// Apply the migrations up to `target` (tests build older databases with it).
pub(crate) fn migrate_to(client: &mut PgClient, target: i64) -> Result<Migrated, PgError> {
    let mut tx = client.transaction()?;
    tx.execute(
        &format!("SELECT pg_advisory_xact_lock({LOCK_CLASS_SCHEMA}, 0)"),
        &[],
    )?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS smelt_schema_version (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL
         );",
    )?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM smelt_schema_version",
            &[],
        )?
        .try_get(0)?;
    if current > SCHEMA_VERSION {
        return Ok(Migrated::TooNew(current));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= current || version > target {
            continue;
        }
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO smelt_schema_version (version, applied_at) VALUES ($1, $2)",
            &[&version, &now()],
        )?;
    }
    tx.commit()?;
    Ok(Migrated::UpToDate)
}
