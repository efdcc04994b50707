//! `smelt add PLUGIN…`: writes each plugin's `meltano.yml` entry (from smelt's plugin index,
//! inheriting from another plugin, or custom), its lock file and the plugins it requires, then
//! installs them unless `--no-install`.

use smelt_install::{InstallOptions, Status};
use smelt_project::{
    add_plugin_entry, lock_file_path, write_lock_file, EnvironmentChoice, NewPlugin, PluginType,
    Project,
};

use super::lock::capitalized;
use super::{leading_plugin_type, print_out};
use crate::cli::{AddArgs, Cli};
use crate::plugin_index::{self, Known};
use crate::project_context::{load_project_in, CliError};

/// Runs `smelt add`.
pub fn run(cli: &Cli, args: &AddArgs) -> Result<i32, CliError> {
    let (plugin_type, names) = leading_plugin_type(args.plugin_type, &args.plugins);
    let (names, inherit_from): (Vec<String>, Option<String>) = match &args.as_name {
        // `add tap-x --as tap-y` is `add tap-y --inherit-from tap-x`.
        Some(alias) => (vec![alias.clone()], names.first().cloned()),
        None => (names.to_vec(), args.inherit_from.clone()),
    };
    let mut added: Vec<(PluginType, String, Option<String>)> = Vec::new();
    for name in &names {
        let project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
        let request = Request {
            plugin_type,
            name,
            inherit_from: inherit_from.as_deref(),
            args,
        };
        let plan = plan_plugin(&project, &request)?;
        write_plan(&project, &plan, "")?;
        added.push((plan.entry.plugin_type, plan.entry.name.clone(), plan.docs()));
        for (t, req_name, variant) in plan.known.as_ref().map(Known::requires).unwrap_or_default() {
            added.extend(add_required(cli, t, &req_name, variant.as_deref())?);
        }
    }
    if !args.no_install && !install(cli, &added)? {
        return Err(CliError::fail("Failed to install plugin(s)"));
    }
    let docs: Vec<String> = added
        .iter()
        .filter_map(|(t, n, docs)| {
            docs.as_ref()
                .map(|d| format!("To learn more about {} '{n}', visit {d}", t.label()))
        })
        .collect();
    if !docs.is_empty() {
        print_out(&format!("\n{}", docs.join("\n")))?;
    }
    Ok(0)
}

/// What the user asked to add under one name.
struct Request<'a> {
    plugin_type: Option<PluginType>,
    name: &'a str,
    inherit_from: Option<&'a str>,
    args: &'a AddArgs,
}

/// The entry to write and the index variant it comes from (the base's, for inheriting ones).
struct Plan {
    entry: NewPlugin,
    known: Option<Known>,
}

impl Plan {
    fn docs(&self) -> Option<String> {
        let k = self.known.as_ref()?;
        k.field("docs").or_else(|| k.field("repo"))
    }
}

