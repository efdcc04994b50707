//! Schema flattening and flattened names (`flattening_enabled`), with the Singer SDK's rules: nested
//! objects become `parent__child` properties down to `flattening_max_depth`; deeper objects and
//! every array become compact JSON strings; over-long keys are abbreviated.

use std::collections::HashSet;

use serde_json::{json, Map, Value as Json};

use crate::config::Flattening;

/// Flattens a stream's schema. Fails on a duplicate flattened name (`a__b` twice).
pub(crate) fn flatten_schema(
    schema: &Map<String, Json>,
    options: &Flattening,
) -> Result<Map<String, Json>, String> {
    let mut out: Map<String, Json> = schema
        .iter()
        .filter(|(k, _)| k.as_str() != "properties")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut items = Vec::new();
    flatten_node(schema, &mut Vec::new(), 0, options, &mut items);
    let mut seen = HashSet::new();
    for (key, _) in &items {
        if !seen.insert(key.clone()) {
            return Err(format!("duplicate column name produced in schema: {key}"));
        }
    }
    out.insert(
        "properties".into(),
        Json::Object(items.into_iter().collect()),
    );
    Ok(out)
}

fn type_has(schema: &Map<String, Json>, kind: &str) -> bool {
    match schema.get("type") {
        Some(Json::String(s)) => s == kind,
        Some(Json::Array(items)) => items.iter().any(|t| t == kind),
        _ => false,
    }
}

fn flatten_node(
    node: &Map<String, Json>,
    parents: &mut Vec<String>,
    level: usize,
    options: &Flattening,
    items: &mut Vec<(String, Json)>,
) {
    let Some(Json::Object(properties)) = node.get("properties") else {
        return;
    };
    for (name, field) in properties {
        let key = flatten_key(name, parents, options);
        let Json::Object(field) = field else {
            items.push((key, field.clone()));
            continue;
        };
        if field.contains_key("type") {
            if type_has(field, "object")
                && field.contains_key("properties")
                && level < options.max_level
            {
                parents.push(name.clone());
                flatten_node(field, parents, level + 1, options, items);
                parents.pop();
            } else if type_has(field, "array")
                || (type_has(field, "object") && options.max_level > 0)
            {
                let types = if type_has(field, "null") {
                    json!(["string", "null"])
                } else {
                    json!("string")
                };
                items.push((key, json!({ "type": types })));
            } else {
                items.push((key, Json::Object(field.clone())));
            }
        } else {
            // anyOf / oneOf / allOf: typed by the first alternative; no type at all: a string,
            // so any value can be written.
            let first = field
                .values()
                .next()
                .and_then(Json::as_array)
                .and_then(|alternatives| alternatives.first())
                .and_then(Json::as_object)
                .filter(|first| !first.is_empty());
            match first {
                Some(first) => {
                    if let Some(kind @ ("string" | "array" | "object")) =
                        first.get("type").and_then(Json::as_str)
                    {
                        let mut typed = first.clone();
                        typed.insert("type".into(), json!(["null", kind]));
                        items.push((key, Json::Object(typed)));
                    }
                }
                None => items.push((key, json!({"type": ["null", "string"]}))),
            }
        }
    }
}

/// `parent__child`, abbreviating leading parts while the key is too long (the SDK's rule:
/// camel-case a part and keep its capitals, or its first three characters).
pub(crate) fn flatten_key(name: &str, parents: &[String], options: &Flattening) -> String {
    let sep = &options.separator;
    if parents.is_empty() && name.len() < options.max_key_length {
        return name.to_string();
    }
    let mut parts: Vec<String> = parents.iter().cloned().chain([name.to_string()]).collect();
    let mut index = 0;
    while parts.join(sep).chars().count() >= options.max_key_length && index < parts.len() {
        let reduced: String = camelize(&parts[index])
            .chars()
            .filter(|c| !c.is_ascii_lowercase())
            .collect();
        parts[index] = if reduced.chars().count() > 1 {
            reduced.to_lowercase()
        } else {
            parts[index]
                .chars()
                .take(3)
                .collect::<String>()
                .to_lowercase()
        };
        index += 1;
    }
    parts.join(sep)
}

/// `inflection.camelize`: `foo_bar` -> `FooBar`, `a/b` -> `A::B`.
fn camelize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut upper_next = true;
    for c in text.chars() {
        match c {
            '_' if !upper_next => upper_next = true,
            '/' => {
                out.push_str("::");
                upper_next = true;
            }
            c if upper_next => {
                out.extend(c.to_uppercase());
                upper_next = false;
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(depth: usize) -> Flattening {
        Flattening {
            enabled: true,
            max_level: depth,
            separator: "__".into(),
            max_key_length: 255,
        }
    }

    fn nested() -> Map<String, Json> {
        json!({"type": "object", "properties": {
            "id": {"type": "string"},
            "foo": {"type": ["object", "null"], "properties": {
                "bar": {"type": ["object", "null"], "properties": {
                    "baz": {"type": ["object", "null"], "properties": {"qux": {"type": "string"}}}}}}},
            "tags": {"type": "array", "items": {"type": "string"}}
        }})
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn schema_flattens_to_the_depth_like_the_sdk_doctests() {
        let one = flatten_schema(&nested(), &options(1)).unwrap();
        assert_eq!(
            Json::Object(one["properties"].as_object().unwrap().clone()),
            json!({"id": {"type": "string"}, "foo__bar": {"type": ["string", "null"]}, "tags": {"type": "string"}})
        );
        let three = flatten_schema(&nested(), &options(3)).unwrap();
        assert_eq!(
            three["properties"]["foo__bar__baz__qux"],
            json!({"type": "string"})
        );
        assert_eq!(three["type"], json!("object"));
    }

    #[test]
    fn long_keys_are_abbreviated() {
        let mut o = options(3);
        o.max_key_length = 20;
        let key = flatten_key("some_long_name", &["parent_object_name".to_string()], &o);
        assert_eq!(key, "pon__some_long_name");
        assert_eq!(camelize("foo_bar/baz"), "FooBar::Baz");
    }
}
