//! The plugin index smelt offers users: its native `variant: smelt` plugins plus the Meltano Hub
//! definitions embedded by `smelt-index`. `add`, `lock` and `list` look plugins up here, so
//! they agree on what is known.

use serde_json::Value;
use smelt_project::PluginType;

/// The variant name of smelt's built-in plugins.
pub const NATIVE_VARIANT: &str = "smelt";

/// One known plugin variant: built into smelt, or a Hub definition.
#[derive(Debug, Clone)]
pub enum Known {
    /// A native plugin (no pip_url, no lock file).
    Native,
    /// A Hub definition from the embedded index.
    Hub(smelt_index::Entry),
}

impl Known {
    /// The variant name.
    pub fn variant(&self) -> &str {
        match self {
            Known::Native => NATIVE_VARIANT,
            Known::Hub(e) => e.variant,
        }
    }

    /// Whether `add` without `--variant` picks this one (the Hub's default; a native plugin
    /// only when the Hub has no variant of that name, see [`find`]).
    pub fn is_default(&self) -> bool {
        match self {
            Known::Native => false,
            Known::Hub(e) => e.is_default,
        }
    }

    /// A string key of the definition (`pip_url`, `repo`, `docs`, …); natives have none.
    pub fn field(&self, key: &str) -> Option<String> {
        match self {
            Known::Native => None,
            Known::Hub(e) => e
                .definition_value()
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// The plugins this one requires (`requires:` of a Hub definition): (type, name, variant).
    pub fn requires(&self) -> Vec<(PluginType, String, Option<String>)> {
        let Known::Hub(e) = self else {
            return Vec::new();
        };
        let def = e.definition_value();
        let Some(requires) = def.get("requires").and_then(Value::as_object) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (plural, list) in requires {
            let Some(t) = PluginType::from_plural(plural) else {
                continue;
            };
            for item in list.as_array().into_iter().flatten() {
                if let Some(name) = item.get("name").and_then(Value::as_str) {
                    let variant = item.get("variant").and_then(Value::as_str);
                    out.push((t, name.to_string(), variant.map(str::to_string)));
                }
            }
        }
        out
    }

    /// The lock file text Meltano writes for this variant; `None` for natives, which need none.
    pub fn lock_json(&self) -> Option<String> {
        match self {
            Known::Native => None,
            Known::Hub(e) => Some(e.lock_json()),
        }
    }
}

/// Every variant of `name` of type `plugin_type`: the Hub's, then the native one.
pub fn variants(plugin_type: PluginType, name: &str) -> Vec<Known> {
    let mut out: Vec<Known> = smelt_index::variants(plugin_type.plural(), name)
        .into_iter()
        .map(Known::Hub)
        .collect();
    out.extend(
        smelt_plugins::native_definitions()
            .into_iter()
            .filter(|d| d.plugin_type == plugin_type && d.name == name)
            .map(|_| Known::Native),
    );
    out
}

/// The variant `add` and `lock` use: the one named (`default`/`original` mean the default),
/// else the Hub's default, else the first known (a native plugin when the Hub has none).
pub fn find(plugin_type: PluginType, name: &str, variant: Option<&str>) -> Option<Known> {
    let all = variants(plugin_type, name);
    match variant.filter(|v| !matches!(*v, "" | "default" | "original")) {
        Some(v) => all.into_iter().find(|k| k.variant() == v),
        None => {
            let default = all.iter().position(Known::is_default).unwrap_or(0);
            all.into_iter().nth(default)
        }
    }
}

/// The types a plugin called `name` is known as, in [`PluginType::ALL`] order.
pub fn types_of(name: &str) -> Vec<PluginType> {
    let mut types: Vec<PluginType> = smelt_index::find_by_name(name)
        .iter()
        .filter_map(|e| PluginType::from_plural(e.plugin_type))
        .chain(
            smelt_plugins::native_definitions()
                .into_iter()
                .filter(|d| d.name == name)
                .map(|d| d.plugin_type),
        )
        .collect();
    types.sort();
    types.dedup();
    types
}

/// Known names closest to `name` (of one type, or any), best first, at most `limit`.
pub fn suggest(plugin_type: Option<PluginType>, name: &str, limit: usize) -> Vec<String> {
    let mut out: Vec<String> = smelt_plugins::native_definitions()
        .into_iter()
        .filter(|d| plugin_type.is_none_or(|t| t == d.plugin_type))
        .filter(|d| d.name.contains(name) || name.contains(d.name.as_str()))
        .map(|d| d.name)
        .collect();
    for hub in smelt_index::suggest(plugin_type.map(PluginType::plural), name, limit) {
        if !out.iter().any(|n| n == hub) {
            out.push(hub.to_string());
        }
    }
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_default_wins_and_smelt_variant_is_native() {
        let hub = find(PluginType::Extractor, "tap-csv", None);
        assert!(matches!(hub, Some(Known::Hub(e)) if e.is_default));
        let native = find(PluginType::Extractor, "tap-csv", Some("smelt"));
        assert!(matches!(native, Some(Known::Native)));
        assert!(find(PluginType::Extractor, "tap-csv", Some("no-such")).is_none());
        assert!(find(PluginType::Loader, "tap-csv", None).is_none());
    }

    #[test]
    fn types_and_requires_come_from_the_index() {
        assert_eq!(types_of("tap-csv"), [PluginType::Extractor]);
        assert_eq!(
            types_of("dbt-postgres"),
            [PluginType::Transformer, PluginType::Utility]
        );
        assert!(types_of("no-such-plugin-xyz").is_empty());
        let dbt = find(PluginType::Transformer, "dbt-postgres", None);
        let req = dbt.map(|k| k.requires()).unwrap_or_default();
        assert_eq!(req.len(), 1, "{req:?}");
        assert_eq!(req[0].0, PluginType::File);
        assert_eq!(req[0].1, "files-dbt-postgres");
    }

    #[test]
    fn suggestions_include_close_names() {
        let s = suggest(Some(PluginType::Extractor), "tap-gitub", 5);
        assert!(s.iter().any(|n| n == "tap-github"), "{s:?}");
    }
}
