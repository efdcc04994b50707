//! Where `smelt config set|unset|reset` writes, and the edits themselves for the file stores
//! (`meltano.yml` through the lossless [`YamlEditor`], `.env` line by line). The system
//! database store is the CLI's business (this crate does not open databases).
//!
//! Meltano's `auto` rule: a read-only project writes to the system database; a secret goes to
//! `.env`; with an environment active, a plugin setting goes to that environment's block;
//! otherwise to `meltano.yml`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::env_names::env_var_name;
use crate::error::ProjectError;
use crate::plugin::Plugin;
use crate::project::Project;
use crate::setting_def::SettingDef;
use crate::settings::{read_var_names, split_path};
use crate::yaml_edit::{PathSeg, YamlEditor};

/// The `--store` choices of `config set|unset|reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// Meltano's rule (see the module docs).
    Auto,
    /// `meltano.yml` (the active environment's block when one is active).
    MeltanoYml,
    /// The project's `.env`.
    DotEnv,
    /// The system database.
    Db,
}

/// Where a write lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteTarget {
    /// The plugin's `config:` (or the project's top level) in `meltano.yml`.
    MeltanoYml,
    /// The active environment's block in `meltano.yml`.
    Environment,
    /// The project's `.env`.
    DotEnv,
    /// The system database.
    Db,
}

impl WriteTarget {
    /// Meltano's wording: "was set in `meltano.yml`", "in the active environment in
    /// `meltano.yml`", "in `.env`", "in the system database".
    pub fn label(self) -> &'static str {
        match self {
            WriteTarget::MeltanoYml => "`meltano.yml`",
            WriteTarget::Environment => "the active environment in `meltano.yml`",
            WriteTarget::DotEnv => "`.env`",
            WriteTarget::Db => "the system database",
        }
    }
}

/// Whose settings are being written.
#[derive(Debug, Clone, Copy)]
pub enum SettingOwner<'a> {
    /// The project settings (`meltano`).
    Project,
    /// A plugin's settings.
    Plugin(&'a Plugin),
}

/// One edit of a YAML file: which file, and the path inside it.
#[derive(Debug, Clone)]
pub struct YamlTarget {
    /// The file to edit (absolute).
    pub file: PathBuf,
    /// The file's name as shown in messages.
    pub shown: PathBuf,
    /// Path of the setting's value inside that file.
    pub path: Vec<PathSeg>,
    /// When the active environment has no entry for the plugin yet: the list to push a new
    /// `{name, config}` entry onto instead of setting `path`.
    pub new_entry_list: Option<Vec<PathSeg>>,
    /// The path below the entry's `config` (for building the new entry).
    pub setting_path: Vec<String>,
}

impl Project {
    /// Where `choice` sends a write of setting `def` of `owner` (Meltano's `auto` rule for
    /// [`StoreChoice::Auto`]). `readonly` is the `project_readonly` setting.
    pub fn write_target(
        &self,
        owner: SettingOwner<'_>,
        def: Option<&SettingDef>,
        choice: StoreChoice,
        readonly: bool,
    ) -> WriteTarget {
        let in_env = self.environment.is_some() && matches!(owner, SettingOwner::Plugin(_));
        match choice {
            StoreChoice::Db => WriteTarget::Db,
            StoreChoice::DotEnv => WriteTarget::DotEnv,
            StoreChoice::MeltanoYml if in_env => WriteTarget::Environment,
            StoreChoice::MeltanoYml => WriteTarget::MeltanoYml,
            StoreChoice::Auto if readonly => WriteTarget::Db,
            StoreChoice::Auto if def.is_some_and(SettingDef::is_sensitive) => WriteTarget::DotEnv,
            StoreChoice::Auto if in_env => WriteTarget::Environment,
            StoreChoice::Auto => WriteTarget::MeltanoYml,
        }
    }

