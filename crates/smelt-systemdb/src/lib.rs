//! smelt's embedded system database, `.meltano/smelt.db` (SQLite, bundled).
//!
//! It holds two things: job state (the default `systemdb` state backend, see
//! [`SystemDb::state_backend`]) and run records — one row per run with status, heartbeat,
//! process ID and per-stream record counts — which is how smelt refuses to run the same
//! pipeline twice at once and notices runs that crashed ([`SystemDb::begin_run`]).
//!
//! This is smelt's own database; Meltano's `meltano.db` is never touched.

mod db;
mod error;
mod process;
mod runs;
mod schema;
mod state_store;
mod time;

pub use db::{SystemDb, BUSY_TIMEOUT};
pub use error::DbError;
pub use process::{local_hostname, pid_alive};
pub use runs::{NewRun, RunRecord, RunStatus, STALE_AFTER};
pub use schema::SCHEMA_VERSION;
pub use state_store::SystemDbStateBackend;
