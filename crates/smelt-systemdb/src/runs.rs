//! Run records: one row per `smelt run` of a pipeline, used to refuse double runs, detect
//! crashed runs, and show run history.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::engine::{RunEnd, RunTx};
use crate::process::pid_alive;
use crate::time::{now, to_db};
use crate::{DbError, SystemDb};

/// A running run whose last heartbeat is older than this is considered dead (Meltano's
/// `HEARTBEAT_VALID_MINUTES`).
pub const STALE_AFTER: Duration = Duration::from_secs(5 * 60);

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Started and not yet finished.
    Running,
    /// Finished with every process exiting 0.
    Success,
    /// Finished with an error, was interrupted, or was found dead.
    Failed,
}

impl RunStatus {
    /// The text stored in the database: `running`, `success` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Success => "success",
            RunStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "running" => Ok(RunStatus::Running),
            "success" => Ok(RunStatus::Success),
            "failed" => Ok(RunStatus::Failed),
            other => Err(format!(
                "unknown run status {other:?} (expected running, success or failed)"
            )),
        }
    }
}

/// What the runtime knows when a run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// The pipeline's state ID.
    pub state_id: String,
    /// A fresh unique ID for this run (a UUID string).
    pub run_id: String,
    /// Start even if another run of the same state ID is in progress (`--force`).
    pub force: bool,
    /// This process's ID.
    pub pid: u32,
    /// This machine's host name ([`crate::local_hostname`]).
    pub hostname: String,
}

/// One run as recorded in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// Unique run ID.
    pub run_id: String,
    /// The pipeline's state ID.
    pub state_id: String,
    /// Current status.
    pub status: RunStatus,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When it finished (or was found dead); `None` while running.
    pub ended_at: Option<DateTime<Utc>>,
    /// Last sign of life.
    pub last_heartbeat: DateTime<Utc>,
    /// Process ID of the smelt process running it.
    pub pid: u32,
    /// Machine it ran on.
    pub hostname: String,
    /// Records relayed per stream.
    pub records: BTreeMap<String, u64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// A run row as an engine read it, before its values are checked: timestamps that could not be
/// read carry the reason (`Err`), so [`SystemDb`] reports them as [`DbError::Corrupt`] the same
/// way for every engine.
#[derive(Debug, Clone)]
pub(crate) struct RawRun {
    /// Unique run ID.
    pub run_id: String,
    /// The pipeline's state ID.
    pub state_id: String,
    /// Status text, checked by [`RunStatus::from_str`].
    pub status: String,
    /// Start time.
    pub started_at: RawTime,
    /// End time, if set.
    pub ended_at: Option<RawTime>,
    /// Last heartbeat.
    pub last_heartbeat: RawTime,
    /// Process ID as stored (checked to fit a `u32`).
    pub pid: i64,
    /// Machine the run started on.
    pub hostname: String,
    /// Per-stream record counts as JSON text.
    pub records: String,
    /// Failure text.
    pub error: Option<String>,
}

/// A stored timestamp, or why it could not be read.
pub(crate) type RawTime = Result<DateTime<Utc>, String>;

impl SystemDb {
    /// Record the start of a run, refusing a double run.
    ///
    /// First, running runs of the same state ID that are dead are marked failed: no heartbeat
    /// for [`STALE_AFTER`], or started on this host (same `hostname`) by a process that no
    /// longer exists. Then, if a run is still in progress and `force` is not set, returns
    /// [`DbError::AlreadyRunning`]. With `force` the other run's row is left alone (it may
    /// really be running and will settle its own record). All of this happens in one
    /// transaction that excludes every other `begin_run` of the same state ID (SQLite:
    /// `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock on the state ID), so two processes
    /// cannot both start.
    pub fn begin_run(&self, req: &NewRun) -> Result<RunRecord, DbError> {
        self.begin_run_at(req, now(), &pid_alive)
    }

    pub(crate) fn begin_run_at(
        &self,
        req: &NewRun,
        at: DateTime<Utc>,
        is_alive: &dyn Fn(u32) -> bool,
    ) -> Result<RunRecord, DbError> {
        self.engine().begin_run_tx(&req.state_id, &mut |tx| {
            self.begin_in(tx, req, at, is_alive)
        })
    }

