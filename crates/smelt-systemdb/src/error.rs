//! Errors from the system database, phrased so the CLI can print them as they are.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::RunStatus;

/// Everything that can go wrong opening or using `.meltano/smelt.db`.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The directory that should hold the database could not be created.
    #[error("could not create the directory {} for the system database: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The database file could not be opened or set up (not a SQLite file, unwritable, ...).
    #[error(
        "could not open the system database {}: {source}; check that the file is a smelt \
         database (not Meltano's meltano.db) and that its directory is writable",
        path.display()
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },

    /// A statement failed.
    #[error("system database {}: could not {action}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What we were doing, e.g. "record the new run".
        action: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },

    /// The database was migrated by a newer smelt than this one.
    #[error(
        "the system database {} has schema version {found}, but this smelt only knows up to \
         {supported}; upgrade smelt (or point it at another database)",
        path.display()
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Newest version this build understands.
        supported: i64,
    },

    /// Another run of the same pipeline is still in progress.
    #[error(
        "another run of {state_id} is already in progress (run {run_id}, pid {pid} on \
         {hostname}, started {started_at}); wait for it to finish, or pass --force to start \
         this run anyway"
    )]
    AlreadyRunning {
        /// The pipeline's state ID.
        state_id: String,
        /// The run that is in progress.
        run_id: String,
        /// When it started.
        started_at: DateTime<Utc>,
        /// Its process ID.
        pid: u32,
        /// The machine it runs on.
        hostname: String,
    },

    /// A run ID was used twice.
    #[error("a run with ID {run_id} already exists; each run needs a fresh run ID")]
    DuplicateRun {
        /// The reused run ID.
        run_id: String,
    },

    /// A run ID that the database does not know.
    #[error("no run with ID {run_id} in the system database")]
    RunNotFound {
        /// The unknown run ID.
        run_id: String,
    },

    /// A heartbeat for a run that is no longer running — typically because another process
    /// decided it was stale and marked it failed.
    #[error(
        "run {run_id} is no longer running (status {status}); another smelt process probably \
         marked it failed after missing heartbeats"
    )]
    RunNotRunning {
        /// The run.
        run_id: String,
        /// Its current status.
        status: RunStatus,
    },

    /// `finish_run` was asked to finish a run as `running`.
    #[error("run {run_id} can only be finished as success or failed, not {status}")]
    InvalidFinalStatus {
        /// The run.
        run_id: String,
        /// The status that was passed.
        status: RunStatus,
    },

    /// A row holds data this version cannot read.
    #[error("system database {}: unreadable {what}: {reason}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Which value, e.g. "records of run 123".
        what: String,
        /// Why it could not be read.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn already_running_says_what_to_do() {
        let err = DbError::AlreadyRunning {
            state_id: "dev:a-to-b".into(),
            run_id: "r1".into(),
            started_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            pid: 42,
            hostname: "box".into(),
        };
        let text = err.to_string();
        for needle in ["dev:a-to-b", "r1", "pid 42 on box", "wait", "--force"] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn schema_too_new_says_upgrade() {
        let text = DbError::SchemaTooNew {
            path: "/p/smelt.db".into(),
            found: 9,
            supported: 1,
        }
        .to_string();
        assert!(
            text.contains("/p/smelt.db") && text.contains("upgrade smelt"),
            "{text}"
        );
    }
}