    /// The variable `config set --store dotenv` writes for `name`: the setting's own `env:`,
    /// else `<PLUGIN_NAME>_<SETTING>` (or `MELTANO_<SETTING>` for project settings).
    pub fn dotenv_var(&self, owner: SettingOwner<'_>, def: &SettingDef) -> String {
        match owner {
            SettingOwner::Project => env_var_name(&["meltano", &def.name]),
            SettingOwner::Plugin(p) => def
                .env
                .clone()
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| env_var_name(&[&p.name, &def.name])),
        }
    }

    /// Every variable that sets `def` for `owner` (what `unset` clears from `.env`).
    pub fn setting_vars(&self, owner: SettingOwner<'_>, def: &SettingDef) -> Vec<String> {
        match owner {
            SettingOwner::Project => vec![env_var_name(&["meltano", &def.name])],
            SettingOwner::Plugin(p) => read_var_names(p, def),
        }
    }

    /// The YAML location of setting `name` of `owner` for `target` ([`WriteTarget::MeltanoYml`]
    /// or [`WriteTarget::Environment`]); `name` empty means the whole `config` mapping.
    pub fn yaml_target(
        &self,
        owner: SettingOwner<'_>,
        name: &str,
        target: WriteTarget,
    ) -> Result<YamlTarget, ProjectError> {
        let setting_path: Vec<String> = if name.is_empty() {
            Vec::new()
        } else {
            split_path(name)
        };
        match (owner, target) {
            (SettingOwner::Project, _) => {
                let file = self.root.join(crate::root::PROJECT_FILE);
                // A literal dotted key already at the top level is edited where it is.
                let top = self.document.as_object();
                let path = match top.and_then(|t| t.get(name)) {
                    Some(_) if name.contains('.') => vec![PathSeg::Key(name.to_string())],
                    _ => setting_path
                        .iter()
                        .map(|k| PathSeg::Key(k.clone()))
                        .collect(),
                };
                Ok(YamlTarget {
                    shown: PathBuf::from(crate::root::PROJECT_FILE),
                    file,
                    path,
                    new_entry_list: None,
                    setting_path,
                })
            }
            (SettingOwner::Plugin(p), WriteTarget::Environment) => {
                let env_name = self.environment.as_deref().unwrap_or_default();
                let env = self
                    .environments
                    .iter()
                    .find(|e| e.name == env_name)
                    .ok_or_else(|| {
                        ProjectError::invalid(
                            None,
                            format!("environment `{env_name}` is not defined"),
                            "add it with `smelt environment add`",
                        )
                    })?;
                let shown = PathBuf::from(&env.location.file);
                let index = self
                    .environments
                    .iter()
                    .take_while(|e| e.name != env_name)
                    .filter(|e| e.location.file == env.location.file)
                    .count();
                let list = vec![
                    PathSeg::Key("environments".into()),
                    PathSeg::Index(index),
                    PathSeg::Key("config".into()),
                    PathSeg::Key("plugins".into()),
                    PathSeg::Key(p.plugin_type.plural().into()),
                ];
                let existing = env
                    .plugins
                    .iter()
                    .enumerate()
                    .find(|(_, o)| o.plugin_type == p.plugin_type && o.name == p.name);
                let (path, new_entry_list) = match existing {
                    Some((_, over)) => {
                        let entry = env
                            .plugins
                            .iter()
                            .filter(|o| o.plugin_type == p.plugin_type)
                            .position(|o| o.name == over.name)
                            .unwrap_or(0);
                        let mut path = list.clone();
                        path.push(PathSeg::Index(entry));
                        path.push(PathSeg::Key("config".into()));
                        path.extend(setting_path.iter().map(|k| PathSeg::Key(k.clone())));
                        (path, None)
                    }
                    None => (Vec::new(), Some(list)),
                };
                Ok(YamlTarget {
                    file: self.root.join(&shown),
                    shown,
                    path,
                    new_entry_list,
                    setting_path,
                })
            }
            (SettingOwner::Plugin(p), _) => {
                let (shown, mut path) = self.plugin_entry_path(p);
                path.push(PathSeg::Key("config".into()));
                path.extend(setting_path.iter().map(|k| PathSeg::Key(k.clone())));
                Ok(YamlTarget {
                    file: self.root.join(&shown),
                    shown,
                    path,
                    new_entry_list: None,
                    setting_path,
                })
            }
        }
    }
}

