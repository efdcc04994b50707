//! The definition a plugin starts from before `meltano.yml` is applied: a Meltano lock file
//! (`plugins/<type>/<name>--<variant>.lock`) or, for `variant: smelt`, a native definition.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{display_path, Location, ProjectError};
use crate::node::Node;
use crate::plugin::{NativeDefinition, PluginCommand};
use crate::plugin_type::PluginType;
use crate::setting_def::SettingDef;
use crate::source_map::SourceMap;
use crate::yaml::parse_yaml;

/// Keys a base definition can supply.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BaseDefinition {
    pub namespace: Option<String>,
    pub executable: Option<String>,
    pub pip_url: Option<String>,
    pub capabilities: Option<Vec<String>>,
    pub settings: Vec<SettingDef>,
    pub commands: BTreeMap<String, PluginCommand>,
}

impl BaseDefinition {
    /// The definition of a plugin built into smelt.
    pub fn from_native(def: &NativeDefinition) -> BaseDefinition {
        BaseDefinition {
            namespace: (!def.namespace.is_empty()).then(|| def.namespace.clone()),
            executable: None,
            pip_url: None,
            capabilities: Some(def.capabilities.clone()),
            settings: def.settings.clone(),
            commands: BTreeMap::new(),
        }
    }
}

/// The lock file paths Meltano would use for this plugin, most specific first.
pub(crate) fn lock_candidates(
    root: &Path,
    plugin_type: PluginType,
    base_name: &str,
    variant: Option<&str>,
) -> Vec<PathBuf> {
    let dir = root.join("plugins").join(plugin_type.plural());
    let mut out = Vec::new();
    if let Some(v) = variant.filter(|v| !v.is_empty()) {
        out.push(dir.join(format!("{base_name}--{v}.lock")));
    }
    out.push(dir.join(format!("{base_name}.lock")));
    out
}

/// Reads the first existing lock file for the plugin, if any.
pub(crate) fn find_lock(
    root: &Path,
    plugin_type: PluginType,
    base_name: &str,
    variant: Option<&str>,
) -> Result<Option<BaseDefinition>, ProjectError> {
    for path in lock_candidates(root, plugin_type, base_name, variant) {
        if path.is_file() {
            let shown = display_path(root, &path);
            let text = crate::files::read_text_file(&path, &shown)?;
            return parse_lock(&text, &shown).map(Some);
        }
    }
    Ok(None)
}

/// The Hub definition of the plugin from smelt's embedded index, what Meltano would fetch from
/// hub.meltano.com when there is no lock file. `None` when the index does not hold it.
pub(crate) fn find_in_index(
    plugin_type: PluginType,
    base_name: &str,
    variant: Option<&str>,
) -> Result<Option<BaseDefinition>, ProjectError> {
    let Some(entry) = smelt_index::find(plugin_type.plural(), base_name, variant) else {
        return Ok(None);
    };
    let shown = PathBuf::from(format!(
        "<plugin index: {}/{}--{}>",
        entry.plugin_type, entry.name, entry.variant
    ));
    from_value(&entry.definition_value(), &SourceMap::new(), &shown).map(Some)
}

/// The base definition of a plugin that is not built into smelt: its lock file, or when there
/// is none and the plugin is not custom (a `meltano.yml` entry with its own `namespace:` and
/// no `inherit_from`, which Meltano never looks up on the Hub), the Hub definition from the
/// index; else an empty definition (everything comes from `meltano.yml`).
pub(crate) fn lock_or_index(
    root: &Path,
    plugin_type: PluginType,
    base_name: &str,
    variant: Option<&str>,
    custom: bool,
) -> Result<Option<BaseDefinition>, ProjectError> {
    if let Some(def) = find_lock(root, plugin_type, base_name, variant)? {
        return Ok(Some(def));
    }
    if custom {
        return Ok(None);
    }
    find_in_index(plugin_type, base_name, variant)
}

fn lock_hint() -> &'static str {
    "regenerate it with `meltano lock --update` (or delete it to use only meltano.yml)"
}

