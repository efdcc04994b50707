//! The PostgreSQL engine, for `database_uri: postgresql://…`: runs and state shared by smelt
//! workers on many machines.
//!
//! Tables are prefixed `smelt_` so they never collide with Meltano's own tables when both
//! tools share a database. They live in the connection's current schema (the first existing
//! schema of `search_path`, which a URI can set with `?options=-csearch_path%3Dmy_schema`).

mod client;
mod connect;
mod runs;
mod schema;
mod settings;
mod state;
mod ticks;

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use smelt_state::StateError;
use tokio_postgres::error::SqlState;
use tokio_postgres::Config;

use crate::engine::Engine;
use crate::schema::{Migrated, SCHEMA_VERSION};
use crate::{DbError, DbTimeouts, BUSY_TIMEOUT};
use client::{PgCalls, PgClient, PgError};

#[cfg(test)]
pub(crate) use smelt_pg::describe;

/// Advisory-lock class (first key of `pg_advisory_xact_lock(int, int)`) serializing schema
/// migrations. The two-key space does not overlap the one-key space other tools tend to use.
const LOCK_CLASS_SCHEMA: i32 = 0x736d_0001;
/// Advisory-lock class serializing `begin_run` per state ID (second key: `hashtext(state_id)`).
const LOCK_CLASS_RUNS: i32 = 0x736d_0002;

/// One connection behind a mutex (re-established on the next call if the server dropped it).
/// `begin_run` holds an advisory lock on the state ID for its transaction; state updates lock
/// the state row with `SELECT … FOR UPDATE`. Lock waits give up after [`BUSY_TIMEOUT`]; every
/// round trip has a client-side deadline too (see [`DbTimeouts`]).
pub(crate) struct PgEngine {
    client: Mutex<PgClient>,
    config: Config,
    timeouts: DbTimeouts,
    target: String,
    label: String,
}

impl fmt::Debug for PgEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgEngine")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl PgEngine {
    /// Connect to the server named by `uri` (a `postgresql://` URI) and create or upgrade
    /// smelt's tables, waiting no longer than `timeouts` allow.
    pub(crate) fn open(uri: &str, timeouts: &DbTimeouts) -> Result<Self, DbError> {
        let (config, target) = connect::parse(uri)?;
        let mut client = connect::connect(&config, &target, timeouts)?;
        let pg_err = |action: &str| {
            let target = target.clone();
            let action = action.to_string();
            move |e: PgError| DbError::Postgres {
                target,
                action,
                reason: explain(&e),
            }
        };
        let schema: Option<String> = client
            .query_one("SELECT current_schema()::TEXT", &[])
            .and_then(|row| Ok(row.try_get(0)?))
            .map_err(pg_err("find the current schema"))?;
        let Some(schema) = schema else {
            return Err(DbError::Postgres {
                target,
                action: "choose a schema for smelt's tables".to_string(),
                reason: "no schema in the connection's search_path exists; create it (CREATE \
                         SCHEMA …) or fix the search_path option in database_uri"
                    .to_string(),
            });
        };
        let label = if schema == "public" {
            target.clone()
        } else {
            format!("{target} (schema {schema})")
        };
        match schema::migrate(&mut client).map_err(pg_err("create or upgrade smelt's tables"))? {
            Migrated::UpToDate => {}
            Migrated::TooNew(found) => {
                return Err(DbError::SchemaTooNew {
                    database: label,
                    found,
                    supported: SCHEMA_VERSION,
                })
            }
        }
        Ok(PgEngine {
            client: Mutex::new(client),
            config,
            timeouts: *timeouts,
            target,
            label,
        })
    }

    /// The shared connection, reconnecting first if the server closed it (restart, idle
    /// timeout). A panic while holding it cannot leave a transaction open (the driver rolls
    /// back on drop), so a poisoned lock is simply reused.
    fn client(&self) -> Result<MutexGuard<'_, PgClient>, DbError> {
        let mut client = self
            .client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if client.is_closed() {
            *client = connect::connect(&self.config, &self.target, &self.timeouts)?;
        }
        Ok(client)
    }

    /// Wrap a driver error with the database and what we were doing.
    fn pg_err<E: Into<PgError>>(&self, action: &str) -> impl FnOnce(E) -> DbError + '_ {
        let action = action.to_string();
        move |e| DbError::Postgres {
            target: self.label.clone(),
            action,
            reason: explain(&e.into()),
        }
    }

    /// Map a driver error to a state error: a lock wait that hit `lock_timeout` is
    /// [`StateError::Locked`].
    fn state_err<E: Into<PgError>>(
        &self,
        id: &str,
        action: &str,
    ) -> impl FnOnce(E) -> StateError + '_ {
        let id = id.to_string();
        let action = action.to_string();
        move |e| {
            let e: PgError = e.into();
            if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
                StateError::Locked {
                    lock_path: format!("row {id:?} of smelt_state in {}", self.label),
                    id,
                    locked_at: None,
                    waited: BUSY_TIMEOUT,
                }
            } else {
                StateError::Backend(self.pg_err(&action)(e).to_string())
            }
        }
    }
}

