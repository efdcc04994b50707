//! Makes one unit's venv current: creates it at its final path (after removing the old one),
//! installs the pip arguments, then writes the fingerprints last, and links the members that
//! share it.

use std::path::{Path, PathBuf};

use smelt_project::VenvBackend;

use crate::exec::{self, Bounds, Finished};
use crate::fingerprint::{meltano_fingerprint, MELTANO_FILE, SMELT_FILE};
use crate::plan::{is_link, relative_path, Member, Unit};
use crate::python;

/// Lines of installer output shown when an install fails.
pub const TAIL_LINES: usize = 20;

/// What every install of one call shares.
pub struct Installer {
    /// `venv.backend`.
    pub backend: VenvBackend,
    /// uv, when the backend is uv.
    pub uv: Option<PathBuf>,
    /// `uv --version`, for the fingerprint's facts: asked for once, by the first install that
    /// finishes, so it never delays the start of the installs.
    pub uv_version: std::sync::OnceLock<String>,
    /// Limits of each process.
    pub bounds: Bounds,
    /// Working directory of installers (the project root).
    pub cwd: PathBuf,
    /// Variables for installers (the project's `.env`), over smelt's own environment.
    pub env: Vec<(String, String)>,
    /// The process environment (for `PATH` look-ups).
    pub path_env: std::collections::BTreeMap<String, String>,
    /// `--force` with the virtualenv backend: pass pip `--ignore-requires-python` (Meltano's).
    pub ignore_requires_python: bool,
}

impl Installer {
    /// Makes `unit` current: the real venv if needed, then each member's link. An error is a
    /// message for people (the tail of the installer's output included).
    pub fn install(&self, unit: &Unit) -> Result<(), String> {
        if !unit.current {
            self.install_venv(unit)
                .map_err(|message| crate::secrets::mask(&message, &unit.secrets))?;
        }
        for member in &unit.members {
            if member.links_to(unit) && (!member.current || !unit.current) {
                link(member, unit)?;
            }
        }
        Ok(())
    }

    fn install_venv(&self, unit: &Unit) -> Result<(), String> {
        let first = unit
            .python_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(&unit.python.name));
        let result = self.attempt(unit, &first);
        let failure = match result {
            Ok(()) => return Ok(()),
            Err(f) => f,
        };
        // Another interpreter only when none was asked for and the package refused this one.
        let retry = !unit.python.configured && failure.refused_python();
        if retry {
            let tried = std::fs::canonicalize(&first).unwrap_or(first.clone());
            for candidate in python::versioned_pythons(&self.path_env) {
                if std::fs::canonicalize(&candidate).unwrap_or(candidate.clone()) == tried {
                    continue;
                }
                match self.attempt(unit, &candidate) {
                    Ok(()) => return Ok(()),
                    Err(f) if f.refused_python() => continue,
                    Err(f) => return Err(f.describe(&candidate)),
                }
            }
        }
        Err(failure.describe(&first))
    }

    /// One try with `interpreter`.
    fn attempt(&self, unit: &Unit, interpreter: &Path) -> Result<(), Failure> {
        let venv = &unit.venv;
        remove(venv).map_err(|e| {
            Failure::Message(format!(
                "could not remove the old virtualenv {}: {e}",
                venv.display()
            ))
        })?;
        if let Some(parent) = venv.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let venv_s = venv.display().to_string();
        let python_s = interpreter.display().to_string();
        let venv_python = venv.join("bin").join("python").display().to_string();
        let (create, install): ((PathBuf, Vec<String>), (PathBuf, Vec<String>)) =
            match (&self.backend, &self.uv) {
                (VenvBackend::Uv, Some(uv)) => (
                    (
                        uv.clone(),
                        strings(&["venv", "--python", &python_s, &venv_s]),
                    ),
                    (
                        uv.clone(),
                        strings(&["pip", "install", "--python", &venv_python]),
                    ),
                ),
                _ => {
                    let mut pip = strings(&["-m", "pip", "install", "--disable-pip-version-check"]);
                    if self.ignore_requires_python {
                        pip.push("--ignore-requires-python".to_string());
                    }
                    (
                        (interpreter.to_path_buf(), strings(&["-m", "venv", &venv_s])),
                        (PathBuf::from(&venv_python), pip),
                    )
                }
            };
        let created = self.run(&create.0, &create.1)?;
        if !created.success() {
            return Err(Failure::Process(created));
        }
        let mut args = install.1;
        args.extend(unit.key.args.iter().cloned());
        let installed = self.run(&install.0, &args)?;
        if !installed.success() {
            return Err(Failure::Process(installed));
        }
        let configured = unit.python.configured.then_some(unit.python.name.as_str());
        let write = std::fs::write(
            venv.join(MELTANO_FILE),
            meltano_fingerprint(&unit.key.args, configured),
        )
        .and_then(|()| {
            std::fs::write(
                venv.join(SMELT_FILE),
                unit.key.file_text(&[
                    ("python_used", &python_s),
                    ("installer", &self.installer_fact()),
                ]),
            )
        });
        write.map_err(|e| {
            Failure::Message(format!(
                "could not write the fingerprint into {venv_s}: {e}"
            ))
        })
    }

    fn installer_fact(&self) -> String {
        match self.backend {
            VenvBackend::Uv => match &self.uv {
                Some(uv) => self
                    .uv_version
                    .get_or_init(|| crate::uv::version(uv, self.bounds))
                    .clone(),
                None => String::new(),
            },
            _ => "python -m venv + pip".to_string(),
        }
    }

    fn run(&self, program: &Path, args: &[String]) -> Result<Finished, Failure> {
        exec::run(program, args, &self.env, &self.cwd, self.bounds)
            .map_err(|e| Failure::Message(format!("could not run {}: {e}", program.display())))
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Why one try failed.
enum Failure {
    /// Something smelt could not do (start a program, remove or write a file).
    Message(String),
    /// An installer process failed.
    Process(Finished),
}

impl Failure {
    /// Whether the installer said the package does not support the interpreter.
    fn refused_python(&self) -> bool {
        matches!(self, Failure::Process(f) if python::requires_python_mismatch(&f.output))
    }

    /// "the installer failed (exit 1, with python3); its last 20 lines:" and those lines.
    fn describe(self, interpreter: &Path) -> String {
        let f = match self {
            Failure::Message(m) => return m,
            Failure::Process(f) => f,
        };
        let tail = f.tail(TAIL_LINES);
        let mut msg = format!(
            "the installer failed ({}, with {})",
            f.describe(),
            interpreter.display()
        );
        if tail.is_empty() {
            msg.push_str(" and printed nothing");
        } else {
            msg.push_str(&format!("; its last {} lines:", tail.len()));
            for line in tail {
                msg.push_str("\n    ");
                msg.push_str(line);
            }
        }
        msg
    }
}

/// Removes whatever is at `path`: a link (never what it points to) or a directory tree.
pub fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    }
}

/// Points `member`'s venv path at the unit's real venv with a relative symlink.
fn link(member: &Member, unit: &Unit) -> Result<(), String> {
    let parent = member
        .venv
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", member.venv.display()))?;
    std::fs::create_dir_all(parent)
        .and_then(|()| remove(&member.venv))
        .and_then(|()| std::os::unix::fs::symlink(relative_path(parent, &unit.venv), &member.venv))
        .map_err(|e| {
            format!(
                "could not link {} to the shared virtualenv {}: {e}",
                member.venv.display(),
                unit.venv.display()
            )
        })?;
    debug_assert!(is_link(&member.venv));
    Ok(())
}
