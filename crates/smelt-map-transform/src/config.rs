//! The mapper's config (`stream_maps`, `stream_map_config`, flattening and Faker settings),
//! read and checked once at start-up, with every expression parsed there.
//!
//! The Singer SDK checks a stream's map when the stream's first SCHEMA arrives; checking
//! everything before the first message reads means a typo fails before anything is written,
//! whichever stream it is in (the SDK writes nothing either, for the stream it fails on).

use std::rc::Rc;

use serde_json::{Map, Value as Json};
use smelt_pyexpr::{Expr, Value};
use smelt_singer::catalog::Pattern;

use smelt_plugin_sdk::json_type_name as json_kind;

use crate::error::MapError;

/// `__else__`, `__filter__`, ... : the option keys of a stream map.
const ELSE: &str = "__else__";
const FILTER: &str = "__filter__";
const SOURCE: &str = "__source__";
const ALIAS: &str = "__alias__";
const KEY_PROPERTIES: &str = "__key_properties__";
/// The string spelling of `null` in stream maps.
pub(crate) const NULL_STRING: &str = "__NULL__";

/// The whole mapper config.
#[derive(Debug)]
pub struct MapperConfig {
    /// The `stream_maps` entries, in config order (the order sets the order of clones).
    pub streams: Vec<StreamMapDef>,
    /// Top-level `__else__: null`: streams no entry names are dropped.
    pub drop_unmapped: bool,
    /// `stream_map_config`, the `config` name in expressions.
    pub map_config: Value,
    /// Flattening settings.
    pub flattening: Flattening,
    /// The `fake` name in expressions.
    pub fake: Value,
}

/// One `stream_maps` entry.
#[derive(Debug)]
pub struct StreamMapDef {
    /// The entry's key: a stream name, a wildcard pattern or (with `__source__`) a new stream.
    pub key: String,
    /// The key compiled as an `fnmatch` pattern.
    pub pattern: Pattern,
    /// `null` / `"__NULL__"` or a map.
    pub kind: MapDefKind,
}

/// What an entry does to its stream.
#[derive(Debug)]
pub enum MapDefKind {
    /// Drops the stream.
    Remove,
    /// Renames, filters, computes properties or clones.
    Custom(Rc<CustomMapDef>),
}

/// A stream map given as an object.
#[derive(Debug)]
pub struct CustomMapDef {
    /// `__source__`: this entry is a new stream made from that one.
    pub source: Option<String>,
    /// `__alias__`, unevaluated (it is evaluated per stream with `__stream_name__`).
    pub alias: Option<Expr>,
    /// `__filter__`.
    pub filter: Option<Expr>,
    /// `__key_properties__`: `Some(None)` for `null` (no key), `None` when not given.
    pub key_properties: Option<Option<Vec<String>>>,
    /// `false` after `__else__: null`: only mapped (and key) properties are kept.
    pub include_by_default: bool,
    /// The property entries, in config order.
    pub properties: Vec<(String, PropertyDef)>,
    /// Whether every property name can be written between JSON quotes as it is.
    pub names_json_safe: bool,
}

impl CustomMapDef {
    /// True when the map only renames the stream: records pass through untouched.
    pub fn is_rename_only(&self) -> bool {
        self.filter.is_none()
            && self.key_properties.is_none()
            && self.include_by_default
            && self.properties.is_empty()
    }
}

/// One property entry of a map.
#[derive(Debug)]
pub enum PropertyDef {
    /// `null` / `"__NULL__"`: the property is removed.
    Remove,
    /// An expression computing the property.
    Expr(Expr),
}

/// `flattening_*` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Flattening {
    /// `flattening_enabled`.
    pub enabled: bool,
    /// `flattening_max_depth` (0 flattens nothing).
    pub max_level: usize,
    /// `flattening_separator` (`__`).
    pub separator: String,
    /// `flattening_max_key_length` (255).
    pub max_key_length: usize,
}

