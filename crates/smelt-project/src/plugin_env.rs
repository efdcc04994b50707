//! The environment variables a plugin process gets on top of the inherited OS environment.
//!
//! Lowest to highest, as Meltano 4 layers them: `.env` (below the inherited shell environment,
//! so only variables the shell does not set), then — over the shell — the project's `env:`, the
//! plugin's `env:`, the active environment's `env:`, the environment's plugin `env:` (all
//! expanded), then every resolved setting under
//! each name Meltano exports it as (`<NAMESPACE>_<SETTING>`, `<PLUGIN_NAME>_<SETTING>`, the
//! parents' names, the setting's `env:`, `MELTANO_<VERB>_<SETTING>`), the plugin "extras"
//! (`TAP_X__SELECT`, `MELTANO_EXTRACT__LOAD_SCHEMA`, ...), and finally the variables smelt
//! provides (`MELTANO_PROJECT_ROOT`, `MELTANO_ENVIRONMENT`, `MELTANO_EXTRACTOR_NAME`, ...).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::env_layers::{meltano_vars, EnvLayers};
use crate::env_names::env_var_name;
use crate::expand::expand_str;
use crate::plugin::Plugin;
use crate::plugin_type::PluginType;
use crate::project::Project;
use crate::settings::ResolvedConfig;

/// Text form of a setting value for an environment variable: strings as they are, anything
/// else as JSON.
pub(crate) fn stringify(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The env var prefixes of the plugin's ancestors (`inherit_from` chain), nearest first: each
/// one's name and namespace (Meltano exports a child's settings under its parents' prefixes
/// too, though it reads only its own).
fn ancestor_prefixes<'a>(project: &'a Project, plugin: &'a Plugin) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut current = plugin;
    while let Some(parent_name) = current.inherit_from.as_deref() {
        if seen.len() > 64 || seen.contains(&parent_name) {
            break;
        }
        seen.push(parent_name);
        out.push(parent_name);
        match project.find_plugin_of_type(plugin.plugin_type, parent_name) {
            Some(parent) => {
                out.push(parent.namespace.as_str());
                current = parent;
            }
            None => break,
        }
    }
    out
}

/// Every name a setting is exported under, in Meltano's order (later names never clash).
pub(crate) fn write_var_names(project: &Project, plugin: &Plugin, setting: &str) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(env) = plugin
        .settings
        .iter()
        .find(|d| d.name == setting)
        .and_then(|d| d.env.clone())
        .filter(|e| !e.is_empty())
    {
        names.push(env);
    }
    names.push(env_var_name(&[&plugin.name, setting]));
    names.push(env_var_name(&[&plugin.namespace, setting]));
    for prefix in ancestor_prefixes(project, plugin) {
        names.push(env_var_name(&[prefix, setting]));
    }
    names.push(env_var_name(&[
        "meltano",
        plugin.plugin_type.verb(),
        setting,
    ]));
    names
}

/// Value of a plugin "extra" (`load_schema`, `dialect`, ...): `<NAME>__<EXTRA>` or
/// `<NAMESPACE>__<EXTRA>` from the process environment or `.env`, else the plugin key, else
/// the default.
fn extra_value(
    project: &Project,
    layers: &EnvLayers,
    plugin: &Plugin,
    key: &str,
    default: Option<String>,
) -> Option<String> {
    let extra = format!("_{key}");
    for prefix in [plugin.name.as_str(), plugin.namespace.as_str()] {
        let var = env_var_name(&[prefix, &extra]);
        if let Some(v) = project
            .process_env
            .get(&var)
            .or_else(|| project.dotenv.get(&var))
        {
            return Some(v.clone());
        }
    }
    match plugin.extra.get(key) {
        Some(Value::Null) | None => default,
        Some(Value::String(s)) => Some(expand_str(s, &|n| layers.lookup(project, n))),
        Some(other) => Some(stringify(other)),
    }
}

