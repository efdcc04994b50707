//! The maps one input stream goes through, built when its SCHEMA arrives: first the map under
//! the stream's own key (identity, custom, renamed or removed), then each `__source__` clone in
//! config order — the Singer SDK's `register_raw_stream_schema`.

use std::cell::Cell;
use std::rc::Rc;

use serde_json::{Map, Value as Json};
use smelt_pyexpr::{EvalErrorKind, NameList, Value};

use crate::config::{CustomMapDef, MapDefKind, MapperConfig, PropertyDef};
use crate::error::MapError;
use crate::flatten::flatten_schema;
use crate::schema::{empty_object_schema, property_schema};

/// What one map does with a record.
#[derive(Debug)]
pub(crate) enum MapKind {
    /// Writes nothing for this map.
    Remove,
    /// Passes records through (flattened when flattening is on).
    Same,
    /// Filters and computes properties.
    Custom(Rc<CustomMapDef>),
}

/// One output stream made from an input stream.
#[derive(Debug)]
pub(crate) struct StreamMap {
    /// The output stream name.
    pub alias: String,
    /// `alias` as a JSON string literal, written into every message.
    pub alias_json: String,
    /// `__stream_name__` in expressions (the alias).
    pub alias_value: Value,
    /// `__original_stream_name__` in expressions.
    pub original_value: Value,
    /// What the map does.
    pub kind: MapKind,
    /// The output schema (after mapping and flattening).
    pub schema: Map<String, Json>,
    /// The output key properties.
    pub key_properties: Option<Vec<String>>,
    /// Whether records are flattened on the way out.
    pub flatten: bool,
    /// Per property entry of a custom map: where the property was in the last record. Records
    /// of a stream nearly always list their properties in the same order, so one comparison
    /// usually finds it.
    pub position_hints: Vec<Cell<usize>>,
}

impl StreamMap {
    /// True when records go out exactly as they came in, under the same stream name: the
    /// input line can be copied.
    pub fn is_identity(&self, stream: &str) -> bool {
        matches!(self.kind, MapKind::Same) && !self.flatten && self.alias == stream
    }

    /// True when records go out unchanged, perhaps under another name.
    pub fn keeps_records(&self) -> bool {
        !self.flatten
            && match &self.kind {
                MapKind::Same => true,
                MapKind::Custom(def) => def.is_rename_only(),
                MapKind::Remove => false,
            }
    }
}

/// Builds the maps of input stream `stream` with the given SCHEMA.
pub(crate) fn build_maps(
    config: &MapperConfig,
    stream: &str,
    schema: &Map<String, Json>,
    key_properties: &Option<Vec<String>>,
) -> Result<Vec<StreamMap>, MapError> {
    let default = if config.drop_unmapped {
        MapKind::Remove
    } else {
        MapKind::Same
    };
    let mut maps = vec![make_map(
        config,
        stream,
        stream,
        default,
        schema,
        key_properties,
    )?];
    for entry in &config.streams {
        let (source, mut alias, primary) = match &entry.kind {
            MapDefKind::Custom(def) => match (&def.source, &def.alias) {
                (Some(source), _) => (source.clone(), entry.key.clone(), false),
                (None, Some(alias)) => (
                    entry.key.clone(),
                    eval_alias(alias, stream, &entry.key)?,
                    true,
                ),
                (None, None) => (entry.key.clone(), entry.key.clone(), true),
            },
            MapDefKind::Remove => (entry.key.clone(), entry.key.clone(), true),
        };
        if source != stream {
            let wildcard_match = if primary {
                entry.pattern.matches(stream)
            } else {
                smelt_singer::catalog::Pattern::new(&source).matches(stream)
            };
            if !wildcard_match {
                continue;
            }
            if alias == source {
                alias = stream.to_string();
            }
        }
        let kind = match &entry.kind {
            MapDefKind::Remove => MapKind::Remove,
            MapDefKind::Custom(def) => MapKind::Custom(def.clone()),
        };
        let map = make_map(config, stream, &alias, kind, schema, key_properties)?;
        if primary {
            maps[0] = map;
        } else {
            maps.push(map);
        }
    }
    Ok(maps)
}

