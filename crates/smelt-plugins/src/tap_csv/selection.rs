//! Applying a `--catalog` stream to a discovered stream: which columns to emit, with which
//! schema and replication key.
//!
//! Which streams and properties are selected is the SDK's [`CatalogStream`] rule. Unlike the
//! Singer SDK, key and replication key columns are always kept, because targets need them.

use serde_json::{Map, Value};
use smelt_plugin_sdk::catalog::CatalogStream;

use super::coerce::Coercion;
use super::discover::StreamPlan;
use super::error::TapCsvError;

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
    use smelt_plugin_sdk::catalog::Catalog;

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

    #[test]
    fn resolve_drops_deselected_columns_but_keeps_keys() {
        let catalog = Catalog::from_value(&json!({"streams": [{
            "tap_stream_id": "s",
            "metadata": [
                {"breadcrumb": [], "metadata": {"selected": true}},
                {"breadcrumb": ["properties", "id"], "metadata": {"selected": false}},
                {"breadcrumb": ["properties", "a"], "metadata": {"selected": false}}
            ]
        }]}))
        .unwrap();
        let resolved = resolve(&plan(), catalog.stream("s")).unwrap();
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
}
