//! `smelt config list|print|set|unset|reset PLUGIN …`: show and change plugin and project
//! (`meltano`) settings the way Meltano 4 does. Resolution and the edits live in
//! smelt-project; this module picks the owner, calls them and prints.

use std::io::IsTerminal;

use serde_json::Value;
use smelt_project::{
    edit_dotenv, edit_yaml_file, meltano_setting, plugin_store_namespace, write_project_file,
    Plugin, PluginType, Project, ResolvedConfig, SettingDef, SettingKind, SettingOwner,
    SettingSource, StoreChoice, WriteTarget, MELTANO_STORE_NAMESPACE,
};

use super::print_out;
use super::pyrepr::py_repr;
use crate::cli::{Cli, ConfigArgs, ConfigCommand, ConfigFormat, StoreArg};
use crate::project_context::{
    load_project_explicit_env, logger, open_systemdb, project_settings, CliError,
};

/// Shown instead of a secret by `config print` (Meltano's mask).
const MASK: &str = "*****";

/// Runs a `config` subcommand.
pub fn run(cli: &Cli, args: &ConfigArgs) -> Result<i32, CliError> {
    let mut project = load_project_explicit_env(cli, "config")?;
    let db = open_systemdb(&mut project)?;
    let unsafe_ = args.unsafe_ || args.command.unsafe_flag();
    match &args.command {
        ConfigCommand::List(a) => {
            let (owner, resolved) = resolve(&project, &a.plugin, a.plugin_type)?;
            if a.extras {
                return print_extras_list(&project, owner);
            }
            print_out(&render_list(
                &project,
                owner,
                &resolved,
                a.all,
                a.filter.as_deref(),
                unsafe_,
            ))?;
            Ok(0)
        }
        ConfigCommand::Print(a) => {
            let (owner, resolved) = resolve(&project, &a.plugin, a.plugin_type)?;
            let text = if a.extras {
                render_extras(&project, owner, a.format)
            } else {
                render_print(&project, owner, &resolved, a.format, unsafe_)
            };
            print_out(&text)?;
            Ok(0)
        }
        ConfigCommand::Set(a) => {
            let (owner, resolved) = resolve(&project, &a.plugin, a.plugin_type)?;
            let (name, raw) = set_name_and_value(a)?;
            let def = find_def(&resolved, &name);
            let value = cast_cli_value(&def, &raw)?;
            let readonly = project_readonly(&project);
            let target = project.write_target(owner, Some(&def), a.store.choice(), readonly);
            if readonly && target != WriteTarget::Db {
                return Err(readonly_error());
            }
            write_setting(&project, &db, owner, &def, target, Some(&value))?;
            print_out(&format!(
                "{} setting '{name}' was set in {}: {}",
                owner_label(owner),
                target.label(),
                shown(&value, def.is_sensitive(), unsafe_)
            ))?;
            Ok(0)
        }
        ConfigCommand::Unset(a) => {
            let (owner, resolved) = resolve(&project, &a.plugin, a.plugin_type)?;
            let name = a.setting.join(".");
            let def = find_def(&resolved, &name);
            let targets = stores_for(&project, owner, a.store);
            guard_readonly(&project, &targets)?;
            let mut removed = Vec::new();
            for target in targets {
                if write_setting(&project, &db, owner, &def, target, None)? {
                    removed.push(target.label());
                }
            }
            let text = if removed.is_empty() {
                format!(
                    "{} setting '{name}' was not set in any store",
                    owner_label(owner)
                )
            } else {
                format!(
                    "{} setting '{name}' was unset in {}",
                    owner_label(owner),
                    removed.join(" and ")
                )
            };
            print_out(&text)?;
            Ok(0)
        }
        ConfigCommand::Test(a) => {
            let plugin = find_plugin(&project, &a.plugin, a.plugin_type)?;
            if let Some(code) = crate::auto_install::prepare(&project, &[plugin], &a.install)? {
                return Ok(code);
            }
            test(cli, &project, plugin, a.timeout)
        }
        ConfigCommand::Reset(a) => {
            let (owner, resolved) = resolve(&project, &a.plugin, a.plugin_type)?;
            confirm_reset(owner, a.force)?;
            let targets = stores_for(&project, owner, a.store);
            guard_readonly(&project, &targets)?;
            for target in &targets {
                reset_store(&project, &db, owner, &resolved, *target)?;
            }
            let labels: Vec<&str> = targets.iter().map(|t| t.label()).collect();
            print_out(&format!(
                "{} configuration in {} was reset",
                owner_label(owner),
                labels.join(" and ")
            ))?;
            Ok(0)
        }
    }
}

