//! Reading `meltano.yml` and the files its `include_paths` name into one document.
//!
//! As in Meltano, included files are deep-merged into the main one: mappings merge key by key,
//! lists (`plugins.extractors`, `schedules`, `jobs`, `environments`, ...) are appended, other
//! values are replaced. The source map follows every node to the file it came from.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{display_path, Location, ProjectError};
use crate::node::Node;
use crate::root::PROJECT_FILE;
use crate::source_map::{pointer_push, SourceMap};
use crate::yaml::parse_yaml;

/// The merged project document.
#[derive(Debug, Clone)]
pub(crate) struct ProjectFiles {
    /// All files merged; always an object.
    pub document: Value,
    /// Locations of every node of `document`.
    pub source_map: SourceMap,
    /// The included files, in merge order (relative to the root when inside it).
    pub included: Vec<PathBuf>,
}

/// Reads `root/meltano.yml` and everything it includes.
pub(crate) fn load_files(root: &Path) -> Result<ProjectFiles, ProjectError> {
    let main_path = root.join(PROJECT_FILE);
    let text = read_text_file(&main_path, Path::new(PROJECT_FILE)).map_err(|e| match e {
        ProjectError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ProjectError::ProjectNotFound {
                searched: root.to_path_buf(),
            }
        }
        other => other,
    })?;
    let (mut document, mut source_map) = parse_object(&text, Path::new(PROJECT_FILE))?;

    let patterns = {
        let node = Node {
            value: &document,
            pointer: "",
            map: &source_map,
        };
        include_patterns(node)?
    };
    let files = resolve_includes(root, &main_path, &patterns)?;
    let mut included = Vec::new();
    for path in files {
        let shown = display_path(root, &path);
        let text = read_text_file(&path, &shown)?;
        let (value, map) = parse_object(&text, &shown)?;
        deep_merge(&mut document, "", value, "", &map, &mut source_map);
        included.push(shown);
    }
    Ok(ProjectFiles {
        document,
        source_map,
        included,
    })
}

/// Reads a project file (YAML, `.env`, lock file) as UTF-8 text. Bytes that are not UTF-8 are
/// reported at their line and column in `shown`, the path as the user should see it.
pub(crate) fn read_text_file(path: &Path, shown: &Path) -> Result<String, ProjectError> {
    let bytes = std::fs::read(path).map_err(|e| ProjectError::io("read", path, e))?;
    crate::yaml::decode_utf8(bytes, shown)
}

/// Parses a file that must hold a mapping at the top (an empty file counts as `{}`).
fn parse_object(text: &str, shown: &Path) -> Result<(Value, SourceMap), ProjectError> {
    let doc = parse_yaml(text, shown)?;
    match doc.value {
        Value::Object(_) => Ok((doc.value, doc.source_map)),
        Value::Null => Ok((Value::Object(Map::new()), doc.source_map)),
        other => Err(ProjectError::invalid(
            Some(Location::file_start(shown)),
            format!(
                "the file must hold a mapping of keys (like `plugins:`), but holds {}",
                crate::node::shape(&other)
            ),
            "start the file with top-level keys such as `version: 1` and `plugins:`",
        )),
    }
}

/// `(pattern, location)` for every `include_paths` entry.
fn include_patterns(root: Node<'_>) -> Result<Vec<(String, Option<Location>)>, ProjectError> {
    let Some(child) = root.get("include_paths") else {
        return Ok(Vec::new());
    };
    let node = child.node();
    if let Some(single) = crate::node::scalar_string(node.value) {
        return Ok(vec![(single, node.location())]);
    }
    let mut out = Vec::new();
    for item in node.items("`include_paths`")? {
        let item_node = item.node();
        out.push((
            item_node.string("each entry of `include_paths`")?,
            item_node.location(),
        ));
    }
    Ok(out)
}

