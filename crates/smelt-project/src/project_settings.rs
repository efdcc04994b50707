//! The state ID suffix and the plugin resolution entry points.

use std::collections::BTreeMap;

use crate::env_layers::EnvLayers;
use crate::error::ProjectError;
use crate::expand::expand_str;
use crate::plugin::{Mapping, Plugin};
use crate::plugin_env::build_plugin_env;
use crate::project::Project;
use crate::settings::{resolve_plugin_config, ResolvedConfig};

impl Project {
    /// The active environment's `state_id_suffix`, expanded; `None` without an active
    /// environment or when it is empty.
    pub fn state_id_suffix(&self) -> Option<String> {
        let raw = self.active_environment()?.state_id_suffix.as_ref()?;
        let layers = EnvLayers::for_project(self);
        let expanded = expand_str(raw, &|name| layers.lookup(self, name));
        (!expanded.is_empty()).then_some(expanded)
    }

    /// Expands `$VAR` / `${VAR}` in `text` (a `pip_url`, say) the way a plugin's values are
    /// expanded: process environment, `.env`, the `env:` blocks that apply to `plugin`, then
    /// smelt's own `MELTANO_*` variables. Unknown variables become empty.
    pub fn expand_for_plugin(&self, plugin: &Plugin, text: &str) -> String {
        let layers = EnvLayers::for_plugin(self, plugin);
        expand_str(text, &|name| layers.lookup(self, name))
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

    /// Every variable a plugin's setting is exported under (`config print --format env`):
    /// the setting's `env:`, `<NAME>_<SETTING>`, `<NAMESPACE>_<SETTING>`, the parents' names
    /// and namespaces, `MELTANO_<VERB>_<SETTING>`.
    pub fn setting_env_names(&self, plugin: &Plugin, setting: &str) -> Vec<String> {
        let mut names = crate::plugin_env::write_var_names(self, plugin, setting);
        let mut seen = std::collections::BTreeSet::new();
        names.retain(|n| seen.insert(n.clone()));
        names
    }

    /// The names a plugin's setting is read from, in lookup order (`config list`'s `[env: …]`).
    pub fn setting_read_names(&self, plugin: &Plugin, def: &crate::SettingDef) -> Vec<String> {
        crate::settings::read_var_names(plugin, def)
    }

    /// The plugin's extras (`select`, `metadata`, `load_schema`, …; without the leading `_`)
    /// with their values, JSON where the text is JSON.
    pub fn plugin_extras(&self, plugin: &Plugin) -> Vec<(String, serde_json::Value)> {
        let layers = EnvLayers::for_plugin(self, plugin);
        crate::plugin_env::extras_text(self, &layers, plugin)
            .into_iter()
            .map(|(k, text)| {
                let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
                (k.to_string(), value)
            })
            .collect()
    }

    /// The variables an extra is exported under (`TAP_X__SELECT`, `MELTANO_EXTRACT__SELECT`).
    pub fn extra_env_names(&self, plugin: &Plugin, key: &str) -> Vec<String> {
        crate::plugin_env::extra_var_names(plugin, key)
    }

    /// The variables to add to the inherited OS environment when running `plugin` with
    /// `config` (see the `plugin_env` module docs for the layering).
    pub fn plugin_env(&self, plugin: &Plugin, config: &ResolvedConfig) -> BTreeMap<String, String> {
        build_plugin_env(self, plugin, config)
    }
}