impl Flattening {
    /// Whether records and schemas are flattened at all (the SDK's rule: enabled and depth > 0).
    pub fn active(&self) -> bool {
        self.enabled && self.max_level > 0
    }
}

impl MapperConfig {
    /// Reads the merged `--config` object.
    pub fn from_json(config: &Map<String, Json>) -> Result<MapperConfig, MapError> {
        let flattening = flattening(config)?;
        let map_config = match config.get("stream_map_config") {
            None | Some(Json::Null) => Value::Dict(Rc::new(smelt_pyexpr::Dict::new())),
            Some(v @ Json::Object(_)) => Value::from(v),
            Some(other) => {
                return Err(MapError::Config(format!(
                    "`stream_map_config` must be an object, not {}",
                    json_kind(other)
                )))
            }
        };
        let fake = faker(config.get("faker_config"))?;
        let mut streams = Vec::new();
        let mut drop_unmapped = false;
        match config.get("stream_maps") {
            // As in meltano-map-transform: a mapper without maps is almost always a
            // misspelt key, and passing everything through unmapped could leak what the
            // maps were meant to drop.
            None | Some(Json::Null) => return Err(MapError::Config(
                "`stream_maps` is required (set it to {} to pass every stream through unchanged)"
                    .to_string(),
            )),
            Some(Json::Object(maps)) => {
                for (key, def) in maps {
                    if key == ELSE {
                        if is_null(def) {
                            drop_unmapped = true;
                            continue;
                        }
                        return Err(MapError::Config(format!(
                            "top-level `__else__` can only be null or \"__NULL__\" (drop every stream not named here), not {def}"
                        )));
                    }
                    if key.starts_with("__") {
                        return Err(MapError::Config(format!(
                            "option '{key}' is not expected at the top of `stream_maps` (only `__else__` is)"
                        )));
                    }
                    streams.push(StreamMapDef {
                        key: key.clone(),
                        pattern: Pattern::new(key),
                        kind: map_def(key, def)?,
                    });
                }
            }
            Some(other) => {
                return Err(MapError::Config(format!(
                    "`stream_maps` must be an object of stream names, not {}",
                    json_kind(other)
                )))
            }
        }
        Ok(MapperConfig {
            streams,
            drop_unmapped,
            map_config,
            flattening,
            fake,
        })
    }
}

/// `null` or `"__NULL__"`.
pub(crate) fn is_null(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::String(s) => s == NULL_STRING,
        _ => false,
    }
}

