//! The kinds of plugins a project can hold, with the names Meltano uses for them.

use std::fmt;

/// The role a plugin plays; one list under `plugins:` in `meltano.yml` per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum PluginType {
    /// A Singer tap (`plugins.extractors`). The default, as the most common type.
    #[default]
    Extractor,
    /// A Singer target (`plugins.loaders`).
    Loader,
    /// A Singer mapper with named `mappings` (`plugins.mappers`).
    Mapper,
    /// A transformer such as dbt (`plugins.transformers`).
    Transformer,
    /// Any other command-line tool (`plugins.utilities`).
    Utility,
    /// An orchestrator such as Airflow (`plugins.orchestrators`).
    Orchestrator,
    /// A file bundle (`plugins.files`).
    File,
}

impl PluginType {
    /// Every plugin type, in the order Meltano lists them in `meltano.yml`.
    pub const ALL: [PluginType; 7] = [
        PluginType::Extractor,
        PluginType::Loader,
        PluginType::Mapper,
        PluginType::Transformer,
        PluginType::Utility,
        PluginType::Orchestrator,
        PluginType::File,
    ];

    /// Singular name for messages and `MELTANO_<TYPE>_NAME` variables, e.g. "extractor".
    pub fn label(self) -> &'static str {
        match self {
            PluginType::Extractor => "extractor",
            PluginType::Loader => "loader",
            PluginType::Mapper => "mapper",
            PluginType::Transformer => "transformer",
            PluginType::Utility => "utility",
            PluginType::Orchestrator => "orchestrator",
            PluginType::File => "file",
        }
    }

    /// The list key under `plugins:` and the lock-file directory name, e.g. "extractors".
    pub fn plural(self) -> &'static str {
        match self {
            PluginType::Extractor => "extractors",
            PluginType::Loader => "loaders",
            PluginType::Mapper => "mappers",
            PluginType::Transformer => "transformers",
            PluginType::Utility => "utilities",
            PluginType::Orchestrator => "orchestrators",
            PluginType::File => "files",
        }
    }

    /// The verb Meltano derives from the type for `MELTANO_<VERB>_<SETTING>` variables.
    ///
    /// Meltano computes it by trimming the plural, so orchestrators give "orchestrat" and
    /// files give "fi"; we reproduce that so plugins see the same variable names.
    pub fn verb(self) -> &'static str {
        match self {
            PluginType::Extractor => "extract",
            PluginType::Loader => "load",
            PluginType::Mapper => "map",
            PluginType::Transformer => "transform",
            PluginType::Utility => "utilize",
            PluginType::Orchestrator => "orchestrat",
            PluginType::File => "fi",
        }
    }

    /// Parses the list key used under `plugins:` ("extractors", "loaders", ...).
    pub fn from_plural(key: &str) -> Option<PluginType> {
        PluginType::ALL.into_iter().find(|t| t.plural() == key)
    }

    /// Parses either the singular or the plural name, as the CLI accepts both.
    pub fn from_name(name: &str) -> Option<PluginType> {
        PluginType::ALL
            .into_iter()
            .find(|t| t.plural() == name || t.label() == name)
    }
}

impl fmt::Display for PluginType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in PluginType::ALL {
            assert_eq!(PluginType::from_plural(t.plural()), Some(t));
            assert_eq!(PluginType::from_name(t.label()), Some(t));
            assert_eq!(PluginType::from_name(t.plural()), Some(t));
        }
        assert_eq!(PluginType::from_plural("extractor"), None);
        assert_eq!(PluginType::from_plural("transforms"), None);
    }

    #[test]
    fn verbs_match_meltano() {
        assert_eq!(PluginType::Extractor.verb(), "extract");
        assert_eq!(PluginType::Loader.verb(), "load");
        assert_eq!(PluginType::Mapper.verb(), "map");
        assert_eq!(PluginType::Utility.verb(), "utilize");
        assert_eq!(PluginType::Utility.label(), "utility");
    }
}
