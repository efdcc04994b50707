//! What a native plugin is: name, type, capabilities and settings, as one static value.
//!
//! `--about`, the usage text and the plugin definition handed to the project loader are all
//! derived from this one description, so they can never disagree.

use serde_json::{json, Map, Value};
use smelt_project::PluginType;

use crate::args::AboutFormat;

/// The Meltano plugin type of a native plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// A tap.
    Extractor,
    /// A target.
    Loader,
    /// A mapper between a tap and a target (Meltano's `mappers`).
    Mapper,
}

impl PluginKind {
    /// The project's plugin type for this kind.
    pub fn plugin_type(self) -> PluginType {
        match self {
            PluginKind::Extractor => PluginType::Extractor,
            PluginKind::Loader => PluginType::Loader,
            PluginKind::Mapper => PluginType::Mapper,
        }
    }

    /// Meltano's word for the type ("extractor", "loader", "mapper").
    pub fn label(self) -> &'static str {
        self.plugin_type().label()
    }
}

/// The value kind of a setting (the subset native plugins use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingType {
    /// A string.
    String,
    /// A whole number.
    Integer,
    /// true / false.
    Boolean,
    /// A JSON array.
    Array,
    /// A JSON object.
    Object,
    /// A secret string (Meltano's `kind: password`): redacted in listings, stored in `.env`.
    Password,
}

impl SettingType {
    /// The JSON schema type, which is also Meltano's `kind` name for it.
    pub fn json_type(self) -> &'static str {
        match self {
            SettingType::String => "string",
            SettingType::Integer => "integer",
            SettingType::Boolean => "boolean",
            SettingType::Array => "array",
            SettingType::Object => "object",
            SettingType::Password => "string",
        }
    }
}

/// A setting's default value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// A string default.
    Str(&'static str),
    /// A boolean default.
    Bool(bool),
    /// A whole-number default.
    Int(i64),
}

impl DefaultValue {
    /// The default as JSON.
    pub fn to_json(self) -> Value {
        match self {
            DefaultValue::Str(s) => Value::String(s.to_string()),
            DefaultValue::Bool(b) => Value::Bool(b),
            DefaultValue::Int(n) => Value::from(n),
        }
    }
}

/// One setting of a native plugin.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    /// The config key.
    pub name: &'static str,
    /// Its value kind.
    pub kind: SettingType,
    /// Its default, if any.
    pub default: Option<DefaultValue>,
    /// One sentence for `--about`.
    pub description: &'static str,
    /// JSON schema of array items, for array settings.
    pub items: Option<fn() -> Value>,
}

/// A setting without array items: what nearly every native plugin's settings table is made
/// of, so each `SPEC` reads as one line per setting.
pub const fn setting(
    name: &'static str,
    kind: SettingType,
    default: Option<DefaultValue>,
    description: &'static str,
) -> SettingSpec {
    SettingSpec {
        name,
        kind,
        default,
        description,
        items: None,
    }
}

/// The static description of a native plugin.
#[derive(Debug, Clone, Copy)]
pub struct PluginSpec {
    /// The plugin name, as used after `smelt plugin`.
    pub name: &'static str,
    /// Extractor, loader or mapper.
    pub kind: PluginKind,
    /// One sentence for `--about`.
    pub description: &'static str,
    /// Singer / Meltano capabilities.
    pub capabilities: &'static [&'static str],
    /// The settings the plugin reads from its config.
    pub settings: &'static [SettingSpec],
}

impl PluginSpec {
    /// The Meltano namespace: the name with `-` turned into `_`.
    pub fn namespace(&self) -> String {
        self.name.replace('-', "_")
    }

    /// The JSON schema of the plugin's config, as the Singer SDK prints it under `settings`.
    pub fn settings_schema(&self) -> Value {
        let mut properties = Map::new();
        for setting in self.settings {
            let mut prop = Map::new();
            prop.insert("type".into(), json!(setting.kind.json_type()));
            prop.insert("description".into(), json!(setting.description));
            if let Some(default) = setting.default {
                prop.insert("default".into(), default.to_json());
            }
            if let Some(items) = setting.items {
                prop.insert("items".into(), items());
            }
            properties.insert(setting.name.to_string(), Value::Object(prop));
        }
        json!({"type": "object", "properties": properties})
    }

