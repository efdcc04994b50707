//! The loading thread: owns the loading connection and runs what the reading thread asks, so
//! PostgreSQL stores one piece of COPY data while the target parses the next.
//!
//! A drain is one transaction holding every stream's pending rows. Per stream:
//! - without key properties: `COPY` straight into the table;
//! - with key properties, into an empty table: `COPY` straight in until a key repeats within
//!   the batch ([`Command::Repeat`]), then the rest goes through staging as below;
//! - with key properties otherwise: `COPY` into a temporary staging table (dropped at commit),
//!   drop all but the last row of a repeated key, `UPDATE … FROM` staging where the key exists
//!   and `INSERT … WHERE NOT EXISTS` the rest — no unique index needed, so tables made by
//!   others merge the same way.
//!
//! [`Command::Commit`] is answered only after the commit, and the reading thread writes the
//! STATE only then.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use bytes::Bytes;
use smelt_pg::copy_in::{copy_in, failed_row, CopyIn};
use smelt_pg::tokio_postgres::error::SqlState;
use smelt_pg::{quote_ident, PgCalls, PgClient, PgError, PgTx};

use crate::table::{self, qualified, TableSpec};

/// Pieces of COPY data in flight between the threads (about [`CHUNK`] bytes each for the
/// stream being read; a held stream's batch goes as one piece), so memory stays bounded when
/// PostgreSQL is slower than parsing.
const IN_FLIGHT: usize = 4;
/// The size of a piece of COPY data the reading thread hands over.
pub const CHUNK: usize = 1 << 20;

/// What the reading thread asks of the loading thread.
pub enum Command {
    /// Begin loading a stream's batch (beginning the transaction if none is open).
    Start {
        /// The table.
        spec: TableSpec,
        /// Empty the table first (`load_method: overwrite`, first batch of the run).
        empty_first: bool,
    },
    /// COPY data of whole rows, and how many.
    Data(Bytes, u64),
    /// A key repeats from here on within the batch: stop loading straight into the table.
    Repeat,
    /// The stream's batch is complete; `duplicates`: a key repeated in it.
    End {
        /// Whether a key repeated in the batch.
        duplicates: bool,
    },
    /// Commit the transaction (answered with [`Reply::Done`]).
    Commit,
    /// Retire rows of versions older than `version` (answered with [`Reply::Done`]).
    Activate {
        /// The table.
        spec: TableSpec,
        /// The version activated.
        version: i64,
        /// Delete instead of setting `_sdc_deleted_at`.
        hard_delete: bool,
    },
}

/// Why loading failed: the message, and details when PostgreSQL refused a value.
#[derive(Debug)]
pub struct Failure {
    /// What failed.
    pub message: String,
    /// The refused value, when the server said where it was.
    pub refused: Option<Refused>,
}

/// Where PostgreSQL refused a value of a COPY.
#[derive(Debug)]
pub struct Refused {
    /// The stream.
    pub stream: String,
    /// The row of the stream's batch (0-based).
    pub row: u64,
    /// The column, when named.
    pub column: Option<String>,
    /// The server's error.
    pub error: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            message,
            refused: None,
        }
    }
}

/// The loading thread's answers.
enum Reply {
    Done,
    Failed(Failure),
}

/// The reading thread's handle on the loading thread.
pub struct Loader {
    commands: Option<SyncSender<Command>>,
    replies: Receiver<Reply>,
    thread: Option<JoinHandle<()>>,
}

impl Loader {
    /// Start a loading thread on `client`.
    pub fn start(client: PgClient) -> Result<Loader, String> {
        let (commands, inbox) = sync_channel(IN_FLIGHT);
        let (outbox, replies) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("target-postgres loader".to_string())
            .spawn(move || serve(client, &inbox, &outbox))
            .map_err(|e| format!("could not start the loading thread: {e}"))?;
        Ok(Loader {
            commands: Some(commands),
            replies,
            thread: Some(thread),
        })
    }

