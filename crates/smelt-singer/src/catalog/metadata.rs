//! Applies metadata rules to a validated catalog, creating missing metadata entries first.
//!
//! For every stream:
//! 1. a `metadata` list is created if absent, and an entry is added for the stream (breadcrumb
//!    `[]`) and for every schema property (nested ones too) that has none: top-level properties
//!    get `inclusion: automatic` and nested ones `inclusion: available`, as in Meltano; the
//!    stream gets `inclusion: available` (Meltano says `automatic`, which would make the stream
//!    impossible to deselect), so its `selected` value decides;
//! 2. rules addressing the stream itself are also written onto the stream object with `-`
//!    turned into `_` (`selected`, `replication_method`, ...), for legacy taps that read those;
//! 3. every metadata entry gets the value of each rule that addresses it, in rule order, so the
//!    last matching rule wins — except that `selected: true` is never written to an entry whose
//!    `inclusion` is `unsupported`.
//!
//! Unlike Meltano, entries added in step 1 always receive the rules, whatever the order of the
//! `schema` and `metadata` keys in the tap's output.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::rules::{MetadataRule, SELECTED};
use super::shape::breadcrumb_of;

/// Applies `rules` to every stream of an already validated catalog.
pub(crate) fn apply_metadata_rules(catalog: &mut Value, rules: &[MetadataRule]) {
    let Some(streams) = catalog.get_mut("streams").and_then(Value::as_array_mut) else {
        return;
    };
    for stream in streams {
        if let Some(stream) = stream.as_object_mut() {
            apply_to_stream(stream, rules);
        }
    }
}

fn apply_to_stream(stream: &mut Map<String, Value>, rules: &[MetadataRule]) {
    let Some(id) = stream
        .get("tap_stream_id")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    let mut wanted = vec![Vec::new()];
    if let Some(schema) = stream.get("schema") {
        collect_property_breadcrumbs(schema, &mut Vec::new(), &mut wanted);
    }

    for rule in rules.iter().filter(|r| r.applies_to(&id, "")) {
        set_metadata(stream, &rule.key.replace('-', "_"), &rule.value);
    }

    let entries = stream
        .entry("metadata")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(entries) = entries.as_array_mut() else {
        return;
    };
    ensure_entries(entries, wanted);

    for entry in entries.iter_mut() {
        let Some(breadcrumb) = breadcrumb_of(entry) else {
            continue;
        };
        let joined = breadcrumb.join(".");
        let Some(entry) = entry.as_object_mut() else {
            continue;
        };
        let target = entry
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(target) = target.as_object_mut() else {
            continue;
        };
        for rule in rules.iter().filter(|r| r.applies_to(&id, &joined)) {
            set_metadata(target, &rule.key, &rule.value);
        }
    }
}

/// Appends an entry for each wanted breadcrumb that has none yet.
fn ensure_entries(entries: &mut Vec<Value>, wanted: Vec<Vec<String>>) {
    let mut present: HashSet<Vec<String>> = entries.iter().filter_map(breadcrumb_of).collect();
    for breadcrumb in wanted {
        if present.contains(&breadcrumb) {
            continue;
        }
        // Meltano marks a created stream entry `automatic`, which makes the stream impossible
        // to deselect for taps that honour metadata; `available` lets `selected` decide.
        let inclusion = match breadcrumb.len() {
            0 => "available",
            1 | 2 => "automatic",
            _ => "available",
        };
        entries.push(json!({"breadcrumb": breadcrumb, "metadata": {"inclusion": inclusion}}));
        present.insert(breadcrumb);
    }
}

/// Collects the breadcrumb of every property reachable through nested `properties` objects, in
/// schema order, parents before children.
pub(crate) fn collect_property_breadcrumbs(
    schema: &Value,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, property) in properties {
        prefix.push("properties".to_string());
        prefix.push(name.clone());
        out.push(prefix.clone());
        collect_property_breadcrumbs(property, prefix, out);
        prefix.truncate(prefix.len() - 2);
    }
}

