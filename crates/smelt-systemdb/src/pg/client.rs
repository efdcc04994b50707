//! A synchronous PostgreSQL connection in which every round trip has a deadline.
//!
//! The `postgres` crate's blocking client cannot time out a read: a server (or a proxy, or a
//! half-dead network path) that accepts the connection and then never answers hangs it for
//! ever, and TCP keepalives do not help while the peer's kernel still acknowledges. So smelt
//! drives `tokio-postgres` on a private current-thread runtime — exactly what the blocking
//! crate does inside — and wraps each call in `tokio::time::timeout`. A call that runs out of
//! time marks the connection broken; the engine reconnects on its next call.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, GenericClient, NoTls, Row, Transaction};

/// Why a call failed: the driver's error, or our deadline.
#[derive(Debug)]
pub(crate) enum PgError {
    /// The driver (or the server) reported an error.
    Driver(tokio_postgres::Error),
    /// No answer within the bound; `setting` names the project setting that sets it.
    TimedOut {
        /// How long we waited.
        after: Duration,
        /// What waited, e.g. "database_statement_timeout_seconds".
        setting: &'static str,
    },
    /// The runtime that drives the connection could not be started.
    Runtime(String),
}

impl PgError {
    /// The server's SQLSTATE, when it sent one.
    pub(crate) fn code(&self) -> Option<&SqlState> {
        match self {
            PgError::Driver(e) => e.code(),
            _ => None,
        }
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Driver(e)
    }
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PgError::Driver(e) => f.write_str(&super::describe(e)),
            PgError::TimedOut { after, setting } => write!(
                f,
                "the server did not answer within {:.1}s (smelt's bound, set by {setting}); it \
                 accepted the connection but is stalled, overloaded or unreachable behind a \
                 proxy",
                after.as_secs_f64()
            ),
            PgError::Runtime(reason) => f.write_str(reason),
        }
    }
}

/// Run `future` on `rt`, giving up after `limit` (`None`: no limit).
fn bounded<F: Future>(
    rt: &Runtime,
    limit: Option<Duration>,
    setting: &'static str,
    future: F,
) -> Result<F::Output, PgError> {
    match limit {
        None => Ok(rt.block_on(future)),
        Some(after) => rt
            // The timer must be created inside the runtime.
            .block_on(async move { tokio::time::timeout(after, future).await })
            .map_err(|_| PgError::TimedOut { after, setting }),
    }
}

/// Which setting bounds each round trip, for messages.
pub(crate) const STATEMENT_SETTING: &str = "database_statement_timeout_seconds";
/// Which setting bounds connecting, for messages.
pub(crate) const CONNECT_SETTING: &str =
    "database_connect_timeout_seconds, or connect_timeout= in database_uri";

/// One connection and the runtime that drives it.
pub(crate) struct PgClient {
    rt: Runtime,
    client: Client,
    /// Bound on one round trip (`None`: unbounded).
    limit: Option<Duration>,
    /// Set when a call timed out: the protocol state is unknown, so the connection is dropped.
    broken: bool,
}

impl PgClient {
    /// Connect (TCP and start-up) within `connect_limit`; later calls each get `limit`.
    pub(crate) fn connect(
        config: &Config,
        connect_limit: Option<Duration>,
        limit: Option<Duration>,
    ) -> Result<PgClient, PgError> {
        let rt = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                PgError::Runtime(format!("could not start the database I/O runtime: {e}"))
            })?;
        let (client, connection) =
            bounded(&rt, connect_limit, CONNECT_SETTING, config.connect(NoTls))??;
        // Polled whenever a call blocks on the runtime; ends when the socket closes.
        rt.spawn(async move {
            let _ = connection.await;
        });
        Ok(PgClient {
            rt,
            client,
            limit,
            broken: false,
        })
    }

    /// Whether the connection can no longer be used (closed by the server, or a call timed out).
    pub(crate) fn is_closed(&self) -> bool {
        self.broken || self.client.is_closed()
    }

    /// Note a timed-out call (the connection is then unusable) and flatten the result.
    fn settle<T>(
        broken: &mut bool,
        out: Result<Result<T, tokio_postgres::Error>, PgError>,
    ) -> Result<T, PgError> {
        if matches!(out, Err(PgError::TimedOut { .. })) {
            *broken = true;
        }
        Ok(out??)
    }

    /// Begin a transaction; it rolls back when dropped without [`PgTx::commit`].
    pub(crate) fn transaction(&mut self) -> Result<PgTx<'_>, PgError> {
        let PgClient {
            rt,
            client,
            limit,
            broken,
        } = self;
        match bounded(rt, *limit, STATEMENT_SETTING, client.transaction()) {
            Ok(Ok(tx)) => Ok(PgTx {
                rt,
                tx: Some(tx),
                limit: *limit,
                broken,
            }),
            Ok(Err(e)) => Err(PgError::Driver(e)),
            Err(e) => {
                *broken = true;
                Err(e)
            }
        }
    }
}

