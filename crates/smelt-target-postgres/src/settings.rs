//! The target's settings: MeltanoLabs target-postgres' names and meanings (connection settings
//! are read by `smelt_pg::connection`, as the native tap reads them), plus refusals for what
//! smelt does not do.

use serde_json::{Map, Value};
use smelt_pg::connection::Connection;
use smelt_pg::PgClient;
use smelt_plugin_sdk::settings::{
    bool_setting, choice_setting, object_setting, string_setting, u64_setting,
};

/// Rows per stream after which a batch is loaded (`batch_size_rows`'s default).
pub const BATCH_ROWS: u64 = 100_000;
/// Bytes of COPY data in a batch (all streams) after which it is loaded whatever its row
/// count, so memory stays bounded with wide rows and interleaved streams.
pub const BATCH_BYTES: usize = 64 * 1024 * 1024;

/// `load_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMethod {
    /// `append-only` (the default) and `upsert`: as in MeltanoLabs, streams with key properties
    /// are merged on their keys, streams without are appended.
    Merge,
    /// `overwrite`: a stream's table is emptied (in the transaction of its first batch) before
    /// its first rows of the run are loaded.
    Overwrite,
}

/// The settings, read and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Connection settings and bounds (read as the native tap reads them).
    pub connection: Connection,
    /// `default_target_schema`: the schema of every table (`None`: from the stream name).
    pub default_target_schema: Option<String>,
    /// `load_method`.
    pub load_method: LoadMethod,
    /// `add_record_metadata`: the `_sdc_*` columns.
    pub add_record_metadata: bool,
    /// `activate_version` and `process_activate_version_messages`: act on ACTIVATE_VERSION.
    pub activate_version: bool,
    /// `hard_delete`: ACTIVATE_VERSION deletes older rows instead of setting `_sdc_deleted_at`.
    pub hard_delete: bool,
    /// `sanitize_null_text_characters` (default true, unlike MeltanoLabs): NUL becomes U+FFFD
    /// instead of an error, so the SDK's `encoded_string_data` stream loads as it is.
    pub sanitize_nul: bool,
    /// `validate_records`: refuse records missing a `required` property.
    pub validate_records: bool,
    /// `batch_size_rows`.
    pub batch_rows: u64,
}

/// Settings whose feature smelt does not have: refused when turned on, with what to do.
const REFUSED_WHEN_TRUE: &[(&str, &str)] = &[
    ("ssl_enable", "TLS connections are not supported by smelt's PostgreSQL client yet; connect over a trusted network or use the MeltanoLabs variant"),
    ("ssl_client_certificate_enable", "client certificates are not supported by smelt's PostgreSQL client yet; use the MeltanoLabs variant"),
    ("interpret_content_encoding", "contentEncoding (bytea columns) is not supported yet; use the MeltanoLabs variant"),
    ("flattening_enabled", "schema flattening is not supported; flatten in a mapper or use the MeltanoLabs variant"),
];