/// Decides the entry for one requested plugin.
fn plan_plugin(project: &Project, req: &Request<'_>) -> Result<Plan, CliError> {
    let args = req.args;
    let lookup = req.inherit_from.unwrap_or(req.name);
    let plugin_type = match req.plugin_type {
        Some(t) => t,
        None => infer_type(project, lookup, args.custom)?,
    };
    if let Some(existing) = project.find_plugin_of_type(plugin_type, req.name) {
        return Err(CliError::fail(format!(
            "{} '{}' already exists in your Meltano project (at {})\n  hint: to add it another time so that each can be configured differently, add a plugin inheriting from it: smelt add --plugin-type {} {}--new --inherit-from {}",
            capitalized(plugin_type.label()),
            req.name,
            existing.location,
            plugin_type.label(),
            req.name,
            req.name
        )));
    }
    let mut entry = NewPlugin {
        plugin_type,
        name: req.name.to_string(),
        python: args.python.clone(),
        executable: args.executable.clone(),
        ..NewPlugin::default()
    };
    if args.custom {
        entry.inherit_from = req.inherit_from.map(str::to_string);
        if entry.inherit_from.is_none() {
            entry.namespace = Some(
                args.namespace
                    .clone()
                    .unwrap_or_else(|| req.name.replace('-', "_")),
            );
            entry.pip_url = Some(args.pip_url.clone().unwrap_or_else(|| req.name.to_string()));
            entry.executable = Some(
                args.executable
                    .clone()
                    .unwrap_or_else(|| req.name.to_string()),
            );
        }
        entry.variant = args.variant.clone();
        return Ok(Plan { entry, known: None });
    }
    entry.pip_url = args.pip_url.clone();
    if let Some(parent) = req.inherit_from {
        entry.inherit_from = Some(parent.to_string());
        if let Some(p) = project.find_plugin_of_type(plugin_type, parent) {
            // From a project plugin: its lock file is its base's.
            let known = (!project.is_custom_plugin(p))
                .then(|| plugin_index::find(plugin_type, &p.base_name, p.variant.as_deref()))
                .flatten();
            return Ok(Plan { entry, known });
        }
        let known = find_known(plugin_type, parent, args.variant.as_deref())?;
        entry.variant = Some(known.variant().to_string());
        if entry.pip_url.is_none() {
            entry.pip_url = known.field("pip_url");
        }
        return Ok(Plan {
            entry,
            known: Some(known),
        });
    }
    let known = find_known(plugin_type, req.name, args.variant.as_deref())?;
    entry.variant = Some(known.variant().to_string());
    if entry.pip_url.is_none() {
        entry.pip_url = known.field("pip_url");
    }
    Ok(Plan {
        entry,
        known: Some(known),
    })
}

