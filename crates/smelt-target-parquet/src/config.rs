//! The target's settings: Automattic target-parquet's names and meanings where they exist
//! (`destination_path`, `compression_method`, `max_batch_size`, `max_pyarrow_table_size`,
//! `partition_cols`, `extra_fields`, `extra_fields_types`, `max_flatten_level`), plus the
//! object-store credentials and the bounds smelt adds.

use std::time::Duration;

use parquet::basic::{Compression, GzipLevel};
use serde_json::{Map, Value};
use smelt_plugin_sdk::settings::{
    string_list_setting, string_setting, timeout_setting, u64_setting_in,
};
use smelt_state_objstore::{ObjectStoreSettings, SettingNames};

use crate::columns::ColumnType;

/// Default `destination_path` (Automattic's).
pub const DEFAULT_DESTINATION: &str = "output";
/// Default `max_batch_size`: rows per row group (Automattic's batch size).
pub const DEFAULT_BATCH_ROWS: i64 = 10_000;
/// Default `max_row_group_mb`: buffered bytes per row group.
pub const DEFAULT_ROW_GROUP_MB: i64 = 64;
/// Default `max_pyarrow_table_size`: a file is closed after about this many MB.
pub const DEFAULT_FILE_MB: i64 = 800;
/// Default `max_flatten_level` (Automattic's).
pub const DEFAULT_FLATTEN_LEVEL: i64 = 100;
/// Default `commit_interval_seconds`: like the Singer SDK's five-minute drain of old records.
pub const DEFAULT_COMMIT_SECONDS: i64 = 300;
/// Default `max_open_files`.
pub const DEFAULT_OPEN_FILES: i64 = 64;

/// The setting names the shared object-store code quotes in its messages.
pub const STORE_SETTING_NAMES: SettingNames = SettingNames {
    uri: "destination_path",
    s3_access_key_id: "aws_access_key_id",
    s3_secret_access_key: "aws_secret_access_key",
    s3_endpoint_url: "aws_endpoint_url",
    gcs_application_credentials: "google_application_credentials",
    azure_connection_string: "azure_connection_string",
    timeout: "object_store_timeout_seconds",
};

/// One `extra_fields` column: a constant added to every record.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraField {
    /// Column name.
    pub name: String,
    /// The value, already typed (`extra_fields_types`).
    pub value: Value,
    /// Its column type.
    pub kind: ColumnType,
}

/// The settings, read and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `destination_path`: a local directory or an `s3://`, `gs://`, `azure://` URL.
    pub destination: String,
    /// `compression_method`.
    pub compression: Compression,
    /// The name of the compression, for file names (`snappy`, `gz`, ...).
    pub compression_label: &'static str,
    /// `max_batch_size`: rows buffered per row group.
    pub row_group_rows: usize,
    /// `max_row_group_mb`: bytes buffered per row group (and per stream, over its partitions).
    pub row_group_bytes: usize,
    /// `max_pyarrow_table_size`: a file is closed once it holds about this many bytes.
    pub file_bytes: u64,
    /// `partition_cols`.
    pub partition_cols: Vec<String>,
    /// `extra_fields` with `extra_fields_types`.
    pub extra_fields: Vec<ExtraField>,
    /// `max_flatten_level`: nested objects with `properties` become `a__b` columns up to
    /// this depth.
    pub max_flatten_level: usize,
    /// `commit_interval_seconds`: the longest a STATE waits for its rows to be committed;
    /// `Duration::ZERO` commits at every STATE.
    pub commit_interval: Duration,
    /// `max_open_files`: open (partition) files at once; the least recently used is closed
    /// beyond that.
    pub max_open_files: usize,
    /// Credentials and bounds for an object-store destination.
    pub store: ObjectStoreSettings,
}

/// A whole-number setting at least `min`; the defaults are `i64` for the plugin's spec.
fn count(config: &Map<String, Value>, key: &str, default: i64, min: u64) -> Result<u64, String> {
    u64_setting_in(config, key, default.unsigned_abs(), min..=u64::MAX)
}

fn megabytes(config: &Map<String, Value>, key: &str, default: i64) -> Result<usize, String> {
    let mb = count(config, key, default, 1)?;
    usize::try_from(mb)
        .ok()
        .and_then(|mb| mb.checked_mul(1024 * 1024))
        .ok_or_else(|| format!("`{key}` is too large: {mb}"))
}