    /// Hand over a command; fails with the loading thread's error if it stopped.
    pub fn send(&mut self, command: Command) -> Result<(), Failure> {
        let sent = self
            .commands
            .as_ref()
            .is_some_and(|c| c.send(command).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.failure())
        }
    }

    /// Hand over a command that is answered, and wait for the answer.
    pub fn call(&mut self, command: Command) -> Result<(), Failure> {
        self.send(command)?;
        match self.replies.recv() {
            Ok(Reply::Done) => Ok(()),
            Ok(Reply::Failed(f)) => Err(f),
            Err(_) => Err(self.failure()),
        }
    }

    /// The loading thread's error (it stopped).
    fn failure(&mut self) -> Failure {
        self.commands = None;
        match self.replies.recv() {
            Ok(Reply::Failed(f)) => f,
            _ => Failure::from("the loading thread stopped unexpectedly".to_string()),
        }
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Closing the channel ends the thread; an open transaction rolls back.
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut client: PgClient, inbox: &Receiver<Command>, outbox: &SyncSender<Reply>) {
    if let Err(f) = serve_commands(&mut client, inbox, outbox) {
        let _ = outbox.send(Reply::Failed(f));
    }
}

fn protocol(what: &str) -> Failure {
    Failure::from(format!(
        "internal error in target-postgres: {what} out of order (a bug in smelt)"
    ))
}

fn serve_commands(
    client: &mut PgClient,
    inbox: &Receiver<Command>,
    outbox: &SyncSender<Reply>,
) -> Result<(), Failure> {
    while let Ok(command) = inbox.recv() {
        match command {
            Command::Start { spec, empty_first } => {
                if !transaction(client, spec, empty_first, inbox)? {
                    return Ok(());
                }
                let _ = outbox.send(Reply::Done);
            }
            Command::Commit => {
                let _ = outbox.send(Reply::Done);
            }
            Command::Activate {
                spec,
                version,
                hard_delete,
            } => {
                activate_version(client, &spec, version, hard_delete)?;
                let _ = outbox.send(Reply::Done);
            }
            Command::Data(..) => return Err(protocol("data")),
            Command::Repeat => return Err(protocol("repeat")),
            Command::End { .. } => return Err(protocol("end")),
        }
    }
    Ok(())
}

/// One transaction: streams' batches until [`Command::Commit`]. `false`: the reading thread
/// hung up (it failed), so the transaction was rolled back.
fn transaction(
    client: &mut PgClient,
    spec: TableSpec,
    empty_first: bool,
    inbox: &Receiver<Command>,
) -> Result<bool, Failure> {
    let mut tx = client
        .transaction()
        .map_err(|e| format!("could not begin a transaction: {e}"))?;
    let mut next = Some((spec, empty_first));
    let mut n = 0;
    loop {
        if let Some((spec, empty_first)) = next.take() {
            if !stream_batch(&mut tx, &spec, empty_first, n, inbox)? {
                return Ok(false);
            }
            n += 1;
        }
        match inbox.recv() {
            Ok(Command::Start { spec, empty_first }) => next = Some((spec, empty_first)),
            Ok(Command::Commit) => {
                tx.commit()
                    .map_err(|e| format!("could not commit the loaded batch: {e}"))?;
                return Ok(true);
            }
            Ok(_) => return Err(protocol("a command within a transaction")),
            Err(_) => return Ok(false),
        }
    }
}

