//! What can go wrong while mapping, worded so the user knows which stream, which property and
//! which expression to fix.

use thiserror::Error;

/// A stream-maps failure. Every variant stops the mapper (exit code 1), as the Singer SDK's
/// `StreamMapConfigError` and `MapExpressionError` do.
#[derive(Debug, Error)]
pub enum MapError {
    /// The config is not a valid stream-maps config.
    #[error("stream maps config: {0}")]
    Config(String),
    /// An expression is not valid Python.
    #[error(
        "stream map '{map}', {target}: expression `{expression}` is not valid Python: {error}"
    )]
    Parse {
        /// The `stream_maps` key the expression belongs to.
        map: String,
        /// `property 'x'`, `__filter__` or `__alias__`.
        target: String,
        /// The expression text.
        expression: String,
        /// What the parser said, with the column.
        error: Box<smelt_pyexpr::ParseError>,
    },
    /// An expression failed on a record.
    #[error("stream '{stream}', {target}: expression `{expression}` failed: {error}")]
    Eval {
        /// The output stream (the alias) being mapped.
        stream: String,
        /// `property 'x'` or `__filter__`.
        target: String,
        /// The expression text.
        expression: String,
        /// What went wrong, with the column.
        error: Box<smelt_pyexpr::EvalError>,
    },
    /// A stream's SCHEMA cannot be mapped as configured.
    #[error("stream '{stream}': {message}")]
    Schema {
        /// The input stream.
        stream: String,
        /// What is wrong.
        message: String,
    },
    /// An input line is not a usable Singer message.
    #[error("input line {line}: {message}")]
    Input {
        /// 1-based line number on stdin.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// Reading stdin failed.
    #[error("reading input: {0}")]
    Read(std::io::Error),
    /// Writing stdout failed (the target went away).
    #[error("writing output: {0}")]
    Write(std::io::Error),
}
