//! smelt's native `tap-postgres`: a Singer tap reading PostgreSQL tables and views, with
//! settings, stream IDs, catalog and state shaped like MeltanoLabs tap-postgres 0.10's, so a
//! project can switch variant without touching `select` or `metadata`.
//!
//! - Discovery reads `pg_catalog` once (see [`discover`]); the type mapping is in [`types`].
//! - Sync streams each selected table through one binary `COPY (SELECT …) TO STDOUT`: the
//!   server renders each selected column as JSON text, the tap frames rows (bounded memory:
//!   one row at a time, every chunk read under `statement_timeout_seconds`) and writes RECORD
//!   lines without building JSON values. INCREMENTAL reads `WHERE key >= bookmark ORDER BY key`
//!   (the Singer SDK's rule: the bookmarked rows are read again, so nothing is lost when a run
//!   stops between two rows of the same key value) and emits STATE every 10,000 records.
//! - LOG_BASED reads the changes of all LOG_BASED streams in one pass over a logical
//!   replication slot (pgoutput, through SQL), from the state's LSN to the WAL position at the
//!   start of the run; see [`cdc`].
//! - Not yet: SSH tunnels and TLS.

pub mod cdc;
pub mod config;
pub mod discover;
pub mod sync;
pub mod types;

use std::io::{BufRead, Write};

use serde_json::Value;
use smelt_plugin_sdk::args::SingerArgs;
use smelt_plugin_sdk::json_file::{load_config, read_json};
use smelt_plugin_sdk::registry::{Flags, NativePlugin};
use smelt_plugin_sdk::spec::{setting, DefaultValue, PluginKind, PluginSpec, SettingType};

/// The plugin's description, capabilities and settings.
pub const SPEC: PluginSpec = PluginSpec {
    name: "tap-postgres",
    kind: PluginKind::Extractor,
    description: "Reads PostgreSQL tables and views (FULL_TABLE and INCREMENTAL) with binary \
                  COPY, and table changes (LOG_BASED) from a logical replication slot; \
                  settings and stream IDs compatible with MeltanoLabs tap-postgres; built \
                  into smelt.",
    capabilities: &["catalog", "discover", "state", "about"],
    settings: &[
        setting("host", SettingType::String, None, "Host name of the PostgreSQL server (ignored when sqlalchemy_url is set)."),
        setting("port", SettingType::Integer, Some(DefaultValue::Int(5432)), "Port of the PostgreSQL server (ignored when sqlalchemy_url is set)."),
        setting("user", SettingType::String, None, "User name (ignored when sqlalchemy_url is set)."),
        setting("password", SettingType::Password, None, "Password (ignored when sqlalchemy_url is set)."),
        setting("database", SettingType::String, None, "Database name (ignored when sqlalchemy_url is set)."),
        setting("sqlalchemy_url", SettingType::Password, None, "postgresql://user:password@host:port/db; wins over host, port, user, password and database."),
        setting("filter_schemas", SettingType::Array, None, "Only these schemas (default: every schema but pg_* and information_schema)."),
        setting("dates_as_string", SettingType::Boolean, Some(DefaultValue::Bool(false)), "Dates and timestamps as plain strings in the server's text form."),
        setting("json_as_object", SettingType::Boolean, Some(DefaultValue::Bool(false)), "Type json and jsonb columns as objects in the schema."),
        setting("max_record_count", SettingType::Integer, None, "At most this many records per stream."),
        setting("stream_options", SettingType::Object, None, "Per stream ID: {custom_where_clauses: [SQL conditions ANDed to the query]}."),
        setting("default_replication_method", SettingType::String, Some(DefaultValue::Str("FULL_TABLE")), "FULL_TABLE, INCREMENTAL or LOG_BASED. Accepted and checked, and, as in MeltanoLabs tap-postgres 0.10, not used: the catalog's replication-method and replication-key decide."),
        setting("replication_slot_name", SettingType::String, Some(DefaultValue::Str(config::DEFAULT_SLOT)), "LOG_BASED: the logical replication slot (pgoutput) to read; created when missing. Letters, digits and underscores, at most 63, not starting with pg_."),
        setting("publication_name", SettingType::String, None, "smelt, LOG_BASED: the publication the slot is read through (default: the slot's name); created for the selected tables when missing, which are added to it when not in it."),
        setting("auto_bootstrap_log_based", SettingType::Boolean, Some(DefaultValue::Bool(false)), "LOG_BASED: a stream without a bookmark is first read whole (a snapshot), then its changes from the WAL position taken before that read. Off: only changes from the slot's position on."),
        setting("log_based_single_connection", SettingType::Boolean, Some(DefaultValue::Bool(false)), "Accepted for MeltanoLabs compatibility, not needed: smelt always reads every LOG_BASED stream in one pass over the slot."),
        setting("replication_max_run_seconds", SettingType::Integer, Some(DefaultValue::Int(600)), "Accepted for MeltanoLabs compatibility, not needed: a LOG_BASED run reads up to the WAL position taken when it starts."),
        setting("replication_idle_exit_seconds", SettingType::Integer, Some(DefaultValue::Int(60)), "Accepted for MeltanoLabs compatibility, not needed: a LOG_BASED run reads up to the WAL position taken when it starts."),
        setting("connect_timeout_seconds", SettingType::Integer, Some(DefaultValue::Int(30)), "smelt: give up connecting after this long (0: no limit)."),
        setting("statement_timeout_seconds", SettingType::Integer, Some(DefaultValue::Int(600)), "smelt: give up when the server does not answer a query, or send the next row, within this long (0: no limit)."),
    ],
};

