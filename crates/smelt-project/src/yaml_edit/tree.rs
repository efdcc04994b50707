//! The document's node tree with byte ranges, built from `saphyr-parser` events.
//!
//! The editor needs to know where each node, key, `:` and `-` is in the text, not what the
//! values mean (that is [`crate::yaml::parse_yaml`]'s job). Parser markers count characters,
//! so positions are converted to byte offsets here, once, for non-ASCII text to splice right.

use std::collections::HashMap;
use std::path::Path;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput};

use super::text;
use crate::error::{Location, ProjectError};

/// How a node is attached to its parent, and where the indicator before it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// The document's top node.
    Root,
    /// The value of a mapping entry; `colon_end` is just after its `:` (when one was found).
    MapValue {
        key_col: usize,
        colon_end: Option<usize>,
    },
    /// An item of a block sequence; `dash_end` is just after its `-` (when one was found).
    SeqItem {
        dash_col: usize,
        dash: Option<usize>,
    },
    /// An item of a flow sequence (`[a, b]`).
    FlowItem,
}

/// One key of a mapping with its value.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The key as text (what the reader uses as the JSON key).
    pub key: String,
    pub key_start: usize,
    pub value: Node,
}

/// What a node is.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// A scalar; `empty` when nothing is written (an implicit null such as `config:`).
    Scalar { empty: bool },
    /// `*name`.
    Alias,
    /// A mapping. For flow ones, `inner` is the range between `{` and `}`.
    Map {
        flow: bool,
        inner: (usize, usize),
        entries: Vec<Entry>,
    },
    /// A sequence. For flow ones, `inner` is the range between `[` and `]`.
    Seq {
        flow: bool,
        inner: (usize, usize),
        items: Vec<Node>,
    },
}

/// A node with the byte range it covers (properties such as tags included).
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// 1-based line and column of the node, for error messages.
    pub line: usize,
    pub col: usize,
    /// The node carries an anchor (`&name`) that aliases may refer to.
    pub anchor: bool,
    pub slot: Slot,
    /// The node lies inside a flow collection, so edits to it must be written in flow style.
    pub in_flow: bool,
}

impl Node {
    /// Whether this is a block mapping or block sequence (written over several lines).
    pub fn is_block_collection(&self) -> bool {
        matches!(
            self.kind,
            Kind::Map { flow: false, .. } | Kind::Seq { flow: false, .. }
        )
    }

    /// Whether this is a null written as nothing, `~` or `null`.
    pub fn is_null(&self, source: &str) -> bool {
        match self.kind {
            Kind::Scalar { empty: true } => true,
            Kind::Scalar { empty: false } => {
                matches!(
                    &source[self.start..self.end],
                    "~" | "null" | "Null" | "NULL"
                )
            }
            _ => false,
        }
    }

    /// Where this node is, for error messages.
    pub fn location(&self, file: &Path) -> Location {
        Location::new(file, self.line, self.col)
    }
}

/// How the document indents nested blocks, learnt from what it already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Style {
    /// Extra indentation of a mapping nested under a key.
    pub map_step: usize,
    /// Extra indentation of a sequence's `-` under its key (0 for Meltano's `key:\n- item`).
    pub seq_offset: usize,
}

/// The parsed tree and the indentation style of a document.
#[derive(Debug, Clone)]
pub(super) struct Tree {
    pub root: Node,
    pub style: Style,
}

/// Builds the tree of `source`; `file` names the document in errors.
pub(super) fn build(source: &str, file: &Path) -> Result<Tree, ProjectError> {
    let outcome = std::panic::catch_unwind(|| Builder::new(source, file).build());
    match outcome {
        Ok(result) => result,
        Err(_) => Err(ProjectError::Yaml {
            location: Location::file_start(file),
            reason: "the YAML parser failed on this file".to_string(),
        }),
    }
}

struct Builder<'a> {
    source: &'a str,
    file: &'a Path,
    parser: Parser<'a, StrInput<'a>>,
    /// Byte offset of every character index, plus the end of text.
    offsets: Vec<usize>,
    /// End of the last token consumed; indicators are searched for after it.
    cursor: usize,
    map_step: Option<usize>,
    seq_offset: Option<usize>,
    /// Text of anchored scalars, for alias keys.
    anchored_text: HashMap<usize, String>,
}

