//! The loaded project and its lookups.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::dotenv::parse_dotenv;
use crate::environment::{choose_environment, Environment, EnvironmentChoice};
use crate::error::{Location, ProjectError};
use crate::files::load_files;
use crate::job::{Job, Schedule};
use crate::node::Node;
use crate::plugin::{Mapping, NativeDefinition, Plugin};
use crate::plugins_build::{build_plugins, BuildContext};
use crate::source_map::SourceMap;

/// How to load a project.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions<'a> {
    /// Which environment to activate.
    pub environment: EnvironmentChoice,
    /// Definitions of the plugins built into smelt, for `variant: smelt` entries.
    pub native: &'a [NativeDefinition],
}

/// A loaded Meltano project: `meltano.yml` plus its included files, `.env`, and the active
/// environment, with every plugin's definition merged.
///
/// `Debug` leaves out the process environment and `.env` values (they hold secrets).
#[derive(Clone)]
pub struct Project {
    /// The directory holding `meltano.yml`.
    pub root: PathBuf,
    /// The system directory: `MELTANO_SYS_DIR_ROOT` if set, else `<root>/.meltano`.
    pub sys_dir: PathBuf,
    /// `project_id` from `meltano.yml`.
    pub project_id: Option<String>,
    /// The active environment's name.
    pub environment: Option<String>,
    /// `default_environment` from `meltano.yml`.
    pub default_environment: Option<String>,
    /// All plugins, extractors first (Meltano's type order), then file order.
    pub plugins: Vec<Plugin>,
    /// All jobs.
    pub jobs: Vec<Job>,
    /// All schedules.
    pub schedules: Vec<Schedule>,
    /// Every defined environment.
    pub environments: Vec<Environment>,
    /// The top-level `env:` block (not expanded).
    pub env: BTreeMap<String, String>,
    /// The merged project document, unknown keys included.
    pub document: Value,
    /// Where every node of `document` was written.
    pub source_map: SourceMap,
    /// Files merged in through `include_paths`.
    pub included_files: Vec<PathBuf>,
    /// Things worth telling the user that did not stop loading (ignored keys, bad `.env` lines).
    pub warnings: Vec<String>,
    pub(crate) process_env: BTreeMap<String, String>,
    pub(crate) dotenv: BTreeMap<String, String>,
    /// Settings stored in the system database, by namespace (`meltano`, `extractors.tap-x`).
    pub(crate) store: BTreeMap<String, Map<String, Value>>,
    /// Project settings given on the command line (`--log-level`, `--database-uri`, …).
    pub(crate) cli_settings: BTreeMap<String, Value>,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("root", &self.root)
            .field("sys_dir", &self.sys_dir)
            .field("project_id", &self.project_id)
            .field("environment", &self.environment)
            .field(
                "plugins",
                &self.plugins.iter().map(|p| &p.name).collect::<Vec<_>>(),
            )
            .field(
                "jobs",
                &self.jobs.iter().map(|j| &j.name).collect::<Vec<_>>(),
            )
            .field(
                "schedules",
                &self.schedules.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("included_files", &self.included_files)
            .field("warnings", &self.warnings)
            .field(
                "process_env",
                &format_args!("<{} variables>", self.process_env.len()),
            )
            .field("dotenv", &format_args!("<{} variables>", self.dotenv.len()))
            .finish_non_exhaustive()
    }
}

impl Project {
    /// Loads the project at `root`, reading the process environment for `MELTANO_*`
    /// variables and setting overrides.
    pub fn load(root: &Path, opts: &LoadOptions) -> Result<Project, ProjectError> {
        let process_env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Project::load_with_env(root, opts, process_env)
    }