/// An open transaction on a [`PgClient`], with the same per-call deadline. Dropped without
/// [`PgTx::commit`], it rolls back at once (tokio-postgres would only queue the `ROLLBACK`
/// until the connection is next driven, leaving row locks held meanwhile).
pub(crate) struct PgTx<'a> {
    rt: &'a Runtime,
    /// `None` once committed.
    tx: Option<Transaction<'a>>,
    limit: Option<Duration>,
    broken: &'a mut bool,
}

impl<'a> PgTx<'a> {
    /// Commit, within the same deadline.
    pub(crate) fn commit(mut self) -> Result<(), PgError> {
        let Some(tx) = self.tx.take() else {
            return Ok(());
        };
        let out = bounded(self.rt, self.limit, STATEMENT_SETTING, tx.commit());
        PgClient::settle(self.broken, out)
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            if *self.broken {
                // Already timed out: do not wait again; the server rolls back when the engine
                // drops this connection.
                return;
            }
            let out = bounded(self.rt, self.limit, STATEMENT_SETTING, tx.rollback());
            if !matches!(out, Ok(Ok(()))) {
                // Unknown state: let the engine reconnect (the server then rolls back).
                *self.broken = true;
            }
        }
    }
}

/// The bounded calls of a connection or of a transaction on it, written once: each sends one
/// request and waits at most the connection's bound, marking the connection broken when the
/// bound is hit (its protocol state is then unknown).
pub(crate) trait PgCalls {
    /// What the calls go through: a client or a transaction.
    type Session: GenericClient + Sync;

    /// The runtime, the bound, the broken flag and the session to call.
    fn parts(&mut self) -> Result<Parts<'_, Self::Session>, PgError>;

    /// Run statements separated by `;` (no parameters).
    fn batch_execute(&mut self, sql: &str) -> Result<(), PgError> {
        let p = self.parts()?;
        let out = bounded(
            p.rt,
            p.limit,
            STATEMENT_SETTING,
            p.session.batch_execute(sql),
        );
        PgClient::settle(p.broken, out)
    }

    /// Run one statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PgError> {
        let p = self.parts()?;
        let out = bounded(
            p.rt,
            p.limit,
            STATEMENT_SETTING,
            p.session.execute(sql, params),
        );
        PgClient::settle(p.broken, out)
    }

    /// All rows of a query.
    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, PgError> {
        let p = self.parts()?;
        let out = bounded(
            p.rt,
            p.limit,
            STATEMENT_SETTING,
            p.session.query(sql, params),
        );
        PgClient::settle(p.broken, out)
    }

    /// Exactly one row.
    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, PgError> {
        let p = self.parts()?;
        let out = bounded(
            p.rt,
            p.limit,
            STATEMENT_SETTING,
            p.session.query_one(sql, params),
        );
        PgClient::settle(p.broken, out)
    }

    /// At most one row.
    fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, PgError> {
        let p = self.parts()?;
        let out = bounded(
            p.rt,
            p.limit,
            STATEMENT_SETTING,
            p.session.query_opt(sql, params),
        );
        PgClient::settle(p.broken, out)
    }
}

/// What a bounded call needs, borrowed from a [`PgClient`] or a [`PgTx`].
pub(crate) struct Parts<'s, S> {
    rt: &'s Runtime,
    limit: Option<Duration>,
    broken: &'s mut bool,
    session: &'s S,
}

impl PgCalls for PgClient {
    type Session = Client;

    fn parts(&mut self) -> Result<Parts<'_, Client>, PgError> {
        Ok(Parts {
            rt: &self.rt,
            limit: self.limit,
            broken: &mut self.broken,
            session: &self.client,
        })
    }
}

impl<'a> PgCalls for PgTx<'a> {
    type Session = Transaction<'a>;

    fn parts(&mut self) -> Result<Parts<'_, Transaction<'a>>, PgError> {
        let session = self
            .tx
            .as_ref()
            .ok_or_else(|| PgError::Runtime("the transaction has ended".to_string()))?;
        Ok(Parts {
            rt: self.rt,
            limit: self.limit,
            broken: &mut *self.broken,
            session,
        })
    }
}
