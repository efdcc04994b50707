//! The plugin model: one fully merged plugin definition per `plugins:` entry.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Location, ProjectError};
use crate::node::Node;
use crate::plugin_type::PluginType;
use crate::setting_def::SettingDef;

/// The description of a plugin built into smelt (`variant: smelt`).
///
/// The CLI hands these to [`crate::Project::load`]; they play the role a Meltano lock file plays
/// for a Python plugin: the base definition below whatever `meltano.yml` says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NativeDefinition {
    /// The plugin name users write, e.g. `tap-csv`.
    pub name: String,
    /// The plugin type it can be used as.
    pub plugin_type: PluginType,
    /// Singer capabilities, e.g. `catalog`, `discover`, `state`.
    pub capabilities: Vec<String>,
    /// Settings it accepts.
    pub settings: Vec<SettingDef>,
    /// Prefix for its environment variables, e.g. `tap_csv`.
    pub namespace: String,
}

/// A named command of a plugin (`commands:`), run with `smelt invoke plugin:command`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PluginCommand {
    /// Arguments passed to the executable (may contain `$VAR` references).
    pub args: String,
    /// A different executable than the plugin's own, if set.
    pub executable: Option<String>,
    /// What the command does.
    pub description: Option<String>,
}

impl PluginCommand {
    /// Reads a `commands:` value: plain text (the args) or `{args, executable, description}`.
    pub(crate) fn from_node(node: Node<'_>, name: &str) -> Result<PluginCommand, ProjectError> {
        if let Value::Object(_) = node.value {
            return Ok(PluginCommand {
                args: node.opt_string("args")?.unwrap_or_default(),
                executable: node.opt_string("executable")?,
                description: node.opt_string("description")?,
            });
        }
        Ok(PluginCommand {
            args: node.string(&format!("command `{name}`"))?,
            executable: None,
            description: None,
        })
    }
}

/// One entry of a mapper's `mappings:` list; its name is usable as a block in `smelt run`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapping {
    /// The block name.
    pub name: String,
    /// Config layered over the mapper's own config when this mapping runs.
    pub config: Map<String, Value>,
}

/// A plugin of the project with its `inherit_from` chain, lock file / native definition and
/// the active environment's `select`/`metadata`/`schema` overrides already merged in.
///
/// Settings *values* are not resolved here; call [`crate::Project::plugin_config`].
#[derive(Debug, Clone, PartialEq)]
pub struct Plugin {
    /// Name as written in `meltano.yml`.
    pub name: String,
    /// Which `plugins:` list it is in.
    pub plugin_type: PluginType,
    /// Prefix for its environment variables (default: the base name with `-` → `_`).
    pub namespace: String,
    /// The variant (`smelt` for built-in plugins).
    pub variant: Option<String>,
    /// What `pip install` installs.
    pub pip_url: Option<String>,
    /// The program to run (default: the name, for installable plugins).
    pub executable: Option<String>,
    /// Singer capabilities.
    pub capabilities: Vec<String>,
    /// Accepted settings, lock file / native definition first, then `meltano.yml`'s.
    pub settings: Vec<SettingDef>,
    /// Named commands, the parent's included.
    pub commands: BTreeMap<String, PluginCommand>,
    /// A mapper's mappings.
    pub mappings: Vec<Mapping>,
    /// A catalog file to use instead of discovery.
    pub catalog: Option<String>,
    /// A state file to use instead of stored state.
    pub state: Option<String>,
    /// Stream/property selection rules. When nothing declares `select` for an extractor this
    /// holds Meltano's default, `["*.*"]`.
    pub select: Vec<String>,
    /// Catalog metadata overrides, by stream pattern.
    pub metadata: Map<String, Value>,
    /// Catalog schema overrides, by stream pattern.
    pub schema: Map<String, Value>,
    /// The plugin this one inherits from.
    pub inherit_from: Option<String>,
    /// The name at the root of the `inherit_from` chain (used for lock files and natives).
    pub base_name: String,
    /// Whose virtualenv this plugin runs from: its own name, or, for an inheriting plugin
    /// without a `pip_url` of its own, its parent's (Meltano's `venv_name` rule), so that
    /// `tap-a` inheriting from `tap-x` runs `tap-x`'s executable from `tap-x`'s venv.
    pub venv_name: String,
    /// Where the plugin is defined.
    pub location: Location,
    /// Keys this version does not interpret, kept as written.
    pub extra: Map<String, Value>,
    /// This plugin's own `config:` from `meltano.yml` (not expanded; the parent's is separate).
    pub config: Map<String, Value>,
    /// `env:` of the plugin, the parent's merged below its own (not expanded).
    pub env: BTreeMap<String, String>,
    /// JSON Pointer of the definition inside the merged project document.
    pub pointer: String,
}

impl Plugin {
    /// Whether the plugin declares the Singer capability `c` (e.g. "state", "catalog").
    pub fn has_capability(&self, c: &str) -> bool {
        self.capabilities.iter().any(|x| x == c)
    }

    /// Whether this is a plugin built into smelt (`variant: smelt`).
    pub fn is_native(&self) -> bool {
        self.variant.as_deref() == Some("smelt")
    }

    /// The mapping named `name` of this mapper.
    pub fn mapping(&self, name: &str) -> Option<&Mapping> {
        self.mappings.iter().find(|m| m.name == name)
    }

    /// The program to run: `executable`, else the plugin's base name.
    pub fn executable_or_name(&self) -> &str {
        self.executable.as_deref().unwrap_or(&self.base_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Plugin {
        Plugin {
            name: "tap-x".into(),
            plugin_type: PluginType::Extractor,
            namespace: "tap_x".into(),
            variant: Some("smelt".into()),
            pip_url: None,
            executable: None,
            capabilities: vec!["state".into(), "catalog".into()],
            settings: Vec::new(),
            commands: BTreeMap::new(),
            mappings: vec![Mapping {
                name: "m1".into(),
                config: Map::new(),
            }],
            catalog: None,
            state: None,
            select: Vec::new(),
            metadata: Map::new(),
            schema: Map::new(),
            inherit_from: None,
            base_name: "tap-x".into(),
            venv_name: "tap-x".into(),
            location: Location::new("meltano.yml", 1, 1),
            extra: Map::new(),
            config: Map::new(),
            env: BTreeMap::new(),
            pointer: "/plugins/extractors/0".into(),
        }
    }

    #[test]
    fn capability_and_native_checks() {
        let p = sample();
        assert!(p.has_capability("state"));
        assert!(!p.has_capability("discover"));
        assert!(p.is_native());
        assert!(p.mapping("m1").is_some());
        assert_eq!(p.executable_or_name(), "tap-x");
    }
}
