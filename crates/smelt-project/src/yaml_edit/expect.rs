//! The same edits applied to the document's JSON value.
//!
//! After every text edit the editor reads the new text back and compares it with the old
//! value edited here; any difference (an alias or merge key sharing the edited part, or a
//! bug) makes the edit fail instead of silently changing other settings.

use serde_json::{Map, Value};

use super::PathSeg;

/// The node at `path`, if it exists.
pub(super) fn get<'v>(root: &'v Value, path: &[PathSeg]) -> Option<&'v Value> {
    path.iter().try_fold(root, |v, seg| match seg {
        PathSeg::Key(k) => v.as_object()?.get(k),
        PathSeg::Index(i) => v.as_array()?.get(*i),
    })
}

/// The slot for `path`, creating mappings for missing keys and nulls on the way.
fn slot<'v>(root: &'v mut Value, path: &[PathSeg]) -> Option<&'v mut Value> {
    let mut current = root;
    for seg in path {
        current = match seg {
            PathSeg::Key(k) => {
                if current.is_null() {
                    *current = Value::Object(Map::new());
                }
                current
                    .as_object_mut()?
                    .entry(k.clone())
                    .or_insert(Value::Null)
            }
            PathSeg::Index(i) => current.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(current)
}

/// Sets `path` to `value`; `false` when the path cannot be made.
pub(super) fn set(root: &mut Value, path: &[PathSeg], value: &Value) -> bool {
    match slot(root, path) {
        Some(target) => {
            *target = value.clone();
            true
        }
        None => false,
    }
}

/// Removes the key or item at `path`; `false` when it is absent.
pub(super) fn remove(root: &mut Value, path: &[PathSeg]) -> bool {
    let Some((last, parent_path)) = path.split_last() else {
        return false;
    };
    let Some(parent) = parent_path.iter().try_fold(root, |v, seg| match seg {
        PathSeg::Key(k) => v.as_object_mut()?.get_mut(k),
        PathSeg::Index(i) => v.as_array_mut()?.get_mut(*i),
    }) else {
        return false;
    };
    match (last, parent) {
        (PathSeg::Key(k), Value::Object(map)) => map.shift_remove(k).is_some(),
        (PathSeg::Index(i), Value::Array(items)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

/// Appends `value` to the list at `path`, creating it when absent or null.
pub(super) fn push(root: &mut Value, path: &[PathSeg], value: &Value) -> bool {
    let Some(target) = slot(root, path) else {
        return false;
    };
    if target.is_null() {
        *target = Value::Array(Vec::new());
    }
    match target.as_array_mut() {
        Some(items) => {
            items.push(value.clone());
            true
        }
        None => false,
    }
}

/// Removes every item equal to `value` from the list at `path`.
pub(super) fn remove_items(root: &mut Value, path: &[PathSeg], value: &Value) -> bool {
    let Some(Value::Array(items)) = slot(root, path) else {
        return false;
    };
    items.retain(|item| item != value);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(k: &str) -> PathSeg {
        PathSeg::Key(k.to_string())
    }

    #[test]
    fn edits_on_json() {
        let mut v = json!({"a": null, "l": [1, 2, 1]});
        assert!(set(&mut v, &[key("a"), key("b")], &json!(1)));
        assert!(push(&mut v, &[key("n")], &json!("x")));
        assert!(remove_items(&mut v, &[key("l")], &json!(1)));
        assert!(remove(&mut v, &[key("a"), key("b")]));
        assert!(!remove(&mut v, &[key("zz")]));
        assert_eq!(v, json!({"a": {}, "l": [2], "n": ["x"]}));
        assert!(!set(&mut v, &[key("l"), key("x")], &json!(1)));
        assert_eq!(get(&v, &[key("l"), PathSeg::Index(0)]), Some(&json!(2)));
    }
}
