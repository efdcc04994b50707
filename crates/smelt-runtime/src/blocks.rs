//! Meltano's `run` block grammar: names on the command line become a plan of block sets.
//!
//! An extractor starts a set, zero or more mappers (by mapping name) follow, and a loader ends
//! it. Any other plugin, or `plugin:command`, is a command block. Job names expand to their
//! tasks first. Errors name the offending block and say what would have been valid.

use std::fmt;

use smelt_project::{Job, Mapping, Plugin, PluginType, Project};

use crate::error::RunError;

/// One step of a run.
#[derive(Debug)]
pub enum Block<'p> {
    /// extractor → mappers → loader, relayed as one pipeline.
    Elt(EltSet<'p>),
    /// A plugin run on its own, optionally with one of its `commands:`.
    Command(CommandStep<'p>),
}

/// An extract-load set.
#[derive(Debug)]
pub struct EltSet<'p> {
    /// The tap.
    pub extractor: &'p Plugin,
    /// Mappers in order.
    pub mappers: Vec<MapperStep<'p>>,
    /// The target.
    pub loader: &'p Plugin,
}

/// A mapper in a set, with the mapping that selected it (mappers are named by mapping).
#[derive(Debug)]
pub struct MapperStep<'p> {
    /// The mapper plugin.
    pub plugin: &'p Plugin,
    /// The mapping whose config is layered over the mapper's, if named by mapping.
    pub mapping: Option<&'p Mapping>,
}

impl MapperStep<'_> {
    /// The name the user wrote: the mapping's name, else the plugin's.
    pub fn display_name(&self) -> &str {
        self.mapping
            .map(|m| m.name.as_str())
            .unwrap_or(self.plugin.name.as_str())
    }
}

/// A plugin invoked as a block (`dbt:run`, `my-utility`).
#[derive(Debug)]
pub struct CommandStep<'p> {
    /// The plugin.
    pub plugin: &'p Plugin,
    /// The command from its `commands:`, if given.
    pub command: Option<String>,
}

impl fmt::Display for Block<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Block::Elt(set) => set.fmt(f),
            Block::Command(c) => match &c.command {
                Some(cmd) => write!(f, "{}:{}", c.plugin.name, cmd),
                None => write!(f, "{}", c.plugin.name),
            },
        }
    }
}

impl fmt::Display for EltSet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.extractor.name)?;
        for m in &self.mappers {
            write!(f, " → {}", m.display_name())?;
        }
        write!(f, " → {}", self.loader.name)
    }
}

/// What a single name resolved to, before grouping.
enum Item<'p> {
    Plugin(&'p Plugin, Option<String>),
    Mapping(&'p Plugin, &'p Mapping),
}

/// Turns the `run` arguments into blocks, expanding jobs and checking the grammar.
pub fn parse_blocks<'p>(
    project: &'p Project,
    names: &[String],
) -> Result<Vec<Block<'p>>, RunError> {
    if names.is_empty() {
        return Err(blocks_error(
            "no blocks given".into(),
            "name an extractor and a loader, e.g. `smelt run tap-csv target-jsonl`, or a job name"
                .into(),
        ));
    }
    let mut tokens = Vec::new();
    expand_jobs(project, names, &mut Vec::new(), &mut tokens)?;
    let items = tokens
        .iter()
        .map(|(t, origin)| resolve(project, t, origin.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    group(items)
}

/// A token with the job it came from, for error messages.
type Token<'p> = (String, Option<&'p Job>);

fn expand_jobs<'p>(
    project: &'p Project,
    names: &[String],
    stack: &mut Vec<String>,
    out: &mut Vec<Token<'p>>,
) -> Result<(), RunError> {
    for name in names {
        let is_plugin = project.find_plugin(name).is_some() || project.find_mapping(name).is_some();
        match project.find_job(name) {
            Some(job) if !is_plugin => {
                if stack.contains(name) {
                    return Err(blocks_error(
                        format!(
                            "job '{name}' includes itself ({} → {name})",
                            stack.join(" → ")
                        ),
                        format!("remove the loop from the job's tasks at {}", job.location),
                    ));
                }
                stack.push(name.clone());
                for task in &job.tasks {
                    let words: Vec<String> = task.split_whitespace().map(str::to_string).collect();
                    let start = out.len();
                    expand_jobs(project, &words, stack, out)?;
                    for t in &mut out[start..] {
                        t.1.get_or_insert(job);
                    }
                }
                stack.pop();
            }
            _ => out.push((name.clone(), None)),
        }
    }
    Ok(())
}