/// Read the settings from the merged config.
pub fn settings(config: &Map<String, Value>) -> Result<Settings, String> {
    for (key, why) in REFUSED_WHEN_TRUE {
        if bool_setting(config, key, false)? {
            return Err(format!("`{key}` is true, but {why}"));
        }
    }
    if bool_setting(&object_setting(config, "ssh_tunnel")?, "enable", false)? {
        return Err(
            "`ssh_tunnel.enable` is true, but SSH tunnels are not supported by smelt's \
             target-postgres; open the tunnel outside (ssh -L) and point `host`/`port` at it"
                .to_string(),
        );
    }
    match config.get("stream_maps") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) if m.is_empty() => {}
        Some(_) => {
            return Err(
                "`stream_maps` is set, but smelt's target-postgres does not apply stream maps; \
                 put them in a mapper (smelt's native map-transform) between tap and target"
                    .to_string(),
            )
        }
    }
    let load_method = match choice_setting(
        config,
        "load_method",
        &["append-only", "upsert", "overwrite"],
    )? {
        Some("overwrite") => LoadMethod::Overwrite,
        _ => LoadMethod::Merge,
    };
    // Absent: MeltanoLabs' default; null or blank: from the stream name.
    let default_target_schema = match config.get("default_target_schema") {
        None => Some("melty".to_string()),
        Some(_) => string_setting(config, "default_target_schema")?,
    };
    let connection = Connection::from_settings(config, "smelt target-postgres")?;
    let batch_rows = match u64_setting(config, "batch_size_rows")? {
        None | Some(0) => BATCH_ROWS,
        Some(n) => n,
    };
    Ok(Settings {
        connection,
        default_target_schema,
        load_method,
        add_record_metadata: bool_setting(config, "add_record_metadata", true)?,
        activate_version: bool_setting(config, "activate_version", true)?
            && bool_setting(config, "process_activate_version_messages", true)?,
        hard_delete: bool_setting(config, "hard_delete", false)?,
        sanitize_nul: bool_setting(config, "sanitize_null_text_characters", true)?,
        validate_records: bool_setting(config, "validate_records", true)?,
        batch_rows,
    })
}

impl Settings {
    /// Connect, with the session set up as the tap sets it (UTC, ISO dates, standard strings).
    pub fn connect(&self) -> Result<PgClient, String> {
        self.connection.connect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<Settings, String> {
        match v {
            Value::Object(m) => settings(&m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn defaults_match_meltanolabs() {
        let s = read(json!({"host": "h", "user": "u", "password": "secret", "database": "d"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.default_target_schema.as_deref(), Some("melty"));
        assert!(s.add_record_metadata && s.activate_version && s.validate_records);
        assert!(!s.hard_delete && s.sanitize_nul);
        assert_eq!(s.load_method, LoadMethod::Merge);
        assert_eq!(s.batch_rows, BATCH_ROWS);
        assert_eq!(s.connection.location, "postgresql://u@h:5432/d");
        assert_eq!(
            s.connection.config.get_application_name(),
            Some("smelt target-postgres")
        );
        let s = read(
            json!({"host": "h", "default_target_schema": null, "load_method": "overwrite",
                            "batch_size_rows": "50", "use_copy": true}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.default_target_schema, None);
        assert_eq!(s.load_method, LoadMethod::Overwrite);
        assert_eq!(s.batch_rows, 50);
    }

    #[test]
    fn refuses_what_it_cannot_do_naming_the_setting() {
        for (bad, needle) in [
            (json!({"host": "h", "ssl_enable": true}), "`ssl_enable`"),
            (
                json!({"host": "h", "ssh_tunnel": {"enable": true}}),
                "`ssh_tunnel.enable`",
            ),
            (
                json!({"host": "h", "load_method": "merge"}),
                "`load_method`",
            ),
            (
                json!({"host": "h", "stream_maps": {"s": {"a": "b"}}}),
                "`stream_maps`",
            ),
            (
                json!({"host": "h", "batch_size_rows": -1}),
                "batch_size_rows",
            ),
            (json!({"host": "h", "hard_delete": "maybe"}), "hard_delete"),
            (
                json!({"host": "h", "ssh_tunnel": "on"}),
                "`ssh_tunnel` must be an object, found a string",
            ),
            (
                json!({"host": "h", "default_target_schema": ["s"]}),
                "`default_target_schema` must be a string, found an array",
            ),
            (
                json!({"host": "h", "port": 99999}),
                "`port` must be from 1 to 65535, found 99999",
            ),
            (json!({"database": "d"}), "set `host`"),
        ] {
            match read(bad) {
                Err(e) => assert!(e.contains(needle), "{e}"),
                Ok(_) => panic!("accepted {needle}"),
            }
        }
        assert!(read(json!({"host": "h", "ssh_tunnel": {"enable": false}})).is_ok());
    }
}
