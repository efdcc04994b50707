//! The tap's settings (MeltanoLabs tap-postgres' names and meanings). The connection settings
//! are read by `smelt_pg::connection`, shared with the native target-postgres.

use serde_json::{Map, Value};
use smelt_pg::connection::Connection;
use smelt_pg::PgClient;
use smelt_plugin_sdk::settings::{
    bool_setting, choice_setting, object_setting, string_list_setting, string_setting, u64_setting,
};

use crate::types::Options;

/// The settings, read and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to connect, `location` for messages, and the bounds.
    pub connection: Connection,
    /// `filter_schemas` (empty: all but the system schemas).
    pub filter_schemas: Vec<String>,
    /// `dates_as_string`, `json_as_object`.
    pub options: Options,
    /// `max_record_count`: at most this many records per stream.
    pub max_record_count: Option<u64>,
    /// `stream_options.<stream>.custom_where_clauses`, ANDed to the stream's query.
    pub stream_options: Map<String, Value>,
    /// LOG_BASED: the logical replication slot, the publication, and whether streams
    /// without a bookmark start with a snapshot of the table.
    pub log_based: LogBasedSettings,
}

/// The LOG_BASED settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBasedSettings {
    /// `replication_slot_name` (MeltanoLabs' setting and default, `tappostgres`).
    pub slot: String,
    /// `publication_name` (smelt: pgoutput reads a publication; default: the slot's name).
    pub publication: String,
    /// `auto_bootstrap_log_based`: a stream without a bookmark is first read whole.
    pub bootstrap: bool,
}

/// MeltanoLabs' default `replication_slot_name`.
pub const DEFAULT_SLOT: &str = "tappostgres";

/// A slot or publication name as MeltanoLabs accepts slot names: letters, digits and
/// underscores, at most 63, not starting with `pg_`.
fn object_name(config: &Map<String, Value>, key: &str, default: &str) -> Result<String, String> {
    let name = string_setting(config, key)?.unwrap_or_else(|| default.to_string());
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with("pg_")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(format!(
            "`{key}` must be 1 to 63 letters, digits or underscores not starting with pg_, \
             found {name:?}"
        ))
    }
}

/// Read the settings from the merged config.
pub fn settings(config: &Map<String, Value>) -> Result<Settings, String> {
    choice_setting(
        config,
        "default_replication_method",
        &["FULL_TABLE", "INCREMENTAL", "LOG_BASED"],
    )?;
    let options = Options {
        dates_as_string: bool_setting(config, "dates_as_string", false)?,
        json_as_object: bool_setting(config, "json_as_object", false)?,
    };
    let connection = Connection::from_settings(config, "smelt tap-postgres")?;
    let slot = object_name(config, "replication_slot_name", DEFAULT_SLOT)?;
    let log_based = LogBasedSettings {
        publication: object_name(config, "publication_name", &slot)?,
        slot,
        bootstrap: bool_setting(config, "auto_bootstrap_log_based", false)?,
    };
    Ok(Settings {
        log_based,
        connection,
        filter_schemas: string_list_setting(config, "filter_schemas")?,
        options,
        max_record_count: u64_setting(config, "max_record_count")?.filter(|n| *n > 0),
        stream_options: object_setting(config, "stream_options")?,
    })
}

impl Settings {
    /// The custom WHERE clauses configured for `stream`.
    pub fn where_clauses(&self, stream: &str) -> Result<Vec<String>, String> {
        match self
            .stream_options
            .get(stream)
            .and_then(|o| o.get("custom_where_clauses"))
        {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| {
                    v.as_str().map(|s| s.trim().to_string()).ok_or_else(|| {
                        format!("stream_options.{stream}.custom_where_clauses must list strings")
                    })
                })
                .collect(),
            Some(_) => Err(format!(
                "stream_options.{stream}.custom_where_clauses must be a list of strings"
            )),
        }
    }

    /// Connect and prepare the session (see [`Connection::connect`]).
    pub fn connect(&self) -> Result<PgClient, String> {
        self.connection.connect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn parts_or_url() {
        let s = settings(&map(
            json!({"host": "h", "user": "u", "password": "pw", "database": "d"}),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.connection.location, "postgresql://u@h:5432/d");
        assert_eq!(
            s.connection.bounds.connect,
            Some(smelt_pg::connection::CONNECT_TIMEOUT)
        );
        assert_eq!(
            s.log_based,
            LogBasedSettings {
                slot: "tappostgres".into(),
                publication: "tappostgres".into(),
                bootstrap: false
            }
        );
        let s = settings(&map(json!({
            "host": "ignored",
            "sqlalchemy_url": "postgresql+psycopg2://a:b@x:7/y",
            "filter_schemas": ["s1"],
            "statement_timeout_seconds": 0
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.connection.location, "postgresql://a@x:7/y");
        assert_eq!(s.filter_schemas, ["s1"]);
        assert_eq!(s.connection.bounds.round_trip, None);
        let s = settings(&map(
            json!({"host": "h", "filter_schemas": "[\"a\", \"b\"]"}),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.filter_schemas, ["a", "b"]);
        for (bad, needle) in [
            (json!({}), "set `host`"),
            (json!({"host": "h", "port": "x"}), "`port`"),
            (json!({"sqlalchemy_url": "mysql://h/d"}), "postgresql://"),
            (
                json!({"host": "h", "dates_as_string": "maybe"}),
                "dates_as_string",
            ),
            (
                json!({"host": "h", "replication_slot_name": "pg_x"}),
                "replication_slot_name",
            ),
            (
                json!({"host": "h", "publication_name": "a-b"}),
                "publication_name",
            ),
            (
                json!({"host": "h", "default_replication_method": "CDC"}),
                "`default_replication_method` must be one of FULL_TABLE, INCREMENTAL, LOG_BASED, found \"CDC\"",
            ),
            (
                json!({"host": "h", "filter_schemas": {"a": 1}}),
                "`filter_schemas` must be a list of names or a comma-separated string, found an object",
            ),
            (
                json!({"host": "h", "max_record_count": -5}),
                "`max_record_count` must be a whole number (0 or more), found -5",
            ),
            (
                json!({"host": "h", "stream_options": []}),
                "`stream_options` must be an object, found an array",
            ),
        ] {
            match settings(&map(bad)) {
                Err(e) => assert!(e.contains(needle), "{e}"),
                Ok(_) => panic!("accepted {needle}"),
            }
        }
    }
}