/// A failed statement, explained: the server's error, or which bound ran out and what was
/// waited for.
fn explain(e: &PgError) -> String {
    match e.code() {
        Some(code) if *code == SqlState::LOCK_NOT_AVAILABLE => format!(
            "{e}; another smelt process held the lock for longer than {}s (its transaction may \
             be stuck; see pg_stat_activity)",
            BUSY_TIMEOUT.as_secs()
        ),
        Some(code) if *code == SqlState::QUERY_CANCELED => format!(
            "{e}; the statement ran longer than smelt's statement_timeout (set by \
             {})",
            client::STATEMENT_SETTING
        ),
        _ => e.to_string(),
    }
}

/// Create smelt's tables in the database `uri` names with only the migrations up to
/// `version`, as an older smelt left them (to test upgrades).
#[cfg(test)]
pub(crate) fn create_at_version(uri: &str, version: i64) -> Result<(), String> {
    drop(crate::test_support::connect_or_explain(uri));
    let (config, target) = connect::parse(uri).map_err(|e| e.to_string())?;
    let mut client =
        connect::connect(&config, &target, &DbTimeouts::default()).map_err(|e| e.to_string())?;
    schema::migrate_to(&mut client, version)
        .map(drop)
        .map_err(|e| e.to_string())
}

impl Engine for PgEngine {
    fn label(&self) -> &str {
        &self.label
    }

    fn sqlite_path(&self) -> Option<&Path> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StateStore;
    use crate::test_support::{connect_or_explain, postgres_admin_uri, Kind, TestDb};
    use crate::SystemDb;

