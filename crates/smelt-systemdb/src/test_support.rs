//! Test fixtures: a fresh, empty system database on either engine, so every behaviour test
//! runs against SQLite and against the real PostgreSQL server.
//!
//! PostgreSQL tests use `postgresql://postgres@127.0.0.1:5432/test` (override with
//! `SMELT_TEST_POSTGRES_URI`). Each fixture creates its own schema with a random name, points
//! `search_path` at it through the URI, and drops it afterwards.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::SystemDb;

/// The server the PostgreSQL tests use.
pub(crate) fn postgres_admin_uri() -> String {
    std::env::var("SMELT_TEST_POSTGRES_URI")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_string())
}

/// Which engine a fixture uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh system database location on one engine. Nothing is created in it until
/// [`TestDb::open`], so tests can race the first open.
pub(crate) struct TestDb {
    pub kind: Kind,
    dir: tempfile::TempDir,
    /// `""` for SQLite; the PostgreSQL URI with `search_path` set to `schema`.
    uri: String,
    schema: Option<String>,
}

impl TestDb {
    /// A new empty database: a temporary directory for SQLite, a new schema for PostgreSQL.
    pub(crate) fn new(kind: Kind) -> Self {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let (uri, schema) = match kind {
            Kind::Sqlite => (String::new(), None),
            Kind::Postgres => {
                let schema = unique_schema_name();
                admin_exec(&format!("CREATE SCHEMA {schema}"));
                let admin = postgres_admin_uri();
                let sep = if admin.contains('?') { '&' } else { '?' };
                (
                    format!("{admin}{sep}options=-csearch_path%3D{schema}"),
                    Some(schema),
                )
            }
        };
        TestDb {
            kind,
            dir,
            uri,
            schema,
        }
    }

    /// The `database_uri` to give [`SystemDb::open_uri`] (empty for SQLite).
    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    /// The SQLite file (also passed as the default on PostgreSQL, where it stays unused).
    pub(crate) fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join(".meltano").join("smelt.db")
    }

    /// Open a new handle (its own connection) on this database.
    pub(crate) fn open(&self) -> Arc<SystemDb> {
        match SystemDb::open_uri(&self.uri, &self.sqlite_path()) {
            Ok(db) => Arc::new(db),
            Err(e) => panic!("open {:?} system database: {e}", self.kind),
        }
    }

    /// Create the database as a smelt at schema `version` left it: only migrations up to
    /// `version` applied (to test upgrading in place).
    pub(crate) fn create_at_version(&self, version: i64) {
        let created = match self.kind {
            Kind::Sqlite => crate::sqlite::create_at_version(&self.sqlite_path(), version),
            Kind::Postgres => crate::pg::create_at_version(&self.uri, version),
        };
        if let Err(e) = created {
            panic!("create a version {version} database: {e}");
        }
    }

    /// The engine's name for a logical table: `state` → `state` / `smelt_state`.
    pub(crate) fn table(&self, name: &str) -> String {
        match self.kind {
            Kind::Sqlite => name.to_string(),
            Kind::Postgres => format!("smelt_{name}"),
        }
    }

    /// Run raw SQL behind smelt's back (to damage rows), on a separate connection.
    pub(crate) fn exec(&self, sql: &str) {
        if let Err(e) = self.try_exec(sql) {
            panic!("{sql}: {e}");
        }
    }

    /// Like [`TestDb::exec`], returning the database's complaint.
    pub(crate) fn try_exec(&self, sql: &str) -> Result<(), String> {
        match self.kind {
            Kind::Sqlite => {
                let conn = rusqlite::Connection::open(self.sqlite_path())
                    .map_err(|e| format!("open sqlite: {e}"))?;
                conn.busy_timeout(Duration::from_secs(10))
                    .map_err(|e| e.to_string())?;
                conn.execute_batch(sql).map_err(|e| e.to_string())
            }
            Kind::Postgres => connect_or_explain(&self.uri)
                .batch_execute(sql)
                .map_err(|e| crate::pg::describe(&e)),
        }
    }

    /// The first column of the first row of a raw query, as text.
    pub(crate) fn query_text(&self, sql: &str) -> Option<String> {
        match self.kind {
            Kind::Sqlite => {
                let conn = rusqlite::Connection::open(self.sqlite_path()).ok()?;
                conn.query_row(sql, [], |r| r.get::<_, String>(0)).ok()
            }
            Kind::Postgres => {
                let mut client = connect_or_explain(&self.uri);
                client.query_opt(sql, &[]).ok()??.try_get(0).ok()
            }
        }
    }

    /// The environment a child test process needs to open this same database.
    pub(crate) fn child_env(&self) -> [(&'static str, String); 2] {
        [
            (CHILD_URI_ENV, self.uri.clone()),
            (
                CHILD_SQLITE_ENV,
                self.sqlite_path().to_string_lossy().into_owned(),
            ),
        ]
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            let dropped = postgres::Client::connect(&postgres_admin_uri(), postgres::NoTls)
                .and_then(|mut c| c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")));
            if let Err(e) = dropped {
                eprintln!("could not drop test schema {schema}: {e}");
            }
        }
    }
}

/// Env var naming the `database_uri` a child test process opens.
pub(crate) const CHILD_URI_ENV: &str = "SMELT_SYSTEMDB_TEST_CHILD_URI";
/// Env var naming the SQLite default path a child test process opens.
pub(crate) const CHILD_SQLITE_ENV: &str = "SMELT_SYSTEMDB_TEST_CHILD_DB";

/// In a child test process: open the database the parent named, if it named one.
pub(crate) fn child_db() -> Option<Arc<SystemDb>> {
    let uri = std::env::var(CHILD_URI_ENV).ok()?;
    let path = std::env::var(CHILD_SQLITE_ENV).ok()?;
    match SystemDb::open_uri(&uri, Path::new(&path)) {
        Ok(db) => Some(Arc::new(db)),
        Err(e) => panic!("child: open system database: {e}"),
    }
}

fn unique_schema_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "smelt_test_{}_{nanos:x}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A connection to the test server, or a failure that says how to start it.
pub(crate) fn connect_or_explain(uri: &str) -> postgres::Client {
    let config: postgres::Config = match uri.parse() {
        Ok(c) => c,
        Err(e) => panic!("bad test PostgreSQL URI {uri}: {e}"),
    };
    let mut config = config;
    config.connect_timeout(Duration::from_secs(5));
    match config.connect(postgres::NoTls) {
        Ok(client) => client,
        Err(e) => panic!(
            "PostgreSQL is not reachable at {uri}: {}.\nThese tests need a PostgreSQL server on \
             127.0.0.1:5432 with trust auth for user postgres and a database named test. Start \
             it with:\n    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main \
             start\n(or set SMELT_TEST_POSTGRES_URI to another server)",
            crate::pg::describe(&e)
        ),
    }
}

fn admin_exec(sql: &str) {
    let mut client = connect_or_explain(&postgres_admin_uri());
    if let Err(e) = client.batch_execute(sql) {
        panic!("{sql}: {}", crate::pg::describe(&e));
    }
}

/// Define one test per engine from a body taking `&TestDb`:
/// `each_engine!(fn name(f) { … })` makes `name::sqlite` and `name::postgres`.
macro_rules! each_engine {
    ($(fn $name:ident($f:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::test_support::{Kind, TestDb};

            fn run($f: &TestDb) $body

            #[test]
            fn sqlite() {
                run(&TestDb::new(Kind::Sqlite));
            }

            #[test]
            fn postgres() {
                run(&TestDb::new(Kind::Postgres));
            }
        }
    )*};
}
pub(crate) use each_engine;
