//! smelt's native `target-postgres`: a Singer target loading streams into PostgreSQL, with
//! settings, table names, column types and `_sdc_*` columns like MeltanoLabs
//! target-postgres 0.8.1's, so a project can switch variant and keep its tables.
//!
//! - Each RECORD is parsed once and written into its stream's batch as COPY text
//!   ([`stream`], [`encode`]); the column types are MeltanoLabs' ([`types`]).
//! - A loading thread owns the connection ([`load`]); the batch of the stream being read is
//!   handed over in 1 MiB pieces as it grows, so PostgreSQL stores while the target parses.
//! - A batch is committed when a stream reaches `batch_size_rows` (or the batch 64 MiB),
//!   before a stream's schema changes, before ACTIVATE_VERSION and at the end: all streams'
//!   rows in one transaction, creating schema, table and new columns inside it ([`table`]).
//! - A STATE is written only once everything received before it is committed, so a target
//!   killed mid-load leaves the table and the state consistent: the next run resumes from a
//!   state whose rows are all stored, and keyed streams merge repeated rows away.

pub mod binary;
pub mod encode;
pub mod load;
pub mod settings;
pub mod stream;
pub mod table;
pub mod types;

use std::io::{BufRead, Write};

use smelt_pg::PgCalls;
use smelt_plugin_sdk::args::SingerArgs;
use smelt_plugin_sdk::json_file::load_config;
use smelt_plugin_sdk::registry::{Flags, NativePlugin};
use smelt_plugin_sdk::spec::{DefaultValue, PluginKind, PluginSpec, SettingSpec, SettingType};
use smelt_plugin_sdk::target_input::{run_input, Message, TargetHandler};

use bytes::Bytes;

use crate::encode::NulPolicy;
use crate::load::{Command, Failure, Loader};
use crate::settings::{LoadMethod, Settings};
use crate::stream::{Clock, SchemaSpec, Stream};

const fn setting(
    name: &'static str,
    kind: SettingType,
    default: Option<DefaultValue>,
    description: &'static str,
) -> SettingSpec {
    SettingSpec {
        name,
        kind,
        default,
        description,
        items: None,
    }
}