/// `k=v,k2=v2` pairs (Automattic's `extra_fields` / `extra_fields_types` format).
fn pairs(config: &Map<String, Value>, key: &str) -> Result<Vec<(String, String)>, String> {
    let Some(text) = string_setting(config, key)? else {
        return Ok(Vec::new());
    };
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    format!("`{key}` must be name=value pairs separated by commas, found {pair:?}")
                })
        })
        .collect()
}

fn compression(config: &Map<String, Value>) -> Result<(Compression, &'static str), String> {
    let name =
        string_setting(config, "compression_method")?.unwrap_or_else(|| "snappy".to_string());
    match name.to_ascii_lowercase().as_str() {
        "snappy" => Ok((Compression::SNAPPY, "snappy")),
        "gzip" => Ok((Compression::GZIP(GzipLevel::default()), "gz")),
        "none" | "uncompressed" => Ok((Compression::UNCOMPRESSED, "")),
        _ => Err(format!(
            "`compression_method` must be snappy, gzip or none, found {name:?} (zstd, brotli \
             and lz4 are not built into smelt's target-parquet)"
        )),
    }
}

fn extra_fields(config: &Map<String, Value>) -> Result<Vec<ExtraField>, String> {
    let values = pairs(config, "extra_fields")?;
    let types = pairs(config, "extra_fields_types")?;
    let mut names: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
    let mut typed: Vec<&str> = types.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    typed.sort_unstable();
    if names != typed {
        return Err(
            "`extra_fields` and `extra_fields_types` must name the same columns (e.g. \
             extra_fields: \"source=crm\" with extra_fields_types: \"source=string\")"
                .to_string(),
        );
    }
    values
        .into_iter()
        .map(|(name, raw)| {
            let kind = types
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, t)| t.as_str())
                .unwrap_or("string");
            let (value, kind) = match kind {
                "string" => (Value::String(raw), ColumnType::Utf8),
                "integer" => (
                    raw.parse::<i64>().map(Value::from).map_err(|_| {
                        format!(
                            "extra field `{name}` is typed integer but its value {raw:?} is not"
                        )
                    })?,
                    ColumnType::Int64,
                ),
                "number" => (
                    raw.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .ok_or_else(|| {
                            format!(
                                "extra field `{name}` is typed number but its value {raw:?} is not"
                            )
                        })?,
                    ColumnType::Double,
                ),
                "boolean" => (
                    match raw.to_ascii_lowercase().as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ => {
                            return Err(format!(
                                "extra field `{name}` is typed boolean but its value {raw:?} is \
                                 not true or false"
                            ))
                        }
                    },
                    ColumnType::Boolean,
                ),
                other => {
                    return Err(format!(
                        "`extra_fields_types` gives `{name}` the type {other:?}; use string, \
                         integer, number or boolean"
                    ))
                }
            };
            Ok(ExtraField { name, value, kind })
        })
        .collect()
}

fn store_settings(config: &Map<String, Value>) -> Result<ObjectStoreSettings, String> {
    Ok(ObjectStoreSettings {
        timeout: timeout_setting(
            config,
            "object_store_timeout_seconds",
            Duration::from_secs(60),
        )?,
        s3_access_key_id: string_setting(config, "aws_access_key_id")?,
        s3_secret_access_key: string_setting(config, "aws_secret_access_key")?,
        s3_endpoint_url: string_setting(config, "aws_endpoint_url")?,
        s3_region: string_setting(config, "aws_region")?,
        gcs_application_credentials: string_setting(config, "google_application_credentials")?,
        azure_connection_string: string_setting(config, "azure_connection_string")?,
        ..ObjectStoreSettings::default()
    })
}

