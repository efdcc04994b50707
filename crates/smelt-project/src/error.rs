//! Errors and source locations.
//!
//! Every error a user can cause while loading a project says where (file:line:col when the
//! problem is in a YAML file), what is wrong, and what to do about it.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a project file, so any problem can be pointed at precisely.
///
/// `file` is relative to the project root whenever the file lives inside it; `line` and `col`
/// are 1-based, as editors show them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The file, relative to the project root when possible.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number.
    pub col: usize,
}

impl Location {
    /// Builds a location; `file` is shown as given.
    pub fn new(file: impl Into<PathBuf>, line: usize, col: usize) -> Location {
        Location {
            file: file.into(),
            line,
            col,
        }
    }

    /// A location at the start of `file`, for problems about a file as a whole.
    pub fn file_start(file: impl Into<PathBuf>) -> Location {
        Location::new(file, 1, 1)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// Shows `path` relative to `root` when it lies inside it, else as given.
pub(crate) fn display_path(root: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

/// Everything that can go wrong while finding, loading or resolving a project.
///
/// The `Display` form is `<location>: <what>` followed by `\n  hint: <what to do>`; the
/// location is left out when the problem is not tied to a file position.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// No `meltano.yml` could be found.
    #[error("{}", render(None, &format!("no meltano.yml found in {} or any parent directory", .searched.display()), "run `smelt init` to create a project, or pass --cwd <project directory>"))]
    ProjectNotFound {
        /// Where the search started (or the directory that was named explicitly).
        searched: PathBuf,
    },

    /// A file or directory could not be read or written.
    #[error("{}", render(None, &format!("could not {} {}: {}", .action, .path.display(), .source), &io_hint(.source)))]
    Io {
        /// What we were doing, e.g. "read".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A YAML file is not valid YAML.
    #[error("{}", render(Some(.location), &format!("could not parse YAML: {}", .reason), &yaml_hint(.reason)))]
    Yaml {
        /// Where the parser stopped.
        location: Location,
        /// The parser's explanation.
        reason: String,
    },

    /// The project file is valid YAML but something in it is wrong or missing.
    #[error("{}", render(.location.as_ref(), .what, .hint))]
    Invalid {
        /// Where the offending node is, when known.
        location: Option<Location>,
        /// What is wrong.
        what: String,
        /// What to do about it.
        hint: String,
    },

    /// The requested environment is not defined in the project.
    #[error("{}", render(.location.as_ref(), &format!("environment `{}` is not defined in this project", .name), &environment_hint(.defined)))]
    UnknownEnvironment {
        /// The name that was asked for.
        name: String,
        /// Names of the environments the project defines.
        defined: Vec<String>,
        /// Where the name was written (e.g. `default_environment`), if it came from a file.
        location: Option<Location>,
    },

    /// A plugin's `inherit_from` names a plugin that does not exist.
    #[error("{}", render(Some(&.0.location), &format!("{} `{}` inherits from `{}`, but there is no {} with that name", .0.plugin_type, .0.plugin, .0.parent, .0.plugin_type), &known_hint(&.0.plugin_type, &.0.known)))]
    UnknownParent(Box<UnknownParent>),

    /// Plugins inherit from each other in a loop.
    #[error("{}", render(Some(.location), &format!("plugins inherit from each other in a cycle: {}", .chain.join(" -> ")), "break the cycle: one of these plugins must not use `inherit_from`"))]
    InheritCycle {
        /// Where the first plugin of the cycle is defined.
        location: Location,
        /// The plugin names, ending with the one that closes the loop.
        chain: Vec<String>,
    },

    /// A plugin name is used twice for the same plugin type.
    #[error("{}", render(Some(&.0.location), &format!("{} `{}` is defined twice (first at {})", .0.plugin_type, .0.name, .0.first), "rename one of them, or use `inherit_from` to make a variant of the first"))]
    DuplicatePlugin(Box<DuplicatePlugin>),

    /// A setting value (from the environment, `.env` or a file) cannot be converted to the
    /// setting's kind.
    #[error("{}", render(.0.location.as_ref(), &format!("{} sets `{}` of {} `{}` to {}, which is not a valid {}", .0.origin, .0.setting, .0.plugin_type, .0.plugin, .0.shown_value, .0.kind), &format!("set it to a valid {} value, or remove it", .0.kind)))]
    BadSettingValue(Box<BadSettingValue>),

    /// `smelt init` was pointed at a directory that already holds a project.
    #[error("{}", render(None, &format!("{} already exists", .path.display()), "choose an empty directory, or keep using the existing project"))]
    AlreadyInitialized {
        /// The existing `meltano.yml`.
        path: PathBuf,
    },
}

impl ProjectError {
    /// The file position the error points at, if it has one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ProjectError::Yaml { location, .. } | ProjectError::InheritCycle { location, .. } => {
                Some(location)
            }
            ProjectError::UnknownParent(e) => Some(&e.location),
            ProjectError::DuplicatePlugin(e) => Some(&e.location),
            ProjectError::BadSettingValue(e) => e.location.as_ref(),
            ProjectError::Invalid { location, .. }
            | ProjectError::UnknownEnvironment { location, .. } => location.as_ref(),
            ProjectError::ProjectNotFound { .. }
            | ProjectError::Io { .. }
            | ProjectError::AlreadyInitialized { .. } => None,
        }
    }

