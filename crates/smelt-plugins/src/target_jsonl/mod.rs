//! target-jsonl: a Singer target appending each stream's records to a JSONL file
//! (capabilities: about).
//!
//! Records are written exactly as received (the raw `record` text, never re-serialized).
//! Every STATE is acknowledged on stdout as its bare value, in input order, only after all
//! records read before it are flushed to their files; `{}` states are not echoed.
//! `run` is the whole program over any `BufRead` / `Write`, so tests drive it without a process.

mod config;
mod error;
mod sink;
mod streams;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};

use serde_json::Value;

pub(crate) use error::TargetError;

use config::TargetConfig;
use sink::Sinks;
use smelt_plugin_sdk::args::SingerArgs;
use smelt_plugin_sdk::json_file::load_config;
use smelt_plugin_sdk::log;
use smelt_plugin_sdk::registry::{Flags, NativePlugin};
use smelt_plugin_sdk::spec::{DefaultValue, PluginKind, PluginSpec, SettingSpec, SettingType};
use smelt_plugin_sdk::target_input::{run_input, Message, TargetHandler};
use streams::StreamSchema;

/// What target-jsonl is, for `--about` and the project's plugin definitions.
pub(crate) const SPEC: PluginSpec = PluginSpec {
    name: "target-jsonl",
    kind: PluginKind::Loader,
    description: "Appends each Singer stream's records to <destination_path>/<stream>.jsonl; \
                  built into smelt.",
    capabilities: &["about"],
    settings: &[
        SettingSpec {
            name: "destination_path",
            kind: SettingType::String,
            default: Some(DefaultValue::Str(config::DEFAULT_DESTINATION)),
            description: "Directory of the output files, relative to the project root; created \
                          when missing.",
            items: None,
        },
        SettingSpec {
            name: "do_timestamp_file",
            kind: SettingType::Boolean,
            default: Some(DefaultValue::Bool(false)),
            description: "Name files <stream>-<YYYYMMDDTHHMMSS>.jsonl (time of the run start).",
            items: None,
        },
        SettingSpec {
            name: "validate_records",
            kind: SettingType::Boolean,
            default: Some(DefaultValue::Bool(true)),
            description: "Validate each record against its stream's JSON schema.",
            items: None,
        },
    ],
};

/// target-jsonl's entry in the native plugin registry.
pub(crate) static PLUGIN: NativePlugin = NativePlugin {
    spec: &SPEC,
    flags: Flags::TARGET,
    run: run_plugin,
};

/// [`run`] as the registry calls it.
fn run_plugin(
    args: &SingerArgs,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> Result<(), String> {
    run(args, input, output)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// What a run did, for the closing log lines and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Records written per stream.
    pub records: BTreeMap<String, u64>,
    /// State lines written to stdout.
    pub states: u64,
}

/// Runs target-jsonl over `input`, acknowledging states on `out`.
pub(crate) fn run(
    args: &SingerArgs,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<Summary, TargetError> {
    let config = TargetConfig::from_map(&load_config(args)?)?;
    let timestamp = config
        .do_timestamp_file
        .then(|| chrono::Local::now().format("%Y%m%dT%H%M%S").to_string());
    let mut target = Target {
        validate: config.validate_records,
        sinks: Sinks::new(config.destination_path.clone(), timestamp),
        streams: HashMap::new(),
        summary: Summary::default(),
    };
    let result = run_input(input, &mut target, out);
    // Whatever happened, what was accepted reaches the disk.
    let synced = target.sinks.sync_all();
    result?;
    synced?;
    out.flush().map_err(TargetError::Output)?;
    for (stream, count) in &target.summary.records {
        log::info(&format!(
            "target-jsonl: stream '{stream}': {count} records appended to {}",
            target.sinks.path_for(stream).display()
        ));
    }
    Ok(target.summary)
}

struct Target {
    validate: bool,
    sinks: Sinks,
    streams: HashMap<String, StreamSchema>,
    summary: Summary,
}

impl TargetHandler for Target {
    type Error = TargetError;

    fn name(&self) -> &str {
        SPEC.name
    }

    fn schema(
        &mut self,
        stream: &str,
        message: &Message<'_>,
        line: u64,
        _: &mut dyn Write,
    ) -> Result<(), TargetError> {
        let raw = message
            .schema
            .ok_or_else(|| TargetError::stream(stream, line, "SCHEMA message has no `schema`"))?;
        let schema: Value = serde_json::from_str(raw.get())
            .map_err(|e| TargetError::stream(stream, line, format!("unreadable schema: {e}")))?;
        let keys: Option<Value> = match message.key_properties {
            Some(raw) => Some(serde_json::from_str(raw.get()).map_err(|e| {
                TargetError::stream(stream, line, format!("unreadable key_properties: {e}"))
            })?),
            None => None,
        };
        if let Some(previous) = self.streams.get(stream) {
            if previous.is_built_from(&schema, keys.as_ref()) {
                // Taps often repeat an unchanged SCHEMA; keep the compiled validator.
                return Ok(());
            }
        }
        let mut parsed = StreamSchema::from_message(schema, keys, self.validate)
            .map_err(|problem| TargetError::stream(stream, line, problem))?;
        if let Some(previous) = self.streams.get(stream) {
            parsed.sink = previous.sink;
        }
        self.streams.insert(stream.to_string(), parsed);
        Ok(())
    }

    fn record(
        &mut self,
        stream: &str,
        message: &Message<'_>,
        line: u64,
        _: &mut dyn Write,
    ) -> Result<(), TargetError> {
        let Some(schema) = self.streams.get_mut(stream) else {
            return Err(TargetError::stream(
                stream,
                line,
                "RECORD arrived before any SCHEMA for this stream; the tap must send the \
                 stream's SCHEMA message first",
            ));
        };
        let raw = message
            .record
            .ok_or_else(|| TargetError::stream(stream, line, "RECORD message has no `record`"))?;
        if schema.checks_records() {
            let value: Value = serde_json::from_str(raw.get()).map_err(|e| {
                TargetError::stream(stream, line, format!("unreadable record: {e}"))
            })?;
            schema
                .check(&value)
                .map_err(|problem| TargetError::stream(stream, line, problem))?;
        } else if !raw.get().trim_start().starts_with('{') {
            return Err(TargetError::stream(
                stream,
                line,
                "`record` must be a JSON object",
            ));
        }
        let sink = match schema.sink {
            Some(sink) => sink,
            None => {
                let sink = self.sinks.open(stream)?;
                schema.sink = Some(sink);
                sink
            }
        };
        self.sinks.append_line(sink, raw.get().as_bytes())?;
        match self.summary.records.get_mut(stream) {
            Some(count) => *count += 1,
            None => {
                self.summary.records.insert(stream.to_string(), 1);
            }
        }
        Ok(())
    }

    fn state(
        &mut self,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), TargetError> {
        let Some(raw) = message.value else {
            log::warn(&format!(
                "target-jsonl: input line {line}: STATE message without a value ignored"
            ));
            return Ok(());
        };
        self.sinks.flush_all()?;
        if is_empty_object(raw.get()) {
            return Ok(());
        }
        out.write_all(raw.get().as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .map_err(TargetError::Output)?;
        self.summary.states += 1;
        Ok(())
    }
}

fn is_empty_object(raw: &str) -> bool {
    let inner = raw.trim();
    inner.starts_with('{') && inner.ends_with('}') && inner[1..inner.len() - 1].trim().is_empty()
}

#[cfg(test)]
mod tests;
