//! `smelt list` (every plugin: type, name, variant, installed or not, where its executable is)
//! and `smelt plugin list` (Meltano's `meltano plugin list`, same table and JSON).

use clap::Parser;
use serde_json::{json, Value};
use smelt_project::{EnvironmentChoice, Plugin, Project};

use super::print_out;
use crate::cli::{Cli, ListArgs, ListFormat, PluginListArgs};
use crate::project_context::{load_project_in, CliError};

/// Runs `smelt list`.
pub fn run(cli: &Cli, args: &ListArgs) -> Result<i32, CliError> {
    let project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
    let rows: Vec<ListRow> = project
        .plugins
        .iter()
        .map(|p| ListRow::of(&project, p))
        .collect();
    match args.format {
        ListFormat::Json => {
            let list: Vec<Value> = rows.iter().map(ListRow::json).collect();
            print_out(&pretty(&Value::Array(list))?)?;
        }
        ListFormat::Text if rows.is_empty() => {
            print_out("No plugins are defined in this project.\nAdd one with 'smelt add'.")?;
        }
        ListFormat::Text => {
            let header = ["TYPE", "NAME", "VARIANT", "INSTALLED", "EXECUTABLE"].map(String::from);
            let body: Vec<[String; 5]> = rows.iter().map(ListRow::cells).collect();
            print_out(&plain_table(&header, &body))?;
        }
    }
    Ok(0)
}

/// One plugin as `smelt list` shows it.
struct ListRow {
    plugin_type: &'static str,
    name: String,
    variant: Option<String>,
    inherit_from: Option<String>,
    installed: bool,
    /// The program that would run, or why none was found.
    executable: Result<String, String>,
}

impl ListRow {
    fn of(project: &Project, p: &Plugin) -> ListRow {
        let executable = if p.is_native() {
            Ok("built in".to_string())
        } else {
            match smelt_runtime::launch::resolve_program(project, p, None) {
                Ok((path, _)) => Ok(shown_path(project, &path)),
                Err(_) => Err(format!("{} (not found)", p.executable_or_name())),
            }
        };
        ListRow {
            plugin_type: p.plugin_type.label(),
            name: p.name.clone(),
            variant: p.variant.clone(),
            inherit_from: p.inherit_from.clone(),
            installed: smelt_install::is_installed(project, p),
            executable,
        }
    }

    fn cells(&self) -> [String; 5] {
        let variant = match (&self.inherit_from, &self.variant) {
            (Some(parent), _) => format!("(inherits {parent})"),
            (None, Some(v)) => v.clone(),
            (None, None) => String::new(),
        };
        [
            self.plugin_type.to_string(),
            self.name.clone(),
            variant,
            if self.installed { "yes" } else { "no" }.to_string(),
            match &self.executable {
                Ok(e) | Err(e) => e.clone(),
            },
        ]
    }

    fn json(&self) -> Value {
        let (executable, found) = match &self.executable {
            Ok(e) => (Value::String(e.clone()), true),
            Err(_) => (Value::Null, false),
        };
        json!({
            "type": self.plugin_type,
            "name": self.name,
            "variant": self.variant,
            "inherit_from": self.inherit_from,
            "installed": self.installed,
            "executable": executable,
            "executable_found": found,
        })
    }
}

