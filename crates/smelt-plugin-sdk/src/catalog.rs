//! The `--catalog` a tap is handed: which streams and properties to emit, with which schema and
//! replication settings.
//!
//! Selection follows the Singer SDK: a stream absent from the catalog is not synced; a stream
//! with no metadata at all is selected; a deselected parent deselects everything under it;
//! otherwise a breadcrumb's own entry decides, read the way Meltano reads it
//! ([`SelectionType::of_entry`]: `inclusion`, then `selected`, then `selected-by-default`); a
//! breadcrumb whose entry says none of these inherits its parent's selection.

use std::collections::HashMap;

use serde_json::{Map, Value};
use smelt_singer::catalog::SelectionType;
use thiserror::Error;

/// A catalog file that is not a Singer catalog (worded for the person who wrote it).
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct InvalidCatalog(pub String);

/// The input catalog, by `tap_stream_id`.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    streams: HashMap<String, CatalogStream>,
}

/// One stream of the input catalog.
#[derive(Debug, Clone, Default)]
pub struct CatalogStream {
    /// Metadata entries (`{"breadcrumb": ..., "metadata": {...}}`) by breadcrumb.
    entries: HashMap<Vec<String>, Value>,
    /// The stream's schema, when it has `properties` (else the tap uses its discovered one).
    pub schema: Option<Value>,
    /// `replication-key` from the stream metadata (or the legacy top-level field).
    pub replication_key: Option<String>,
    /// `replication-method`, upper-cased (`INCREMENTAL`, `FULL_TABLE`, ...).
    pub replication_method: Option<String>,
}

impl Catalog {
    /// Reads a catalog document (the output of `--discover`, possibly edited).
    pub fn from_value(value: &Value) -> Result<Catalog, InvalidCatalog> {
        let Some(Value::Array(streams)) = value.get("streams") else {
            return Err(InvalidCatalog(
                "expected an object with a `streams` list (the output of --discover)".into(),
            ));
        };
        let mut catalog = Catalog::default();
        for (i, stream) in streams.iter().enumerate() {
            let id = stream
                .get("tap_stream_id")
                .or_else(|| stream.get("stream"))
                .and_then(Value::as_str)
                .ok_or_else(|| InvalidCatalog(format!("streams[{i}] has no `tap_stream_id`")))?;
            catalog
                .streams
                .insert(id.to_string(), CatalogStream::from_value(stream, id)?);
        }
        Ok(catalog)
    }

    /// The catalog entry of stream `id`, if the catalog lists it.
    pub fn stream(&self, id: &str) -> Option<&CatalogStream> {
        self.streams.get(id)
    }

    /// Stream ids the catalog lists, for warnings about unknown streams.
    pub fn stream_ids(&self) -> impl Iterator<Item = &str> {
        self.streams.keys().map(String::as_str)
    }
}

impl CatalogStream {
    fn from_value(stream: &Value, id: &str) -> Result<CatalogStream, InvalidCatalog> {
        let mut parsed = CatalogStream::default();
        let mut root = &Map::new();
        let empty = Vec::new();
        let list = match stream.get("metadata") {
            None => &empty,
            Some(Value::Array(list)) => list,
            Some(_) => {
                return Err(InvalidCatalog(format!(
                    "stream '{id}': `metadata` must be a list"
                )))
            }
        };
        for item in list {
            let breadcrumb = breadcrumb(item).ok_or_else(|| {
                InvalidCatalog(format!(
                    "stream '{id}': every metadata entry needs a `breadcrumb` list of strings"
                ))
            })?;
            let Some(Value::Object(md)) = item.get("metadata") else {
                return Err(InvalidCatalog(format!(
                    "stream '{id}': metadata entry {breadcrumb:?} needs a `metadata` object"
                )));
            };
            if breadcrumb.is_empty() {
                root = md;
            }
            parsed.entries.insert(breadcrumb, item.clone());
        }
        parsed.schema = stream
            .get("schema")
            .filter(|s| s.get("properties").is_some_and(Value::is_object))
            .cloned();
        parsed.replication_key = root
            .get("replication-key")
            .or_else(|| stream.get("replication_key"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        parsed.replication_method = root
            .get("replication-method")
            .or_else(|| stream.get("replication_method"))
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase);
        Ok(parsed)
    }

    /// Whether the node at `breadcrumb` (`[]` for the stream, `["properties", "a"]` for a
    /// property, deeper for nested ones) is selected; see the module docs for the rule.
    pub fn is_selected(&self, breadcrumb: &[String]) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        let parent = match breadcrumb.len() {
            0 => None,
            len => Some(self.is_selected(&breadcrumb[..len.saturating_sub(2)])),
        };
        if parent == Some(false) {
            return false;
        }
        match self.entries.get(breadcrumb) {
            Some(entry) if decides(entry) => SelectionType::of_entry(entry).is_selected(),
            _ => parent == Some(true),
        }
    }

    /// Whether the stream itself is selected.
    pub fn stream_selected(&self) -> bool {
        self.is_selected(&[])
    }

    /// Whether top-level property `name` is selected.
    pub fn property_selected(&self, name: &str) -> bool {
        self.is_selected(&["properties".to_string(), name.to_string()])
    }
}