/// `config test`: runs the plugin with its configuration and says whether it works (exit 0)
/// or not (exit 1, with the reason).
fn test(
    cli: &Cli,
    project: &Project,
    plugin: &Plugin,
    timeout: Option<u64>,
) -> Result<i32, CliError> {
    let logger = logger(cli)?;
    let settings = project_settings(project)?;
    let timeout = timeout.map(std::time::Duration::from_secs);
    let cx = smelt_runtime::catalog::CatalogContext {
        project,
        logger: &logger,
        deadline: timeout.map(|t| std::time::Instant::now() + t),
        timeout,
    };
    let run_id = format!("config-test-{}", std::process::id());
    let rundir = smelt_runtime::rundir::RunDir::create(&project.sys_dir, &run_id).map_err(|e| {
        CliError::fail(format!(
            "creating a private run directory under {}: {e}",
            project.sys_dir.display()
        ))
    })?;
    let outcome = smelt_runtime::config_test::test_plugin(&cx, &settings, plugin, &rundir)
        .map_err(|e| CliError {
            code: e.exit_code(),
            message: e.to_string(),
        })?;
    drop(rundir);
    match outcome {
        smelt_runtime::config_test::TestOutcome::Valid(why) => {
            print_out(&format!("Plugin configuration is valid: {why}"))?;
            Ok(0)
        }
        smelt_runtime::config_test::TestOutcome::Invalid(why) => Err(CliError::fail(format!(
            "Plugin configuration is invalid: {why}"
        ))),
    }
}

/// Finds the owner (`meltano` = the project) and resolves its settings.
fn resolve<'p>(
    project: &'p Project,
    name: &str,
    plugin_type: Option<PluginType>,
) -> Result<(SettingOwner<'p>, ResolvedConfig), CliError> {
    if name == "meltano" && plugin_type.is_none() {
        let resolved = project.meltano_config().map_err(CliError::fail)?;
        return Ok((SettingOwner::Project, resolved));
    }
    let plugin = find_plugin(project, name, plugin_type)?;
    let resolved = project
        .plugin_config(plugin, None)
        .map_err(CliError::fail)?;
    Ok((SettingOwner::Plugin(plugin), resolved))
}

/// The plugin called `name` (of `plugin_type` when given), or an error listing the names.
pub(crate) fn find_plugin<'p>(
    project: &'p Project,
    name: &str,
    plugin_type: Option<PluginType>,
) -> Result<&'p Plugin, CliError> {
    let found = match plugin_type {
        Some(t) => project.find_plugin_of_type(t, name),
        None => project.find_plugin(name),
    };
    found.ok_or_else(|| {
        let names: Vec<&str> = project.plugins.iter().map(|p| p.name.as_str()).collect();
        CliError::usage(format!(
            "no plugin named '{name}' in this project{}\n  hint: the project defines: {}",
            plugin_type
                .map(|t| format!(" of type {}", t.label()))
                .unwrap_or_default(),
            if names.is_empty() {
                "no plugins (use `meltano` for project settings)".to_string()
            } else {
                format!("{}; and `meltano` for project settings", names.join(", "))
            }
        ))
    })
}

fn owner_label(owner: SettingOwner<'_>) -> String {
    match owner {
        SettingOwner::Project => "Meltano".to_string(),
        SettingOwner::Plugin(p) => {
            format!("{} '{}'", crate_type_label(p.plugin_type), p.name)
        }
    }
}

fn crate_type_label(t: PluginType) -> String {
    smelt_runtime::launch::type_label(t)
}

fn find_def(resolved: &ResolvedConfig, name: &str) -> SettingDef {
    resolved
        .settings
        .iter()
        .find(|d| d.name == name || d.aliases.iter().any(|a| a == name))
        .cloned()
        .unwrap_or_else(|| SettingDef::new(name, SettingKind::String))
}

fn shown(value: &Value, sensitive: bool, unsafe_: bool) -> String {
    if sensitive && !unsafe_ {
        smelt_project::REDACTED.to_string()
    } else {
        py_repr(value)
    }
}

