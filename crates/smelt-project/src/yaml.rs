//! YAML text → `serde_json::Value` plus a [`SourceMap`] of every node's position.
//!
//! Built on `saphyr-parser`'s event stream, which carries a span for every event (see
//! docs/decisions/0002-yaml-parsing.md). Scalars are resolved with the YAML 1.2 core schema,
//! which is what Meltano's `ruamel.yaml` loader uses, so `yes`/`on` stay strings. Anchors,
//! aliases and `<<` merge keys are supported; duplicate keys are rejected as `ruamel.yaml` does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput, Tag};
use serde_json::{Map, Number, Value};

use crate::error::{Location, ProjectError};
use crate::source_map::{pointer_push, SourceMap};

/// Nesting deeper than this is refused instead of risking the stack.
const MAX_DEPTH: usize = 256;
/// Upper bound on nodes (aliases count their full size), against "billion laughs" documents.
const MAX_NODES: usize = 2_000_000;

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
    let outcome = std::panic::catch_unwind(|| Loader::new(text, file).load());
    match outcome {
        Ok(result) => result,
        Err(_) => Err(ProjectError::Yaml {
            location: Location::file_start(file),
            reason: "the YAML parser failed on this file".to_string(),
        }),
    }
}

struct Loader<'a> {
    parser: Parser<'a, StrInput<'a>>,
    file: PathBuf,
    map: SourceMap,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
}

/// Entries brought in by `<<` merge keys, applied once the mapping is complete.
struct PendingMerge {
    sources: Vec<Map<String, Value>>,
}

impl<'a> Loader<'a> {
    fn new(text: &'a str, file: &Path) -> Loader<'a> {
        Loader {
            parser: Parser::new_from_str(text),
            file: file.to_path_buf(),
            map: SourceMap::new(),
            anchors: HashMap::new(),
            nodes: 0,
        }
    }

    fn location(&self, span: &Span) -> Location {
        Location::new(self.file.clone(), span.start.line(), span.start.col() + 1)
    }

    fn error(&self, span: &Span, reason: impl Into<String>) -> ProjectError {
        ProjectError::Yaml {
            location: self.location(span),
            reason: reason.into(),
        }
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), ProjectError> {
        match self.parser.next_event() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(err)) => {
                let mark = err.marker();
                Err(ProjectError::Yaml {
                    location: Location::new(self.file.clone(), mark.line(), mark.col() + 1),
                    reason: err.info().to_string(),
                })
            }
            None => Err(ProjectError::Yaml {
                location: Location::file_start(self.file.clone()),
                reason: "unexpected end of input".to_string(),
            }),
        }
    }

    fn load(mut self) -> Result<YamlDocument, ProjectError> {
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
        Ok(YamlDocument {
            value,
            source_map: self.map,
        })
    }

    fn count(&mut self, n: usize, span: &Span) -> Result<(), ProjectError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(self.error(
                span,
                format!("document expands to more than {MAX_NODES} nodes (aliases included)"),
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
                self.count(1, &span)?;
                let value = resolve_scalar(&text, style, tag.as_deref());
                self.remember(anchor, &value, 1);
                Ok(value)
            }
            Event::SequenceStart(anchor, _tag) => {
                let start = self.nodes;
                self.count(1, &span)?;
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    let child = pointer_push(&pointer, &items.len().to_string());
                    items.push(self.node(event, span, child, depth + 1)?);
                }
                let value = Value::Array(items);
                self.remember(anchor, &value, self.nodes - start);
                Ok(value)
            }
            Event::MappingStart(anchor, _tag) => {
                let start = self.nodes;
                self.count(1, &span)?;
                let value = Value::Object(self.mapping(&pointer, depth)?);
                self.remember(anchor, &value, self.nodes - start);
                Ok(value)
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((value, size)) => {
                    let (value, size) = (value.clone(), *size);
                    self.count(size, &span)?;
                    Ok(value)
                }
                None => Err(self.error(&span, "alias refers to an anchor that is not defined yet")),
            },
            other => Err(self.error(&span, format!("unexpected {other:?}"))),
        }
    }

    fn remember(&mut self, anchor: usize, value: &Value, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), size.max(1)));
        }
    }

    fn mapping(&mut self, pointer: &str, depth: usize) -> Result<Map<String, Value>, ProjectError> {
        let mut out = Map::new();
        let mut key_lines: HashMap<String, usize> = HashMap::new();
        let mut merge = PendingMerge {
            sources: Vec::new(),
        };
        loop {
            let (event, key_span) = self.next()?;
            let (key, is_merge) = match event {
                Event::MappingEnd => break,
                Event::Scalar(text, style, _, _) => {
                    let is_merge = text == "<<" && style == ScalarStyle::Plain;
                    (text.into_owned(), is_merge)
                }
                Event::Alias(id) => match self.anchors.get(&id) {
                    Some((Value::String(s), _)) => (s.clone(), false),
                    Some((v, _)) if !v.is_object() && !v.is_array() => (scalar_text(v), false),
                    _ => {
                        return Err(self.error(
                            &key_span,
                            "mapping keys must be plain values (strings or numbers)",
                        ))
                    }
                },
                _ => return Err(self.error(
                    &key_span,
                    "mapping keys must be plain values (strings or numbers), not lists or mappings",
                )),
            };
            let (value_event, value_span) = self.next()?;
            if is_merge {
                let child = pointer_push(pointer, "<<");
                let merged = self.node(value_event, value_span, child, depth + 1)?;
                self.collect_merge(merged, &value_span, &mut merge)?;
                continue;
            }
            if let Some(first_line) = key_lines.get(&key) {
                return Err(self.error(
                    &key_span,
                    format!("duplicate key `{key}` (first defined on line {first_line}); remove one of them"),
                ));
            }
            key_lines.insert(key.clone(), key_span.start.line());
            let child = pointer_push(pointer, &key);
            let key_location = self.location(&key_span);
            self.map.insert_key(child.clone(), key_location);
            let value = self.node(value_event, value_span, child, depth + 1)?;
            out.insert(key, value);
        }
        for source in merge.sources {
            for (k, v) in source {
                if !out.contains_key(&k) {
                    out.insert(k, v);
                }
            }
        }
        Ok(out)
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

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

/// Resolves a scalar's text to a JSON value following the YAML 1.2 core schema.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() || tag.handle == "!!" {
            match tag.suffix.as_str() {
                "str" | "binary" | "timestamp" => return Value::String(text.to_string()),
                "null" => return Value::Null,
                "bool" | "int" | "float" => {
                    return resolve_plain(text).unwrap_or_else(|| Value::String(text.to_string()))
                }
                _ => {}
            }
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    resolve_plain(text).unwrap_or_else(|| Value::String(text.to_string()))
}

