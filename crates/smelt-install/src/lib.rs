//! smelt-install: installs a Meltano project's Python plugins, one virtualenv per plugin at
//! `.meltano/<type>/<name>/venv` (Meltano's layout, so smelt and Meltano use each other's
//! installs).
//!
//! uv does the work (`uv venv` + `uv pip install`), taken from `$SMELT_UV`, `PATH`, or
//! bootstrapped once from PyPI into smelt's cache ([`uv`]); `venv.backend: virtualenv` asks for
//! `python -m venv` + pip instead, which is also the fallback when uv cannot be had. Units run in
//! parallel on worker threads; plugins with the same pip arguments and interpreter share one
//! venv ([`plan`]); a fingerprint written last makes an unchanged plugin a no-op that starts no
//! process ([`fingerprint`]).
//!
//! Entry points: [`install`] and [`is_installed`].

#![warn(missing_docs)]

pub mod exec;
pub mod fingerprint;
pub mod plan;
pub mod python;
mod report;
pub mod secrets;
pub mod shell_split;
pub mod uv;
pub mod venv;
mod workers;

use std::time::Duration;

use smelt_project::{Plugin, PluginType, Project, ProjectError, VenvBackend};

pub use report::Progress;

/// Default bound on one installer process: 30 minutes (`SMELT_INSTALL_TIMEOUT` overrides).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How to install.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Units installed at once (at least 1).
    pub jobs: usize,
    /// Delete the selected plugins' venvs first (`--clean`).
    pub clean: bool,
    /// Reinstall even when the fingerprint says the venv is current (`--force`); with the
    /// virtualenv backend also pip's `--ignore-requires-python` (Meltano's `--force`).
    pub force: bool,
    /// How progress is shown.
    pub progress: Progress,
    /// Bound on each installer process.
    pub timeout: Duration,
    /// Reports a signal smelt received (SIGINT/SIGTERM); installers are then stopped and the
    /// remaining plugins fail as interrupted. The CLI passes `smelt_runtime::signals::received`.
    pub interrupted: fn() -> Option<i32>,
}

fn never() -> Option<i32> {
    None
}

impl Default for InstallOptions {
    /// One job per core, no clean, no force, automatic progress, [`DEFAULT_TIMEOUT`], no
    /// signal hook.
    fn default() -> Self {
        InstallOptions {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            clean: false,
            force: false,
            progress: Progress::Auto,
            timeout: DEFAULT_TIMEOUT,
            interrupted: never,
        }
    }
}

/// How one plugin's install ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Installed (or reinstalled) now.
    Installed,
    /// Its venv was already current; nothing ran.
    UpToDate,
    /// Nothing to install (built in, or no `pip_url`): why.
    NothingToInstall(String),
    /// The install failed: what happened, with the tail of the installer's output.
    Failed(String),
}

/// One plugin's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The plugin's name.
    pub plugin: String,
    /// Its type.
    pub plugin_type: PluginType,
    /// How it ended.
    pub status: Status,
    /// Seconds spent on it (0 when nothing ran).
    pub seconds: f64,
}

/// Installs `plugins` (of `project`) and returns one outcome per plugin, in order. A failed
/// plugin leaves the others installed. The error is for what stops every install before any
/// starts: an invalid `venv.backend` or `python` project setting.
pub fn install(
    project: &Project,
    plugins: &[&Plugin],
    opts: &InstallOptions,
) -> Result<Vec<Outcome>, ProjectError> {
    let settings = venv_settings(project)?;
    Ok(workers::install(project, plugins, &settings, opts))
}

/// Whether `plugin` needs no install: built in, without a `pip_url`, or its venv's fingerprint
/// matches. Only reads files; starts no process. Settings that cannot be read count as "not
/// installed" (the install then reports the problem).
pub fn is_installed(project: &Project, plugin: &Plugin) -> bool {
    let Ok(settings) = venv_settings(project) else {
        return false;
    };
    let plan = plan::plan(project, &[plugin], &settings, false);
    match plan.needs.first() {
        Some(plan::Need::Nothing(_)) => true,
        Some(plan::Need::Unit(u)) => !plan.units[*u].needs_work(),
        _ => false,
    }
}

/// `SMELT_INSTALL_TIMEOUT` (seconds) from `env`, else [`DEFAULT_TIMEOUT`]; a value that is not a
/// positive number is an error naming it.
pub fn timeout_from_env(value: Option<&str>) -> Result<Duration, String> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(DEFAULT_TIMEOUT),
        Some(v) => match v.parse::<f64>() {
            Ok(s) if s > 0.0 && s <= 86_400.0 * 7.0 => Ok(Duration::from_secs_f64(s)),
            _ => Err(format!(
                "SMELT_INSTALL_TIMEOUT must be a number of seconds above 0 and at most a week, not `{v}`"
            )),
        },
    }
}

fn venv_settings(project: &Project) -> Result<plan::VenvSettings, ProjectError> {
    let resolved = project.meltano_config()?;
    let backend = VenvBackend::from_config(&resolved)?;
    let python = match resolved.get("python") {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    Ok(plan::VenvSettings { backend, python })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_setting() {
        assert_eq!(timeout_from_env(None), Ok(DEFAULT_TIMEOUT));
        assert_eq!(timeout_from_env(Some(" ")), Ok(DEFAULT_TIMEOUT));
        assert_eq!(timeout_from_env(Some("90")), Ok(Duration::from_secs(90)));
        assert!(timeout_from_env(Some("0")).is_err());
        assert!(timeout_from_env(Some("soon")).is_err());
    }
}
