//! `smelt install`: picks the plugins, calls smelt-install, prints Meltano's summary lines and
//! sets the exit code (1 when any plugin failed).

use smelt_install::{InstallOptions, Progress, Status};
use smelt_project::{Plugin, PluginType, Project};

use crate::cli::{Cli, InstallArgs};
use crate::project_context::{load_project, CliError};

/// Runs `smelt install`.
pub fn run(cli: &Cli, args: &InstallArgs) -> Result<i32, CliError> {
    let project = load_project(cli)?;
    let mut plugins = select(&project, args)?;
    if let Some(schedule) = &args.schedule {
        // As Meltano: the chosen plugins that the schedule runs.
        let runs = super::schedule::schedule_plugins(&project, schedule)?;
        plugins.retain(|p| runs.iter().any(|r| std::ptr::eq(*r, *p)));
    }
    let timeout =
        smelt_install::timeout_from_env(std::env::var("SMELT_INSTALL_TIMEOUT").ok().as_deref())
            .map_err(CliError::usage)?;
    smelt_runtime::signals::install()
        .map_err(|e| CliError::fail(format!("could not install signal handlers: {e}")))?;
    let mut opts = InstallOptions {
        clean: args.clean,
        force: args.force,
        progress: Progress::Auto,
        timeout,
        interrupted: smelt_runtime::signals::received,
        ..InstallOptions::default()
    };
    if let Some(n) = args.parallelism {
        opts.jobs = usize::from(n);
    }
    eprintln!("Installing {} plugins", plugins.len());
    let outcomes = smelt_install::install(&project, &plugins, &opts).map_err(CliError::fail)?;
    let total = outcomes.len();
    let count = |f: fn(&Status) -> bool| outcomes.iter().filter(|o| f(&o.status)).count();
    let installed = count(|s| matches!(s, Status::Installed));
    let skipped = count(|s| matches!(s, Status::UpToDate | Status::NothingToInstall(_)));
    let failed = count(|s| matches!(s, Status::Failed(_)));
    if total > 1 {
        eprintln!("Installed {installed}/{total} plugins");
    }
    if skipped > 0 {
        eprintln!("Skipped installing {skipped}/{total} plugins");
    }
    if let Some(sig) = smelt_runtime::signals::received() {
        eprintln!("Interrupted: {failed} plugins not installed");
        return Ok(smelt_runtime::signals::exit_code_for(sig));
    }
    if failed > 0 {
        let names: Vec<&str> = outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Failed(_)))
            .map(|o| o.plugin.as_str())
            .collect();
        eprintln!(
            "Failed to install {failed}/{total} plugins: {}",
            names.join(", ")
        );
        return Ok(1);
    }
    Ok(0)
}

/// The plugins to install: the named ones (after an optional leading plugin type, Meltano 2's
/// `install extractors tap-x`), else all, filtered by `--plugin-type`. An unknown name is an
/// error listing the project's plugins.
fn select<'p>(project: &'p Project, args: &InstallArgs) -> Result<Vec<&'p Plugin>, CliError> {
    let mut names: &[String] = &args.plugins;
    let mut plugin_type = args.plugin_type;
    if let Some(first) = names.first() {
        if let Some(t) = PluginType::from_name(first) {
            if project.find_plugin(first).is_none() {
                if plugin_type.is_some_and(|given| given != t) {
                    return Err(CliError::usage(format!(
                        "plugin type `{first}` contradicts --plugin-type {}",
                        plugin_type.map(PluginType::label).unwrap_or_default()
                    )));
                }
                plugin_type = Some(t);
                names = &names[1..];
            }
        }
    }
    let of_type = |p: &&Plugin| plugin_type.is_none_or(|t| p.plugin_type == t);
    if names.is_empty() {
        return Ok(project.plugins.iter().filter(of_type).collect());
    }
    let mut chosen = Vec::new();
    for name in names {
        let found: Vec<&Plugin> = project
            .plugins
            .iter()
            .filter(|p| &p.name == name)
            .filter(of_type)
            .collect();
        if found.is_empty() {
            let known: Vec<String> = project
                .plugins
                .iter()
                .filter(of_type)
                .map(|p| format!("{} ({})", p.name, p.plugin_type.label()))
                .collect();
            let kind = plugin_type
                .map(|t| format!("{} ", t.label()))
                .unwrap_or_default();
            return Err(CliError::fail(format!(
                "the project has no {kind}plugin named `{name}`; its plugins are: {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        for p in found {
            if !chosen.iter().any(|c: &&Plugin| std::ptr::eq(*c, p)) {
                chosen.push(p);
            }
        }
    }
    Ok(chosen)
}
