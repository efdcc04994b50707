//! target-jsonl's config: where files go and how strictly records are checked.

use std::path::PathBuf;

use serde_json::{Map, Value};
use smelt_plugin_sdk::settings::bool_setting;

use super::error::TargetError;

/// The settings target-jsonl reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetConfig {
    /// Directory of the output files (created when missing); relative to the current dir.
    pub destination_path: PathBuf,
    /// Name files `<stream>-<YYYYMMDDTHHMMSS>.jsonl` instead of `<stream>.jsonl`.
    pub do_timestamp_file: bool,
    /// Validate every record against its stream's JSON schema.
    pub validate_records: bool,
}

/// The default `destination_path`.
pub(crate) const DEFAULT_DESTINATION: &str = "output";

impl TargetConfig {
    /// Reads the settings from the merged config, applying defaults.
    pub(crate) fn from_map(config: &Map<String, Value>) -> Result<Self, TargetError> {
        let destination_path = match config.get("destination_path") {
            None | Some(Value::Null) => PathBuf::from(DEFAULT_DESTINATION),
            Some(Value::String(s)) if s.is_empty() => PathBuf::from("."),
            Some(Value::String(s)) => PathBuf::from(s),
            Some(other) => {
                return Err(TargetError::Config(format!(
                    "`destination_path` must be a directory path, found {}",
                    smelt_plugin_sdk::json_type_name(other)
                )))
            }
        };
        Ok(TargetConfig {
            destination_path,
            do_timestamp_file: flag(config, "do_timestamp_file", false)?,
            validate_records: flag(config, "validate_records", true)?,
        })
    }
}

/// A boolean setting, with the config error target-jsonl reports.
fn flag(config: &Map<String, Value>, key: &str, default: bool) -> Result<bool, TargetError> {
    bool_setting(config, key, default).map_err(TargetError::Config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<TargetConfig, TargetError> {
        match value {
            Value::Object(map) => TargetConfig::from_map(&map),
            _ => unreachable!("test configs are objects"),
        }
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(
            parse(json!({})).unwrap(),
            TargetConfig {
                destination_path: PathBuf::from("output"),
                do_timestamp_file: false,
                validate_records: true
            }
        );
        let cfg = parse(
            json!({"destination_path": "out/x", "do_timestamp_file": "true",
                               "validate_records": false}),
        )
        .unwrap();
        assert_eq!(cfg.destination_path, PathBuf::from("out/x"));
        assert!(cfg.do_timestamp_file);
        assert!(!cfg.validate_records);
    }

    #[test]
    fn wrong_types_are_reported() {
        let err = parse(json!({"validate_records": "maybe"}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`validate_records` must be true or false"),
            "{err}"
        );
        let err = parse(json!({"destination_path": 3}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`destination_path` must be a directory path"),
            "{err}"
        );
    }
}
