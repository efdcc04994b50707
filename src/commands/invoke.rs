//! `smelt invoke PLUGIN[:COMMAND] [ARGS…]`: run one plugin in the foreground, or print what it
//! would get (`--dump`, `--print-var`, `--list-commands`).

use smelt_project::{Plugin, PluginType, Project};
use smelt_runtime::catalog::{extractor_catalog, CatalogContext, CatalogOptions};
use smelt_runtime::invoke::{
    env_value, find_command, list_commands, prepare_invocation, run_foreground, InvokeRequest,
};
use smelt_runtime::launch::prepare;
use smelt_runtime::rundir::RunDir;
use smelt_runtime::RunError;
use smelt_state::pyjson::{dumps, PyJsonStyle};

use super::print_out;
use crate::cli::{Cli, InvokeArgs, InvokeDump};
use crate::project_context::{config_json, load_project, logger, CliError};

/// Runs the plugin and returns its exit code (or prints what was asked for).
pub fn run(cli: &Cli, args: &InvokeArgs) -> Result<i32, CliError> {
    if args.containers {
        return Err(CliError::usage(
            "--containers is not supported: smelt runs plugins as local processes; drop the flag",
        ));
    }
    let Some((first, plugin_args)) = args.plugin_and_args.split_first() else {
        return Err(CliError::usage("name the plugin to invoke"));
    };
    let Some(spec) = first.to_str() else {
        return Err(CliError::usage(format!(
            "plugin name {first:?} is not valid UTF-8"
        )));
    };
    let (name, command) = match spec.split_once(':') {
        Some((n, c)) => (n, Some(c)),
        None => (spec, None),
    };
    let logger = logger(cli)?;
    let project = load_project(cli)?;
    let plugin = find_plugin(&project, name, args.plugin_type.as_deref())?;
    if args.list_commands {
        print_out(&list_commands(plugin))?;
        return Ok(0);
    }
    if let Some(c) = command {
        find_command(plugin, c).map_err(run_error)?;
    }
    if let Some(code) = crate::auto_install::prepare(&project, &[plugin], &args.install)? {
        return Ok(code);
    }
    let cx = CatalogContext {
        project: &project,
        logger: &logger,
        deadline: None,
        timeout: None,
    };
    let rundir = RunDir::create(&project.sys_dir, &uuid_like_id()).map_err(|e| {
        CliError::fail(format!(
            "creating a private run directory under {}: {e}",
            project.sys_dir.display()
        ))
    })?;
    if !args.print_var.is_empty() {
        // Printed first, before a dump or the plugin's own output, as Meltano does.
        let config = project
            .plugin_config(plugin, None)
            .map_err(CliError::fail)?;
        let env = project.plugin_env(plugin, &config);
        let lines: Vec<String> = args
            .print_var
            .iter()
            .map(|v| format!("{v}={}", env_value(&env, v).unwrap_or_default()))
            .collect();
        print_out(&lines.join("\n"))?;
    }
    if let Some(what) = args.dump {
        return dump(
            &cx,
            plugin,
            what,
            args.refresh_catalog,
            &rundir,
            args.unsafe_,
        );
    }
    let request = InvokeRequest {
        plugin,
        command,
        args: plugin_args,
        refresh_catalog: args.refresh_catalog,
    };
    let spec = prepare_invocation(&cx, &request, &rundir).map_err(run_error)?;
    logger.debug(&format!(
        "invoking {} {}",
        spec.program.display(),
        spec.args
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let code = run_foreground(&spec, &project.root, plugin).map_err(run_error)?;
    drop(rundir);
    Ok(code)
}

/// Finds the plugin by name, within one type when `--plugin-type` is given.
pub(crate) fn find_plugin<'p>(
    project: &'p Project,
    name: &str,
    plugin_type: Option<&str>,
) -> Result<&'p Plugin, CliError> {
    let wanted = match plugin_type {
        Some(t) => Some(PluginType::from_name(t).ok_or_else(|| {
            let names: Vec<&str> = PluginType::ALL.iter().map(|t| t.label()).collect();
            CliError::usage(format!(
                "--plugin-type '{t}' is not a plugin type; use one of: {}",
                names.join(", ")
            ))
        })?),
        None => None,
    };
    let found = match wanted {
        Some(t) => project.find_plugin_of_type(t, name),
        None => project.find_plugin(name),
    };
    found.ok_or_else(|| {
        let of = match wanted {
            Some(t) => format!("{} ", t.label()),
            None => String::new(),
        };
        let known: Vec<&str> = project
            .plugins
            .iter()
            .filter(|p| wanted.is_none_or(|t| p.plugin_type == t))
            .map(|p| p.name.as_str())
            .collect();
        CliError::fail(format!(
            "{of}plugin '{name}' is not in this project{}",
            if known.is_empty() {
                String::new()
            } else {
                format!("; it has: {}", known.join(", "))
            }
        ))
    })
}

/// `--dump config|catalog`: what the plugin would get, printed as Meltano's files are written
/// (`json.dumps(…, indent=2)`). The config includes secrets, as Meltano's dump does.
fn dump(
    cx: &CatalogContext,
    plugin: &Plugin,
    what: InvokeDump,
    refresh_catalog: bool,
    rundir: &RunDir,
    unsafe_: bool,
) -> Result<i32, CliError> {
    let value = match what {
        InvokeDump::Config => config_json(cx.project, plugin, unsafe_)?,
        InvokeDump::Catalog => {
            if plugin.plugin_type != PluginType::Extractor {
                return Err(CliError::fail(format!(
                    "could not dump catalog: {} '{}' is not an extractor",
                    plugin.plugin_type.label(),
                    plugin.name
                )));
            }
            let prepared =
                prepare(cx.project, plugin, None, &plugin.name, rundir).map_err(run_error)?;
            let opts = CatalogOptions {
                refresh: refresh_catalog,
                ..CatalogOptions::default()
            };
            match extractor_catalog(cx, plugin, &prepared, &opts).map_err(run_error)? {
                Some(outcome) => outcome.catalog,
                None => return Err(no_catalog(plugin)),
            }
        }
    };
    print_out(&dumps(&value, PyJsonStyle::Indent(2)))?;
    Ok(0)
}

/// Why an extractor has no catalog to show.
pub(crate) fn no_catalog(tap: &Plugin) -> CliError {
    let why = if !tap.has_capability("catalog") && !tap.has_capability("properties") {
        "it advertises neither the `catalog` nor the `properties` capability"
    } else {
        "it has no `catalog` extra and does not advertise the `discover` capability"
    };
    CliError::fail(format!(
        "could not find a catalog for extractor {}: {why}",
        tap.name
    ))
}

/// A run error as a CLI error with its exit code.
pub(crate) fn run_error(e: RunError) -> CliError {
    CliError {
        code: e.exit_code(),
        message: e.to_string(),
    }
}

/// A fresh ID for the private run directory.
fn uuid_like_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("invoke-{}-{nanos}", std::process::id())
}
