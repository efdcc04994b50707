//! Reads back which streams and properties a catalog selects, the way Meltano reports it.
//!
//! This is what `select --list` prints: every stream and every property that has a metadata
//! entry, each with a [`SelectionType`] derived from `inclusion`, `selected` and
//! `selected-by-default`.

use std::fmt;

use serde_json::Value;

use super::shape::breadcrumb_of;

/// How a stream or property takes part in extraction, from its catalog metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SelectionType {
    /// `selected: true` (or no `selected` and a truthy `selected-by-default`).
    Selected,
    /// Not selected.
    Excluded,
    /// `inclusion: automatic`: the tap always emits it, whatever `selected` says.
    Automatic,
    /// `inclusion: unsupported`: the tap can never emit it.
    Unsupported,
}

impl SelectionType {
    /// Whether data for this node will be extracted (`Selected` or `Automatic`).
    pub fn is_selected(self) -> bool {
        matches!(self, SelectionType::Selected | SelectionType::Automatic)
    }

    /// Combines a stream's selection with one of its properties' (Meltano's `+`): excluded
    /// beats automatic, which beats unsupported, which beats selected.
    pub fn combine(self, other: SelectionType) -> SelectionType {
        use SelectionType::*;
        match (self, other) {
            (Excluded, _) | (_, Excluded) => Excluded,
            (Automatic, _) | (_, Automatic) => Automatic,
            (Unsupported, _) | (_, Unsupported) => Unsupported,
            (Selected, Selected) => Selected,
        }
    }

    /// The lowercase name Meltano prints: `selected`, `excluded`, `automatic`, `unsupported`.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectionType::Selected => "selected",
            SelectionType::Excluded => "excluded",
            SelectionType::Automatic => "automatic",
            SelectionType::Unsupported => "unsupported",
        }
    }

    /// The selection a metadata entry (`{"breadcrumb": ..., "metadata": {...}}`) describes.
    pub fn of_entry(entry: &Value) -> SelectionType {
        let Some(metadata) = entry.get("metadata").and_then(Value::as_object) else {
            return SelectionType::Excluded;
        };
        match metadata.get("inclusion").and_then(Value::as_str) {
            Some("automatic") => return SelectionType::Automatic,
            Some("unsupported") => return SelectionType::Unsupported,
            _ => {}
        }
        match metadata.get("selected") {
            Some(Value::Bool(true)) => SelectionType::Selected,
            None | Some(Value::Null)
                if metadata
                    .get("selected-by-default")
                    .is_some_and(crate::json_value::is_truthy) =>
            {
                SelectionType::Selected
            }
            _ => SelectionType::Excluded,
        }
    }
}

impl fmt::Display for SelectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One property of a stream and its own selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertySelection {
    /// Dotted property path as users write it in `select`, e.g. `geo.city`.
    pub path: String,
    /// The metadata breadcrumb, e.g. `["properties", "geo", "properties", "city"]`.
    pub breadcrumb: Vec<String>,
    /// The property's own selection, not yet combined with its stream's.
    pub selection: SelectionType,
}

/// One stream of a catalog, its selection and its properties' selections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSelection {
    /// The stream's `tap_stream_id`.
    pub tap_stream_id: String,
    /// The stream's selection (from its breadcrumb `[]` entry; `Excluded` if it has none).
    pub selection: SelectionType,
    /// Properties in metadata order.
    pub properties: Vec<PropertySelection>,
}

impl StreamSelection {
    /// The selection of `property` once its stream is taken into account, as `select --list`
    /// shows it.
    pub fn effective(&self, property: &PropertySelection) -> SelectionType {
        self.selection.combine(property.selection)
    }

    /// Paths of the properties that will be extracted; empty when the stream is not selected.
    pub fn selected_properties(&self) -> Vec<&str> {
        if !self.selection.is_selected() {
            return Vec::new();
        }
        self.properties
            .iter()
            .filter(|p| p.selection.is_selected())
            .map(|p| p.path.as_str())
            .collect()
    }
}

/// Lists every stream in catalog order; see [`crate::catalog::selection`].
pub(crate) fn list(catalog: &Value) -> Vec<StreamSelection> {
    let Some(streams) = catalog.get("streams").and_then(Value::as_array) else {
        return Vec::new();
    };
    streams.iter().filter_map(stream_selection).collect()
}

