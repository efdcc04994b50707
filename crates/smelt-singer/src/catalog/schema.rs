//! The `schema` extra: replace or add property schemas in a tap's catalog.
//!
//! `schema: {<stream pattern>: {<property pattern>: <JSON schema>}}`. For each stream whose
//! `tap_stream_id` matches, every property whose breadcrumb matches gets its schema replaced by
//! the given one; a property named without wildcards that the stream lacks is added, which is
//! how schemas are given to taps that cannot discover them. A stream without a `schema` gets
//! `{"type": "object"}` first. Property patterns use `fnmatch` on the dotted breadcrumb
//! (`properties.<name>`), so `*` also reaches nested properties, as in Meltano.

use serde_json::{Map, Value};

use super::error::{kind_of, CatalogError};
use super::pattern::{has_wildcards, Pattern};
use super::rules::split_unescaped;

/// One "this property of these streams has this schema" rule.
#[derive(Debug, Clone)]
pub(crate) struct SchemaRule {
    stream: Pattern,
    /// Property name or pattern as written.
    property: String,
    /// Pattern for the joined breadcrumb, `properties.<property>`.
    breadcrumb: Pattern,
    payload: Map<String, Value>,
}

/// Rules for the `schema` extra. Top-level keys may be dotted paths
/// (`users.payload.type: object`), which are nested first, as Meltano does.
pub(crate) fn schema_extra_rules(
    extra: &Map<String, Value>,
) -> Result<Vec<SchemaRule>, CatalogError> {
    let mut nested = Map::new();
    for (key, value) in extra {
        insert_path(&mut nested, &split_unescaped(key), value);
    }
    let invalid = |path: String, problem: String| CatalogError::InvalidExtra {
        extra: "schema",
        path,
        problem,
    };
    let mut rules = Vec::new();
    for (stream, properties) in &nested {
        let Value::Object(properties) = properties else {
            return Err(invalid(
                stream.clone(),
                format!(
                    "found {} where a mapping of property names to JSON schemas was expected; write \
                     `<stream>: {{<property>: {{type: ...}}}}`",
                    kind_of(properties)
                ),
            ));
        };
        for (property, payload) in properties {
            let Value::Object(payload) = payload else {
                return Err(invalid(
                    format!("{stream}.{property}"),
                    format!(
                        "found {} where a JSON schema object such as {{type: [\"string\", \"null\"]}} was expected",
                        kind_of(payload)
                    ),
                ));
            };
            rules.push(SchemaRule {
                stream: Pattern::new(stream),
                property: property.clone(),
                breadcrumb: Pattern::new(&format!("properties.{property}")),
                payload: payload.clone(),
            });
        }
    }
    Ok(rules)
}

/// Sets `value` at `path` inside `map`, merging objects that meet on the way.
fn insert_path(map: &mut Map<String, Value>, path: &[String], value: &Value) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match (map.get_mut(head), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                for (k, v) in incoming {
                    insert_path(existing, std::slice::from_ref(k), v);
                }
            }
            _ => {
                map.insert(head.clone(), value.clone());
            }
        }
        return;
    }
    let slot = map
        .entry(head.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(inner) = slot {
        insert_path(inner, rest, value);
    }
}

/// Applies schema rules to every stream of an already validated catalog.
pub(crate) fn apply_schema_rules(catalog: &mut Value, rules: &[SchemaRule]) {
    if rules.is_empty() {
        return;
    }
    let Some(streams) = catalog.get_mut("streams").and_then(Value::as_array_mut) else {
        return;
    };
    for stream in streams {
        let Some(stream) = stream.as_object_mut() else {
            continue;
        };
        let Some(id) = stream.get("tap_stream_id").and_then(Value::as_str) else {
            continue;
        };
        let matching: Vec<&SchemaRule> = rules.iter().filter(|r| r.stream.matches(id)).collect();
        let schema = stream
            .entry("schema")
            .or_insert_with(|| serde_json::json!({"type": "object"}));
        let Some(schema) = schema.as_object_mut() else {
            continue;
        };
        if matching.is_empty() {
            continue;
        }
        for rule in &matching {
            if has_wildcards(&rule.property) {
                continue;
            }
            let properties = schema
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(properties) = properties.as_object_mut() {
                properties
                    .entry(rule.property.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
            }
        }
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            replace_properties(properties, "", &matching);
        }
    }
}

