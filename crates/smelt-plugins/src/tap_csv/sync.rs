//! Sync: stream one entity's rows as SCHEMA, RECORD and STATE messages.
//!
//! Rows are read one at a time into a reused record and written into a reused line buffer.
//! With a replication key, rows whose value is not greater than the `--state` bookmark are
//! skipped (an empty value counts as not greater), and the bookmark moves to the largest value
//! emitted. Intermediate STATE messages (every `state_every` records) advance the bookmark only
//! while the rows seen so far are in ascending order; once a file is found unsorted the
//! bookmark moves at the end of the stream only, so a failed run can never skip unread rows.

use std::cmp::Ordering;
use std::io::Write;

use serde::Serialize;

use super::bookmarks::{compare, TapState};
use super::discover::StreamPlan;
use super::error::TapCsvError;
use super::reader;
use super::record::{OutputColumn, RecordWriter};
use super::selection::ResolvedStream;
use smelt_plugin_sdk::log;
use smelt_plugin_sdk::messages::{SchemaMessage, StateMessage};

/// How many records one stream emitted and skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StreamStats {
    /// RECORD messages written.
    pub records: u64,
    /// Rows at or below the bookmark.
    pub skipped: u64,
}

/// Writes one message as a JSON line.
pub(crate) fn write_message<W: Write, M: Serialize>(
    out: &mut W,
    message: &M,
) -> Result<(), TapCsvError> {
    serde_json::to_writer(&mut *out, message).map_err(|e| TapCsvError::Output(e.into()))?;
    out.write_all(b"\n").map_err(TapCsvError::Output)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Where the bookmark of a stream stands while its rows are read.
struct Progress<'a> {
    replication_key: &'a str,
    start: Option<String>,
    max: Option<String>,
    sorted: bool,
}

impl Progress<'_> {
    /// Decides whether a row with replication key `value` is emitted, and tracks the maximum.
    fn admit(&mut self, value: &str, entity: &str) -> bool {
        if let Some(start) = &self.start {
            if value.is_empty() || compare(value, start) != Ordering::Greater {
                return false;
            }
        }
        if value.is_empty() {
            return true;
        }
        match &mut self.max {
            None => self.max = Some(value.to_string()),
            Some(max) => match compare(value, max) {
                Ordering::Greater => {
                    max.clear();
                    max.push_str(value);
                }
                Ordering::Less if self.sorted => {
                    self.sorted = false;
                    log::warn(&format!(
                        "tap-csv: stream '{entity}' is not sorted by '{}'; its bookmark will \
                         advance only when the stream is complete",
                        self.replication_key
                    ));
                }
                _ => {}
            },
        }
        true
    }
}

/// Emits SCHEMA, then every admitted row of every file of `plan`, then STATE.
pub(crate) fn sync_stream<W: Write>(
    plan: &StreamPlan,
    resolved: &ResolvedStream,
    state: &mut TapState,
    out: &mut W,
    state_every: u64,
) -> Result<StreamStats, TapCsvError> {
    let entity = plan.name();
    let rk = resolved.replication_key.as_deref();
    let mut progress = rk.map(|rk| {
        if let Some(old) = state.bookmark_key(entity) {
            if old != rk {
                log::warn(&format!(
                    "tap-csv: stream '{entity}': the stored bookmark is for column '{old}', not \
                     '{rk}'; reading all rows"
                ));
            }
        }
        Progress {
            replication_key: rk,
            start: state.bookmark(entity, rk),
            max: None,
            sorted: true,
        }
    });
    let bookmark_properties: Vec<String> = rk.map(str::to_string).into_iter().collect();
    write_message(
        out,
        &SchemaMessage::new(
            entity,
            &resolved.schema,
            &plan.def.keys,
            &bookmark_properties,
        ),
    )?;

    let outputs: Vec<(&str, OutputColumn)> = plan
        .columns
        .iter()
        .zip(&resolved.columns)
        .filter_map(|(name, coercion)| {
            coercion.map(|c| (name.as_str(), OutputColumn::new(name, c)))
        })
        .collect();
    let mut writer = RecordWriter::new(entity, &now());
    let mut stats = StreamStats::default();
    let mut record = csv::StringRecord::new();
    let state_every = state_every.max(1);

    for path in &plan.files {
        let mut file = reader::open(&plan.def, path)?;
        let shown = path.display().to_string();
        let header_len = file.header.len();
        let position = |name: &str| file.header.iter().position(|h| h == name);
        let positions: Vec<Option<usize>> =
            outputs.iter().map(|(name, _)| position(name)).collect();
        let rk_position = rk.and_then(position);
        loop {
            match file.reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(err) => return Err(row_error(plan, &shown, err)),
            }
            if record.len() != header_len {
                return Err(TapCsvError::Row {
                    path: shown,
                    entity: entity.to_string(),
                    line: record.position().map_or(0, csv::Position::line),
                    problem: format!(
                        "the row has {} fields but the header has {header_len}; check the \
                         delimiter and quoting of this row",
                        record.len()
                    ),
                });
            }
            if let Some(progress) = progress.as_mut() {
                let value = rk_position.and_then(|p| record.get(p)).unwrap_or("");
                if !progress.admit(value, entity) {
                    stats.skipped += 1;
                    continue;
                }
            }
            let values = outputs
                .iter()
                .zip(&positions)
                .map(|((_, column), pos)| (column, pos.and_then(|p| record.get(p))));
            out.write_all(writer.build(values))
                .map_err(TapCsvError::Output)?;
            stats.records += 1;
            if stats.records % state_every == 0 {
                writer.set_time_extracted(&now());
                if let Some(progress) = &progress {
                    if let (Some(max), true) = (&progress.max, progress.sorted) {
                        state.set_bookmark(entity, progress.replication_key, max);
                        write_message(out, &StateMessage::new(state.value()))?;
                        out.flush().map_err(TapCsvError::Output)?;
                    }
                }
            }
        }
    }
    if let Some(progress) = &progress {
        if let Some(max) = &progress.max {
            state.set_bookmark(entity, progress.replication_key, max);
        }
        write_message(out, &StateMessage::new(state.value()))?;
    }
    out.flush().map_err(TapCsvError::Output)?;
    Ok(stats)
}

fn row_error(plan: &StreamPlan, path: &str, err: csv::Error) -> TapCsvError {
    let line = err.position().map_or(0, csv::Position::line);
    let entity = plan.name().to_string();
    let path = path.to_string();
    match err.into_kind() {
        csv::ErrorKind::Io(source) => TapCsvError::Read {
            path,
            entity,
            source,
        },
        csv::ErrorKind::Utf8 { err, .. } => TapCsvError::Row {
            path,
            entity,
            line,
            problem: format!(
                "field {} is not valid UTF-8; only utf-8 files are supported",
                err.field() + 1
            ),
        },
        other => TapCsvError::Row {
            path,
            entity,
            line,
            problem: format!("could not parse the row: {other:?}"),
        },
    }
}