    fn open(f: &TestDb) -> PgEngine {
        match PgEngine::open(f.uri(), &DbTimeouts::default()) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn tables_are_prefixed_and_live_in_the_current_schema() {
        let f = TestDb::new(Kind::Postgres);
        let engine = open(&f);
        assert!(
            engine.label().contains("(schema smelt_test_"),
            "{}",
            engine.label()
        );
        let tables = f.query_text(
            "SELECT string_agg(table_name::TEXT, ',' ORDER BY table_name) \
             FROM information_schema.tables WHERE table_schema = current_schema()",
        );
        assert_eq!(
            tables.as_deref(),
            Some("smelt_runs,smelt_schedule_ticks,smelt_schema_version,smelt_settings,smelt_state")
        );
    }

    #[test]
    fn a_dropped_connection_is_reestablished() {
        let f = TestDb::new(Kind::Postgres);
        let engine = open(&f);
        let pid: i32 = match engine.client() {
            Ok(mut c) => match c.query_one("SELECT pg_backend_pid()", &[]) {
                Ok(row) => row.try_get(0).unwrap_or(0),
                Err(e) => panic!("{e}"),
            },
            Err(e) => panic!("{e}"),
        };
        let mut admin = connect_or_explain(&postgres_admin_uri());
        assert!(admin
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .is_ok());
        // The first call may notice the loss; the next one reconnects.
        let _ = engine.read_state("dev:a-to-b");
        match engine.read_state("dev:a-to-b") {
            Ok(None) => {}
            other => panic!("expected a reconnect and no state, got {other:?}"),
        }
    }

    #[test]
    fn missing_schema_is_explained() {
        let uri = format!(
            "{}?options=-csearch_path%3Dsmelt_no_such_schema_{}",
            postgres_admin_uri(),
            std::process::id()
        );
        drop(connect_or_explain(&postgres_admin_uri()));
        let err = PgEngine::open(&uri, &DbTimeouts::default())
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("search_path") && e.contains("CREATE SCHEMA")),
            "{err:?}"
        );
    }

    fn quick(connect_ms: u64, statement_ms: u64) -> DbTimeouts {
        DbTimeouts {
            connect: Some(std::time::Duration::from_millis(connect_ms)),
            statement: Some(std::time::Duration::from_millis(statement_ms)),
            max_retries: 1,
            retry_pause: std::time::Duration::from_millis(100),
            deadline: None,
        }
    }

    #[test]
    fn a_server_that_never_answers_fails_within_the_connect_bound() {
        let proxy = match smelt_testsupport::FrozenProxy::silent() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let uri = format!(
            "postgresql://smelt:hidden@127.0.0.1:{}/warehouse",
            proxy.port()
        );
        let started = std::time::Instant::now();
        let err = PgEngine::open(&uri, &quick(500, 1000)).err();
        let took = started.elapsed();
        // Two attempts of 0.5 s and one pause of 0.1 s; never the driver's unbounded wait.
        assert!(took < std::time::Duration::from_secs(4), "{took:?}");
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        for needle in [
            "postgresql://smelt@127.0.0.1",
            "did not answer within 0.5s",
            "database_connect_timeout_seconds",
            "2 attempts",
        ] {
            assert!(text.contains(needle), "{needle} missing: {text}");
        }
        assert!(!text.contains("hidden"), "{text}");
        assert_eq!(proxy.accepted(), 2);
    }

    #[test]
    fn a_uri_connect_timeout_wins() {
        let proxy = match smelt_testsupport::FrozenProxy::silent() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let uri = format!(
            "postgresql://smelt@127.0.0.1:{}/w?connect_timeout=1",
            proxy.port()
        );
        let timeouts = DbTimeouts {
            connect: Some(std::time::Duration::from_secs(600)),
            max_retries: 0,
            ..DbTimeouts::default()
        };
        let started = std::time::Instant::now();
        let text = PgEngine::open(&uri, &timeouts)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert!(text.contains("within 1.0s"), "{text}");
    }

    #[test]
    fn a_server_that_stops_answering_mid_session_fails_within_the_statement_bound() {
        let f = TestDb::new(Kind::Postgres);
        let upstream = match std::net::ToSocketAddrs::to_socket_addrs("127.0.0.1:5432") {
            Ok(mut a) => a.next(),
            Err(e) => panic!("{e}"),
        };
        let Some(upstream) = upstream else {
            panic!("no address for the test server")
        };
        let proxy = match smelt_testsupport::FrozenProxy::forwarding(upstream) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let uri = f
            .uri()
            .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port()));
        let engine = match PgEngine::open(&uri, &quick(1000, 1000)) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        assert!(matches!(engine.read_state("dev:a-to-b"), Ok(None)));
        proxy.freeze();
        let started = std::time::Instant::now();
        let err = engine.read_state("dev:a-to-b").err().map(|e| e.to_string());
        let took = started.elapsed();
        // statement 1 s + grace 1 s.
        assert!(took < std::time::Duration::from_secs(4), "{took:?}");
        let text = err.unwrap_or_default();
        for needle in [
            "read state",
            "did not answer within 2.0s",
            "database_statement_timeout_seconds",
        ] {
            assert!(text.contains(needle), "{needle} missing: {text}");
        }
        // The broken connection is replaced: the next call reconnects, and that too is bounded.
        let started = std::time::Instant::now();
        assert!(engine.read_state("dev:a-to-b").is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_long_statement_hits_the_servers_statement_timeout() {
        let f = TestDb::new(Kind::Postgres);
        let engine = match PgEngine::open(f.uri(), &quick(2000, 300)) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        let err = match engine.client() {
            Ok(mut c) => c.batch_execute("SELECT pg_sleep(5)").err(),
            Err(e) => panic!("{e}"),
        };
        let text = err.map(|e| explain(&e)).unwrap_or_default();
        assert!(
            text.contains("statement timeout")
                && text.contains("database_statement_timeout_seconds"),
            "{text}"
        );
    }

    #[test]
    fn missing_database_is_explained_without_retrying() {
        drop(connect_or_explain(&postgres_admin_uri()));
        let uri = "postgresql://postgres:not-shown@127.0.0.1:5432/smelt_no_such_database";
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        match SystemDb::open_uri(uri, &dir.path().join("smelt.db")) {
            Err(e @ DbError::Connect { attempts: 1, .. }) => {
                let text = e.to_string();
                assert!(
                    text.contains("postgresql://postgres@127.0.0.1:5432/smelt_no_such_database"),
                    "{text}"
                );
                assert!(text.contains("does not exist"), "{text}");
                assert!(text.contains("createdb"), "{text}");
                assert!(!text.contains("not-shown"), "{text}");
            }
            other => panic!("expected a Connect error after one attempt, got {other:?}"),
        }
        assert!(!dir.path().join("smelt.db").exists());
    }
}
