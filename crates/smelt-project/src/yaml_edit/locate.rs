//! Following a path of keys and indices down the node tree.
//!
//! Finding where a path ends is where most user mistakes surface (a key that holds a plain
//! value, an index past the end of a list, a value shared through an alias), so each of
//! those is an error pointing at the node that stops the walk.

use std::path::Path;

use super::tree::{Kind, Node};
use super::PathSeg;
use crate::error::ProjectError;

/// The nodes along a path, and where it stops existing.
pub(super) struct Resolved<'t> {
    /// `chain[i]` is the node at `path[..i]`; `chain[0]` is the root.
    pub chain: Vec<&'t Node>,
    /// The index in the path of the first key that is absent (its parent, the last node of
    /// `chain`, is a mapping or a null), or `None` when the whole path exists.
    pub missing: Option<usize>,
}

impl<'t> Resolved<'t> {
    /// The last node found: the target when the path exists, else the deepest parent.
    pub fn last(&self) -> &'t Node {
        self.chain[self.chain.len() - 1]
    }
}

/// Shows a path the way a user would write it: `plugins.extractors[0].config."a.b"`.
pub(super) fn describe(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if k.is_empty() || k.contains(['.', '[', ']', '"', ' ']) {
                    out.push_str(&format!("{k:?}"));
                } else {
                    out.push_str(k);
                }
            }
            PathSeg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "the document".to_string()
    } else {
        out
    }
}

/// Walks `path` from the root of `root`.
pub(super) fn resolve<'t>(
    root: &'t Node,
    source: &str,
    path: &[PathSeg],
    file: &Path,
) -> Result<Resolved<'t>, ProjectError> {
    let mut chain = vec![root];
    for (i, seg) in path.iter().enumerate() {
        let node = chain[chain.len() - 1];
        let here = describe(&path[..i]);
        let wrong = |what: String, hint: &str| {
            Err(ProjectError::invalid(
                Some(node.location(file)),
                what,
                hint.to_string(),
            ))
        };
        match (&node.kind, seg) {
            (Kind::Alias, _) => {
                return wrong(
                    format!(
                        "cannot edit `{}`: `{here}` is an alias (`*name`) of a value defined elsewhere in the file",
                        describe(path)
                    ),
                    "edit the anchored value (`&name`) it refers to, or replace the alias with its own value first",
                )
            }
            (Kind::Map { entries, .. }, PathSeg::Key(key)) => {
                match entries.iter().find(|e| &e.key == key) {
                    Some(entry) => chain.push(&entry.value),
                    None => {
                        return Ok(Resolved {
                            chain,
                            missing: Some(i),
                        })
                    }
                }
            }
            (Kind::Seq { items, .. }, PathSeg::Index(index)) => match items.get(*index) {
                Some(item) => chain.push(item),
                None => {
                    return wrong(
                        format!(
                            "cannot edit `{}`: `{here}` has {} item(s), so index {index} is out of range",
                            describe(path),
                            items.len()
                        ),
                        "use an index below the number of items, or append a new item",
                    )
                }
            },
            (_, PathSeg::Key(_)) if node.is_null(source) => {
                return Ok(Resolved {
                    chain,
                    missing: Some(i),
                })
            }
            (_, PathSeg::Index(index)) if node.is_null(source) => {
                return wrong(
                    format!(
                        "cannot edit `{}`: `{here}` is empty, so index {index} is out of range",
                        describe(path)
                    ),
                    "append a new item instead",
                )
            }
            (Kind::Seq { .. }, PathSeg::Key(key)) => {
                return wrong(
                    format!(
                        "cannot edit `{}`: `{here}` is a list, not a mapping with key `{key}`",
                        describe(path)
                    ),
                    "address list items by their index",
                )
            }
            (Kind::Map { .. }, PathSeg::Index(index)) => {
                return wrong(
                    format!(
                        "cannot edit `{}`: `{here}` is a mapping, not a list with item {index}",
                        describe(path)
                    ),
                    "address mapping entries by their key",
                )
            }
            (Kind::Scalar { .. }, _) => {
                return wrong(
                    format!(
                        "cannot edit `{}`: `{here}` holds a single value, not a mapping or list",
                        describe(path)
                    ),
                    "replace that value first, or check the path",
                )
            }
        }
    }
    Ok(Resolved {
        chain,
        missing: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_described_readably() {
        let path = [
            PathSeg::Key("plugins".into()),
            PathSeg::Key("extractors".into()),
            PathSeg::Index(0),
            PathSeg::Key("a.b".into()),
        ];
        assert_eq!(describe(&path), "plugins.extractors[0].\"a.b\"");
        assert_eq!(describe(&[]), "the document");
    }
}