/// The setting name (dotted, from one or more words) and the raw value text.
fn set_name_and_value(a: &crate::cli::ConfigSetArgs) -> Result<(String, String), CliError> {
    let mut words = a.words.clone();
    let raw = match &a.from_file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            CliError::fail(format!(
                "could not read --from-file {}: {e}",
                path.display()
            ))
        })?,
        None if a.interactive => {
            let name = words.join(".");
            if name.is_empty() {
                return Err(CliError::usage(
                    "config set --interactive needs a setting name",
                ));
            }
            eprint!("Value for {name}: ");
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| CliError::fail(format!("could not read the value: {e}")))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
        None => {
            if words.len() < 2 {
                return Err(CliError::usage(
                    "config set needs a setting name and a value: smelt config set PLUGIN NAME VALUE",
                ));
            }
            words.pop().unwrap_or_default()
        }
    };
    let name = words.join(".");
    if name.is_empty() {
        return Err(CliError::usage("config set needs a setting name"));
    }
    Ok((name, raw))
}

/// Types CLI text by the setting's kind, as Meltano does (declared integers, booleans,
/// arrays and objects are converted; other text stays text).
fn cast_cli_value(def: &SettingDef, raw: &str) -> Result<Value, CliError> {
    let value = match def.kind {
        SettingKind::Integer | SettingKind::Decimal | SettingKind::Boolean => {
            smelt_project::cast_setting_text(def.kind, raw)
        }
        SettingKind::Array | SettingKind::Object => smelt_project::cast_setting_text(def.kind, raw),
        _ => Ok(Some(Value::String(raw.to_string()))),
    }
    .map_err(|kind| {
        CliError::usage(format!(
            "'{}' is not a valid {kind} for setting '{}'",
            if def.is_sensitive() {
                smelt_project::REDACTED
            } else {
                raw
            },
            def.name
        ))
    })?
    .unwrap_or(Value::String(String::new()));
    if !def.allows(&value) {
        return Err(CliError::usage(format!(
            "'{raw}' is not a valid choice for '{}'; choose one of: {}",
            def.name,
            def.options.join(", ")
        )));
    }
    Ok(value)
}

fn project_readonly(project: &Project) -> bool {
    matches!(project.setting("project_readonly"), Some(Value::Bool(true)))
}

fn readonly_error() -> CliError {
    CliError::fail(
        "the project is read-only (project_readonly is true): only the system database can be changed\n  hint: use --store db, or unset project_readonly",
    )
}

fn guard_readonly(project: &Project, targets: &[WriteTarget]) -> Result<(), CliError> {
    if project_readonly(project) && targets.iter().any(|t| *t != WriteTarget::Db) {
        return Err(readonly_error());
    }
    Ok(())
}

/// The stores `unset`/`reset` touch: the one asked for, or every store for `auto`.
fn stores_for(project: &Project, owner: SettingOwner<'_>, store: StoreArg) -> Vec<WriteTarget> {
    let yml = if project.environment.is_some() && matches!(owner, SettingOwner::Plugin(_)) {
        WriteTarget::Environment
    } else {
        WriteTarget::MeltanoYml
    };
    match store.choice() {
        StoreChoice::Auto => vec![yml, WriteTarget::DotEnv, WriteTarget::Db],
        StoreChoice::MeltanoYml => vec![yml],
        StoreChoice::DotEnv => vec![WriteTarget::DotEnv],
        StoreChoice::Db => vec![WriteTarget::Db],
    }
}

fn store_namespace(owner: SettingOwner<'_>) -> String {
    match owner {
        SettingOwner::Project => MELTANO_STORE_NAMESPACE.to_string(),
        SettingOwner::Plugin(p) => plugin_store_namespace(p),
    }
}

