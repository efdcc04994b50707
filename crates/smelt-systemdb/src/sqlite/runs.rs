//! The SQLite runs table.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::SqliteEngine;
use crate::engine::{BeginBody, RunEnd, RunStore, RunTx};
use crate::runs::{RawRun, RunRecord};
use crate::time::{from_db, to_db};
use crate::DbError;

const RUN_COLUMNS: &str =
    "run_id, state_id, status, started_at, ended_at, last_heartbeat, pid, hostname, records, error";

/// Read a row selected with [`RUN_COLUMNS`]; timestamps are stored as RFC 3339 text.
fn raw_run(row: &Row<'_>) -> rusqlite::Result<RawRun> {
    Ok(RawRun {
        run_id: row.get(0)?,
        state_id: row.get(1)?,
        status: row.get(2)?,
        started_at: from_db(&row.get::<_, String>(3)?),
        ended_at: row.get::<_, Option<String>>(4)?.map(|t| from_db(&t)),
        last_heartbeat: from_db(&row.get::<_, String>(5)?),
        pid: row.get(6)?,
        hostname: row.get(7)?,
        records: row.get(8)?,
        error: row.get(9)?,
    })
}

/// A `begin_run` transaction (`BEGIN IMMEDIATE`: the only writer of the whole file).
struct SqliteRunTx<'a> {
    engine: &'a SqliteEngine,
    tx: &'a Transaction<'a>,
}

impl RunTx for SqliteRunTx<'_> {
    fn running_runs(&mut self, state_id: &str) -> Result<Vec<RawRun>, DbError> {
        let err = || self.engine.sql_err("look up running runs");
        let mut stmt = self
            .tx
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE state_id = ?1 AND status = 'running' \
                 ORDER BY started_at DESC, rowid DESC"
            ))
            .map_err(err())?;
        let rows = stmt.query_map([state_id], raw_run).map_err(err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(err())
    }

    fn mark_failed(
        &mut self,
        run_id: &str,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), DbError> {
        self.tx
            .execute(
                "UPDATE runs SET status = 'failed', ended_at = ?2, error = ?3 WHERE run_id = ?1",
                params![run_id, to_db(at), reason],
            )
            .map_err(self.engine.sql_err("mark a dead run failed"))?;
        Ok(())
    }

    fn insert_run(&mut self, run: &RunRecord) -> Result<(), DbError> {
        let inserted = self.tx.execute(
            "INSERT INTO runs (run_id, state_id, status, started_at, last_heartbeat, pid, \
             hostname, records) VALUES (?1, ?2, 'running', ?3, ?3, ?4, ?5, '{}')",
            params![
                run.run_id,
                run.state_id,
                to_db(run.started_at),
                i64::from(run.pid),
                run.hostname
            ],
        );
        match inserted {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(DbError::DuplicateRun {
                    run_id: run.run_id.clone(),
                })
            }
            Err(e) => Err(self.engine.sql_err("record the new run")(e)),
        }
    }
}

impl RunStore for SqliteEngine {
    fn begin_run_tx(
        &self,
        _state_id: &str,
        body: &mut BeginBody<'_>,
    ) -> Result<RunRecord, DbError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql_err("start a transaction"))?;
        let record = body(&mut SqliteRunTx {
            engine: self,
            tx: &tx,
        })?;
        tx.commit().map_err(self.sql_err("record the new run"))?;
        Ok(record)
    }

    fn touch_heartbeat(&self, run_id: &str, at: DateTime<Utc>) -> Result<bool, DbError> {
        let changed = self
            .conn()
            .execute(
                "UPDATE runs SET last_heartbeat = ?2 WHERE run_id = ?1 AND status = 'running'",
                params![run_id, to_db(at)],
            )
            .map_err(self.sql_err("record a heartbeat"))?;
        Ok(changed == 1)
    }

    fn settle_run(&self, end: &RunEnd<'_>) -> Result<bool, DbError> {
        let changed = self
            .conn()
            .execute(
                "UPDATE runs SET status = ?2, ended_at = ?3, last_heartbeat = ?3, records = ?4, \
                 error = ?5 WHERE run_id = ?1",
                params![
                    end.run_id,
                    end.status.as_str(),
                    to_db(end.at),
                    end.records_json,
                    end.error
                ],
            )
            .map_err(self.sql_err("record the end of a run"))?;
        Ok(changed > 0)
    }

    fn list_runs(&self, state_id: Option<&str>, limit: i64) -> Result<Vec<RawRun>, DbError> {
        let conn = self.conn();
        let err = || self.sql_err("list runs");
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR state_id = ?1) \
                 ORDER BY started_at DESC, rowid DESC LIMIT ?2"
            ))
            .map_err(err())?;
        let rows = stmt
            .query_map(params![state_id, limit], raw_run)
            .map_err(err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(err())
    }

    fn find_run(&self, run_id: &str) -> Result<Option<RawRun>, DbError> {
        self.conn()
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?1"),
                [run_id],
                raw_run,
            )
            .optional()
            .map_err(self.sql_err("look up a run"))
    }
}
