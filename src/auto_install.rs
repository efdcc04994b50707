//! Meltano's auto-install: `run`, `invoke`, `el`, `config test` and `select` install the plugins
//! they are about to run when their venv is missing or out of date, as `--install` /
//! `--no-install` / `--only-install` say.
//!
//! The check reads only fingerprint files, so a project that is installed pays no process and
//! next to no time for it. A plugin whose `executable` is a path (`bin/tap`, `/opt/tap`) is the
//! user's own program and is never installed behind their back.

use smelt_install::{InstallOptions, Progress, Status};
use smelt_project::{Plugin, Project};

use crate::cli::InstallFlags;
use crate::project_context::CliError;

/// What the install flags ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstallMode {
    /// Install what is missing or changed, then go on (default, `--install`).
    Missing,
    /// Install nothing (`--no-install`).
    Never,
    /// Install what the command would run, then stop (`--only-install`).
    Only,
}

impl From<&InstallFlags> for InstallMode {
    fn from(flags: &InstallFlags) -> Self {
        if flags.no_install {
            InstallMode::Never
        } else if flags.only_install {
            InstallMode::Only
        } else {
            InstallMode::Missing
        }
    }
}

/// Whether auto-install may install `plugin` at all: an installable Python plugin that runs
/// from its venv (not built in, has a `pip_url`, no `executable` path of the user's own).
fn managed(plugin: &Plugin) -> bool {
    !plugin.is_native()
        && plugin.pip_url.is_some()
        && !plugin
            .executable
            .as_deref()
            .is_some_and(|e| e.contains('/'))
}

/// Installs what `flags` ask for among `plugins` (duplicates are fine). Returns `Some(code)`
/// when the command must stop here (`--only-install`, or an install that failed), `None` to go
/// on.
pub(crate) fn prepare(
    project: &Project,
    plugins: &[&Plugin],
    flags: &InstallFlags,
) -> Result<Option<i32>, CliError> {
    let mode = InstallMode::from(flags);
    if mode == InstallMode::Never {
        return Ok(None);
    }
    let mut wanted: Vec<&Plugin> = Vec::new();
    for &p in plugins {
        if managed(p) && !wanted.iter().any(|w| std::ptr::eq(*w, p)) {
            wanted.push(p);
        }
    }
    let missing: Vec<&Plugin> = wanted
        .iter()
        .copied()
        .filter(|p| !smelt_install::is_installed(project, p))
        .collect();
    if missing.is_empty() {
        return Ok((mode == InstallMode::Only).then_some(0));
    }
    let timeout =
        smelt_install::timeout_from_env(std::env::var("SMELT_INSTALL_TIMEOUT").ok().as_deref())
            .map_err(CliError::usage)?;
    smelt_runtime::signals::install()
        .map_err(|e| CliError::fail(format!("could not install signal handlers: {e}")))?;
    let opts = InstallOptions {
        progress: Progress::Auto,
        timeout,
        interrupted: smelt_runtime::signals::received,
        ..InstallOptions::default()
    };
    let outcomes = smelt_install::install(project, &missing, &opts).map_err(CliError::fail)?;
    if let Some(sig) = smelt_runtime::signals::received() {
        return Ok(Some(smelt_runtime::signals::exit_code_for(sig)));
    }
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Failed(_)))
        .map(|o| format!("{} '{}'", o.plugin_type.label(), o.plugin))
        .collect();
    if !failed.is_empty() {
        return Err(CliError::fail(format!(
            "could not install {} (see above); fix the pip_url or install with `smelt install`, or pass --no-install to run what is installed",
            failed.join(", ")
        )));
    }
    Ok((mode == InstallMode::Only).then_some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(install: bool, no_install: bool, only_install: bool) -> InstallFlags {
        InstallFlags {
            install,
            no_install,
            only_install,
        }
    }

    #[test]
    fn flags_choose_the_mode() {
        assert_eq!(
            InstallMode::from(&flags(false, false, false)),
            InstallMode::Missing
        );
        assert_eq!(
            InstallMode::from(&flags(true, false, false)),
            InstallMode::Missing
        );
        assert_eq!(
            InstallMode::from(&flags(false, true, false)),
            InstallMode::Never
        );
        assert_eq!(
            InstallMode::from(&flags(false, false, true)),
            InstallMode::Only
        );
    }
}
