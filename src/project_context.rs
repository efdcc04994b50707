//! Loading what most commands need: the project (with the built-in plugin definitions), the
//! logger, the system database and the state backend.

use std::sync::Arc;

use smelt_project::{find_project_root, EnvironmentChoice, LoadOptions, Project, ProjectSettings};
use smelt_runtime::Logger;
use smelt_state::StateBackend;
use smelt_systemdb::SystemDb;

use crate::cli::Cli;

/// A failure before any command-specific work: printed as is, exit code attached.
pub struct CliError {
    /// The message for the user (what, where, what to do).
    pub message: String,
    /// The exit code.
    pub code: i32,
}

impl CliError {
    /// A failure (exit 1).
    pub fn fail(message: impl std::fmt::Display) -> Self {
        CliError {
            message: message.to_string(),
            code: 1,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl std::fmt::Display) -> Self {
        CliError {
            message: message.to_string(),
            code: 2,
        }
    }
}

/// Builds the console logger from the global flags.
pub fn logger(cli: &Cli) -> Result<Logger, CliError> {
    let (level, format) = (cli.log_level, cli.log_format);
    Ok(Logger::new(level, format))
}

/// Finds and loads the project, honouring --cwd, --environment and --no-environment, and
/// prints what loading warned about.
pub fn load_project(cli: &Cli) -> Result<Project, CliError> {
    let environment = if cli.no_environment {
        EnvironmentChoice::NoEnvironment
    } else if let Some(name) = &cli.environment {
        EnvironmentChoice::Named(name.clone())
    } else {
        EnvironmentChoice::Default
    };
    load_project_in(cli, environment)
}

/// Like [`load_project`] with the environment chosen by the caller (`config` ignores the
/// default environment, as Meltano does).
pub fn load_project_in(cli: &Cli, environment: EnvironmentChoice) -> Result<Project, CliError> {
    let project = read_project(cli, environment).map_err(CliError::fail)?;
    warn_about(cli, &project)?;
    Ok(project)
}

/// Finds and reads the project, with the native plugin definitions.
fn read_project(
    cli: &Cli,
    environment: EnvironmentChoice,
) -> Result<Project, smelt_project::ProjectError> {
    let root = find_project_root(cli.cwd.as_deref())?;
    let native = smelt_plugins::native_definitions();
    let mut project = Project::load(
        &root,
        &LoadOptions {
            environment,
            native: &native,
        },
    )?;
    if let Some(uri) = &cli.database_uri {
        project.set_cli_setting("database_uri", serde_json::Value::String(uri.clone()));
    }
    Ok(project)
}

/// Prints what loading the project warned about.
fn warn_about(cli: &Cli, project: &Project) -> Result<(), CliError> {
    if !project.warnings.is_empty() {
        let log = logger(cli)?;
        for w in &project.warnings {
            log.warn(w);
        }
    }
    Ok(())
}

/// Loads the project for `state`: state IDs are given in full, so no environment is needed.
/// An explicitly chosen environment must exist; a `default_environment` (or
/// `MELTANO_ENVIRONMENT`) naming one that does not is only a warning here.
pub fn load_project_for_state(cli: &Cli) -> Result<Project, CliError> {
    if cli.environment.is_some() || cli.no_environment {
        return load_project(cli);
    }
    match read_project(cli, EnvironmentChoice::Default) {
        Err(e @ smelt_project::ProjectError::UnknownEnvironment { .. }) => {
            logger(cli)?.warn(&format!(
                "{e}\n  (state commands need no environment: continuing without one)"
            ));
            load_project_in(cli, EnvironmentChoice::NoEnvironment)
        }
        other => {
            let project = other.map_err(CliError::fail)?;
            warn_about(cli, &project)?;
            Ok(project)
        }
    }
}

/// Loads the project for commands that, like Meltano's `config` and `select`, use an
/// environment only when one is asked for: `--environment`, or `MELTANO_ENVIRONMENT` from the
/// process environment or `.env`. `default_environment` is ignored, with Meltano's note.
pub fn load_project_explicit_env(cli: &Cli, command: &str) -> Result<Project, CliError> {
    if cli.no_environment {
        return load_project_in(cli, EnvironmentChoice::NoEnvironment);
    }
    if let Some(name) = &cli.environment {
        return load_project_in(cli, EnvironmentChoice::Named(name.clone()));
    }
    if let Ok(name) = std::env::var("MELTANO_ENVIRONMENT") {
        if !name.trim().is_empty() {
            return load_project_in(cli, EnvironmentChoice::Named(name));
        }
    }
    let project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
    if let Some(name) = project
        .dotenv()
        .get("MELTANO_ENVIRONMENT")
        .filter(|n| !n.trim().is_empty())
    {
        let name = name.clone();
        return load_project_in(cli, EnvironmentChoice::Named(name));
    }
    if let Some(default) = project.default_environment.as_deref() {
        logger(cli)?.info(&format!(
            "The default environment '{default}' will be ignored for `smelt {command}`. To configure a specific environment, please use the option `--environment=<environment name>`."
        ));
    }
    Ok(project)
}

/// The project settings, typed and validated: a command that acts on them resolves them here,
/// once, before it starts anything.
pub fn project_settings(project: &Project) -> Result<ProjectSettings, CliError> {
    project.project_settings().map_err(CliError::fail)
}

/// Opens the project's system database (PostgreSQL when `database_uri` is a `postgresql://`
/// URI, else the embedded `.meltano/smelt.db`) and adds the settings stored in it to the
/// project as the layer below meltano.yml.
pub fn open_systemdb(project: &mut Project) -> Result<Arc<SystemDb>, CliError> {
    open_systemdb_by(project, None)
}

/// Like [`open_systemdb`], waiting for a PostgreSQL server no longer than the `database_*`
/// timeout settings allow, nor past `deadline` (a run's `--timeout`).
pub fn open_systemdb_by(
    project: &mut Project,
    deadline: Option<std::time::Instant>,
) -> Result<Arc<SystemDb>, CliError> {
    let resolved = project.meltano_config().map_err(CliError::fail)?;
    let uri = match resolved.get("database_uri") {
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let waits = smelt_project::DatabaseWaits::from_config(&resolved).map_err(CliError::fail)?;
    let mut timeouts = smelt_systemdb::DbTimeouts {
        connect: waits.connect,
        statement: waits.statement,
        max_retries: waits.max_retries,
        retry_pause: waits.retry_pause,
        deadline: None,
    };
    if let Some(deadline) = deadline {
        timeouts = timeouts.within(deadline.saturating_duration_since(std::time::Instant::now()));
    }
    let sqlite = project.sys_dir.join("smelt.db");
    let db = SystemDb::open_uri_within(&uri, &sqlite, &timeouts)
        .map(Arc::new)
        .map_err(CliError::fail)?;
    project.set_stored_settings(db.stored_settings().map_err(CliError::fail)?);
    Ok(db)
}

/// The state backend the project's `state_backend.uri` names (default: the system database).
pub fn state_backend(
    project: &Project,
    settings: &ProjectSettings,
    db: &Arc<SystemDb>,
) -> Result<Arc<dyn StateBackend>, CliError> {
    smelt_runtime::state_store::open_state_backend(project, settings, db).map_err(CliError::fail)
}

/// A plugin's resolved config as JSON for `--dump` and `config print`: secrets redacted unless
/// `unsafe_` (DESIGN.md §3: no secret reaches stdout without `--unsafe`).
pub fn config_json(
    project: &Project,
    plugin: &smelt_project::Plugin,
    unsafe_: bool,
) -> Result<serde_json::Value, CliError> {
    let config = project
        .plugin_config(plugin, None)
        .map_err(|e| CliError::fail(format!("could not dump config of {}: {e}", plugin.name)))?;
    Ok(serde_json::Value::Object(if unsafe_ {
        config.values
    } else {
        config.redacted()
    }))
}

/// The context a run (`run`, `el`) executes in: the project, its typed settings, the system
/// database and state backend, the flags, and the deadline computed once from `--timeout`.
pub fn run_context<'p>(
    project: &'p Project,
    logger: Logger,
    db: Arc<SystemDb>,
    settings: ProjectSettings,
    options: smelt_runtime::RunOptions,
) -> Result<smelt_runtime::RunContext<'p>, CliError> {
    let deadline = options.timeout.map(|t| std::time::Instant::now() + t);
    Ok(smelt_runtime::RunContext {
        project,
        logger,
        state: state_backend(project, &settings, &db)?,
        db,
        settings,
        options,
        deadline,
        cancel: None,
    })
}