fn resolve<'p>(
    project: &'p Project,
    token: &str,
    job: Option<&&'p Job>,
) -> Result<Item<'p>, RunError> {
    let place = job
        .map(|j| format!(" (in job '{}' at {})", j.name, j.location))
        .unwrap_or_default();
    if let Some(p) = project.find_plugin(token) {
        return Ok(Item::Plugin(p, None));
    }
    if let Some((p, m)) = project.find_mapping(token) {
        return Ok(Item::Mapping(p, m));
    }
    if let Some((name, cmd)) = token.split_once(':') {
        if let Some(p) = project.find_plugin(name) {
            if !p.commands.contains_key(cmd) {
                let known: Vec<&str> = p.commands.keys().map(String::as_str).collect();
                return Err(blocks_error(
                    format!("plugin '{name}' has no command '{cmd}'{place}"),
                    if known.is_empty() {
                        format!("'{name}' defines no `commands:` in meltano.yml; add one or use the plugin name alone")
                    } else {
                        format!("its commands are: {}", known.join(", "))
                    },
                ));
            }
            return Ok(Item::Plugin(p, Some(cmd.to_string())));
        }
    }
    Err(blocks_error(
        format!(
            "block '{token}' not found{place}: it is not a plugin, mapping or job in this project"
        ),
        known_names(project),
    ))
}

fn known_names(project: &Project) -> String {
    let of = |t: PluginType| -> Vec<&str> {
        project
            .plugins
            .iter()
            .filter(|p| p.plugin_type == t)
            .map(|p| p.name.as_str())
            .collect()
    };
    let mappings: Vec<&str> = project
        .plugins
        .iter()
        .flat_map(|p| p.mappings.iter().map(|m| m.name.as_str()))
        .collect();
    let jobs: Vec<&str> = project.jobs.iter().map(|j| j.name.as_str()).collect();
    let mut parts = Vec::new();
    for (label, names) in [
        ("extractors", of(PluginType::Extractor)),
        ("loaders", of(PluginType::Loader)),
        ("mappings", mappings),
        ("jobs", jobs),
    ] {
        if !names.is_empty() {
            parts.push(format!("{label}: {}", names.join(", ")));
        }
    }
    if parts.is_empty() {
        "the project defines no plugins yet; add them under `plugins:` in meltano.yml".into()
    } else {
        format!("known {}", parts.join("; "))
    }
}

fn group(items: Vec<Item<'_>>) -> Result<Vec<Block<'_>>, RunError> {
    let mut blocks = Vec::new();
    let mut iter = items.into_iter().peekable();
    while let Some(item) = iter.next() {
        match item {
            Item::Plugin(p, None) if p.plugin_type == PluginType::Extractor => {
                let mut mappers = Vec::new();
                loop {
                    match iter.next() {
                        Some(Item::Mapping(mp, m)) => mappers.push(MapperStep {
                            plugin: mp,
                            mapping: Some(m),
                        }),
                        Some(Item::Plugin(mp, None)) if mp.plugin_type == PluginType::Mapper => {
                            mappers.push(mapper_by_plugin_name(mp)?)
                        }
                        Some(Item::Plugin(l, None)) if l.plugin_type == PluginType::Loader => {
                            blocks.push(Block::Elt(EltSet {
                                extractor: p,
                                mappers,
                                loader: l,
                            }));
                            break;
                        }
                        other => {
                            let found = match other {
                                None => "the end of the block list".to_string(),
                                Some(Item::Plugin(x, cmd)) => describe(x, cmd.as_deref()),
                                Some(Item::Mapping(_, m)) => format!("mapping '{}'", m.name),
                            };
                            return Err(blocks_error(
                                format!("loader missing after extractor '{}': found {found}", p.name),
                                "an extractor must be followed by a loader, with optional mappings between, e.g. `tap-x mapping-a target-y`".into(),
                            ));
                        }
                    }
                }
            }
            Item::Plugin(p, None)
                if matches!(p.plugin_type, PluginType::Loader | PluginType::Mapper) =>
            {
                return Err(blocks_error(
                    format!(
                        "{} '{}' has no extractor before it",
                        p.plugin_type.label(),
                        p.name
                    ),
                    "put an extractor first, e.g. `smelt run tap-x target-y`".into(),
                ));
            }
            Item::Mapping(_, m) => {
                return Err(blocks_error(
                    format!("mapping '{}' has no extractor before it", m.name),
                    "mappings go between an extractor and a loader, e.g. `tap-x mapping-a target-y`".into(),
                ));
            }
            Item::Plugin(p, command) => {
                blocks.push(Block::Command(CommandStep { plugin: p, command }))
            }
        }
    }
    Ok(blocks)
}

fn mapper_by_plugin_name(p: &Plugin) -> Result<MapperStep<'_>, RunError> {
    if p.mappings.is_empty() {
        return Ok(MapperStep {
            plugin: p,
            mapping: None,
        });
    }
    let names: Vec<&str> = p.mappings.iter().map(|m| m.name.as_str()).collect();
    Err(blocks_error(
        format!("mapper '{}' must be named by one of its mappings", p.name),
        format!("use one of: {}", names.join(", ")),
    ))
}

fn describe(p: &Plugin, cmd: Option<&str>) -> String {
    match cmd {
        Some(c) => format!("command block '{}:{c}'", p.name),
        None => format!("{} '{}'", p.plugin_type.label(), p.name),
    }
}

fn blocks_error(message: String, hint: String) -> RunError {
    RunError::Blocks { message, hint }
}