/// The registry entry.
pub static PLUGIN: NativePlugin = NativePlugin {
    spec: &SPEC,
    flags: Flags::TAP,
    run: run_plugin,
};

fn run_plugin(
    args: &SingerArgs,
    _input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> Result<(), String> {
    run(args, output, sync::STATE_EVERY)
}

/// Discover (`--discover`) or sync, writing Singer messages to `out`.
pub fn run(args: &SingerArgs, out: &mut dyn Write, state_every: u64) -> Result<(), String> {
    let config = load_config(args).map_err(|e| e.to_string())?;
    let settings = config::settings(&config)?;
    let catalog = match (&args.catalog, args.discover) {
        (Some(path), false) => Some(read_json(path, "catalog").map_err(|e| e.to_string())?),
        _ => None,
    };
    let mut state = match (&args.state, args.discover) {
        (Some(path), false) => read_json(path, "state").map_err(|e| e.to_string())?,
        _ => Value::Object(Default::default()),
    };
    let mut client = settings.connect()?;
    let tables = discover::tables(&mut client, &settings.filter_schemas, None)?;
    if args.discover {
        serde_json::to_writer_pretty(&mut *out, &discover::catalog(&tables, settings.options))
            .map_err(|e| format!("could not write the catalog: {e}"))?;
        out.write_all(b"\n")
            .and_then(|()| out.flush())
            .map_err(|e| format!("could not write the catalog: {e}"))?;
        return Ok(());
    }
    let plans = sync::plans(&tables, catalog.as_ref(), &settings)?;
    let (log_based, others): (Vec<&sync::Plan>, Vec<&sync::Plan>) = plans
        .iter()
        .partition(|p| p.method == sync::Method::LogBased);
    for plan in others {
        sync::sync_stream(&mut client, plan, &settings, &mut state, out, state_every)?;
        out.flush()
            .map_err(|e| format!("could not write the output: {e}"))?;
    }
    if !log_based.is_empty() {
        cdc::sync(
            &mut client,
            &log_based,
            &settings,
            &mut state,
            out,
            state_every,
        )?;
        out.flush()
            .map_err(|e| format!("could not write the output: {e}"))?;
    }
    Ok(())
}