/// Sets (`Some`) or removes (`None`) one setting in one store; whether anything changed.
fn write_setting(
    project: &Project,
    db: &smelt_systemdb::SystemDb,
    owner: SettingOwner<'_>,
    def: &SettingDef,
    target: WriteTarget,
    value: Option<&Value>,
) -> Result<bool, CliError> {
    match target {
        WriteTarget::Db => {
            let ns = store_namespace(owner);
            match value {
                Some(v) => db.store_setting(&ns, &def.name, v).map(|()| true),
                None => db.unstore_setting(&ns, &def.name),
            }
            .map_err(CliError::fail)
        }
        WriteTarget::DotEnv => {
            let path = project.root.join(".env");
            let text = read_optional(&path)?;
            let mut edited = text.clone();
            match value {
                Some(v) => {
                    let var = project.dotenv_var(owner, def);
                    edited = edit_dotenv(&edited, &var, Some(&env_text(v)));
                }
                None => {
                    for var in project.setting_vars(owner, def) {
                        edited = edit_dotenv(&edited, &var, None);
                    }
                }
            }
            if edited == text {
                return Ok(false);
            }
            write_project_file(&path, &edited).map_err(CliError::fail)?;
            Ok(true)
        }
        WriteTarget::MeltanoYml | WriteTarget::Environment => {
            let yt = project
                .yaml_target(owner, &def.name, target)
                .map_err(CliError::fail)?;
            let plugin_name = match owner {
                SettingOwner::Plugin(p) => p.name.as_str(),
                SettingOwner::Project => "meltano",
            };
            edit_yaml_file(&yt.file, &yt.shown, |editor| match value {
                Some(v) => yt.set(editor, plugin_name, v).map(|()| true),
                None => yt.remove(editor),
            })
            .map_err(CliError::fail)
        }
    }
}

/// Removes every setting of `owner` from one store.
fn reset_store(
    project: &Project,
    db: &smelt_systemdb::SystemDb,
    owner: SettingOwner<'_>,
    resolved: &ResolvedConfig,
    target: WriteTarget,
) -> Result<(), CliError> {
    match target {
        WriteTarget::Db => {
            db.clear_settings(&store_namespace(owner))
                .map_err(CliError::fail)?;
        }
        WriteTarget::DotEnv => {
            for def in &resolved.settings {
                write_setting(project, db, owner, def, target, None)?;
            }
        }
        WriteTarget::MeltanoYml | WriteTarget::Environment => match owner {
            SettingOwner::Plugin(_) => {
                let yt = project
                    .yaml_target(owner, "", target)
                    .map_err(CliError::fail)?;
                if yt.new_entry_list.is_none() {
                    edit_yaml_file(&yt.file, &yt.shown, |editor| editor.remove(&yt.path))
                        .map_err(CliError::fail)?;
                }
            }
            SettingOwner::Project => {
                for def in &resolved.settings {
                    if resolved.source(&def.name) == Some(SettingSource::MeltanoYml) {
                        write_setting(project, db, owner, def, target, None)?;
                    }
                }
            }
        },
    }
    Ok(())
}

fn confirm_reset(owner: SettingOwner<'_>, force: bool) -> Result<(), CliError> {
    if force {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "config reset removes every stored setting of {}; there is no terminal to confirm on\n  hint: add --force",
            owner_label(owner)
        )));
    }
    eprint!("Reset the configuration of {}? [y/N]: ", owner_label(owner));
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::fail(format!("could not read the answer: {e}")))?;
    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::fail("aborted: nothing was reset"))
    }
}

fn read_optional(path: &std::path::Path) -> Result<String, CliError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(CliError::fail(format!(
            "could not read {}: {e}",
            path.display()
        ))),
    }
}

