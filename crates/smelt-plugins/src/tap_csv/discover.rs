//! Discovery: which files make up each entity, which columns they have, and the catalog
//! (`--discover`) describing them.
//!
//! An entity's columns are the union of its files' headers in first-seen order (a file that
//! lacks a column yields `null` for it). Every column is a string: `{"type": ["string",
//! "null"]}`, except key columns, which are `{"type": "string"}` and listed in `required`.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::config::FileDef;
use super::error::TapCsvError;
use super::{paths, reader};

/// One entity, ready to be read.
#[derive(Debug, Clone)]
pub(crate) struct StreamPlan {
    /// Its configuration.
    pub def: FileDef,
    /// Its files, in reading order.
    pub files: Vec<PathBuf>,
    /// The union of the files' columns.
    pub columns: Vec<String>,
}

/// Finds the files of `def` and reads their headers.
pub(crate) fn plan(def: FileDef) -> Result<StreamPlan, TapCsvError> {
    let files = paths::expand(&def.entity, &def.path)?;
    let mut columns: Vec<String> = Vec::new();
    for file in &files {
        let opened = reader::open(&def, file)?;
        for name in opened.header {
            if !columns.contains(&name) {
                columns.push(name);
            }
        }
    }
    Ok(StreamPlan {
        def,
        files,
        columns,
    })
}

impl StreamPlan {
    /// The stream name (the entity).
    pub(crate) fn name(&self) -> &str {
        &self.def.entity
    }

    /// The schema discovery assigns to this stream.
    pub(crate) fn discovered_schema(&self) -> Value {
        let mut properties = Map::new();
        for column in &self.columns {
            let schema = if self.def.keys.contains(column) {
                json!({"type": "string"})
            } else {
                json!({"type": ["string", "null"]})
            };
            properties.insert(column.clone(), schema);
        }
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), Value::Object(properties));
        if !self.def.keys.is_empty() {
            schema.insert("required".into(), json!(self.def.keys));
        }
        Value::Object(schema)
    }

    /// This stream's entry in the `--discover` catalog.
    pub(crate) fn catalog_entry(&self) -> Value {
        let rk = &self.def.replication_key;
        let method = if rk.is_some() {
            "INCREMENTAL"
        } else {
            "FULL_TABLE"
        };
        let mut root = Map::new();
        root.insert("inclusion".into(), json!("available"));
        root.insert("selected".into(), json!(true));
        root.insert("selected-by-default".into(), json!(true));
        root.insert("table-key-properties".into(), json!(self.def.keys));
        root.insert("forced-replication-method".into(), json!(method));
        if let Some(rk) = rk {
            root.insert("valid-replication-keys".into(), json!([rk]));
        }
        let mut metadata = vec![json!({"breadcrumb": [], "metadata": root})];
        for column in &self.columns {
            let automatic = self.def.keys.contains(column) || rk.as_ref() == Some(column);
            metadata.push(json!({
                "breadcrumb": ["properties", column],
                "metadata": {
                    "inclusion": if automatic { "automatic" } else { "available" },
                    "selected-by-default": true
                }
            }));
        }
        let mut entry = Map::new();
        entry.insert("tap_stream_id".into(), json!(self.def.entity));
        entry.insert("stream".into(), json!(self.def.entity));
        entry.insert("schema".into(), self.discovered_schema());
        entry.insert("key_properties".into(), json!(self.def.keys));
        if let Some(rk) = rk {
            entry.insert("replication_key".into(), json!(rk));
        }
        entry.insert("replication_method".into(), json!(method));
        entry.insert("metadata".into(), Value::Array(metadata));
        Value::Object(entry)
    }
}

/// The whole `--discover` catalog.
pub(crate) fn catalog(plans: &[StreamPlan]) -> Value {
    json!({"streams": plans.iter().map(StreamPlan::catalog_entry).collect::<Vec<_>>()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_unions_headers_and_catalog_describes_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.csv"), "id,name\n1,a\n").unwrap();
        std::fs::write(dir.path().join("2.csv"), "id,updated,name\n2,2024,b\n").unwrap();
        let def = FileDef {
            entity: "people".into(),
            path: dir.path().to_str().unwrap().into(),
            keys: vec!["id".into()],
            replication_key: Some("id".into()),
            delimiter: b',',
            quote: b'"',
        };
        let plan = plan(def).unwrap();
        assert_eq!(plan.columns, ["id", "name", "updated"]);
        assert_eq!(
            plan.discovered_schema(),
            json!({"type": "object", "properties": {
                "id": {"type": "string"},
                "name": {"type": ["string", "null"]},
                "updated": {"type": ["string", "null"]}
            }, "required": ["id"]})
        );
        let catalog = catalog(std::slice::from_ref(&plan));
        let entry = &catalog["streams"][0];
        assert_eq!(entry["tap_stream_id"], "people");
        assert_eq!(entry["replication_key"], "id");
        assert_eq!(entry["metadata"][0]["breadcrumb"], json!([]));
        assert_eq!(
            entry["metadata"][0]["metadata"]["valid-replication-keys"],
            json!(["id"])
        );
        assert_eq!(
            entry["metadata"][0]["metadata"]["forced-replication-method"],
            "INCREMENTAL"
        );
        assert_eq!(
            entry["metadata"][1]["breadcrumb"],
            json!(["properties", "id"])
        );
        assert_eq!(entry["metadata"][1]["metadata"]["inclusion"], "automatic");
        assert_eq!(entry["metadata"][2]["metadata"]["inclusion"], "available");
    }
}
