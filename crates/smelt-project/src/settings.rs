//! Plugin settings: the resolved configuration with provenance, and the plugin's layers.
//!
//! A plugin's settings are read from environment variables (`<PLUGIN_NAME>_<SETTING>`,
//! `<NAMESPACE>_<SETTING>`, alias forms, the setting's own `env:`), `.env` (same names), the
//! `env:` blocks of meltano.yml (same names), the active environment's plugin config, the
//! plugin's `config:` in meltano.yml, the system database, the parent's resolved config
//! (`inherit_from`) and the setting's default; `resolve.rs` applies that precedence. Strings
//! from files are `$VAR`-expanded; text from variables is converted by the setting's kind.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Number, Value};

use crate::env_layers::EnvLayers;
use crate::env_names::env_var_name;
use crate::error::{Location, ProjectError};
use crate::expand::expand_value;
use crate::plugin::{Mapping, Plugin};
use crate::project::Project;
use crate::resolve::{resolve_scope, FileLayer, LayerValue, Scope};
use crate::setting_def::{SettingDef, SettingKind};
use crate::source_map::pointer_push;

/// Shown instead of sensitive values.
pub const REDACTED: &str = "(redacted)";

/// Where a setting's value came from, highest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SettingSource {
    /// A command-line override.
    Cli,
    /// An environment variable (process environment or a meltano.yml `env:` block).
    Env,
    /// The project's `.env` file.
    DotEnv,
    /// The active environment's config in meltano.yml.
    Environment,
    /// The plugin's `config:` in meltano.yml.
    MeltanoYml,
    /// The system database (`config set --store db`).
    SystemDb,
    /// The parent plugin (`inherit_from`).
    Inherited,
    /// The setting definition's default value.
    Default,
}

impl SettingSource {
    /// The name Meltano shows for the source (`meltano config list`).
    pub fn label(self) -> &'static str {
        match self {
            SettingSource::Cli => "command line",
            SettingSource::Env => "environment variable",
            SettingSource::DotEnv => "`.env`",
            SettingSource::Environment => "environment",
            SettingSource::MeltanoYml => "`meltano.yml`",
            SettingSource::SystemDb => "system database",
            SettingSource::Inherited => "inherited",
            SettingSource::Default => "default",
        }
    }
}

/// The detail of where a value came from, beyond its [`SettingSource`]: the variable's name,
/// the file position, or the parent plugin. `config list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingOrigin {
    /// The environment variable that set it.
    pub variable: Option<String>,
    /// Where in meltano.yml (or an included file) it is written.
    pub location: Option<Location>,
    /// The plugin it was inherited from.
    pub parent: Option<String>,
}

/// A plugin's (or the project's) configuration as the plugin will receive it, with where each
/// value came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolvedConfig {
    /// Nested config, as written to the plugin's `config.json` (dotted names become nested
    /// objects; unset settings are left out).
    pub values: Map<String, Value>,
    /// Dotted setting name → where its value came from, for every setting that has a value.
    pub sources: BTreeMap<String, SettingSource>,
    /// Dotted setting name → the detail of its source (variable, file position, parent).
    pub origins: BTreeMap<String, SettingOrigin>,
    /// Dotted names of settings whose values are secrets.
    pub sensitive: BTreeSet<String>,
    /// Every setting considered, declared ones first, then custom ones found in the layers.
    pub settings: Vec<SettingDef>,
    /// Names of custom settings (set somewhere but not declared by the plugin).
    pub custom: BTreeSet<String>,
}

