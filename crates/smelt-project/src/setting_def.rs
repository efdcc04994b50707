//! Setting definitions: what a plugin can be configured with, and how values are typed.

use serde_json::Value;

use crate::error::ProjectError;
use crate::node::Node;

/// How a setting's value is typed; decides how environment-variable text is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SettingKind {
    /// Free text (also the kind of settings declared without one).
    #[default]
    String,
    /// Whole number.
    Integer,
    /// true/false; from text, "true", "1", "yes" and "on" are true.
    Boolean,
    /// JSON object.
    Object,
    /// JSON array.
    Array,
    /// Secret text (always sensitive).
    Password,
    /// ISO 8601 date or date-time (`date_iso8601`).
    Date,
    /// One of a fixed list of values.
    Options,
    /// A path to a file.
    File,
    /// Not shown in listings (deprecated in Meltano in favour of `hidden: true`).
    Hidden,
    /// OAuth credentials (always sensitive).
    Oauth,
    /// Decimal number.
    Decimal,
    /// An e-mail address (text; Meltano does not validate it either).
    Email,
    /// A kind name this version does not know; treated like text.
    Unknown,
}

impl SettingKind {
    /// Parses the `kind:` value used in `meltano.yml` and lock files.
    ///
    /// Unknown names read as [`SettingKind::Unknown`], which behaves like text.
    pub fn parse(name: &str) -> SettingKind {
        match name.trim().to_ascii_lowercase().as_str() {
            "string" => SettingKind::String,
            "email" => SettingKind::Email,
            "integer" => SettingKind::Integer,
            "boolean" => SettingKind::Boolean,
            "object" => SettingKind::Object,
            "array" => SettingKind::Array,
            "password" => SettingKind::Password,
            "date_iso8601" | "date" => SettingKind::Date,
            "options" => SettingKind::Options,
            "file" => SettingKind::File,
            "hidden" => SettingKind::Hidden,
            "oauth" => SettingKind::Oauth,
            "decimal" => SettingKind::Decimal,
            _ => SettingKind::Unknown,
        }
    }

    /// The name Meltano writes for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingKind::String => "string",
            SettingKind::Integer => "integer",
            SettingKind::Boolean => "boolean",
            SettingKind::Object => "object",
            SettingKind::Array => "array",
            SettingKind::Password => "password",
            SettingKind::Date => "date_iso8601",
            SettingKind::Options => "options",
            SettingKind::File => "file",
            SettingKind::Hidden => "hidden",
            SettingKind::Oauth => "oauth",
            SettingKind::Decimal => "decimal",
            SettingKind::Email => "email",
            SettingKind::Unknown => "unknown",
        }
    }

    /// Kinds whose values are secrets whatever `sensitive:` says.
    pub fn is_sensitive(self) -> bool {
        matches!(self, SettingKind::Password | SettingKind::Oauth)
    }

    /// The kind Meltano infers for an undeclared (custom) setting from a value it has.
    pub fn infer(value: &Value) -> SettingKind {
        match value {
            Value::Bool(_) => SettingKind::Boolean,
            Value::Number(n) if n.is_f64() => SettingKind::Decimal,
            Value::Number(_) => SettingKind::Integer,
            Value::Object(_) => SettingKind::Object,
            Value::Array(_) => SettingKind::Array,
            Value::String(_) | Value::Null => SettingKind::String,
        }
    }
}

/// One setting a plugin accepts, from `settings:` in `meltano.yml`, a lock file or a native
/// plugin's definition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SettingDef {
    /// The setting name; dots (`a.b`) mean nesting in the generated config.
    pub name: String,
    /// How the value is typed.
    pub kind: SettingKind,
    /// Default value (`value:` in the definition).
    pub value: Option<Value>,
    /// Whether the value is a secret (also true for password/oauth kinds).
    pub sensitive: bool,
    /// An extra environment variable that sets this setting and is exported to the plugin.
    pub env: Option<String>,
    /// Older names of the setting, accepted in config and environment variables.
    pub aliases: Vec<String>,
    /// The allowed values of an `options` setting (each option's `value`, as text).
    pub options: Vec<String>,
    /// Left out of `config list` (`hidden: true`, or the legacy `kind: hidden`).
    pub hidden: bool,
}

impl SettingDef {
    /// A definition with just a name and kind.
    pub fn new(name: impl Into<String>, kind: SettingKind) -> SettingDef {
        SettingDef {
            name: name.into(),
            kind,
            ..SettingDef::default()
        }
    }