/// Replaces the schema of every property (at any depth) whose breadcrumb matches a rule; the
/// last matching rule wins. A replaced schema is the user's final word and is not searched for
/// further matches, which keeps a wildcard rule from recursing into its own payload.
fn replace_properties(properties: &mut Map<String, Value>, prefix: &str, rules: &[&SchemaRule]) {
    for (name, node) in properties.iter_mut() {
        let breadcrumb = if prefix.is_empty() {
            format!("properties.{name}")
        } else {
            format!("{prefix}.properties.{name}")
        };
        if let Some(rule) = rules
            .iter()
            .rev()
            .find(|r| r.breadcrumb.matches(&breadcrumb))
        {
            *node = Value::Object(rule.payload.clone());
            continue;
        }
        if let Some(nested) = node.get_mut("properties").and_then(Value::as_object_mut) {
            replace_properties(nested, &breadcrumb, rules);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("test fixture must be an object, got {other}"),
        }
    }

    fn apply(mut catalog: Value, extra: Value) -> Value {
        let rules = schema_extra_rules(&obj(extra)).unwrap();
        apply_schema_rules(&mut catalog, &rules);
        catalog
    }

    #[test]
    fn replaces_an_existing_property_schema() {
        let out = apply(
            json!({"streams": [{"tap_stream_id": "users", "schema": {"type": "object", "properties": {
                "id": {"type": "integer"},
                "created_at": {"type": "string"}
            }}}]}),
            json!({"users": {"created_at": {"type": ["string", "null"], "format": "date-time"}}}),
        );
        assert_eq!(
            out["streams"][0]["schema"]["properties"],
            json!({"id": {"type": "integer"}, "created_at": {"type": ["string", "null"], "format": "date-time"}})
        );
    }

    #[test]
    fn adds_missing_properties_and_schema() {
        let out = apply(
            json!({"streams": [{"tap_stream_id": "dyn"}, {"tap_stream_id": "other"}]}),
            json!({"dyn": {"id": {"type": "string"}}}),
        );
        assert_eq!(
            out["streams"][0]["schema"],
            json!({"type": "object", "properties": {"id": {"type": "string"}}})
        );
        assert_eq!(out["streams"][1]["schema"], json!({"type": "object"}));
    }

    #[test]
    fn wildcards_match_streams_and_properties_but_never_add_properties() {
        let out = apply(
            json!({"streams": [
                {"tap_stream_id": "users", "schema": {"properties": {
                    "created_at": {"type": "string"}, "updated_at": {"type": "string"}, "id": {"type": "integer"}
                }}},
                {"tap_stream_id": "orders", "schema": {"properties": {"id": {"type": "integer"}}}}
            ]}),
            json!({"*": {"*_at": {"type": "string", "format": "date-time"}}}),
        );
        let users = &out["streams"][0]["schema"]["properties"];
        assert_eq!(users["created_at"]["format"], "date-time");
        assert_eq!(users["updated_at"]["format"], "date-time");
        assert_eq!(users["id"], json!({"type": "integer"}));
        assert_eq!(
            out["streams"][1]["schema"]["properties"],
            json!({"id": {"type": "integer"}}),
            "no literal `*_at` property is created"
        );
    }

    #[test]
    fn dotted_keys_are_nested_like_meltano() {
        let out = apply(
            json!({"streams": [{"tap_stream_id": "E", "schema": {"properties": {"payload": {"type": "string"}}}}]}),
            json!({
                "E.payload.type": "object",
                "E.payload.properties": {"hash": {"type": "string"}}
            }),
        );
        assert_eq!(
            out["streams"][0]["schema"]["properties"]["payload"],
            json!({"type": "object", "properties": {"hash": {"type": "string"}}})
        );
    }

    #[test]
    fn star_reaches_nested_properties_without_recursing_into_payloads() {
        let out = apply(
            json!({"streams": [{"tap_stream_id": "s", "schema": {"properties": {
                "geo": {"type": "object", "properties": {"city": {"type": "integer"}}}
            }}}]}),
            json!({"s": {"geo*": {"type": "object", "properties": {"geo_inner": {"type": "string"}}}}}),
        );
        assert_eq!(
            out["streams"][0]["schema"]["properties"]["geo"],
            json!({"type": "object", "properties": {"geo_inner": {"type": "string"}}})
        );
    }

    #[test]
    fn invalid_extras_are_reported_with_their_path() {
        let err = schema_extra_rules(&obj(json!({"users": "x"})))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`schema` extra") && err.contains("at `users`"),
            "{err}"
        );
        let err = schema_extra_rules(&obj(json!({"users": {"id": "string"}})))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at `users.id`") && err.contains("found a string"),
            "{err}"
        );
    }
}
