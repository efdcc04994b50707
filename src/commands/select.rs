//! `smelt select EXTRACTOR [STREAM] [PROPERTY]`: list which streams and properties an
//! extractor extracts, or add/remove/clear its `select` patterns — Meltano's `select`.
//!
//! Like Meltano, `select` ignores `default_environment`: an environment is used only when asked
//! for (`--environment`, `MELTANO_ENVIRONMENT` in the shell or `.env`). The listing prepares
//! the catalog exactly as a run would (discovery or the cache, then every rule), so what it
//! shows is what the tap will be told.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use smelt_project::{parse_yaml, PathSeg, Plugin, PluginType, Project, YamlEditor};
use smelt_runtime::catalog::{extractor_catalog, list_selection, CatalogContext, CatalogOptions};
use smelt_runtime::launch::prepare;
use smelt_runtime::rundir::RunDir;
use smelt_runtime::{Logger, RunError};
use smelt_singer::catalog::SelectionType;

use super::print_out;
use crate::cli::{Cli, SelectArgs};
use crate::project_context::{load_project_explicit_env, logger, CliError};

/// Runs `smelt select` and returns the exit code.
pub fn run(cli: &Cli, args: &SelectArgs) -> Result<i32, CliError> {
    let log = logger(cli)?;
    let project = load_project_explicit_env(cli, "select")?;
    let tap = find_extractor(&project, &args.extractor)?;
    if args.clear {
        return clear(&project, tap, &log);
    }
    if args.list || args.json {
        if let Some(code) = crate::auto_install::prepare(&project, &[tap], &args.install)? {
            return Ok(code);
        }
        return list(&project, tap, args, &log);
    }
    update(&project, tap, args, &log)
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

/// Where the extractor's `select` list is written, as Meltano decides: the active
/// environment's entry for the extractor when an environment is active (the entry is created
/// if missing), else the extractor's own definition, in whichever file defines it.
struct SelectTarget {
    /// The file to edit.
    file: PathBuf,
    /// The file as shown in messages.
    shown: String,
    /// Path of the `select` list in the file.
    path: Vec<PathSeg>,
    /// Set when the environment has no entry for the extractor: the list that gets one.
    new_entry: Option<Vec<PathSeg>>,
    /// The patterns written there now (`None`: no `select` key).
    current: Option<Value>,
    /// The file's text.
    text: String,
}

impl SelectTarget {
    /// Patterns as strings (non-strings are left out).
    fn patterns(&self) -> Vec<String> {
        match &self.current {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// "`select` of tap-x in meltano.yml" / "… in environment `prod` in meltano.yml".
    fn describe(&self, project: &Project, tap: &Plugin) -> String {
        match project.environment.as_deref() {
            Some(env) => format!(
                "the `select` list of {} in environment `{env}` in {}",
                tap.name, self.shown
            ),
            None => format!("the `select` list of {} in {}", tap.name, self.shown),
        }
    }
}

fn select_target(project: &Project, tap: &Plugin) -> Result<SelectTarget, CliError> {
    let (file, env) = match project.environment.as_deref() {
        Some(name) => {
            let env = project
                .environments
                .iter()
                .find(|e| e.name == name)
                .ok_or_else(|| CliError::fail(format!("environment `{name}` is not defined")))?;
            (env.location.file.clone(), Some(name))
        }
        None => (tap.location.file.clone(), None),
    };
    let path_of_file = project.root.join(&file);
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(&path_of_file)
        .map_err(|e| CliError::fail(format!("cannot read {}: {e}", path_of_file.display())))?;
    let doc = parse_yaml(&text, &file).map_err(CliError::fail)?.value;
    let position = |list: Option<&Value>, name: &str| -> Option<usize> {
        list?
            .as_array()?
            .iter()
            .position(|e| e.get("name").and_then(Value::as_str) == Some(name))
    };
    let key = |k: &str| PathSeg::Key(k.to_string());
    let (path, new_entry, current) = match env {
        None => {
            let extractors = doc.get("plugins").and_then(|p| p.get("extractors"));
            let Some(i) = position(extractors, &tap.name) else {
                return Err(CliError::fail(format!(
                    "extractor {} is not defined in {shown}, so its `select` list cannot be changed there\n  hint: add the pattern to the file that defines it",
                    tap.name
                )));
            };
            let entry = extractors.and_then(|e| e.get(i));
            let path = vec![
                key("plugins"),
                key("extractors"),
                PathSeg::Index(i),
                key("select"),
            ];
            (path, None, entry.and_then(|e| e.get("select")).cloned())
        }
        Some(name) => {
            let Some(e) = position(doc.get("environments"), name) else {
                return Err(CliError::fail(format!(
                    "environment `{name}` is not defined in {shown}"
                )));
            };
            let list = vec![
                key("environments"),
                PathSeg::Index(e),
                key("config"),
                key("plugins"),
                key("extractors"),
            ];
            let overrides = doc
                .get("environments")
                .and_then(|v| v.get(e))
                .and_then(|v| v.get("config"))
                .and_then(|v| v.get("plugins"))
                .and_then(|v| v.get("extractors"));
            match position(overrides, &tap.name) {
                Some(i) => {
                    let mut path = list;
                    path.push(PathSeg::Index(i));
                    path.push(key("select"));
                    let current = overrides
                        .and_then(|o| o.get(i))
                        .and_then(|o| o.get("select"))
                        .cloned();
                    (path, None, current)
                }
                None => (Vec::new(), Some(list), None),
            }
        }
    };
    Ok(SelectTarget {
        file: path_of_file,
        shown,
        path,
        new_entry,
        current,
        text,
    })
}

/// Adds (or with `--rm` removes) the pattern `[!]STREAM.PROPERTY`.
fn update(
    project: &Project,
    tap: &Plugin,
    args: &SelectArgs,
    log: &Logger,
) -> Result<i32, CliError> {
    let pattern = format!(
        "{}{}.{}",
        if args.exclude { "!" } else { "" },
        args.streams,
        args.properties
    );
    let target = select_target(project, tap)?;
    let where_ = target.describe(project, tap);
    let mut editor = YamlEditor::new(target.text.clone(), &target.shown);
    let value = Value::String(pattern.clone());
    if let Some(other) = target
        .current
        .as_ref()
        .filter(|v| !v.is_array() && !v.is_null())
    {
        return Err(CliError::fail(format!(
            "{where_} is {other}, not a list of patterns\n  hint: make it a list, e.g. `select: [\"{pattern}\"]`"
        )));
    }
    if args.remove {
        let removed = match target.new_entry {
            Some(_) => 0,
            None => editor
                .remove_items(&target.path, &value)
                .map_err(CliError::fail)?,
        };
        if removed == 0 {
            let now = target.patterns();
            let hint = if now.is_empty() {
                "the list is empty".to_string()
            } else {
                format!("it holds: {}", now.join(", "))
            };
            return Err(CliError::fail(format!(
                "`{pattern}` is not in {where_}\n  hint: {hint}"
            )));
        }
        write_project_file(&target.file, editor.text())?;
        log.info(&format!("Removed `{pattern}` from {where_}"));
        return Ok(0);
    }
    if target.patterns().contains(&pattern) {
        log.info(&format!("`{pattern}` is already in {where_}"));
        return Ok(0);
    }
    let result = match &target.new_entry {
        Some(list) => editor.push(list, &json!({"name": tap.name, "select": [pattern]})),
        None => editor.push(&target.path, &value),
    };
    result.map_err(CliError::fail)?;
    write_project_file(&target.file, editor.text())?;
    log.info(&format!("Added `{pattern}` to {where_}"));
    Ok(0)
}

/// `--clear`: removes the `select` key (the extractor then selects Meltano's default, `*.*`,
/// or in an environment the extractor's own patterns).
fn clear(project: &Project, tap: &Plugin, log: &Logger) -> Result<i32, CliError> {
    let target = select_target(project, tap)?;
    let where_ = target.describe(project, tap);
    if target.new_entry.is_some() || target.current.is_none() {
        log.info(&format!("{where_} is not set: nothing to clear"));
        return Ok(0);
    }
    let mut editor = YamlEditor::new(target.text.clone(), &target.shown);
    editor.remove(&target.path).map_err(CliError::fail)?;
    write_project_file(&target.file, editor.text())?;
    log.info(&format!("Cleared {where_}"));
    Ok(0)
}

/// Writes a project file atomically (the library's temp file + rename, mode kept).
fn write_project_file(path: &Path, text: &str) -> Result<(), CliError> {
    smelt_project::write_project_file(path, text).map_err(CliError::fail)
}
