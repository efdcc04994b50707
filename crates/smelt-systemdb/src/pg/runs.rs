//! The PostgreSQL runs table.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::client::{PgCalls, PgTx};
use super::{PgEngine, LOCK_CLASS_RUNS};
use crate::engine::{BeginBody, RunEnd, RunStore, RunTx};
use crate::runs::{RawRun, RunRecord};
use crate::DbError;

const RUN_COLUMNS: &str =
    "run_id, state_id, status, started_at, ended_at, last_heartbeat, pid, hostname, records, error";

/// Read a row selected with [`RUN_COLUMNS`].
fn raw_run(row: &Row) -> Result<RawRun, tokio_postgres::Error> {
    Ok(RawRun {
        run_id: row.try_get(0)?,
        state_id: row.try_get(1)?,
        status: row.try_get(2)?,
        started_at: Ok(row.try_get(3)?),
        ended_at: row.try_get::<_, Option<DateTime<Utc>>>(4)?.map(Ok),
        last_heartbeat: Ok(row.try_get(5)?),
        pid: row.try_get(6)?,
        hostname: row.try_get(7)?,
        records: row.try_get(8)?,
        error: row.try_get(9)?,
    })
}

fn raw_runs(rows: &[Row]) -> Result<Vec<RawRun>, tokio_postgres::Error> {
    rows.iter().map(raw_run).collect()
}

/// A `begin_run` transaction, holding the state ID's advisory lock until it ends.
struct PgRunTx<'a, 'c> {
    engine: &'a PgEngine,
    tx: &'a mut PgTx<'c>,
}

impl RunTx for PgRunTx<'_, '_> {
    fn running_runs(&mut self, state_id: &str) -> Result<Vec<RawRun>, DbError> {
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM smelt_runs \
                     WHERE state_id = $1 AND status = 'running' \
                     ORDER BY started_at DESC, seq DESC"
                ),
                &[&state_id],
            )
            .and_then(|rows| Ok(raw_runs(&rows)?))
            .map_err(self.engine.pg_err("look up running runs"))?;
        Ok(rows)
    }

    fn mark_failed(
        &mut self,
        run_id: &str,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), DbError> {
        self.tx
            .execute(
                "UPDATE smelt_runs SET status = 'failed', ended_at = $2, error = $3 \
                 WHERE run_id = $1",
                &[&run_id, &at, &reason],
            )
            .map_err(self.engine.pg_err("mark a dead run failed"))?;
        Ok(())
    }

    // ON CONFLICT DO NOTHING instead of catching the unique violation: an error would abort
    // the whole transaction.
    fn insert_run(&mut self, run: &RunRecord) -> Result<(), DbError> {
        let inserted = self
            .tx
            .execute(
                "INSERT INTO smelt_runs (run_id, state_id, status, started_at, last_heartbeat, \
                 pid, hostname, records) VALUES ($1, $2, 'running', $3, $3, $4, $5, '{}') \
                 ON CONFLICT (run_id) DO NOTHING",
                &[
                    &run.run_id,
                    &run.state_id,
                    &run.started_at,
                    &i64::from(run.pid),
                    &run.hostname,
                ],
            )
            .map_err(self.engine.pg_err("record the new run"))?;
        if inserted == 0 {
            return Err(DbError::DuplicateRun {
                run_id: run.run_id.clone(),
            });
        }
        Ok(())
    }
}

impl RunStore for PgEngine {
    fn begin_run_tx(&self, state_id: &str, body: &mut BeginBody<'_>) -> Result<RunRecord, DbError> {
        let mut client = self.client()?;
        let mut tx = client
            .transaction()
            .map_err(self.pg_err("start a transaction"))?;
        // Every begin_run of this state ID, in any process, queues here until we commit or
        // roll back; READ COMMITTED then shows us the runs the previous holder recorded.
        tx.execute(
            &format!("SELECT pg_advisory_xact_lock({LOCK_CLASS_RUNS}, hashtext($1))"),
            &[&state_id],
        )
        .map_err(self.pg_err("lock the state ID's runs"))?;
        let record = body(&mut PgRunTx {
            engine: self,
            tx: &mut tx,
        })?;
        tx.commit().map_err(self.pg_err("record the new run"))?;
        Ok(record)
    }

    fn touch_heartbeat(&self, run_id: &str, at: DateTime<Utc>) -> Result<bool, DbError> {
        let changed = self
            .client()?
            .execute(
                "UPDATE smelt_runs SET last_heartbeat = $2 \
                 WHERE run_id = $1 AND status = 'running'",
                &[&run_id, &at],
            )
            .map_err(self.pg_err("record a heartbeat"))?;
        Ok(changed == 1)
    }

    fn settle_run(&self, end: &RunEnd<'_>) -> Result<bool, DbError> {
        let changed = self
            .client()?
            .execute(
                "UPDATE smelt_runs SET status = $2, ended_at = $3, last_heartbeat = $3, \
                 records = $4, error = $5 WHERE run_id = $1",
                &[
                    &end.run_id,
                    &end.status.as_str(),
                    &end.at,
                    &end.records_json,
                    &end.error,
                ],
            )
            .map_err(self.pg_err("record the end of a run"))?;
        Ok(changed > 0)
    }

    fn list_runs(&self, state_id: Option<&str>, limit: i64) -> Result<Vec<RawRun>, DbError> {
        self.client()?
            .query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM smelt_runs \
                     WHERE ($1::TEXT IS NULL OR state_id = $1) \
                     ORDER BY started_at DESC, seq DESC LIMIT $2"
                ),
                &[&state_id, &limit],
            )
            .and_then(|rows| Ok(raw_runs(&rows)?))
            .map_err(self.pg_err("list runs"))
    }

    fn find_run(&self, run_id: &str) -> Result<Option<RawRun>, DbError> {
        self.client()?
            .query_opt(
                &format!("SELECT {RUN_COLUMNS} FROM smelt_runs WHERE run_id = $1"),
                &[&run_id],
            )
            .and_then(|row| Ok(row.as_ref().map(raw_run).transpose()?))
            .map_err(self.pg_err("look up a run"))
    }
}
