//! The message loop: SCHEMA builds (or rebuilds) a stream's writer, RECORD places a row,
//! STATE is held until every row before it is in a published file, then written to stdout.
//!
//! A held STATE is acknowledged at the end of the input, and earlier when it has waited
//! `commit_interval_seconds` (checked as messages arrive; 0 acknowledges every STATE at once):
//! then every open file is finished and published first. A STATE that arrives while no rows
//! are waiting is acknowledged at once.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use parquet::file::properties::WriterProperties;
use serde_json::Value;
use smelt_plugin_sdk::log;
use smelt_plugin_sdk::target_input::{at_line, run_input, Message, TargetHandler};

use crate::config::Settings;
use crate::destination::Destination;
use crate::paths::run_token;
use crate::stream::{Context, StreamWriter};

/// What a run did, for the closing log lines.
#[derive(Debug, Default)]
pub struct Summary {
    /// Records and files per stream.
    pub streams: BTreeMap<String, (u64, u64)>,
    /// STATE lines written to stdout.
    pub states: u64,
}

struct Target {
    ctx: Context,
    streams: HashMap<String, StreamWriter>,
    /// Writers replaced by a new SCHEMA, kept for the summary.
    retired: Vec<(String, u64, u64)>,
    held: Option<(String, Instant)>,
    states: u64,
}

/// A data error of `stream` on input line `line` (the `target-parquet: ` prefix is added once,
/// in [`run`]).
fn error(stream: &str, line: u64, problem: impl std::fmt::Display) -> String {
    format!("{}: {problem}", at_line(stream, line))
}

/// Runs the target over `input`, acknowledging states on `out`.
pub fn run(
    settings: Settings,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<Summary, String> {
    let destination = Destination::open(&settings.destination, &settings.store)
        .map_err(|e| format!("target-parquet: {e}"))?;
    let properties = WriterProperties::builder()
        .set_compression(settings.compression)
        .set_created_by(format!(
            "smelt target-parquet {} (parquet-rs)",
            env!("CARGO_PKG_VERSION")
        ))
        .build();
    let mut target = Target {
        ctx: Context {
            settings,
            destination,
            properties: Arc::new(properties),
            started: chrono::Utc::now().format("%Y%m%d_%H%M%S").to_string(),
            token: run_token(),
            sequence: 0,
            tick: 0,
        },
        streams: HashMap::new(),
        retired: Vec::new(),
        held: None,
        states: 0,
    };
    run_input(input, &mut target, out)
        .and_then(|_| target.commit(out))
        .map_err(|e| format!("target-parquet: {e}"))?;
    let mut summary = Summary {
        states: target.states,
        ..Summary::default()
    };
    let writers = target
        .streams
        .values()
        .map(|w| (w.name.clone(), w.records, w.files_published));
    for (name, records, files) in target.retired.iter().cloned().chain(writers) {
        let entry = summary.streams.entry(name).or_default();
        entry.0 += records;
        entry.1 += files;
    }
    for (stream, (records, files)) in &summary.streams {
        log::info(&format!(
            "target-parquet: stream '{stream}': {records} records in {files} new file(s) under {}",
            target.ctx.destination.describe()
        ));
    }
    Ok(summary)
}

impl TargetHandler for Target {
    type Error = String;

    fn name(&self) -> &str {
        crate::SPEC.name
    }

    fn schema(
        &mut self,
        stream: &str,
        message: &Message<'_>,
        line: u64,
        _: &mut dyn Write,
    ) -> Result<(), String> {
        let raw = message
            .schema
            .ok_or_else(|| error(stream, line, "SCHEMA message has no `schema`"))?;
        let schema: Value = serde_json::from_str(raw.get())
            .map_err(|e| error(stream, line, format!("unreadable schema: {e}")))?;
        let keys_value: Option<Value> = match message.key_properties {
            Some(raw) => Some(
                serde_json::from_str(raw.get())
                    .map_err(|e| error(stream, line, format!("unreadable key_properties: {e}")))?,
            ),
            None => None,
        };
        // Some taps put key_properties inside the schema.
        let keys_value = match keys_value {
            None | Some(Value::Null) => schema.get("key_properties").cloned(),
            some => some,
        };
        let keys: Vec<String> = match keys_value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|k| k.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    error(
                        stream,
                        line,
                        "`key_properties` must be a list of property names",
                    )
                })?,
            Some(_) => {
                return Err(error(
                    stream,
                    line,
                    "`key_properties` must be a list of property names",
                ))
            }
        };
        if let Some(current) = self.streams.get(stream) {
            if current.is_built_from(&schema, &keys) {
                return Ok(());
            }
        }
        let writer = StreamWriter::new(stream, schema, keys, &self.ctx.settings)
            .map_err(|problem| error(stream, line, problem))?;
        if let Some(mut previous) = self.streams.remove(stream) {
            // A new schema starts new files; what was written under the old one is kept.
            previous
                .close_all(&self.ctx)
                .map_err(|e| error(stream, line, e))?;
            self.retired
                .push((previous.name, previous.records, previous.files_published));
        }
        self.streams.insert(stream.to_string(), writer);
        Ok(())
    }

    fn record(
        &mut self,
        stream: &str,
        message: &Message<'_>,
        line: u64,
        _: &mut dyn Write,
    ) -> Result<(), String> {
        let Some(writer) = self.streams.get_mut(stream) else {
            return Err(error(
                stream,
                line,
                "RECORD arrived before any SCHEMA for this stream; the tap must send the \
                 stream's SCHEMA message first",
            ));
        };
        let raw = message
            .record
            .ok_or_else(|| error(stream, line, "RECORD message has no `record`"))?;
        writer.records += 1;
        let number = writer.records;
        let opened = writer.open_files();
        writer.write(&mut self.ctx, raw.get()).map_err(|p| {
            let at = match &p.property {
                Some(property) => format!("record {number}, property '{property}'"),
                None => format!("record {number}"),
            };
            error(stream, line, format!("{at}: {}", p.problem))
        })?;
        if writer.open_files() > opened {
            self.limit_open_files()
                .map_err(|e| error(stream, line, e))?;
        }
        Ok(())
    }

    fn state(
        &mut self,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        let Some(raw) = message.value else {
            log::warn(&format!(
                "target-parquet: input line {line}: STATE message without a value ignored"
            ));
            return Ok(());
        };
        let since = match self.held.take() {
            Some((_, since)) => since,
            None => Instant::now(),
        };
        self.held = Some((raw.get().to_string(), since));
        let waiting = self.streams.values().any(StreamWriter::has_rows);
        if !waiting || self.ctx.settings.commit_interval.is_zero() {
            self.commit(out)?;
        }
        Ok(())
    }

    /// A held STATE that has waited `commit_interval_seconds` is acknowledged now.
    fn after_message(&mut self, out: &mut dyn Write) -> Result<(), String> {
        match &self.held {
            Some((_, since)) if since.elapsed() >= self.ctx.settings.commit_interval => {
                self.commit(out)
            }
            _ => Ok(()),
        }
    }
}

