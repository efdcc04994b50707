//! Project settings (`meltano` in `smelt config`), resolved once through the shared resolver,
//! and the typed values a run needs, validated before any plugin starts.
//!
//! Layers, highest first: command line (`--log-level`, `--database-uri`), `MELTANO_<NAME>` from
//! the environment, `.env` and meltano.yml `env:` blocks, the active environment's `config:`,
//! meltano.yml's top level (nested keys or a literal dotted key), the system database, the
//! default from [`MELTANO_SETTINGS`].

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::env_layers::EnvLayers;
use crate::env_names::env_var_name;
use crate::error::ProjectError;
use crate::meltano_settings::{MeltanoSettingDef, MELTANO_SETTINGS};
use crate::project::Project;
use crate::resolve::{resolve_scope, FileLayer, LayerValue, Scope};
use crate::setting_def::SettingDef;
use crate::settings::{split_path, ResolvedConfig, SettingSource};
use crate::source_map::pointer_push;

/// The system database namespace of project settings.
pub const MELTANO_STORE_NAMESPACE: &str = "meltano";

impl Project {
    /// Every project setting of [`MELTANO_SETTINGS`], resolved with provenance.
    pub fn meltano_config(&self) -> Result<ResolvedConfig, ProjectError> {
        let defs: Vec<SettingDef> = MELTANO_SETTINGS
            .iter()
            .map(MeltanoSettingDef::to_setting_def)
            .collect();
        let layers = EnvLayers::for_project(self);
        let var_names = |def: &SettingDef| vec![env_var_name(&["meltano", &def.name])];

        let mut env_values = HashMap::new();
        let mut yml_values = HashMap::new();
        let env_index = self
            .environment
            .as_deref()
            .and_then(|name| self.environments.iter().position(|e| e.name == name));
        for def in &defs {
            let path = split_path(&def.name);
            if let Some(i) = env_index {
                let base = format!("/environments/{i}/config");
                if let Some(found) = lookup_path(&self.environments[i].config, &path, &base) {
                    env_values.insert(def.name.clone(), found);
                }
            }
            if let Some(top) = self.document.as_object() {
                if let Some(found) = lookup_path(top, &path, "") {
                    yml_values.insert(def.name.clone(), found);
                }
            }
        }
        let store = self
            .stored_settings(MELTANO_STORE_NAMESPACE)
            .into_iter()
            .collect();
        let scope = Scope {
            owner_type: "project".to_string(),
            owner: "meltano".to_string(),
            defs,
            custom: BTreeSet::new(),
            var_names: &var_names,
            cli: self
                .cli_settings
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            layers: &layers,
            files: vec![
                FileLayer {
                    source: SettingSource::Environment,
                    origin: format!(
                        "environment `{}`",
                        self.environment.as_deref().unwrap_or_default()
                    ),
                    values: env_values,
                },
                FileLayer {
                    source: SettingSource::MeltanoYml,
                    origin: "meltano.yml".to_string(),
                    values: yml_values,
                },
            ],
            store,
            inherited: None,
        };
        resolve_scope(self, &scope)
    }

    /// The typed project settings a command needs, validated: a wrong value is an error
    /// naming the setting, where it came from and what is expected.
    pub fn project_settings(&self) -> Result<ProjectSettings, ProjectError> {
        ProjectSettings::from_config(self.meltano_config()?)
    }

    /// A project setting's resolved value (see [`Project::meltano_config`]); `None` when
    /// nothing sets it and it has no default.
    pub fn setting(&self, dotted: &str) -> Option<Value> {
        self.meltano_config().ok()?.get(dotted).cloned()
    }
}

