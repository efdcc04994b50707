//! Lossless edits of `meltano.yml`: change one node, keep every other byte.
//!
//! `smelt config set`, `config unset`, `select` and `environment add` write to a file people
//! maintain by hand, with comments, their own key order, quoting, blank lines and
//! indentation. [`YamlEditor`] locates the edited node through `saphyr-parser`'s event spans
//! and splices only its byte range (or, for block collections, its whole lines), writing new
//! values in the indentation style the file already uses.
//!
//! Every edit is checked before it is kept: the new text is read back with
//! [`crate::parse_yaml`] and must equal the old document with exactly that change. An edit
//! that would also change something else (for example through a YAML alias) is refused with
//! an error instead.
//!
//! Layout: `tree` (nodes with byte ranges), `locate` (paths), `ops` (the splice of each edit),
//! `render` and `scalar` (writing values), `text` (line helpers), `expect` (the JSON check).

mod expect;
mod locate;
mod ops;
mod render;
mod scalar;
mod text;
mod tree;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Location, ProjectError};
use crate::yaml::parse_yaml;
use ops::Ops;
use text::Splice;

/// One step of a path into the document.
///
/// Keys are literal: `Key("a.b")` is the single key `a.b`, never `a` then `b`, because
/// setting names in Meltano contain dots.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSeg {
    /// A key of a mapping.
    Key(String),
    /// A 0-based item index of a list.
    Index(usize),
}

impl PathSeg {
    /// A path of keys, for the common case (`PathSeg::keys(["plugins", "extractors"])`).
    pub fn keys<I, S>(keys: I) -> Vec<PathSeg>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        keys.into_iter().map(|k| PathSeg::Key(k.into())).collect()
    }
}

impl From<&str> for PathSeg {
    fn from(key: &str) -> PathSeg {
        PathSeg::Key(key.to_string())
    }
}

impl From<usize> for PathSeg {
    fn from(index: usize) -> PathSeg {
        PathSeg::Index(index)
    }
}

/// A YAML document being edited in place, comments and layout kept.
///
/// Build it from the file's text, apply edits, then write [`YamlEditor::text`] back. Each
/// edit either applies completely or leaves the text unchanged and returns an error.
#[derive(Debug, Clone)]
pub struct YamlEditor {
    text: String,
    file: PathBuf,
}

impl YamlEditor {
    /// Starts editing `text`; `file` is the path shown in error locations.
    pub fn new(text: impl Into<String>, file: impl Into<PathBuf>) -> YamlEditor {
        YamlEditor {
            text: text.into(),
            file: file.into(),
        }
    }

    /// The current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The current text, consuming the editor.
    pub fn into_text(self) -> String {
        self.text
    }

    /// Sets the value at `path`, creating missing mappings on the way (in block style).
    ///
    /// An existing value is replaced in place, keeping a comment at the end of its key's
    /// line; a new key goes after the last entry of its mapping, indented like its siblings.
    pub fn set(&mut self, path: &[PathSeg], value: &Value) -> Result<(), ProjectError> {
        let before = self.read()?;
        let splice = self.with_tree(
            &self.text,
            |ops, resolved| match resolved.missing {
                None => ops.replace_value(resolved.last(), value),
                Some(depth) => {
                    let (key, nested) = nest(&path[depth..], value, resolved.last(), ops.file)?;
                    ops.insert_key(resolved.last(), &key, &nested)
                }
            },
            path,
        )?;
        let mut expected = before;
        if !expect::set(&mut expected, path, value) {
            return Err(self.conflict(path));
        }
        let new_text = self.apply(&self.text, &splice, path)?;
        self.commit(new_text, &expected, path)
    }

