//! smelt-project: loads a Meltano project (`meltano.yml` and its `include_paths`) the way
//! Meltano 3.x/4.x does, and resolves plugin settings with their provenance.
//!
//! Every node of the YAML keeps its file:line:col, so errors found here or later (by the
//! runtime) can point at the exact place to fix. Nothing here panics on user input.
//!
//! Entry points: [`find_project_root`], [`Project::load`], [`Project::plugin_config`],
//! [`Project::plugin_env`], [`Project::setting`], [`init_project`].

#![warn(missing_docs)]

mod base_definition;
mod config_write;
mod dotenv;
mod env_layers;
mod env_names;
mod environment;
mod error;
mod expand;
mod files;
mod init;
mod job;
mod meltano_settings;
mod node;
mod plugin;
mod plugin_edit;
mod plugin_env;
mod plugin_type;
mod plugins_build;
mod project;
mod project_config;
mod project_settings;
mod resolve;
mod root;
pub mod schedule_edit;
mod setting_def;
mod settings;
mod source_map;
mod yaml;
mod yaml_edit;

pub use config_write::{
    edit_dotenv, edit_yaml_file, write_project_file, SettingOwner, StoreChoice, WriteTarget,
    YamlTarget,
};
pub use dotenv::{parse_dotenv, DotEnv};
pub use env_names::env_var_name;
pub use environment::{Environment, EnvironmentChoice, EnvironmentPlugin};
pub use error::{BadSettingValue, DuplicatePlugin, Location, ProjectError, UnknownParent};
pub use expand::{expand_str, expand_value};
pub use init::init_project;
pub use job::{Job, Schedule};
pub use meltano_settings::{meltano_setting, MeltanoSettingDef, MELTANO_SETTINGS};
pub use plugin::{Mapping, NativeDefinition, Plugin, PluginCommand};
pub use plugin_edit::{
    add_plugin_entry, existing_lock_files, lock_file_path, write_lock_file, NewPlugin,
};
pub use plugin_type::PluginType;
pub use project::{LoadOptions, Project};
pub use project_config::{DatabaseWaits, ProjectSettings, VenvBackend, MELTANO_STORE_NAMESPACE};
pub use root::{find_project_root, PROJECT_FILE};
pub use setting_def::{SettingDef, SettingKind};
pub use settings::{
    cast_setting_text, plugin_store_namespace, ResolvedConfig, SettingOrigin, SettingSource,
    REDACTED,
};
pub use source_map::{pointer_push, SourceMap};
pub use yaml::{parse_yaml, YamlDocument};
pub use yaml_edit::{PathSeg, YamlEditor};

#[cfg(test)]
mod tests;
