//! Everything that can make tap-csv fail, each worded for the person who has to fix it.

use std::io;

use thiserror::Error;

use smelt_plugin_sdk::catalog::InvalidCatalog;
use smelt_plugin_sdk::json_file::JsonFileError;

/// A tap-csv failure (exit code 1).
#[derive(Debug, Error)]
pub(crate) enum TapCsvError {
    /// A config, catalog, state or definitions file could not be read.
    #[error("tap-csv: {0}")]
    Input(#[from] JsonFileError),
    /// The config is present but wrong.
    #[error("tap-csv: invalid config: {0}")]
    Config(String),
    /// A configured path does not exist.
    #[error("tap-csv: file '{path}' (entity {entity}) not found; check the `path` of this entity (relative paths start at {cwd})")]
    FileNotFound {
        /// The path as configured.
        path: String,
        /// The entity it belongs to.
        entity: String,
        /// The directory relative paths are resolved against.
        cwd: String,
    },
    /// A directory or glob that matched no CSV file.
    #[error("tap-csv: {what} '{path}' (entity {entity}) matches no CSV files")]
    NoFiles {
        /// "directory" or "glob".
        what: &'static str,
        /// The path as configured.
        path: String,
        /// The entity it belongs to.
        entity: String,
    },
    /// A whole-file problem (header, key columns).
    #[error("tap-csv: file '{path}' (entity {entity}): {problem}")]
    File {
        /// The file.
        path: String,
        /// The entity it belongs to.
        entity: String,
        /// What is wrong.
        problem: String,
    },
    /// A problem with one row.
    #[error("tap-csv: file '{path}' (entity {entity}), line {line}: {problem}")]
    Row {
        /// The file.
        path: String,
        /// The entity it belongs to.
        entity: String,
        /// The 1-based line where the row starts.
        line: u64,
        /// What is wrong.
        problem: String,
    },
    /// Reading a file failed part way.
    #[error("tap-csv: could not read file '{path}' (entity {entity}): {source}")]
    Read {
        /// The file.
        path: String,
        /// The entity it belongs to.
        entity: String,
        /// The OS error.
        source: io::Error,
    },
    /// The `--catalog` file does not describe streams the way Singer does.
    #[error("tap-csv: invalid catalog: {0}")]
    Catalog(String),
    /// The `--state` file does not hold a usable Singer state.
    #[error("tap-csv: invalid state: {0}")]
    State(String),
    /// stdout went away (the downstream process exited) or failed.
    #[error("tap-csv: could not write to stdout: {0}")]
    Output(#[source] io::Error),
}

impl From<InvalidCatalog> for TapCsvError {
    fn from(e: InvalidCatalog) -> Self {
        TapCsvError::Catalog(e.0)
    }
}