    /// Removes the key or list item at `path` with everything under it.
    ///
    /// Returns `Ok(false)` when the key is absent. A mapping or list left empty is written as
    /// `{}` or `[]` so the document keeps its shape.
    pub fn remove(&mut self, path: &[PathSeg]) -> Result<bool, ProjectError> {
        let before = self.read()?;
        let tree = self.build_tree(&self.text)?;
        let resolved = locate::resolve(&tree.root, &self.text, path, &self.file)?;
        if resolved.missing.is_some() {
            if expect::get(&before, path).is_some() {
                return Err(ProjectError::invalid(
                    Some(resolved.last().location(&self.file)),
                    format!(
                        "cannot remove `{}`: it is not written here but comes from a `<<` merge key",
                        locate::describe(path)
                    ),
                    "remove it where it is defined, or override it with another value",
                ));
            }
            return Ok(false);
        }
        let Some(last) = path.last() else {
            return Err(ProjectError::invalid(
                Some(Location::file_start(&self.file)),
                "cannot remove the whole document",
                "remove its keys one by one",
            ));
        };
        let ops = Ops {
            source: &self.text,
            tree: &tree,
            file: &self.file,
        };
        let parent = resolved.chain[resolved.chain.len() - 2];
        let splice = match (last, &parent.kind) {
            (PathSeg::Key(key), tree::Kind::Map { entries, .. }) => {
                match entries.iter().position(|e| &e.key == key) {
                    Some(index) => ops.remove_entry(parent, index)?,
                    None => return Ok(false),
                }
            }
            (PathSeg::Index(index), _) => ops.remove_item(parent, *index)?,
            _ => return Ok(false),
        };
        let mut expected = before;
        if !expect::remove(&mut expected, path) {
            return Err(self.conflict(path));
        }
        let new_text = self.apply(&self.text, &splice, path)?;
        self.commit(new_text, &expected, path)?;
        Ok(true)
    }

    /// Appends `value` to the list at `path`, creating the list when it is absent or null.
    ///
    /// A block list gets a new `- item` line after its last item; a flow list (`[a, b]`) gets
    /// a new element.
    pub fn push(&mut self, path: &[PathSeg], value: &Value) -> Result<(), ProjectError> {
        let before = self.read()?;
        let list = Value::Array(vec![value.clone()]);
        let splice = self.with_tree(
            &self.text,
            |ops, resolved| match resolved.missing {
                None => ops.push_item(resolved.last(), value),
                Some(depth) => {
                    let (key, nested) = nest(&path[depth..], &list, resolved.last(), ops.file)?;
                    ops.insert_key(resolved.last(), &key, &nested)
                }
            },
            path,
        )?;
        let mut expected = before;
        if !expect::push(&mut expected, path, value) {
            return Err(self.conflict(path));
        }
        let new_text = self.apply(&self.text, &splice, path)?;
        self.commit(new_text, &expected, path)
    }

    /// Removes every item equal to `value` from the list at `path`; returns how many.
    ///
    /// An absent or null list has nothing to remove; a list left empty is written as `[]`.
    pub fn remove_items(&mut self, path: &[PathSeg], value: &Value) -> Result<usize, ProjectError> {
        let before = self.read()?;
        let indices: Vec<usize> = {
            let tree = self.build_tree(&self.text)?;
            let resolved = locate::resolve(&tree.root, &self.text, path, &self.file)?;
            if resolved.missing.is_some() || resolved.last().is_null(&self.text) {
                return Ok(0);
            }
            let target = resolved.last();
            let tree::Kind::Seq { items, .. } = &target.kind else {
                return Err(ProjectError::invalid(
                    Some(target.location(&self.file)),
                    format!(
                        "cannot remove items from `{}`: it is not a list",
                        locate::describe(path)
                    ),
                    "check the path",
                ));
            };
            let Some(Value::Array(values)) = expect::get(&before, path) else {
                return Err(self.conflict(path));
            };
            if values.len() != items.len() {
                return Err(self.conflict(path));
            }
            values
                .iter()
                .enumerate()
                .filter(|(_, v)| *v == value)
                .map(|(i, _)| i)
                .collect()
        };
        if indices.is_empty() {
            return Ok(0);
        }
        let mut working = self.text.clone();
        for index in indices.iter().rev() {
            let mut item_path = path.to_vec();
            item_path.push(PathSeg::Index(*index));
            let splice = self.with_tree(
                &working,
                |ops, resolved| {
                    let parent = resolved.chain[resolved.chain.len() - 2];
                    ops.remove_item(parent, *index)
                },
                &item_path,
            )?;
            working = self.apply(&working, &splice, path)?;
        }
        let mut expected = before;
        if !expect::remove_items(&mut expected, path, value) {
            return Err(self.conflict(path));
        }
        self.commit(working, &expected, path)?;
        Ok(indices.len())
    }