impl Target {
    /// Past `max_open_files`, finishes the least recently used files.
    fn limit_open_files(&mut self) -> Result<(), String> {
        loop {
            let open: usize = self.streams.values().map(StreamWriter::open_files).sum();
            if open <= self.ctx.settings.max_open_files {
                return Ok(());
            }
            let oldest = self
                .streams
                .iter()
                .filter_map(|(name, w)| w.least_recent().map(|(p, used)| (used, name.clone(), p)))
                .min();
            let Some((_, name, partition)) = oldest else {
                return Ok(());
            };
            if let Some(writer) = self.streams.get_mut(&name) {
                writer.close_partition(&self.ctx, &partition)?;
            }
        }
    }

    /// Finishes and publishes every open file, then acknowledges the held STATE.
    fn commit(&mut self, out: &mut dyn Write) -> Result<(), String> {
        let mut names: Vec<String> = self.streams.keys().cloned().collect();
        names.sort();
        for name in names {
            if let Some(writer) = self.streams.get_mut(&name) {
                writer
                    .close_all(&self.ctx)
                    .map_err(|e| format!("stream '{name}': {e}"))?;
            }
        }
        if let Some((state, _)) = self.held.take() {
            // An empty state `{}` is not echoed (nothing to resume from).
            let empty = serde_json::from_str::<Value>(&state)
                .is_ok_and(|v| v.as_object().is_some_and(|m| m.is_empty()));
            if !empty {
                out.write_all(state.as_bytes())
                    .and_then(|()| out.write_all(b"\n"))
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("could not write to stdout: {e}"))?;
                self.states += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run_on(
        dir: &std::path::Path,
        extra: Value,
        input: &str,
    ) -> Result<(Summary, String), String> {
        let mut config = json!({"destination_path": dir.join("out")});
        if let (Value::Object(c), Value::Object(e)) = (&mut config, extra) {
            c.extend(e);
        }
        let settings = Settings::from_config(config.as_object().unwrap())?;
        let mut out = Vec::new();
        let summary = run(settings, &mut input.as_bytes(), &mut out)?;
        Ok((summary, String::from_utf8(out).unwrap()))
    }

    const SCHEMA: &str = r#"{"type": "SCHEMA", "stream": "s", "key_properties": [], "schema": {"properties": {"n": {"type": "integer"}}}}"#;

    #[test]
    fn schema_changes_start_new_files_and_repeats_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let changed = SCHEMA.replace(r#""n": {"#, r#""m": {"type": "string"}, "n": {"#);
        let input = [
            SCHEMA,
            r#"{"type": "RECORD", "stream": "s", "record": {"n": 1}}"#,
            SCHEMA,
            r#"{"type": "RECORD", "stream": "s", "record": {"n": 2}}"#,
            &changed,
            r#"{"type": "RECORD", "stream": "s", "record": {"n": 3, "m": "x"}}"#,
            r#"{"type": "ACTIVATE_VERSION", "stream": "s", "version": 1}"#,
            r#"{"type": "PING"}"#,
            r#"{"type": "STATE", "value": {}}"#,
        ]
        .join("\n");
        let (summary, stdout) = run_on(dir.path(), json!({}), &input).unwrap();
        assert_eq!(summary.streams["s"], (3, 2), "3 records in 2 files");
        assert_eq!(stdout, "", "an empty state is not echoed");
    }

    #[test]
    fn bad_messages_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = run_on(dir.path(), json!({}), "not json").unwrap_err();
        assert!(
            err.contains("input line 1 is not a Singer message"),
            "{err}"
        );
        let batch = format!("{SCHEMA}\n{{\"type\": \"BATCH\", \"stream\": \"s\"}}");
        let err = run_on(dir.path(), json!({}), &batch).unwrap_err();
        assert!(
            err.contains("stream 's' (input line 2): BATCH messages"),
            "{err}"
        );
        let err = run_on(dir.path(), json!({"partition_cols": "zz"}), SCHEMA).unwrap_err();
        assert!(err.contains("`partition_cols` names `zz`"), "{err}");
        let err = run_on(dir.path(), json!({}), r#"{"type": "RECORD", "record": {}}"#).unwrap_err();
        assert!(err.contains("needs a `stream`"), "{err}");
    }
}