/// Sets one metadata key, refusing to select what the tap declares unsupported.
fn set_metadata(target: &mut Map<String, Value>, key: &str, value: &Value) {
    let unsupported = target.get("inclusion").and_then(Value::as_str) == Some("unsupported");
    if key == SELECTED && *value == Value::Bool(true) && unsupported {
        return;
    }
    target.insert(key.to_string(), value.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rules::{metadata_extra_rules, select_rules};

    fn entry<'a>(catalog: &'a Value, stream: usize, breadcrumb: &[&str]) -> &'a Value {
        let entries = catalog["streams"][stream]["metadata"].as_array().unwrap();
        entries
            .iter()
            .find(|e| e["breadcrumb"] == json!(breadcrumb))
            .unwrap_or_else(|| panic!("no metadata entry for {breadcrumb:?}"))
    }

    #[test]
    fn creates_missing_entries_with_meltano_inclusions() {
        let mut catalog = json!({"streams": [{"tap_stream_id": "s", "schema": {"properties": {
            "id": {"type": "integer"},
            "geo": {"type": "object", "properties": {"city": {"type": "string"}}}
        }}}]});
        apply_metadata_rules(&mut catalog, &[]);
        assert_eq!(
            catalog["streams"][0]["metadata"],
            json!([
                {"breadcrumb": [], "metadata": {"inclusion": "available"}},
                {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
                {"breadcrumb": ["properties", "geo"], "metadata": {"inclusion": "automatic"}},
                {"breadcrumb": ["properties", "geo", "properties", "city"], "metadata": {"inclusion": "available"}}
            ])
        );
    }

    #[test]
    fn keeps_existing_entries_and_adds_only_missing_ones() {
        let mut catalog = json!({"streams": [{
            "tap_stream_id": "s",
            "metadata": [
                {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "available"}},
                {"breadcrumb": []}
            ],
            "schema": {"properties": {"id": {}, "name": {}}}
        }]});
        apply_metadata_rules(&mut catalog, &[]);
        let entries = catalog["streams"][0]["metadata"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0]["metadata"], json!({"inclusion": "available"}));
        assert_eq!(
            entries[1]["metadata"],
            json!({}),
            "a missing metadata object is created"
        );
        assert_eq!(entries[2]["breadcrumb"], json!(["properties", "name"]));
    }

    #[test]
    fn later_rules_win_and_stream_keys_are_mirrored_on_the_stream() {
        let mut catalog =
            json!({"streams": [{"tap_stream_id": "users", "schema": {"properties": {"id": {}}}}]});
        let mut rules = select_rules(&["!*.*"]);
        rules.extend(select_rules(&["users.id"]));
        let Value::Object(extra) = json!({"users": {"replication-method": "INCREMENTAL"}}) else {
            unreachable!()
        };
        rules.extend(metadata_extra_rules(&extra).unwrap());
        apply_metadata_rules(&mut catalog, &rules);
        let stream = &catalog["streams"][0];
        assert_eq!(stream["selected"], json!(true));
        assert_eq!(stream["replication_method"], json!("INCREMENTAL"));
        assert_eq!(
            entry(&catalog, 0, &[])["metadata"],
            json!({"inclusion": "available", "selected": true, "replication-method": "INCREMENTAL"})
        );
        assert_eq!(
            entry(&catalog, 0, &["properties", "id"])["metadata"]["selected"],
            json!(true)
        );
    }

    #[test]
    fn unsupported_entries_are_never_selected_but_can_be_deselected() {
        let mut catalog = json!({"streams": [{"tap_stream_id": "s", "metadata": [
            {"breadcrumb": ["properties", "x"], "metadata": {"inclusion": "unsupported", "selected": true}}
        ]}]});
        apply_metadata_rules(&mut catalog, &select_rules(&["s.*"]));
        assert_eq!(
            entry(&catalog, 0, &["properties", "x"])["metadata"]["selected"],
            json!(true),
            "an existing value is left alone when selecting"
        );
        apply_metadata_rules(&mut catalog, &select_rules(&["!s.*"]));
        assert_eq!(
            entry(&catalog, 0, &["properties", "x"])["metadata"]["selected"],
            json!(false)
        );
        apply_metadata_rules(&mut catalog, &select_rules(&["s.*"]));
        assert_eq!(
            entry(&catalog, 0, &["properties", "x"])["metadata"]["selected"],
            json!(false)
        );
    }
}
