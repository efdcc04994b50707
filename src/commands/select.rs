//! `smelt select EXTRACTOR [STREAM] [PROPERTY]`: list which streams and properties an
//! extractor extracts, or add/remove/clear its `select` patterns — Meltano's `select`.
//!
//! Like Meltano, `select` ignores `default_environment`: an environment is used only when asked
//! for (`--environment`, `MELTANO_ENVIRONMENT` in the shell or `.env`). The listing prepares
//! the catalog exactly as a run would (discovery or the cache, then every rule), so what it
//! shows is what the tap will be told.

use std::io::IsTerminal;

use serde_json::{json, Value};
use smelt_project::{
    find_project_root, EnvironmentChoice, LoadOptions, Plugin, PluginType, Project,
};
use smelt_runtime::catalog::{extractor_catalog, list_selection, CatalogContext, CatalogOptions};
use smelt_runtime::launch::prepare;
use smelt_runtime::rundir::RunDir;
use smelt_runtime::{Logger, RunError};
use smelt_singer::catalog::SelectionType;

use super::print_out;
use crate::cli::{Cli, SelectArgs};
use crate::project_context::{logger, CliError};

/// Runs `smelt select` and returns the exit code.
pub fn run(cli: &Cli, args: &SelectArgs) -> Result<i32, CliError> {
    let log = logger(cli)?;
    let project = load_select_project(cli, &log)?;
    let tap = find_extractor(&project, &args.extractor)?;
    if args.clear {
        return Err(not_yet("--clear"));
    }
    if args.list || args.json {
        return list(&project, tap, args, &log);
    }
    Err(not_yet("adding or removing select patterns"))
}

fn not_yet(what: &str) -> CliError {
    CliError::fail(format!(
        "{what} is not implemented yet in smelt select\n  hint: edit the extractor's `select:` list in meltano.yml, or use `meltano select`"
    ))
}

/// Loads the project with the environment `select` uses: an explicit one only.
fn load_select_project(cli: &Cli, log: &Logger) -> Result<Project, CliError> {
    let load = |environment: EnvironmentChoice| -> Result<Project, CliError> {
        let root = find_project_root(cli.cwd.as_deref()).map_err(CliError::fail)?;
        let native = smelt_plugins::native_definitions();
        let project = Project::load(
            &root,
            &LoadOptions {
                environment,
                native: &native,
            },
        )
        .map_err(CliError::fail)?;
        for w in &project.warnings {
            log.warn(w);
        }
        Ok(project)
    };
    if cli.no_environment {
        return load(EnvironmentChoice::NoEnvironment);
    }
    if let Some(name) = &cli.environment {
        return load(EnvironmentChoice::Named(name.clone()));
    }
    if let Ok(name) = std::env::var("MELTANO_ENVIRONMENT") {
        if !name.trim().is_empty() {
            return load(EnvironmentChoice::Named(name));
        }
    }
    let project = load(EnvironmentChoice::NoEnvironment)?;
    if let Some(name) = project
        .dotenv()
        .get("MELTANO_ENVIRONMENT")
        .filter(|n| !n.trim().is_empty())
    {
        let name = name.clone();
        return load(EnvironmentChoice::Named(name));
    }
    if let Some(default) = project.default_environment.as_deref() {
        log.info(&format!(
            "The default environment '{default}' will be ignored for `smelt select`. To configure a specific environment, please use the option `--environment=<environment name>`."
        ));
    }
    Ok(project)
}

/// The extractor called `name`, or an error naming the extractors there are.
fn find_extractor<'p>(project: &'p Project, name: &str) -> Result<&'p Plugin, CliError> {
    if let Some(p) = project.find_plugin_of_type(PluginType::Extractor, name) {
        return Ok(p);
    }
    let names: Vec<&str> = project
        .plugins
        .iter()
        .filter(|p| p.plugin_type == PluginType::Extractor)
        .map(|p| p.name.as_str())
        .collect();
    let hint = if names.is_empty() {
        "the project has no extractors; add one under `plugins: extractors:` in meltano.yml"
            .to_string()
    } else {
        format!("the project's extractors are: {}", names.join(", "))
    };
    let what = match project.find_plugin(name) {
        Some(p) => format!("{name} is a {}, not an extractor", p.plugin_type.label()),
        None => format!("extractor '{name}' is not defined in meltano.yml"),
    };
    Err(CliError::fail(format!("{what}\n  hint: {hint}")))
}