/// The core-schema meaning of a plain scalar, or `None` when it is just a string.
fn resolve_plain(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    parse_int(text)
        .map(Value::Number)
        .or_else(|| parse_float(text).map(Value::Number))
}

fn split_sign(text: &str) -> (bool, &str) {
    if let Some(rest) = text.strip_prefix('-') {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix('+') {
        (false, rest)
    } else {
        (false, text)
    }
}

/// Digits with `_` separators (as `ruamel.yaml` accepts: `104_857_600`), never leading.
fn clean_digits(body: &str, radix: u32) -> Option<String> {
    if body.is_empty() || body.starts_with('_') {
        return None;
    }
    if !body.chars().all(|c| c == '_' || c.is_digit(radix)) {
        return None;
    }
    Some(body.chars().filter(|c| *c != '_').collect())
}

fn parse_int(text: &str) -> Option<Number> {
    let (negative, body) = split_sign(text);
    let (digits, radix) = if let Some(hex) = body.strip_prefix("0x") {
        (clean_digits(hex, 16)?, 16)
    } else if let Some(oct) = body.strip_prefix("0o") {
        (clean_digits(oct, 8)?, 8)
    } else {
        let digits = clean_digits(body, 10)?;
        // A leading zero (zip codes, account numbers) is kept as text rather than guessed at.
        if digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        (digits, 10)
    };
    let magnitude = u64::from_str_radix(&digits, radix).ok();
    match (negative, magnitude) {
        (false, Some(m)) => Some(Number::from(m)),
        (true, Some(m)) if m <= i64::MAX as u64 + 1 => {
            Some(Number::from((m as i128).wrapping_neg() as i64))
        }
        _ if radix == 10 => {
            // Too large for 64 bits: keep the value as a float, like JSON parsers do.
            let f: f64 = format!("{}{}", if negative { "-" } else { "" }, digits)
                .parse()
                .ok()?;
            Number::from_f64(f)
        }
        _ => None,
    }
}

fn parse_float(text: &str) -> Option<Number> {
    let (_, body) = split_sign(text);
    // Core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let int_ok = int_part.is_empty() || clean_digits(int_part, 10).is_some();
    let frac_ok = match frac_part {
        Some(f) => f.is_empty() || f.chars().all(|c| c.is_ascii_digit()),
        None => true,
    };
    let has_digits = !int_part.is_empty() || frac_part.is_some_and(|f| !f.is_empty());
    let exp_ok = match exponent {
        Some(e) => {
            let (_, digits) = split_sign(e);
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        }
        None => true,
    };
    if !(int_ok && frac_ok && has_digits && exp_ok) {
        return None;
    }
    if frac_part.is_none() && exponent.is_none() {
        return None; // that would have been an integer
    }
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let f: f64 = cleaned.parse().ok()?;
    // .inf and .nan have no JSON form; they stay strings (resolve_plain's caller does that).
    Number::from_f64(f)
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
                   "h": 104857600, "i": 31, "j": "01234", "k": "2020-01-01", "l": ".inf",
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

    #[test]
    fn tags_are_honoured() {
        let doc = parse("a: !!str 12\nb: !custom 3\n");
        assert_eq!(doc.value, json!({"a": "12", "b": 3}));
    }
}