fn stream_selection(stream: &Value) -> Option<StreamSelection> {
    let tap_stream_id = stream.get("tap_stream_id")?.as_str()?.to_string();
    let mut selection = SelectionType::Excluded;
    let mut properties = Vec::new();
    let entries = stream.get("metadata").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let Some(breadcrumb) = breadcrumb_of(entry) else {
            continue;
        };
        if breadcrumb.is_empty() {
            selection = SelectionType::of_entry(entry);
        } else {
            properties.push(PropertySelection {
                path: property_path(&breadcrumb),
                selection: SelectionType::of_entry(entry),
                breadcrumb,
            });
        }
    }
    Some(StreamSelection {
        tap_stream_id,
        selection,
        properties,
    })
}

/// `["properties", "geo", "properties", "city"]` → `geo.city`.
fn property_path(breadcrumb: &[String]) -> String {
    breadcrumb
        .chunks(2)
        .filter_map(|pair| match pair {
            [key, name] if key == "properties" => Some(name.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(metadata: Value) -> SelectionType {
        SelectionType::of_entry(&json!({"breadcrumb": ["properties", "a"], "metadata": metadata}))
    }

    #[test]
    fn entry_selection_follows_meltano() {
        assert_eq!(of(json!({"selected": true})), SelectionType::Selected);
        assert_eq!(of(json!({"selected": false})), SelectionType::Excluded);
        assert_eq!(
            of(json!({"inclusion": "automatic", "selected": false})),
            SelectionType::Automatic
        );
        assert_eq!(
            of(json!({"inclusion": "unsupported", "selected": true})),
            SelectionType::Unsupported
        );
        assert_eq!(
            of(json!({"inclusion": "available"})),
            SelectionType::Excluded
        );
        assert_eq!(
            of(json!({"selected": true, "inclusion": "available"})),
            SelectionType::Selected
        );
        assert_eq!(
            of(json!({"selected": false, "selected-by-default": true})),
            SelectionType::Excluded
        );
        assert_eq!(
            of(json!({"selected-by-default": true})),
            SelectionType::Selected
        );
        assert_eq!(
            of(json!({"selected-by-default": false})),
            SelectionType::Excluded
        );
        assert_eq!(
            of(json!({"selected": "true"})),
            SelectionType::Excluded,
            "only a real boolean selects"
        );
        assert_eq!(
            SelectionType::of_entry(&json!({"breadcrumb": []})),
            SelectionType::Excluded
        );
    }

    #[test]
    fn combine_orders_excluded_automatic_unsupported_selected() {
        use SelectionType::*;
        assert_eq!(Selected.combine(Automatic), Automatic);
        assert_eq!(Automatic.combine(Excluded), Excluded);
        assert_eq!(Excluded.combine(Unsupported), Excluded);
        assert_eq!(Selected.combine(Unsupported), Unsupported);
        assert_eq!(Selected.combine(Selected), Selected);
        assert!(Automatic.is_selected() && Selected.is_selected());
        assert!(!Excluded.is_selected() && !Unsupported.is_selected());
        assert_eq!(Automatic.to_string(), "automatic");
    }

    #[test]
    fn lists_streams_and_nested_property_paths() {
        let catalog = json!({"streams": [
            {"tap_stream_id": "s", "metadata": [
                {"breadcrumb": [], "metadata": {"selected": true}},
                {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
                {"breadcrumb": ["properties", "geo", "properties", "city"], "metadata": {"selected": false}},
                {"breadcrumb": ["properties", "properties", "properties", "amount"], "metadata": {"selected": true}}
            ]},
            {"tap_stream_id": "t"},
            {"no_id": true}
        ]});
        let list = list(&catalog);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].selection, SelectionType::Selected);
        let paths: Vec<&str> = list[0].properties.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["id", "geo.city", "properties.amount"]);
        assert_eq!(list[0].selected_properties(), ["id", "properties.amount"]);
        assert_eq!(
            list[0].effective(&list[0].properties[1]),
            SelectionType::Excluded
        );
        assert_eq!(list[1].selection, SelectionType::Excluded);
        assert!(list[1].selected_properties().is_empty());
    }
}