/// A path relative to the project root when it is inside it.
fn shown_path(project: &Project, path: &std::path::Path) -> String {
    path.strip_prefix(&project.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Left-aligned columns separated by two spaces, no trailing blanks.
fn plain_table<const N: usize>(header: &[String; N], rows: &[[String; N]]) -> String {
    let mut widths = header.each_ref().map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    std::iter::once(header)
        .chain(rows)
        .map(|row| {
            let line: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            line.join("  ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `smelt plugin list [--format text|json]`.
pub fn plugin_list(cli: &Cli, raw: &[std::ffi::OsString]) -> Result<i32, CliError> {
    let argv = std::iter::once(std::ffi::OsString::from("smelt plugin list")).chain(raw.to_vec());
    let args = match PluginListArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let code = e.exit_code();
            // clap's own rendering (help, usage errors), as for every other command.
            let _ = e.print();
            return Ok(code);
        }
    };
    let project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
    let listings: Vec<MeltanoListing> = project
        .plugins
        .iter()
        .map(|p| MeltanoListing::of(&project, p))
        .collect();
    match args.format {
        ListFormat::Json => {
            let list: Vec<Value> = listings.iter().map(MeltanoListing::json).collect();
            print_out(&pretty(&Value::Array(list))?)?;
        }
        ListFormat::Text if listings.is_empty() => {
            print_out("No plugins are defined in this project.\nAdd one with 'meltano add'.")?;
        }
        ListFormat::Text => print_out(&meltano_table(&listings))?,
    }
    Ok(0)
}

/// One plugin as `meltano plugin list` describes it.
struct MeltanoListing {
    plugin_type: &'static str,
    name: String,
    variant: String,
    inherit_from: Option<String>,
    custom: bool,
    pip_url: Option<String>,
}

impl MeltanoListing {
    fn of(project: &Project, p: &Plugin) -> MeltanoListing {
        MeltanoListing {
            plugin_type: p.plugin_type.label(),
            name: p.name.clone(),
            // An inheriting plugin shows its parent's variant; Meltano names a plugin without
            // one `default`.
            variant: p
                .variant
                .clone()
                .or_else(|| {
                    let parent =
                        project.find_plugin_of_type(p.plugin_type, p.inherit_from.as_deref()?)?;
                    parent.variant.clone()
                })
                .unwrap_or_else(|| "default".into()),
            inherit_from: p.inherit_from.clone(),
            custom: project.is_custom_plugin(p),
            pip_url: p.pip_url.clone(),
        }
    }

    fn json(&self) -> Value {
        json!({
            "type": self.plugin_type,
            "name": self.name,
            "variant": self.variant,
            "inherit_from": self.inherit_from,
            "custom": self.custom,
            "update": false,
            "pip_url": self.pip_url,
        })
    }
}

/// Meltano's rich table (`box=SIMPLE_HEAD, pad_edge=False`) as it prints without a terminal:
/// a blank top edge, the header, a `─` rule, the rows, a blank bottom edge; every line padded
/// to the table's width; cells padded one space on each inner side; CUSTOM centred.
fn meltano_table(listings: &[MeltanoListing]) -> String {
    let header = ["TYPE", "NAME", "VARIANT", "INHERIT FROM", "CUSTOM"].map(String::from);
    let rows: Vec<[String; 5]> = listings
        .iter()
        .map(|l| {
            [
                l.plugin_type.to_string(),
                l.name.clone(),
                if l.inherit_from.is_some() {
                    "(inherited)".into()
                } else {
                    l.variant.clone()
                },
                l.inherit_from.clone().unwrap_or_default(),
                if l.custom { "\u{2713}" } else { "" }.to_string(),
            ]
        })
        .collect();
    let mut widths = header.each_ref().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let last = widths.len() - 1;
    let render = |row: &[String; 5]| {
        let mut line = String::from(" ");
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                // The previous cell's right pad, the divider, this cell's left pad.
                line.push_str("   ");
            }
            // rich centres CUSTOM, the spare space split left-floor / right-ceil.
            let spare = w - cell.chars().count();
            let left = if i == last { spare / 2 } else { 0 };
            line.push_str(&" ".repeat(left));
            line.push_str(cell);
            line.push_str(&" ".repeat(spare - left));
        }
        line.push(' ');
        line
    };
    // Edge + cells + (left pad, divider, right pad) between columns + edge.
    let width = 2 + widths.iter().sum::<usize>() + 3 * last;
    let mut lines = vec![" ".repeat(width), render(&header)];
    lines.push(format!(" {} ", "\u{2500}".repeat(width - 2)));
    lines.extend(rows.iter().map(render));
    lines.push(" ".repeat(width));
    lines.join("\n")
}

/// JSON indented by two spaces, as Python's `json.dumps(…, indent=2)`.
fn pretty(value: &Value) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(CliError::fail)
}