/// Parses lock-file JSON (read through the YAML parser to get positions for errors).
pub(crate) fn parse_lock(text: &str, shown: &Path) -> Result<BaseDefinition, ProjectError> {
    let (value, map) = match parse_yaml(text, shown) {
        Ok(doc) => (doc.value, doc.source_map),
        Err(_) => match serde_json::from_str::<Value>(text) {
            Ok(v) => (v, SourceMap::new()),
            Err(e) => {
                return Err(ProjectError::invalid(
                    Some(Location::new(shown, e.line().max(1), e.column().max(1))),
                    format!("could not parse lock file: {e}"),
                    lock_hint(),
                ))
            }
        },
    };
    from_value(&value, &map, shown)
}

/// Reads a definition in lock-file shape, whether it came from a lock file or from the
/// embedded plugin index; `map` locates errors in `shown` (empty for the index).
pub(crate) fn from_value(
    value: &Value,
    map: &SourceMap,
    shown: &Path,
) -> Result<BaseDefinition, ProjectError> {
    if !value.is_object() {
        return Err(ProjectError::invalid(
            Some(Location::file_start(shown)),
            "a lock file must hold a JSON object",
            lock_hint(),
        ));
    }
    let node = Node {
        value,
        pointer: "",
        map,
    };
    let mut settings = Vec::new();
    if let Some(list) = node.get("settings") {
        for item in list.node().items("`settings`")? {
            settings.push(SettingDef::from_node(item.node())?);
        }
    }
    let mut commands = BTreeMap::new();
    if let Some(cmds) = node.get("commands") {
        for (name, cmd) in cmds.node().entries("`commands`")? {
            commands.insert(
                name.to_string(),
                PluginCommand::from_node(cmd.node(), name)?,
            );
        }
    }
    Ok(BaseDefinition {
        namespace: node.opt_string("namespace")?,
        executable: node.opt_string("executable")?,
        pip_url: node.opt_string("pip_url")?,
        capabilities: node.opt_string_list("capabilities")?,
        settings,
        commands,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting_def::SettingKind;

    #[test]
    fn reads_a_meltano_lock_file() {
        let text = r#"{
  "plugin_type": "loaders",
  "name": "target-jsonl",
  "namespace": "target_jsonl",
  "variant": "andyh1203",
  "pip_url": "target-jsonl",
  "capabilities": ["about"],
  "settings": [
    {"name": "destination_path", "kind": "string", "value": "output"},
    {"name": "do_timestamp_file", "kind": "boolean", "value": false}
  ],
  "commands": {"hello": "--about", "full": {"args": "--x", "executable": "other"}}
}"#;
        let def = parse_lock(
            text,
            Path::new("plugins/loaders/target-jsonl--andyh1203.lock"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(def.namespace.as_deref(), Some("target_jsonl"));
        assert_eq!(def.pip_url.as_deref(), Some("target-jsonl"));
        assert_eq!(def.settings.len(), 2);
        assert_eq!(def.settings[1].kind, SettingKind::Boolean);
        assert_eq!(
            def.commands.get("hello").map(|c| c.args.as_str()),
            Some("--about")
        );
        assert_eq!(
            def.commands
                .get("full")
                .and_then(|c| c.executable.as_deref()),
            Some("other")
        );
    }

    #[test]
    fn tab_indented_json_still_parses() {
        let def = parse_lock("{\n\t\"namespace\": \"x\"\n}", Path::new("a.lock"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(def.namespace.as_deref(), Some("x"));
    }

    #[test]
    fn broken_lock_file_is_located() {
        let err = parse_lock(
            "{\n  \"namespace\": \"x\"\n  \"pip_url\": \"y\"\n}",
            Path::new("plugins/extractors/tap-x.lock"),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.starts_with("plugins/extractors/tap-x.lock:3:"), "{err}");
        assert!(err.contains("meltano lock"), "{err}");
    }

    #[test]
    fn candidates_prefer_the_variant_file() {
        let c = lock_candidates(Path::new("/p"), PluginType::Extractor, "tap-x", Some("v1"));
        assert_eq!(
            c,
            vec![
                PathBuf::from("/p/plugins/extractors/tap-x--v1.lock"),
                PathBuf::from("/p/plugins/extractors/tap-x.lock")
            ]
        );
    }
}