fn column_list(spec: &TableSpec, prefix: &str) -> String {
    spec.columns
        .iter()
        .map(|(c, _)| format!("{prefix}{}", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A COPY error with the batch row it concerns (`rows_before`: rows of the batch sent by
/// earlier COPY statements).
fn copy_failure(spec: &TableSpec, e: PgError, rows_before: u64) -> Failure {
    let refused = failed_row(&e).map(|(line, column)| Refused {
        stream: spec.stream.clone(),
        row: rows_before + line.saturating_sub(1),
        column,
        error: e.to_string(),
    });
    Failure {
        message: format!(
            "stream `{}`: could not load into {}: {e}",
            spec.stream,
            qualified(&spec.schema, &spec.table)
        ),
        refused,
    }
}

/// Whether `spec`'s table has a unique index on exactly its key columns (MeltanoLabs and
/// smelt create a primary key), so `ON CONFLICT` can merge and a COPY straight into the table
/// fails instead of duplicating a key.
fn unique_on_keys(tx: &mut PgTx<'_>, spec: &TableSpec) -> Result<bool, PgError> {
    let keys: Vec<&str> = spec.keys.iter().map(String::as_str).collect();
    let row = tx.query_opt(
        "SELECT 1 FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indpred IS NULL \
           AND i.indexprs IS NULL \
           AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a \
                WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey)) \
               = (SELECT array_agg(k ORDER BY k) FROM unnest($3::text[]) k) \
         LIMIT 1",
        &[&spec.schema, &spec.table, &keys],
    )?;
    Ok(row.is_some())
}

/// How a stream's rows are being loaded.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Mode {
    /// COPY into the table; nothing to merge.
    Direct,
    /// COPY into the table after a savepoint, keeping the data: a key already in the table
    /// violates the unique index, and the data is then loaded again through staging.
    Optimistic,
    /// COPY into the staging table, merged at the end.
    Staged,
}

/// Load one stream's batch inside `tx`, reading its data from `inbox`. `false`: the reading
/// thread hung up.
fn stream_batch(
    tx: &mut PgTx<'_>,
    spec: &TableSpec,
    empty_first: bool,
    n: usize,
    inbox: &Receiver<Command>,
) -> Result<bool, Failure> {
    let target = qualified(&spec.schema, &spec.table);
    let fail = |what: &str, e: PgError| {
        Failure::from(format!(
            "stream `{}`: could not {what} {target}: {e}",
            spec.stream
        ))
    };
    table::ensure(tx, spec)?;
    if empty_first {
        tx.batch_execute(&format!("DELETE FROM {target}"))
            .map_err(|e| fail("empty (load_method: overwrite)", e))?;
    }
    let columns = column_list(spec, "");
    let keyed = !spec.keys.is_empty();
    let has_rows = keyed
        && tx
            .query_opt(&format!("SELECT 1 FROM {target} LIMIT 1"), &[])
            .map_err(|e| fail("read", e))?
            .is_some();
    let unique = keyed && unique_on_keys(tx, spec).map_err(|e| fail("read the indexes of", e))?;
    let stage = quote_ident(&format!("_smelt_stage_{n}"));
    let format = if spec.binary { " (FORMAT binary)" } else { "" };
    let stage_copy = format!("COPY {stage} ({columns}) FROM STDIN{format}");
    let direct_copy = format!("COPY {target} ({columns}) FROM STDIN{format}");
    let binary = spec.binary;
    let make_stage = |tx: &mut PgTx<'_>| -> Result<(), Failure> {
        tx.batch_execute(&format!(
            "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM {target} \
             WITH NO DATA"
        ))
        .map_err(|e| fail("make a staging table for", e))
    };
    let mut mode = match (has_rows, unique) {
        (false, _) => Mode::Direct,
        (true, true) => Mode::Optimistic,
        (true, false) => Mode::Staged,
    };
    // Whether rows of this batch may meet rows already in the table.
    let mut merge = has_rows;
    match mode {
        Mode::Optimistic => tx
            .batch_execute("SAVEPOINT smelt_direct")
            .map_err(|e| fail("load", e))?,
        Mode::Staged => make_stage(tx)?,
        Mode::Direct => {}
    }
    // Data sent in Optimistic mode, to send again through staging after a conflict.
    let mut kept: Vec<(Bytes, u64)> = Vec::new();
    let mut rows_before = 0;
    let mut rows_here = 0;
    let sql = if mode == Mode::Staged {
        &stage_copy
    } else {
        &direct_copy
    };
    let mut copy: Option<CopyIn<'_>> =
        Some(start_copy(tx, sql, binary).map_err(|e| copy_failure(spec, e, 0))?);
    let duplicates = loop {
        let command = inbox.recv();
        let Some(c) = copy.as_mut() else {
            return Err(protocol("data after a failed COPY"));
        };
        match command {
            Ok(Command::Data(bytes, rows)) => {
                send_all(c, &bytes).map_err(|e| copy_failure(spec, e, rows_before))?;
                if mode == Mode::Optimistic {
                    kept.push((bytes, rows));
                }
                rows_here += rows;
            }
            Ok(Command::Repeat) if mode != Mode::Staged => {
                let direct = copy.take().unwrap_or_else(|| unreachable!());
                let redo = finish_direct(spec, direct, binary, &mut kept, rows_before)?;
                make_stage_after(tx, &make_stage, redo.is_some())?;
                let mut c =
                    start_copy(tx, &stage_copy, binary).map_err(|e| copy_failure(spec, e, 0))?;
                match redo {
                    Some(data) => {
                        for (bytes, _) in data {
                            send_all(&mut c, &bytes).map_err(|e| copy_failure(spec, e, 0))?;
                        }
                    }
                    None => {
                        rows_before += rows_here;
                        rows_here = 0;
                    }
                }
                copy = Some(c);
                mode = Mode::Staged;
                merge = true;
            }
            Ok(Command::Repeat) => {}
            Ok(Command::End { duplicates }) => {
                let last = copy.take().unwrap_or_else(|| unreachable!());
                if mode == Mode::Staged {
                    end_copy(last, binary).map_err(|e| copy_failure(spec, e, rows_before))?;
                } else if let Some(data) =
                    finish_direct(spec, last, binary, &mut kept, rows_before)?
                {
                    make_stage_after(tx, &make_stage, true)?;
                    let mut c = start_copy(tx, &stage_copy, binary)
                        .map_err(|e| copy_failure(spec, e, 0))?;
                    for (bytes, _) in data {
                        send_all(&mut c, &bytes).map_err(|e| copy_failure(spec, e, 0))?;
                    }
                    end_copy(c, binary).map_err(|e| copy_failure(spec, e, 0))?;
                    mode = Mode::Staged;
                }
                break duplicates;
            }
            Ok(_) => return Err(protocol("a command within a stream's batch")),
            Err(_) => {
                if let Some(c) = copy.take() {
                    c.abort();
                }
                return Ok(false);
            }
        }
    };
    if mode != Mode::Staged {
        return Ok(true);
    }
    let key_match = |a: &str, b: &str| {
        spec.keys
            .iter()
            .map(|k| {
                let c = quote_ident(k);
                format!("{a}.{c} = {b}.{c}")
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    if duplicates {
        // One COPY into a new table fills its pages in input order, so the physical row
        // position (ctid) orders the records as they arrived: keep the last of each key.
        tx.batch_execute(&format!(
            "DELETE FROM {stage} a USING {stage} b WHERE {} AND a.ctid < b.ctid",
            key_match("a", "b")
        ))
        .map_err(|e| fail("keep the last record of each key for", e))?;
    }
    if !merge {
        tx.batch_execute(&format!(
            "INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage}"
        ))
        .map_err(|e| fail("insert rows into", e))?;
        return Ok(true);
    }
    let non_keys: Vec<String> = spec
        .columns
        .iter()
        .filter(|(c, _)| !spec.keys.contains(c))
        .map(|(c, _)| quote_ident(c))
        .collect();
    if unique {
        let keys: Vec<String> = spec.keys.iter().map(|k| quote_ident(k)).collect();
        let action = if non_keys.is_empty() {
            "NOTHING".to_string()
        } else {
            let sets: Vec<String> = non_keys
                .iter()
                .map(|c| format!("{c} = EXCLUDED.{c}"))
                .collect();
            format!("UPDATE SET {}", sets.join(", "))
        };
        tx.batch_execute(&format!(
            "INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage} \
             ON CONFLICT ({}) DO {action}",
            keys.join(", ")
        ))
        .map_err(|e| fail("merge rows into", e))?;
        return Ok(true);
    }
    if !non_keys.is_empty() {
        let sets: Vec<String> = non_keys.iter().map(|c| format!("{c} = s.{c}")).collect();
        tx.batch_execute(&format!(
            "UPDATE {target} t SET {} FROM {stage} s WHERE {}",
            sets.join(", "),
            key_match("t", "s")
        ))
        .map_err(|e| fail("update existing rows of", e))?;
    }
    tx.batch_execute(&format!(
        "INSERT INTO {target} ({columns}) SELECT {} FROM {stage} s \
         WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {})",
        column_list(spec, "s."),
        key_match("t", "s")
    ))
    .map_err(|e| fail("insert new rows into", e))?;
    Ok(true)
}

/// Start a COPY; in binary format, with its header sent (the rows follow in `Data`).
fn start_copy<'t>(tx: &'t mut PgTx<'_>, sql: &str, binary: bool) -> Result<CopyIn<'t>, PgError> {
    let mut copy = copy_in(tx, sql)?;
    if binary {
        copy.send(Bytes::from_static(crate::binary::HEADER))?;
    }
    Ok(copy)
}

/// End a COPY; in binary format, after sending its trailer.
fn end_copy(mut copy: CopyIn<'_>, binary: bool) -> Result<u64, PgError> {
    if binary {
        copy.send(Bytes::from_static(crate::binary::TRAILER))?;
    }
    copy.finish()
}

/// Send `bytes` in pieces of at most [`CHUNK`], each under the round-trip bound.
fn send_all(copy: &mut CopyIn<'_>, bytes: &Bytes) -> Result<(), PgError> {
    let mut offset = 0;
    while offset < bytes.len() {
        let end = (offset + CHUNK).min(bytes.len());
        copy.send(bytes.slice(offset..end))?;
        offset = end;
    }
    Ok(())
}

/// The end of the direct part (at a repeated key or the end): finish its COPY; on a key
/// conflict in Optimistic mode (`kept` holds its data), the data to send through staging.
fn finish_direct(
    spec: &TableSpec,
    copy: CopyIn<'_>,
    binary: bool,
    kept: &mut Vec<(Bytes, u64)>,
    rows_before: u64,
) -> Result<Option<Vec<(Bytes, u64)>>, Failure> {
    match end_copy(copy, binary) {
        Ok(_) => {
            kept.clear();
            Ok(None)
        }
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) && !kept.is_empty() => {
            Ok(Some(std::mem::take(kept)))
        }
        Err(e) => Err(copy_failure(spec, e, rows_before)),
    }
}

/// Make the staging table after the direct part ended; `undo`: the direct part conflicted,
/// so roll it back to the savepoint first.
fn make_stage_after(
    tx: &mut PgTx<'_>,
    make_stage: &dyn Fn(&mut PgTx<'_>) -> Result<(), Failure>,
    undo: bool,
) -> Result<(), Failure> {
    if undo {
        tx.batch_execute("ROLLBACK TO SAVEPOINT smelt_direct")
            .map_err(|e| format!("could not undo a conflicting load: {e}"))?;
    }
    make_stage(tx)
}

/// ACTIVATE_VERSION: rows of older versions (or none) are marked deleted (`_sdc_deleted_at`)
/// or, with `hard_delete`, deleted — in one transaction, after everything before was loaded.
fn activate_version(
    client: &mut PgClient,
    spec: &TableSpec,
    version: i64,
    hard_delete: bool,
) -> Result<(), Failure> {
    let target = qualified(&spec.schema, &spec.table);
    let mut tx = client
        .transaction()
        .map_err(|e| format!("could not begin a transaction: {e}"))?;
    let Some(columns) = table::describe(&mut tx, &spec.schema, &spec.table)? else {
        // Nothing was loaded yet: nothing to retire.
        return Ok(());
    };
    let needed: &[&str] = if hard_delete {
        &["_sdc_table_version"]
    } else {
        &["_sdc_table_version", "_sdc_deleted_at"]
    };
    for column in needed {
        if !columns.contains_key(*column) {
            return Err(Failure::from(format!(
                "stream `{}`: ACTIVATE_VERSION needs column {column} in {target}, which it \
                 lacks (turn add_record_metadata on, or activate_version off)",
                spec.stream
            )));
        }
    }
    let sql = if hard_delete {
        format!("DELETE FROM {target} WHERE _sdc_table_version IS NULL OR _sdc_table_version < $1")
    } else {
        format!(
            "UPDATE {target} SET _sdc_deleted_at = (now() AT TIME ZONE 'UTC') \
             WHERE (_sdc_table_version IS NULL OR _sdc_table_version < $1) \
             AND _sdc_deleted_at IS NULL"
        )
    };
    tx.execute(&sql, &[&version]).map_err(|e| {
        format!(
            "stream `{}`: could not retire old versions in {target}: {e}",
            spec.stream
        )
    })?;
    tx.commit()
        .map_err(|e| Failure::from(format!("could not commit ACTIVATE_VERSION: {e}")))
}