    /// Like [`Project::load`] but with the process environment given explicitly; every later
    /// lookup (`setting`, `plugin_config`, `plugin_env`) uses this map, never `std::env`.
    pub fn load_with_env(
        root: &Path,
        opts: &LoadOptions,
        process_env: BTreeMap<String, String>,
    ) -> Result<Project, ProjectError> {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let files = load_files(&root)?;
        let mut warnings = Vec::new();

        let dotenv_path = root.join(".env");
        // Read as text with line:col for bad bytes, like every other project file.
        let dotenv = if dotenv_path.exists() {
            let text = crate::files::read_text_file(&dotenv_path, Path::new(".env"))?;
            let parsed = parse_dotenv(&text, &|k| process_env.get(k).cloned());
            warnings.extend(parsed.warnings);
            parsed.vars
        } else {
            BTreeMap::new()
        };

        let top = Node {
            value: &files.document,
            pointer: "",
            map: &files.source_map,
        };
        let project_id = top.opt_string("project_id")?;
        let default_environment = top.opt_string("default_environment")?;
        let default_env_location = top
            .get("default_environment")
            .and_then(|c| c.node().location());
        let env = top.opt_string_map("env")?.unwrap_or_default();

        let environments = read_list(top, "environments", Environment::from_node, |e| {
            (&e.name, &e.location)
        })?;
        let jobs = read_list(top, "jobs", Job::from_node, |j| (&j.name, &j.location))?;
        let schedules = read_list(top, "schedules", Schedule::from_node, |s| {
            (&s.name, &s.location)
        })?;

        let env_lookup = |k: &str| process_env.get(k).cloned();
        let active = choose_environment(
            &opts.environment,
            default_environment
                .as_deref()
                .map(|n| (n, default_env_location.clone())),
            &environments,
            &env_lookup,
        )?;
        let active_env = active
            .as_deref()
            .and_then(|name| environments.iter().find(|e| e.name == name));

        let extras_lookup = |k: &str| -> Option<(String, String)> {
            if let Some(v) = process_env.get(k) {
                return Some(("environment variable".to_string(), v.clone()));
            }
            dotenv
                .get(k)
                .map(|v| (".env variable".to_string(), v.clone()))
        };
        let ctx = BuildContext {
            root: &root,
            document: &files.document,
            source_map: &files.source_map,
            native: opts.native,
            environment: active_env,
            lookup: &extras_lookup,
        };
        let (plugins, plugin_warnings) = build_plugins(&ctx)?;
        warnings.extend(plugin_warnings);

        if let Some(env) = active_env {
            // Meltano ignores an environment's config for a plugin the project does not
            // define; so does smelt, with a warning so the typo is still seen.
            for over in &env.plugins {
                let exists = plugins
                    .iter()
                    .any(|p| p.plugin_type == over.plugin_type && p.name == over.name);
                if !exists {
                    warnings.push(format!(
                        "{}: environment `{}` configures {} `{}`, which is not defined under `plugins.{}`; ignored",
                        over.location,
                        env.name,
                        over.plugin_type.label(),
                        over.name,
                        over.plugin_type.plural()
                    ));
                }
            }
        }

        let sys_dir = match process_env
            .get("MELTANO_SYS_DIR_ROOT")
            .or_else(|| dotenv.get("MELTANO_SYS_DIR_ROOT"))
            .filter(|v| !v.trim().is_empty())
        {
            Some(dir) if Path::new(dir).is_absolute() => PathBuf::from(dir),
            Some(dir) => root.join(dir),
            None => root.join(".meltano"),
        };

        Ok(Project {
            root,
            sys_dir,
            project_id,
            environment: active,
            default_environment,
            plugins,
            jobs,
            schedules,
            environments,
            env,
            document: files.document,
            source_map: files.source_map,
            included_files: files.included,
            warnings,
            process_env,
            dotenv,
            store: BTreeMap::new(),
            cli_settings: BTreeMap::new(),
        })
    }

    /// Adds the settings stored in the system database (`config set --store db`), by
    /// namespace, as the layer below meltano.yml. The CLI reads them once after opening the
    /// database; a project loaded without them simply has that layer empty.
    pub fn set_stored_settings(&mut self, store: BTreeMap<String, Map<String, Value>>) {
        self.store = store;
    }

