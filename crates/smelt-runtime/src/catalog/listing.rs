//! What `select --list` shows: every stream/property pair of a prepared catalog with its
//! selection, in Meltano's order.
//!
//! Meltano collects streams and properties into sets and prints them sorted, so the order is
//! by stream id, then property path, then selection name — not catalog order — and a pair that
//! appears twice is shown once. A stream is listed only through its properties, and only when
//! it has a stream-level (`breadcrumb: []`) metadata entry. Each pair's selection is the
//! stream's combined with the property's ([`SelectionType::combine`]).
//!
//! One deliberate difference: a dot inside a property name is shown escaped (`a\.b`), the way
//! `select` patterns write it, so it cannot be mistaken for a nested property (Meltano shows
//! only the part before the dot).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use smelt_singer::catalog::SelectionType;

/// One line of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedProperty {
    /// The stream's `tap_stream_id`.
    pub stream: String,
    /// The stream's own selection.
    pub stream_selection: SelectionType,
    /// Dotted property path as `select` patterns write it (`geo.city`, `a\.b`).
    pub property: String,
    /// The selection of the pair: stream and property combined.
    pub selection: SelectionType,
}

/// Lists every stream/property pair of `catalog` in Meltano's order. Entries the listing cannot
/// read (no `tap_stream_id`, no breadcrumb) are skipped; a prepared catalog has none.
pub fn list_selection(catalog: &Value) -> Vec<ListedProperty> {
    // Sorted by name, then by the selection's name (Meltano sorts its (key, selection) tuples).
    let mut streams: BTreeSet<Keyed> = BTreeSet::new();
    let mut properties: BTreeMap<String, BTreeSet<Keyed>> = BTreeMap::new();
    let empty = Vec::new();
    let list = catalog
        .get("streams")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for stream in list {
        let Some(id) = stream.get("tap_stream_id").and_then(Value::as_str) else {
            continue;
        };
        // As in Meltano, seeing a stream id again starts its property set afresh.
        let props = properties.entry(id.to_string()).or_default();
        props.clear();
        let entries = stream.get("metadata").and_then(Value::as_array);
        for entry in entries.into_iter().flatten() {
            let Some(breadcrumb) = breadcrumb(entry) else {
                continue;
            };
            let selection = SelectionType::of_entry(entry);
            if breadcrumb.is_empty() {
                streams.insert((id.to_string(), selection.as_str(), selection));
            } else {
                props.insert((property_path(&breadcrumb), selection.as_str(), selection));
            }
        }
    }
    let mut out = Vec::new();
    for (stream, _, stream_selection) in streams {
        let Some(props) = properties.get(&stream) else {
            continue;
        };
        for (property, _, selection) in props {
            out.push(ListedProperty {
                stream: stream.clone(),
                stream_selection,
                property: property.clone(),
                selection: stream_selection.combine(*selection),
            });
        }
    }
    out
}

/// A name, its selection's name (the sort key) and the selection.
type Keyed = (String, &'static str, SelectionType);

fn breadcrumb(entry: &Value) -> Option<Vec<&str>> {
    entry
        .get("breadcrumb")?
        .as_array()?
        .iter()
        .map(Value::as_str)
        .collect()
}

/// `["properties", "geo", "properties", "city"]` → `geo.city`; dots inside names escaped.
fn property_path(breadcrumb: &[&str]) -> String {
    breadcrumb
        .chunks(2)
        .filter_map(|pair| match pair {
            ["properties", name] => Some(name.replace('.', "\\.")),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use SelectionType::*;

    fn rows(catalog: Value) -> Vec<(String, String, SelectionType)> {
        list_selection(&catalog)
            .into_iter()
            .map(|p| (p.stream, p.property, p.selection))
            .collect()
    }

    fn row(s: &str, p: &str, sel: SelectionType) -> (String, String, SelectionType) {
        (s.into(), p.into(), sel)
    }

    #[test]
    fn sorted_by_stream_then_property_and_combined() {
        let got = rows(json!({"streams": [
            {"tap_stream_id": "users", "metadata": [
                {"breadcrumb": [], "metadata": {"selected": true}},
                {"breadcrumb": ["properties", "name"], "metadata": {"selected": false}},
                {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
                {"breadcrumb": ["properties", "geo", "properties", "city"], "metadata": {"selected": true}},
                {"breadcrumb": ["properties", "a.b"], "metadata": {"selected": true}}
            ]},
            {"tap_stream_id": "audit", "metadata": [
                {"breadcrumb": [], "metadata": {"selected": false}},
                {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
                {"breadcrumb": ["properties", "x"], "metadata": {"inclusion": "unsupported"}}
            ]},
            {"tap_stream_id": "no_stream_entry", "metadata": [
                {"breadcrumb": ["properties", "id"], "metadata": {"selected": true}}
            ]}
        ]}));
        assert_eq!(
            got,
            vec![
                row("audit", "id", Excluded),
                row("audit", "x", Excluded),
                row("users", "a\\.b", Selected),
                row("users", "geo.city", Selected),
                row("users", "id", Automatic),
                row("users", "name", Excluded),
            ]
        );
    }

    #[test]
    fn unsupported_under_a_selected_stream() {
        let got = rows(json!({"streams": [{"tap_stream_id": "s", "metadata": [
            {"breadcrumb": [], "metadata": {"selected": true}},
            {"breadcrumb": ["properties", "x"], "metadata": {"inclusion": "unsupported", "selected": true}},
            {"breadcrumb": ["properties", "properties", "properties", "amount"], "metadata": {"selected": true}}
        ]}]}));
        assert_eq!(
            got,
            vec![
                row("s", "properties.amount", Selected),
                row("s", "x", Unsupported)
            ]
        );
    }

    #[test]
    fn nothing_to_list_in_odd_catalogs() {
        assert!(rows(json!({})).is_empty());
        assert!(rows(json!({"streams": [{"metadata": []}, 5]})).is_empty());
    }
}