impl ResolvedConfig {
    /// The value of dotted setting `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let path = split_path(name);
        let (first, rest) = path.split_first()?;
        let mut current = self.values.get(first)?;
        for part in rest {
            current = current.as_object()?.get(part)?;
        }
        Some(current)
    }

    /// Where dotted setting `name` came from.
    pub fn source(&self, name: &str) -> Option<SettingSource> {
        self.sources.get(name).copied()
    }

    /// Whether dotted setting `name` is a secret.
    pub fn is_sensitive(&self, name: &str) -> bool {
        self.sensitive.contains(name)
    }

    /// Every set setting as `(dotted name, value)`, in name order.
    pub fn flat(&self) -> Vec<(String, Value)> {
        self.sources
            .keys()
            .filter_map(|name| self.get(name).map(|v| (name.clone(), v.clone())))
            .collect()
    }

    /// `values` with every sensitive value replaced by [`REDACTED`], safe to print or log.
    pub fn redacted(&self) -> Map<String, Value> {
        self.masked(REDACTED)
    }

    /// `values` with every sensitive value replaced by `mask` (`config print` uses Meltano's
    /// `*****`).
    pub fn masked(&self, mask: &str) -> Map<String, Value> {
        let mut out = self.values.clone();
        for name in &self.sensitive {
            let path = split_path(name);
            set_existing(&mut out, &path, Value::String(mask.to_string()));
        }
        out
    }

    /// The detail of where dotted setting `name` came from.
    pub fn origin(&self, name: &str) -> Option<&SettingOrigin> {
        self.origins.get(name)
    }

    /// Meltano's wording of where `name`'s value came from (`config list`), e.g.
    /// "from the TAP_X_PASSWORD variable in the environment", "from `meltano.yml` at
    /// meltano.yml:12:7", "inherited from 'tap-x'", "default".
    pub fn describe_source(&self, name: &str) -> String {
        let Some(source) = self.source(name) else {
            return "default".to_string();
        };
        let origin = self.origin(name).cloned().unwrap_or_default();
        let at = |loc: &Option<Location>| match loc {
            Some(l) => format!(" at {l}"),
            None => String::new(),
        };
        match source {
            SettingSource::Cli => "from the command line".to_string(),
            SettingSource::Env => match origin.variable {
                Some(v) => format!("from the {v} variable in the environment"),
                None => "from the environment".to_string(),
            },
            SettingSource::DotEnv => match origin.variable {
                Some(v) => format!("from the {v} variable in `.env`"),
                None => "from `.env`".to_string(),
            },
            SettingSource::Environment => format!(
                "from the active environment in `meltano.yml`{}",
                at(&origin.location)
            ),
            SettingSource::MeltanoYml => format!("from `meltano.yml`{}", at(&origin.location)),
            SettingSource::SystemDb => "from the system database".to_string(),
            SettingSource::Inherited => match origin.parent {
                Some(p) => format!("inherited from '{p}'"),
                None => "inherited".to_string(),
            },
            SettingSource::Default => "default".to_string(),
        }
    }

    pub(crate) fn set(
        &mut self,
        name: &str,
        value: Value,
        source: SettingSource,
        sensitive: bool,
        origin: SettingOrigin,
    ) {
        if value.is_null() {
            return;
        }
        let path = split_path(name);
        insert_nested(&mut self.values, &path, value);
        self.sources.insert(name.to_string(), source);
        self.origins.insert(name.to_string(), origin);
        if sensitive {
            self.sensitive.insert(name.to_string());
        }
    }
}

/// Splits a dotted name on unescaped dots; `\.` is a literal dot.
pub(crate) fn split_path(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                current.push('.');
                chars.next();
            }
            '.' => parts.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    parts.push(current);
    parts
}

fn insert_nested(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match (map.get_mut(first), value) {
            (Some(Value::Object(existing)), Value::Object(new)) => {
                for (k, v) in new {
                    existing.entry(k).or_insert(v);
                }
            }
            (_, value) => {
                map.insert(first.clone(), value);
            }
        }
        return;
    }
    let entry = map
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(inner) = entry {
        insert_nested(inner, rest, value);
    }
}

fn set_existing(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        if let Some(slot) = map.get_mut(first) {
            *slot = value;
        }
        return;
    }
    if let Some(Value::Object(inner)) = map.get_mut(first) {
        set_existing(inner, rest, value);
    }
}

