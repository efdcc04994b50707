//! The embedded engine: `.meltano/smelt.db`, a SQLite file shared by every smelt process of
//! the project.

mod runs;
mod schema;
mod settings;
mod state;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::engine::Engine;
use crate::schema::{Migrated, SCHEMA_VERSION};
use crate::{DbError, BUSY_TIMEOUT};

/// One SQLite connection behind a mutex, in WAL mode (readers never block the writer) with
/// `synchronous=FULL` (a committed state survives power loss) and a busy timeout of
/// [`BUSY_TIMEOUT`], so several smelt processes can share the file. Every read-modify-write
/// runs in a `BEGIN IMMEDIATE` transaction, which serializes writers across processes.
#[derive(Debug)]
pub(crate) struct SqliteEngine {
    conn: Mutex<Connection>,
    path: PathBuf,
    label: String,
}

impl SqliteEngine {
    /// Open (creating if needed) the database at `path`, creating its parent directory and
    /// applying schema migrations.
    pub(crate) fn open(path: &Path) -> Result<Self, DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        create_private(path)?;
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
        let label = path.display().to_string();
        match schema::migrate(&mut conn).map_err(open_err)? {
            Migrated::UpToDate => {}
            Migrated::TooNew(found) => {
                return Err(DbError::SchemaTooNew {
                    database: label,
                    found,
                    supported: SCHEMA_VERSION,
                })
            }
        }
        Ok(SqliteEngine {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            label,
        })
    }

    /// The shared connection. A panic in another thread while holding it cannot leave a
    /// transaction open (rusqlite rolls back on drop), so a poisoned lock is simply reused.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wrap a SQLite error with the database path and what we were doing.
    fn sql_err(&self, action: &str) -> impl FnOnce(rusqlite::Error) -> DbError + '_ {
        let action = action.to_string();
        move |source| DbError::Sqlite {
            path: self.path.clone(),
            action,
            source,
        }
    }
}

/// Create `path` as an empty file readable and writable by its owner only (0600) if it does not
/// exist yet: settings stored with `config set --store db` may be secrets. SQLite then gives
/// its `-wal` and `-shm` files the same mode. An existing file is left as it is (its owner may
/// have chosen its mode); an empty file is a valid, empty SQLite database.
fn create_private(path: &Path) -> Result<(), DbError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(DbError::CreateFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Create a database at `path` with only the migrations up to `version`, as an older smelt
/// left it (to test upgrades).
#[cfg(test)]
pub(crate) fn create_at_version(path: &Path, version: i64) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let mut conn = Connection::open(path).map_err(|e| e.to_string())?;
    schema::migrate_to(&mut conn, version)
        .map(drop)
        .map_err(|e| e.to_string())
}

impl Engine for SqliteEngine {
    fn label(&self) -> &str {
        &self.label
    }

    fn sqlite_path(&self) -> Option<&Path> {
        Some(&self.path)
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
        let engine = match SqliteEngine::open(&path) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        assert!(path.is_file());
        let mode: String = engine
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap_or_default();
        assert_eq!(mode.to_ascii_lowercase(), "wal");
        drop(engine);
        // Re-opening an existing database works and keeps the schema.
        assert!(SqliteEngine::open(&path).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_new_database_and_its_wal_are_private_to_the_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join(".meltano").join("smelt.db");
        let engine = match SqliteEngine::open(&path) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        // A write makes sure the -wal and -shm files exist.
        assert!(engine
            .conn()
            .execute_batch("CREATE TABLE t (x); DROP TABLE t;")
            .is_ok());
        let mode = |p: &Path| {
            fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        assert_eq!(mode(&path), 0o600, "smelt.db");
        for suffix in ["-wal", "-shm"] {
            let side = dir
                .path()
                .join(".meltano")
                .join(format!("smelt.db{suffix}"));
            assert_eq!(mode(&side), 0o600, "{}", side.display());
        }
        drop(engine);
        // An existing file's mode is the owner's choice and is left alone.
        assert!(fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).is_ok());
        assert!(SqliteEngine::open(&path).is_ok());
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn non_database_file_is_a_clear_open_error() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("smelt.db");
        assert!(fs::write(&path, vec![b'x'; 4096]).is_ok());
        let err = SqliteEngine::open(&path).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("smelt.db") && e.contains("not Meltano's meltano.db")),
            "{err:?}"
        );
    }
}
