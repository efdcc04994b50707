//! Choosing the Python interpreter a plugin's venv is built on.
//!
//! The plugin's `python:` key, else the project's `python` setting, else `python3` from `PATH`
//! (Meltano uses the interpreter running Meltano; smelt has none, so `python3` stands in). When
//! an install fails because the package's `requires-python` excludes that interpreter, the
//! other `python3.X` on `PATH` are tried, newest first.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use smelt_project::Plugin;

/// The interpreter asked for, and whether the plugin or project named it (Meltano then adds it
/// to its fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// As written (`python3.11`, `/usr/bin/python3`), or `python3` by default.
    pub name: String,
    /// Whether `python:` or the `python` setting gave it.
    pub configured: bool,
}

/// The interpreter for `plugin` (see the module docs).
pub fn request(plugin: &Plugin, project_python: Option<&str>) -> Request {
    let from_plugin = plugin
        .extra
        .get("python")
        .and_then(|v| v.as_str())
        .filter(|s| !s.trim().is_empty());
    match from_plugin.or(project_python) {
        Some(name) => Request {
            name: name.to_string(),
            configured: true,
        },
        None => Request {
            name: "python3".to_string(),
            configured: false,
        },
    }
}

/// Where `name` is: itself when it holds a `/` (relative to `root`), else the first executable
/// of that name on `PATH`.
pub fn resolve(name: &str, root: &Path, env: &BTreeMap<String, String>) -> Option<PathBuf> {
    if name.contains('/') {
        let p = root.join(name);
        return is_executable(&p).then_some(p);
    }
    find_on_path(name, env)
}

/// The first executable file called `name` in the `PATH` of `env`.
pub fn find_on_path(name: &str, env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let path = env.get("PATH")?;
    std::env::split_paths(path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Every `python3.X` on `PATH` (the first of each name), newest minor version first.
pub fn versioned_pythons(env: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let Some(path) = env.get("PATH") else {
        return Vec::new();
    };
    let mut found: BTreeMap<u32, PathBuf> = BTreeMap::new();
    for dir in std::env::split_paths(path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(minor) = name
                .to_str()
                .and_then(|n| n.strip_prefix("python3."))
                .and_then(|m| m.parse::<u32>().ok())
            else {
                continue;
            };
            let p = entry.path();
            if is_executable(&p) {
                found.entry(minor).or_insert(p);
            }
        }
    }
    found.into_values().rev().collect()
}

/// Whether installer output says the package does not support the interpreter (uv's resolver
/// message or pip's).
pub fn requires_python_mismatch(output: &str) -> bool {
    [
        "current Python version",
        "requires a different Python",
        "does not satisfy Python",
        "Requires-Python",
    ]
    .iter()
    .any(|needle| output.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exe(path: &Path) {
        std::fs::write(path, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    #[test]
    fn versioned_pythons_newest_first_first_on_path_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).expect("a");
        std::fs::create_dir_all(&b).expect("b");
        for n in ["python3.9", "python3.12", "python3.12-config", "python3"] {
            exe(&a.join(n));
        }
        exe(&b.join("python3.10"));
        exe(&b.join("python3.12"));
        std::fs::write(a.join("python3.13"), "not executable").expect("write");
        let path = std::env::join_paths([&a, &b]).expect("join");
        let env = BTreeMap::from([("PATH".to_string(), path.to_string_lossy().into_owned())]);
        assert_eq!(
            versioned_pythons(&env),
            [
                a.join("python3.12"),
                b.join("python3.10"),
                a.join("python3.9")
            ]
        );
        assert_eq!(find_on_path("python3.10", &env), Some(b.join("python3.10")));
        assert_eq!(find_on_path("python3.13", &env), None);
    }

    #[test]
    fn recognises_requires_python_failures() {
        let uv = "× No solution found when resolving dependencies:\n  ╰─▶ Because the current Python version (3.9.18) does not satisfy Python>=3.10 and x==1 depends on Python>=3.10";
        assert!(requires_python_mismatch(uv));
        assert!(requires_python_mismatch(
            "ERROR: Package 'x' requires a different Python: 3.9.0 not in '>=3.10'"
        ));
        assert!(!requires_python_mismatch(
            "No solution found: because there is no version of nope-xyz"
        ));
    }
}