/// A value as environment-variable text: strings as they are, anything else as JSON.
fn env_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `config list`: Meltano's groups (configured, optional, custom) with each value's source.
fn render_list(
    project: &Project,
    owner: SettingOwner<'_>,
    resolved: &ResolvedConfig,
    all: bool,
    filter: Option<&str>,
    unsafe_: bool,
) -> String {
    let filter = filter.map(str::to_ascii_lowercase);
    let matches = |d: &SettingDef| {
        filter
            .as_ref()
            .is_none_or(|f| d.name.to_ascii_lowercase().contains(f))
    };
    let env_names = |d: &SettingDef| -> String {
        match owner {
            SettingOwner::Project => meltano_setting(&d.name)
                .map(|m| m.env_var())
                .unwrap_or_default(),
            SettingOwner::Plugin(p) => project.setting_read_names(p, d).join(", "),
        }
    };
    let line = |d: &SettingDef| -> String {
        let value = resolved.get(&d.name);
        let current = match value {
            Some(v) => shown(v, d.is_sensitive(), unsafe_),
            None => "None".to_string(),
        };
        let default = match (&d.value, value) {
            (Some(def), Some(v))
                if def != v && resolved.source(&d.name) != Some(SettingSource::Default) =>
            {
                format!(" (default: {})", shown(def, d.is_sensitive(), unsafe_))
            }
            _ => String::new(),
        };
        format!(
            "{} [env: {}]{default} current value: {current} ({})",
            d.name,
            env_names(d),
            resolved.describe_source(&d.name)
        )
    };
    let configured =
        |d: &SettingDef| matches!(resolved.source(&d.name), Some(s) if s != SettingSource::Default);
    // Meltano lists each group in name order.
    let mut visible: Vec<&SettingDef> = resolved
        .settings
        .iter()
        .filter(|d| !d.hidden && matches(d))
        .collect();
    visible.sort_by(|a, b| a.name.cmp(&b.name));
    let show_all = all || filter.is_some();
    let mut out = Vec::new();
    let mut group = |title: &str, rows: Vec<String>| {
        if !rows.is_empty() {
            if !out.is_empty() {
                out.push(String::new());
            }
            out.push(format!("{title}:"));
            out.extend(rows);
        }
    };
    let declared = |d: &&&SettingDef| !resolved.custom.contains(&d.name);
    group(
        "Configured",
        visible
            .iter()
            .filter(declared)
            .filter(|d| configured(d))
            .map(|d| line(d))
            .collect(),
    );
    let optional: Vec<&&SettingDef> = visible
        .iter()
        .filter(declared)
        .filter(|d| !configured(d))
        .collect();
    if show_all {
        group("Optional", optional.iter().map(|d| line(d)).collect());
    }
    group(
        "Custom, possibly unsupported by the plugin",
        visible
            .iter()
            .filter(|d| resolved.custom.contains(&d.name))
            .map(|d| line(d))
            .collect(),
    );
    if !show_all && !optional.is_empty() {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.push(format!(
            "Optional settings with default values: {} hidden. Use --all to show all.",
            optional.len()
        ));
    }
    if out.is_empty() {
        out.push("No settings.".to_string());
    }
    out.join("\n")
}

/// `config print`: the config JSON (as the plugin gets it, secrets masked unless --unsafe) or
/// `NAME='value'` lines a shell can `eval`.
fn render_print(
    project: &Project,
    owner: SettingOwner<'_>,
    resolved: &ResolvedConfig,
    format: ConfigFormat,
    unsafe_: bool,
) -> String {
    let values = if unsafe_ {
        resolved.values.clone()
    } else {
        resolved.masked(MASK)
    };
    match format {
        ConfigFormat::Json => {
            serde_json::to_string_pretty(&Value::Object(values)).unwrap_or_default()
        }
        ConfigFormat::Env => {
            let mut lines = Vec::new();
            for (name, value) in resolved.flat() {
                let text = if resolved.is_sensitive(&name) && !unsafe_ {
                    MASK.to_string()
                } else {
                    env_text(&value)
                };
                let vars = match owner {
                    SettingOwner::Project => vec![smelt_project::env_var_name(&["meltano", &name])],
                    SettingOwner::Plugin(p) => project.setting_env_names(p, &name),
                };
                for var in vars {
                    lines.push(format!("{var}={}", shell_quote(&text)));
                }
            }
            lines.join("\n")
        }
    }
}

/// `config print --extras`: the plugin's extras (`_select`, `_metadata`, …).
fn render_extras(project: &Project, owner: SettingOwner<'_>, format: ConfigFormat) -> String {
    let SettingOwner::Plugin(p) = owner else {
        return "{}".to_string();
    };
    let extras = project.plugin_extras(p);
    match format {
        ConfigFormat::Json => {
            let map: serde_json::Map<String, Value> = extras
                .into_iter()
                .map(|(k, v)| (format!("_{k}"), v))
                .collect();
            serde_json::to_string_pretty(&Value::Object(map)).unwrap_or_default()
        }
        ConfigFormat::Env => extras
            .iter()
            .flat_map(|(k, v)| {
                let text = env_text(v);
                project
                    .extra_env_names(p, k)
                    .into_iter()
                    .map(move |var| format!("{var}={}", shell_quote(&text)))
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn print_extras_list(project: &Project, owner: SettingOwner<'_>) -> Result<i32, CliError> {
    let SettingOwner::Plugin(p) = owner else {
        print_out("No extras: project settings have none.")?;
        return Ok(0);
    };
    let rows: Vec<String> = project
        .plugin_extras(p)
        .iter()
        .map(|(k, v)| {
            format!(
                "_{k} [env: {}] current value: {}",
                project.extra_env_names(p, k).join(", "),
                py_repr(v)
            )
        })
        .collect();
    print_out(&format!("Extras:\n{}", rows.join("\n")))?;
    Ok(0)
}

/// Single-quotes `text` for POSIX shells (`'` becomes `'\''`).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }
}
