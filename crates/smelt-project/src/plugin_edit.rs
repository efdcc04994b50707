//! Adding and removing plugin definitions: the `plugins:` entries of `meltano.yml` (edited with
//! the lossless [`YamlEditor`], so comments and order elsewhere stay) and the Meltano lock files
//! under `plugins/<type>/`. `smelt add`, `remove` and `lock` are thin layers over this.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config_write::edit_yaml_file;
use crate::error::ProjectError;
use crate::plugin::Plugin;
use crate::plugin_type::PluginType;
use crate::project::Project;
use crate::root::PROJECT_FILE;
use crate::yaml_edit::PathSeg;

/// A `plugins:` entry to write, with the keys Meltano writes for a new plugin. Empty fields are
/// left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewPlugin {
    /// The list it goes into.
    pub plugin_type: PluginType,
    /// Its name.
    pub name: String,
    /// The plugin it inherits from (`--inherit-from`, `--as`).
    pub inherit_from: Option<String>,
    /// A custom plugin's namespace.
    pub namespace: Option<String>,
    /// The variant.
    pub variant: Option<String>,
    /// What to install.
    pub pip_url: Option<String>,
    /// The Python interpreter for its venv.
    pub python: Option<String>,
    /// The program to run.
    pub executable: Option<String>,
}

impl NewPlugin {
    /// The entry as a mapping, keys in Meltano's order: name, inherit_from, namespace, variant,
    /// pip_url, python, executable.
    pub fn entry(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        let optional = [
            ("inherit_from", &self.inherit_from),
            ("namespace", &self.namespace),
            ("variant", &self.variant),
            ("pip_url", &self.pip_url),
            ("python", &self.python),
            ("executable", &self.executable),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                m.insert(key.into(), Value::String(v.clone()));
            }
        }
        Value::Object(m)
    }
}

/// Appends `plugin`'s entry to `plugins.<type>` of the project's `meltano.yml` (creating the
/// list when absent), keeping the rest of the file byte for byte.
pub fn add_plugin_entry(root: &Path, plugin: &NewPlugin) -> Result<(), ProjectError> {
    let path = [
        PathSeg::Key("plugins".into()),
        PathSeg::Key(plugin.plugin_type.plural().into()),
    ];
    edit_yaml_file(
        &root.join(PROJECT_FILE),
        Path::new(PROJECT_FILE),
        |editor| editor.push(&path, &plugin.entry()).map(|()| true),
    )
    .map(|_| ())
}

impl Project {
    /// The file that defines `plugin` (as shown to users, relative to the root) and the path of
    /// its entry inside that file: `plugins.<type>.<index among that file's entries>`.
    pub fn plugin_entry_path(&self, plugin: &Plugin) -> (PathBuf, Vec<PathSeg>) {
        let shown = PathBuf::from(&plugin.location.file);
        let index = self
            .plugins
            .iter()
            .filter(|q| q.plugin_type == plugin.plugin_type)
            .take_while(|q| q.name != plugin.name)
            .filter(|q| q.location.file == plugin.location.file)
            .count();
        let path = vec![
            PathSeg::Key("plugins".into()),
            PathSeg::Key(plugin.plugin_type.plural().into()),
            PathSeg::Index(index),
        ];
        (shown, path)
    }

    /// Removes `plugin`'s entry from the file that defines it (`meltano.yml` or an included
    /// file); returns that file as shown to users.
    pub fn remove_plugin_entry(&self, plugin: &Plugin) -> Result<PathBuf, ProjectError> {
        let (shown, path) = self.plugin_entry_path(plugin);
        let removed = edit_yaml_file(&self.root.join(&shown), &shown, |editor| {
            editor.remove(&path)
        })?;
        if !removed {
            return Err(ProjectError::invalid(
                Some(plugin.location.clone()),
                format!("the entry of plugin `{}` was not found", plugin.name),
                "check that the file was not changed meanwhile",
            ));
        }
        Ok(shown)
    }

    /// The plugin's own entry as written (in the merged document), without inherited keys.
    pub fn plugin_entry(&self, plugin: &Plugin) -> Option<&Map<String, Value>> {
        self.document.pointer(&plugin.pointer)?.as_object()
    }

    /// Whether `plugin` is custom in Meltano's sense: it carries its own definition (a
    /// `namespace:` in its entry) instead of taking one from the Hub or a parent.
    pub fn is_custom_plugin(&self, plugin: &Plugin) -> bool {
        plugin.inherit_from.is_none()
            && self
                .plugin_entry(plugin)
                .is_some_and(|e| e.contains_key("namespace"))
    }
}

/// Where Meltano keeps the lock file of variant `variant` of plugin `name`:
/// `plugins/<type>/<name>--<variant>.lock` under `root`.
pub fn lock_file_path(root: &Path, plugin_type: PluginType, name: &str, variant: &str) -> PathBuf {
    root.join("plugins")
        .join(plugin_type.plural())
        .join(format!("{name}--{variant}.lock"))
}

/// Writes (or overwrites) a lock file, creating `plugins/<type>/` as needed.
pub fn write_lock_file(path: &Path, text: &str) -> Result<(), ProjectError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ProjectError::io("create", dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| ProjectError::io("write", path, e))
}

/// The lock files of plugin `name` that exist: `<name>--<variant>.lock` for any variant and
/// `<name>.lock`, nothing else (a plugin `tap-x` never owns `tap-x-extra--v.lock`). Sorted.
pub fn existing_lock_files(root: &Path, plugin_type: PluginType, name: &str) -> Vec<PathBuf> {
    let dir = root.join("plugins").join(plugin_type.plural());
    let Ok(read) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let prefix = format!("{name}--");
    let plain = format!("{name}.lock");
    let mut out: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .filter(|e| {
            let file = e.file_name();
            let file = file.to_string_lossy();
            file == plain.as_str()
                || (file.starts_with(&prefix)
                    && file.ends_with(".lock")
                    && file.len() > prefix.len() + ".lock".len())
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
#[path = "plugin_edit_tests.rs"]
mod tests;
