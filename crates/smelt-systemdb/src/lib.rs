//! smelt's system database: the embedded `.meltano/smelt.db` (SQLite, bundled), or PostgreSQL
//! when the project's `database_uri` is a `postgresql://` URI ([`SystemDb::open_uri`]).
//!
//! It holds three things: job state (the default `systemdb` state backend, see
//! [`SystemDb::state_backend`]); run records — one row per run with status, heartbeat,
//! process ID and per-stream record counts — which is how smelt refuses to run the same
//! pipeline twice at once and notices runs that crashed ([`SystemDb::begin_run`]); and
//! settings stored with `config set --store db` ([`SystemDb::stored_settings`]).
//! It also holds the ticks claimed by `smelt schedule serve` ([`SystemDb::claim_schedule_tick`]),
//! so several serve processes sharing the database run each tick once.
//!
//! The rules (stale-run detection, state and setting parsing) live once in `runs.rs`,
//! `state_store.rs` and `settings.rs`; the engines (`sqlite/`, `pg/`) only run SQL in safe transactions.
//!
//! This is smelt's own database; Meltano's `meltano.db` and tables are never touched.

mod db;
mod engine;
mod error;
mod pg;
mod process;
mod runs;
mod schedule_ticks;
mod schema;
mod settings;
mod sqlite;
mod state_store;
mod time;
mod timeouts;
mod uri;

#[cfg(test)]
mod test_support;

pub use db::{SystemDb, BUSY_TIMEOUT};
pub use error::DbError;
pub use process::{local_hostname, pid_alive};
pub use runs::{NewRun, RunRecord, RunStatus, STALE_AFTER};
pub use schedule_ticks::{ScheduleTick, TickState, TICK_STALE_AFTER};
pub use schema::SCHEMA_VERSION;
pub use state_store::SystemDbStateBackend;
pub use timeouts::DbTimeouts;
pub use uri::redact as redact_uri;
