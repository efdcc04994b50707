//! One record through one map, written straight to the output: the SDK's `transform` (filter,
//! `record.copy()` or only the key properties, then each property entry in order) and
//! `flatten_record`, on raw property values so that untouched values are copied as they came.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};

use serde_json::{Map, Value as Json};
use smelt_pyexpr::{EvalError, Expr, Value};

use crate::config::{Flattening, MapperConfig, PropertyDef};
use crate::error::MapError;
use crate::flatten::flatten_key;
use crate::names::{member, RecordNames};
use crate::raw::{split_object, write_compact_as_string, Member};
use crate::stream_map::{MapKind, StreamMap};

/// A property of the mapped record: copied from the input or computed.
enum Slot<'a> {
    Raw(&'a str),
    Computed(Value),
}

/// A failure while mapping a record: an expression error or an input value that is not JSON.
pub(crate) enum RecordError {
    /// An expression failed.
    Map(MapError),
    /// A property value is not valid JSON.
    Input(String),
}

/// Maps `members` (the split record) through `map` and appends the `"record":{...}` object's
/// text to `out`. Returns false (and writes nothing) when the filter drops the record or
/// nothing is left of it.
pub(crate) fn write_mapped(
    config: &MapperConfig,
    map: &StreamMap,
    record_text: &str,
    members: &[Member<'_>],
    out: &mut Vec<u8>,
) -> Result<bool, RecordError> {
    let record_value = OnceCell::new();
    let bad_value = RefCell::new(None);
    let names = |self_raw| RecordNames {
        members,
        record_text,
        record_value: &record_value,
        bad_value: &bad_value,
        config: &config.map_config,
        stream: &map.alias_value,
        original: &map.original_value,
        fake: &config.fake,
        self_raw,
    };
    let eval = |expr: &Expr, target: &dyn Fn() -> String, self_raw| {
        let result = expr.eval(&names(self_raw));
        if let Some(problem) = bad_value.borrow_mut().take() {
            return Err(RecordError::Input(problem));
        }
        result.map_err(|error: EvalError| {
            RecordError::Map(MapError::Eval {
                stream: map.alias.clone(),
                target: target(),
                expression: expr.source().to_string(),
                error: Box::new(error),
            })
        })
    };
    let mut result: Vec<(Cow<'_, str>, Slot<'_>)> = match &map.kind {
        MapKind::Remove => return Ok(false),
        MapKind::Same => members
            .iter()
            .map(|(k, v)| (k.clone(), Slot::Raw(v)))
            .collect(),
        MapKind::Custom(def) => {
            if let Some(filter) = &def.filter {
                if !eval(filter, &|| "__filter__".to_string(), None)?.is_truthy() {
                    return Ok(false);
                }
            }
            let mut result: Vec<(Cow<'_, str>, Slot<'_>)> = if def.include_by_default {
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), Slot::Raw(v)))
                    .collect()
            } else {
                map.key_properties
                    .iter()
                    .flatten()
                    .filter_map(|key| {
                        member(members, key).map(|raw| (Cow::Owned(key.clone()), Slot::Raw(raw)))
                    })
                    .collect()
            };
            for ((name, prop), hint) in def.properties.iter().zip(&map.position_hints) {
                let guess = hint.get();
                let position = if result.get(guess).is_some_and(|(k, _)| k == name) {
                    Some(guess)
                } else {
                    let found = result.iter().position(|(k, _)| k == name);
                    if let Some(p) = found {
                        hint.set(p);
                    }
                    found
                };
                match prop {
                    PropertyDef::Remove => {
                        if let Some(p) = position {
                            result.remove(p);
                        }
                    }
                    PropertyDef::Expr(expr) => {
                        let self_raw = match members.get(guess) {
                            Some((k, raw)) if k == name => Some(*raw),
                            _ => member(members, name),
                        };
                        let value = eval(expr, &|| format!("property '{name}'"), self_raw)?;
                        match position {
                            Some(p) => result[p].1 = Slot::Computed(value),
                            None => {
                                // Borrowed names are written without escaping (see `write_key`).
                                let key = if def.names_json_safe {
                                    Cow::Borrowed(name.as_str())
                                } else {
                                    Cow::Owned(name.clone())
                                };
                                result.push((key, Slot::Computed(value)))
                            }
                        }
                    }
                }
            }
            result
        }
    };
    if result.is_empty() {
        return Ok(false);
    }
    if map.flatten {
        let properties = match map.schema.get("properties") {
            Some(Json::Object(p)) => p,
            _ => &Map::new(),
        };
        let mut flat = Flattener::new(properties, &config.flattening, out);
        flat.out.push(b'{');
        flat.object(std::mem::take(&mut result), "", true, 0)
            .map_err(RecordError::Input)?;
        flat.finish();
    } else {
        out.push(b'{');
        for (i, (key, slot)) in result.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(key, matches!(key, Cow::Borrowed(_)), out);
            write_slot(slot, out).map_err(RecordError::Input)?;
        }
        out.push(b'}');
    }
    Ok(true)
}

