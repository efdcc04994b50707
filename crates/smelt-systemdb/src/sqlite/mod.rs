//! The embedded engine: `.meltano/smelt.db`, a SQLite file shared by every smelt process of
//! the project.

mod runs;
mod schema;
mod settings;
mod state;
mod ticks;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

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
        let label = path.display().to_string();
        match set_up_with_retry(&mut conn).map_err(open_err)? {
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

/// Switch a new connection to WAL and bring the schema up to date, retrying while another
/// process is doing the same to a brand-new file.
///
/// SQLite reports "database is locked" without calling the busy handler in a few first-use
/// races (switching a fresh file to WAL, WAL recovery), so the busy timeout alone does not
/// cover several processes opening a new `smelt.db` at once; these steps are idempotent and
/// are simply retried, with a little jitter, for up to [`BUSY_TIMEOUT`].
fn set_up_with_retry(conn: &mut Connection) -> rusqlite::Result<Migrated> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut attempt: u64 = 0;
    loop {
        match set_up(conn) {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                attempt += 1;
                let jitter = u64::from(std::process::id() % 7) + attempt.min(20) * 3;
                std::thread::sleep(Duration::from_millis(2 + jitter));
            }
            other => return other,
        }
    }
}

fn set_up(conn: &mut Connection) -> rusqlite::Result<Migrated> {
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    schema::migrate(conn)
}

/// "database is busy/locked": another connection holds a lock we need.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
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

    /// Names the database a [`fresh_open_worker`] child opens.
    const FRESH_DB_ENV: &str = "SMELT_SYSTEMDB_TEST_FRESH_DB";
    /// The file whose appearance releases every waiting child at once.
    const GO_ENV: &str = "SMELT_SYSTEMDB_TEST_GO";

    /// Child-process entry point for `eight_processes_open_a_fresh_database_at_once`: waits
    /// for the go file, opens the database and writes to it. Does nothing when run alone.
    #[test]
    fn fresh_open_worker() {
        let (Some(db), Some(go)) = (std::env::var_os(FRESH_DB_ENV), std::env::var_os(GO_ENV))
        else {
            return;
        };
        let go = PathBuf::from(go);
        let started = std::time::Instant::now();
        while !go.exists() && started.elapsed() < std::time::Duration::from_secs(30) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let engine = match SqliteEngine::open(Path::new(&db)) {
            Ok(e) => e,
            Err(e) => panic!("open: {e}"),
        };
        let wrote = engine
            .conn()
            .execute_batch("CREATE TABLE IF NOT EXISTS t (x); INSERT INTO t VALUES (1);");
        assert!(wrote.is_ok(), "{wrote:?}");
    }

    /// Concurrent first use of a brand-new `smelt.db` (8 processes creating, switching to WAL
    /// and migrating it at the same moment) never fails with "database is locked".
    #[test]
    fn eight_processes_open_a_fresh_database_at_once() {
        let exe = match std::env::current_exe() {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        for round in 0..5 {
            let dir = match tempfile::tempdir() {
                Ok(d) => d,
                Err(e) => panic!("{e}"),
            };
            let db = dir.path().join(".meltano").join("smelt.db");
            let go = dir.path().join("go");
            let children: Vec<_> = (0..8)
                .map(|_| {
                    std::process::Command::new(&exe)
                        .args([
                            "--exact",
                            "sqlite::tests::fresh_open_worker",
                            "--test-threads=1",
                            "--nocapture",
                        ])
                        .env(FRESH_DB_ENV, &db)
                        .env(GO_ENV, &go)
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap_or_else(|e| panic!("spawn: {e}"))
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(fs::write(&go, b"").is_ok());
            for child in children {
                let out = child
                    .wait_with_output()
                    .unwrap_or_else(|e| panic!("wait: {e}"));
                assert!(
                    out.status.success(),
                    "round {round}: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let rows: i64 = match Connection::open(&db) {
                Ok(c) => c
                    .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                    .unwrap_or(-1),
                Err(e) => panic!("{e}"),
            };
            assert_eq!(rows, 8, "round {round}");
        }
    }
}