fn map_def(key: &str, def: &Json) -> Result<MapDefKind, MapError> {
    if is_null(def) {
        return Ok(MapDefKind::Remove);
    }
    let Json::Object(entries) = def else {
        return Err(MapError::Config(format!(
            "stream map '{key}' must be an object of properties, null or \"__NULL__\", not {}",
            json_kind(def)
        )));
    };
    let parse = |target: &str, source: &str| {
        Expr::parse(source).map_err(|error| MapError::Parse {
            map: key.to_string(),
            target: target.to_string(),
            expression: source.to_string(),
            error: Box::new(error),
        })
    };
    let mut custom = CustomMapDef {
        source: None,
        alias: None,
        filter: None,
        key_properties: None,
        include_by_default: true,
        properties: Vec::new(),
        names_json_safe: true,
    };
    for (name, value) in entries {
        match name.as_str() {
            SOURCE => custom.source = Some(string_option(key, name, value)?),
            ALIAS => {
                let text = string_option(key, name, value)?;
                custom.alias = Some(parse(ALIAS, &text)?);
            }
            FILTER => match value {
                Json::Null => {}
                Json::String(text) => custom.filter = Some(parse(FILTER, text)?),
                other => {
                    return Err(MapError::Config(format!(
                        "stream map '{key}': `__filter__` must be an expression string, not {}",
                        json_kind(other)
                    )))
                }
            },
            KEY_PROPERTIES => {
                custom.key_properties = Some(match value {
                    Json::Null => None,
                    Json::Array(items) => Some(
                        items
                            .iter()
                            .map(|item| match item {
                                Json::String(s) => Ok(s.clone()),
                                other => Err(MapError::Config(format!(
                                    "stream map '{key}': `__key_properties__` must list property names, not {other}"
                                ))),
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    other => {
                        return Err(MapError::Config(format!(
                            "stream map '{key}': `__key_properties__` must be a list of property names or null, not {}",
                            json_kind(other)
                        )))
                    }
                })
            }
            ELSE => {
                if !is_null(value) {
                    return Err(MapError::Config(format!(
                        "stream map '{key}': `__else__` can only be null or \"__NULL__\" (keep only the mapped properties), not {value}"
                    )));
                }
                custom.include_by_default = false;
            }
            _ => {
                let def = match value {
                    v if is_null(v) => PropertyDef::Remove,
                    Json::String(text) => PropertyDef::Expr(parse(&format!("property '{name}'"), text)?),
                    other => {
                        return Err(MapError::Config(format!(
                            "stream map '{key}', property '{name}': expected an expression string, null or \"__NULL__\", not {}",
                            json_kind(other)
                        )))
                    }
                };
                custom.properties.push((name.clone(), def));
            }
        }
    }
    custom.names_json_safe = custom
        .properties
        .iter()
        .all(|(name, _)| crate::raw::json_safe(name));
    if custom.source.is_some() && custom.alias.is_some() {
        return Err(MapError::Config(format!(
            "stream map '{key}': `__alias__` has no effect next to `__source__` (the key '{key}' already names the new stream); remove one of them"
        )));
    }
    Ok(MapDefKind::Custom(Rc::new(custom)))
}

fn string_option(key: &str, option: &str, value: &Json) -> Result<String, MapError> {
    match value {
        Json::String(s) => Ok(s.clone()),
        other => Err(MapError::Config(format!(
            "stream map '{key}': `{option}` must be a string, not {}",
            json_kind(other)
        ))),
    }
}

fn flattening(config: &Map<String, Json>) -> Result<Flattening, MapError> {
    let enabled = match config.get("flattening_enabled") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s))
            if matches!(
                s.to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on" | "t" | "y"
            ) =>
        {
            true
        }
        Some(Json::String(s))
            if matches!(
                s.to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off" | "f" | "n" | ""
            ) =>
        {
            false
        }
        Some(other) => {
            return Err(MapError::Config(format!(
                "`flattening_enabled` must be true or false, not {other}"
            )))
        }
    };
    let max_level = count_setting(config, "flattening_max_depth")?;
    if enabled && max_level.is_none() {
        return Err(MapError::Config(
            "`flattening_max_depth` is required when flattening is enabled".to_string(),
        ));
    }
    let separator = match config.get("flattening_separator") {
        None | Some(Json::Null) => "__".to_string(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => {
            return Err(MapError::Config(format!(
                "`flattening_separator` must be a string, not {other}"
            )))
        }
    };
    Ok(Flattening {
        enabled,
        max_level: max_level.unwrap_or(0),
        separator,
        max_key_length: count_setting(config, "flattening_max_key_length")?.unwrap_or(255),
    })
}

/// A non-negative integer setting (also accepted as a numeric string, as Meltano may pass it).
fn count_setting(config: &Map<String, Json>, name: &str) -> Result<Option<usize>, MapError> {
    let bad =
        |v: &Json| MapError::Config(format!("`{name}` must be a non-negative integer, not {v}"));
    match config.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(v @ Json::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(v)),
        Some(v @ Json::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(v)),
        Some(v) => Err(bad(v)),
    }
}