/// Writes `"key":`. `safe` keys (property names split from the input without escapes, config
/// names checked at start-up: the borrowed ones) are copied; others are escaped.
fn write_key(key: &str, safe: bool, out: &mut Vec<u8>) {
    if safe {
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
    } else {
        write_json_str(key, out);
    }
    out.push(b':');
}

fn write_slot(slot: &Slot<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    match slot {
        Slot::Raw(raw) => {
            out.extend_from_slice(raw.as_bytes());
            Ok(())
        }
        Slot::Computed(value) => smelt_pyexpr::write_json(value, out)
            .map_err(|e| format!("a computed value cannot be written as JSON: {e}")),
    }
}

/// Flattens a mapped record straight into the output. Each written member's place is
/// remembered; only when two paths can flatten to the same key (a name containing the
/// separator) are the members rewritten, keeping the last value at the first position as a
/// Python dict does.
pub(crate) struct Flattener<'s, 'a, 'o> {
    properties: &'s Map<String, Json>,
    options: &'s Flattening,
    out: &'o mut Vec<u8>,
    /// Where the object starts in `out` (its `{`).
    start: usize,
    /// Per written member: (key start, key end, value end) in `out`; the key is quoted.
    members: Vec<(usize, usize, usize)>,
    /// The names above the current level (only read to abbreviate over-long keys).
    parents: Vec<Cow<'a, str>>,
    /// Whether two paths can flatten to the same key.
    may_collide: bool,
    /// Whether the separator needs no JSON escaping.
    separator_safe: bool,
}

impl<'s, 'a, 'o> Flattener<'s, 'a, 'o> {
    fn new(
        properties: &'s Map<String, Json>,
        options: &'s Flattening,
        out: &'o mut Vec<u8>,
    ) -> Self {
        let start = out.len();
        Flattener {
            properties,
            options,
            out,
            start,
            members: Vec::with_capacity(32),
            parents: Vec::new(),
            may_collide: options.separator.is_empty(),
            separator_safe: crate::raw::json_safe(&options.separator),
        }
    }

