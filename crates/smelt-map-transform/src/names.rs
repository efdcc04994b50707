//! The names an expression sees while a record is mapped: the record's properties, then the
//! stream-maps variables, which win over a property of the same name (the SDK sets them last).
//!
//! Properties are parsed from their raw JSON text only when an expression reads them.

use std::cell::{OnceCell, RefCell};

use smelt_pyexpr::{Names, Value};

use crate::raw::Member;

/// Per-record names; built on the stack, nothing copied up front.
pub(crate) struct RecordNames<'a> {
    /// The record's properties, raw.
    pub members: &'a [Member<'a>],
    /// The record's raw text, for `record` and `_`.
    pub record_text: &'a str,
    /// `record` parsed once per record, on first use.
    pub record_value: &'a OnceCell<Value>,
    /// The first value that failed to parse, reported after the expression.
    pub bad_value: &'a RefCell<Option<String>>,
    /// `config` (`stream_map_config`).
    pub config: &'a Value,
    /// `__stream_name__` (the alias).
    pub stream: &'a Value,
    /// `__original_stream_name__`.
    pub original: &'a Value,
    /// `fake`.
    pub fake: &'a Value,
    /// `self`: the raw value of the mapped property before mapping, when the record has it.
    pub self_raw: Option<&'a str>,
}

impl RecordNames<'_> {
    fn parse(&self, what: &str, raw: &str) -> Option<Value> {
        match smelt_pyexpr::parse_json(raw) {
            Ok(value) => Some(value),
            Err(e) => {
                self.bad_value
                    .borrow_mut()
                    .get_or_insert_with(|| format!("property '{what}' is not valid JSON: {e}"));
                None
            }
        }
    }
}

/// The raw value of property `name` of a split record.
pub(crate) fn member<'a>(members: &[Member<'a>], name: &str) -> Option<&'a str> {
    members.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
}

impl Names for RecordNames<'_> {
    fn lookup(&self, name: &str) -> Option<Value> {
        match name {
            "_" | "record" => {
                if let Some(v) = self.record_value.get() {
                    return Some(v.clone());
                }
                let value = self.parse("record", self.record_text)?;
                Some(self.record_value.get_or_init(|| value).clone())
            }
            "config" => Some(self.config.clone()),
            "__stream_name__" => Some(self.stream.clone()),
            "__original_stream_name__" => Some(self.original.clone()),
            "fake" => Some(self.fake.clone()),
            "self" if self.self_raw.is_some() => {
                self.self_raw.and_then(|raw| self.parse(name, raw))
            }
            _ => member(self.members, name).and_then(|raw| self.parse(name, raw)),
        }
    }
}
