//! `smelt init`: scaffolds a new project the way `meltano init` does.

use std::path::{Path, PathBuf};

use crate::error::ProjectError;
use crate::root::PROJECT_FILE;

/// Directories `meltano init` creates, each with an empty `.gitkeep`.
const KEEP_DIRS: [&str; 6] = [
    "extract",
    "load",
    "transform",
    "analyze",
    "notebook",
    "orchestrate",
];

fn project_yml(project_id: &str) -> String {
    format!(
        "version: 1
default_environment: dev
project_id: {project_id}
env: {{}}
environments:
- name: dev
  env: {{}}
- name: staging
  env: {{}}
- name: prod
  env: {{}}
plugins:
  # Add plugins with `smelt add <type> <name>` or list them here, e.g.:
  # extractors:
  # - name: tap-csv
  #   variant: smelt
  # loaders:
  # - name: target-jsonl
  #   variant: smelt
  # mappers: []
  # utilities: []
  extractors: []
  loaders: []
"
    )
}

const GITIGNORE: &str = "/venv\n/.meltano\n.env\noutput/\n";
const OUTPUT_GITIGNORE: &str = "*\n!.gitignore\n";

/// Creates a project in `dir` (or in `dir/name` when `name` is given) and returns its root.
///
/// Writes `meltano.yml` (with a fresh `project_id`, environments dev/staging/prod),
/// `.gitignore`, `README.md`, `requirements.txt`, `output/.gitignore`, the `.meltano/` system
/// directory, and `extract/`, `load/`, `transform/`, `analyze/`, `notebook/`, `orchestrate/`
/// (each with `.gitkeep`). Files that already exist are left alone; a directory that already
/// holds a `meltano.yml` is refused.
pub fn init_project(dir: &Path, name: Option<&str>) -> Result<PathBuf, ProjectError> {
    let root = match name {
        Some(n) if !n.trim().is_empty() => dir.join(n),
        _ => dir.to_path_buf(),
    };
    let project_file = root.join(PROJECT_FILE);
    if project_file.exists() {
        return Err(ProjectError::AlreadyInitialized { path: project_file });
    }
    std::fs::create_dir_all(&root).map_err(|e| ProjectError::io("create directory", &root, e))?;

    let project_id = uuid::Uuid::new_v4().to_string();
    write_new(&project_file, &project_yml(&project_id))?;
    write_new(&root.join(".gitignore"), GITIGNORE)?;
    write_new(&root.join("README.md"), "")?;
    write_new(&root.join("requirements.txt"), "")?;
    let output = root.join("output");
    std::fs::create_dir_all(&output)
        .map_err(|e| ProjectError::io("create directory", &output, e))?;
    write_new(&output.join(".gitignore"), OUTPUT_GITIGNORE)?;
    for d in KEEP_DIRS {
        let path = root.join(d);
        std::fs::create_dir_all(&path)
            .map_err(|e| ProjectError::io("create directory", &path, e))?;
        write_new(&path.join(".gitkeep"), "")?;
    }
    let sys = root.join(".meltano");
    std::fs::create_dir_all(&sys).map_err(|e| ProjectError::io("create directory", &sys, e))?;
    Ok(std::fs::canonicalize(&root).unwrap_or(root))
}

/// Writes `text` to `path` unless the file already exists.
fn write_new(path: &Path, text: &str) -> Result<(), ProjectError> {
    if path.exists() {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| ProjectError::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{LoadOptions, Project};
    use std::collections::BTreeMap;

    #[test]
    fn scaffolds_a_loadable_project() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("README.md"), "mine").unwrap_or_else(|e| panic!("{e}"));
        let root = init_project(dir.path(), None).unwrap_or_else(|e| panic!("{e}"));
        for f in [
            "meltano.yml",
            ".gitignore",
            "requirements.txt",
            "output/.gitignore",
            "extract/.gitkeep",
            "orchestrate/.gitkeep",
        ] {
            assert!(root.join(f).is_file(), "{f} missing");
        }
        assert!(root.join(".meltano").is_dir());
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_default();
        assert_eq!(readme, "mine", "existing files are kept");
        let gitignore = std::fs::read_to_string(root.join(".gitignore")).unwrap_or_default();
        assert!(gitignore.contains("/.meltano") && gitignore.contains(".env"));

        let project = Project::load_with_env(&root, &LoadOptions::default(), BTreeMap::new())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(project.environment.as_deref(), Some("dev"));
        let names: Vec<_> = project
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["dev", "staging", "prod"]);
        let id = project.project_id.clone().unwrap_or_default();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert!(project.plugins.is_empty());
    }

    #[test]
    fn named_subdirectory_and_refusal() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = init_project(dir.path(), Some("proj")).unwrap_or_else(|e| panic!("{e}"));
        assert!(root.ends_with("proj"));
        let first = std::fs::read_to_string(root.join("meltano.yml")).unwrap_or_default();
        let err = init_project(dir.path(), Some("proj"));
        assert!(matches!(err, Err(ProjectError::AlreadyInitialized { .. })));
        let after = std::fs::read_to_string(root.join("meltano.yml")).unwrap_or_default();
        assert_eq!(first, after, "existing project untouched");
    }
}
