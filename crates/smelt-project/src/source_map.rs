//! Where every node of a loaded YAML document came from.
//!
//! Nodes are addressed by JSON Pointer (RFC 6901): `/plugins/extractors/0/config/host`. The map
//! lets any later stage (settings resolution, the runtime validating jobs) point a user at the
//! exact file, line and column of the value it is complaining about.

use std::collections::HashMap;

use crate::error::Location;

/// Locations of the nodes of a document, keyed by JSON Pointer.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    values: HashMap<String, Location>,
    keys: HashMap<String, Location>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Where the value at `pointer` starts.
    pub fn get(&self, pointer: &str) -> Option<&Location> {
        self.values.get(pointer)
    }

    /// Where the mapping key that holds the value at `pointer` is written.
    pub fn key(&self, pointer: &str) -> Option<&Location> {
        self.keys.get(pointer)
    }

    /// The location of `pointer`, or of its nearest ancestor that has one.
    ///
    /// Values copied in through YAML aliases only record the alias itself, so callers asking
    /// about a node inside one still get a useful position.
    pub fn locate(&self, pointer: &str) -> Option<&Location> {
        let mut current = pointer;
        loop {
            if let Some(loc) = self.values.get(current) {
                return Some(loc);
            }
            match current.rfind('/') {
                Some(idx) => current = &current[..idx],
                None => return None,
            }
        }
    }

    /// Records where the value at `pointer` starts.
    pub(crate) fn insert_value(&mut self, pointer: String, location: Location) {
        self.values.insert(pointer, location);
    }

    /// Records where the key holding the value at `pointer` is written.
    pub(crate) fn insert_key(&mut self, pointer: String, location: Location) {
        self.keys.insert(pointer, location);
    }

    /// Copies every entry under `from` (inclusive) in `other` to the same place under `to`.
    ///
    /// Used when the lists of an included file are appended to the main document, which
    /// shifts their indices.
    pub(crate) fn graft(&mut self, other: &SourceMap, from: &str, to: &str) {
        let rebase = |p: &String| -> Option<String> {
            if p == from {
                Some(to.to_string())
            } else {
                p.strip_prefix(from)
                    .filter(|rest| rest.starts_with('/'))
                    .map(|rest| format!("{to}{rest}"))
            }
        };
        for (p, loc) in &other.values {
            if let Some(np) = rebase(p) {
                self.values.insert(np, loc.clone());
            }
        }
        for (p, loc) in &other.keys {
            if let Some(np) = rebase(p) {
                self.keys.insert(np, loc.clone());
            }
        }
    }
}

/// Appends one reference token to a JSON Pointer, escaping `~` and `/` as RFC 6901 requires.
pub fn pointer_push(base: &str, token: &str) -> String {
    let escaped = token.replace('~', "~0").replace('/', "~1");
    format!("{base}/{escaped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_push("", "a/b~c"), "/a~1b~0c");
        assert_eq!(pointer_push("/x", "0"), "/x/0");
    }

    #[test]
    fn locate_falls_back_to_ancestor() {
        let mut map = SourceMap::new();
        map.insert_value("/a".into(), Location::new("m.yml", 2, 3));
        assert_eq!(map.locate("/a/b/c").map(|l| l.line), Some(2));
        assert!(map.locate("/z").is_none());
        assert!(map.get("/a/b").is_none());
    }

    #[test]
    fn graft_rebases_subtrees_only() {
        let mut other = SourceMap::new();
        other.insert_value("/plugins/extractors/0".into(), Location::new("x.yml", 4, 3));
        other.insert_value(
            "/plugins/extractors/0/name".into(),
            Location::new("x.yml", 4, 9),
        );
        other.insert_value(
            "/plugins/extractors/10".into(),
            Location::new("x.yml", 9, 3),
        );
        other.insert_key(
            "/plugins/extractors/0/name".into(),
            Location::new("x.yml", 4, 3),
        );
        let mut map = SourceMap::new();
        map.graft(&other, "/plugins/extractors/0", "/plugins/extractors/5");
        assert_eq!(map.get("/plugins/extractors/5").map(|l| l.line), Some(4));
        assert_eq!(
            map.get("/plugins/extractors/5/name").map(|l| l.col),
            Some(9)
        );
        assert_eq!(
            map.key("/plugins/extractors/5/name").map(|l| l.col),
            Some(3)
        );
        assert!(map.get("/plugins/extractors/50").is_none());
    }
}