/// Finds `path` in nested mappings, also accepting keys that contain dots literally; returns
/// the value with its JSON Pointer under `base`.
fn lookup_path(map: &Map<String, Value>, path: &[String], base: &str) -> Option<LayerValue> {
    for take in (1..=path.len()).rev() {
        let key = path[..take].join(".");
        if let Some(value) = map.get(&key) {
            let pointer = pointer_push(base, &key);
            if take == path.len() {
                if value.is_null() {
                    continue;
                }
                return Some(LayerValue {
                    value: value.clone(),
                    pointer,
                });
            }
            if let Some(inner) = value.as_object() {
                if let Some(found) = lookup_path(inner, &path[take..], &pointer) {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// The project settings smelt acts on, typed. Everything a run needs is read from here, never
/// from raw setting text.
#[derive(Clone, PartialEq)]
pub struct ProjectSettings {
    /// `elt.buffer_size`: the longest message line relayed, in bytes.
    pub buffer_size: usize,
    /// `state_backend.uri` (`systemdb` by default).
    pub state_backend_uri: String,
    /// `state_backend.lock_timeout_seconds`.
    pub lock_timeout: Duration,
    /// `state_backend.lock_retry_seconds`.
    pub lock_retry: Duration,
    /// `database_uri`, when set (else the embedded SQLite database).
    pub database_uri: Option<String>,
    /// `project_readonly`: refuse edits to project files and stored settings.
    pub project_readonly: bool,
    /// How long to wait for a PostgreSQL system database (`database_*_timeout*`, retries).
    pub database_waits: DatabaseWaits,
    /// `state_backend.timeout_seconds`: bound on one cloud state operation (`None`: 0, none).
    pub state_backend_timeout: Option<Duration>,
    /// `venv.backend`: how plugin virtualenvs are made (`uv` unless set to `virtualenv`).
    pub venv_backend: VenvBackend,
    /// `python`: the interpreter for plugin virtualenvs when a plugin names none.
    pub python: Option<String>,
    /// Everything, resolved with provenance (for the settings not typed above).
    pub resolved: ResolvedConfig,
}

impl std::fmt::Debug for ProjectSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectSettings")
            .field("buffer_size", &self.buffer_size)
            .field("state_backend_uri", &"(not shown: may hold credentials)")
            .field("lock_timeout", &self.lock_timeout)
            .field("lock_retry", &self.lock_retry)
            .field("project_readonly", &self.project_readonly)
            .field("database_waits", &self.database_waits)
            .field("state_backend_timeout", &self.state_backend_timeout)
            .field("venv_backend", &self.venv_backend)
            .field("python", &self.python)
            .finish_non_exhaustive()
    }
}

impl ProjectSettings {
    /// Types and validates the resolved project settings.
    pub fn from_config(resolved: ResolvedConfig) -> Result<ProjectSettings, ProjectError> {
        let buffer = positive_int(&resolved, "elt.buffer_size")?;
        let buffer_size = usize::try_from(buffer).map_err(|_| {
            invalid(
                &resolved,
                "elt.buffer_size",
                "is too large for this machine",
            )
        })?;
        Ok(ProjectSettings {
            buffer_size,
            state_backend_uri: text(&resolved, "state_backend.uri")
                .unwrap_or_else(|| "systemdb".to_string()),
            lock_timeout: seconds(&resolved, "state_backend.lock_timeout_seconds")?,
            lock_retry: seconds(&resolved, "state_backend.lock_retry_seconds")?,
            database_uri: text(&resolved, "database_uri").filter(|s| !s.trim().is_empty()),
            project_readonly: resolved
                .get("project_readonly")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            database_waits: DatabaseWaits::from_config(&resolved)?,
            state_backend_timeout: bound(&resolved, "state_backend.timeout_seconds")?,
            venv_backend: VenvBackend::from_config(&resolved)?,
            python: text(&resolved, "python").filter(|s| !s.trim().is_empty()),
            resolved,
        })
    }

    /// A text setting's value (`None` when unset or empty).
    pub fn text(&self, name: &str) -> Option<String> {
        text(&self.resolved, name)
    }
}

/// How plugin virtualenvs are created (`venv.backend`, Meltano's values).
///
/// Meltano 4 defaults to `uv`, and so does smelt: unset means uv. An explicit `virtualenv`
/// asks for `python -m venv` + pip, which is slower but needs nothing beyond Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VenvBackend {
    /// `uv venv` + `uv pip install` (the default).
    #[default]
    Uv,
    /// `python -m venv` + `pip install`.
    Virtualenv,
}

impl VenvBackend {
    /// Types `venv.backend`; any value but `uv` or `virtualenv` is an error naming its source.
    pub fn from_config(resolved: &ResolvedConfig) -> Result<VenvBackend, ProjectError> {
        match text(resolved, "venv.backend").as_deref() {
            None | Some("uv") => Ok(VenvBackend::Uv),
            Some("virtualenv") => Ok(VenvBackend::Virtualenv),
            Some(_) => Err(invalid(
                resolved,
                "venv.backend",
                "must be `uv` or `virtualenv`",
            )),
        }
    }

    /// The setting's value as written in `meltano.yml`.
    pub fn as_str(self) -> &'static str {
        match self {
            VenvBackend::Uv => "uv",
            VenvBackend::Virtualenv => "virtualenv",
        }
    }
}

/// How long smelt waits for a PostgreSQL system database. Read before the database is opened
/// (so without the settings stored in it), since these settings decide how it is opened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DatabaseWaits {
    /// `database_connect_timeout_seconds` (`None`: 0, no bound).
    pub connect: Option<Duration>,
    /// `database_statement_timeout_seconds` (`None`: 0, no bound).
    pub statement: Option<Duration>,
    /// `database_max_retries`: retries of a failed initial connection.
    pub max_retries: u32,
    /// `database_retry_timeout`: pause between those retries.
    pub retry_pause: Duration,
}

