//! `COPY … FROM STDIN`: sending a table's worth of rows to the server in buffers, each send
//! under the connection's round-trip bound.
//!
//! A loader builds rows in the COPY text (or binary) format itself and hands over whole
//! buffers, so the driver never sees a row; [`CopyIn::finish`] ends the COPY and returns the
//! server's row count. Dropping a [`CopyIn`] without finishing aborts the COPY (the server
//! discards what it received, and a surrounding transaction can only roll back).

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio::runtime::Runtime;
use tokio_postgres::{CopyInSink, GenericClient};

use crate::client::{bounded, PgCalls, PgClient};
use crate::PgError;

/// A `COPY … FROM STDIN` in progress on a client or a transaction (see [`copy_in`]).
pub struct CopyIn<'c> {
    rt: &'c Runtime,
    limit: Option<Duration>,
    setting: &'static str,
    broken: &'c mut bool,
    sink: Pin<Box<CopyInSink<Bytes>>>,
}

/// Start `sql` (a whole `COPY … FROM STDIN …` statement) on `calls` — a [`PgClient`] or a
/// [`crate::PgTx`] — within the round-trip bound.
pub fn copy_in<'c, C: PgCalls>(calls: &'c mut C, sql: &str) -> Result<CopyIn<'c>, PgError> {
    let p = calls.parts()?;
    let session = p.session;
    let out = bounded(p.rt, p.limit, p.setting, async move {
        session.client().copy_in::<_, Bytes>(sql).await
    });
    let sink = PgClient::settle(p.broken, out)?;
    Ok(CopyIn {
        rt: p.rt,
        limit: p.limit,
        setting: p.setting,
        broken: p.broken,
        sink: Box::pin(sink),
    })
}

impl CopyIn<'_> {
    /// Send one buffer of rows (any split of the data stream is allowed: rows may span
    /// buffers). Waits at most the round-trip bound for the socket to accept it.
    pub fn send(&mut self, data: Bytes) -> Result<(), PgError> {
        let sink = &mut self.sink;
        let out = bounded(self.rt, self.limit, self.setting, async move {
            sink.send(data).await
        });
        PgClient::settle(self.broken, out)
    }

    /// End the COPY; the number of rows the server stored. The server checks every row only
    /// now (or earlier), so a bad value is reported here with its line and column.
    pub fn finish(mut self) -> Result<u64, PgError> {
        let sink = self.sink.as_mut();
        let out = bounded(self.rt, self.limit, self.setting, sink.finish());
        PgClient::settle(self.broken, out)
    }

    /// Abandon the COPY: the server discards its rows (and fails a surrounding transaction,
    /// which must then roll back). The same as dropping it; named for readers of the caller.
    pub fn abort(self) {}
}

/// Where a failed COPY stopped, from the server's context line ("COPY t, line 2, column a:
/// …"): the 1-based line of the data and the column, when the server named them. A loader
/// maps the line back to its input record for the error message.
pub fn failed_row(e: &PgError) -> Option<(u64, Option<String>)> {
    let PgError::Driver(e) = e else { return None };
    let context = e.as_db_error()?.where_()?;
    let rest = &context[context.find(", line ")? + ", line ".len()..];
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let line = rest[..digits].parse().ok()?;
    let column = rest[digits..].strip_prefix(", column ").map(|c| {
        let end = c.find(": ").unwrap_or(c.len());
        c[..end].to_string()
    });
    Some((line, column))
}

#[cfg(test)]
mod tests {
    //! Against the PostgreSQL on 127.0.0.1:5432 (user postgres, database test).
    use super::*;
    use crate::{Bounds, PgCalls};

    fn connect() -> PgClient {
        let config = crate::parse_uri("postgresql://postgres@127.0.0.1:5432/test", "copy_in test")
            .unwrap_or_else(|e| panic!("{e}"));
        let bounds = Bounds {
            connect: Some(Duration::from_secs(10)),
            round_trip: Some(Duration::from_secs(30)),
            connect_setting: "test_connect_timeout",
            round_trip_setting: "test_round_trip_timeout",
        };
        PgClient::connect(&config, bounds)
            .unwrap_or_else(|e| panic!("PostgreSQL at 127.0.0.1:5432 is needed: {e}"))
    }

    #[test]
    fn rows_split_across_buffers_arrive_and_are_counted() {
        let mut client = connect();
        let mut tx = client.transaction().unwrap_or_else(|e| panic!("{e}"));
        tx.batch_execute("CREATE TEMP TABLE t (a int, b text) ON COMMIT DROP")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut copy =
            copy_in(&mut tx, "COPY t (a, b) FROM STDIN").unwrap_or_else(|e| panic!("{e}"));
        let mut data = String::new();
        for i in 0..20_000 {
            data.push_str(&format!("{i}\tx\\ty\\\\é\n"));
        }
        data.push_str("20000\t\\N\n");
        // Split mid-row: COPY data is a byte stream.
        let (a, b) = data.as_bytes().split_at(data.len() / 2 + 3);
        copy.send(Bytes::copy_from_slice(a))
            .unwrap_or_else(|e| panic!("{e}"));
        copy.send(Bytes::copy_from_slice(b))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(copy.finish().unwrap_or_else(|e| panic!("{e}")), 20_001);
        let row = tx
            .query_one("SELECT count(*), count(b), min(b), max(a) FROM t", &[])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(row.get::<_, i64>(0), 20_001);
        assert_eq!(row.get::<_, i64>(1), 20_000);
        assert_eq!(row.get::<_, String>(2), "x\ty\\é");
        assert_eq!(row.get::<_, i32>(3), 20_000);
        tx.commit().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_bad_value_fails_at_finish_and_an_abort_leaves_the_connection_usable() {
        let mut client = connect();
        client
            .batch_execute("CREATE TEMP TABLE u (a int)")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut copy = copy_in(&mut client, "COPY u FROM STDIN").unwrap_or_else(|e| panic!("{e}"));
        copy.send(Bytes::from_static(b"1\nnot a number\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        let err = copy.finish().expect_err("a bad integer must fail");
        assert!(err.to_string().contains("not a number"), "{err}");
        assert_eq!(failed_row(&err), Some((2, Some("a".to_string()))));
        let mut copy = copy_in(&mut client, "COPY u FROM STDIN").unwrap_or_else(|e| panic!("{e}"));
        copy.send(Bytes::from_static(b"7\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        copy.abort();
        let n: i64 = client
            .query_one("SELECT count(*) FROM u", &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .get(0);
        assert_eq!(n, 0, "neither the failed nor the aborted COPY stored a row");
    }
}