    /// The flattened key of `name` under `prefix`.
    fn key(&mut self, prefix: &str, name: &str) -> Cow<'_, str> {
        let sep = self.options.separator.as_str();
        if !self.may_collide && has_separator(name, sep) {
            self.may_collide = true;
        }
        let length = prefix.len() + if prefix.is_empty() { 0 } else { sep.len() } + name.len();
        if length >= self.options.max_key_length {
            let parents: Vec<String> = self.parents.iter().map(|p| p.to_string()).collect();
            return Cow::Owned(flatten_key(name, &parents, self.options));
        }
        if prefix.is_empty() {
            return Cow::Owned(name.to_string());
        }
        let mut key = String::with_capacity(length);
        key.push_str(prefix);
        key.push_str(sep);
        key.push_str(name);
        Cow::Owned(key)
    }

    /// Whether a nested object under `key` is flattened further (the SDK's rule: below the
    /// depth limit and not a property of the flattened schema).
    fn descends(&self, key: &str, level: usize) -> bool {
        level < self.options.max_level && !self.properties.contains_key(key)
    }

    /// Flattens `entries` under `prefix` (`prefix_safe`: the prefix needs no JSON escaping).
    fn object(
        &mut self,
        entries: Vec<(Cow<'a, str>, Slot<'a>)>,
        prefix: &str,
        prefix_safe: bool,
        level: usize,
    ) -> Result<(), String> {
        for (name, slot) in entries {
            let safe = prefix_safe && matches!(name, Cow::Borrowed(_)) && self.separator_safe;
            let key = if prefix.is_empty() && name.len() < self.options.max_key_length {
                if !self.may_collide && has_separator(&name, &self.options.separator) {
                    self.may_collide = true;
                }
                name.clone()
            } else {
                Cow::Owned(self.key(prefix, &name).into_owned())
            };
            match slot {
                Slot::Raw(raw) if raw.starts_with('{') && self.descends(&key, level) => {
                    let members = split_object(raw)?;
                    self.parents.push(name);
                    let children = members
                        .into_iter()
                        .map(|(k, v)| (k, Slot::Raw(v)))
                        .collect();
                    self.object(children, &key, safe, level + 1)?;
                    self.parents.pop();
                    continue;
                }
                Slot::Computed(Value::Dict(dict)) if self.descends(&key, level) => {
                    self.parents.push(name);
                    let children = dict
                        .iter()
                        .map(|(k, v)| {
                            let name = match k {
                                Value::Str(s) => Cow::Owned(s.to_string()),
                                other => Cow::Owned(other.py_str()),
                            };
                            (name, Slot::Computed(v.clone()))
                        })
                        .collect();
                    self.object(children, &key, safe, level + 1)?;
                    self.parents.pop();
                    continue;
                }
                _ => {}
            }
            if self.members.is_empty() {
                // The `{` is already there.
            } else {
                self.out.push(b',');
            }
            let key_start = self.out.len();
            write_key(&key, safe, self.out);
            // Just before the `:`.
            let key_end = self.out.len() - 1;
            match slot {
                Slot::Raw(raw) if raw.starts_with(['{', '[']) => {
                    if !write_compact_as_string(raw, self.out) {
                        let value = smelt_pyexpr::parse_json(raw)
                            .map_err(|e| format!("property '{name}' is not valid JSON: {e}"))?;
                        json_string(&value, self.out)?;
                    }
                }
                Slot::Raw(raw) => self.out.extend_from_slice(raw.as_bytes()),
                Slot::Computed(value @ (Value::Dict(_) | Value::List(_) | Value::Tuple(_))) => {
                    json_string(&value, self.out)?
                }
                Slot::Computed(value) => write_slot(&Slot::Computed(value), self.out)?,
            }
            self.members.push((key_start, key_end, self.out.len()));
        }
        Ok(())
    }

    /// Closes the object, first dropping duplicate keys when there can be any.
    fn finish(self) {
        if self.may_collide {
            let written = self.out.split_off(self.start + 1);
            let base = self.start + 1;
            let mut kept: Vec<(&[u8], &[u8])> = Vec::with_capacity(self.members.len());
            for &(key_start, key_end, value_end) in &self.members {
                let key = &written[key_start - base..key_end - base];
                let value = &written[key_end + 1 - base..value_end - base];
                match kept.iter().position(|(k, _)| *k == key) {
                    Some(first) => kept[first].1 = value,
                    None => kept.push((key, value)),
                }
            }
            for (i, (key, value)) in kept.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.out.extend_from_slice(key);
                self.out.push(b':');
                self.out.extend_from_slice(value);
            }
        }
        self.out.push(b'}');
    }
}

/// Whether `name` contains the separator; a byte scan, cheaper than a substring searcher (or
/// a comparison per window) on names this short.
fn has_separator(name: &str, sep: &str) -> bool {
    let (name, sep) = (name.as_bytes(), sep.as_bytes());
    let Some((&first, rest)) = sep.split_first() else {
        return false;
    };
    name.iter()
        .enumerate()
        .any(|(i, &b)| b == first && name[i + 1..].starts_with(rest))
}

/// Writes `value` as compact, ASCII-only JSON (the SDK's `serialize_json`) inside a JSON string.
fn json_string(value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    let mut text = Vec::new();
    smelt_pyexpr::write_json_ascii(value, &mut text).map_err(|e| e.to_string())?;
    let text = String::from_utf8(text).map_err(|e| e.to_string())?;
    write_json_str(&text, out);
    Ok(())
}

/// Writes `text` as a JSON string literal.
fn write_json_str(text: &str, out: &mut Vec<u8>) {
    smelt_singer::json_value::write_json_string(out, text, false);
}
