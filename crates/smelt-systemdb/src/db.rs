//! Opening the system database on the engine the project's `database_uri` names.

use std::path::Path;
use std::time::Duration;

use crate::engine::Engine;
use crate::pg::PgEngine;
use crate::sqlite::SqliteEngine;
use crate::uri::{classify, Target};
use crate::{DbError, DbTimeouts};

/// How long a statement waits for another process's transaction (SQLite's busy timeout,
/// PostgreSQL's `lock_timeout`) before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// smelt's system database: job state, run records and settings stored with
/// `config set --store db`.
///
/// Either the embedded SQLite file `.meltano/smelt.db` (the default), or a PostgreSQL database
/// when the project's `database_uri` is a `postgresql://` URI, so workers on several machines
/// share runs and state. Both engines behave the same: every read-modify-write is a
/// transaction that serializes with the other smelt processes using the database.
#[derive(Debug)]
pub struct SystemDb {
    engine: Box<dyn Engine>,
}

impl SystemDb {
    /// Open (creating if needed) the SQLite database at `path`, creating its parent directory
    /// and applying schema migrations. A new file is readable by its owner only (0600), since
    /// stored settings may be secrets.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        Ok(SystemDb {
            engine: Box::new(SqliteEngine::open(path)?),
        })
    }

    /// Open the system database named by the project's `database_uri`.
    ///
    /// An empty `uri` (unset) or a `sqlite://` URI opens the SQLite file at `sqlite_default`
    /// (`.meltano/smelt.db`; Meltano's own `meltano.db`, which its default URI names, is never
    /// touched). A `postgresql://` / `postgres://` URI (also SQLAlchemy's
    /// `postgresql+psycopg://`) connects to PostgreSQL, retrying for a few seconds, and creates
    /// smelt's `smelt_*` tables on first use. Other URIs are [`DbError::UnsupportedUri`].
    pub fn open_uri(uri: &str, sqlite_default: &Path) -> Result<Self, DbError> {
        Self::open_uri_within(uri, sqlite_default, &DbTimeouts::default())
    }

    /// Like [`SystemDb::open_uri`], with the project's bounds on waiting for a PostgreSQL
    /// server (connect, statements, retries), so a server that accepts connections but never
    /// answers fails the command with an error naming the setting instead of hanging it.
    pub fn open_uri_within(
        uri: &str,
        sqlite_default: &Path,
        timeouts: &DbTimeouts,
    ) -> Result<Self, DbError> {
        match classify(uri)? {
            Target::Sqlite => Self::open(sqlite_default),
            Target::Postgres(uri) => Ok(SystemDb {
                engine: Box::new(PgEngine::open(&uri, timeouts)?),
            }),
        }
    }

    /// The SQLite file this handle uses, or `None` on PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        self.engine.sqlite_path()
    }

    /// Where the data lives, for messages: the SQLite file path, or
    /// `postgresql://user@host:port/db` (plus the schema when it is not `public`). Never
    /// contains a password.
    pub fn location(&self) -> &str {
        self.engine.label()
    }

    /// The engine behind this handle.
    pub(crate) fn engine(&self) -> &dyn Engine {
        self.engine.as_ref()
    }

    /// A [`DbError::Corrupt`] for this database.
    pub(crate) fn corrupt(&self, what: impl Into<String>, reason: impl Into<String>) -> DbError {
        DbError::Corrupt {
            database: self.location().to_string(),
            what: what.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::each_engine;
    use crate::SCHEMA_VERSION;

    each_engine! {
        fn schema_is_created_once(f) {
            drop(f.open());
            drop(f.open());
            assert_eq!(
                f.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM smelt_schema_version"),
                Some(SCHEMA_VERSION.to_string())
            );
        }

        fn newer_schema_is_refused(f) {
            drop(f.open());
            f.exec(&format!(
                "INSERT INTO smelt_schema_version VALUES ({}, CURRENT_TIMESTAMP)",
                SCHEMA_VERSION + 5
            ));
            match SystemDb::open_uri(f.uri(), &f.sqlite_path()) {
                Err(e @ DbError::SchemaTooNew { found, .. }) => {
                    assert_eq!(found, SCHEMA_VERSION + 5);
                    assert!(e.to_string().contains("upgrade smelt"), "{e}");
                }
                other => panic!("expected SchemaTooNew, got {other:?}"),
            }
        }
    }

    #[test]
    fn sqlite_uris_and_unset_open_the_default_file() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join(".meltano").join("smelt.db");
        for uri in ["", "sqlite:///somewhere/.meltano/meltano.db"] {
            let db = match SystemDb::open_uri(uri, &path) {
                Ok(db) => db,
                Err(e) => panic!("{uri}: {e}"),
            };
            assert_eq!(db.path(), Some(path.as_path()));
            assert_eq!(db.location(), path.display().to_string());
        }
        assert!(path.is_file());
        assert!(!dir.path().join("somewhere").exists());
    }

    #[test]
    fn unsupported_uri_is_refused() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("smelt.db");
        assert!(matches!(
            SystemDb::open_uri("mysql://u:pw@h/db", &path),
            Err(DbError::UnsupportedUri { .. })
        ));
        assert!(!path.exists());
    }
}
