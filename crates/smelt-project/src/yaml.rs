//! YAML text → `serde_json::Value` plus a [`SourceMap`] of every node's position.
//!
//! Built on `saphyr-parser`'s event stream, which carries a span for every event (see
//! docs/decisions/0002-yaml-parsing.md). The aim is to read every file the way Meltano's
//! reader, `ruamel.yaml`'s round-trip loader, reads it:
//!
//! - scalars are resolved with ruamel's YAML 1.2 rules (or 1.1 after `%YAML 1.1`), see
//!   [`scalar`]; mapping keys become the text Python's `json` gives them (`1:` is `"1"`);
//! - flow collections and quoted values may continue on less-indented lines, see [`relax`];
//! - anchors (also on keys), aliases and `<<` merge keys work; duplicate keys and duplicate
//!   `<<` are refused, as ruamel does;
//! - control characters are refused up front, as ruamel's reader does.
//!
//! Input bombs are bounded: nesting depth, and the size aliases expand to (in nodes and in
//! bytes of keys and scalars), with the error at the alias that crosses the line.

#[cfg(test)]
mod corpus_tests;
mod relax;
mod scalar;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput};
use serde_json::{Map, Value};

use crate::error::{Location, ProjectError};
use crate::source_map::{pointer_push, SourceMap};
use relax::{LineShift, Relaxed};
use scalar::{key_identity, key_text, resolve_key, resolve_scalar, Schema};

/// Nesting deeper than this is refused instead of risking the stack.
const MAX_DEPTH: usize = 256;
/// Upper bound on nodes (aliases count their full size), against "billion laughs" documents.
const MAX_NODES: usize = 2_000_000;
/// Upper bound on the bytes of keys and scalars once aliases are expanded.
const MAX_EXPANDED_BYTES: usize = 64 * 1024 * 1024;

/// A parsed YAML document and the positions of its nodes.
#[derive(Debug, Clone)]
pub struct YamlDocument {
    /// The document as JSON; an empty file gives `Value::Null`.
    pub value: Value,
    /// Where each node is, keyed by JSON Pointer.
    pub source_map: SourceMap,
}

/// Parses one YAML document. `file` is the path shown in locations (usually relative to the
/// project root).
pub fn parse_yaml(text: &str, file: &Path) -> Result<YamlDocument, ProjectError> {
    // The parser is written to return errors, but a panic inside a third-party crate must still
    // not take the whole program down on bad user input.
    let outcome = std::panic::catch_unwind(|| load_document(text, file));
    match outcome {
        Ok(result) => result,
        Err(_) => Err(ProjectError::Yaml {
            location: Location::file_start(file),
            reason: "the YAML parser failed on this file".to_string(),
        }),
    }
}

/// Decodes a file's bytes as UTF-8 (what Meltano's reader expects), pointing at the first
/// byte that is not, so the user can find it.
pub(crate) fn decode_utf8(bytes: Vec<u8>, file: &Path) -> Result<String, ProjectError> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(err) => {
            let bytes = err.as_bytes();
            let at = err.utf8_error().valid_up_to();
            // The prefix is valid UTF-8, so this cannot fail; stay safe anyway.
            let prefix = std::str::from_utf8(&bytes[..at]).unwrap_or("");
            let (line, col) = line_col_after(prefix);
            let utf16 = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
            let hint = if utf16 {
                "the file looks like UTF-16; save it as UTF-8"
            } else {
                "save the file as UTF-8 (or replace the character at this position)"
            };
            Err(ProjectError::invalid(
                Some(Location::new(file, line, col)),
                format!(
                    "the file is not valid UTF-8: byte 0x{:02X} cannot start or continue a character here",
                    bytes.get(at).copied().unwrap_or(0)
                ),
                hint,
            ))
        }
    }
}

/// 1-based line and column of the position just after `prefix` (line breaks: `\n`, `\r\n`,
/// lone `\r`; columns count characters).
fn line_col_after(prefix: &str) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    let mut chars = prefix.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                col = 1;
            }
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    line += 1;
                    col = 1;
                }
            }
            _ => col += 1,
        }
    }
    (line, col)
}

