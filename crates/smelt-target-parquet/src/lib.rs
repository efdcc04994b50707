//! smelt's native `target-parquet`: one Parquet dataset per Singer stream.
//!
//! Each stream's records become Parquet files under `<destination_path>/<stream>/` (with
//! hive-style `column=value/` directories when `partition_cols` is set), in a local directory
//! or in S3, GCS or Azure Blob Storage through the object-store code the state backends use.
//! Column types come from the stream's SCHEMA ([`columns`]); rows are buffered per row group
//! up to `max_batch_size` rows or `max_row_group_mb`, files are closed at
//! `max_pyarrow_table_size` MB, and every file appears whole or not at all
//! ([`destination`]). A STATE is written to stdout only once every row before it is in a
//! published file ([`target`]).
//!
//! Settings follow Automattic target-parquet, the Meltano Hub's default variant, where the
//! meaning is the same.

pub mod buffer;
pub mod columns;
pub mod config;
pub mod convert;
pub mod destination;
pub mod file;
pub mod paths;
pub mod record;
pub mod stream;
pub mod target;

use std::io::{BufRead, Write};

use smelt_plugin_sdk::args::SingerArgs;
use smelt_plugin_sdk::json_file::load_config;
use smelt_plugin_sdk::registry::{Flags, NativePlugin};
use smelt_plugin_sdk::spec::{setting, DefaultValue, PluginKind, PluginSpec, SettingType};

/// The plugin's description, capabilities and settings (`--about`, the project definition).
pub const SPEC: PluginSpec = PluginSpec {
    name: "target-parquet",
    kind: PluginKind::Loader,
    description: "Writes each Singer stream as a Parquet dataset <destination_path>/<stream>/ \
                  in a local directory or S3, GCS or Azure Blob Storage; built into smelt.",
    capabilities: &["about"],
    settings: &[
        setting(
            "destination_path",
            SettingType::String,
            Some(DefaultValue::Str(config::DEFAULT_DESTINATION)),
            "Local directory, or s3://bucket/prefix, gs://bucket/prefix or \
             azure://container/prefix; each stream's files go to <destination_path>/<stream>/.",
        ),
        setting(
            "compression_method",
            SettingType::String,
            Some(DefaultValue::Str("snappy")),
            "snappy, gzip or none.",
        ),
        setting(
            "max_batch_size",
            SettingType::Integer,
            Some(DefaultValue::Int(config::DEFAULT_BATCH_ROWS)),
            "Rows per row group (rows buffered in memory per open file).",
        ),
        setting(
            "max_row_group_mb",
            SettingType::Integer,
            Some(DefaultValue::Int(config::DEFAULT_ROW_GROUP_MB)),
            "Buffered megabytes at which a row group is written early (per stream).",
        ),
        setting(
            "max_pyarrow_table_size",
            SettingType::Integer,
            Some(DefaultValue::Int(config::DEFAULT_FILE_MB)),
            "Megabytes after which a file is closed and a new one started.",
        ),
        setting(
            "partition_cols",
            SettingType::String,
            None,
            "Columns to partition by, comma-separated (or a list): files go to \
             <stream>/<col>=<value>/ and the column is left out of the files.",
        ),
        setting(
            "extra_fields",
            SettingType::String,
            None,
            "Constant columns added to every record, e.g. source=crm,batch=7.",
        ),
        setting(
            "extra_fields_types",
            SettingType::String,
            None,
            "Types of the extra_fields columns (string, integer, number, boolean), e.g. \
             source=string,batch=integer.",
        ),
        setting(
            "max_flatten_level",
            SettingType::Integer,
            Some(DefaultValue::Int(config::DEFAULT_FLATTEN_LEVEL)),
            "Nested objects with properties become parent__child columns up to this depth; \
             deeper objects and arrays are stored as JSON text.",
        ),
        setting(
            "commit_interval_seconds",
            SettingType::Integer,
            Some(DefaultValue::Int(config::DEFAULT_COMMIT_SECONDS)),
            "Longest time a STATE waits before open files are closed and it is acknowledged; \
             0 closes the files at every STATE.",
        ),
        setting(
            "max_open_files",
            SettingType::Integer,
            Some(DefaultValue::Int(config::DEFAULT_OPEN_FILES)),
            "Files (partitions) open at once; beyond it the least recently used is closed.",
        ),
        setting(
            "aws_access_key_id",
            SettingType::String,
            None,
            "S3 access key ID (else the key in the URL, else the AWS_* environment).",
        ),
        setting(
            "aws_secret_access_key",
            SettingType::Password,
            None,
            "S3 secret access key.",
        ),
        setting(
            "aws_endpoint_url",
            SettingType::String,
            None,
            "Endpoint of an S3-compatible store (MinIO, R2, ...).",
        ),
        setting(
            "aws_region",
            SettingType::String,
            None,
            "The bucket's region.",
        ),
        setting(
            "google_application_credentials",
            SettingType::String,
            None,
            "Path of a Google credentials JSON file (else GOOGLE_APPLICATION_CREDENTIALS).",
        ),
        setting(
            "azure_connection_string",
            SettingType::Password,
            None,
            "Azure storage connection string (else AZURE_STORAGE_CONNECTION_STRING).",
        ),
        setting(
            "object_store_timeout_seconds",
            SettingType::Integer,
            Some(DefaultValue::Int(60)),
            "Bound on one object-store call (one upload part); 0 for none.",
        ),
    ],
};

/// The registry entry.
pub static PLUGIN: NativePlugin = NativePlugin {
    spec: &SPEC,
    flags: Flags::TARGET,
    run: run_plugin,
};

/// Reads the config and runs the target over `input`, acknowledging states on `output`.
fn run_plugin(
    args: &SingerArgs,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> Result<(), String> {
    let config = load_config(args).map_err(|e| format!("target-parquet: {e}"))?;
    let settings = config::Settings::from_config(&config)
        .map_err(|e| format!("target-parquet: invalid config: {e}"))?;
    target::run(settings, input, output).map(|_| ())
}
