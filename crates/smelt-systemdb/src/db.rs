//! Opening the system database and sharing its connection.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::schema::{migrate, Migrated, SCHEMA_VERSION};
use crate::DbError;

/// How long a statement waits for another process's write transaction before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// smelt's embedded system database (`.meltano/smelt.db`): job state and run records.
///
/// One SQLite connection behind a mutex, in WAL mode (readers never block the writer) with
/// `synchronous=FULL` (a committed state survives power loss) and a 10 s busy timeout, so
/// several smelt processes can share the file. Every read-modify-write runs in a
/// `BEGIN IMMEDIATE` transaction, which serializes writers across processes.
#[derive(Debug)]
pub struct SystemDb {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl SystemDb {
    /// Open (creating if needed) the database at `path`, creating its parent directory and
    /// applying schema migrations.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| DbError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        match migrate(&mut conn).map_err(open_err)? {
            Migrated::UpToDate => {}
            Migrated::TooNew(found) => {
                return Err(DbError::SchemaTooNew {
                    path: path.to_path_buf(),
                    found,
                    supported: SCHEMA_VERSION,
                })
            }
        }
        Ok(SystemDb {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// The database file this handle uses.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The shared connection. A panic in another thread while holding it cannot leave a
    /// transaction open (rusqlite rolls back on drop), so a poisoned lock is simply reused.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wrap a SQLite error with the database path and what we were doing.
    pub(crate) fn sql_err(
        &self,
        action: impl Into<String>,
    ) -> impl FnOnce(rusqlite::Error) -> DbError + '_ {
        let action = action.into();
        move |source| DbError::Sqlite {
            path: self.path.clone(),
            action,
            source,
        }
    }

    /// A [`DbError::Corrupt`] for this database.
    pub(crate) fn corrupt(&self, what: impl Into<String>, reason: impl Into<String>) -> DbError {
        DbError::Corrupt {
            path: self.path.clone(),
            what: what.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_parent_directory_and_uses_wal() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join(".meltano").join("smelt.db");
        let db = match SystemDb::open(&path) {
            Ok(db) => db,
            Err(e) => panic!("{e}"),
        };
        assert!(path.is_file());
        assert_eq!(db.path(), path);
        let mode: String = db
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap_or_default();
        assert_eq!(mode.to_ascii_lowercase(), "wal");
        drop(db);
        // Re-opening an existing database works and keeps the schema.
        assert!(SystemDb::open(&path).is_ok());
    }

    #[test]
    fn non_database_file_is_a_clear_open_error() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("smelt.db");
        assert!(fs::write(&path, vec![b'x'; 4096]).is_ok());
        let err = SystemDb::open(&path).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("smelt.db") && e.contains("not Meltano's meltano.db")),
            "{err:?}"
        );
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("smelt.db");
        let db = SystemDb::open(&path);
        assert!(db.is_ok());
        if let Ok(db) = db {
            assert!(db
                .conn()
                .execute(
                    "INSERT INTO smelt_schema_version VALUES (?1, 'x')",
                    [SCHEMA_VERSION + 5],
                )
                .is_ok());
        }
        assert!(matches!(
            SystemDb::open(&path),
            Err(DbError::SchemaTooNew { found, .. }) if found == SCHEMA_VERSION + 5
        ));
    }
}