/// The names a plugin extra is exported under: `<NAME>__<EXTRA>`, `<NAMESPACE>__<EXTRA>`,
/// `MELTANO_<VERB>__<EXTRA>`.
pub(crate) fn extra_var_names(plugin: &Plugin, key: &str) -> Vec<String> {
    let extra = format!("_{key}");
    let mut names = Vec::new();
    for prefix in [plugin.name.as_str(), plugin.namespace.as_str()] {
        let var = env_var_name(&[prefix, &extra]);
        if !names.contains(&var) {
            names.push(var);
        }
    }
    names.push(env_var_name(&[
        "meltano",
        plugin.plugin_type.verb(),
        &extra,
    ]));
    names
}

/// The plugin's extras as text, in Meltano's order (those with a value).
pub(crate) fn extras_text(
    project: &Project,
    layers: &EnvLayers,
    plugin: &Plugin,
) -> Vec<(&'static str, String)> {
    let mut extras: Vec<(&'static str, Option<String>)> = Vec::new();
    match plugin.plugin_type {
        PluginType::Extractor => {
            extras.push((
                "load_schema",
                extra_value(
                    project,
                    layers,
                    plugin,
                    "load_schema",
                    Some(plugin.namespace.clone()),
                ),
            ));
            extras.push((
                "select",
                Some(Value::from(plugin.select.clone()).to_string()),
            ));
            extras.push((
                "metadata",
                Some(Value::Object(plugin.metadata.clone()).to_string()),
            ));
            extras.push((
                "schema",
                Some(Value::Object(plugin.schema.clone()).to_string()),
            ));
            extras.push(("catalog", plugin.catalog.clone()));
            extras.push(("state", plugin.state.clone()));
            extras.push((
                "select_filter",
                extra_value(project, layers, plugin, "select_filter", Some("[]".into())),
            ));
            extras.push((
                "use_cached_catalog",
                extra_value(
                    project,
                    layers,
                    plugin,
                    "use_cached_catalog",
                    Some("true".into()),
                ),
            ));
        }
        PluginType::Loader => {
            extras.push((
                "dialect",
                extra_value(
                    project,
                    layers,
                    plugin,
                    "dialect",
                    Some(plugin.namespace.clone()),
                ),
            ));
            extras.push((
                "target_schema",
                extra_value(project, layers, plugin, "target_schema", None),
            ));
        }
        _ => {}
    }
    extras
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// Builds the plugin's process environment additions.
pub(crate) fn build_plugin_env(
    project: &Project,
    plugin: &Plugin,
    config: &ResolvedConfig,
) -> BTreeMap<String, String> {
    let layers = EnvLayers::for_plugin(project, plugin);
    let mut env: BTreeMap<String, String> = project
        .dotenv
        .iter()
        .filter(|(k, _)| !project.process_env.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.extend(layers.project.clone());
    env.extend(layers.plugin.clone());
    env.extend(layers.environment.clone());
    env.extend(layers.environment_plugin.clone());

    for (name, value) in config.flat() {
        let text = stringify(&value);
        for var in write_var_names(project, plugin, &name) {
            env.insert(var, text.clone());
        }
    }

    let extras = extras_text(project, &layers, plugin);
    for (key, value) in extras {
        for var in extra_var_names(plugin, key) {
            env.insert(var, value.clone());
        }
    }

    env.extend(meltano_vars(project, Some(plugin)));
    add_venv_vars(project, plugin, &mut env);
    env
}

/// As Meltano does for a plugin installed in a venv: `VIRTUAL_ENV` names the venv and its
/// `bin` leads `PATH`, so a plugin that starts helpers by name (dbt's `dbt_invoker` runs `dbt`)
/// finds the ones installed beside it.
fn add_venv_vars(project: &Project, plugin: &Plugin, env: &mut BTreeMap<String, String>) {
    let venv = project.venv_dir(plugin);
    let bin = venv.join("bin");
    if plugin.is_native() || !bin.is_dir() {
        return;
    }
    let inherited = env
        .get("PATH")
        .or_else(|| project.process_env.get("PATH"))
        .cloned()
        .unwrap_or_default();
    let path = if inherited.is_empty() {
        bin.display().to_string()
    } else {
        format!("{}:{inherited}", bin.display())
    };
    env.insert("PATH".to_string(), path);
    env.insert("VIRTUAL_ENV".to_string(), venv.display().to_string());
}