fn load_document(text: &str, file: &Path) -> Result<YamlDocument, ProjectError> {
    check_characters(text, file)?;
    let schema = declared_schema(text, file)?;
    let original = match Loader::new(text, file, schema, None).load() {
        (Ok(doc), _) => return Ok(doc),
        (Err(err), _) => err,
    };
    // ruamel.yaml ignores indentation inside flow collections and quoted values; saphyr does
    // not. Re-indent those lines and try again (see relax.rs).
    let Some(relaxed) = relax::relax(text) else {
        return Err(original);
    };
    let (result, regions) = Loader::new(&relaxed.text, file, schema, Some(&relaxed)).load();
    let before = |line: usize| match &result {
        Ok(_) => true,
        Err(err) => err.location().is_some_and(|l| line < l.line),
    };
    let verified = relaxed.changed.iter().filter(|c| before(c.line)).all(|c| {
        regions
            .get(&c.opener)
            .is_some_and(|end| *end > c.line_start)
    });
    match result {
        Ok(doc) if verified => Ok(doc),
        Err(later) if verified && later.location() > original.location() => Err(later),
        _ => Err(original),
    }
}

/// Refuses characters ruamel's reader refuses (C0 and C1 controls other than tab and line
/// breaks, DEL, U+FFFE, U+FFFF), naming the character and where it is.
fn check_characters(text: &str, file: &Path) -> Result<(), ProjectError> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{fffd}')
            || c >= '\u{10000}'
    };
    let Some((at, bad)) = text.char_indices().find(|(_, c)| !allowed(*c)) else {
        return Ok(());
    };
    let (line, col) = line_col_after(&text[..at]);
    let code = bad as u32;
    let reason = match bad {
        '\0' => "the file contains a NUL byte (U+0000); YAML files cannot hold one".to_string(),
        '\u{fffe}' | '\u{ffff}' => {
            format!("the file contains the non-character U+{code:04X}, which YAML does not allow")
        }
        _ => format!(
            "the file contains the control character U+{code:04X}{}, which YAML does not allow",
            control_name(bad)
        ),
    };
    Err(ProjectError::Yaml {
        location: Location::new(file, line, col),
        reason,
    })
}

fn control_name(c: char) -> &'static str {
    match c {
        '\u{7}' => " (BEL)",
        '\u{8}' => " (backspace)",
        '\u{b}' => " (vertical tab)",
        '\u{c}' => " (form feed)",
        '\u{1b}' => " (ESC)",
        '\u{7f}' => " (DEL)",
        _ => "",
    }
}

/// The `%YAML` version the file declares before its first document, as the scalar rules to
/// use. ruamel knows 1.1 and 1.2 only.
fn declared_schema(text: &str, file: &Path) -> Result<Schema, ProjectError> {
    for (index, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix("%YAML") else {
            if line.starts_with('%') {
                continue;
            }
            break;
        };
        let version = rest.split_whitespace().next().unwrap_or("");
        return match version {
            "1.1" => Ok(Schema::Yaml11),
            "1.2" => Ok(Schema::Yaml12),
            other => Err(ProjectError::Yaml {
                location: Location::new(file, index + 1, 1),
                reason: format!("unsupported YAML version `{other}` in the %YAML directive"),
            }),
        };
    }
    Ok(Schema::Yaml12)
}

/// An anchored node and what repeating it costs.
struct Anchored {
    value: Value,
    nodes: usize,
    bytes: usize,
}

struct Loader<'a> {
    parser: Parser<'a, StrInput<'a>>,
    file: PathBuf,
    schema: Schema,
    map: SourceMap,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    bytes: usize,
    /// Set when reading relaxed text: maps positions back to the original lines.
    shifts: Option<&'a HashMap<usize, LineShift>>,
    /// Opening bracket or quote → end, as character indexes, of every flow collection and
    /// quoted scalar; kept when reading relaxed text, to check the relaxation.
    regions: HashMap<usize, usize>,
    /// The relaxed text's characters (empty otherwise), to find those brackets and quotes.
    chars: Vec<char>,
}

/// Entries brought in by `<<` merge keys, applied once the mapping is complete.
struct PendingMerge {
    sources: Vec<Map<String, Value>>,
    seen: bool,
}

