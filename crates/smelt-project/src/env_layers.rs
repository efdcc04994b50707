//! The `env:` blocks that apply to a plugin, expanded in Meltano's order, and the variables
//! smelt itself provides (`MELTANO_PROJECT_ROOT`, `MELTANO_EXTRACTOR_NAME`, ...).
//!
//! Each block is expanded against the process environment, then `.env`, then the blocks
//! beneath it: project `env:` < environment `env:` < plugin `env:` < the environment's
//! plugin `env:`. Unknown variables become empty strings.

use std::collections::BTreeMap;

use crate::env_names::env_var_name;
use crate::expand::expand_str;
use crate::plugin::Plugin;
use crate::project::Project;

/// Expanded `env:` blocks plus smelt-provided variables for one plugin (or the project).
#[derive(Debug, Clone, Default)]
pub(crate) struct EnvLayers {
    pub project: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub plugin: BTreeMap<String, String>,
    pub environment_plugin: BTreeMap<String, String>,
    pub meltano: BTreeMap<String, String>,
}

impl EnvLayers {
    /// Layers for project-level settings (no plugin).
    pub fn for_project(project: &Project) -> EnvLayers {
        EnvLayers::build(project, None)
    }

    /// Layers for `plugin`.
    pub fn for_plugin(project: &Project, plugin: &Plugin) -> EnvLayers {
        EnvLayers::build(project, Some(plugin))
    }

    fn build(project: &Project, plugin: Option<&Plugin>) -> EnvLayers {
        let mut layers = EnvLayers {
            meltano: meltano_vars(project, plugin),
            ..EnvLayers::default()
        };
        layers.project = layers.expand_block(project, &project.env);
        if let Some(env) = project.active_environment() {
            layers.environment = layers.expand_block(project, &env.env);
        }
        if let Some(p) = plugin {
            layers.plugin = layers.expand_block(project, &p.env);
            let env_plugin = project
                .active_environment()
                .and_then(|e| e.plugin(p.plugin_type, &p.name))
                .map(|o| o.env.clone());
            if let Some(block) = env_plugin {
                layers.environment_plugin = layers.expand_block(project, &block);
            }
        }
        layers
    }

    fn expand_block(
        &self,
        project: &Project,
        block: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let lookup = |name: &str| self.lookup(project, name);
        block
            .iter()
            .map(|(k, v)| (k.clone(), expand_str(v, &lookup)))
            .collect()
    }

    /// The value of `name` in the `env:` blocks, in Meltano 4's order: the environment's plugin
    /// block, the environment's, the plugin's, the project's.
    pub fn blocks(&self, name: &str) -> Option<&String> {
        self.environment_plugin
            .get(name)
            .or_else(|| self.environment.get(name))
            .or_else(|| self.plugin.get(name))
            .or_else(|| self.project.get(name))
    }

    /// Variable lookup for `$VAR` expansion: process environment, `.env`, the `env:` blocks,
    /// then smelt-provided variables.
    pub fn lookup(&self, project: &Project, name: &str) -> Option<String> {
        project
            .process_env
            .get(name)
            .or_else(|| project.dotenv.get(name))
            .or_else(|| self.blocks(name))
            .or_else(|| self.meltano.get(name))
            .cloned()
    }
}

/// `MELTANO_PROJECT_ROOT`, `MELTANO_SYS_DIR_ROOT`, `MELTANO_ENVIRONMENT` (when active) and,
/// for a plugin, `MELTANO_<TYPE>_NAME` / `_NAMESPACE` / `_VARIANT` / `_EXECUTABLE`.
pub(crate) fn meltano_vars(project: &Project, plugin: Option<&Plugin>) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    vars.insert(
        "MELTANO_PROJECT_ROOT".to_string(),
        project.root.to_string_lossy().to_string(),
    );
    vars.insert(
        "MELTANO_SYS_DIR_ROOT".to_string(),
        project.sys_dir.to_string_lossy().to_string(),
    );
    if let Some(env) = &project.environment {
        vars.insert("MELTANO_ENVIRONMENT".to_string(), env.clone());
    }
    if let Some(p) = plugin {
        let label = p.plugin_type.label();
        vars.insert(env_var_name(&["meltano", label, "name"]), p.name.clone());
        vars.insert(
            env_var_name(&["meltano", label, "namespace"]),
            p.namespace.clone(),
        );
        if let Some(v) = &p.variant {
            vars.insert(env_var_name(&["meltano", label, "variant"]), v.clone());
        }
        if let Some(x) = &p.executable {
            vars.insert(env_var_name(&["meltano", label, "executable"]), x.clone());
        }
    }
    vars
}
