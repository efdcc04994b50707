//! Meltano's deep-merge rule for state documents.
//!
//! Meltano merges states with `meltano.core.utils.merge(src, dest)`: for every key of `src`
//! whose value is a dict it recurses into `dest[key]` (creating `{}` when missing); every other
//! value — scalars, `null` and **arrays** — replaces `dest[key]` wholesale. Keys already in
//! `dest` keep their position; new keys are appended. Arrays are never concatenated or merged
//! element-wise.
//!
//! One deliberate difference: when `src[key]` is a dict but `dest[key]` is not (a string, a
//! list, ...), Meltano crashes (`'str' object has no attribute 'setdefault'`); we let the
//! overlay's object replace the old value, which is what "overlay wins" means everywhere else.

use serde_json::{Map, Value};

/// Merge `overlay` onto `base` the way Meltano merges states and return the result.
///
/// Objects merge recursively; anything else in `overlay` (including arrays and `null`) wins.
/// Used to fold partial state into completed state and to compute what a tap receives.
pub fn merge_values(base: &Value, overlay: &Value) -> Value {
    let mut merged = base.clone();
    merge_into(&mut merged, overlay);
    merged
}

/// In-place form of [`merge_values`]: merge `overlay` into `base`.
///
/// Exists so callers that own the base (e.g. [`crate::JobState`]) avoid a clone.
pub fn merge_into(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base_map), Value::Object(overlay_map)) => merge_maps(base_map, overlay_map),
        (base, overlay) => *base = overlay.clone(),
    }
}

fn merge_maps(base: &mut Map<String, Value>, overlay: &Map<String, Value>) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(existing @ Value::Object(_)), Value::Object(_)) => merge_into(existing, value),
            (Some(existing), _) => *existing = value.clone(),
            (None, _) => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Python truthiness, shared with the catalog rules (Meltano's `if state:`).
pub use smelt_singer::json_value::is_truthy;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_merge_recursively_and_overlay_wins() {
        // The example from Meltano's own docstring.
        let base = json!({"f": {"all_rows": {"pass": "dog", "n": "1"}}});
        let overlay = json!({"f": {"all_rows": {"fail": "cat", "n": "5"}}});
        assert_eq!(
            merge_values(&base, &overlay),
            json!({"f": {"all_rows": {"pass": "dog", "n": "5", "fail": "cat"}}})
        );
    }

    #[test]
    fn arrays_are_replaced_not_concatenated() {
        let base = json!({"a": [1, 2, 3], "b": 1});
        let overlay = json!({"a": [9]});
        assert_eq!(merge_values(&base, &overlay), json!({"a": [9], "b": 1}));
    }

    #[test]
    fn null_in_overlay_replaces() {
        let base = json!({"a": {"x": 1}});
        let overlay = json!({"a": null});
        assert_eq!(merge_values(&base, &overlay), json!({"a": null}));
    }

    #[test]
    fn object_overlay_replaces_non_object_base() {
        let base = json!({"a": "text", "b": [1]});
        let overlay = json!({"a": {"x": 1}, "b": {"y": 2}});
        assert_eq!(
            merge_values(&base, &overlay),
            json!({"a": {"x": 1}, "b": {"y": 2}})
        );
        assert_eq!(merge_values(&json!(3), &json!({"k": 1})), json!({"k": 1}));
    }

    #[test]
    fn key_order_keeps_base_positions_and_appends_new_keys() {
        let base = json!({"z": 1, "a": 2});
        let overlay = json!({"m": 3, "z": 4});
        let merged = merge_values(&base, &overlay);
        let keys: Vec<&str> = merged
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(merged, json!({"z": 4, "a": 2, "m": 3}));
    }

    #[test]
    fn singer_bookmarks_merge_per_stream() {
        let completed = json!({"bookmarks": {"users": {"updated_at": "2024-01-01"},
                                             "orders": {"id": 10}}});
        let partial = json!({"bookmarks": {"orders": {"id": 25}}});
        assert_eq!(
            merge_values(&completed, &partial),
            json!({"bookmarks": {"users": {"updated_at": "2024-01-01"}, "orders": {"id": 25}}})
        );
    }

    #[test]
    fn empty_overlay_changes_nothing() {
        let base = json!({"a": {"b": 1}});
        assert_eq!(merge_values(&base, &json!({})), base);
        assert_eq!(merge_values(&base, &json!({"a": {}})), base);
    }
}
