//! Reading the JSON files a Singer program is handed (config, catalog, state, definitions).
//!
//! Every plugin reads several such files and every failure must name the file and say what
//! it was for, so the reading and the error wording live in one place.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use thiserror::Error;

use crate::args::SingerArgs;

/// A JSON input file that could not be used.
#[derive(Debug, Error)]
pub enum JsonFileError {
    /// The file could not be opened or read.
    #[error("could not read {what} file '{path}': {source}")]
    Read {
        /// What the file is for ("config", "catalog", ...).
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is not valid JSON.
    #[error("{what} file '{path}' is not valid JSON: {source}")]
    Parse {
        /// What the file is for.
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// Where and why parsing failed.
        source: serde_json::Error,
    },
    /// The file is JSON but not the expected shape.
    #[error("{what} file '{path}' {problem}")]
    Shape {
        /// What the file is for.
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

/// Reads and parses one JSON file.
pub fn read_json(path: &Path, what: &'static str) -> Result<Value, JsonFileError> {
    let bytes = std::fs::read(path).map_err(|source| JsonFileError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| JsonFileError::Parse {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Reads one JSON file that must hold an object.
pub fn read_json_object(
    path: &Path,
    what: &'static str,
) -> Result<Map<String, Value>, JsonFileError> {
    match read_json(path, what)? {
        Value::Object(map) => Ok(map),
        other => Err(JsonFileError::Shape {
            what,
            path: path.to_path_buf(),
            problem: format!("must hold a JSON object, found {}", json_type_name(&other)),
        }),
    }
}

/// The merged config of every `--config` file, in order: a key in a later file replaces the
/// same key from an earlier one (a shallow merge, as Singer SDK taps do). Keys keep file
/// order. No `--config` at all gives an empty object.
pub fn load_config(args: &SingerArgs) -> Result<Map<String, Value>, JsonFileError> {
    let mut merged = Map::new();
    for path in &args.config {
        for (key, value) in read_json_object(path, "config")? {
            merged.insert(key, value);
        }
    }
    Ok(merged)
}

/// "an object", "a string", ... for error messages about JSON values.
pub use smelt_singer::json_value::json_type_name;

#[cfg(test)]
mod tests {
    use super::*;

    fn config_args(paths: &[PathBuf]) -> SingerArgs {
        SingerArgs {
            config: paths.to_vec(),
            ..SingerArgs::default()
        }
    }

    #[test]
    fn later_config_files_override_earlier_keys() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        std::fs::write(&a, r#"{"x": 1, "y": {"deep": true}}"#).unwrap();
        std::fs::write(&b, r#"{"y": {"other": 2}, "z": "s"}"#).unwrap();
        let merged = load_config(&config_args(&[a, b])).unwrap();
        assert_eq!(
            Value::Object(merged.clone()),
            serde_json::json!({"x": 1, "y": {"other": 2}, "z": "s"})
        );
        let keys: Vec<&str> = merged.keys().map(String::as_str).collect();
        assert_eq!(keys, ["x", "y", "z"], "file order");
        assert!(load_config(&SingerArgs::default()).unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_file_and_its_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let err = load_config(&config_args(std::slice::from_ref(&missing))).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("config file") && text.contains("missing.json"),
            "{text}"
        );

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{not json").unwrap();
        let text = read_json(&bad, "catalog").unwrap_err().to_string();
        assert!(
            text.starts_with("catalog file") && text.contains("line 1"),
            "{text}"
        );

        let list = dir.path().join("list.json");
        std::fs::write(&list, "[1]").unwrap();
        let text = read_json_object(&list, "state").unwrap_err().to_string();
        assert!(
            text.contains("must hold a JSON object, found an array"),
            "{text}"
        );
    }

    #[test]
    fn json_type_names() {
        assert_eq!(json_type_name(&serde_json::json!([])), "an array");
        assert_eq!(json_type_name(&serde_json::json!(null)), "null");
    }
}
