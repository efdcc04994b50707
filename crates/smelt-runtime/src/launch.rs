//! How to start a plugin: which program, which arguments, which environment.
//!
//! Native plugins (`variant: smelt`) are this very binary run as `smelt plugin <name>`, so every
//! plugin is a subprocess and the supervisor treats them all alike. Other plugins are found the
//! way Meltano installs them (`.meltano/<type>/<name>/venv/bin/<executable>`), then as a path
//! relative to the project, then on `PATH`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use smelt_project::{Mapping, Plugin, PluginType, Project, ResolvedConfig};

use crate::error::RunError;
use crate::rundir::RunDir;

/// A fully resolved command line plus the variables to add to smelt's environment.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// The program to execute.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Variables added on top of smelt's own environment.
    pub env: BTreeMap<String, String>,
}

/// A plugin ready to start: its launch spec with `--config` already pointing at a private file.
#[derive(Debug)]
pub struct PreparedPlugin {
    /// The plugin's name (or mapping name for mappers), for logs and errors.
    pub name: String,
    /// "Extractor", "Loader", "Mapper", ... for sentences.
    pub label: String,
    /// What to run.
    pub spec: LaunchSpec,
    /// The resolved settings (kept for the summary, e.g. a loader's destination).
    pub config: ResolvedConfig,
}

/// Capitalised type label for the start of a sentence ("Extractor tap-x failed").
pub fn type_label(t: PluginType) -> String {
    let l = t.label();
    let mut c = l.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Resolves config and environment, writes `config.json` into the run dir and returns the spec
/// with `--config <file>` appended. `display_name` names the block (a mapping's name for mappers).
pub fn prepare(
    project: &Project,
    plugin: &Plugin,
    mapping: Option<&Mapping>,
    display_name: &str,
    rundir: &RunDir,
) -> Result<PreparedPlugin, RunError> {
    let config = project.plugin_config(plugin, mapping)?;
    let env = project.plugin_env(plugin, &config);
    let (program, mut args) = resolve_program(project, plugin, None)?;
    let bytes = serde_json::to_vec_pretty(&serde_json::Value::Object(config.values.clone()))
        .map_err(|e| RunError::io("serialising plugin config", e.into()))?;
    let path = rundir
        .write_file(display_name, "config.json", &bytes)
        .map_err(|e| RunError::io(format!("writing config for {display_name}"), e))?;
    args.push("--config".into());
    args.push(path.into_os_string());
    Ok(PreparedPlugin {
        name: display_name.to_string(),
        label: type_label(plugin.plugin_type),
        spec: LaunchSpec { program, args, env },
        config,
    })
}

/// Finds the program for `plugin` (or for one of its commands, when `executable` overrides
/// it) and the arguments that must precede the plugin's own.
pub fn resolve_program(
    project: &Project,
    plugin: &Plugin,
    executable: Option<&str>,
) -> Result<(PathBuf, Vec<OsString>), RunError> {
    if plugin.is_native() && executable.is_none() {
        let exe =
            std::env::current_exe().map_err(|e| RunError::io("locating the smelt binary", e))?;
        return Ok((exe, vec!["plugin".into(), plugin.base_name.clone().into()]));
    }
    // Meltano's rule: an inheriting plugin runs its parent's executable (the base of the
    // chain's name when none is set) from the venv it shares with the parent.
    let exe = executable.unwrap_or(plugin.executable_or_name());
    let mut tried = Vec::new();
    if exe.contains('/') {
        let p = project.root.join(exe);
        if is_executable(&p) {
            return Ok((p, Vec::new()));
        }
        tried.push(p.display().to_string());
    } else {
        let p = project.venv_dir(plugin).join("bin").join(exe);
        if is_executable(&p) {
            return Ok((p, Vec::new()));
        }
        tried.push(p.display().to_string());
        let local = project.root.join(exe);
        if is_executable(&local) {
            return Ok((local, Vec::new()));
        }
        if let Some(p) = find_on_path(exe) {
            return Ok((p, Vec::new()));
        }
        tried.push(format!("{exe} on PATH"));
    }
    Err(RunError::Launch {
        label: plugin.plugin_type.label().to_string(),
        plugin: plugin.name.clone(),
        message: format!(
            "executable '{exe}' not found (looked in: {})",
            tried.join(", ")
        ),
        hint: if plugin.pip_url.is_some() {
            "install it (e.g. `meltano install`), or set `executable:` to its path".into()
        } else {
            "set `executable:` to its path, or `variant: smelt` for a built-in plugin".into()
        },
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn find_on_path(exe: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(exe))
        .find(|p| is_executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_capitalised() {
        assert_eq!(type_label(PluginType::Extractor), "Extractor");
        assert_eq!(type_label(PluginType::Loader), "Loader");
    }

    #[test]
    fn path_lookup_finds_sh() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("definitely-not-a-program-xyz").is_none());
    }
}