/// Evaluates `__alias__` with only `__stream_name__` defined; a name it does not know makes
/// the text itself the alias (`aliased.stream`), as in the SDK.
fn eval_alias(alias: &smelt_pyexpr::Expr, stream: &str, key: &str) -> Result<String, MapError> {
    let names = [("__stream_name__", Value::str(stream))];
    match alias.eval(&NameList(&names)) {
        Ok(Value::Str(s)) => Ok(s.to_string()),
        Ok(other) => Ok(other.py_str()),
        Err(e) if matches!(e.kind, EvalErrorKind::NameNotDefined(_)) => {
            Ok(alias.source().to_string())
        }
        Err(error) => Err(MapError::Eval {
            stream: key.to_string(),
            target: "__alias__".to_string(),
            expression: alias.source().to_string(),
            error: Box::new(error),
        }),
    }
}

fn make_map(
    config: &MapperConfig,
    stream: &str,
    alias: &str,
    kind: MapKind,
    raw_schema: &Map<String, Json>,
    key_properties: &Option<Vec<String>>,
) -> Result<StreamMap, MapError> {
    let schema_error = |message: String| MapError::Schema {
        stream: stream.to_string(),
        message,
    };
    let (mut schema, key_properties) = match &kind {
        MapKind::Custom(def) => {
            custom_schema(def, alias, raw_schema, key_properties).map_err(schema_error)?
        }
        MapKind::Same | MapKind::Remove => (raw_schema.clone(), key_properties.clone()),
    };
    let flatten = config.flattening.active() && !matches!(kind, MapKind::Remove);
    if config.flattening.active() {
        schema = flatten_schema(&schema, &config.flattening).map_err(schema_error)?;
    }
    let properties = match &kind {
        MapKind::Custom(def) => def.properties.len(),
        _ => 0,
    };
    Ok(StreamMap {
        position_hints: (0..properties).map(|_| Cell::new(0)).collect(),
        alias_json: serde_json::to_string(alias).unwrap_or_default(),
        alias: alias.to_string(),
        alias_value: Value::str(alias),
        original_value: Value::str(stream),
        kind,
        schema,
        key_properties,
        flatten,
    })
}

/// A mapped stream's schema and key properties.
type MappedSchema = (Map<String, Json>, Option<Vec<String>>);

/// The schema and key properties of a custom map (the SDK's `_init_functions_and_schema`).
fn custom_schema(
    def: &CustomMapDef,
    alias: &str,
    raw_schema: &Map<String, Json>,
    key_properties: &Option<Vec<String>>,
) -> Result<MappedSchema, String> {
    let keys = match &def.key_properties {
        Some(keys) => keys.clone(),
        None => key_properties.clone(),
    };
    let raw_properties = match raw_schema.get("properties") {
        Some(Json::Object(p)) => p.clone(),
        _ => Map::new(),
    };
    let mut schema = if def.include_by_default {
        raw_schema.clone()
    } else {
        empty_object_schema()
    };
    let mut properties = match schema.get("properties") {
        Some(Json::Object(p)) => p.clone(),
        _ => Map::new(),
    };
    for (name, prop) in &def.properties {
        match prop {
            PropertyDef::Remove => {
                if keys.as_ref().is_some_and(|k| k.contains(name)) {
                    return Err(format!(
                        "map '{alias}' removes key property '{name}', which is not permitted; to change the key, set `__key_properties__` to a new list of property names, or to null for no key"
                    ));
                }
                properties.shift_remove(name);
                if let Some(Json::Array(required)) = schema.get_mut("required") {
                    required.retain(|r| r.as_str() != Some(name));
                }
            }
            PropertyDef::Expr(expr) => {
                // With every property kept, the SDK's schema shares its property table with
                // the source schema, so a later expression sees the properties added before it.
                let lookup_table = if def.include_by_default {
                    &properties
                } else {
                    &raw_properties
                };
                let existing = properties
                    .get(name)
                    .filter(|s| !is_empty_schema(s))
                    .or_else(|| lookup_table.get(expr.source()));
                let record_schema = if def.include_by_default {
                    let mut r = raw_schema.clone();
                    r.insert("properties".into(), Json::Object(properties.clone()));
                    r
                } else {
                    raw_schema.clone()
                };
                let typed = property_schema(expr.source(), existing, &record_schema);
                properties.insert(name.clone(), typed);
            }
        }
    }
    for key in keys.iter().flatten() {
        if !properties.contains_key(key) {
            return Err(format!(
                "invalid key properties for '{alias}': [{}]; property '{key}' is not in the mapped schema",
                keys.as_deref().unwrap_or_default().join(",")
            ));
        }
    }
    schema.insert("properties".into(), Json::Object(properties));
    Ok((schema, keys))
}

fn is_empty_schema(schema: &Json) -> bool {
    matches!(schema, Json::Object(m) if m.is_empty()) || schema.is_null()
}