    /// Shorthand for an [`ProjectError::Invalid`] error.
    pub(crate) fn invalid(
        location: Option<Location>,
        what: impl Into<String>,
        hint: impl Into<String>,
    ) -> ProjectError {
        ProjectError::Invalid {
            location,
            what: what.into(),
            hint: hint.into(),
        }
    }

    /// Shorthand for an [`ProjectError::Io`] error.
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> ProjectError {
        ProjectError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Details of [`ProjectError::UnknownParent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownParent {
    /// Where `inherit_from` is written.
    pub location: Location,
    /// The inheriting plugin.
    pub plugin: String,
    /// The missing parent.
    pub parent: String,
    /// Type label of both plugins, e.g. "extractor".
    pub plugin_type: String,
    /// Plugins of that type that do exist.
    pub known: Vec<String>,
}

/// Details of [`ProjectError::DuplicatePlugin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicatePlugin {
    /// Where the second definition is.
    pub location: Location,
    /// Where the first one is.
    pub first: Location,
    /// The duplicated name.
    pub name: String,
    /// Type label, e.g. "loader".
    pub plugin_type: String,
}

/// Details of [`ProjectError::BadSettingValue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSettingValue {
    /// Where the value was written, for values from files.
    pub location: Option<Location>,
    /// Where the value came from, e.g. "environment variable TAP_X_PORT".
    pub origin: String,
    /// The setting name.
    pub setting: String,
    /// The plugin name.
    pub plugin: String,
    /// Type label of the plugin.
    pub plugin_type: String,
    /// The offending value (redacted for sensitive settings).
    pub shown_value: String,
    /// The expected kind, e.g. "integer".
    pub kind: String,
}

fn render(location: Option<&Location>, what: &str, hint: &str) -> String {
    match location {
        Some(loc) => format!("{loc}: {what}\n  hint: {hint}"),
        None => format!("{what}\n  hint: {hint}"),
    }
}

fn yaml_hint(reason: &str) -> String {
    if let Some(hint) = specific_yaml_hint(reason) {
        return hint.to_string();
    }
    let hint = if reason.contains("mapping values are not allowed") {
        "a plain value cannot contain `: `; quote the value, or check this line's indentation"
    } else if reason.contains("flow mapping") || reason.contains("flow sequence") {
        "a `{...}` or `[...]` is not closed; add the missing `}`, `]` or `,`"
    } else if reason.contains("quoted scalar") {
        "a quoted value is not closed; add the closing quote"
    } else if reason.to_ascii_lowercase().contains("tab") {
        "indent YAML with spaces, not tabs"
    } else if reason.starts_with("duplicate key") {
        "keep one of the duplicated keys"
    } else {
        "fix the YAML syntax at this position (check indentation, quotes and `:` after keys)"
    };
    hint.to_string()
}

/// Hints for YAML problems the general rules in `yaml_hint` would misread (e.g. "unprintable"
/// contains "tab", and not every message about a quoted scalar means it is unclosed).
fn specific_yaml_hint(reason: &str) -> Option<&'static str> {
    const HINTS: &[(&str, &str)] = &[
        ("duplicate key", "keep one of the duplicated keys"),
        ("NUL byte", "a NUL byte usually means the file is binary or saved as UTF-16; save it as UTF-8 text"),
        ("control character", "remove the character; to put it in a value, write it as an escape inside double quotes, e.g. \"\\x01\""),
        ("non-character", "remove the character; to put it in a value, write it as an escape inside double quotes, e.g. \"\\uFFFE\""),
        ("unprintable", "remove the character; to put it in a value, write it as an escape inside double quotes"),
        ("byte order mark", "remove the invisible byte order mark (U+FEFF) at this position; it may only start the file"),
        ("%YAML directive", "use `%YAML 1.2` (or remove the directive)"),
        ("escape", "in double quotes a backslash starts an escape (\\n, \\t, \\\\, \\\", \\xNN, \\uNNNN); write \\\\ for a backslash, or use single quotes"),
        ("hexadecimal number", "in double quotes a backslash starts an escape (\\n, \\t, \\\\, \\\", \\xNN, \\uNNNN); write \\\\ for a backslash, or use single quotes"),
        ("invalid trailing content after double-quoted", "a quoted value ends at its closing quote; quote the whole value or remove what follows it"),
        ("unexpected document indicator", "a line starting with `---` or `...` ends the document; indent it, or close the quoted value before it"),
        ("quoted scalar, found unexpected end", "a quoted value is not closed; add the closing quote"),
        ("indentation in quoted scalar", "indent the continuation lines of the quoted value"),
        ("':' may not precede", "put a space after `:` (e.g. `{key: [a, b]}`)"),
        ("':' must be followed", "put a space after `:` between a key and its value; indent YAML with spaces, not tabs"),
        ("'-' must be followed", "put a space after `-` in a list entry"),
        ("unknown anchor", "define the anchor (`&name`) before the alias (`*name`) that uses it"),
        ("anchor that is not defined", "define the anchor (`&name`) before the alias (`*name`) that uses it"),
        ("aliases expand", "each alias (`*name`) repeats everything under its anchor; use fewer or smaller aliases"),
        ("nesting deeper", "flatten the structure; project files never need this much nesting"),
        ("second YAML document", "remove the `---` line and what follows it, or move that part to its own file"),
        ("merge", "write `<<: *anchor`, or `<<: [*a, *b]` to merge several mappings"),
        ("mapping keys must be plain", "write the key as a plain or quoted string"),
        ("block sequence entries are not allowed", "a `- item` list cannot start on the line of its key; start it on the next line, indented"),
        ("did not find expected '-' indicator", "align this line with the `-` entries of the list above, or fix its indentation"),
        ("did not find expected key", "align this line with the keys of the mapping above (same indentation), or fix the line before it"),
        ("simple key expect", "a key must be followed by `:` on the same line (and be at most 1024 characters long)"),
        ("comment intercepting", "a comment cannot sit between the lines of a multi-line value; move the comment or quote the value"),
        ("did not find expected node content", "a value is missing or starts with a reserved character (`@`, `` ` ``, `%`); quote it"),
        ("unexpected character", "a plain value cannot start with `@` or `` ` ``; quote it"),
        ("wrongly indented line in block scalar", "indent every line of a `|` or `>` block at least as much as its first line"),
        ("block scalar content cannot start with a tab", "indent the lines of a `|` or `>` block with spaces, not tabs"),
        ("invalid content after document end", "nothing may follow `...` on its line; remove it"),
        ("unexpected end of plain scalar", "quote this value"),
    ];
    HINTS
        .iter()
        .find(|(needle, _)| reason.contains(needle))
        .map(|(_, hint)| *hint)
}

fn io_hint(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "check that the path exists".to_string(),
        std::io::ErrorKind::PermissionDenied => {
            "check the file permissions, or run as a user who may access it".to_string()
        }
        _ => "check that the path is accessible and the disk is healthy".to_string(),
    }
}