impl Settings {
    /// Reads the settings from the merged config, applying defaults. Errors name the setting.
    pub fn from_config(config: &Map<String, Value>) -> Result<Settings, String> {
        let (compression, compression_label) = compression(config)?;
        let rows = count(config, "max_batch_size", DEFAULT_BATCH_ROWS, 1)?;
        Ok(Settings {
            destination: string_setting(config, "destination_path")?
                .unwrap_or_else(|| DEFAULT_DESTINATION.to_string()),
            compression,
            compression_label,
            row_group_rows: usize::try_from(rows).unwrap_or(usize::MAX),
            row_group_bytes: megabytes(config, "max_row_group_mb", DEFAULT_ROW_GROUP_MB)?,
            file_bytes: megabytes(config, "max_pyarrow_table_size", DEFAULT_FILE_MB)? as u64,
            partition_cols: string_list_setting(config, "partition_cols")?,
            extra_fields: extra_fields(config)?,
            max_flatten_level: usize::try_from(count(
                config,
                "max_flatten_level",
                DEFAULT_FLATTEN_LEVEL,
                0,
            )?)
            .unwrap_or(usize::MAX),
            commit_interval: Duration::from_secs(count(
                config,
                "commit_interval_seconds",
                DEFAULT_COMMIT_SECONDS,
                0,
            )?),
            max_open_files: usize::try_from(count(
                config,
                "max_open_files",
                DEFAULT_OPEN_FILES,
                1,
            )?)
            .unwrap_or(usize::MAX),
            store: store_settings(config)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Settings, String> {
        match value {
            Value::Object(map) => Settings::from_config(&map),
            _ => Err("not an object".into()),
        }
    }

    #[test]
    fn defaults() {
        let s = parse(json!({})).unwrap();
        assert_eq!(s.destination, "output");
        assert_eq!(s.compression, Compression::SNAPPY);
        assert_eq!(s.row_group_rows, 10_000);
        assert_eq!(s.file_bytes, 800 * 1024 * 1024);
        assert_eq!(s.max_flatten_level, 100);
        assert_eq!(s.commit_interval, Duration::from_secs(300));
        assert!(s.partition_cols.is_empty() && s.extra_fields.is_empty());
    }

    #[test]
    fn automattic_spellings() {
        let s = parse(json!({
            "destination_path": "s3://b/p", "compression_method": "GZIP",
            "max_batch_size": "500", "partition_cols": "a, b",
            "extra_fields": "src=crm,n=3", "extra_fields_types": "n=integer,src=string",
        }))
        .unwrap();
        assert_eq!(s.destination, "s3://b/p");
        assert_eq!(s.compression_label, "gz");
        assert_eq!(s.row_group_rows, 500);
        assert_eq!(s.partition_cols, ["a", "b"]);
        assert_eq!(s.extra_fields[0].value, json!("crm"));
        assert_eq!(s.extra_fields[1].value, json!(3));
        assert_eq!(s.extra_fields[1].kind, ColumnType::Int64);
        let s = parse(json!({"partition_cols": ["x"], "object_store_timeout_seconds": 0})).unwrap();
        assert_eq!(s.partition_cols, ["x"]);
        assert_eq!(s.store.timeout, None);
        let s = parse(json!({"partition_cols": "[\"y\", \"z\"]"})).unwrap();
        assert_eq!(s.partition_cols, ["y", "z"]);
    }

    #[test]
    fn errors_name_the_setting() {
        let cases = [
            (json!({"compression_method": "lzo"}), "`compression_method`"),
            (
                json!({"max_batch_size": 0}),
                "`max_batch_size` must be at least 1",
            ),
            (
                json!({"max_batch_size": "many"}),
                "`max_batch_size` must be a whole number",
            ),
            (
                json!({"destination_path": true}),
                "`destination_path` must be a string, found a boolean",
            ),
            (json!({"extra_fields": "a=1"}), "must name the same columns"),
            (
                json!({"extra_fields": "a=x", "extra_fields_types": "a=integer"}),
                "extra field `a` is typed integer",
            ),
            (
                json!({"extra_fields": "novalue", "extra_fields_types": "a=string"}),
                "name=value",
            ),
            (json!({"partition_cols": 3}), "`partition_cols`"),
            (
                json!({"partition_cols": ["a", {}]}),
                "`partition_cols` must be a list of names or a comma-separated string, found an array holding an object",
            ),
            (
                json!({"max_open_files": -1}),
                "`max_open_files` must be a whole number (0 or more), found -1",
            ),
            (
                json!({"object_store_timeout_seconds": "1m"}),
                "`object_store_timeout_seconds` must be a whole number (0 or more), found \"1m\"",
            ),
        ];
        for (config, expected) in cases {
            let err = parse(config.clone()).err().unwrap_or_default();
            assert!(err.contains(expected), "{config}: {err}");
        }
    }
}