fn faker(config: Option<&Json>) -> Result<Value, MapError> {
    let (seed, locale) = match config {
        None | Some(Json::Null) => (None, None),
        Some(Json::Object(c)) => {
            let seed = c.get("seed").filter(|s| !s.is_null()).map(Value::from);
            let locale = match c.get("locale") {
                None | Some(Json::Null) => None,
                Some(Json::String(s)) => Some(s.clone()),
                Some(Json::Array(items)) => {
                    items.first().and_then(|i| i.as_str()).map(str::to_string)
                }
                Some(other) => {
                    return Err(MapError::Config(format!(
                    "`faker_config.locale` must be a locale string or a list of them, not {other}"
                )))
                }
            };
            (seed, locale)
        }
        Some(other) => {
            return Err(MapError::Config(format!(
                "`faker_config` must be an object, not {}",
                json_kind(other)
            )))
        }
    };
    Ok(smelt_pyexpr::faker(seed.as_ref(), locale.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Json) -> Result<MapperConfig, MapError> {
        MapperConfig::from_json(value.as_object().unwrap())
    }

    #[test]
    fn reads_maps_in_order_with_their_options() {
        let c = config(json!({
            "stream_maps": {
                "users": {"__alias__": "people", "__filter__": "age > 3", "email": null, "h": "md5(email)", "__else__": null},
                "orders": "__NULL__",
                "copy": {"__source__": "users", "__key_properties__": ["id"]},
                "__else__": null
            },
            "stream_map_config": {"seed": "s"},
            "flattening_enabled": true,
            "flattening_max_depth": 2
        }))
        .unwrap();
        assert!(c.drop_unmapped);
        assert_eq!(c.streams.len(), 3);
        assert_eq!(c.streams[0].key, "users");
        let MapDefKind::Custom(users) = &c.streams[0].kind else {
            panic!()
        };
        assert!(!users.include_by_default);
        assert!(users.filter.is_some() && users.alias.is_some());
        assert_eq!(users.properties.len(), 2);
        assert!(matches!(users.properties[0].1, PropertyDef::Remove));
        assert!(matches!(c.streams[1].kind, MapDefKind::Remove));
        let MapDefKind::Custom(copy) = &c.streams[2].kind else {
            panic!()
        };
        assert_eq!(copy.source.as_deref(), Some("users"));
        assert_eq!(copy.key_properties, Some(Some(vec!["id".to_string()])));
        assert!(c.flattening.active());
        assert_eq!(c.flattening.separator, "__");
    }

    #[test]
    fn rejects_what_the_sdk_rejects_with_a_clear_message() {
        let cases = [
            (
                json!({"stream_maps": {"__else__": "x"}}),
                "top-level `__else__`",
            ),
            (json!({"stream_maps": {"__foo__": {}}}), "option '__foo__'"),
            (
                json!({"stream_maps": {"s": "rename"}}),
                "stream map 's' must be an object",
            ),
            (
                json!({"stream_maps": {"s": {"a": 1}}}),
                "property 'a': expected an expression",
            ),
            (
                json!({"stream_maps": {"s": {"__else__": "x"}}}),
                "`__else__` can only be null",
            ),
            (
                json!({"flattening_enabled": true}),
                "`flattening_max_depth` is required",
            ),
            (
                json!({"stream_maps": {"s": {"__filter__": "this should raise an er!ror"}}}),
                "__filter__: expression `this should raise an er!ror` is not valid Python",
            ),
            (
                json!({"stream_maps": {"s": {"__source__": "a", "__alias__": "b"}}}),
                "no effect next to `__source__`",
            ),
        ];
        for (value, expected) in cases {
            let err = config(value.clone()).unwrap_err().to_string();
            assert!(err.contains(expected), "{value}: {err}");
        }
    }

    #[test]
    fn flattening_accepts_meltano_string_values() {
        let c = config(json!({"stream_maps": {}, "flattening_enabled": "true", "flattening_max_depth": "1", "flattening_separator": "."})).unwrap();
        assert!(c.flattening.active());
        assert_eq!(c.flattening.separator, ".");
        let off = config(
            json!({"stream_maps": {}, "flattening_enabled": true, "flattening_max_depth": 0}),
        )
        .unwrap();
        assert!(!off.flattening.active());
    }
}