/// Expands the glob patterns (relative to the root) into files inside the project.
fn resolve_includes(
    root: &Path,
    main_path: &Path,
    patterns: &[(String, Option<Location>)],
) -> Result<Vec<PathBuf>, ProjectError> {
    let canonical_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let canonical_main =
        std::fs::canonicalize(main_path).unwrap_or_else(|_| main_path.to_path_buf());
    let escaped_root = glob::Pattern::escape(&root.to_string_lossy());
    let mut out: Vec<PathBuf> = Vec::new();
    for (pattern, location) in patterns {
        let full = if Path::new(pattern).is_absolute() {
            pattern.clone()
        } else {
            format!("{escaped_root}/{pattern}")
        };
        let paths = glob::glob(&full).map_err(|e| {
            ProjectError::invalid(
                location.clone(),
                format!("`{pattern}` in include_paths is not a valid glob pattern: {e}"),
                "use patterns like `./subconfig/*.meltano.yml`",
            )
        })?;
        let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        matched.sort();
        for path in matched {
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if canonical == canonical_main {
                continue;
            }
            if !canonical.starts_with(&canonical_root) {
                return Err(ProjectError::invalid(
                    location.clone(),
                    format!(
                        "include_paths entry `{pattern}` matches {}, which is outside the project",
                        path.display()
                    ),
                    "only files inside the project directory can be included",
                ));
            }
            if !canonical.is_file() {
                return Err(ProjectError::invalid(
                    location.clone(),
                    format!(
                        "include_paths entry `{pattern}` matches {}, which is not a file",
                        path.display()
                    ),
                    "make the pattern match only YAML files, e.g. `./conf/*.yml`",
                ));
            }
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// Merges `src` (from another file, with its own source map) into `dst`.
fn deep_merge(
    dst: &mut Value,
    dst_ptr: &str,
    src: Value,
    src_ptr: &str,
    src_map: &SourceMap,
    dst_map: &mut SourceMap,
) {
    match (dst, src) {
        (Value::Object(dst_obj), Value::Object(src_obj)) => {
            for (key, value) in src_obj {
                let d = pointer_push(dst_ptr, &key);
                let s = pointer_push(src_ptr, &key);
                match dst_obj.get_mut(&key) {
                    Some(existing)
                        if (existing.is_object() && value.is_object())
                            || (existing.is_array() && value.is_array()) =>
                    {
                        deep_merge(existing, &d, value, &s, src_map, dst_map);
                    }
                    _ => {
                        dst_map.graft(src_map, &s, &d);
                        dst_obj.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(dst_items), Value::Array(src_items)) => {
            for (i, item) in src_items.into_iter().enumerate() {
                let d = pointer_push(dst_ptr, &dst_items.len().to_string());
                let s = pointer_push(src_ptr, &i.to_string());
                dst_map.graft(src_map, &s, &d);
                dst_items.push(item);
            }
        }
        (dst, src) => {
            dst_map.graft(src_map, src_ptr, dst_ptr);
            *dst = src;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn include_paths_are_appended_with_their_locations() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(
            dir.path(),
            "meltano.yml",
            "include_paths: ['./conf/*.yml']\nplugins:\n  extractors:\n  - name: tap-a\njobs:\n- name: j1\n  tasks: [tap-a target-b]\n",
        );
        write(
            dir.path(),
            "conf/b.yml",
            "plugins:\n  extractors:\n  - name: tap-b\n  loaders:\n  - name: target-b\nschedules:\n- name: s\n  job: j1\n  interval: '@daily'\n",
        );
        write(
            dir.path(),
            "conf/a.yml",
            "jobs:\n- name: j2\n  tasks: tap-b target-b\n",
        );
        let files = load_files(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let doc = &files.document;
        let names: Vec<_> = doc["plugins"]["extractors"]
            .as_array()
            .map(|a| a.iter().map(|p| p["name"].as_str().unwrap_or("")).collect())
            .unwrap_or_default();
        assert_eq!(names, ["tap-a", "tap-b"]);
        assert_eq!(doc["plugins"]["loaders"][0]["name"], "target-b");
        assert_eq!(doc["jobs"][1]["name"], "j2");
        assert_eq!(doc["schedules"][0]["name"], "s");
        let loc = files.source_map.get("/plugins/extractors/1").cloned();
        assert_eq!(loc, Some(Location::new("conf/b.yml", 3, 5)));
        let loc = files.source_map.get("/jobs/1").cloned();
        assert_eq!(loc, Some(Location::new("conf/a.yml", 2, 3)));
        assert_eq!(
            files.included,
            vec![PathBuf::from("conf/a.yml"), PathBuf::from("conf/b.yml")]
        );
    }

    #[test]
    fn broken_included_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(dir.path(), "meltano.yml", "include_paths: [extra.yml]\n");
        write(dir.path(), "extra.yml", "plugins:\n  extractors: [\n");
        let err = load_files(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("extra.yml:"), "{err}");
        assert!(err.contains("could not parse YAML"), "{err}");
    }

    #[test]
    fn non_utf8_files_are_reported_at_the_bad_byte() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(dir.path(), "meltano.yml", "include_paths: [extra.yml]\n");
        std::fs::write(dir.path().join("extra.yml"), b"env:\n  A: caf\xe9\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = load_files(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("extra.yml:2:9: the file is not valid UTF-8: byte 0xE9"),
            "{err}"
        );
        std::fs::write(dir.path().join("meltano.yml"), b"\xff\xfev\x00:\x00")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = load_files(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("meltano.yml:1:1:"), "{err}");
        assert!(err.contains("UTF-16"), "{err}");
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(dir.path(), "meltano.yml", "- a\n- b\n");
        let err = load_files(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("meltano.yml:1:1: the file must hold a mapping"),
            "{err}"
        );
    }

    #[test]
    fn missing_project_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let err = load_files(dir.path()).err();
        assert!(matches!(err, Some(ProjectError::ProjectNotFound { .. })));
    }
}