/// The plugin's description, capabilities and settings.
pub const SPEC: PluginSpec = PluginSpec {
    name: "target-postgres",
    kind: PluginKind::Loader,
    description: "Loads Singer streams into PostgreSQL with COPY and a merge on key properties, \
                  writing each STATE only after the rows before it are committed; settings and \
                  tables compatible with MeltanoLabs target-postgres; built into smelt.",
    capabilities: &["about", "activate-version", "target-schema", "hard-delete", "validate-records"],
    settings: &[
        setting("host", SettingType::String, None, "Host name of the PostgreSQL server (ignored when sqlalchemy_url is set)."),
        setting("port", SettingType::Integer, Some(DefaultValue::Int(5432)), "Port of the PostgreSQL server (ignored when sqlalchemy_url is set)."),
        setting("user", SettingType::String, None, "User name (ignored when sqlalchemy_url is set)."),
        setting("password", SettingType::Password, None, "Password (ignored when sqlalchemy_url is set)."),
        setting("database", SettingType::String, None, "Database name (ignored when sqlalchemy_url is set)."),
        setting("sqlalchemy_url", SettingType::Password, None, "postgresql://user:password@host:port/db; wins over host, port, user, password and database."),
        setting("default_target_schema", SettingType::String, Some(DefaultValue::Str("melty")), "Schema of every table; when set to null or empty, the schema part of a `schema-table` stream name, else the session's current schema."),
        setting("load_method", SettingType::String, Some(DefaultValue::Str("append-only")), "append-only or upsert: streams with key properties are merged on them, others appended (as MeltanoLabs does for both); overwrite: each table loaded in the run is emptied first."),
        setting("add_record_metadata", SettingType::Boolean, Some(DefaultValue::Bool(true)), "Add the _sdc_* columns (extracted, received, batched and deleted times, sequence, table version, sync start)."),
        setting("activate_version", SettingType::Boolean, Some(DefaultValue::Bool(true)), "Act on ACTIVATE_VERSION messages: rows of older versions are marked deleted (or deleted with hard_delete)."),
        setting("process_activate_version_messages", SettingType::Boolean, Some(DefaultValue::Bool(true)), "The Singer SDK's switch for the same; both must be true."),
        setting("hard_delete", SettingType::Boolean, Some(DefaultValue::Bool(false)), "ACTIVATE_VERSION deletes rows of older versions instead of setting _sdc_deleted_at."),
        setting("sanitize_null_text_characters", SettingType::Boolean, Some(DefaultValue::Bool(true)), "Replace NUL characters (which PostgreSQL text cannot hold) with U+FFFD; false: fail on them. smelt's default is true (MeltanoLabs: false, and then the load fails), so every Singer stream loads."),
        setting("validate_records", SettingType::Boolean, Some(DefaultValue::Bool(true)), "Refuse records that lack a property the schema lists in `required` (types are checked by PostgreSQL when loading)."),
        setting("batch_size_rows", SettingType::Integer, Some(DefaultValue::Int(100_000)), "Rows per stream after which a batch is loaded and committed (also after 64 MiB of data)."),
        setting("use_copy", SettingType::Boolean, Some(DefaultValue::Bool(false)), "Accepted for compatibility; smelt always loads with COPY."),
        setting("dialect+driver", SettingType::String, Some(DefaultValue::Str("postgresql+psycopg")), "Accepted for compatibility; not used."),
        setting("interpret_content_encoding", SettingType::Boolean, Some(DefaultValue::Bool(false)), "Not supported: refused when true."),
        setting("ssl_enable", SettingType::Boolean, Some(DefaultValue::Bool(false)), "Not supported (no TLS yet): refused when true."),
        setting("ssl_client_certificate_enable", SettingType::Boolean, Some(DefaultValue::Bool(false)), "Not supported: refused when true."),
        setting("ssh_tunnel", SettingType::Object, None, "Not supported: refused when enable is true."),
        setting("connect_timeout_seconds", SettingType::Integer, Some(DefaultValue::Int(30)), "smelt: give up connecting after this long (0: no limit)."),
        setting("statement_timeout_seconds", SettingType::Integer, Some(DefaultValue::Int(600)), "smelt: give up when the server does not answer a statement, or accept the next piece of COPY data, within this long (0: no limit)."),
    ],
};

/// The registry entry.
pub static PLUGIN: NativePlugin = NativePlugin {
    spec: &SPEC,
    flags: Flags::TARGET,
    run: run_plugin,
};