impl YamlTarget {
    /// Sets `value` at the target in `editor`.
    pub fn set(
        &self,
        editor: &mut YamlEditor,
        plugin_name: &str,
        value: &Value,
    ) -> Result<(), ProjectError> {
        match &self.new_entry_list {
            None => editor.set(&self.path, value),
            Some(list) => {
                let mut config = value.clone();
                for key in self.setting_path.iter().rev() {
                    let mut m = Map::new();
                    m.insert(key.clone(), config);
                    config = Value::Object(m);
                }
                let mut entry = Map::new();
                entry.insert("name".into(), Value::String(plugin_name.to_string()));
                entry.insert("config".into(), config);
                editor.push(list, &Value::Object(entry))
            }
        }
    }

    /// Removes the target from `editor`; whether anything was there.
    pub fn remove(&self, editor: &mut YamlEditor) -> Result<bool, ProjectError> {
        if self.new_entry_list.is_some() {
            return Ok(false);
        }
        editor.remove(&self.path)
    }
}

/// Reads the YAML file at `file` (shown as `shown` in errors), applies `edit` with the lossless
/// editor, and writes it back atomically when `edit` says it changed something. Every command
/// that changes meltano.yml or an included file goes through here.
pub fn edit_yaml_file(
    file: &Path,
    shown: &Path,
    edit: impl FnOnce(&mut YamlEditor) -> Result<bool, ProjectError>,
) -> Result<bool, ProjectError> {
    let text = std::fs::read_to_string(file).map_err(|e| ProjectError::io("read", file, e))?;
    let mut editor = YamlEditor::new(text, shown);
    if !edit(&mut editor)? {
        return Ok(false);
    }
    write_project_file(file, editor.text())?;
    Ok(true)
}

/// Rewrites `.env` text so `var` holds `value` (or is gone with `None`), keeping every other
/// line, comment and blank line as it was. Values are single-quoted as Meltano writes them.
pub fn edit_dotenv(text: &str, var: &str, value: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut written = false;
    for line in text.split_inclusive('\n') {
        if dotenv_line_var(line) == Some(var) {
            if let (Some(v), false) = (value, written) {
                out.push_str(&dotenv_line(var, v));
                written = true;
            }
            continue;
        }
        out.push_str(line);
    }
    if let (Some(v), false) = (value, written) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&dotenv_line(var, v));
    }
    out
}

fn dotenv_line_var(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let t = t.strip_prefix("export ").unwrap_or(t).trim_start();
    let (name, _) = t.split_once('=')?;
    let name = name.trim_end();
    (!name.is_empty() && !name.starts_with('#')).then_some(name)
}

fn dotenv_line(var: &str, value: &str) -> String {
    if value.contains('\'') || value.contains('\n') {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        format!("{var}=\"{escaped}\"\n")
    } else {
        format!("{var}='{value}'\n")
    }
}

/// Writes `text` to `path` atomically (a temporary file in the same directory, then a
/// rename), keeping the file's permissions; a new `.env` is created 0600.
pub fn write_project_file(path: &Path, text: &str) -> Result<(), ProjectError> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| ProjectError::io("write", path, e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| ProjectError::io("write", path, e))?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
        .map_err(|e| ProjectError::io("write", path, e))?;
    tmp.persist(path)
        .map_err(|e| ProjectError::io("write", path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_edits_keep_other_lines() {
        let text = "# secrets\nA=1\nexport TAP_X_PASSWORD=old\n\nB='2'";
        let set = edit_dotenv(text, "TAP_X_PASSWORD", Some("new"));
        assert_eq!(set, "# secrets\nA=1\nTAP_X_PASSWORD='new'\n\nB='2'");
        let added = edit_dotenv(text, "C", Some("it's"));
        assert_eq!(added, format!("{text}\nC=\"it's\"\n"));
        let removed = edit_dotenv(text, "A", None);
        assert_eq!(removed, "# secrets\nexport TAP_X_PASSWORD=old\n\nB='2'");
        let parsed = crate::dotenv::parse_dotenv(&added, &|_| None);
        assert_eq!(parsed.vars.get("C").map(String::as_str), Some("it's"));
    }
}