impl DatabaseWaits {
    /// Types and validates the `database_*` wait settings.
    pub fn from_config(resolved: &ResolvedConfig) -> Result<DatabaseWaits, ProjectError> {
        let retries = match resolved.get("database_max_retries").and_then(Value::as_i64) {
            Some(n) if (0..=1000).contains(&n) => n as u32,
            _ => {
                return Err(invalid(
                    resolved,
                    "database_max_retries",
                    "must be a whole number from 0 to 1000",
                ))
            }
        };
        Ok(DatabaseWaits {
            connect: bound(resolved, "database_connect_timeout_seconds")?,
            statement: bound(resolved, "database_statement_timeout_seconds")?,
            max_retries: retries,
            retry_pause: seconds(resolved, "database_retry_timeout")?,
        })
    }
}

/// A timeout setting in seconds; 0 means no bound.
fn bound(resolved: &ResolvedConfig, name: &str) -> Result<Option<Duration>, ProjectError> {
    let d = seconds(resolved, name)?;
    Ok((!d.is_zero()).then_some(d))
}

fn text(resolved: &ResolvedConfig, name: &str) -> Option<String> {
    match resolved.get(name)? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn invalid(resolved: &ResolvedConfig, name: &str, problem: &str) -> ProjectError {
    let origin = resolved.describe_source(name);
    let location = resolved.origin(name).and_then(|o| o.location.clone());
    ProjectError::invalid(
        location,
        format!("project setting `{name}` {problem} (its value comes {origin})"),
        format!(
            "fix it where it is set (meltano.yml, {} or `smelt config set meltano {name} …`), or unset it for the default",
            env_var_name(&["meltano", name])
        ),
    )
}

fn positive_int(resolved: &ResolvedConfig, name: &str) -> Result<u64, ProjectError> {
    match resolved.get(name).and_then(Value::as_i64) {
        Some(n) if n > 0 => Ok(n as u64),
        _ => Err(invalid(resolved, name, "must be a whole number above 0")),
    }
}

fn seconds(resolved: &ResolvedConfig, name: &str) -> Result<Duration, ProjectError> {
    match resolved.get(name).and_then(Value::as_f64) {
        Some(n) if (0.0..=86_400.0 * 365.0).contains(&n) => Ok(Duration::from_secs_f64(n)),
        _ => Err(invalid(
            resolved,
            name,
            "must be a number of seconds between 0 and one year",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_lookup_accepts_nested_and_literal_dotted_keys() {
        let doc =
            json!({"elt": {"buffer_size": 5}, "state_backend.uri": "s3://b", "x": {"y.z": 1}});
        let Value::Object(map) = doc else { return };
        let p = |s: &str| split_path(s);
        let found = lookup_path(&map, &p("elt.buffer_size"), "").map(|l| (l.value, l.pointer));
        assert_eq!(found, Some((json!(5), "/elt/buffer_size".to_string())));
        assert_eq!(
            lookup_path(&map, &p("state_backend.uri"), "").map(|l| l.value),
            Some(json!("s3://b"))
        );
        assert_eq!(
            lookup_path(&map, &p("x.y.z"), "").map(|l| l.value),
            Some(json!(1))
        );
        assert!(lookup_path(&map, &p("elt.nope"), "").is_none());
    }
}
