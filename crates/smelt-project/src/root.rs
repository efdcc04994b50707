//! Finding the project directory.

use std::path::{Path, PathBuf};

use crate::error::ProjectError;

/// The project file name.
pub const PROJECT_FILE: &str = "meltano.yml";

/// Finds the project root.
///
/// An explicit directory (`--cwd`) wins: it or one of its parents must hold `meltano.yml`
/// (Meltano changes into `--cwd` and then searches upwards). Otherwise `MELTANO_PROJECT_ROOT`
/// (when set and non-empty) must name the project directory itself. Otherwise the current
/// directory and its parents are searched.
pub fn find_project_root(explicit: Option<&Path>) -> Result<PathBuf, ProjectError> {
    let env_root = std::env::var("MELTANO_PROJECT_ROOT").ok();
    let cwd = std::env::current_dir()
        .map_err(|e| ProjectError::io("read the current directory", Path::new("."), e))?;
    find_project_root_in(explicit, env_root.as_deref(), &cwd)
}

/// [`find_project_root`] with its inputs passed in, so it can be tested without touching the
/// process environment.
pub(crate) fn find_project_root_in(
    explicit: Option<&Path>,
    env_root: Option<&str>,
    cwd: &Path,
) -> Result<PathBuf, ProjectError> {
    if let Some(dir) = explicit {
        let start = absolute(cwd, dir);
        if !start.is_dir() {
            return Err(ProjectError::invalid(
                None,
                format!("{} is not a directory", start.display()),
                "pass --cwd the directory that holds meltano.yml",
            ));
        }
        return walk_up(&start).ok_or(ProjectError::ProjectNotFound { searched: start });
    }
    if let Some(root) = env_root.filter(|r| !r.trim().is_empty()) {
        let dir = absolute(cwd, Path::new(root));
        if dir.join(PROJECT_FILE).is_file() {
            return Ok(canonical(&dir));
        }
        return Err(ProjectError::invalid(
            None,
            format!(
                "MELTANO_PROJECT_ROOT is set to {}, but there is no meltano.yml there",
                dir.display()
            ),
            "point MELTANO_PROJECT_ROOT at the directory holding meltano.yml, or unset it",
        ));
    }
    walk_up(cwd).ok_or_else(|| ProjectError::ProjectNotFound {
        searched: cwd.to_path_buf(),
    })
}

fn absolute(cwd: &Path, dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        cwd.join(dir)
    }
}

fn canonical(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

fn walk_up(start: &Path) -> Option<PathBuf> {
    let start = canonical(start);
    let mut current: &Path = &start;
    loop {
        if current.join(PROJECT_FILE).is_file() {
            return Some(current.to_path_buf());
        }
        current = current.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join(PROJECT_FILE), "version: 1\n")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap_or_else(|e| panic!("{e}"));
        dir
    }

    fn canon(p: &Path) -> PathBuf {
        canonical(p)
    }

    #[test]
    fn walks_up_from_cwd() {
        let dir = project();
        let found = find_project_root_in(None, None, &dir.path().join("a/b"));
        assert_eq!(found.ok(), Some(canon(dir.path())));
    }

    #[test]
    fn explicit_wins_over_env_and_walks_up() {
        let dir = project();
        let other = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let env = other.path().to_string_lossy().to_string();
        let found = find_project_root_in(Some(&dir.path().join("a")), Some(&env), other.path());
        assert_eq!(found.ok(), Some(canon(dir.path())));
    }

    #[test]
    fn explicit_directory_must_exist() {
        let dir = project();
        let missing = dir.path().join("typo");
        let err = find_project_root_in(Some(&missing), None, dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("is not a directory"), "{err}");
    }

    #[test]
    fn env_root_must_hold_meltano_yml() {
        let dir = project();
        let env = dir.path().to_string_lossy().to_string();
        let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            find_project_root_in(None, Some(&env), elsewhere.path()).ok(),
            Some(canon(dir.path()))
        );
        let bad = elsewhere.path().to_string_lossy().to_string();
        let err = find_project_root_in(None, Some(&bad), dir.path())
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("MELTANO_PROJECT_ROOT"));
    }

    #[test]
    fn not_found_says_what_to_do() {
        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let err = find_project_root_in(None, None, empty.path())
            .err()
            .map(|e| e.to_string());
        let text = err.unwrap_or_default();
        assert!(text.contains("no meltano.yml found"), "{text}");
        assert!(text.contains("smelt init"), "{text}");
        assert!(text.contains("--cwd"), "{text}");
    }
}