/// The plugin type of `name` without `--plugin-type`: a project plugin's (for parents), the one
/// the index knows it as, else Meltano's rule (`tap-` extractor, `target-` loader, else utility)
/// for custom plugins.
fn infer_type(project: &Project, name: &str, custom: bool) -> Result<PluginType, CliError> {
    if let Some(p) = project.find_plugin(name) {
        return Ok(p.plugin_type);
    }
    let by_prefix = if name.starts_with("tap-") {
        PluginType::Extractor
    } else if name.starts_with("target-") {
        PluginType::Loader
    } else {
        PluginType::Utility
    };
    if custom {
        return Ok(by_prefix);
    }
    match plugin_index::types_of(name).as_slice() {
        [] => Err(unknown(None, name)),
        [only] => Ok(*only),
        several if several.contains(&by_prefix) => Ok(by_prefix),
        several => Err(CliError::fail(format!(
            "'{name}' is known as several plugin types ({})\n  hint: choose one with --plugin-type",
            several
                .iter()
                .map(|t| t.label())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The index variant to add, or an error naming the known variants or the closest names.
fn find_known(
    plugin_type: PluginType,
    name: &str,
    variant: Option<&str>,
) -> Result<Known, CliError> {
    if let Some(k) = plugin_index::find(plugin_type, name, variant) {
        return Ok(k);
    }
    let variants = plugin_index::variants(plugin_type, name);
    if variants.is_empty() {
        return Err(unknown(Some(plugin_type), name));
    }
    let list: Vec<&str> = variants.iter().map(Known::variant).collect();
    Err(CliError::fail(format!(
        "{} '{name}' has no variant '{}' in smelt's plugin index; known variants: {}",
        capitalized(plugin_type.label()),
        variant.unwrap_or_default(),
        list.join(", ")
    )))
}

/// "Unknown plugin" with the closest known names.
fn unknown(plugin_type: Option<PluginType>, name: &str) -> CliError {
    let what = plugin_type.map_or("plugin", |t| t.label());
    let close = plugin_index::suggest(plugin_type, name, 5);
    let hint = if close.is_empty() {
        "add it with --custom (and --pip-url, --executable)".to_string()
    } else {
        format!(
            "did you mean {}? (or add it with --custom)",
            close
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    CliError::fail(format!(
        "{what} '{name}' is not known to smelt's plugin index\n  hint: {hint}"
    ))
}

/// Writes the entry and lock file and prints Meltano's "Added …" lines.
fn write_plan(project: &Project, plan: &Plan, reason: &str) -> Result<(), CliError> {
    let e = &plan.entry;
    add_plugin_entry(&project.root, e).map_err(CliError::fail)?;
    if let Some(known) = &plan.known {
        // An inheriting plugin's lock file is its base's.
        let base = e
            .inherit_from
            .as_deref()
            .and_then(|parent| project.find_plugin_of_type(e.plugin_type, parent))
            .map_or(lookup_name(e), |p| p.base_name.as_str());
        if let Some(text) = known.lock_json() {
            let path = lock_file_path(&project.root, e.plugin_type, base, known.variant());
            write_lock_file(&path, &text).map_err(CliError::fail)?;
        }
    }
    let mut lines = vec![format!(
        "Added {reason}{} '{}' to your project",
        e.plugin_type.label(),
        e.name
    )];
    match (&e.inherit_from, &e.variant) {
        (Some(parent), Some(v)) => lines.push(format!("Inherit from:\t{parent}, variant {v}")),
        (Some(parent), None) => lines.push(format!("Inherit from:\t{parent}")),
        (None, Some(v)) => {
            let default = plan.known.as_ref().is_some_and(Known::is_default);
            lines.push(format!(
                "Variant:\t{v}{}",
                if default { " (default)" } else { "" }
            ));
        }
        (None, None) => {}
    }
    if let Some(k) = &plan.known {
        if let Some(repo) = k.field("repo") {
            lines.push(format!("Repository:\t{repo}"));
        }
        if let Some(docs) = k.field("docs") {
            lines.push(format!("Documentation:\t{docs}"));
        }
    }
    if let Some(python) = &e.python {
        lines.push(format!("Python Version:\t{python}"));
    }
    if e.variant.as_deref() != Some("smelt")
        && e.inherit_from.is_none()
        && crate::plugin_index::find(e.plugin_type, lookup_name(e), Some("smelt")).is_some()
    {
        lines.push(format!(
            "Built in:\tsmelt has a native {} '{}' that needs no Python (`smelt add {} --variant smelt`)",
            e.plugin_type.label(),
            lookup_name(e),
            lookup_name(e)
        ));
    }
    print_out(&lines.join("\n"))
}

/// The name the entry's definition comes from: its parent's for an inheriting plugin.
fn lookup_name(e: &NewPlugin) -> &str {
    e.inherit_from.as_deref().unwrap_or(&e.name)
}

/// Adds a plugin another one requires (and what it requires), unless the project has it.
fn add_required(
    cli: &Cli,
    plugin_type: PluginType,
    name: &str,
    variant: Option<&str>,
) -> Result<Vec<(PluginType, String, Option<String>)>, CliError> {
    let project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
    if project.find_plugin_of_type(plugin_type, name).is_some() {
        return Ok(Vec::new());
    }
    let Some(known) = plugin_index::find(plugin_type, name, variant) else {
        crate::project_context::logger(cli)?.warn(&format!(
            "required {} '{name}' is not in smelt's plugin index: add it yourself (e.g. with `meltano add --plugin-type {} {name}`)",
            plugin_type.label(),
            plugin_type.label()
        ));
        return Ok(Vec::new());
    };
    let plan = Plan {
        entry: NewPlugin {
            plugin_type,
            name: name.to_string(),
            variant: Some(known.variant().to_string()),
            pip_url: known.field("pip_url"),
            ..NewPlugin::default()
        },
        known: Some(known),
    };
    write_plan(&project, &plan, "required ")?;
    let mut out = vec![(plugin_type, name.to_string(), plan.docs())];
    for (t, n, v) in plan.known.as_ref().map(Known::requires).unwrap_or_default() {
        out.extend(add_required(cli, t, &n, v.as_deref())?);
    }
    Ok(out)
}

/// Installs the added plugins; whether every install succeeded.
fn install(cli: &Cli, added: &[(PluginType, String, Option<String>)]) -> Result<bool, CliError> {
    let project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
    let plugins: Vec<&smelt_project::Plugin> = added
        .iter()
        .filter_map(|(t, n, _)| project.find_plugin_of_type(*t, n))
        .collect();
    print_out("")?;
    let outcomes = smelt_install::install(&project, &plugins, &InstallOptions::default())
        .map_err(CliError::fail)?;
    let mut ok = true;
    for o in &outcomes {
        if let Status::Failed(message) = &o.status {
            eprintln!(
                "Failed to install {} '{}': {message}",
                o.plugin_type.label(),
                o.plugin
            );
            ok = false;
        }
    }
    Ok(ok)
}
