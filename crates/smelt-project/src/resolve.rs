//! The one settings resolver: given setting definitions and the layers that can set them, picks
//! each value by Meltano's precedence, types it by the setting's kind and records where it came
//! from. Plugin settings (`settings.rs`) and project settings (`project_config.rs`) both build
//! a [`Scope`] and call [`resolve_scope`]; nothing else decides precedence.
//!
//! Precedence, highest first: command line, environment variables, `.env`, meltano.yml `env:`
//! blocks (same variable names), the file layers in the order given (active environment, then
//! meltano.yml), the system database, the parent plugin, the default.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::env_layers::EnvLayers;
use crate::error::{BadSettingValue, Location, ProjectError};
use crate::expand::{expand_str, expand_value};
use crate::project::Project;
use crate::setting_def::{SettingDef, SettingKind};
use crate::settings::{cast_text, ResolvedConfig, SettingOrigin, SettingSource, REDACTED};

/// A candidate value from one file layer, with the JSON Pointer of where it is written.
#[derive(Debug, Clone)]
pub(crate) struct LayerValue {
    pub value: Value,
    pub pointer: String,
}

/// One layer read from a YAML file: the active environment's config or meltano.yml's.
pub(crate) struct FileLayer {
    pub source: SettingSource,
    /// How errors name it ("environment `prod`", "the plugin's `config`").
    pub origin: String,
    pub values: HashMap<String, LayerValue>,
}

/// Everything that can set the settings of one owner (a plugin, or the project).
pub(crate) struct Scope<'a> {
    /// "extractor", "loader", … or "project" (for error messages).
    pub owner_type: String,
    /// The plugin's name, or `meltano` for project settings.
    pub owner: String,
    /// Declared settings first, then custom ones found in the layers.
    pub defs: Vec<SettingDef>,
    /// Names of custom (undeclared) settings among `defs`.
    pub custom: BTreeSet<String>,
    /// The variables that set a definition, in lookup order.
    pub var_names: &'a dyn Fn(&SettingDef) -> Vec<String>,
    /// Command-line overrides by dotted name.
    pub cli: HashMap<String, Value>,
    /// The `env:` blocks that apply, and `$VAR` lookup.
    pub layers: &'a EnvLayers,
    /// File layers, highest precedence first.
    pub files: Vec<FileLayer>,
    /// Values stored in the system database, by dotted name.
    pub store: HashMap<String, Value>,
    /// The parent's resolved values (`inherit_from`), with the parent's name.
    pub inherited: Option<(String, HashMap<String, Value>)>,
}

