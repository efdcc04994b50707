//! tap-csv's config: the list of CSV entities to read.
//!
//! Compatible in spirit with MeltanoLabs tap-csv: `files: [{entity, path, keys,
//! replication_key?, delimiter?, quotechar?, encoding?}]`, or `csv_files_definition` naming a
//! JSON file that holds that list. Both may be given; their entries are read in that order.

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value};

use super::error::TapCsvError;
use smelt_plugin_sdk::json_file::read_json;
use smelt_plugin_sdk::log;

/// One configured entity: a stream read from one or more CSV files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileDef {
    /// The stream name.
    pub entity: String,
    /// A file, a directory (every `*.csv` inside) or a glob.
    pub path: String,
    /// Primary key columns.
    pub keys: Vec<String>,
    /// Column whose maximum is bookmarked for incremental runs.
    pub replication_key: Option<String>,
    /// Field separator (one ASCII byte).
    pub delimiter: u8,
    /// Quote character (one ASCII byte).
    pub quote: u8,
}

const KNOWN_KEYS: &[&str] = &[
    "entity",
    "path",
    "keys",
    "replication_key",
    "delimiter",
    "quotechar",
    "encoding",
];

/// Reads the entity list from the merged config.
pub(crate) fn file_defs(config: &Map<String, Value>) -> Result<Vec<FileDef>, TapCsvError> {
    let mut defs = Vec::new();
    match config.get("files") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                defs.push(parse_def(item, &format!("files[{i}]"))?);
            }
        }
        Some(other) => {
            return Err(TapCsvError::Config(format!(
                "`files` must be a list of {{entity, path, keys}} objects, found {}",
                smelt_plugin_sdk::json_type_name(other)
            )))
        }
    }
    match config.get("csv_files_definition") {
        None | Some(Value::Null) => {}
        Some(Value::String(path)) if path.is_empty() => {}
        Some(Value::String(path)) => {
            let items = match read_json(Path::new(path), "csv_files_definition")? {
                Value::Array(items) => items,
                Value::Object(mut map) => match map.remove("files") {
                    Some(Value::Array(items)) => items,
                    _ => return Err(definition_shape_error(path)),
                },
                _ => return Err(definition_shape_error(path)),
            };
            for (i, item) in items.iter().enumerate() {
                defs.push(parse_def(
                    item,
                    &format!("csv_files_definition '{path}' entry {i}"),
                )?);
            }
        }
        Some(other) => {
            return Err(TapCsvError::Config(format!(
                "`csv_files_definition` must be the path of a JSON file, found {}",
                smelt_plugin_sdk::json_type_name(other)
            )))
        }
    }
    if defs.is_empty() {
        return Err(TapCsvError::Config(
            "no CSV files configured: set `files` to a list of {entity, path, keys} objects, \
             or `csv_files_definition` to a JSON file holding that list"
                .to_string(),
        ));
    }
    let mut seen = HashSet::new();
    for def in &defs {
        if !seen.insert(def.entity.as_str()) {
            return Err(TapCsvError::Config(format!(
                "entity '{}' is configured twice; give each entity one entry (a directory or glob \
                 `path` reads several files into one entity)",
                def.entity
            )));
        }
    }
    Ok(defs)
}

fn definition_shape_error(path: &str) -> TapCsvError {
    TapCsvError::Config(format!(
        "csv_files_definition '{path}' must hold a JSON list of {{entity, path, keys}} objects"
    ))
}

fn parse_def(item: &Value, place: &str) -> Result<FileDef, TapCsvError> {
    let Value::Object(map) = item else {
        return Err(TapCsvError::Config(format!(
            "{place} must be an object with entity, path and keys, found {}",
            smelt_plugin_sdk::json_type_name(item)
        )));
    };
    let entity = required_string(map, "entity", place)?;
    let path = required_string(map, "path", place)?;
    let place = format!("{place} (entity {entity})");
    for key in map.keys() {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            log::warn(&format!(
                "tap-csv: {place}: unknown key '{key}' ignored (known: {})",
                KNOWN_KEYS.join(", ")
            ));
        }
    }
    let keys = match map.get("keys") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|k| match k {
                Value::String(s) => Ok(s.clone()),
                other => Err(TapCsvError::Config(format!(
                    "{place}: `keys` must list column names, found {}",
                    smelt_plugin_sdk::json_type_name(other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(TapCsvError::Config(format!(
                "{place}: `keys` must be a list of column names, found {}",
                smelt_plugin_sdk::json_type_name(other)
            )))
        }
    };
    let replication_key = match map.get("replication_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(TapCsvError::Config(format!(
                "{place}: `replication_key` must be a column name, found {}",
                smelt_plugin_sdk::json_type_name(other)
            )))
        }
    };
    let delimiter = single_byte(map, "delimiter", b',', &place)?;
    let quote = single_byte(map, "quotechar", b'"', &place)?;
    check_encoding(map, &place)?;
    Ok(FileDef {
        entity,
        path,
        keys,
        replication_key,
        delimiter,
        quote,
    })
}

