//! Errors from the system database (SQLite or PostgreSQL), phrased so the CLI can print them
//! as they are.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::RunStatus;

/// Everything that can go wrong opening or using the system database: `.meltano/smelt.db`, or
/// the PostgreSQL database named by `database_uri`. Messages never contain a password.
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

    /// A new database file could not be created (with owner-only permissions).
    #[error(
        "could not create the system database {}: {source}; check that its directory is \
         writable",
        path.display()
    )]
    CreateFile {
        /// The database file.
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

    /// The project's `database_uri` names an engine smelt cannot use, or cannot be parsed.
    #[error(
        "database_uri {uri} cannot be used: {reason}; use postgresql://user:password@host:port/db \
         for PostgreSQL, or leave it unset (or sqlite:///…) for the embedded .meltano/smelt.db"
    )]
    UnsupportedUri {
        /// The URI, password replaced by `***`.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The PostgreSQL server could not be reached (after retrying) or refused us.
    #[error(
        "could not connect to the system database {target} (gave up after {attempts} \
         attempt{} over {:.1}s): {reason}; {hint}",
        if *attempts == 1 { "" } else { "s" },
        waited.as_secs_f64()
    )]
    Connect {
        /// `postgresql://user@host:port/db`, never with the password.
        target: String,
        /// How many connection attempts were made.
        attempts: u32,
        /// How long we kept trying.
        waited: std::time::Duration,
        /// The driver's error with its cause.
        reason: String,
        /// What to check, e.g. that the server runs or that the database exists.
        hint: String,
    },

    /// A PostgreSQL statement failed.
    #[error("system database {target}: could not {action}: {reason}")]
    Postgres {
        /// `postgresql://user@host:port/db`, never with the password.
        target: String,
        /// What we were doing, e.g. "record the new run".
        action: String,
        /// The driver's error with its cause (the server's message).
        reason: String,
    },

    /// The database was migrated by a newer smelt than this one.
    #[error(
        "the system database {database} has schema version {found}, but this smelt only knows \
         up to {supported}; upgrade smelt (or point it at another database)"
    )]
    SchemaTooNew {
        /// The database: a file path, or a PostgreSQL location without its password.
        database: String,
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

    /// A setting cannot be stored under this namespace or name.
    #[error("invalid setting {name:?} of namespace {namespace:?}: {reason}")]
    InvalidSetting {
        /// The namespace, e.g. `meltano` or `extractors.tap-x`.
        namespace: String,
        /// The dotted setting name.
        name: String,
        /// What is wrong.
        reason: String,
    },

    /// A row holds data this version cannot read.
    #[error("system database {database}: unreadable {what}: {reason}")]
    Corrupt {
        /// The database: a file path, or a PostgreSQL location without its password.
        database: String,
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
            database: "/p/smelt.db".into(),
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