/// The breadcrumb of a metadata entry, if it is a list of strings.
fn breadcrumb(item: &Value) -> Option<Vec<String>> {
    item.get("breadcrumb")?
        .as_array()?
        .iter()
        .map(|p| p.as_str().map(str::to_string))
        .collect()
}

/// Whether a metadata entry says anything about selection (else its node inherits).
fn decides(entry: &Value) -> bool {
    let Some(md) = entry.get("metadata") else {
        return false;
    };
    let says = |key: &str| md.get(key).is_some_and(|v| !v.is_null());
    matches!(
        md.get("inclusion").and_then(Value::as_str),
        Some("automatic" | "unsupported")
    ) || says("selected")
        || says("selected-by-default")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stream(metadata: Value) -> CatalogStream {
        let catalog = Catalog::from_value(&json!({"streams": [
            {"tap_stream_id": "s", "schema": {}, "metadata": metadata}
        ]}))
        .unwrap();
        catalog.stream("s").unwrap().clone()
    }

    #[test]
    fn sdk_selection_rules() {
        // No metadata at all: everything selected.
        assert!(stream(json!([])).stream_selected());
        // Stream-level selected wins; properties inherit it.
        let s = stream(json!([{"breadcrumb": [], "metadata": {"selected": true}}]));
        assert!(s.stream_selected() && s.property_selected("a"));
        // Metadata present but silent about the stream: not selected.
        let s =
            stream(json!([{"breadcrumb": ["properties", "a"], "metadata": {"selected": true}}]));
        assert!(!s.stream_selected());
        // selected-by-default applies when selected is absent, with Python truthiness.
        let s = stream(json!([{"breadcrumb": [], "metadata": {"selected-by-default": true}}]));
        assert!(s.stream_selected());
        let s = stream(json!([{"breadcrumb": [], "metadata": {"selected-by-default": "yes"}}]));
        assert!(s.stream_selected());
        // A deselected stream deselects even automatic properties.
        let s = stream(json!([
            {"breadcrumb": [], "metadata": {"selected": false}},
            {"breadcrumb": ["properties", "a"], "metadata": {"inclusion": "automatic"}}
        ]));
        assert!(!s.stream_selected() && !s.property_selected("a"));
        // Property rules: unsupported never, automatic always, else selected.
        let s = stream(json!([
            {"breadcrumb": [], "metadata": {"selected": true}},
            {"breadcrumb": ["properties", "a"], "metadata": {"inclusion": "unsupported", "selected": true}},
            {"breadcrumb": ["properties", "b"], "metadata": {"inclusion": "automatic", "selected": false}},
            {"breadcrumb": ["properties", "c"], "metadata": {"inclusion": "available", "selected": false}},
            {"breadcrumb": ["properties", "e"], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "f"], "metadata": {"selected": "true"}}
        ]));
        assert!(!s.property_selected("a"));
        assert!(s.property_selected("b"));
        assert!(!s.property_selected("c"));
        assert!(s.property_selected("d"), "no entry: inherits the stream");
        assert!(
            s.property_selected("e"),
            "silent entry: inherits the stream"
        );
        assert!(!s.property_selected("f"), "only a real boolean selects");
        // Nested properties inherit from their parent property.
        let s = stream(json!([
            {"breadcrumb": [], "metadata": {"selected": true}},
            {"breadcrumb": ["properties", "geo"], "metadata": {"selected": false}}
        ]));
        let city = ["properties", "geo", "properties", "city"].map(String::from);
        assert!(!s.is_selected(&city));
    }

    #[test]
    fn replication_settings_and_schema() {
        let catalog = Catalog::from_value(&json!({"streams": [
            {"tap_stream_id": "a", "schema": {"properties": {"x": {}}}, "metadata": [
                {"breadcrumb": [], "metadata": {"replication-key": "ts", "replication-method": "incremental"}}
            ]},
            {"stream": "b", "replication_key": "", "replication_method": "FULL_TABLE", "schema": {}}
        ]}))
        .unwrap();
        let a = catalog.stream("a").unwrap();
        assert_eq!(a.replication_key.as_deref(), Some("ts"));
        assert_eq!(a.replication_method.as_deref(), Some("INCREMENTAL"));
        assert!(a.schema.is_some());
        let b = catalog.stream("b").unwrap();
        assert_eq!(b.replication_key, None, "an empty key is no key");
        assert_eq!(b.replication_method.as_deref(), Some("FULL_TABLE"));
        assert!(b.schema.is_none(), "a schema without properties is ignored");
        let mut ids: Vec<&str> = catalog.stream_ids().collect();
        ids.sort();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn catalog_shape_errors() {
        assert!(Catalog::from_value(&json!({"nope": []})).is_err());
        assert!(Catalog::from_value(&json!({"streams": [{"schema": {}}]})).is_err());
        let err = Catalog::from_value(&json!({"streams": [
            {"tap_stream_id": "s", "metadata": [{"metadata": {}}]}
        ]}))
        .unwrap_err()
        .to_string();
        assert!(err.contains("breadcrumb"), "{err}");
        let err = Catalog::from_value(&json!({"streams": [
            {"tap_stream_id": "s", "metadata": {}}
        ]}))
        .unwrap_err();
        assert_eq!(
            err,
            InvalidCatalog("stream 's': `metadata` must be a list".into())
        );
    }
}
