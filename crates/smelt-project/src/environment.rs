//! Meltano environments (`environments:`) and choosing the active one.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Location, ProjectError};
use crate::node::Node;
use crate::plugin_type::PluginType;

/// Which environment to activate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EnvironmentChoice {
    /// `MELTANO_ENVIRONMENT` from the process environment when set and non-empty, else the
    /// project's `default_environment`, else none.
    #[default]
    Default,
    /// This one (`--environment NAME`); it must be defined.
    Named(String),
    /// None at all (`--no-environment`).
    NoEnvironment,
}

/// One entry of `environments:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// The environment name.
    pub name: String,
    /// Project-level settings for this environment (`config:` without its `plugins` key).
    pub config: Map<String, Value>,
    /// Variables set for every plugin while this environment is active (not expanded).
    pub env: BTreeMap<String, String>,
    /// Appended to state IDs (not expanded; see [`crate::Project::state_id_suffix`]).
    pub state_id_suffix: Option<String>,
    /// Per-plugin overrides under `config.plugins`.
    pub plugins: Vec<EnvironmentPlugin>,
    /// Where the environment is defined.
    pub location: Location,
}

/// A plugin's overrides inside an environment (`config.plugins.<type>[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentPlugin {
    /// The plugin's type.
    pub plugin_type: PluginType,
    /// The plugin's name.
    pub name: String,
    /// Config layered over the plugin's `meltano.yml` config.
    pub config: Map<String, Value>,
    /// Variables merged over the plugin's `env:`.
    pub env: BTreeMap<String, String>,
    /// Replaces the plugin's `select` when present.
    pub select: Option<Vec<String>>,
    /// Merged over the plugin's `metadata` when present.
    pub metadata: Option<Map<String, Value>>,
    /// Merged over the plugin's `schema` when present.
    pub schema: Option<Map<String, Value>>,
    /// Other keys, kept as written.
    pub extra: Map<String, Value>,
    /// Where the override is written.
    pub location: Location,
    /// JSON Pointer of the entry in the project document.
    pub pointer: String,
}

impl Environment {
    /// Reads one `environments:` entry.
    pub(crate) fn from_node(node: Node<'_>) -> Result<Environment, ProjectError> {
        node.object("each entry of `environments`")?;
        let (location, name) = node.location_and_name("an environment", "<environment_name>")?;
        let mut config = Map::new();
        let mut plugins = Vec::new();
        if let Some(cfg) = node.get("config") {
            for (key, child) in cfg.node().entries("`config` of an environment")? {
                if key == "plugins" {
                    for (type_key, list) in child.node().entries("`config.plugins`")? {
                        let Some(plugin_type) = PluginType::from_plural(type_key) else {
                            return Err(ProjectError::invalid(
                                list.node().key_location(),
                                format!("`{type_key}` is not a plugin type"),
                                "use one of: extractors, loaders, mappers, transformers, utilities, orchestrators, files",
                            ));
                        };
                        for item in list.node().items(&format!("`config.plugins.{type_key}`"))? {
                            plugins.push(EnvironmentPlugin::from_node(item.node(), plugin_type)?);
                        }
                    }
                } else {
                    config.insert(key.to_string(), child.value.clone());
                }
            }
        }
        Ok(Environment {
            name,
            config,
            env: node.opt_string_map("env")?.unwrap_or_default(),
            state_id_suffix: node.opt_string("state_id_suffix")?,
            plugins,
            location,
        })
    }

    /// The overrides for plugin `name` of `plugin_type`, if this environment has any.
    pub fn plugin(&self, plugin_type: PluginType, name: &str) -> Option<&EnvironmentPlugin> {
        self.plugins
            .iter()
            .find(|p| p.plugin_type == plugin_type && p.name == name)
    }
}

impl EnvironmentPlugin {
    fn from_node(
        node: Node<'_>,
        plugin_type: PluginType,
    ) -> Result<EnvironmentPlugin, ProjectError> {
        let map = node
            .object(&format!(
                "each entry of `config.plugins.{}`",
                plugin_type.plural()
            ))?
            .cloned()
            .unwrap_or_default();
        let (location, name) = node.location_and_name(
            &format!("an environment override under `{}`", plugin_type.plural()),
            "<plugin_name>",
        )?;
        let known = ["name", "config", "env", "select", "metadata", "schema"];
        Ok(EnvironmentPlugin {
            plugin_type,
            name,
            config: node.opt_object("config")?.unwrap_or_default(),
            env: node.opt_string_map("env")?.unwrap_or_default(),
            select: node.opt_string_list("select")?,
            metadata: node.opt_object("metadata")?,
            schema: node.opt_object("schema")?,
            extra: map
                .into_iter()
                .filter(|(k, _)| !known.contains(&k.as_str()))
                .collect(),
            location,
            pointer: node.pointer.to_string(),
        })
    }
}

