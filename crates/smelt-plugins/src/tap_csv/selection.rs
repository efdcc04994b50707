//! Applying a `--catalog` to the discovered streams: which streams and columns to emit, with
//! which schema and replication key.
//!
//! Selection follows the Singer SDK: a stream absent from the catalog is not synced; a stream
//! or property with no metadata at all is selected; otherwise `inclusion: unsupported` means
//! never, `inclusion: automatic` always, then `selected`, then `selected-by-default`, then the
//! parent's value (a property with none of these inherits the stream's selection).
//! Unlike the SDK, key and replication key columns are always kept, because targets need them.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::coerce::Coercion;
use super::discover::StreamPlan;
use super::error::TapCsvError;

/// Selection metadata of one breadcrumb.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Entry {
    inclusion: Option<String>,
    selected: Option<bool>,
    selected_by_default: Option<bool>,
}

/// One stream of the input catalog.
#[derive(Debug, Clone, Default)]
pub(crate) struct CatalogStream {
    metadata: HashMap<Vec<String>, Entry>,
    root: Map<String, Value>,
    schema: Option<Value>,
    replication_key: Option<String>,
    replication_method: Option<String>,
}

/// The input catalog, by `tap_stream_id`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    streams: HashMap<String, CatalogStream>,
}

impl Catalog {
    /// Reads a catalog document.
    pub(crate) fn from_value(value: &Value) -> Result<Catalog, TapCsvError> {
        let streams = match value.get("streams") {
            Some(Value::Array(streams)) => streams,
            _ => {
                return Err(TapCsvError::Catalog(
                    "expected an object with a `streams` list (the output of --discover)".into(),
                ))
            }
        };
        let mut catalog = Catalog::default();
        for (i, stream) in streams.iter().enumerate() {
            let id = stream
                .get("tap_stream_id")
                .or_else(|| stream.get("stream"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    TapCsvError::Catalog(format!("streams[{i}] has no `tap_stream_id`"))
                })?;
            catalog
                .streams
                .insert(id.to_string(), parse_stream(stream, id)?);
        }
        Ok(catalog)
    }

    /// The catalog entry of stream `id`, if the catalog lists it.
    pub(crate) fn stream(&self, id: &str) -> Option<&CatalogStream> {
        self.streams.get(id)
    }

    /// Stream ids the catalog lists, for warnings about unknown streams.
    pub(crate) fn stream_ids(&self) -> impl Iterator<Item = &str> {
        self.streams.keys().map(String::as_str)
    }
}

