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

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::runtime::{Builder, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, CopyOutStream, GenericClient, NoTls, Row, Transaction};

/// Why a call failed: the driver's error, or our deadline.
#[derive(Debug)]
pub enum PgError {
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
    pub fn code(&self) -> Option<&SqlState> {
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
            PgError::Driver(e) => f.write_str(&crate::describe(e)),
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
pub(crate) fn bounded<F: Future>(
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

/// The bounds of a connection and the settings that set them (named in timeout messages).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Bound on connecting (TCP, start-up, authentication); `None`: unbounded.
    pub connect: Option<Duration>,
    /// Bound on each later round trip (one call, or one chunk of a stream); `None`: unbounded.
    pub round_trip: Option<Duration>,
    /// What sets `connect`, e.g. "database_connect_timeout_seconds".
    pub connect_setting: &'static str,
    /// What sets `round_trip`, e.g. "database_statement_timeout_seconds".
    pub round_trip_setting: &'static str,
}

/// One connection and the runtime that drives it.
pub struct PgClient {
    rt: Runtime,
    client: Client,
    /// Bound on one round trip (`None`: unbounded).
    limit: Option<Duration>,
    /// What sets `limit`, for messages.
    setting: &'static str,
    /// Set when a call timed out: the protocol state is unknown, so the connection is dropped.
    broken: bool,
}

impl PgClient {
    /// Connect (TCP and start-up) within `bounds.connect`; later calls each get
    /// `bounds.round_trip`. No TLS: the callers refuse `sslmode=require` before this.
    pub fn connect(config: &Config, bounds: Bounds) -> Result<PgClient, PgError> {
        let rt = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                PgError::Runtime(format!("could not start the database I/O runtime: {e}"))
            })?;
        let (client, connection) = bounded(
            &rt,
            bounds.connect,
            bounds.connect_setting,
            config.connect(NoTls),
        )??;
        // Polled whenever a call blocks on the runtime; ends when the socket closes.
        rt.spawn(async move {
            let _ = connection.await;
        });
        Ok(PgClient {
            rt,
            client,
            limit: bounds.round_trip,
            setting: bounds.round_trip_setting,
            broken: false,
        })
    }

    /// Whether the connection can no longer be used (closed by the server, or a call timed out).
    pub fn is_closed(&self) -> bool {
        self.broken || self.client.is_closed()
    }

    /// Note a timed-out call (the connection is then unusable) and flatten the result.
    pub(crate) fn settle<T>(
        broken: &mut bool,
        out: Result<Result<T, tokio_postgres::Error>, PgError>,
    ) -> Result<T, PgError> {
        if matches!(out, Err(PgError::TimedOut { .. })) {
            *broken = true;
        }
        Ok(out??)
    }