    /// Whether values must be hidden from logs and listings.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive || self.kind.is_sensitive()
    }

    /// Reads one entry of a `settings:` list.
    pub(crate) fn from_node(node: Node<'_>) -> Result<SettingDef, ProjectError> {
        if node.value.is_string() {
            // `settings: [host, port]` is not Meltano syntax but is an obvious intent.
            return Ok(SettingDef::new(
                node.string("a setting")?,
                SettingKind::String,
            ));
        }
        node.object("each entry of `settings`")?;
        let name = node.opt_string("name")?.ok_or_else(|| {
            ProjectError::invalid(
                node.location(),
                "a setting definition has no `name`",
                "add `name: <setting_name>` to this entry",
            )
        })?;
        let kind = node
            .opt_string("kind")?
            .map(|k| SettingKind::parse(&k))
            .unwrap_or_default();
        let value = node
            .value
            .as_object()
            .and_then(|m| m.get("value"))
            .filter(|v| !v.is_null())
            .cloned();
        Ok(SettingDef {
            name,
            kind,
            value,
            sensitive: node.opt_bool("sensitive")?.unwrap_or(false),
            env: node.opt_string("env")?,
            aliases: node.opt_string_list("aliases")?.unwrap_or_default(),
            options: read_options(node)?,
            hidden: node.opt_bool("hidden")?.unwrap_or(false) || kind == SettingKind::Hidden,
        })
    }

    /// Whether `value` is one of the allowed options (always true when none are declared).
    pub fn allows(&self, value: &Value) -> bool {
        if self.kind != SettingKind::Options || self.options.is_empty() {
            return true;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        self.options.contains(&text)
    }
}

/// `options:` of a setting: a list of `{label, value}` mappings (Meltano's form) or of plain
/// values.
fn read_options(node: Node<'_>) -> Result<Vec<String>, ProjectError> {
    let Some(list) = node.get("options") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in list.node().items("`options`")? {
        let item = item.node();
        let text = if item.value.is_object() {
            item.opt_string("value")?
        } else {
            Some(item.string("an option")?)
        };
        out.extend(text);
    }
    Ok(out)
}

/// Merges setting lists: definitions in `overrides` replace same-named ones in `base`, new
/// ones are appended, order is kept.
pub(crate) fn merge_settings(base: &[SettingDef], overrides: &[SettingDef]) -> Vec<SettingDef> {
    let mut out: Vec<SettingDef> = base.to_vec();
    for def in overrides {
        match out.iter_mut().find(|d| d.name == def.name) {
            Some(existing) => *existing = def.clone(),
            None => out.push(def.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_yaml;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn kinds_parse_like_meltano() {
        assert_eq!(SettingKind::parse("date_iso8601"), SettingKind::Date);
        assert_eq!(SettingKind::parse("Integer"), SettingKind::Integer);
        assert_eq!(SettingKind::parse("email"), SettingKind::Email);
        assert_eq!(SettingKind::parse("wat"), SettingKind::Unknown);
        assert!(SettingKind::Password.is_sensitive());
        assert_eq!(SettingKind::infer(&json!(1.5)), SettingKind::Decimal);
        assert_eq!(SettingKind::infer(&json!(3)), SettingKind::Integer);
    }

    #[test]
    fn reads_a_definition() {
        let doc = parse_yaml(
            "name: port\nkind: integer\nvalue: 5432\nenv: PGPORT\naliases: [db_port]\n",
            Path::new("m.yml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let node = Node {
            value: &doc.value,
            pointer: "",
            map: &doc.source_map,
        };
        let def = SettingDef::from_node(node).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(def.name, "port");
        assert_eq!(def.kind, SettingKind::Integer);
        assert_eq!(def.value, Some(json!(5432)));
        assert_eq!(def.env.as_deref(), Some("PGPORT"));
        assert_eq!(def.aliases, vec!["db_port".to_string()]);
        assert!(!def.is_sensitive());
    }

    #[test]
    fn missing_name_is_an_error() {
        let doc =
            parse_yaml("kind: string\n", Path::new("m.yml")).unwrap_or_else(|e| panic!("{e}"));
        let node = Node {
            value: &doc.value,
            pointer: "",
            map: &doc.source_map,
        };
        assert!(SettingDef::from_node(node).is_err());
    }

    #[test]
    fn merge_replaces_by_name_and_keeps_order() {
        let base = vec![
            SettingDef::new("a", SettingKind::String),
            SettingDef::new("b", SettingKind::String),
        ];
        let over = vec![
            SettingDef::new("b", SettingKind::Integer),
            SettingDef::new("c", SettingKind::String),
        ];
        let merged = merge_settings(&base, &over);
        let names: Vec<_> = merged.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(merged[1].kind, SettingKind::Integer);
    }
}