/// `--list` / `--json`: prepares the catalog as a run would and prints each stream/property
/// pair with its selection.
fn list(project: &Project, tap: &Plugin, args: &SelectArgs, log: &Logger) -> Result<i32, CliError> {
    let failed = |e: RunError| CliError {
        code: e.exit_code(),
        message: format!("Cannot list the selected properties: {e}"),
    };
    let run_id = format!(
        "select-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let rundir = RunDir::create(&project.sys_dir, &run_id).map_err(|e| {
        CliError::fail(format!(
            "creating a private directory under {}: {e}",
            project.sys_dir.join("run").display()
        ))
    })?;
    let prepared = prepare(project, tap, None, &tap.name, &rundir).map_err(failed)?;
    let cx = CatalogContext {
        project,
        logger: log,
        deadline: None,
        timeout: None,
    };
    let opts = CatalogOptions {
        refresh: args.refresh_catalog,
        select_filter: Vec::new(),
    };
    let Some(outcome) = extractor_catalog(&cx, tap, &prepared, &opts).map_err(failed)? else {
        return Err(CliError::fail(
            "Cannot list the selected properties: Could not find catalog. Verify that the tap supports discovery mode and advertises the `discover` capability as well as either `catalog` or `properties`",
        ));
    };
    drop(rundir);
    let rows = list_selection(&outcome.catalog);
    let text = if args.json {
        render_json(&tap.select, &rows, args.all)
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        render_text(&tap.select, &rows, args.all, color)
    };
    print_out(text.trim_end_matches('\n'))?;
    Ok(0)
}

/// Meltano's JSON listing: `{"enabled_patterns": [...], "streams": [{stream, property,
/// selection}]}`, indented by two spaces.
fn render_json(
    patterns: &[String],
    rows: &[smelt_runtime::catalog::ListedProperty],
    all: bool,
) -> String {
    let streams: Vec<Value> = rows
        .iter()
        .filter(|r| all || r.selection.is_selected())
        .map(|r| json!({"stream": r.stream, "property": r.property, "selection": r.selection.as_str()}))
        .collect();
    let doc = json!({"enabled_patterns": patterns, "streams": streams});
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Meltano's text listing: the legend, the patterns, then one `[selection] stream.property`
/// line per pair (only extracted ones unless `--all`), tab-indented.
fn render_text(
    patterns: &[String],
    rows: &[smelt_runtime::catalog::ListedProperty],
    all: bool,
    color: bool,
) -> String {
    let paint = |text: &str, sel: Option<SelectionType>| -> String {
        let code = match sel {
            _ if !color => return text.to_string(),
            Some(SelectionType::Selected) => "92",
            Some(SelectionType::Automatic) => "97",
            Some(SelectionType::Excluded) => "31",
            Some(SelectionType::Unsupported) => "30",
            None => "37",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    };
    let mut out = String::from("Legend:\n");
    for sel in [
        SelectionType::Selected,
        SelectionType::Excluded,
        SelectionType::Automatic,
        SelectionType::Unsupported,
    ] {
        out += &format!("\t{}\n", paint(sel.as_str(), Some(sel)));
    }
    out += "\nEnabled patterns:\n";
    for p in patterns {
        let sel = p.starts_with('!').then_some(SelectionType::Excluded);
        out += &format!("\t{}\n", paint(p, sel));
    }
    out += "\nSelected properties:\n";
    for r in rows.iter().filter(|r| all || r.selection.is_selected()) {
        let mark = format!("[{:<11}]", r.selection.as_str());
        out += &format!(
            "\t{} {}{}\n",
            paint(&mark, Some(r.selection)),
            paint(&r.stream, Some(r.stream_selection)),
            paint(&format!(".{}", r.property), Some(r.selection)),
        );
    }
    out
}
