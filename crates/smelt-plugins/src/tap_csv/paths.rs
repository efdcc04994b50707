//! Turning an entity's `path` into the list of CSV files to read.
//!
//! A path is, in this order: an existing file; an existing directory (every `*.csv` directly
//! inside, sorted by name); or a glob pattern (matches sorted). Relative paths resolve against
//! the current directory, which the runtime sets to the project root.

use std::path::{Path, PathBuf};

use super::error::TapCsvError;

/// Expands `path` of `entity` into CSV files, sorted, never empty.
pub(crate) fn expand(entity: &str, path: &str) -> Result<Vec<PathBuf>, TapCsvError> {
    let as_path = Path::new(path);
    if as_path.is_file() {
        return Ok(vec![as_path.to_path_buf()]);
    }
    if as_path.is_dir() {
        return csv_files_in(entity, path, as_path);
    }
    if path.contains(['*', '?', '[']) {
        return glob_files(entity, path);
    }
    Err(TapCsvError::FileNotFound {
        path: path.to_string(),
        entity: entity.to_string(),
        cwd: std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "the current directory".to_string()),
    })
}

fn csv_files_in(entity: &str, path: &str, dir: &Path) -> Result<Vec<PathBuf>, TapCsvError> {
    let read_error = |source| TapCsvError::Read {
        path: path.to_string(),
        entity: entity.to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let file = entry.path();
        let is_csv = file
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(TapCsvError::NoFiles {
            what: "directory",
            path: path.to_string(),
            entity: entity.to_string(),
        });
    }
    Ok(files)
}

fn glob_files(entity: &str, pattern: &str) -> Result<Vec<PathBuf>, TapCsvError> {
    let matches = glob::glob(pattern).map_err(|e| {
        TapCsvError::Config(format!(
            "entity {entity}: `path` '{pattern}' is not a valid glob pattern: {e}"
        ))
    })?;
    let mut files = Vec::new();
    for found in matches {
        let file = found.map_err(|e| TapCsvError::Read {
            path: e.path().display().to_string(),
            entity: entity.to_string(),
            source: e.into(),
        })?;
        if file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(TapCsvError::NoFiles {
            what: "glob",
            path: pattern.to_string(),
            entity: entity.to_string(),
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_directory_and_glob() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", "c.CSV", "notes.txt"] {
            std::fs::write(dir.path().join(name), "x\n1\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.csv")).unwrap();
        let root = dir.path().to_str().unwrap();

        let single = expand("e", &format!("{root}/a.csv")).unwrap();
        assert_eq!(single, vec![dir.path().join("a.csv")]);

        let in_dir = expand("e", root).unwrap();
        let names: Vec<_> = in_dir
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.csv", "b.csv", "c.CSV"]);

        let globbed = expand("e", &format!("{root}/[ab].csv")).unwrap();
        assert_eq!(
            globbed,
            vec![dir.path().join("a.csv"), dir.path().join("b.csv")]
        );
    }

    #[test]
    fn missing_paths_name_file_and_entity() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let err = expand("users", &format!("{root}/nope.csv"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "tap-csv: file '{root}/nope.csv' (entity users) not found"
            )),
            "{err}"
        );
        let err = expand("users", root).unwrap_err().to_string();
        assert!(
            err.contains("directory") && err.contains("matches no CSV files"),
            "{err}"
        );
        let err = expand("users", &format!("{root}/*.csv"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("glob") && err.contains("(entity users)"),
            "{err}"
        );
    }
}