    /// The stored settings of one namespace (`meltano` or `<type plural>.<plugin>`).
    pub fn stored_settings(&self, namespace: &str) -> Map<String, Value> {
        self.store.get(namespace).cloned().unwrap_or_default()
    }

    /// Sets a project setting from the command line, the highest-precedence layer.
    pub fn set_cli_setting(&mut self, name: &str, value: Value) {
        self.cli_settings.insert(name.to_string(), value);
    }

    /// The directory Meltano keeps a plugin's installation in: `.meltano/<type>/<venv name>`
    /// under the system directory. Inheriting plugins without a `pip_url` of their own share
    /// their parent's (see [`Plugin::venv_name`]).
    pub fn plugin_install_dir(&self, plugin: &Plugin) -> PathBuf {
        self.sys_dir
            .join(plugin.plugin_type.plural())
            .join(&plugin.venv_name)
    }

    /// The virtualenv a plugin is installed into and runs from (Meltano's layout, so smelt and
    /// Meltano use each other's installs): `.meltano/<type>/<venv name>/venv`.
    pub fn venv_dir(&self, plugin: &Plugin) -> PathBuf {
        self.plugin_install_dir(plugin).join("venv")
    }

    /// The plugin called `name` (of any type; the first in type order if names repeat).
    pub fn find_plugin(&self, name: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.name == name)
    }

    /// The plugin called `name` of the given type.
    pub fn find_plugin_of_type(
        &self,
        plugin_type: crate::PluginType,
        name: &str,
    ) -> Option<&Plugin> {
        self.plugins
            .iter()
            .find(|p| p.plugin_type == plugin_type && p.name == name)
    }

    /// A mapper's `mappings:` entry called `mapping_name`, with its mapper; this is how a
    /// mapping name used as a block in `smelt run` is found.
    pub fn find_mapping(&self, mapping_name: &str) -> Option<(&Plugin, &Mapping)> {
        self.plugins
            .iter()
            .filter(|p| p.plugin_type == crate::PluginType::Mapper)
            .find_map(|p| p.mapping(mapping_name).map(|m| (p, m)))
    }

    /// The job called `name`.
    pub fn find_job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// The schedule called `name`.
    pub fn find_schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|s| s.name == name)
    }

    /// The active environment's definition.
    pub fn active_environment(&self) -> Option<&Environment> {
        let name = self.environment.as_deref()?;
        self.environments.iter().find(|e| e.name == name)
    }

    /// Parsed `<root>/.env`.
    pub fn dotenv(&self) -> &BTreeMap<String, String> {
        &self.dotenv
    }

    /// The process environment this project was loaded with.
    pub fn process_env(&self) -> &BTreeMap<String, String> {
        &self.process_env
    }

    /// Where the node at JSON Pointer `pointer` of the merged document was written (or its
    /// nearest located ancestor).
    pub fn location_of(&self, pointer: &str) -> Option<&Location> {
        self.source_map.locate(pointer)
    }
}

/// Reads a top-level list (`jobs`, `schedules`, `environments`) and rejects duplicate names.
fn read_list<T>(
    top: Node<'_>,
    key: &str,
    read: fn(Node<'_>) -> Result<T, ProjectError>,
    ident: fn(&T) -> (&String, &Location),
) -> Result<Vec<T>, ProjectError> {
    let Some(list) = top.get(key) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<T> = Vec::new();
    let mut seen: HashMap<String, Location> = HashMap::new();
    for item in list.node().items(&format!("`{key}`"))? {
        let value = read(item.node())?;
        let (name, location) = ident(&value);
        if let Some(first) = seen.get(name) {
            return Err(ProjectError::invalid(
                Some(location.clone()),
                format!("`{name}` is defined twice in `{key}` (first at {first})"),
                "give each entry a unique name",
            ));
        }
        seen.insert(name.clone(), location.clone());
        out.push(value);
    }
    Ok(out)
}
