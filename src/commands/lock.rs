//! `smelt lock [PLUGIN…] [--update]`: writes Meltano lock files
//! (`plugins/<type>/<name>--<variant>.lock`) from smelt's plugin index, with no network.

use smelt_project::{lock_file_path, write_lock_file, EnvironmentChoice, Plugin};

use super::{leading_plugin_type, print_out};
use crate::cli::{Cli, LockArgs};
use crate::plugin_index;
use crate::project_context::{load_project_in, logger, CliError};

/// Runs `smelt lock`.
pub fn run(cli: &Cli, args: &LockArgs) -> Result<i32, CliError> {
    let (plugin_type, names) = leading_plugin_type(args.plugin_type, &args.plugins);
    let project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
    let log = logger(cli)?;
    let chosen: Vec<&Plugin> = project
        .plugins
        .iter()
        .filter(|p| plugin_type.is_none_or(|t| t == p.plugin_type))
        .filter(|p| names.is_empty() || names.contains(&p.name))
        .collect();
    if chosen.is_empty() {
        return Err(CliError::fail("No matching plugin(s) found"));
    }
    print_out(&format!("Locking {} plugin(s)...", chosen.len()))?;
    let mut missing = Vec::new();
    for plugin in chosen {
        let who = format!(
            "{} {}",
            capitalized(plugin.plugin_type.label()),
            plugin.name
        );
        if project.is_custom_plugin(plugin) {
            log.warn(&format!("{who} is a custom plugin"));
            continue;
        }
        if plugin.inherit_from.is_some() {
            log.warn(&format!("{who} is an inherited plugin"));
            continue;
        }
        if plugin.is_native() {
            print_out(&format!(
                "{who} is built into smelt (variant smelt): it needs no lock file"
            ))?;
            continue;
        }
        let Some(known) =
            plugin_index::find(plugin.plugin_type, &plugin.name, plugin.variant.as_deref())
        else {
            missing.push(plugin);
            continue;
        };
        let Some(text) = known.lock_json() else {
            continue;
        };
        let path = lock_file_path(
            &project.root,
            plugin.plugin_type,
            &plugin.name,
            known.variant(),
        );
        if path.exists() && !args.update {
            print_out(&format!(
                "Lockfile exists for {} {} at {}",
                plugin.plugin_type.label(),
                plugin.name,
                path.strip_prefix(&project.root).unwrap_or(&path).display()
            ))?;
            continue;
        }
        write_lock_file(&path, &text).map_err(CliError::fail)?;
        print_out(&format!(
            "Locked definition for {} {}",
            plugin.plugin_type.label(),
            plugin.name
        ))?;
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|p| match &p.variant {
                Some(v) => format!("{} {} (variant {v})", p.plugin_type.label(), p.name),
                None => format!("{} {}", p.plugin_type.label(), p.name),
            })
            .collect();
        return Err(CliError::fail(format!(
            "smelt's plugin index has no definition for: {}\n  hint: give the plugin a `namespace:` (and `pip_url`, `executable`) in meltano.yml to make it custom, or copy a lock file from `meltano lock` into plugins/",
            list.join(", ")
        )));
    }
    Ok(0)
}

/// `extractor` → `Extractor`, as Meltano's messages start.
pub(crate) fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