/// Flattens a config mapping to dotted names, stopping at declared settings (so a declared
/// `object` setting keeps its whole mapping) and mapping alias names to canonical ones.
pub(crate) fn flatten(
    map: &Map<String, Value>,
    prefix: &str,
    pointer: &str,
    names: &HashMap<String, String>,
    out: &mut Vec<(String, LayerValue)>,
) {
    for (key, value) in map {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let ptr = pointer_push(pointer, key);
        if let Some(canonical) = names.get(&full) {
            out.push((
                canonical.clone(),
                LayerValue {
                    value: value.clone(),
                    pointer: ptr,
                },
            ));
            continue;
        }
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(inner, &full, &ptr, names, out),
            _ => out.push((
                full,
                LayerValue {
                    value: value.clone(),
                    pointer: ptr,
                },
            )),
        }
    }
}

pub(crate) fn layer_index(
    list: Vec<(String, LayerValue)>,
) -> (Vec<String>, HashMap<String, LayerValue>) {
    let mut order = Vec::new();
    let mut map = HashMap::new();
    for (name, v) in list {
        if !map.contains_key(&name) {
            order.push(name.clone());
        }
        map.insert(name, v);
    }
    (order, map)
}

/// Converts setting text (from a variable or the command line) to a setting's kind: `Ok(None)`
/// for empty text of a non-text kind, `Err(expected kind)` when it does not convert.
pub fn cast_setting_text(kind: SettingKind, text: &str) -> Result<Option<Value>, &'static str> {
    cast_text(kind, text)
}

/// Why a text value could not be converted; the expected kind.
pub(crate) fn cast_text(kind: SettingKind, text: &str) -> Result<Option<Value>, &'static str> {
    let trimmed = text.trim();
    match kind {
        SettingKind::Integer => {
            if trimmed.is_empty() {
                return Ok(None);
            }
            trimmed
                .parse::<i64>()
                .map(|n| Some(Value::from(n)))
                .map_err(|_| "integer")
        }
        SettingKind::Decimal => {
            if trimmed.is_empty() {
                return Ok(None);
            }
            if let Ok(n) = trimmed.parse::<i64>() {
                return Ok(Some(Value::from(n)));
            }
            trimmed
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(|n| Some(Value::Number(n)))
                .ok_or("decimal number")
        }
        SettingKind::Boolean => Ok(Some(Value::Bool(matches!(
            trimmed.to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on"
        )))),
        SettingKind::Object => {
            if trimmed.is_empty() {
                return Ok(None);
            }
            match serde_json::from_str::<Value>(trimmed) {
                Ok(v @ Value::Object(_)) => Ok(Some(v)),
                _ => Err("JSON object"),
            }
        }
        SettingKind::Array => {
            if trimmed.is_empty() {
                return Ok(None);
            }
            match serde_json::from_str::<Value>(trimmed) {
                Ok(v @ Value::Array(_)) => Ok(Some(v)),
                _ => Err("JSON array"),
            }
        }
        _ => Ok(Some(Value::String(text.to_string()))),
    }
}