impl<'a> Builder<'a> {
    fn new(source: &'a str, file: &'a Path) -> Builder<'a> {
        let mut offsets: Vec<usize> = source.char_indices().map(|(i, _)| i).collect();
        offsets.push(source.len());
        Builder {
            source,
            file,
            parser: Parser::new_from_str(source),
            offsets,
            cursor: 0,
            map_step: None,
            seq_offset: None,
            anchored_text: HashMap::new(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        self.offsets
            .get(char_index)
            .copied()
            .unwrap_or(self.source.len())
    }

    fn range(&self, span: &Span) -> (usize, usize) {
        let start = self.byte(span.start.index());
        (start, self.byte(span.end.index()).max(start))
    }

    fn error(&self, span: &Span, reason: impl Into<String>) -> ProjectError {
        ProjectError::Yaml {
            location: Location::new(self.file, span.start.line(), span.start.col() + 1),
            reason: reason.into(),
        }
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), ProjectError> {
        match self.parser.next_event() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(err)) => {
                let mark = err.marker();
                Err(ProjectError::Yaml {
                    location: Location::new(self.file, mark.line(), mark.col() + 1),
                    reason: err.info().to_string(),
                })
            }
            None => Err(ProjectError::Yaml {
                location: Location::file_start(self.file),
                reason: "unexpected end of input".to_string(),
            }),
        }
    }

    fn advance(&mut self, to: usize) {
        self.cursor = self.cursor.max(to);
    }

    fn build(mut self) -> Result<Tree, ProjectError> {
        let mut root = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    let (_, end) = self.range(&span);
                    self.advance(end);
                    let (event, span) = self.next()?;
                    if root.is_none() {
                        root = Some(self.node(event, span, Slot::Root, false)?);
                    }
                }
                _ => {}
            }
        }
        let len = self.source.len();
        let empty_root = Node {
            kind: Kind::Scalar { empty: true },
            start: len,
            end: len,
            line: 1,
            col: 1,
            anchor: false,
            slot: Slot::Root,
            in_flow: false,
        };
        let root = match root {
            Some(node) if matches!(node.kind, Kind::Scalar { empty: true }) => empty_root,
            Some(node) => node,
            None => empty_root,
        };
        Ok(Tree {
            root,
            style: Style {
                map_step: self.map_step.unwrap_or(2),
                seq_offset: self.seq_offset.unwrap_or(0),
            },
        })
    }

    fn node(
        &mut self,
        event: Event<'a>,
        span: Span,
        slot: Slot,
        in_flow: bool,
    ) -> Result<Node, ProjectError> {
        let (start, end) = self.range(&span);
        let mut node = Node {
            kind: Kind::Scalar { empty: false },
            start,
            end,
            line: span.start.line(),
            col: span.start.col() + 1,
            anchor: false,
            slot,
            in_flow,
        };
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                self.advance(end);
                node.anchor = anchor > 0;
                if anchor > 0 {
                    self.anchored_text.insert(anchor, value.to_string());
                }
                let empty = value.is_empty()
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                    && anchor == 0
                    && start == end;
                if empty {
                    let at = match slot {
                        Slot::MapValue {
                            colon_end: Some(c), ..
                        } => c,
                        Slot::SeqItem { dash: Some(d), .. } => d + 1,
                        _ => start,
                    };
                    node.start = at;
                    node.end = at;
                } else if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) {
                    let double = style == ScalarStyle::DoubleQuoted;
                    if let Some(quote_end) = text::quoted_end(self.source, start, double) {
                        node.end = quote_end.min(end);
                    }
                } else if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    // The span runs into the next line's indentation; the value ends with
                    // its last written character.
                    let trimmed = self.source[start..end].trim_end_matches([' ', '\t', '\r', '\n']);
                    node.end = start + trimmed.len();
                }
                node.kind = Kind::Scalar { empty };
            }
            Event::Alias(_) => {
                self.advance(end);
                node.kind = Kind::Alias;
            }
            Event::MappingStart(anchor, tag) => {
                let has_props = anchor > 0 || tag.is_some();
                node.anchor = anchor > 0;
                let open = self.source[start..end].find('{').map(|i| start + i);
                if let Some(open) = open {
                    self.advance(open + 1);
                }
                let (entries, close) = self.entries(open.is_some(), in_flow)?;
                let flow = open.is_some();
                node.kind = Kind::Map {
                    flow,
                    inner: (open.map_or(start, |o| o + 1), close.0),
                    entries,
                };
                self.finish_collection(&mut node, flow, has_props, close);
            }
            Event::SequenceStart(anchor, tag) => {
                let has_props = anchor > 0 || tag.is_some();
                node.anchor = anchor > 0;
                let open = self.source[start..end].find('[').map(|i| start + i);
                if let Some(open) = open {
                    self.advance(open + 1);
                }
                let (items, close) = self.items(open.is_some(), in_flow)?;
                let flow = open.is_some();
                node.kind = Kind::Seq {
                    flow,
                    inner: (open.map_or(start, |o| o + 1), close.0),
                    items,
                };
                self.finish_collection(&mut node, flow, has_props, close);
            }
            other => return Err(self.error(&span, format!("unexpected {other:?}"))),
        }
        Ok(node)
    }

    /// Sets the range of a collection node once its children are known, and learns the
    /// document's indentation from block collections nested under keys.
    fn finish_collection(
        &mut self,
        node: &mut Node,
        flow: bool,
        has_props: bool,
        close: (usize, usize),
    ) {
        if flow {
            // The closing bracket's span may run on over a trailing comment.
            let bracket = matches!(self.source.as_bytes().get(close.0), Some(b'}' | b']'));
            node.end = if bracket { close.0 + 1 } else { close.1 };
            return;
        }
        let (first, last) = match &node.kind {
            Kind::Map { entries, .. } => (
                entries.first().map(|e| e.key_start),
                entries.last().map(|e| e.value.end),
            ),
            Kind::Seq { items, .. } => (
                items.first().map(|i| match i.slot {
                    Slot::SeqItem { dash: Some(d), .. } => d,
                    _ => i.start,
                }),
                items.last().map(|i| i.end),
            ),
            _ => (None, None),
        };
        // With properties (`&a`, `!!map`) the node starts at them; else at its first child.
        if !has_props || node.start == node.end {
            if let Some(first) = first {
                node.start = first;
            }
        }
        node.end = last.unwrap_or(node.start).max(node.start);
        if let (Slot::MapValue { key_col, .. }, Some(first)) = (node.slot, first) {
            let col = text::column(self.source, first);
            match node.kind {
                Kind::Map { .. } if col > key_col && self.map_step.is_none() => {
                    self.map_step = Some(col - key_col);
                }
                Kind::Seq { .. } if col >= key_col && self.seq_offset.is_none() => {
                    self.seq_offset = Some(col - key_col);
                }
                _ => {}
            }
        }
    }

    /// Reads mapping entries up to `MappingEnd`; returns them and the end event's range.
    fn entries(
        &mut self,
        flow: bool,
        in_flow: bool,
    ) -> Result<(Vec<Entry>, (usize, usize)), ProjectError> {
        let mut entries = Vec::new();
        loop {
            let (event, span) = self.next()?;
            let (key_start, key_end) = self.range(&span);
            let mut key_end = key_end;
            let key = match event {
                Event::MappingEnd => return Ok((entries, (key_start, key_end))),
                Event::Scalar(value, style, anchor, _) => {
                    if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) {
                        let double = style == ScalarStyle::DoubleQuoted;
                        if let Some(e) = text::quoted_end(self.source, key_start, double) {
                            key_end = e.min(key_end);
                        }
                    }
                    if anchor > 0 {
                        self.anchored_text.insert(anchor, value.to_string());
                    }
                    value.to_string()
                }
                Event::Alias(id) => self.anchored_text.get(&id).cloned().unwrap_or_default(),
                _ => return Err(self.error(
                    &span,
                    "mapping keys must be plain values (strings or numbers), not lists or mappings",
                )),
            };
            self.advance(key_end);
            let after = text::skip_blank(self.source, key_end);
            let colon_end = (self.source[after..].starts_with(':')).then_some(after + 1);
            if let Some(c) = colon_end {
                self.advance(c);
            }
            let slot = Slot::MapValue {
                key_col: text::column(self.source, key_start),
                colon_end,
            };
            let (event, span) = self.next()?;
            let value = self.node(event, span, slot, flow || in_flow)?;
            entries.push(Entry {
                key,
                key_start,
                value,
            });
        }
    }

    /// Reads sequence items up to `SequenceEnd`; returns them and the end event's range.
    fn items(
        &mut self,
        flow: bool,
        in_flow: bool,
    ) -> Result<(Vec<Node>, (usize, usize)), ProjectError> {
        let mut items = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::SequenceEnd) {
                return Ok((items, self.range(&span)));
            }
            let slot = if flow {
                Slot::FlowItem
            } else {
                let dash = self.find_dash();
                if let Some(d) = dash {
                    self.advance(d + 1);
                }
                Slot::SeqItem {
                    dash_col: dash.map_or(0, |d| text::column(self.source, d)),
                    dash,
                }
            };
            items.push(self.node(event, span, slot, flow || in_flow)?);
        }
    }

    /// The next `-` indicator after the cursor, skipping comments and other tokens
    /// (anchors and tags may contain a `-`, but never stand alone as one).
    fn find_dash(&self) -> Option<usize> {
        let bytes = self.source.as_bytes();
        let mut i = self.cursor;
        while i < bytes.len() {
            match bytes[i] {
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                b'#' => i = text::line_content_end(self.source, i).max(i + 1),
                b'-' if bytes
                    .get(i + 1)
                    .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) =>
                {
                    return Some(i)
                }
                _ => {
                    while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                        i += 1;
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(source: &str) -> Tree {
        build(source, Path::new("m.yml")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn entries(node: &Node) -> &[Entry] {
        match &node.kind {
            Kind::Map { entries, .. } => entries,
            other => panic!("not a map: {other:?}"),
        }
    }

    fn items(node: &Node) -> &[Node] {
        match &node.kind {
            Kind::Seq { items, .. } => items,
            other => panic!("not a seq: {other:?}"),
        }
    }

    #[test]
    fn byte_ranges_survive_non_ascii_text() {
        let src = "# é ü\nname: «x» # ö\nnext: [é, b]\n";
        let t = tree(src);
        let e = entries(&t.root);
        assert_eq!(&src[e[0].value.start..e[0].value.end], "«x»");
        assert_eq!(&src[e[1].value.start..e[1].value.end], "[é, b]");
        let list = items(&e[1].value);
        assert_eq!(&src[list[0].start..list[0].end], "é");
    }

    #[test]
    fn indicators_and_block_ranges() {
        let src = "ex:\n- name: x  # c\n  variant: y\n# gap\n- |\n  txt\n\nnext:\n";
        let t = tree(src);
        let e = entries(&t.root);
        let seq = &e[0].value;
        assert_eq!(
            &src[seq.start..seq.end],
            "- name: x  # c\n  variant: y\n# gap\n- |\n  txt"
        );
        let list = items(seq);
        assert_eq!(
            list[1].slot,
            Slot::SeqItem {
                dash_col: 0,
                dash: Some(38)
            }
        );
        assert_eq!(&src[38..41], "- |");
        assert!(matches!(e[1].value.kind, Kind::Scalar { empty: true }));
        assert_eq!(e[1].value.start, src.len() - 1);
        assert_eq!(t.style.seq_offset, 0);
    }

    #[test]
    fn style_is_learnt_from_the_document() {
        let t = tree("a:\n    b: 1\n    c:\n      - x\n");
        assert_eq!(
            t.style,
            Style {
                map_step: 4,
                seq_offset: 2
            }
        );
        let t = tree("a: 1\n");
        assert_eq!(
            t.style,
            Style {
                map_step: 2,
                seq_offset: 0
            }
        );
    }

    #[test]
    fn empty_documents_have_an_empty_root_at_the_end() {
        let src = "# only a comment\n";
        let t = tree(src);
        assert!(matches!(t.root.kind, Kind::Scalar { empty: true }));
        assert_eq!(t.root.start, src.len());
        let t = tree("---\n");
        assert!(matches!(t.root.kind, Kind::Scalar { empty: true }));
    }

    #[test]
    fn bom_and_crlf_keep_offsets_right() {
        let src = "\u{feff}a: 1\r\nb: é\r\n";
        let t = tree(src);
        let e = entries(&t.root);
        assert_eq!(&src[e[1].value.start..e[1].value.end], "é");
    }
}
