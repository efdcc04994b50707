//! The seam between the engine-independent logic (run rules, state parsing) and the two storage
//! engines, SQLite ([`crate::sqlite`]) and PostgreSQL ([`crate::pg`]).
//!
//! Engines only move rows: they run the SQL, provide the transactions that make each operation
//! safe across processes, and map their errors. Decisions (is a run dead? is a stored state
//! readable?) are made once, in `runs.rs` and `state_store.rs`.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use smelt_state::StateError;

use crate::runs::{RawRun, RunRecord, RunStatus};
use crate::DbError;

/// A state row as stored: the two halves of Meltano's document as JSON text, kept verbatim so
/// key order survives and unreadable text can be reported rather than lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredState {
    /// The `completed` half.
    pub completed: String,
    /// The `partial` half.
    pub partial: String,
}

/// A settings row as stored: the value is JSON text, parsed (and reported if unreadable) by
/// `settings.rs`, the same way for both engines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredSetting {
    /// `meltano` or `<plugin type>.<plugin name>`.
    pub namespace: String,
    /// The dotted setting name.
    pub name: String,
    /// The value as JSON text.
    pub value: String,
}

/// How a run ended, as handed to [`Engine::settle_run`].
#[derive(Debug)]
pub(crate) struct RunEnd<'a> {
    /// The run.
    pub run_id: &'a str,
    /// `Success` or `Failed`.
    pub status: RunStatus,
    /// When it ended (also its last heartbeat).
    pub at: DateTime<Utc>,
    /// Per-stream record counts as JSON text.
    pub records_json: &'a str,
    /// Why it failed, if it did.
    pub error: Option<&'a str>,
}

/// The statements `begin_run` needs inside its transaction.
pub(crate) trait RunTx {
    /// Runs of `state_id` with status `running`, newest first.
    fn running_runs(&mut self, state_id: &str) -> Result<Vec<RawRun>, DbError>;
    /// Mark `run_id` failed at `at` with `reason`.
    fn mark_failed(&mut self, run_id: &str, at: DateTime<Utc>, reason: &str)
        -> Result<(), DbError>;
    /// Insert a new `running` row; a reused run ID is [`DbError::DuplicateRun`].
    fn insert_run(&mut self, run: &RunRecord) -> Result<(), DbError>;
}

/// The body of a `begin_run` transaction.
pub(crate) type BeginBody<'a> = dyn FnMut(&mut dyn RunTx) -> Result<RunRecord, DbError> + 'a;

/// The body of a state read-modify-write: current row (if any) → row to store.
pub(crate) type UpdateBody<'a> =
    dyn FnMut(Option<StoredState>) -> Result<StoredState, StateError> + 'a;

/// One storage engine of the system database: where it lives, plus its run, state and
/// settings tables.
pub(crate) trait Engine:
    RunStore + StateStore + SettingsStore + TickStore + Send + Sync + fmt::Debug
{
    /// Where the data lives, for messages: a file path, or `postgresql://user@host:port/db`
    /// (never a password).
    fn label(&self) -> &str;

    /// The SQLite file, for the embedded engine.
    fn sqlite_path(&self) -> Option<&Path>;
}

/// The runs table of an engine.
pub(crate) trait RunStore {
    /// Run `body` in a transaction that no other `begin_run` of `state_id` (in any process)
    /// can interleave with; commit if it returns `Ok`, roll back otherwise.
    fn begin_run_tx(&self, state_id: &str, body: &mut BeginBody<'_>) -> Result<RunRecord, DbError>;

    /// Set the heartbeat of `run_id` to `at` if it is running; whether a row changed.
    fn touch_heartbeat(&self, run_id: &str, at: DateTime<Utc>) -> Result<bool, DbError>;

    /// Record how a run ended; whether the run exists.
    fn settle_run(&self, end: &RunEnd<'_>) -> Result<bool, DbError>;

    /// Runs newest first, of one state ID or all, at most `limit`.
    fn list_runs(&self, state_id: Option<&str>, limit: i64) -> Result<Vec<RawRun>, DbError>;

    /// One run by ID.
    fn find_run(&self, run_id: &str) -> Result<Option<RawRun>, DbError>;
}

/// The state table of an engine. Errors are already [`StateError`]s: a lock wait that timed
/// out is [`StateError::Locked`], anything else [`StateError::Backend`].
pub(crate) trait StateStore {
    /// The stored state row of `id`.
    fn read_state(&self, id: &str) -> Result<Option<StoredState>, StateError>;

    /// Insert or replace the state row of `id` in one transaction.
    fn write_state(&self, id: &str, state: &StoredState) -> Result<(), StateError>;

    /// Read-modify-write of `id`'s row in one transaction that serializes with every other
    /// update of `id`, in any process. Nothing is written when `body` fails.
    fn update_state(&self, id: &str, body: &mut UpdateBody<'_>) -> Result<(), StateError>;

    /// Every state ID with a row, in any order.
    fn state_ids(&self) -> Result<Vec<String>, StateError>;

    /// Delete `id`'s row, if any.
    fn delete_state(&self, id: &str) -> Result<(), StateError>;
}

/// The settings table of an engine (`config set --store db`). Each call is one statement, so
/// it is atomic on its own and concurrent writers of the same setting simply replace each other.
pub(crate) trait SettingsStore {
    /// Every settings row, in any order.
    fn setting_rows(&self) -> Result<Vec<StoredSetting>, DbError>;

    /// Insert or replace one row.
    fn upsert_setting(&self, setting: &StoredSetting) -> Result<(), DbError>;

    /// Delete one row; whether it existed.
    fn delete_setting(&self, namespace: &str, name: &str) -> Result<bool, DbError>;

    /// Delete every row of `namespace`; how many there were.
    fn delete_namespace(&self, namespace: &str) -> Result<usize, DbError>;
}

/// The schedule ticks table of an engine (`smelt schedule serve`). Each call is one statement.
pub(crate) trait TickStore {
    /// Insert the claim row unless one exists, or another tick of the schedule is `running`
    /// with a heartbeat at or after `alive_since`; whether this call inserted it.
    fn insert_tick(
        &self,
        tick: &crate::ScheduleTick,
        alive_since: DateTime<Utc>,
    ) -> Result<bool, DbError>;

    /// Set the heartbeat of every `running` tick claimed by `claimed_by`; how many.
    fn touch_ticks(&self, claimed_by: &str, at: DateTime<Utc>) -> Result<usize, DbError>;

    /// Set a claimed tick's status, attempt and (when final) end time; whether it exists.
    fn update_tick(
        &self,
        schedule: &str,
        tick: &str,
        status: &str,
        attempt: i64,
        ended_at: Option<DateTime<Utc>>,
    ) -> Result<bool, DbError>;

    /// Ticks newest first, of one schedule or all, at most `limit`.
    fn list_ticks(
        &self,
        schedule: Option<&str>,
        limit: i64,
    ) -> Result<Vec<crate::ScheduleTick>, DbError>;
}