/// Resolves every definition of `scope`.
pub(crate) fn resolve_scope(
    project: &Project,
    scope: &Scope<'_>,
) -> Result<ResolvedConfig, ProjectError> {
    let lookup = |name: &str| scope.layers.lookup(project, name);
    let mut out = ResolvedConfig {
        settings: scope.defs.clone(),
        custom: scope.custom.clone(),
        ..ResolvedConfig::default()
    };
    for def in &scope.defs {
        let sensitive = def.is_sensitive();
        let bad = |origin: String, value: &Value, kind: &str, location: Option<Location>| {
            let shown = if sensitive {
                REDACTED.to_string()
            } else {
                match value {
                    Value::String(s) => format!("{s:?}"),
                    other => other.to_string(),
                }
            };
            ProjectError::BadSettingValue(Box::new(BadSettingValue {
                location,
                origin,
                setting: def.name.clone(),
                plugin: scope.owner.clone(),
                plugin_type: scope.owner_type.clone(),
                shown_value: shown,
                kind: kind.to_string(),
            }))
        };
        let check = |value: Value, origin: &dyn Fn() -> (String, Option<Location>)| {
            if def.allows(&value) {
                Ok(value)
            } else {
                let (what, location) = origin();
                let kind = format!("option (one of: {})", def.options.join(", "));
                Err(bad(what, &value, &kind, location))
            }
        };

        // Command line.
        if let Some(value) = scope.cli.get(&def.name) {
            let value = typed_value(def, value, &lookup)
                .map_err(|(v, kind)| bad("the command line".to_string(), &v, kind, None))?;
            if !value.is_null() {
                let value = check(value, &|| ("the command line".to_string(), None))?;
                out.set(
                    &def.name,
                    value,
                    SettingSource::Cli,
                    sensitive,
                    SettingOrigin::default(),
                );
                continue;
            }
        }

        // Variables: process environment, `.env`, `env:` blocks.
        let var_names = (scope.var_names)(def);
        let from_vars = var_names
            .iter()
            .find_map(|n| {
                project
                    .process_env
                    .get(n)
                    .map(|v| (n, v, SettingSource::Env, "environment variable"))
            })
            .or_else(|| {
                var_names.iter().find_map(|n| {
                    project
                        .dotenv
                        .get(n)
                        .map(|v| (n, v, SettingSource::DotEnv, ".env variable"))
                })
            })
            .or_else(|| {
                var_names.iter().find_map(|n| {
                    scope
                        .layers
                        .blocks(n)
                        .map(|v| (n, v, SettingSource::Env, "meltano.yml `env:` variable"))
                })
            });
        if let Some((var, text, source, what)) = from_vars {
            let origin = || (format!("{what} {var}"), None);
            match cast_text(def.kind, text) {
                Ok(Some(value)) => {
                    let value = check(value, &origin)?;
                    let detail = SettingOrigin {
                        variable: Some(var.clone()),
                        ..SettingOrigin::default()
                    };
                    out.set(&def.name, value, source, sensitive, detail);
                    continue;
                }
                Ok(None) => {}
                Err(kind) => return Err(bad(origin().0, &Value::String(text.clone()), kind, None)),
            }
        }

        // Files: the active environment, then meltano.yml.
        let mut resolved = false;
        for layer in &scope.files {
            let Some(candidate) = layer.values.get(&def.name) else {
                continue;
            };
            if candidate.value.is_null() {
                continue;
            }
            let location = project.source_map.locate(&candidate.pointer).cloned();
            let value = typed_value(def, &candidate.value, &lookup)
                .map_err(|(v, kind)| bad(layer.origin.clone(), &v, kind, location.clone()))?;
            if value.is_null() {
                continue;
            }
            let value = check(value, &|| (layer.origin.clone(), location.clone()))?;
            let detail = SettingOrigin {
                location,
                ..SettingOrigin::default()
            };
            out.set(&def.name, value, layer.source, sensitive, detail);
            resolved = true;
            break;
        }
        if resolved {
            continue;
        }

        // The system database.
        if let Some(value) = scope.store.get(&def.name).filter(|v| !v.is_null()) {
            let origin = || ("the system database".to_string(), None);
            let value = typed_value(def, value, &lookup)
                .map_err(|(v, kind)| bad(origin().0, &v, kind, None))?;
            if !value.is_null() {
                let value = check(value, &origin)?;
                out.set(
                    &def.name,
                    value,
                    SettingSource::SystemDb,
                    sensitive,
                    SettingOrigin::default(),
                );
                continue;
            }
        }

        // The parent plugin.
        if let Some((parent, values)) = &scope.inherited {
            if let Some(value) = values.get(&def.name) {
                let detail = SettingOrigin {
                    parent: Some(parent.clone()),
                    ..SettingOrigin::default()
                };
                out.set(
                    &def.name,
                    value.clone(),
                    SettingSource::Inherited,
                    sensitive,
                    detail,
                );
                continue;
            }
        }

        // The default.
        if let Some(default) = &def.value {
            let value = typed_value(def, default, &lookup).map_err(|(v, kind)| {
                bad("the setting's default `value`".to_string(), &v, kind, None)
            })?;
            out.set(
                &def.name,
                value,
                SettingSource::Default,
                sensitive,
                SettingOrigin::default(),
            );
        }
    }
    Ok(out)
}

/// Expands a value from a file (or the command line) and converts text to the setting's kind.
/// A non-empty string that expands to nothing (all its variables unset) counts as unset, as
/// in Meltano.
pub(crate) fn typed_value(
    def: &SettingDef,
    value: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, (Value, &'static str)> {
    match value {
        Value::String(raw) => {
            let expanded = expand_str(raw, lookup);
            if !raw.is_empty() && expanded.is_empty() {
                return Ok(Value::Null);
            }
            match cast_text(def.kind, &expanded) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Ok(Value::Null),
                Err(kind) => Err((Value::String(expanded), kind)),
            }
        }
        other => {
            let expanded = expand_value(other, lookup);
            match (def.kind, &expanded) {
                (SettingKind::Integer, Value::Number(n)) if n.as_i64().is_none() => {
                    Err((expanded.clone(), "integer"))
                }
                (
                    SettingKind::Integer | SettingKind::Decimal,
                    Value::Bool(_) | Value::Array(_) | Value::Object(_),
                ) => Err((
                    expanded.clone(),
                    if def.kind == SettingKind::Integer {
                        "integer"
                    } else {
                        "decimal number"
                    },
                )),
                (SettingKind::Object, v) if !v.is_object() => {
                    Err((expanded.clone(), "JSON object"))
                }
                (SettingKind::Array, v) if !v.is_array() => Err((expanded.clone(), "JSON array")),
                _ => Ok(expanded),
            }
        }
    }
}