fn parse_stream(stream: &Value, id: &str) -> Result<CatalogStream, TapCsvError> {
    let mut parsed = CatalogStream::default();
    if let Some(list) = stream.get("metadata") {
        let Value::Array(list) = list else {
            return Err(TapCsvError::Catalog(format!(
                "stream '{id}': `metadata` must be a list"
            )));
        };
        for item in list {
            let breadcrumb = match item.get("breadcrumb") {
                Some(Value::Array(parts)) => parts
                    .iter()
                    .map(|p| p.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            }
            .ok_or_else(|| {
                TapCsvError::Catalog(format!(
                    "stream '{id}': every metadata entry needs a `breadcrumb` list of strings"
                ))
            })?;
            let md = match item.get("metadata") {
                Some(Value::Object(md)) => md,
                _ => {
                    return Err(TapCsvError::Catalog(format!(
                        "stream '{id}': metadata entry {breadcrumb:?} needs a `metadata` object"
                    )))
                }
            };
            if breadcrumb.is_empty() {
                parsed.root = md.clone();
            }
            parsed.metadata.insert(
                breadcrumb,
                Entry {
                    inclusion: md.get("inclusion").and_then(Value::as_str).map(Into::into),
                    selected: md.get("selected").and_then(Value::as_bool),
                    selected_by_default: md.get("selected-by-default").and_then(Value::as_bool),
                },
            );
        }
    }
    parsed.schema = stream
        .get("schema")
        .filter(|s| s.get("properties").is_some_and(Value::is_object))
        .cloned();
    parsed.replication_key = parsed
        .root
        .get("replication-key")
        .or_else(|| stream.get("replication_key"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    parsed.replication_method = parsed
        .root
        .get("replication-method")
        .or_else(|| stream.get("replication_method"))
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase);
    Ok(parsed)
}

impl CatalogStream {
    /// The Singer SDK selection rule for one breadcrumb.
    fn is_selected(&self, breadcrumb: &[String]) -> bool {
        if self.metadata.is_empty() {
            return true;
        }
        let parent = if breadcrumb.is_empty() {
            None
        } else {
            let parent_len = breadcrumb.len().saturating_sub(2);
            Some(self.is_selected(&breadcrumb[..parent_len]))
        };
        if parent == Some(false) {
            return false;
        }
        let entry = self.metadata.get(breadcrumb).cloned().unwrap_or_default();
        match entry.inclusion.as_deref() {
            Some("unsupported") => return false,
            Some("automatic") => return true,
            _ => {}
        }
        entry
            .selected
            .or(entry.selected_by_default)
            .unwrap_or(parent == Some(true))
    }

    /// Whether the stream itself is selected.
    pub(crate) fn stream_selected(&self) -> bool {
        self.is_selected(&[])
    }

    fn property_selected(&self, name: &str) -> bool {
        self.is_selected(&["properties".to_string(), name.to_string()])
    }
}

/// What syncing one stream needs to know after the catalog is applied.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedStream {
    /// The schema to send in the SCHEMA message.
    pub schema: Value,
    /// Per plan column: how to write it, or `None` to drop it.
    pub columns: Vec<Option<Coercion>>,
    /// The replication key, when the stream is synced incrementally.
    pub replication_key: Option<String>,
}

/// Applies the catalog entry of `plan` (or none, when no catalog was given).
pub(crate) fn resolve(
    plan: &StreamPlan,
    entry: Option<&CatalogStream>,
) -> Result<ResolvedStream, TapCsvError> {
    let Some(entry) = entry else {
        return Ok(ResolvedStream {
            schema: plan.discovered_schema(),
            columns: vec![Some(Coercion::STRING); plan.columns.len()],
            replication_key: plan.def.replication_key.clone(),
        });
    };
    let replication_key = if entry.replication_method.as_deref() == Some("FULL_TABLE") {
        None
    } else {
        entry
            .replication_key
            .clone()
            .or_else(|| plan.def.replication_key.clone())
    };
    if let Some(rk) = &replication_key {
        if !plan.columns.contains(rk) {
            return Err(TapCsvError::Catalog(format!(
                "stream '{}': replication key '{rk}' is not a column (columns: {})",
                plan.name(),
                plan.columns.join(", ")
            )));
        }
    }
    let mut schema = entry
        .schema
        .clone()
        .unwrap_or_else(|| plan.discovered_schema());
    let properties = match schema.get("properties") {
        Some(Value::Object(props)) => props.clone(),
        _ => Map::new(),
    };
    let mut kept = Map::new();
    let mut columns = Vec::with_capacity(plan.columns.len());
    for column in &plan.columns {
        let forced = plan.def.keys.contains(column) || replication_key.as_ref() == Some(column);
        let property = match properties.get(column) {
            Some(p) => Some(p.clone()),
            None if forced => Some(serde_json::json!({"type": "string"})),
            None => None,
        };
        match property {
            Some(property) if forced || entry.property_selected(column) => {
                columns.push(Some(Coercion::from_schema(&property)));
                kept.insert(column.clone(), property);
            }
            _ => columns.push(None),
        }
    }
    if let Value::Object(map) = &mut schema {
        if let Some(Value::Array(required)) = map.get_mut("required") {
            required.retain(|r| r.as_str().is_some_and(|r| kept.contains_key(r)));
        }
        map.insert("properties".into(), Value::Object(kept));
    }
    Ok(ResolvedStream {
        schema,
        columns,
        replication_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tap_csv::config::FileDef;
    use serde_json::json;

    fn plan() -> StreamPlan {
        StreamPlan {
            def: FileDef {
                entity: "s".into(),
                path: String::new(),
                keys: vec!["id".into()],
                replication_key: Some("ts".into()),
                delimiter: b',',
                quote: b'"',
            },
            files: vec![],
            columns: vec!["id".into(), "ts".into(), "a".into(), "b".into()],
        }
    }

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
        // selected-by-default applies when selected is absent.
        let s = stream(json!([{"breadcrumb": [], "metadata": {"selected-by-default": true}}]));
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
            {"breadcrumb": ["properties", "c"], "metadata": {"inclusion": "available", "selected": false}}
        ]));
        assert!(!s.property_selected("a"));
        assert!(s.property_selected("b"));
        assert!(!s.property_selected("c"));
        assert!(s.property_selected("d"), "inherits the stream");
    }

    #[test]
    fn resolve_drops_deselected_columns_but_keeps_keys() {
        let s = stream(json!([
            {"breadcrumb": [], "metadata": {"selected": true}},
            {"breadcrumb": ["properties", "id"], "metadata": {"selected": false}},
            {"breadcrumb": ["properties", "a"], "metadata": {"selected": false}}
        ]));
        let resolved = resolve(&plan(), Some(&s)).unwrap();
        assert_eq!(
            resolved.columns,
            vec![
                Some(Coercion::from_schema(&json!({"type": "string"}))),
                Some(Coercion::STRING),
                None,
                Some(Coercion::STRING)
            ]
        );
        let props: Vec<_> = resolved.schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(props, ["id", "ts", "b"]);
        assert_eq!(resolved.replication_key.as_deref(), Some("ts"));
    }

    #[test]
    fn resolve_uses_catalog_schema_and_replication_settings() {
        let catalog = Catalog::from_value(&json!({"streams": [{
            "tap_stream_id": "s",
            "schema": {"type": "object", "properties": {
                "id": {"type": "integer"}, "ts": {"type": "string"}, "a": {"type": ["boolean", "null"]}
            }, "required": ["id", "b"]},
            "metadata": [{"breadcrumb": [], "metadata": {"selected": true, "replication-method": "FULL_TABLE"}}]
        }]}))
        .unwrap();
        let resolved = resolve(&plan(), catalog.stream("s")).unwrap();
        assert_eq!(
            resolved.replication_key, None,
            "FULL_TABLE turns incremental off"
        );
        assert_eq!(resolved.columns[3], None, "b is not in the catalog schema");
        assert_eq!(resolved.schema["required"], json!(["id"]));
        assert_eq!(
            resolved.columns[0],
            Some(Coercion::from_schema(&json!({"type": "integer"})))
        );

        let catalog = Catalog::from_value(&json!({"streams": [{
            "tap_stream_id": "s", "replication_key": "nope", "metadata": []
        }]}))
        .unwrap();
        let err = resolve(&plan(), catalog.stream("s"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("replication key 'nope' is not a column"),
            "{err}"
        );
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
    }
}