/// Names of the variables that set `def` for `plugin`, in lookup order.
pub(crate) fn read_var_names(plugin: &Plugin, def: &SettingDef) -> Vec<String> {
    let mut names = Vec::new();
    let prefixes = [plugin.name.as_str(), plugin.namespace.as_str()];
    for prefix in prefixes {
        names.push(env_var_name(&[prefix, &def.name]));
    }
    for alias in &def.aliases {
        for prefix in prefixes {
            names.push(env_var_name(&[prefix, alias]));
        }
    }
    if let Some(env) = def.env.as_ref().filter(|e| !e.is_empty()) {
        names.push(env.clone());
    }
    let mut seen = BTreeSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// Resolves `plugin`'s configuration (see the `resolve` module for the precedence).
pub(crate) fn resolve_plugin_config(
    project: &Project,
    plugin: &Plugin,
    mapping: Option<&Mapping>,
) -> Result<ResolvedConfig, ProjectError> {
    resolve_with_depth(project, plugin, mapping, 0)
}

fn resolve_with_depth(
    project: &Project,
    plugin: &Plugin,
    mapping: Option<&Mapping>,
    depth: usize,
) -> Result<ResolvedConfig, ProjectError> {
    let layers = EnvLayers::for_plugin(project, plugin);
    let lookup = |name: &str| layers.lookup(project, name);

    // Declared names and aliases → canonical name.
    let mut names: HashMap<String, String> = HashMap::new();
    for def in &plugin.settings {
        names.insert(def.name.clone(), def.name.clone());
    }
    for def in &plugin.settings {
        for alias in &def.aliases {
            names
                .entry(alias.clone())
                .or_insert_with(|| def.name.clone());
        }
    }

    let env_override = project
        .active_environment()
        .and_then(|e| e.plugin(plugin.plugin_type, &plugin.name));
    let mut env_flat = Vec::new();
    if let Some(over) = env_override {
        let ptr = pointer_push(&over.pointer, "config");
        flatten(&over.config, "", &ptr, &names, &mut env_flat);
    }
    let (env_order, env_layer) = layer_index(env_flat);
    let mut yml_flat = Vec::new();
    flatten(
        &plugin.config,
        "",
        &pointer_push(&plugin.pointer, "config"),
        &names,
        &mut yml_flat,
    );
    let (yml_order, yml_layer) = layer_index(yml_flat);
    let store = project.stored_settings(&plugin_store_namespace(plugin));
    let store_flat: Vec<(String, Value)> = {
        let mut flat = Vec::new();
        flatten(&store, "", "", &names, &mut flat);
        flat.into_iter().map(|(n, l)| (n, l.value)).collect()
    };

    let inherited = match plugin.inherit_from.as_deref() {
        Some(parent_name) if depth < 64 => {
            match project.find_plugin_of_type(plugin.plugin_type, parent_name) {
                Some(parent) => {
                    let parent_config = resolve_with_depth(project, parent, None, depth + 1)?;
                    let values = parent_config
                        .sources
                        .iter()
                        .filter(|(_, s)| **s != SettingSource::Default)
                        .filter_map(|(n, _)| parent_config.get(n).map(|v| (n.clone(), v.clone())))
                        .collect::<Vec<_>>();
                    Some((parent_name.to_string(), values))
                }
                None => None,
            }
        }
        _ => None,
    };

    // Every setting to resolve: declared ones, then custom keys found in any layer.
    let mut defs: Vec<SettingDef> = plugin.settings.clone();
    let mut known: BTreeSet<String> = defs.iter().map(|d| d.name.clone()).collect();
    let mut custom = BTreeSet::new();
    let inherited_list: &[(String, Value)] =
        inherited.as_ref().map(|(_, v)| v.as_slice()).unwrap_or(&[]);
    let customs = yml_order
        .iter()
        .map(|n| (n, yml_layer.get(n).map(|l| &l.value)))
        .chain(
            env_order
                .iter()
                .map(|n| (n, env_layer.get(n).map(|l| &l.value))),
        )
        .chain(store_flat.iter().map(|(n, v)| (n, Some(v))))
        .chain(inherited_list.iter().map(|(n, v)| (n, Some(v))));
    for (name, sample) in customs {
        if known.insert(name.clone()) {
            let kind = sample.map(SettingKind::infer).unwrap_or_default();
            defs.push(SettingDef::new(name.clone(), kind));
            custom.insert(name.clone());
        }
    }

    let var_names = |def: &SettingDef| read_var_names(plugin, def);
    let scope = Scope {
        owner_type: plugin.plugin_type.label().to_string(),
        owner: plugin.name.clone(),
        defs,
        custom,
        var_names: &var_names,
        cli: HashMap::new(),
        layers: &layers,
        files: vec![
            FileLayer {
                source: SettingSource::Environment,
                origin: format!(
                    "environment `{}`",
                    project.environment.as_deref().unwrap_or_default()
                ),
                values: env_layer,
            },
            FileLayer {
                source: SettingSource::MeltanoYml,
                origin: "the plugin's `config`".to_string(),
                values: yml_layer,
            },
        ],
        store: store_flat.into_iter().collect(),
        inherited: inherited.map(|(p, v)| (p, v.into_iter().collect())),
    };
    let mut out = resolve_scope(project, &scope)?;

    if let Some(mapping) = mapping {
        for (key, value) in &mapping.config {
            let expanded = expand_value(value, &lookup);
            if expanded.is_null() {
                continue;
            }
            let prefix = format!("{key}.");
            out.sources.retain(|n, _| !n.starts_with(&prefix));
            out.origins.retain(|n, _| !n.starts_with(&prefix));
            out.sensitive.retain(|n| !n.starts_with(&prefix));
            out.values.insert(key.clone(), expanded);
            out.sources.insert(key.clone(), SettingSource::MeltanoYml);
        }
    }
    Ok(out)
}

/// The system database namespace of a plugin's stored settings: `<type plural>.<name>`.
pub fn plugin_store_namespace(plugin: &Plugin) -> String {
    format!("{}.{}", plugin.plugin_type.plural(), plugin.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_names_nest_and_escape() {
        assert_eq!(split_path("a.b.c"), vec!["a", "b", "c"]);
        assert_eq!(split_path("a\\.b.c"), vec!["a.b", "c"]);
        let mut cfg = ResolvedConfig::default();
        cfg.set(
            "a.b",
            json!(1),
            SettingSource::MeltanoYml,
            false,
            SettingOrigin::default(),
        );
        cfg.set(
            "a.c",
            json!("x"),
            SettingSource::Env,
            true,
            SettingOrigin::default(),
        );
        cfg.set(
            "top",
            json!(null),
            SettingSource::Default,
            false,
            SettingOrigin::default(),
        );
        assert_eq!(
            Value::Object(cfg.values.clone()),
            json!({"a": {"b": 1, "c": "x"}})
        );
        assert_eq!(cfg.get("a.c"), Some(&json!("x")));
        assert_eq!(cfg.source("a.b"), Some(SettingSource::MeltanoYml));
        assert!(!cfg.sources.contains_key("top"));
        assert_eq!(
            Value::Object(cfg.redacted()),
            json!({"a": {"b": 1, "c": "(redacted)"}})
        );
        assert_eq!(cfg.flat().len(), 2);
    }

    #[test]
    fn text_casts_by_kind() {
        assert_eq!(cast_text(SettingKind::Integer, " 42 "), Ok(Some(json!(42))));
        assert_eq!(cast_text(SettingKind::Integer, "4x"), Err("integer"));
        assert_eq!(cast_text(SettingKind::Integer, ""), Ok(None));
        assert_eq!(
            cast_text(SettingKind::Boolean, "Yes"),
            Ok(Some(json!(true)))
        );
        assert_eq!(cast_text(SettingKind::Boolean, "1"), Ok(Some(json!(true))));
        assert_eq!(
            cast_text(SettingKind::Boolean, "no"),
            Ok(Some(json!(false)))
        );
        assert_eq!(
            cast_text(SettingKind::Object, "{\"a\":1}"),
            Ok(Some(json!({"a": 1})))
        );
        assert_eq!(cast_text(SettingKind::Object, "[1]"), Err("JSON object"));
        assert_eq!(
            cast_text(SettingKind::Array, "[1, \"b\"]"),
            Ok(Some(json!([1, "b"])))
        );
        assert_eq!(cast_text(SettingKind::Decimal, "1.5"), Ok(Some(json!(1.5))));
        assert_eq!(
            cast_text(SettingKind::String, " keep "),
            Ok(Some(json!(" keep ")))
        );
    }

    #[test]
    fn flatten_stops_at_declared_settings_and_maps_aliases() {
        let cfg = json!({"conn": {"host": "h", "opts": {"a": 1}}, "old": 3, "empty": {}});
        let mut names = HashMap::new();
        names.insert("conn.opts".to_string(), "conn.opts".to_string());
        names.insert("old".to_string(), "new".to_string());
        let mut out = Vec::new();
        if let Value::Object(map) = &cfg {
            flatten(map, "", "/c", &names, &mut out);
        }
        let got: Vec<(String, Value, String)> = out
            .into_iter()
            .map(|(n, l)| (n, l.value, l.pointer))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "conn.host".to_string(),
                    json!("h"),
                    "/c/conn/host".to_string()
                ),
                (
                    "conn.opts".to_string(),
                    json!({"a": 1}),
                    "/c/conn/opts".to_string()
                ),
                ("new".to_string(), json!(3), "/c/old".to_string()),
                ("empty".to_string(), json!({}), "/c/empty".to_string()),
            ]
        );
    }
}
