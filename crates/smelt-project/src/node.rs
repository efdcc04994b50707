//! Typed, located access to parsed YAML values.
//!
//! Reading `meltano.yml` is mostly "get this key as a string / list / mapping"; when the user
//! wrote the wrong shape, the error must carry the node's location. `Node` bundles a value with
//! its JSON Pointer and the document's source map so every accessor can do that.

use serde_json::{Map, Value};

use crate::error::{Location, ProjectError};
use crate::source_map::{pointer_push, SourceMap};

/// A value inside a parsed document, together with where it is.
#[derive(Clone, Copy)]
pub(crate) struct Node<'a> {
    pub value: &'a Value,
    pub pointer: &'a str,
    pub map: &'a SourceMap,
}

/// An owned pointer plus borrowed value, for children (whose pointers are built on the fly).
pub(crate) struct Child<'a> {
    pub value: &'a Value,
    pub pointer: String,
    pub map: &'a SourceMap,
}

impl<'a> Child<'a> {
    pub fn node(&self) -> Node<'_> {
        Node {
            value: self.value,
            pointer: &self.pointer,
            map: self.map,
        }
    }
}

/// Describes a JSON value's shape for error messages.
pub(crate) fn shape(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Text form of a scalar, the way YAML authors expect (`1` → "1", `true` → "true").
pub(crate) fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl<'a> Node<'a> {
    /// Where this node is (or its nearest located ancestor).
    pub fn location(&self) -> Option<Location> {
        self.map.locate(self.pointer).cloned()
    }

    /// Where the key holding this node is written, falling back to the value's location.
    pub fn key_location(&self) -> Option<Location> {
        self.map
            .key(self.pointer)
            .cloned()
            .or_else(|| self.location())
    }

    /// The child under `key` when this is a mapping and the key is present and not null.
    pub fn get(&self, key: &str) -> Option<Child<'a>> {
        let value = self.value.as_object()?.get(key)?;
        if value.is_null() {
            return None;
        }
        Some(Child {
            value,
            pointer: pointer_push(self.pointer, key),
            map: self.map,
        })
    }

    /// Error for a node of the wrong shape.
    pub fn wrong_shape(&self, what: &str, expected: &str, hint: &str) -> ProjectError {
        ProjectError::invalid(
            self.location(),
            format!("{what} must be {expected}, but is {}", shape(self.value)),
            hint,
        )
    }

    /// This node as a mapping; `null` counts as an empty one.
    pub fn object(&self, what: &str) -> Result<Option<&'a Map<String, Value>>, ProjectError> {
        match self.value {
            Value::Object(map) => Ok(Some(map)),
            Value::Null => Ok(None),
            _ => Err(self.wrong_shape(
                what,
                "a mapping (`key: value` lines)",
                "indent the entries under this key as `key: value` pairs",
            )),
        }
    }

    /// The entries of a mapping node, each as a located child.
    pub fn entries(&self, what: &str) -> Result<Vec<(&'a str, Child<'a>)>, ProjectError> {
        let Some(map) = self.object(what)? else {
            return Ok(Vec::new());
        };
        Ok(map
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    Child {
                        value: v,
                        pointer: pointer_push(self.pointer, k),
                        map: self.map,
                    },
                )
            })
            .collect())
    }

    /// The items of a list node, each as a located child; `null` is an empty list.
    pub fn items(&self, what: &str) -> Result<Vec<Child<'a>>, ProjectError> {
        match self.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| Child {
                    value: v,
                    pointer: pointer_push(self.pointer, &i.to_string()),
                    map: self.map,
                })
                .collect()),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.wrong_shape(
                what,
                "a list (`- item` lines)",
                "write each entry on its own line starting with `- `",
            )),
        }
    }

    /// This node as text; numbers and booleans are accepted and written as YAML shows them.
    pub fn string(&self, what: &str) -> Result<String, ProjectError> {
        scalar_string(self.value).ok_or_else(|| {
            self.wrong_shape(
                what,
                "a single value (text)",
                "write a plain value after the colon, quoting it if it contains special characters",
            )
        })
    }

    /// Optional text field `key` of this mapping.
    pub fn opt_string(&self, key: &str) -> Result<Option<String>, ProjectError> {
        match self.get(key) {
            Some(child) => child.node().string(&format!("`{key}`")).map(Some),
            None => Ok(None),
        }
    }

    /// Where this list entry is, and its required `name`: every named list (`plugins.*`,
    /// `environments`, `jobs`, `schedules`) reads entries this way. `missing` says what lacks a
    /// name ("a job"), `placeholder` what to write (`<job_name>`).
    pub fn location_and_name(
        &self,
        missing: &str,
        placeholder: &str,
    ) -> Result<(Location, String), ProjectError> {
        let location = self
            .location()
            .unwrap_or_else(|| Location::file_start("meltano.yml"));
        let name = self.opt_string("name")?.ok_or_else(|| {
            ProjectError::invalid(
                Some(location.clone()),
                format!("{missing} has no `name`"),
                format!("add `name: {placeholder}` to this entry"),
            )
        })?;
        Ok((location, name))
    }

    /// Optional boolean field `key`; accepts true/false and the strings "true"/"false".
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ProjectError> {
        let Some(child) = self.get(key) else {
            return Ok(None);
        };
        match child.value {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            _ => Err(child.node().wrong_shape(
                &format!("`{key}`"),
                "true or false",
                "write `true` or `false`",
            )),
        }
    }

    /// Optional list-of-text field `key`; a single value is accepted as a one-item list.
    pub fn opt_string_list(&self, key: &str) -> Result<Option<Vec<String>>, ProjectError> {
        let Some(child) = self.get(key) else {
            return Ok(None);
        };
        let node = child.node();
        if let Some(single) = scalar_string(node.value) {
            return Ok(Some(vec![single]));
        }
        let mut out = Vec::new();
        for item in node.items(&format!("`{key}`"))? {
            out.push(item.node().string(&format!("each entry of `{key}`"))?);
        }
        Ok(Some(out))
    }

    /// Optional mapping field `key`, cloned.
    pub fn opt_object(&self, key: &str) -> Result<Option<Map<String, Value>>, ProjectError> {
        match self.get(key) {
            Some(child) => Ok(child.node().object(&format!("`{key}`"))?.cloned()),
            None => Ok(None),
        }
    }

    /// Optional `KEY: value` mapping whose values are turned into text (for `env:` blocks).
    pub fn opt_string_map(
        &self,
        key: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, ProjectError> {
        let Some(child) = self.get(key) else {
            return Ok(None);
        };
        let mut out = std::collections::BTreeMap::new();
        for (k, v) in child.node().entries(&format!("`{key}`"))? {
            let text = match v.value {
                Value::Null => String::new(),
                other => scalar_string(other).ok_or_else(|| {
                    v.node().wrong_shape(
                        &format!("`{key}.{k}`"),
                        "a single value",
                        "environment variables hold text; quote the value or write JSON as a string",
                    )
                })?,
            };
            out.insert(k.to_string(), text);
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_yaml;
    use std::path::Path;

    #[test]
    fn wrong_shapes_point_at_the_node() {
        let doc = parse_yaml("a:\n  pip_url: [x]\n", Path::new("meltano.yml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let root = Node {
            value: &doc.value,
            pointer: "",
            map: &doc.source_map,
        };
        let a = root.get("a").unwrap_or_else(|| panic!("missing a"));
        let err = a.node().opt_string("pip_url").err().map(|e| e.to_string());
        let text = err.unwrap_or_default();
        assert!(
            text.starts_with("meltano.yml:2:12: `pip_url` must be a single value"),
            "{text}"
        );
    }

    #[test]
    fn scalars_become_strings_and_lists_accept_single_values() {
        let doc = parse_yaml("v: 2\nl: one\nm: [a, 1]\nb: 'true'\n", Path::new("m.yml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let root = Node {
            value: &doc.value,
            pointer: "",
            map: &doc.source_map,
        };
        assert_eq!(root.opt_string("v").ok().flatten().as_deref(), Some("2"));
        assert_eq!(
            root.opt_string_list("l").ok().flatten(),
            Some(vec!["one".to_string()])
        );
        assert_eq!(
            root.opt_string_list("m").ok().flatten(),
            Some(vec!["a".to_string(), "1".to_string()])
        );
        assert_eq!(root.opt_bool("b").ok().flatten(), Some(true));
        assert_eq!(root.opt_string("missing").ok().flatten(), None);
    }
}
