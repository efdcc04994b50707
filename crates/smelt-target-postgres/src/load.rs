//! Loading batches: one transaction per drain holding every stream's rows, so the STATE that
//! follows is written only once all of them are committed.
//!
//! - Streams without key properties: `COPY` straight into the table.
//! - Streams with key properties: into an empty table with no key repeated in the batch,
//!   `COPY` straight in; otherwise `COPY` into a temporary staging table (dropped at commit),
//!   drop all but the last row of a repeated key (only when the batch repeats one), then
//!   `UPDATE … FROM` the staging rows whose key exists and `INSERT … WHERE NOT EXISTS` the
//!   others — no unique index needed, so tables made by others merge the same way.

use bytes::Bytes;
use smelt_pg::copy_in::{copy_in, failed_row};
use smelt_pg::{quote_ident, PgCalls, PgClient, PgError};

use crate::settings::{LoadMethod, Settings};
use crate::stream::Stream;
use crate::table::{self, qualified};

/// The COPY data is sent in pieces of this size.
const SEND_CHUNK: usize = 1 << 20;

/// Load every stream's pending rows in one transaction and commit. On success each stream's
/// batch is cleared; on failure nothing of it is visible.
pub fn drain(
    client: &mut PgClient,
    streams: &mut [Stream],
    settings: &Settings,
) -> Result<(), String> {
    if streams.iter().all(|s| s.rows == 0) {
        return Ok(());
    }
    let mut tx = client
        .transaction()
        .map_err(|e| format!("could not begin a transaction: {e}"))?;
    for (n, stream) in streams.iter_mut().enumerate() {
        if stream.rows > 0 {
            load(&mut tx, stream, n, settings)?;
        }
    }
    tx.commit()
        .map_err(|e| format!("could not commit the loaded batch: {e}"))?;
    for stream in streams.iter_mut() {
        if stream.rows > 0 {
            stream.clear_batch();
            if settings.load_method == LoadMethod::Overwrite {
                stream.overwritten = true;
            }
        }
    }
    Ok(())
}

/// Columns as a quoted list.
fn column_list(stream: &Stream, prefix: &str) -> String {
    stream
        .columns
        .iter()
        .map(|c| format!("{prefix}{}", quote_ident(&c.name)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Load one stream's batch inside `tx`.
fn load(
    tx: &mut impl PgCalls,
    stream: &mut Stream,
    n: usize,
    settings: &Settings,
) -> Result<(), String> {
    let target = qualified(&stream.schema, &stream.table);
    let name = stream.name.clone();
    let fail = |what: &str, e: PgError| format!("stream `{name}`: could not {what} {target}: {e}");
    table::ensure(tx, stream)?;
    if settings.load_method == LoadMethod::Overwrite && !stream.overwritten {
        tx.batch_execute(&format!("DELETE FROM {target}"))
            .map_err(|e| fail("empty (load_method: overwrite)", e))?;
    }
    let columns = column_list(stream, "");
    let direct = format!("COPY {target} ({columns}) FROM STDIN");
    if stream.keys.is_empty() {
        return copy(tx, stream, &direct);
    }
    let has_rows = tx
        .query_opt(&format!("SELECT 1 FROM {target} LIMIT 1"), &[])
        .map_err(|e| fail("read", e))?
        .is_some();
    if !has_rows && !stream.duplicates {
        // Nothing to merge with and no key twice: the primary key (if the table has one)
        // checks the rest.
        return copy(tx, stream, &direct);
    }
    let stage = quote_ident(&format!("_smelt_stage_{n}"));
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM {target} WITH NO DATA"
    ))
    .map_err(|e| fail("make a staging table for", e))?;
    copy(tx, stream, &format!("COPY {stage} ({columns}) FROM STDIN"))?;
    let key_match = |a: &str, b: &str| {
        stream
            .keys
            .iter()
            .map(|&k| {
                let c = quote_ident(&stream.columns[k].name);
                format!("{a}.{c} = {b}.{c}")
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    if stream.duplicates {
        // One COPY into a new table fills its pages in input order, so the physical row
        // position (ctid) orders the records as they arrived: keep the last of each key.
        tx.batch_execute(&format!(
            "DELETE FROM {stage} a USING {stage} b WHERE {} AND a.ctid < b.ctid",
            key_match("a", "b")
        ))
        .map_err(|e| fail("keep the last record of each key for", e))?;
    }
    if has_rows {
        let sets: Vec<String> = stream
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !stream.keys.contains(i))
            .map(|(_, c)| {
                let c = quote_ident(&c.name);
                format!("{c} = s.{c}")
            })
            .collect();
        if !sets.is_empty() {
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
            column_list(stream, "s."),
            key_match("t", "s")
        ))
        .map_err(|e| fail("insert new rows into", e))?;
    } else {
        tx.batch_execute(&format!(
            "INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage}"
        ))
        .map_err(|e| fail("insert rows into", e))?;
    }
    Ok(())
}

/// Send the stream's batch with `sql` (a `COPY … FROM STDIN`); a value the server refuses is
/// reported with the record's input line and the column.
fn copy(tx: &mut impl PgCalls, stream: &mut Stream, sql: &str) -> Result<(), String> {
    let target = qualified(&stream.schema, &stream.table);
    let data = Bytes::from(std::mem::take(&mut stream.buf));
    let explain = |e: PgError, stream: &Stream| match failed_row(&e) {
        Some((line, column)) => {
            let input_line = usize::try_from(line)
                .ok()
                .and_then(|l| stream.lines.get(l.wrapping_sub(1)))
                .map_or_else(|| "?".to_string(), u64::to_string);
            let column = column.map_or_else(String::new, |c| {
                let ty = stream
                    .columns
                    .iter()
                    .find(|x| x.name == c)
                    .map_or("", |x| x.ty.sql.as_str());
                format!(", property `{c}` (column type {ty})")
            });
            format!(
                "stream `{}`, record on input line {input_line}{column}: PostgreSQL refused \
                 the value: {e}",
                stream.name
            )
        }
        None => format!(
            "stream `{}`: could not load into {target}: {e}",
            stream.name
        ),
    };
    let mut copy = copy_in(tx, sql).map_err(|e| explain(e, stream))?;
    let mut offset = 0;
    while offset < data.len() {
        let end = (offset + SEND_CHUNK).min(data.len());
        copy.send(data.slice(offset..end))
            .map_err(|e| explain(e, stream))?;
        offset = end;
    }
    copy.finish().map_err(|e| explain(e, stream))?;
    Ok(())
}

/// ACTIVATE_VERSION: rows of older versions (or none) are marked deleted (`_sdc_deleted_at`)
/// or, with `hard_delete`, deleted — in one transaction, after everything before was loaded.
pub fn activate_version(
    client: &mut PgClient,
    stream: &Stream,
    version: i64,
    hard_delete: bool,
) -> Result<(), String> {
    let target = qualified(&stream.schema, &stream.table);
    let mut tx = client
        .transaction()
        .map_err(|e| format!("could not begin a transaction: {e}"))?;
    let Some(columns) = table::describe(&mut tx, &stream.schema, &stream.table)? else {
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
            return Err(format!(
                "stream `{}`: ACTIVATE_VERSION needs column {column} in {target}, which it \
                 lacks (turn add_record_metadata on, or activate_version off)",
                stream.name
            ));
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
            stream.name
        )
    })?;
    tx.commit()
        .map_err(|e| format!("could not commit ACTIVATE_VERSION: {e}"))
}
