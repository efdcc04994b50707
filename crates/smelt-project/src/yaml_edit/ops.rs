//! The splice for each kind of edit: replace a value, add a key, append an item, remove an
//! entry or an item.
//!
//! Each function touches only the byte range of the node it edits (plus, for block
//! collections, whole lines), so the rest of the file keeps its comments and layout.

use std::path::Path;

use serde_json::{Map, Value};

use super::render::{self, Place};
use super::text::{self, Splice};
use super::tree::{Kind, Node, Slot, Tree};
use crate::error::ProjectError;

/// The document being edited, for computing splices.
pub(super) struct Ops<'a> {
    pub source: &'a str,
    pub tree: &'a Tree,
    pub file: &'a Path,
}

impl Ops<'_> {
    fn refuse(&self, node: &Node, what: &str, hint: &str) -> ProjectError {
        ProjectError::invalid(Some(node.location(self.file)), what, hint)
    }

    fn refuse_anchor(&self, node: &Node) -> Result<(), ProjectError> {
        if node.anchor {
            return Err(self.refuse(
                node,
                "this value carries an anchor (`&name`) that aliases elsewhere in the file may refer to, so smelt does not replace or remove it",
                "edit this part of the file by hand, or remove the anchor and its aliases first",
            ));
        }
        Ok(())
    }

    fn no_indicator(&self, node: &Node) -> ProjectError {
        self.refuse(
            node,
            "smelt cannot edit a value written in this form (no `:` or `-` found before it)",
            "edit this part of the file by hand",
        )
    }

    /// Replaces the value `node` with `value`, in place.
    pub fn replace_value(&self, node: &Node, value: &Value) -> Result<Splice, ProjectError> {
        self.refuse_anchor(node)?;
        let s = self.source;
        let empty = matches!(node.kind, Kind::Scalar { empty: true });
        if node.in_flow || node.slot == Slot::FlowItem {
            let flow = render::flow(value);
            return Ok(match (empty, node.slot) {
                (
                    true,
                    Slot::MapValue {
                        colon_end: Some(c), ..
                    },
                ) => Splice::insert(c, format!(" {flow}")),
                (true, _) => return Err(self.no_indicator(node)),
                (false, _) => Splice::new(node.start, node.end, flow),
            });
        }
        let style = self.tree.style;
        match node.slot {
            Slot::Root | Slot::FlowItem => {
                if empty {
                    let mut out = String::new();
                    if !s.is_empty() && !s.ends_with('\n') {
                        out.push('\n');
                    }
                    out.push_str(&render::block(value, 0, style));
                    out.push('\n');
                    Ok(Splice::insert(s.len(), out))
                } else {
                    if render::is_block(value) && !text::starts_line(s, node.start) {
                        // A block collection cannot start on the `---` line.
                        let start = s[..node.start].trim_end_matches([' ', '\t']).len();
                        let new = format!("\n{}", render::block(value, 0, style));
                        return Ok(Splice::new(start, node.end, new));
                    }
                    let col = text::column(s, node.start);
                    let end = if node.is_block_collection() {
                        text::line_content_end(s, node.end)
                    } else {
                        node.end
                    };
                    Ok(Splice::new(
                        node.start,
                        end,
                        render::block(value, col, style),
                    ))
                }
            }
            Slot::MapValue { key_col, colon_end } => {
                let Some(colon_end) = colon_end else {
                    return Err(self.no_indicator(node));
                };
                let place = Place::MapValue {
                    map_col: match &node.kind {
                        Kind::Map {
                            flow: false,
                            entries,
                            ..
                        } if !entries.is_empty() => text::column(s, entries[0].key_start),
                        _ => key_col + style.map_step,
                    },
                    seq_col: match first_dash(node) {
                        Some(d) => text::column(s, d),
                        None => key_col + style.seq_offset,
                    },
                };
                let new = render::after_indicator(value, place, style);
                let block = render::is_block(value);
                let key_line_end = text::line_content_end(s, colon_end);
                if empty {
                    let at = if block { key_line_end } else { colon_end };
                    return Ok(Splice::insert(at, new));
                }
                if !node.is_block_collection() && text::same_line(s, colon_end, node.start) {
                    if !block {
                        return Ok(Splice::new(node.start, node.end, &new[1..]));
                    }
                    if text::same_line(s, colon_end, node.end) {
                        let comment = text::trailing_comment(s, node.end);
                        return Ok(Splice::new(colon_end, key_line_end, comment + &new));
                    }
                    return Ok(Splice::new(colon_end, node.end, new));
                }
                let comment = text::trailing_comment(s, colon_end);
                let end = self.value_end(node, key_col);
                Ok(Splice::new(colon_end, end, with_comment(&new, &comment)))
            }
            Slot::SeqItem { dash_col, dash } => {
                let Some(dash) = dash else {
                    return Err(self.no_indicator(node));
                };
                let dash_end = dash + 1;
                if empty {
                    let place = Place::SeqItem {
                        content_col: dash_col + 2,
                    };
                    let new = render::after_indicator(value, place, style);
                    return Ok(Splice::insert(dash_end, new));
                }
                if text::same_line(s, dash_end, node.start) {
                    let place = Place::SeqItem {
                        content_col: text::column(s, node.start),
                    };
                    let new = render::after_indicator(value, place, style);
                    let end = self.value_end(node, dash_col);
                    return Ok(Splice::new(node.start, end, &new[1..]));
                }
                let place = Place::SeqItem {
                    content_col: dash_col + 2,
                };
                let new = render::after_indicator(value, place, style);
                let comment = text::trailing_comment(s, dash_end);
                let end = self.value_end(node, dash_col);
                Ok(Splice::new(dash_end, end, with_comment(&new, &comment)))
            }
        }
    }

    /// Adds `key: value` to the mapping (or null) `node`, after its last entry.
    pub fn insert_key(
        &self,
        node: &Node,
        key: &str,
        value: &Value,
    ) -> Result<Splice, ProjectError> {
        let s = self.source;
        match &node.kind {
            Kind::Map {
                flow: true,
                inner,
                entries,
            } => {
                let entry = render::flow_entry(key, value);
                match entries.last() {
                    Some(last) => {
                        Ok(self.insert_into_flow(inner.0, last.key_start, last.value.end, &entry))
                    }
                    None if node.in_flow => Ok(Splice::new(inner.0, inner.1, entry)),
                    None => self.replace_value(node, &single(key, value)),
                }
            }
            Kind::Map {
                flow: false,
                entries,
                ..
            } => {
                let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
                    return self.replace_value(node, &single(key, value));
                };
                let col = text::column(s, first.key_start);
                let style = self.tree.style;
                let place = Place::MapValue {
                    map_col: col + style.map_step,
                    seq_col: col + style.seq_offset,
                };
                let line = format!(
                    "{}{}:{}",
                    " ".repeat(col),
                    super::scalar::key(key, super::scalar::Context::Block),
                    render::after_indicator(value, place, style)
                );
                let end = last.value.end.max(last.key_start + 1);
                Ok(self.insert_line(self.append_point(end, parent_col(node), col), line))
            }
            _ if node.is_null(s) => self.replace_value(node, &single(key, value)),
            _ => Err(self.refuse(
                node,
                &format!("cannot add key `{key}` here: this is not a mapping"),
                "check the path",
            )),
        }
    }

    /// Appends `value` to the sequence (or null) `node`.
    pub fn push_item(&self, node: &Node, value: &Value) -> Result<Splice, ProjectError> {
        let s = self.source;
        match &node.kind {
            Kind::Seq {
                flow: true,
                inner,
                items,
            } => {
                let item = render::flow(value);
                match items.last() {
                    Some(last) => Ok(self.insert_into_flow(inner.0, last.start, last.end, &item)),
                    None if node.in_flow => Ok(Splice::new(inner.0, inner.1, item)),
                    None => self.replace_value(node, &Value::Array(vec![value.clone()])),
                }
            }
            Kind::Seq {
                flow: false, items, ..
            } => {
                let (Some(dash), Some(last)) = (first_dash(node), items.last()) else {
                    return Err(self.no_indicator(node));
                };
                let col = text::column(s, dash);
                let place = Place::SeqItem {
                    content_col: col + 2,
                };
                let line = format!(
                    "{}-{}",
                    " ".repeat(col),
                    render::after_indicator(value, place, self.tree.style)
                );
                let end = match last.slot {
                    Slot::SeqItem { dash: Some(d), .. } => last.end.max(d + 1),
                    _ => last.end,
                };
                Ok(self.insert_line(self.append_point(end, parent_col(node), col), line))
            }
            _ if node.is_null(s) => self.replace_value(node, &Value::Array(vec![value.clone()])),
            _ => Err(self.refuse(
                node,
                "cannot append an item here: this is not a list",
                "check the path",
            )),
        }
    }

    /// Removes entry `index` of the mapping `node`; an emptied mapping becomes `{}`.
    pub fn remove_entry(&self, node: &Node, index: usize) -> Result<Splice, ProjectError> {
        let Kind::Map {
            flow,
            inner,
            entries,
        } = &node.kind
        else {
            return Err(self.refuse(node, "this is not a mapping", "check the path"));
        };
        let Some(entry) = entries.get(index) else {
            return Err(self.refuse(node, "no such entry", "check the path"));
        };
        self.refuse_anchor(&entry.value)?;
        let starts: Vec<usize> = entries.iter().map(|e| e.key_start).collect();
        let ends: Vec<usize> = entries
            .iter()
            .map(|e| e.value.end.max(e.key_start + 1))
            .collect();
        self.remove_member(
            node,
            *flow,
            *inner,
            &starts,
            &ends,
            index,
            Value::Object(Map::new()),
        )
    }

    /// Removes item `index` of the sequence `node`; an emptied sequence becomes `[]`.
    pub fn remove_item(&self, node: &Node, index: usize) -> Result<Splice, ProjectError> {
        let Kind::Seq { flow, inner, items } = &node.kind else {
            return Err(self.refuse(node, "this is not a list", "check the path"));
        };
        let Some(item) = items.get(index) else {
            return Err(self.refuse(node, "no such item", "check the path"));
        };
        self.refuse_anchor(item)?;
        let mut starts = Vec::new();
        let mut ends = Vec::new();
        for item in items {
            match (flow, item.slot) {
                (false, Slot::SeqItem { dash: Some(d), .. }) => {
                    starts.push(d);
                    ends.push(item.end.max(d + 1));
                }
                (false, _) => return Err(self.no_indicator(item)),
                (true, _) => {
                    starts.push(item.start);
                    ends.push(item.end);
                }
            }
        }
        self.remove_member(
            node,
            *flow,
            *inner,
            &starts,
            &ends,
            index,
            Value::Array(Vec::new()),
        )
    }

    /// Removes the member (entry or item) spanning `starts[index]..ends[index]`.
    #[allow(clippy::too_many_arguments)]
    fn remove_member(
        &self,
        node: &Node,
        flow: bool,
        inner: (usize, usize),
        starts: &[usize],
        ends: &[usize],
        index: usize,
        empty: Value,
    ) -> Result<Splice, ProjectError> {
        let s = self.source;
        let count = starts.len();
        let (start, end) = (starts[index], ends[index]);
        if flow {
            return Ok(if count == 1 {
                Splice::new(inner.0, inner.1, "")
            } else if index + 1 < count {
                Splice::new(start, starts[index + 1], "")
            } else {
                Splice::new(ends[index - 1], end, "")
            });
        }
        if count == 1 {
            return self.replace_value(node, &empty);
        }
        if text::starts_line(s, start) {
            let owned = self.owned_end(end, text::column(s, start));
            return Ok(Splice::new(
                text::line_start(s, start),
                text::next_line_start(s, owned),
                "",
            ));
        }
        if index + 1 < count {
            // The first member shares its line with an indicator (`- name: x`): the next
            // member (or a comment before it) moves up to take its place.
            let next = text::skip_blank(s, text::line_after(s, end)).min(starts[index + 1]);
            return Ok(Splice::new(start, next, ""));
        }
        Err(self.refuse(
            node,
            "smelt cannot remove this entry: it shares a line with the one before it",
            "edit this part of the file by hand",
        ))
    }

    /// Where the text replacing `node` ends: for a block collection (hanging from column
    /// `col`), the end of its last line and of the comment lines it owns, so no comment of
    /// the old value is left dangling after the new one.
    fn value_end(&self, node: &Node, col: usize) -> usize {
        if node.is_block_collection() {
            self.owned_end(node.end, col)
        } else {
            node.end
        }
    }

    /// The end of the last line of a member ending at `end`, extended over the comment-only
    /// lines right after it that are indented deeper than `col` (the member's key or `-`).
    fn owned_end(&self, end: usize, col: usize) -> usize {
        let s = self.source;
        let mut line_end = text::line_content_end(s, end);
        loop {
            let next = text::next_line_start(s, line_end);
            match text::comment_line_indent(s, next) {
                Some(indent) if next < s.len() && indent > col => {
                    line_end = text::line_content_end(s, next);
                }
                _ => return line_end,
            }
        }
    }

    /// Where a new line goes after a block collection's last member ending at `end`: the next
    /// line, moved past comment lines indented under the collection (they belong to it).
    fn append_point(&self, end: usize, parent_col: Option<usize>, sibling_col: usize) -> usize {
        let s = self.source;
        let mut at = text::line_after(s, end);
        let Some(parent_col) = parent_col else {
            return at;
        };
        while at < s.len() {
            match text::comment_line_indent(s, at) {
                Some(indent) if indent > parent_col && indent >= sibling_col => {
                    at = text::next_line_start(s, at);
                }
                _ => break,
            }
        }
        at
    }

    /// Inserts `line` (without its line break) as a whole line at `at`.
    fn insert_line(&self, at: usize, line: String) -> Splice {
        let s = self.source;
        let prefix = if at == s.len() && !s.is_empty() && !s.ends_with('\n') {
            "\n"
        } else {
            ""
        };
        Splice::insert(at, format!("{prefix}{line}\n"))
    }

    /// Inserts `member` after the last member of a flow collection (which starts at
    /// `last_start` and ends at `last_end`), on its own line when members are on their own.
    fn insert_into_flow(
        &self,
        open_end: usize,
        last_start: usize,
        last_end: usize,
        member: &str,
    ) -> Splice {
        let s = self.source;
        if !text::same_line(s, open_end, last_start) && text::starts_line(s, last_start) {
            let indent = " ".repeat(text::column(s, last_start));
            Splice::insert(last_end, format!(",\n{indent}{member}"))
        } else {
            Splice::insert(last_end, format!(", {member}"))
        }
    }
}

/// `{key: value}`.
fn single(key: &str, value: &Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_string(), value.clone());
    Value::Object(map)
}

/// The `-` of the first item of a block sequence.
fn first_dash(node: &Node) -> Option<usize> {
    match &node.kind {
        Kind::Seq {
            flow: false, items, ..
        } => match items.first()?.slot {
            Slot::SeqItem { dash, .. } => dash,
            _ => None,
        },
        _ => None,
    }
}

/// The column of what a block collection hangs from (its key or its `-`), if anything.
fn parent_col(node: &Node) -> Option<usize> {
    match node.slot {
        Slot::MapValue { key_col, .. } => Some(key_col),
        Slot::SeqItem { dash_col, .. } => Some(dash_col),
        Slot::Root | Slot::FlowItem => None,
    }
}

/// Puts `comment` (a kept trailing comment, with its leading blanks) at the end of the first
/// line of `rendered`.
fn with_comment(rendered: &str, comment: &str) -> String {
    if comment.is_empty() {
        return rendered.to_string();
    }
    match rendered.find('\n') {
        Some(i) => format!("{}{comment}{}", &rendered[..i], &rendered[i..]),
        None => format!("{rendered}{comment}"),
    }
}
