//! `smelt remove PLUGIN…`: removes each plugin's settings stored in the system database, its
//! `meltano.yml` entry (in whichever file defines it), its own installation directory and its
//! lock files, reporting each location as Meltano does.

use std::path::Path;

use smelt_project::{existing_lock_files, plugin_store_namespace, EnvironmentChoice, Plugin};

use super::{leading_plugin_type, print_out};
use crate::cli::{Cli, RemoveArgs};
use crate::project_context::{load_project_in, open_systemdb, CliError};

/// Runs `smelt remove`.
pub fn run(cli: &Cli, args: &RemoveArgs) -> Result<i32, CliError> {
    let (plugin_type, names) = leading_plugin_type(args.plugin_type, &args.plugins);
    let project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
    // Every name must be a plugin of the project before anything is removed.
    let mut targets: Vec<(smelt_project::PluginType, String)> = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        let found: Vec<&Plugin> = project
            .plugins
            .iter()
            .filter(|p| p.name == *name && plugin_type.is_none_or(|t| t == p.plugin_type))
            .collect();
        match found.as_slice() {
            [] => unknown.push(name.as_str()),
            [p] => targets.push((p.plugin_type, p.name.clone())),
            _ => {
                return Err(CliError::fail(format!(
                    "several plugins are called '{name}'\n  hint: choose one with --plugin-type"
                )))
            }
        }
    }
    if !unknown.is_empty() {
        let what = plugin_type.map_or("plugin", |t| t.label());
        return Err(CliError::fail(format!(
            "no {what} called {} in this project (nothing was removed)\n  hint: `smelt list` shows the project's plugins",
            unknown
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut fully = 0;
    for (plugin_type, name) in &targets {
        // Reloaded for each plugin: removing an entry shifts the indices of those after it.
        let mut project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
        let Some(plugin) = project.find_plugin_of_type(*plugin_type, name).cloned() else {
            continue;
        };
        if remove_one(&mut project, &plugin)? {
            fully += 1;
        }
    }
    if targets.len() > 1 {
        print_out(&format!("Fully removed {fully}/{} plugins", targets.len()))?;
    }
    Ok(0)
}

/// Removes one plugin from every location; whether it was found in all of them.
fn remove_one(project: &mut smelt_project::Project, plugin: &Plugin) -> Result<bool, CliError> {
    let who = format!("{} '{}'", plugin.plugin_type.label(), plugin.name);
    print_out(&format!("Removing {who}..."))?;
    let mut everywhere = true;
    let db = open_systemdb(project)?;
    let cleared = db
        .clear_settings(&plugin_store_namespace(plugin))
        .map_err(|e| {
            CliError::fail(format!("could not reset {who} in the system database: {e}"))
        })?;
    everywhere &= report(
        &who,
        "the system database",
        cleared > 0,
        &format!("Reset {who} plugin settings in the system database"),
    )?;
    let file = project
        .remove_plugin_entry(plugin)
        .map_err(CliError::fail)?;
    print_out(&format!("Removed {who} from {}", file.display()))?;
    // Only the plugin's own directory: an inheriting plugin sharing its parent's venv has none.
    let plural = plugin.plugin_type.plural();
    let own_dir = project.sys_dir.join(plural).join(&plugin.name);
    let dir_label = format!(".meltano/{plural}");
    let removed_dir = match std::fs::symlink_metadata(&own_dir) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&own_dir)
            .map(|()| true)
            .map_err(|e| CliError::fail(format!("could not remove {}: {e}", own_dir.display())))?,
        _ => false,
    };
    everywhere &= report(
        &who,
        &dir_label,
        removed_dir,
        &format!("Removed {who} from {dir_label}"),
    )?;
    let locks = existing_lock_files(&project.root, plugin.plugin_type, &plugin.name);
    for lock in &locks {
        std::fs::remove_file(lock)
            .map_err(|e| CliError::fail(format!("could not remove {}: {e}", lock.display())))?;
    }
    let lock_label = format!("plugins/{plural}/{}*.lock", plugin.name);
    everywhere &= report(
        &who,
        &lock_label,
        !locks.is_empty(),
        &format!(
            "Removed {who} from {}",
            locks
                .iter()
                .map(|l| shown(&project.root, l))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )?;
    Ok(everywhere)
}

/// Prints `done` when something was removed from `location`, else Meltano's "Could not find".
fn report(who: &str, location: &str, removed: bool, done: &str) -> Result<bool, CliError> {
    if removed {
        print_out(done)?;
    } else {
        print_out(&format!("Could not find {who} in {location} to remove"))?;
    }
    Ok(removed)
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