fn run_plugin(
    args: &SingerArgs,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> Result<(), String> {
    let config = load_config(args).map_err(|e| e.to_string())?;
    let settings = settings::settings(&config)?;
    Target::new(settings)?.run(input, output)
}

/// The running target.
struct Target {
    settings: Settings,
    /// For reading the catalog while the loader's connection is busy.
    client: smelt_pg::PgClient,
    loader: Loader,
    /// The session's current schema, for stream names without one.
    current_schema: String,
    streams: Vec<Stream>,
    /// The stream whose batch is streamed to the loader as it grows (one at a time; the
    /// others are held until the drain).
    active: Option<usize>,
    /// COPY data of the open batch, all streams, sent or not: bounded by
    /// [`settings::BATCH_BYTES`] (held streams are in memory here, and the loader keeps what
    /// it sent straight into a table until the batch ends, in case a key conflicts).
    batch_bytes: usize,
    clock: Clock,
    /// The latest STATE not yet written (its rows are not all committed).
    state: Option<String>,
}

impl Target {
    fn new(settings: Settings) -> Result<Target, String> {
        let mut client = settings.connect()?;
        let current_schema: String = client
            .query_one("SELECT coalesce(current_schema(), 'public')", &[])
            .map_err(|e| format!("could not read the current schema: {e}"))?
            .get(0);
        let loader = Loader::start(settings.connect()?)?;
        Ok(Target {
            settings,
            client,
            loader,
            current_schema,
            streams: Vec::new(),
            active: None,
            batch_bytes: 0,
            clock: Clock::start(),
            state: None,
        })
    }

    fn run(mut self, input: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), String> {
        run_input(input, &mut self, out)?;
        self.drain(out)
    }

    /// A loading failure as a message; a value PostgreSQL refused is named by the record's
    /// input line and its property.
    fn explain(&self, f: Failure) -> String {
        let Some(r) = f.refused else {
            return f.message;
        };
        let Some(stream) = self.streams.iter().find(|s| s.name == r.stream) else {
            return f.message;
        };
        let line = usize::try_from(r.row)
            .ok()
            .and_then(|i| stream.lines.get(i))
            .map_or_else(|| "?".to_string(), u64::to_string);
        let column = r.column.map_or_else(String::new, |c| {
            let ty = stream
                .columns
                .iter()
                .find(|x| x.name == c)
                .map_or("", |x| x.ty.sql.as_str());
            format!(", property `{c}` (column type {ty})")
        });
        format!(
            "stream `{}`, record on input line {line}{column}: PostgreSQL refused the value: {}",
            stream.name, r.error
        )
    }

    /// Hand stream `i`'s buffered rows to the loader (starting its batch if needed).
    fn send_rows(&mut self, i: usize) -> Result<(), Failure> {
        let overwrite = self.settings.load_method == LoadMethod::Overwrite;
        let stream = &mut self.streams[i];
        if !stream.started {
            self.loader.send(Command::Start {
                spec: stream.spec(),
                empty_first: overwrite && !stream.overwritten,
            })?;
            stream.started = true;
        }
        let bytes = Bytes::from(std::mem::replace(
            &mut stream.buf,
            Vec::with_capacity(load::CHUNK + load::CHUNK / 8),
        ));
        let rows = std::mem::take(&mut stream.unsent_rows);
        match stream.repeat_at.take() {
            Some((at, before)) => {
                if at > 0 {
                    self.loader.send(Command::Data(bytes.slice(..at), before))?;
                }
                self.loader.send(Command::Repeat)?;
                if at < bytes.len() {
                    self.loader
                        .send(Command::Data(bytes.slice(at..), rows - before))?;
                }
            }
            None if bytes.is_empty() => {}
            None => self.loader.send(Command::Data(bytes, rows))?,
        }
        Ok(())
    }

    /// Load every pending batch in one transaction, then write the held STATE.
    fn drain(&mut self, out: &mut dyn Write) -> Result<(), String> {
        let mut order: Vec<usize> = self.active.into_iter().collect();
        order.extend(
            (0..self.streams.len()).filter(|&i| Some(i) != self.active && self.streams[i].rows > 0),
        );
        let loaded = (|| -> Result<bool, Failure> {
            for &i in &order {
                self.send_rows(i)?;
                let duplicates = self.streams[i].duplicates;
                self.loader.send(Command::End { duplicates })?;
            }
            if order.is_empty() {
                return Ok(false);
            }
            self.loader.call(Command::Commit)?;
            Ok(true)
        })();
        if loaded.map_err(|f| self.explain(f))? {
            for &i in &order {
                let stream = &mut self.streams[i];
                stream.clear_batch();
                if self.settings.load_method == LoadMethod::Overwrite {
                    stream.overwritten = true;
                }
            }
        }
        self.active = None;
        self.batch_bytes = 0;
        if let Some(state) = self.state.take() {
            out.write_all(state.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush())
                .map_err(|e| format!("could not write the state: {e}"))?;
        }
        Ok(())
    }

    fn find(&self, stream: &str) -> Option<usize> {
        self.streams.iter().position(|s| s.name == stream)
    }
}

impl TargetHandler for Target {
    type Error = String;

    fn name(&self) -> &str {
        SPEC.name
    }

    /// Adds the row to its stream's batch; a full batch is committed, a large one streamed.
    fn record(
        &mut self,
        name: &str,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        let Some(i) = self.find(name) else {
            return Err(format!(
                "input line {line}: a RECORD for stream `{name}` came before its SCHEMA"
            ));
        };
        let Some(record) = message.record else {
            return Err(format!("input line {line}: the RECORD has no `record`"));
        };
        let nul = NulPolicy {
            sanitize: self.settings.sanitize_nul,
        };
        let stream = &mut self.streams[i];
        let before = stream.buf.len();
        stream.add(
            record,
            message.time_extracted.as_deref(),
            message.version,
            line,
            &mut self.clock,
            nul,
            self.settings.validate_records,
        )?;
        self.batch_bytes += stream.buf.len() - before;
        if stream.rows >= self.settings.batch_rows || self.batch_bytes >= settings::BATCH_BYTES {
            self.drain(out)?;
        } else if stream.buf.len() >= load::CHUNK && self.active.is_none_or(|a| a == i) {
            // Stream this batch: PostgreSQL stores it while the next rows are parsed.
            self.active = Some(i);
            self.send_rows(i).map_err(|f| self.explain(f))?;
        }
        Ok(())
    }

    /// Builds (or rebuilds, after committing its rows) the stream's table description.
    fn schema(
        &mut self,
        name: &str,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        let spec = SchemaSpec::parse(name, message.schema, message.key_properties)
            .map_err(|e| format!("input line {line}: {e}"))?;
        let existing = self.find(name);
        // Taps may repeat an unchanged SCHEMA; only a change needs a drain.
        let signature = format!(
            "{}\n{}",
            message.schema.map_or("", |r| r.get()),
            message.key_properties.map_or("", |r| r.get())
        );
        if existing.is_some_and(|i| self.streams[i].signature == signature) {
            return Ok(());
        }
        if existing.is_some_and(|i| self.streams[i].rows > 0) {
            self.drain(out)?;
        }
        let (schema, table) = table::names(
            name,
            self.settings.default_target_schema.as_deref(),
            &self.current_schema,
        );
        let columns = table::describe(&mut self.client, &schema, &table)?.unwrap_or_default();
        let mut stream = Stream::new(
            name,
            schema,
            table,
            &spec,
            &columns,
            self.settings.add_record_metadata,
        )?;
        stream.signature = signature;
        match existing {
            Some(i) => {
                stream.overwritten = self.streams[i].overwritten;
                self.streams[i] = stream;
            }
            None => self.streams.push(stream),
        }
        Ok(())
    }

    /// Holds the STATE until the rows before it are committed (at once when there are none).
    fn state(
        &mut self,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        let Some(value) = message.value else {
            return Err(format!("input line {line}: the STATE has no `value`"));
        };
        self.state = Some(value.get().to_string());
        if self.streams.iter().all(|s| s.rows == 0) {
            self.drain(out)?;
        }
        Ok(())
    }

    /// Commits what is pending, then retires the rows of older versions.
    fn activate_version(
        &mut self,
        name: &str,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        let Some(version) = message.version else {
            return Err(format!(
                "input line {line}: the ACTIVATE_VERSION has no numeric `version`"
            ));
        };
        if !self.settings.activate_version {
            smelt_plugin_sdk::log::warn(&format!(
                "ACTIVATE_VERSION for stream `{name}` ignored: activate_version is false"
            ));
            return Ok(());
        }
        let Some(i) = self.find(name) else {
            return Err(format!(
                "input line {line}: ACTIVATE_VERSION for stream `{name}` came before its SCHEMA"
            ));
        };
        self.drain(out)?;
        let command = Command::Activate {
            spec: self.streams[i].spec(),
            version,
            hard_delete: self.settings.hard_delete,
        };
        self.loader.call(command).map_err(|f| self.explain(f))
    }
}
