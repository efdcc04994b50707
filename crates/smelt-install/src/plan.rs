//! Decides, without starting any process, what an install has to do: which venvs exist for
//! which pip arguments, which plugins share one, and which are already current.
//!
//! Plugins are grouped twice. Plugins whose venv directory is the same (an inheriting plugin
//! without a `pip_url` of its own uses its parent's) are one install. Distinct venv
//! directories whose [`Key`] (backend, interpreter, pip arguments) is the same share one real
//! venv: the first such plugin in project order owns it, the others' venv paths become
//! relative symlinks to it. Owners are chosen over the whole project, not the selection, so
//! the layout does not depend on which plugins a command names.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use smelt_project::{Plugin, PluginType, Project, VenvBackend};

use crate::fingerprint::{installed_by_meltano, Key};
use crate::python::{self, Request};
use crate::shell_split;

/// What a selected plugin needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    /// Nothing: built in, or nothing to install (the reason, for people).
    Nothing(String),
    /// Its `pip_url` cannot be used (the reason).
    Invalid(String),
    /// It is a member of unit `usize`.
    Unit(usize),
}

/// One plugin of a unit, with the venv path it runs from.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Index into the caller's plugin list.
    pub index: usize,
    /// The plugin's name.
    pub name: String,
    /// Its type.
    pub plugin_type: PluginType,
    /// `.meltano/<type>/<venv name>/venv` for this plugin.
    pub venv: PathBuf,
    /// Whether the venv at `venv` is already current for the unit's key.
    pub current: bool,
}

impl Member {
    /// Whether this member's venv path is a link to the unit's real venv (not the venv itself).
    pub fn links_to(&self, unit: &Unit) -> bool {
        self.venv != unit.venv
    }
}

/// One real venv to make current, and the selected plugins that use it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Where the real venv lives (the owner's venv path).
    pub venv: PathBuf,
    /// What it is installed for.
    pub key: Key,
    /// The interpreter asked for.
    pub python: Request,
    /// The interpreter found for it, if any.
    pub python_path: Option<PathBuf>,
    /// Whether the real venv is current for `key`.
    pub current: bool,
    /// Values that must not be shown: what `$VAR`s in the pip_url expanded to, and credentials
    /// in URLs (see [`crate::secrets`]).
    pub secrets: Vec<String>,
    /// Selected plugins using it.
    pub members: Vec<Member>,
}

impl Unit {
    /// Whether anything has to run: the real venv or some member's link is not current.
    pub fn needs_work(&self) -> bool {
        !self.current || self.members.iter().any(|m| !m.current)
    }
}

/// The plan for one call: what each selected plugin needs, and the units to work on.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Per selected plugin, in the caller's order.
    pub needs: Vec<Need>,
    /// The units the selected plugins belong to.
    pub units: Vec<Unit>,
}

/// Settings that shape a venv.
#[derive(Debug, Clone)]
pub struct VenvSettings {
    /// `venv.backend`.
    pub backend: VenvBackend,
    /// The project's `python` setting.
    pub python: Option<String>,
}

/// What [`describe`] finds: the key, the interpreter asked for and found, and the secrets.
type Described = (Key, Request, Option<PathBuf>, Vec<String>);

/// A plugin's pip arguments and interpreter, computed from the project (no process started).
fn describe(
    project: &Project,
    plugin: &Plugin,
    settings: &VenvSettings,
) -> Result<Option<Described>, String> {
    if plugin.is_native() {
        return Ok(None);
    }
    let Some(pip_url) = plugin.pip_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    let expanded = project.expand_for_plugin(plugin, pip_url);
    let args = shell_split::split(&expanded)
        .map_err(|e| format!("its pip_url cannot be split into arguments: {e}"))?;
    if args.is_empty() {
        return Err(format!(
            "its pip_url `{pip_url}` expands to nothing (is a variable in it unset?)"
        ));
    }
    let request = python::request(plugin, settings.python.as_deref());
    let found = python::resolve(&request.name, &project.root, project.process_env());
    let key = Key {
        backend: settings.backend.as_str().to_string(),
        python: found
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| request.name.clone()),
        args,
    };
    let secrets = crate::secrets::of_pip_url(pip_url, &key.args, |name| {
        project.expand_for_plugin(plugin, &format!("${{{name}}}"))
    });
    Ok(Some((key, request, found, secrets)))
}

