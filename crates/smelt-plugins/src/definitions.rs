//! The native plugins described as project plugin definitions.
//!
//! The project loader uses these as the base definition of `variant: smelt` plugins (the way
//! Meltano uses a hub lock file), so a `meltano.yml` entry needs no `pip_url`, capabilities or
//! settings of its own.

use smelt_project::{NativeDefinition, PluginType, SettingDef, SettingKind};

use crate::spec::{PluginKind, PluginSpec, SettingType};

/// The definitions of every native plugin (tap-csv, target-jsonl), for
/// `LoadOptions.native` when loading a project.
pub fn native_definitions() -> Vec<NativeDefinition> {
    crate::ALL.iter().map(|p| definition(p.spec())).collect()
}

fn definition(spec: &PluginSpec) -> NativeDefinition {
    NativeDefinition {
        name: spec.name.to_string(),
        plugin_type: match spec.kind {
            PluginKind::Extractor => PluginType::Extractor,
            PluginKind::Loader => PluginType::Loader,
        },
        capabilities: spec.capabilities.iter().map(|c| c.to_string()).collect(),
        settings: spec
            .settings
            .iter()
            .map(|s| SettingDef {
                name: s.name.to_string(),
                kind: match s.kind {
                    SettingType::String => SettingKind::String,
                    SettingType::Boolean => SettingKind::Boolean,
                    SettingType::Array => SettingKind::Array,
                },
                value: s.default.map(|d| d.to_json()),
                ..SettingDef::default()
            })
            .collect(),
        namespace: spec.namespace(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definitions_match_the_plugins() {
        let defs = native_definitions();
        assert_eq!(defs.len(), 2);
        let tap = &defs[0];
        assert_eq!(tap.name, "tap-csv");
        assert_eq!(tap.namespace, "tap_csv");
        assert!(matches!(tap.plugin_type, PluginType::Extractor));
        assert_eq!(tap.capabilities, ["catalog", "discover", "state"]);
        assert!(matches!(tap.settings[0].kind, SettingKind::Array));
        assert_eq!(tap.settings[0].name, "files");

        let target = &defs[1];
        assert_eq!(target.name, "target-jsonl");
        assert_eq!(target.namespace, "target_jsonl");
        assert!(matches!(target.plugin_type, PluginType::Loader));
        let destination = target
            .settings
            .iter()
            .find(|s| s.name == "destination_path")
            .unwrap();
        assert_eq!(destination.value, Some(json!("output")));
        let validate = target
            .settings
            .iter()
            .find(|s| s.name == "validate_records")
            .unwrap();
        assert_eq!(validate.value, Some(json!(true)));
        assert!(matches!(validate.kind, SettingKind::Boolean));
    }
}