    /// The engine-independent body of [`SystemDb::begin_run`].
    fn begin_in(
        &self,
        tx: &mut dyn RunTx,
        req: &NewRun,
        at: DateTime<Utc>,
        is_alive: &dyn Fn(u32) -> bool,
    ) -> Result<RunRecord, DbError> {
        let mut still_running = Vec::new();
        for raw in tx.running_runs(&req.state_id)? {
            let run = self.interpret(raw)?;
            match death_reason(&run, &req.hostname, at, is_alive) {
                Some(reason) => tx.mark_failed(&run.run_id, at, &reason)?,
                None => still_running.push(run),
            }
        }

        if let Some(other) = still_running.first() {
            if !req.force {
                return Err(DbError::AlreadyRunning {
                    state_id: other.state_id.clone(),
                    run_id: other.run_id.clone(),
                    started_at: other.started_at,
                    pid: other.pid,
                    hostname: other.hostname.clone(),
                });
            }
        }

        let record = RunRecord {
            run_id: req.run_id.clone(),
            state_id: req.state_id.clone(),
            status: RunStatus::Running,
            started_at: at,
            ended_at: None,
            last_heartbeat: at,
            pid: req.pid,
            hostname: req.hostname.clone(),
            records: BTreeMap::new(),
            error: None,
        };
        tx.insert_run(&record)?;
        Ok(record)
    }

    /// Record that run `run_id` is alive. Fails with [`DbError::RunNotRunning`] if the run is
    /// no longer `running` (e.g. another process declared it dead), so the caller can stop.
    pub fn heartbeat(&self, run_id: &str) -> Result<(), DbError> {
        if self.engine().touch_heartbeat(run_id, now())? {
            return Ok(());
        }
        match self.run(run_id)? {
            None => Err(DbError::RunNotFound {
                run_id: run_id.to_string(),
            }),
            Some(run) => Err(DbError::RunNotRunning {
                run_id: run_id.to_string(),
                status: run.status,
            }),
        }
    }

    /// Settle run `run_id` as `Success` or `Failed`, with per-stream record counts and the
    /// error text if it failed. Overrides a `failed` mark set by stale detection, since the
    /// run itself knows best how it ended.
    pub fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        records: &BTreeMap<String, u64>,
        error: Option<&str>,
    ) -> Result<(), DbError> {
        if status == RunStatus::Running {
            return Err(DbError::InvalidFinalStatus {
                run_id: run_id.to_string(),
                status,
            });
        }
        let records_json = serde_json::to_string(records)
            .map_err(|e| self.corrupt(format!("records of run {run_id}"), e.to_string()))?;
        let found = self.engine().settle_run(&RunEnd {
            run_id,
            status,
            at: now(),
            records_json: &records_json,
            error,
        })?;
        if !found {
            return Err(DbError::RunNotFound {
                run_id: run_id.to_string(),
            });
        }
        Ok(())
    }

    /// Recent runs, newest first: of one state ID, or of all when `state_id` is `None`. At most
    /// `limit` rows.
    pub fn runs(&self, state_id: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, DbError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let raws = self.engine().list_runs(state_id, limit)?;
        raws.into_iter().map(|raw| self.interpret(raw)).collect()
    }

    /// One run by ID, if it exists.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRecord>, DbError> {
        let raw = self.engine().find_run(run_id)?;
        raw.map(|raw| self.interpret(raw)).transpose()
    }

    /// Turn a stored row into a [`RunRecord`], reporting unreadable values as corrupt.
    fn interpret(&self, raw: RawRun) -> Result<RunRecord, DbError> {
        let what = |field: &str| format!("{field} of run {}", raw.run_id);
        let status = raw
            .status
            .parse::<RunStatus>()
            .map_err(|e| self.corrupt(what("status"), e))?;
        let started_at = raw
            .started_at
            .map_err(|e| self.corrupt(what("started_at"), e))?;
        let ended_at = raw
            .ended_at
            .transpose()
            .map_err(|e| self.corrupt(what("ended_at"), e))?;
        let last_heartbeat = raw
            .last_heartbeat
            .map_err(|e| self.corrupt(what("last_heartbeat"), e))?;
        let pid = u32::try_from(raw.pid)
            .map_err(|_| self.corrupt(what("pid"), format!("{} is not a process ID", raw.pid)))?;
        let records = serde_json::from_str(&raw.records)
            .map_err(|e| self.corrupt(what("records"), e.to_string()))?;
        Ok(RunRecord {
            run_id: raw.run_id,
            state_id: raw.state_id,
            status,
            started_at,
            ended_at,
            last_heartbeat,
            pid,
            hostname: raw.hostname,
            records,
            error: raw.error,
        })
    }
}

/// Why a `running` run is actually dead, or `None` if it may still be alive.
fn death_reason(
    run: &RunRecord,
    hostname: &str,
    at: DateTime<Utc>,
    is_alive: &dyn Fn(u32) -> bool,
) -> Option<String> {
    let silent_for = (at - run.last_heartbeat).to_std().unwrap_or_default();
    if silent_for > STALE_AFTER {
        return Some(format!(
            "marked failed by smelt: no heartbeat since {} (more than {} minutes)",
            to_db(run.last_heartbeat),
            STALE_AFTER.as_secs() / 60
        ));
    }
    if run.hostname == hostname && !is_alive(run.pid) {
        return Some(format!(
            "marked failed by smelt: its process {} on {} is no longer running",
            run.pid, run.hostname
        ));
    }
    None
}

#[cfg(test)]
mod tests;