fn environment_hint(defined: &[String]) -> String {
    if defined.is_empty() {
        "this project defines no environments; add one under `environments:` in meltano.yml, or run with --no-environment".to_string()
    } else {
        format!(
            "use one of: {} (or add it under `environments:` in meltano.yml)",
            defined.join(", ")
        )
    }
}

fn known_hint(plugin_type: &str, known: &[String]) -> String {
    if known.is_empty() {
        format!("this project defines no other {plugin_type}; define the parent plugin first, or fix the name")
    } else {
        format!("fix the name; known {plugin_type}s: {}", known.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_displays_as_file_line_col() {
        let loc = Location::new("meltano.yml", 12, 5);
        assert_eq!(loc.to_string(), "meltano.yml:12:5");
    }

    #[test]
    fn errors_render_location_what_and_hint() {
        let err = ProjectError::Yaml {
            location: Location::new("meltano.yml", 3, 7),
            reason: "mapping values are not allowed".into(),
        };
        let text = err.to_string();
        assert!(text.starts_with("meltano.yml:3:7: could not parse YAML: mapping values"));
        assert!(text.contains("\n  hint: "));
        assert_eq!(err.location().map(|l| l.line), Some(3));
    }

    #[test]
    fn yaml_hints_follow_the_reason() {
        let err = |reason: &str| {
            ProjectError::Yaml {
                location: Location::new("meltano.yml", 1, 1),
                reason: reason.into(),
            }
            .to_string()
        };
        assert!(err("mapping values are not allowed in this context").contains("quote the value"));
        assert!(
            err("while parsing a flow mapping, did not find expected ',' or '}'")
                .contains("not closed")
        );
        assert!(err("something else").contains("fix the YAML syntax"));
    }

    #[test]
    fn not_found_tells_the_user_what_to_do() {
        let err = ProjectError::ProjectNotFound {
            searched: PathBuf::from("/tmp/x"),
        };
        let text = err.to_string();
        assert!(text.contains("no meltano.yml found in /tmp/x"));
        assert!(text.contains("smelt init"));
        assert!(text.contains("--cwd"));
    }

    #[test]
    fn unknown_environment_lists_defined_ones() {
        let err = ProjectError::UnknownEnvironment {
            name: "qa".into(),
            defined: vec!["dev".into(), "prod".into()],
            location: None,
        };
        let text = err.to_string();
        assert!(text.contains("environment `qa` is not defined"));
        assert!(text.contains("dev, prod"));
    }

    #[test]
    fn display_path_is_relative_inside_root() {
        let root = Path::new("/p");
        assert_eq!(
            display_path(root, Path::new("/p/sub/a.yml")),
            PathBuf::from("sub/a.yml")
        );
        assert_eq!(
            display_path(root, Path::new("/elsewhere/a.yml")),
            PathBuf::from("/elsewhere/a.yml")
        );
    }
}