    /// The document as JSON, or the reader's error when it does not parse.
    fn read(&self) -> Result<Value, ProjectError> {
        Ok(parse_yaml(&self.text, &self.file)?.value)
    }

    /// The node tree of `source`. The reader accepts a few layouts the strict parser under
    /// the editor does not (flow and quoted values continued on less-indented lines); those
    /// files can be read but not edited, and the error says what to change.
    fn build_tree(&self, source: &str) -> Result<tree::Tree, ProjectError> {
        tree::build(source, &self.file).map_err(|err| match err {
            ProjectError::Yaml { location, reason } => ProjectError::invalid(
                Some(location),
                format!("smelt cannot edit this file automatically: {reason}"),
                "indent the lines inside `[...]`, `{...}` and multi-line quoted values deeper than their key, then try again",
            ),
            other => other,
        })
    }

    /// Builds the tree of `source`, resolves `path` and computes a splice with `f`.
    fn with_tree(
        &self,
        source: &str,
        f: impl FnOnce(&Ops<'_>, &locate::Resolved<'_>) -> Result<Splice, ProjectError>,
        path: &[PathSeg],
    ) -> Result<Splice, ProjectError> {
        let tree = self.build_tree(source)?;
        let resolved = locate::resolve(&tree.root, source, path, &self.file)?;
        let ops = Ops {
            source,
            tree: &tree,
            file: &self.file,
        };
        f(&ops, &resolved)
    }

    fn apply(
        &self,
        source: &str,
        splice: &Splice,
        path: &[PathSeg],
    ) -> Result<String, ProjectError> {
        splice
            .apply(source, text::newline_of(&self.text))
            .ok_or_else(|| self.unsafe_edit(path, "the edit does not fall on character boundaries"))
    }

    fn unsafe_edit(&self, path: &[PathSeg], why: &str) -> ProjectError {
        ProjectError::invalid(
            Some(Location::file_start(&self.file)),
            format!(
                "smelt could not edit `{}` safely: {why}",
                locate::describe(path)
            ),
            "edit this part of the file by hand (and please report this file layout)",
        )
    }

    /// Keeps `new_text` if it reads back as `expected`, else refuses the edit.
    fn commit(
        &mut self,
        new_text: String,
        expected: &Value,
        path: &[PathSeg],
    ) -> Result<(), ProjectError> {
        match parse_yaml(&new_text, &self.file) {
            Ok(doc) if doc.value == *expected => {
                self.text = new_text;
                Ok(())
            }
            Ok(_) => Err(self.conflict(path)),
            Err(err) => {
                Err(self.unsafe_edit(path, &format!("the result would not be valid YAML ({err})")))
            }
        }
    }

    fn conflict(&self, path: &[PathSeg]) -> ProjectError {
        ProjectError::invalid(
            Some(Location::file_start(&self.file)),
            format!(
                "smelt could not edit `{}` without changing other values: this part of the file is shared through YAML anchors, aliases or `<<` merge keys",
                locate::describe(path)
            ),
            "edit this part of the file by hand",
        )
    }
}

/// The first missing key of `rest` and the value to write under it: `value` wrapped in one
/// mapping per further key.
fn nest(
    rest: &[PathSeg],
    value: &Value,
    parent: &tree::Node,
    file: &Path,
) -> Result<(String, Value), ProjectError> {
    let mut wrapped = value.clone();
    for seg in rest[1..].iter().rev() {
        match seg {
            PathSeg::Key(k) => {
                let mut map = Map::new();
                map.insert(k.clone(), wrapped);
                wrapped = Value::Object(map);
            }
            PathSeg::Index(i) => {
                return Err(ProjectError::invalid(
                    Some(parent.location(file)),
                    format!("cannot create list item {i}: the list does not exist yet"),
                    "create the list first, or append to it",
                ))
            }
        }
    }
    match &rest[0] {
        PathSeg::Key(k) => Ok((k.clone(), wrapped)),
        PathSeg::Index(i) => Err(ProjectError::invalid(
            Some(parent.location(file)),
            format!("list item {i} does not exist"),
            "append to the list instead",
        )),
    }
}

#[cfg(test)]
mod tests;