fn required_string(
    map: &Map<String, Value>,
    key: &str,
    place: &str,
) -> Result<String, TapCsvError> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(TapCsvError::Config(format!("{place}: `{key}` is required")))
        }
        Some(other) => Err(TapCsvError::Config(format!(
            "{place}: `{key}` must be a string, found {}",
            smelt_plugin_sdk::json_type_name(other)
        ))),
    }
}

fn single_byte(
    map: &Map<String, Value>,
    key: &str,
    default: u8,
    place: &str,
) -> Result<u8, TapCsvError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        Some(other) => Err(TapCsvError::Config(format!(
            "{place}: `{key}` must be exactly one ASCII character, found {other}"
        ))),
    }
}

fn check_encoding(map: &Map<String, Value>, place: &str) -> Result<(), TapCsvError> {
    match map.get("encoding") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) => {
            let normalized: String = s
                .chars()
                .filter(|c| *c != '-' && *c != '_')
                .collect::<String>()
                .to_ascii_lowercase();
            if normalized == "utf8" || normalized == "utf8sig" {
                Ok(())
            } else {
                Err(TapCsvError::Config(format!(
                    "{place}: encoding '{s}' is not supported; only utf-8 is. Convert the file \
                     first, e.g. `iconv -f {s} -t utf-8 in.csv > out.csv`"
                )))
            }
        }
        Some(other) => Err(TapCsvError::Config(format!(
            "{place}: `encoding` must be a string such as \"utf-8\", found {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("test configs are objects"),
        }
    }

    #[test]
    fn reads_files_with_defaults() {
        let defs = file_defs(&config(json!({"files": [
            {"entity": "users", "path": "users.csv", "keys": ["id"]},
            {"entity": "events", "path": "ev/", "keys": [], "replication_key": "ts",
             "delimiter": ";", "quotechar": "'", "encoding": "UTF-8"}
        ]})))
        .unwrap();
        assert_eq!(defs.len(), 2);
        assert_eq!(defs[0].delimiter, b',');
        assert_eq!(defs[0].quote, b'"');
        assert_eq!(defs[0].replication_key, None);
        assert_eq!(defs[1].delimiter, b';');
        assert_eq!(defs[1].quote, b'\'');
        assert_eq!(defs[1].replication_key.as_deref(), Some("ts"));
    }

    #[test]
    fn reads_csv_files_definition_after_files() {
        let dir = tempfile::tempdir().unwrap();
        let def_path = dir.path().join("defs.json");
        std::fs::write(
            &def_path,
            r#"[{"entity": "b", "path": "b.csv", "keys": ["k"]}]"#,
        )
        .unwrap();
        let defs = file_defs(&config(json!({
            "files": [{"entity": "a", "path": "a.csv"}],
            "csv_files_definition": def_path.to_str().unwrap()
        })))
        .unwrap();
        let names: Vec<_> = defs.iter().map(|d| d.entity.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(defs[0].keys.is_empty());
    }

    #[test]
    fn rejects_bad_configs_with_clear_messages() {
        let cases = [
            (json!({}), "no CSV files configured"),
            (json!({"files": "x.csv"}), "`files` must be a list"),
            (
                json!({"files": [{"path": "x.csv"}]}),
                "files[0]: `entity` is required",
            ),
            (
                json!({"files": [{"entity": "e", "path": "x.csv", "encoding": "latin-1"}]}),
                "encoding 'latin-1' is not supported; only utf-8 is",
            ),
            (
                json!({"files": [{"entity": "e", "path": "x.csv", "delimiter": "ab"}]}),
                "`delimiter` must be exactly one ASCII character",
            ),
            (
                json!({"files": [{"entity": "e", "path": "x.csv", "keys": "id"}]}),
                "`keys` must be a list of column names",
            ),
            (
                json!({"files": [{"entity": "e", "path": "a.csv"}, {"entity": "e", "path": "b.csv"}]}),
                "entity 'e' is configured twice",
            ),
            (
                json!({"csv_files_definition": "/nonexistent/defs.json"}),
                "could not read csv_files_definition file '/nonexistent/defs.json'",
            ),
        ];
        for (cfg, expected) in cases {
            let err = file_defs(&config(cfg.clone())).unwrap_err().to_string();
            assert!(err.contains(expected), "{cfg}: {err}");
        }
    }
}