/// Plans the install of `selected` (plugins of `project`); `fresh` forces every unit and
/// member to count as not current (`--force`, `--clean`).
pub fn plan(project: &Project, selected: &[&Plugin], settings: &VenvSettings, fresh: bool) -> Plan {
    // Owner venv of every key, over the whole project in project order.
    let mut owner_of_key: HashMap<Key, PathBuf> = HashMap::new();
    for plugin in &project.plugins {
        if let Ok(Some((key, ..))) = describe(project, plugin, settings) {
            owner_of_key
                .entry(key)
                .or_insert_with(|| project.venv_dir(plugin));
        }
    }
    let mut needs = Vec::with_capacity(selected.len());
    let mut units: Vec<Unit> = Vec::new();
    for (index, plugin) in selected.iter().enumerate() {
        let (key, request, found, secrets) = match describe(project, plugin, settings) {
            Err(e) => {
                needs.push(Need::Invalid(e));
                continue;
            }
            Ok(None) if plugin.is_native() => {
                needs.push(Need::Nothing("Plugin is built into smelt".to_string()));
                continue;
            }
            Ok(None) => {
                needs.push(Need::Nothing(
                    "Plugin is not installable (it has no pip_url)".to_string(),
                ));
                continue;
            }
            Ok(Some(d)) => d,
        };
        let venv = project.venv_dir(plugin);
        let real = owner_of_key
            .get(&key)
            .cloned()
            .unwrap_or_else(|| venv.clone());
        let unit_index = match units.iter().position(|u| u.venv == real) {
            Some(i) => i,
            None => {
                let by_meltano = installed_by_meltano(
                    &real,
                    &key.args,
                    request.configured.then_some(request.name.as_str()),
                );
                units.push(Unit {
                    current: !fresh && (key.matches(&real) || by_meltano) && !is_link(&real),
                    venv: real,
                    key: key.clone(),
                    python: request,
                    python_path: found,
                    secrets,
                    members: Vec::new(),
                });
                units.len() - 1
            }
        };
        let unit = &mut units[unit_index];
        // A member path already holding this plugin (same venv dir) is listed once per plugin
        // but linked at most once.
        let current = !fresh
            && ((venv == unit.venv && unit.current)
                || (key.matches(&venv) && (venv == unit.venv || unit.current)));
        unit.members.push(Member {
            index,
            name: plugin.name.clone(),
            plugin_type: plugin.plugin_type,
            venv,
            current,
        });
        needs.push(Need::Unit(unit_index));
    }
    Plan { needs, units }
}

/// Whether `path` is a symbolic link (not following it).
pub fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The path of `to` relative to the directory `from_dir` (both absolute), for symlinks that
/// survive moving the project directory.
pub fn relative_path(from_dir: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from_dir.components().collect();
    let target: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &target[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn project(yml: &str) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("meltano.yml"), yml).expect("write");
        let env = BTreeMap::from([
            ("PATH".to_string(), "/usr/bin:/bin".to_string()),
            ("PKG_VERSION".to_string(), "1.2".to_string()),
        ]);
        let p = Project::load_with_env(dir.path(), &Default::default(), env).expect("load");
        (dir, p)
    }

    const YML: &str = r#"
version: 1
plugins:
  extractors:
  - name: tap-a
    pip_url: tap-a==$PKG_VERSION
  - name: tap-nothing
  loaders:
  - name: target-one
    pip_url: target-jsonl
  - name: target-two
    pip_url: "  target-jsonl "
  - name: target-bad
    pip_url: "'unclosed"
"#;

    fn settings() -> VenvSettings {
        VenvSettings {
            backend: VenvBackend::Uv,
            python: None,
        }
    }

    #[test]
    fn same_pip_url_shares_the_first_plugins_venv() {
        let (_d, p) = project(YML);
        // Select only the second: it still links to the first's venv.
        let two = p.find_plugin("target-two").expect("two");
        let plan = plan(&p, &[two], &settings(), false);
        assert_eq!(plan.needs, [Need::Unit(0)]);
        let unit = &plan.units[0];
        assert_eq!(
            unit.venv,
            p.venv_dir(p.find_plugin("target-one").expect("one"))
        );
        assert_eq!(unit.key.args, ["target-jsonl"]);
        assert!(unit.members[0].links_to(unit));
        assert!(unit.needs_work());
    }

    #[test]
    fn expands_splits_and_reports_what_needs_nothing() {
        let (_d, p) = project(YML);
        let all: Vec<&Plugin> = p.plugins.iter().collect();
        let plan = plan(&p, &all, &settings(), false);
        let by_name = |n: &str| {
            let i = all.iter().position(|x| x.name == n).expect("plugin");
            plan.needs[i].clone()
        };
        assert!(matches!(by_name("tap-nothing"), Need::Nothing(r) if r.contains("no pip_url")));
        assert!(matches!(by_name("target-bad"), Need::Invalid(r) if r.contains("single quote")));
        let Need::Unit(a) = by_name("tap-a") else {
            panic!("tap-a has a unit")
        };
        assert_eq!(plan.units[a].key.args, ["tap-a==1.2"]);
        // target-one and target-two: one unit, two members, only the second links.
        let Need::Unit(t) = by_name("target-two") else {
            panic!("target-two has a unit")
        };
        assert_eq!(by_name("target-one"), Need::Unit(t));
        let links: Vec<bool> = plan.units[t]
            .members
            .iter()
            .map(|m| m.links_to(&plan.units[t]))
            .collect();
        assert_eq!(links, [false, true]);
        assert_eq!(plan.units.len(), 2);
    }

    #[test]
    fn a_different_interpreter_or_backend_does_not_share() {
        let (_d, p) = project(&YML.replace(
            "    pip_url: \"  target-jsonl \"",
            "    pip_url: target-jsonl\n    python: /nonexistent/python3.99",
        ));
        let all: Vec<&Plugin> = p.plugins.iter().collect();
        let plan = plan(&p, &all, &settings(), false);
        let jsonl: Vec<&Unit> = plan
            .units
            .iter()
            .filter(|u| u.key.args == ["target-jsonl"])
            .collect();
        assert_eq!(jsonl.len(), 2);
        assert!(jsonl
            .iter()
            .all(|u| u.members.len() == 1 && !u.members[0].links_to(u)));
    }

    #[test]
    fn relative_paths_between_venvs() {
        assert_eq!(
            relative_path(
                Path::new("/p/.meltano/loaders/target-two"),
                Path::new("/p/.meltano/loaders/target-one/venv")
            ),
            PathBuf::from("../target-one/venv")
        );
        assert_eq!(
            relative_path(
                Path::new("/p/.meltano/mappers/m"),
                Path::new("/p/.meltano/loaders/t/venv")
            ),
            PathBuf::from("../../loaders/t/venv")
        );
    }
}
