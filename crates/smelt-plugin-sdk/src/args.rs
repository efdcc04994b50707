//! Singer command-line arguments shared by every native plugin.
//!
//! Singer programs take the same small set of flags (`--config`, `--catalog`, `--state`,
//! `--discover`, `--about`, ...). They are parsed by hand here because the set is tiny, the
//! plugins run inside the `smelt` binary (which already owns clap), and the rules are
//! Singer's, not a general CLI's: `--config` may repeat and the files are merged in order.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use thiserror::Error;

/// How `--about` output is rendered (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AboutFormat {
    /// Human-readable lines (the Singer SDK's default).
    #[default]
    Text,
    /// One JSON document, for tools.
    Json,
    /// A Markdown section, for READMEs.
    Markdown,
}

/// The parsed Singer arguments of one plugin invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SingerArgs {
    /// Every `--config FILE`, in the order given; later files override earlier keys.
    pub config: Vec<PathBuf>,
    /// `--catalog FILE` or its legacy spelling `--properties FILE`.
    pub catalog: Option<PathBuf>,
    /// `--state FILE`.
    pub state: Option<PathBuf>,
    /// `--input FILE` (targets): read messages from a file instead of stdin.
    pub input: Option<PathBuf>,
    /// `--discover`: print the catalog and exit.
    pub discover: bool,
    /// `--about`: describe the plugin and exit.
    pub about: bool,
    /// `--format` for `--about`.
    pub format: AboutFormat,
    /// `--help` / `-h`.
    pub help: bool,
}

/// A command line that is not valid Singer usage (exit code 2).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ArgsError {
    /// A flag that needs a value came last.
    #[error("option '{0}' needs a value")]
    MissingValue(String),
    /// A flag this plugin family does not know.
    #[error("unknown argument '{0}'")]
    Unknown(String),
    /// A single-use flag was given twice or two flags exclude each other.
    #[error("{0}")]
    Conflict(String),
    /// `--format` with something other than json, text or markdown.
    #[error("unknown --format '{0}': use json, text or markdown")]
    BadFormat(String),
}

/// Parses Singer arguments (without the program name).
pub fn parse(args: &[OsString]) -> Result<SingerArgs, ArgsError> {
    let mut parsed = SingerArgs::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str() else {
            return Err(ArgsError::Unknown(arg.to_string_lossy().into_owned()));
        };
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(OsStr::new(value))),
            _ => (text, None),
        };
        let mut value = |name: &str| -> Result<PathBuf, ArgsError> {
            match inline {
                Some(v) => Ok(PathBuf::from(v)),
                None => iter
                    .next()
                    .map(PathBuf::from)
                    .ok_or_else(|| ArgsError::MissingValue(name.to_string())),
            }
        };
        match flag {
            "--config" => parsed.config.push(value(flag)?),
            "--catalog" | "--properties" => {
                let path = value(flag)?;
                if parsed.catalog.is_some() {
                    return Err(ArgsError::Conflict(
                        "give only one of --catalog / --properties, once".to_string(),
                    ));
                }
                parsed.catalog = Some(path);
            }
            "--state" => {
                let path = value(flag)?;
                set_once(&mut parsed.state, path, "--state")?;
            }
            "--input" => {
                let path = value(flag)?;
                set_once(&mut parsed.input, path, "--input")?;
            }
            "--format" => {
                let raw = value(flag)?;
                parsed.format = match raw.to_str() {
                    Some("json") => AboutFormat::Json,
                    Some("text") => AboutFormat::Text,
                    Some("markdown") => AboutFormat::Markdown,
                    _ => return Err(ArgsError::BadFormat(raw.to_string_lossy().into_owned())),
                };
            }
            "--discover" if inline.is_none() => parsed.discover = true,
            "--about" if inline.is_none() => parsed.about = true,
            "--help" | "-h" if inline.is_none() => parsed.help = true,
            _ => return Err(ArgsError::Unknown(text.to_string())),
        }
    }
    Ok(parsed)
}

fn set_once(slot: &mut Option<PathBuf>, path: PathBuf, flag: &str) -> Result<(), ArgsError> {
    if slot.is_some() {
        return Err(ArgsError::Conflict(format!(
            "{flag} may be given only once"
        )));
    }
    *slot = Some(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_repeated_config_in_order_and_inline_values() {
        let parsed = parse(&os(&[
            "--config",
            "a.json",
            "--config=b.json",
            "--catalog",
            "cat.json",
            "--state=s.json",
            "--discover",
        ]))
        .unwrap();
        assert_eq!(
            parsed.config,
            vec![PathBuf::from("a.json"), PathBuf::from("b.json")]
        );
        assert_eq!(parsed.catalog, Some(PathBuf::from("cat.json")));
        assert_eq!(parsed.state, Some(PathBuf::from("s.json")));
        assert!(parsed.discover);
        assert!(!parsed.about);
    }

    #[test]
    fn properties_is_an_alias_for_catalog_but_not_both() {
        let parsed = parse(&os(&["--properties", "p.json"])).unwrap();
        assert_eq!(parsed.catalog, Some(PathBuf::from("p.json")));
        let err = parse(&os(&["--properties", "p.json", "--catalog", "c.json"])).unwrap_err();
        assert!(matches!(err, ArgsError::Conflict(_)));
    }

    #[test]
    fn about_formats() {
        let parsed = parse(&os(&["--about", "--format", "json"])).unwrap();
        assert!(parsed.about);
        assert_eq!(parsed.format, AboutFormat::Json);
        assert_eq!(
            parse(&os(&["--about", "--format=markdown"]))
                .unwrap()
                .format,
            AboutFormat::Markdown
        );
        assert_eq!(
            parse(&os(&["--about", "--format", "yaml"])).unwrap_err(),
            ArgsError::BadFormat("yaml".to_string())
        );
    }

    #[test]
    fn usage_errors() {
        assert_eq!(
            parse(&os(&["--config"])).unwrap_err(),
            ArgsError::MissingValue("--config".to_string())
        );
        assert_eq!(
            parse(&os(&["--bogus"])).unwrap_err(),
            ArgsError::Unknown("--bogus".to_string())
        );
        assert_eq!(
            parse(&os(&["--discover=yes"])).unwrap_err(),
            ArgsError::Unknown("--discover=yes".to_string())
        );
        assert!(matches!(
            parse(&os(&["--state", "a", "--state", "b"])).unwrap_err(),
            ArgsError::Conflict(_)
        ));
    }
}