impl<'a> Loader<'a> {
    fn new(text: &'a str, file: &Path, schema: Schema, relaxed: Option<&'a Relaxed>) -> Loader<'a> {
        Loader {
            parser: Parser::new_from_str(text),
            file: file.to_path_buf(),
            schema,
            map: SourceMap::new(),
            anchors: HashMap::new(),
            nodes: 0,
            bytes: 0,
            shifts: relaxed.map(|r| &r.shifts),
            regions: HashMap::new(),
            chars: relaxed
                .map(|r| r.text.chars().collect())
                .unwrap_or_default(),
        }
    }

    /// A 1-based location from a parser line and 0-based column, in the original text.
    fn position(&self, line: usize, col: usize) -> Location {
        let col = match self.shifts.and_then(|s| s.get(&line)) {
            Some(shift) => shift.original_col(col),
            None => col,
        };
        Location::new(self.file.clone(), line, col + 1)
    }

    fn location(&self, span: &Span) -> Location {
        self.position(span.start.line(), span.start.col())
    }

    fn error(&self, span: &Span, reason: impl Into<String>) -> ProjectError {
        ProjectError::Yaml {
            location: self.location(span),
            reason: reason.into(),
        }
    }

    /// Where a flow collection's bracket is: its start event's span covers any anchor or tag
    /// (which cannot hold brackets), the `[` or `{`, and possibly a comment after it. Block
    /// collections have empty start spans, so they give `None`.
    fn flow_bracket(&self, start: &Span) -> Option<usize> {
        let end = start.end.index().min(self.chars.len());
        (start.start.index()..end).find(|i| matches!(self.chars[*i], '[' | '{'))
    }

    /// Just after the `]` or `}` that closes a flow collection. The end event's span is not
    /// always on the bracket (after a trailing `,` it is on the comma), so look for it.
    fn closing_bracket_end(&self, end: &Span) -> usize {
        (end.start.index()..self.chars.len())
            .find(|i| matches!(self.chars[*i], ']' | '}'))
            .map_or(end.end.index(), |i| i + 1)
    }

    /// Where a quoted scalar's opening quote is (its span may start at an anchor or tag).
    fn opening_quote(&self, span: &Span, style: ScalarStyle) -> Option<usize> {
        let quote = match style {
            ScalarStyle::SingleQuoted => '\'',
            ScalarStyle::DoubleQuoted => '"',
            _ => return None,
        };
        let start = span.start.index();
        let end = span.end.index().min(self.chars.len());
        (start..end).find(|i| self.chars[*i] == quote)
    }

    fn track_region(&mut self, opener: Option<usize>, end: usize) {
        if let Some(opener) = opener {
            self.regions.insert(opener, end);
        }
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), ProjectError> {
        match self.parser.next_event() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(err)) => {
                let mark = err.marker();
                Err(ProjectError::Yaml {
                    location: self.position(mark.line(), mark.col()),
                    reason: err.info().to_string(),
                })
            }
            None => Err(ProjectError::Yaml {
                location: Location::file_start(self.file.clone()),
                reason: "unexpected end of input".to_string(),
            }),
        }
    }

    /// Reads the document; also returns the regions seen (for checking a relaxation).
    fn load(mut self) -> (Result<YamlDocument, ProjectError>, HashMap<usize, usize>) {
        let result = self.load_value();
        let regions = std::mem::take(&mut self.regions);
        let doc = result.map(|value| YamlDocument {
            value,
            source_map: std::mem::take(&mut self.map),
        });
        (doc, regions)
    }

    fn load_value(&mut self) -> Result<Value, ProjectError> {
        let mut value = Value::Null;
        let mut documents = 0usize;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(self.error(
                            &span,
                            "found a second YAML document (`---`); a project file holds exactly one",
                        ));
                    }
                    let (event, span) = self.next()?;
                    value = self.node(event, span, String::new(), 0)?;
                }
                other => {
                    return Err(
                        self.error(&span, format!("unexpected {other:?} outside a document"))
                    )
                }
            }
        }
        Ok(value)
    }

    /// Adds to the document's expanded size; refuses documents that grow too big.
    fn count(&mut self, nodes: usize, bytes: usize, span: &Span) -> Result<(), ProjectError> {
        self.nodes = self.nodes.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > MAX_EXPANDED_BYTES {
            return Err(self.error(
                span,
                format!(
                    "aliases expand this document to more than {} MiB of keys and values",
                    MAX_EXPANDED_BYTES / (1024 * 1024)
                ),
            ));
        }
        if self.nodes > MAX_NODES {
            return Err(self.error(
                span,
                format!("aliases expand this document to more than {MAX_NODES} nodes"),
            ));
        }
        Ok(())
    }

    fn node(
        &mut self,
        event: Event<'a>,
        span: Span,
        pointer: String,
        depth: usize,
    ) -> Result<Value, ProjectError> {
        if depth > MAX_DEPTH {
            return Err(self.error(&span, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let location = self.location(&span);
        self.map.insert_value(pointer.clone(), location);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, text.len(), &span)?;
                self.track_region(self.opening_quote(&span, style), span.end.index());
                let value = resolve_scalar(&text, style, tag.as_deref(), self.schema);
                self.remember(anchor, &value, (1, text.len()));
                Ok(value)
            }
            Event::SequenceStart(anchor, _tag) => {
                let start = (self.nodes, self.bytes);
                self.count(1, 0, &span)?;
                let bracket = self.flow_bracket(&span);
                self.track_region(bracket, usize::MAX);
                let mut items = Vec::new();
                loop {
                    let (event, item_span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        if bracket.is_some() {
                            let end = self.closing_bracket_end(&item_span);
                            self.track_region(bracket, end);
                        }
                        break;
                    }
                    let child = pointer_push(&pointer, &items.len().to_string());
                    items.push(self.node(event, item_span, child, depth + 1)?);
                }
                let value = Value::Array(items);
                self.remember(anchor, &value, (self.nodes - start.0, self.bytes - start.1));
                Ok(value)
            }
            Event::MappingStart(anchor, _tag) => {
                let start = (self.nodes, self.bytes);
                self.count(1, 0, &span)?;
                let bracket = self.flow_bracket(&span);
                self.track_region(bracket, usize::MAX);
                let (map, end) = self.mapping(&pointer, depth)?;
                if bracket.is_some() {
                    let end = self.closing_bracket_end(&end);
                    self.track_region(bracket, end);
                }
                let value = Value::Object(map);
                self.remember(anchor, &value, (self.nodes - start.0, self.bytes - start.1));
                Ok(value)
            }
            Event::Alias(id) => self.alias(id, &span),
            other => Err(self.error(&span, format!("unexpected {other:?}"))),
        }
    }

    /// The value an alias repeats, counted at its full size.
    fn alias(&mut self, id: usize, span: &Span) -> Result<Value, ProjectError> {
        let Some(anchored) = self.anchors.get(&id) else {
            return Err(self.error(span, "alias refers to an anchor that is not defined yet"));
        };
        let (nodes, bytes) = (anchored.nodes, anchored.bytes);
        self.count(nodes, bytes, span)?;
        Ok(self
            .anchors
            .get(&id)
            .map(|a| a.value.clone())
            .unwrap_or(Value::Null))
    }

    fn remember(&mut self, anchor: usize, value: &Value, (nodes, bytes): (usize, usize)) {
        if anchor > 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    value: value.clone(),
                    nodes: nodes.max(1),
                    bytes,
                },
            );
        }
    }

    /// Reads a mapping's entries up to its end; returns them and the end event's span.
    fn mapping(
        &mut self,
        pointer: &str,
        depth: usize,
    ) -> Result<(Map<String, Value>, Span), ProjectError> {
        let mut out = Map::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut merge = PendingMerge {
            sources: Vec::new(),
            seen: false,
        };
        let end = loop {
            let (event, key_span) = self.next()?;
            let (key_value, key, is_merge) = match event {
                Event::MappingEnd => break key_span,
                Event::Scalar(text, style, anchor, tag) => {
                    self.count(1, text.len(), &key_span)?;
                    self.track_region(self.opening_quote(&key_span, style), key_span.end.index());
                    let is_merge = text == "<<" && style == ScalarStyle::Plain && tag.is_none();
                    let (value, key) = resolve_key(&text, style, tag.as_deref(), self.schema);
                    self.remember(anchor, &value, (1, text.len()));
                    (value, key, is_merge)
                }
                Event::Alias(id) => {
                    let value = self.alias(id, &key_span)?;
                    if value.is_object() || value.is_array() {
                        return Err(self.error(
                            &key_span,
                            "mapping keys must be plain values (strings or numbers), not lists or mappings",
                        ));
                    }
                    let key = key_text(&value);
                    (value, key, false)
                }
                _ => return Err(self.error(
                    &key_span,
                    "mapping keys must be plain values (strings or numbers), not lists or mappings",
                )),
            };
            let (value_event, value_span) = self.next()?;
            if is_merge {
                if merge.seen {
                    return Err(self.error(
                        &key_span,
                        "duplicate `<<` merge key in this mapping; merge several mappings with `<<: [*a, *b]`",
                    ));
                }
                merge.seen = true;
                let child = pointer_push(pointer, "<<");
                let merged = self.node(value_event, value_span, child, depth + 1)?;
                self.collect_merge(merged, &value_span, &mut merge)?;
                continue;
            }
            let identity = key_identity(&key_value);
            if let Some(first_line) = seen.get(&identity) {
                return Err(self.error(
                    &key_span,
                    format!("duplicate key `{key}` (first defined on line {first_line}); remove one of them"),
                ));
            }
            let key_location = self.location(&key_span);
            if out.contains_key(&key) {
                return Err(self.error(
                    &key_span,
                    format!("duplicate key `{key}`: it is written once as text and once as a number, boolean or null; quote both or neither"),
                ));
            }
            seen.insert(identity, key_location.line);
            let child = pointer_push(pointer, &key);
            self.map.insert_key(child.clone(), key_location);
            let value = self.node(value_event, value_span, child, depth + 1)?;
            out.insert(key, value);
        };
        for source in merge.sources {
            for (k, v) in source {
                if !out.contains_key(&k) {
                    out.insert(k, v);
                }
            }
        }
        Ok((out, end))
    }

    fn collect_merge(
        &self,
        merged: Value,
        span: &Span,
        merge: &mut PendingMerge,
    ) -> Result<(), ProjectError> {
        match merged {
            Value::Object(map) => merge.sources.push(map),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(map) => merge.sources.push(map),
                        _ => {
                            return Err(self.error(
                                span,
                                "`<<` merge list entries must be mappings (use `<<: [*a, *b]`)",
                            ))
                        }
                    }
                }
            }
            _ => {
                return Err(self.error(
                    span,
                    "`<<` merge key needs a mapping or a list of mappings (e.g. `<<: *defaults`)",
                ))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> YamlDocument {
        match parse_yaml(text, Path::new("meltano.yml")) {
            Ok(doc) => doc,
            Err(e) => panic!("parse failed: {e}"),
        }
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let doc = parse(
            "a: 1\nb: -7\nc: 1.5\nd: true\ne: yes\nf: ~\ng: '1'\nh: 104_857_600\ni: 0x1F\nj: 01234\nk: 2020-01-01\nl: .inf\nm: 1e3\nn:\no: on\n",
        );
        assert_eq!(
            doc.value,
            json!({"a": 1, "b": -7, "c": 1.5, "d": true, "e": "yes", "f": null, "g": "1",
                   "h": 104857600, "i": 31, "j": 1234, "k": "2020-01-01", "l": ".inf",
                   "m": 1000.0, "n": null, "o": "on"})
        );
    }

    #[test]
    fn records_locations_of_values_and_keys() {
        let doc = parse("plugins:\n  extractors:\n  - name: tap-x\n    config:\n      host: db\n");
        let loc = doc
            .source_map
            .get("/plugins/extractors/0/config/host")
            .cloned();
        assert_eq!(loc, Some(Location::new("meltano.yml", 5, 13)));
        let key = doc
            .source_map
            .key("/plugins/extractors/0/config/host")
            .cloned();
        assert_eq!(key, Some(Location::new("meltano.yml", 5, 7)));
        let item = doc.source_map.get("/plugins/extractors/0").cloned();
        assert_eq!(item, Some(Location::new("meltano.yml", 3, 5)));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc = parse("base: &b\n  host: h\n  port: 1\nuse:\n  <<: *b\n  port: 2\nlist: [*b]\n");
        assert_eq!(doc.value["use"], json!({"port": 2, "host": "h"}));
        assert_eq!(doc.value["list"][0]["host"], json!("h"));
    }

    #[test]
    fn duplicate_keys_are_rejected_with_location() {
        let err = parse_yaml("a: 1\nb: 2\na: 3\n", Path::new("meltano.yml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("meltano.yml:3:1: could not parse YAML: duplicate key `a`"),
            "{err}"
        );
    }

    #[test]
    fn broken_yaml_reports_file_line_col_and_hint() {
        let err = parse_yaml(
            "plugins:\n  extractors:\n  - name: x\n   bad: [\n",
            Path::new("meltano.yml"),
        );
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.starts_with("meltano.yml:"), "{text}");
        assert!(text.contains("could not parse YAML"), "{text}");
        assert!(text.contains("\n  hint: "), "{text}");
    }

    #[test]
    fn tab_indentation_is_an_error_not_a_panic() {
        let err = parse_yaml("a:\n\tb: 1\n", Path::new("m.yml"));
        assert!(err.is_err());
    }

    #[test]
    fn multiple_documents_are_rejected() {
        let err = parse_yaml("a: 1\n---\nb: 2\n", Path::new("m.yml"));
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("second YAML document"), "{text}");
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse("").value, Value::Null);
        assert_eq!(parse("# only a comment\n").value, Value::Null);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse_yaml(&text, Path::new("m.yml"));
        assert!(err.is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(parse_yaml(&text, Path::new("m.yml")).is_err());
    }

    fn error_text(text: &str) -> String {
        match parse_yaml(text, Path::new("m.yml")) {
            Ok(doc) => panic!("expected an error, got {}", doc.value),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn flow_collections_may_close_left_of_their_key() {
        let text = "plugins:\n  extractors:\n  - name: tap-x\n    select: [\n      \"users.*\",\n      \"orders.*\"\n    ]\n    metadata: {\n    users: {replication-method: FULL_TABLE}\n  }\n";
        let doc = parse(text);
        assert_eq!(
            doc.value["plugins"]["extractors"][0],
            json!({"name": "tap-x", "select": ["users.*", "orders.*"],
                   "metadata": {"users": {"replication-method": "FULL_TABLE"}}})
        );
        // Positions are those of the original text, not of the re-indented one.
        let users = doc
            .source_map
            .key("/plugins/extractors/0/metadata/users")
            .cloned();
        assert_eq!(users, Some(Location::new("meltano.yml", 9, 5)));
        let mode = doc
            .source_map
            .get("/plugins/extractors/0/metadata/users/replication-method")
            .cloned();
        assert_eq!(mode, Some(Location::new("meltano.yml", 9, 33)));
    }

    #[test]
    fn quoted_values_may_continue_at_any_indentation() {
        let doc = parse("a:\n  b: \"one\n two\nthree\"\n  c: 'x\ny'\n");
        assert_eq!(doc.value, json!({"a": {"b": "one two three", "c": "x y"}}));
    }

    #[test]
    fn errors_after_a_relaxed_flow_keep_their_real_position() {
        // The flow collection needs relaxing; the real error is the bad key on line 5.
        let err = error_text("a: [\nx,\n]\nb: 1\n  c: 2\n");
        assert!(err.starts_with("m.yml:5:4: could not parse YAML:"), "{err}");
        // Relaxing cannot fix text that is broken anyway: the first error is reported.
        let err = error_text("a: [x,\ny\nb: 1\n");
        assert!(err.starts_with("m.yml:"), "{err}");
    }

    #[test]
    fn keys_read_as_meltano_reads_them() {
        let doc = parse("2: a\n~: b\ntrue: c\n0x10: d\n'0x11': e\n");
        assert_eq!(
            doc.value,
            json!({"2": "a", "null": "b", "true": "c", "16": "d", "0x11": "e"})
        );
        assert!(doc.source_map.key("/16").is_some());
        // 1 and 0x1 are the same key for ruamel; so are true and 1.
        assert!(error_text("1: a\n0x1: b\n").contains("duplicate key `1`"));
        assert!(error_text("true: a\n1: b\n").contains("duplicate key"));
        // "1" and 1 differ for ruamel but would be one JSON key.
        assert!(error_text("1: a\n'1': b\n").contains("once as text"));
    }

    #[test]
    fn anchors_on_keys_and_duplicate_merges() {
        assert_eq!(parse("&k a: 1\nb: *k\n").value, json!({"a": 1, "b": "a"}));
        let err = error_text("x: &x {a: 1}\ny:\n  <<: *x\n  <<: *x\n");
        assert!(err.starts_with("m.yml:4:3:"), "{err}");
        assert!(err.contains("duplicate `<<`"), "{err}");
    }

    #[test]
    fn yaml_version_directive_selects_the_rules() {
        let doc = parse("%YAML 1.1\n---\na: yes\nb: 017\nn: 1\n");
        assert_eq!(doc.value, json!({"a": true, "b": 15, "false": 1}));
        assert!(error_text("%YAML 1.3\n---\na: 1\n").contains("unsupported YAML version `1.3`"));
    }

    #[test]
    fn alias_expansion_is_bounded_by_bytes_at_the_alias() {
        // Few nodes, but each alias repeats 1 MiB: with the anchor's own 1 MiB and the keys,
        // the 63rd alias (line 65) crosses 64 MiB.
        let mut text = format!("big: &b {}\nlist:\n", "x".repeat(1024 * 1024));
        for _ in 0..70 {
            text.push_str("- *b\n");
        }
        let err = error_text(&text);
        assert!(err.starts_with("m.yml:65:3: could not parse YAML: aliases expand this document to more than 64 MiB"), "{}", &err[..200.min(err.len())]);
        assert!(err.contains("hint: each alias"), "{err}");
        // Below the bound it loads.
        let mut text = format!("big: &b {}\nlist:\n", "x".repeat(1024 * 1024));
        for _ in 0..10 {
            text.push_str("- *b\n");
        }
        assert_eq!(
            parse(&text).value["list"].as_array().map(Vec::len),
            Some(10)
        );
    }

    #[test]
    fn control_characters_are_named_with_their_position() {
        let err = error_text("a: 1\nb: x\u{0}y\n");
        assert!(
            err.starts_with("m.yml:2:5: could not parse YAML: the file contains a NUL byte"),
            "{err}"
        );
        assert!(!err.contains("tab"), "{err}");
        assert!(err.contains("UTF-16"), "{err}");
        let err = error_text("# c\r\na: \u{1b}[0m\n");
        assert!(err.starts_with("m.yml:2:4: could not parse YAML: the file contains the control character U+001B (ESC)"), "{err}");
        assert!(err.contains("hint: remove the character"), "{err}");
        let err = error_text("a: \u{85}\u{9f}\n");
        assert!(err.contains("U+009F"), "{err}");
        // Tabs, NEL and escapes in double quotes are fine.
        assert_eq!(
            parse("a: \"\\x01\"\nb: \"\t\"\n").value,
            json!({"a": "\u{1}", "b": "\t"})
        );
    }

    #[test]
    fn invalid_utf8_is_reported_at_the_first_bad_byte() {
        let err = decode_utf8(b"a: 1\nb: caf\xe9\n".to_vec(), Path::new("inc.yml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("inc.yml:2:7: the file is not valid UTF-8: byte 0xE9"),
            "{err}"
        );
        assert!(err.contains("hint: save the file as UTF-8"), "{err}");
        let err = decode_utf8(b"\xff\xfea\x00".to_vec(), Path::new("m.yml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("m.yml:1:1:") && err.contains("UTF-16"),
            "{err}"
        );
        assert_eq!(
            decode_utf8(b"ok".to_vec(), Path::new("m.yml"))
                .ok()
                .as_deref(),
            Some("ok")
        );
    }

    #[test]
    fn every_error_gets_a_hint_that_fits() {
        let cases = [
            ("a: \"\\q\"\n", "backslash starts an escape"),
            ("a: \"open\n", "not closed"),
            ("a: [x, y\n", "not closed"),
            ("a: 1\n\u{feff}b: 2\n", "byte order mark"),
            ("a: *nope\n", "define the anchor"),
            ("a:\tb\n", "space after `:`"),
            ("a: 1\na: 2\n", "keep one of the duplicated keys"),
            ("a: 1\n---\nb: 2\n", "own file"),
            ("a:\n  <<: 1\n", "`<<: *anchor`"),
            ("? [a]\n: 1\n", "plain or quoted string"),
            ("a: - b\n", "start it on the next line"),
            ("a:\n\tb: 1\n", "spaces, not tabs"),
            ("a:\n  b: 1\n c: 2\n", "align this line"),
            ("a: @x\n", "quote it"),
        ];
        for (text, want) in cases {
            let err = error_text(text);
            let hint = err.split("\n  hint: ").nth(1).unwrap_or("");
            assert!(hint.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn tags_are_honoured() {
        let doc = parse("a: !!str 12\nb: !custom 3\n");
        assert_eq!(doc.value, json!({"a": "12", "b": 3}));
    }
}