    /// Start `COPY (…) TO STDOUT …` (`sql` is the whole statement) and return its data as a
    /// stream of chunks, each read within the round-trip bound, so a table of any size is read
    /// in bounded memory. Dropping the stream before its end marks the connection broken (the
    /// server would still be sending), so the caller connects afresh for more work.
    pub fn copy_out(&mut self, sql: &str) -> Result<CopyOut<'_>, PgError> {
        let limit = self.limit;
        let setting = self.setting;
        let client = &self.client;
        let out = bounded(&self.rt, limit, setting, async move {
            let statement = client.prepare(sql).await?;
            client.copy_out(&statement).await
        });
        let stream = Self::settle(&mut self.broken, out)?;
        Ok(CopyOut {
            rt: &self.rt,
            limit,
            setting,
            broken: &mut self.broken,
            stream: Box::pin(stream),
            done: false,
        })
    }

    /// Begin a transaction; it rolls back when dropped without [`PgTx::commit`].
    pub fn transaction(&mut self) -> Result<PgTx<'_>, PgError> {
        let PgClient {
            rt,
            client,
            limit,
            setting,
            broken,
        } = self;
        match bounded(rt, *limit, setting, client.transaction()) {
            Ok(Ok(tx)) => Ok(PgTx {
                rt,
                tx: Some(tx),
                limit: *limit,
                setting,
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
pub struct PgTx<'a> {
    rt: &'a Runtime,
    /// `None` once committed.
    tx: Option<Transaction<'a>>,
    limit: Option<Duration>,
    setting: &'static str,
    broken: &'a mut bool,
}

impl<'a> PgTx<'a> {
    /// Commit, within the same deadline.
    pub fn commit(mut self) -> Result<(), PgError> {
        let Some(tx) = self.tx.take() else {
            return Ok(());
        };
        let out = bounded(self.rt, self.limit, self.setting, tx.commit());
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
            let out = bounded(self.rt, self.limit, self.setting, tx.rollback());
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
pub trait PgCalls {
    /// What the calls go through: a client or a transaction.
    type Session: GenericClient + Sync;

    /// The runtime, the bound, the broken flag and the session to call.
    fn parts(&mut self) -> Result<Parts<'_, Self::Session>, PgError>;

    /// Run statements separated by `;` (no parameters).
    fn batch_execute(&mut self, sql: &str) -> Result<(), PgError> {
        let p = self.parts()?;
        let out = bounded(p.rt, p.limit, p.setting, p.session.batch_execute(sql));
        PgClient::settle(p.broken, out)
    }

    /// Run one statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PgError> {
        let p = self.parts()?;
        let out = bounded(p.rt, p.limit, p.setting, p.session.execute(sql, params));
        PgClient::settle(p.broken, out)
    }

    /// All rows of a query.
    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, PgError> {
        let p = self.parts()?;
        let out = bounded(p.rt, p.limit, p.setting, p.session.query(sql, params));
        PgClient::settle(p.broken, out)
    }

    /// Exactly one row.
    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, PgError> {
        let p = self.parts()?;
        let out = bounded(p.rt, p.limit, p.setting, p.session.query_one(sql, params));
        PgClient::settle(p.broken, out)
    }

    /// At most one row.
    fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, PgError> {
        let p = self.parts()?;
        let out = bounded(p.rt, p.limit, p.setting, p.session.query_opt(sql, params));
        PgClient::settle(p.broken, out)
    }
}

/// What a bounded call needs, borrowed from a [`PgClient`] or a [`PgTx`].
pub struct Parts<'s, S> {
    pub(crate) rt: &'s Runtime,
    pub(crate) limit: Option<Duration>,
    pub(crate) setting: &'static str,
    pub(crate) broken: &'s mut bool,
    pub(crate) session: &'s S,
}

impl PgCalls for PgClient {
    type Session = Client;

    fn parts(&mut self) -> Result<Parts<'_, Client>, PgError> {
        Ok(Parts {
            rt: &self.rt,
            limit: self.limit,
            setting: self.setting,
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
            setting: self.setting,
            broken: &mut *self.broken,
            session,
        })
    }
}

/// The data of a `COPY … TO STDOUT`, chunk by chunk (see [`PgClient::copy_out`]).
pub struct CopyOut<'c> {
    rt: &'c Runtime,
    limit: Option<Duration>,
    setting: &'static str,
    broken: &'c mut bool,
    stream: std::pin::Pin<Box<CopyOutStream>>,
    done: bool,
}

impl CopyOut<'_> {
    /// The next chunk of data (for the text, CSV and binary formats the server sends one row
    /// per chunk), or `None` at the end; waits at most the round-trip bound.
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>, PgError> {
        if self.done {
            return Ok(None);
        }
        let stream = &mut self.stream;
        let out = bounded(self.rt, self.limit, self.setting, async move {
            stream.next().await.transpose()
        });
        let chunk = PgClient::settle(self.broken, out)?;
        if chunk.is_none() {
            self.done = true;
        }
        Ok(chunk)
    }
}

impl Drop for CopyOut<'_> {
    fn drop(&mut self) {
        if !self.done {
            *self.broken = true;
        }
    }
}
