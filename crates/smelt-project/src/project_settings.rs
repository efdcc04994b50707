//! Project-level settings, the state ID suffix, and the plugin resolution entry points.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::env_layers::EnvLayers;
use crate::env_names::env_var_name;
use crate::error::ProjectError;
use crate::expand::{expand_str, expand_value};
use crate::plugin::{Mapping, Plugin};
use crate::plugin_env::build_plugin_env;
use crate::project::Project;
use crate::settings::{resolve_plugin_config, split_path, ResolvedConfig};

impl Project {
    /// A project-level setting such as `elt.buffer_size`, `state_backend.uri`,
    /// `database_uri` or `state_backend.lock_timeout_seconds`.
    ///
    /// Precedence: `MELTANO_<NAME>` (dots → `_`) from the process environment (parsed as JSON
    /// when it parses, else text), then `.env`, then the `env:` blocks of meltano.yml, then the
    /// active environment's `config`, then meltano.yml's top level (nested keys or a literal
    /// dotted key). Strings from files are `$VAR`-expanded. `None` when nothing sets it:
    /// defaults are the caller's business.
    pub fn setting(&self, dotted: &str) -> Option<Value> {
        let var = env_var_name(&["meltano", dotted]);
        let layers = EnvLayers::for_project(self);
        if let Some(text) = self
            .process_env
            .get(&var)
            .or_else(|| self.dotenv.get(&var))
            .or_else(|| layers.blocks(&var))
        {
            return Some(
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())),
            );
        }
        let path = split_path(dotted);
        let lookup = |name: &str| layers.lookup(self, name);
        if let Some(env) = self.active_environment() {
            if let Some(v) = lookup_path(&env.config, &path) {
                return Some(expand_value(v, &lookup));
            }
        }
        let top = self.document.as_object()?;
        lookup_path(top, &path).map(|v| expand_value(v, &lookup))
    }

    /// The active environment's `state_id_suffix`, expanded; `None` without an active
    /// environment or when it is empty.
    pub fn state_id_suffix(&self) -> Option<String> {
        let raw = self.active_environment()?.state_id_suffix.as_ref()?;
        let layers = EnvLayers::for_project(self);
        let expanded = expand_str(raw, &|name| layers.lookup(self, name));
        (!expanded.is_empty()).then_some(expanded)
    }

    /// Resolves `plugin`'s configuration with provenance; with `mapping`, that mapping's
    /// `config` is layered over the mapper's.
    pub fn plugin_config(
        &self,
        plugin: &Plugin,
        mapping: Option<&Mapping>,
    ) -> Result<ResolvedConfig, ProjectError> {
        resolve_plugin_config(self, plugin, mapping)
    }

    /// The variables to add to the inherited OS environment when running `plugin` with
    /// `config` (see the `plugin_env` module docs for the layering).
    pub fn plugin_env(&self, plugin: &Plugin, config: &ResolvedConfig) -> BTreeMap<String, String> {
        build_plugin_env(self, plugin, config)
    }
}

/// Finds `path` in nested mappings, also accepting keys that contain dots literally.
fn lookup_path<'a>(map: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    for take in (1..=path.len()).rev() {
        let key = path[..take].join(".");
        if let Some(value) = map.get(&key) {
            if take == path.len() {
                if value.is_null() {
                    continue;
                }
                return Some(value);
            }
            if let Some(inner) = value.as_object() {
                if let Some(found) = lookup_path(inner, &path[take..]) {
                    return Some(found);
                }
            }
        }
    }
    None
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
        assert_eq!(lookup_path(&map, &p("elt.buffer_size")), Some(&json!(5)));
        assert_eq!(
            lookup_path(&map, &p("state_backend.uri")),
            Some(&json!("s3://b"))
        );
        assert_eq!(lookup_path(&map, &p("x.y.z")), Some(&json!(1)));
        assert_eq!(lookup_path(&map, &p("elt.nope")), None);
    }
}