    /// The `--about` document as JSON.
    pub fn about_json(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "version": env!("CARGO_PKG_VERSION"),
            "capabilities": self.capabilities,
            "settings": self.settings_schema(),
        })
    }

    /// Renders `--about` in the requested format (always ends with a newline).
    pub fn render_about(&self, format: AboutFormat) -> String {
        match format {
            AboutFormat::Json => {
                let mut text = serde_json::to_string_pretty(&self.about_json())
                    .unwrap_or_else(|_| String::from("{}"));
                text.push('\n');
                text
            }
            AboutFormat::Text => {
                let mut text = format!(
                    "Name: {}\nDescription: {}\nVersion: {} (built into smelt)\nType: {} (namespace {})\nCapabilities: [{}]\nSettings:\n",
                    self.name,
                    self.description,
                    env!("CARGO_PKG_VERSION"),
                    self.kind.label(),
                    self.namespace(),
                    self.capabilities.join(", ")
                );
                for setting in self.settings {
                    text.push_str(&format!(
                        "  - {} ({}){}: {}\n",
                        setting.name,
                        setting.kind.json_type(),
                        default_suffix(setting),
                        setting.description
                    ));
                }
                text
            }
            AboutFormat::Markdown => {
                let mut text = format!(
                    "# `{}`\n\n{}\n\nBuilt into smelt {}.\n\n## Capabilities\n\n",
                    self.name,
                    self.description,
                    env!("CARGO_PKG_VERSION")
                );
                for capability in self.capabilities {
                    text.push_str(&format!("* `{capability}`\n"));
                }
                text.push_str(
                    "\n## Settings\n\n| Setting | Type | Default | Description |\n|:--|:--|:--|:--|\n",
                );
                for setting in self.settings {
                    let default = setting
                        .default
                        .map(|d| d.to_json().to_string())
                        .unwrap_or_else(|| "None".to_string());
                    text.push_str(&format!(
                        "| {} | {} | {} | {} |\n",
                        setting.name,
                        setting.kind.json_type(),
                        default,
                        setting.description
                    ));
                }
                text
            }
        }
    }
}

fn default_suffix(setting: &SettingSpec) -> String {
    match setting.default {
        Some(default) => format!(", default {}", default.to_json()),
        None => String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const SPEC: PluginSpec = PluginSpec {
        name: "tap-demo",
        kind: PluginKind::Extractor,
        description: "A demo.",
        capabilities: &["catalog", "discover"],
        settings: &[
            SettingSpec {
                name: "flag",
                kind: SettingType::Boolean,
                default: Some(DefaultValue::Bool(true)),
                description: "A flag.",
                items: None,
            },
            SettingSpec {
                name: "things",
                kind: SettingType::Array,
                default: None,
                description: "Things.",
                items: Some(|| json!({"type": "string"})),
            },
        ],
    };

    #[test]
    fn about_json_describes_settings_as_json_schema() {
        let about = SPEC.about_json();
        assert_eq!(about["name"], "tap-demo");
        assert_eq!(about["capabilities"], json!(["catalog", "discover"]));
        assert_eq!(
            about["settings"]["properties"]["flag"],
            json!({"type": "boolean", "description": "A flag.", "default": true})
        );
        assert_eq!(
            about["settings"]["properties"]["things"]["items"],
            json!({"type": "string"})
        );
        assert_eq!(SPEC.namespace(), "tap_demo");
    }

    #[test]
    fn about_renders_every_format() {
        let json_text = SPEC.render_about(AboutFormat::Json);
        let parsed: Value = serde_json::from_str(&json_text).unwrap();
        assert_eq!(parsed["description"], "A demo.");
        let text = SPEC.render_about(AboutFormat::Text);
        assert!(text.contains("Capabilities: [catalog, discover]"), "{text}");
        assert!(
            text.contains("Type: extractor (namespace tap_demo)"),
            "{text}"
        );
        assert!(
            text.contains("flag (boolean), default true: A flag."),
            "{text}"
        );
        let md = SPEC.render_about(AboutFormat::Markdown);
        assert!(md.contains("| things | array | None | Things. |"), "{md}");
    }

    /// A mapper spec using the newer setting types; shared with the definition tests.
    pub(crate) const MAPPER: PluginSpec = PluginSpec {
        name: "meltano-map-demo",
        kind: PluginKind::Mapper,
        description: "A demo mapper.",
        capabilities: &["stream-maps"],
        settings: &[
            SettingSpec {
                name: "stream_maps",
                kind: SettingType::Object,
                default: None,
                description: "Maps.",
                items: None,
            },
            SettingSpec {
                name: "limit",
                kind: SettingType::Integer,
                default: Some(DefaultValue::Int(-3)),
                description: "A limit.",
                items: None,
            },
            SettingSpec {
                name: "validate",
                kind: SettingType::Boolean,
                default: Some(DefaultValue::Bool(true)),
                description: "Validate.",
                items: None,
            },
        ],
    };

    #[test]
    fn about_names_the_kind_and_new_setting_types() {
        let text = MAPPER.render_about(AboutFormat::Text);
        assert!(
            text.contains("Type: mapper (namespace meltano_map_demo)"),
            "{text}"
        );
        assert!(text.contains("stream_maps (object): Maps."), "{text}");
        assert!(
            text.contains("limit (integer), default -3: A limit."),
            "{text}"
        );
        assert_eq!(
            MAPPER.about_json()["settings"]["properties"]["limit"],
            json!({"type": "integer", "description": "A limit.", "default": -3})
        );
        let loader = PluginSpec {
            kind: PluginKind::Loader,
            ..MAPPER
        };
        assert!(loader
            .render_about(AboutFormat::Text)
            .contains("Type: loader"));
    }
}
