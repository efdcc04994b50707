//! A native plugin described as a project plugin definition.
//!
//! The project loader uses these as the base definition of `variant: smelt` plugins (the way
//! Meltano uses a hub lock file), so a `meltano.yml` entry needs no `pip_url`, capabilities or
//! settings of its own. Derived from the [`PluginSpec`], so it always matches `--about`.

use smelt_project::{NativeDefinition, SettingDef, SettingKind};

use crate::spec::{PluginSpec, SettingType};

/// The project definition of the plugin `spec` describes, for `LoadOptions.native`.
pub fn definition(spec: &PluginSpec) -> NativeDefinition {
    NativeDefinition {
        name: spec.name.to_string(),
        plugin_type: spec.kind.plugin_type(),
        capabilities: spec.capabilities.iter().map(|c| c.to_string()).collect(),
        settings: spec
            .settings
            .iter()
            .map(|s| SettingDef {
                name: s.name.to_string(),
                kind: setting_kind(s.kind),
                value: s.default.map(|d| d.to_json()),
                ..SettingDef::default()
            })
            .collect(),
        namespace: spec.namespace(),
    }
}

/// The project's setting kind for a spec's setting type.
fn setting_kind(kind: SettingType) -> SettingKind {
    match kind {
        SettingType::String => SettingKind::String,
        SettingType::Integer => SettingKind::Integer,
        SettingType::Boolean => SettingKind::Boolean,
        SettingType::Array => SettingKind::Array,
        SettingType::Object => SettingKind::Object,
        SettingType::Password => SettingKind::Password,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tests::MAPPER;
    use serde_json::json;
    use smelt_project::PluginType;

    #[test]
    fn definition_follows_the_spec() {
        let def = definition(&MAPPER);
        assert_eq!(def.name, "meltano-map-demo");
        assert_eq!(def.namespace, "meltano_map_demo");
        assert_eq!(def.plugin_type, PluginType::Mapper);
        assert_eq!(def.capabilities, ["stream-maps"]);
        assert!(matches!(def.settings[0].kind, SettingKind::Object));
        assert_eq!(def.settings[0].value, None);
        assert!(matches!(def.settings[1].kind, SettingKind::Integer));
        assert_eq!(def.settings[1].value, Some(json!(-3)));
        assert!(matches!(def.settings[2].kind, SettingKind::Boolean));
        assert_eq!(def.settings[2].value, Some(json!(true)));
    }
}