/// Picks the active environment's name. `process_env` supplies `MELTANO_ENVIRONMENT`.
pub(crate) fn choose_environment(
    choice: &EnvironmentChoice,
    default_environment: Option<(&str, Option<Location>)>,
    defined: &[Environment],
    process_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, ProjectError> {
    let (name, location) = match choice {
        EnvironmentChoice::NoEnvironment => return Ok(None),
        EnvironmentChoice::Named(name) => (name.clone(), None),
        EnvironmentChoice::Default => {
            match process_env("MELTANO_ENVIRONMENT").filter(|v| !v.trim().is_empty()) {
                Some(name) => (name, None),
                None => match default_environment.filter(|(n, _)| !n.trim().is_empty()) {
                    Some((name, loc)) => (name.to_string(), loc),
                    None => return Ok(None),
                },
            }
        }
    };
    if defined.iter().any(|e| e.name == name) {
        Ok(Some(name))
    } else {
        Err(ProjectError::UnknownEnvironment {
            name,
            defined: defined.iter().map(|e| e.name.clone()).collect(),
            location,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_yaml;
    use std::path::Path;

    fn envs() -> Vec<Environment> {
        let doc = parse_yaml(
            "- name: dev\n  env:\n    A: '1'\n  state_id_suffix: ${SUFFIX}\n  config:\n    elt:\n      buffer_size: 10\n    plugins:\n      extractors:\n      - name: tap-x\n        config:\n          host: devhost\n        select: [a.*]\n- name: prod\n",
            Path::new("meltano.yml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let node = Node {
            value: &doc.value,
            pointer: "",
            map: &doc.source_map,
        };
        node.items("environments")
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|c| Environment::from_node(c.node()).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    #[test]
    fn reads_environment_overrides() {
        let envs = envs();
        let dev = &envs[0];
        assert_eq!(dev.env.get("A").map(String::as_str), Some("1"));
        assert_eq!(dev.state_id_suffix.as_deref(), Some("${SUFFIX}"));
        assert_eq!(
            dev.config.get("elt").and_then(|e| e.get("buffer_size")),
            Some(&Value::from(10))
        );
        let tap = dev
            .plugin(PluginType::Extractor, "tap-x")
            .unwrap_or_else(|| panic!("missing"));
        assert_eq!(tap.config.get("host"), Some(&Value::from("devhost")));
        assert_eq!(tap.select, Some(vec!["a.*".to_string()]));
        assert!(dev.plugin(PluginType::Loader, "tap-x").is_none());
    }

    #[test]
    fn choice_rules() {
        let envs = envs();
        let none = |_: &str| None;
        let staging = |k: &str| (k == "MELTANO_ENVIRONMENT").then(|| "prod".to_string());
        let empty = |k: &str| (k == "MELTANO_ENVIRONMENT").then(String::new);
        let dflt = Some(("dev", None));
        let pick = |c: &EnvironmentChoice, d, f: &dyn Fn(&str) -> Option<String>| {
            choose_environment(c, d, &envs, f).unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(
            pick(&EnvironmentChoice::Default, dflt.clone(), &none),
            Some("dev".into())
        );
        assert_eq!(
            pick(&EnvironmentChoice::Default, dflt.clone(), &staging),
            Some("prod".into())
        );
        assert_eq!(
            pick(&EnvironmentChoice::Default, dflt.clone(), &empty),
            Some("dev".into())
        );
        assert_eq!(pick(&EnvironmentChoice::Default, None, &none), None);
        assert_eq!(
            pick(&EnvironmentChoice::NoEnvironment, dflt.clone(), &staging),
            None
        );
        assert_eq!(
            pick(&EnvironmentChoice::Named("prod".into()), dflt, &none),
            Some("prod".into())
        );
    }

    #[test]
    fn undefined_environment_lists_the_defined_ones() {
        let envs = envs();
        let loc = Location::new("meltano.yml", 1, 22);
        let err = choose_environment(
            &EnvironmentChoice::Default,
            Some(("qa", Some(loc))),
            &envs,
            &|_| None,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.starts_with("meltano.yml:1:22: environment `qa` is not defined"),
            "{err}"
        );
        assert!(err.contains("dev, prod"), "{err}");
    }
}
