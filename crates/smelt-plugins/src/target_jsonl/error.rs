//! Everything that can make target-jsonl fail. Data errors name the stream, the input line
//! and the problem, so a failed pipeline points at the message that broke it.

use std::io;

use thiserror::Error;

use smelt_plugin_sdk::json_file::JsonFileError;
use smelt_plugin_sdk::target_input::{at_line, InputError};

/// A target-jsonl failure (exit code 1).
#[derive(Debug, Error)]
pub(crate) enum TargetError {
    /// A config file could not be read.
    #[error("target-jsonl: {0}")]
    Input(#[from] JsonFileError),
    /// The config is present but wrong.
    #[error("target-jsonl: invalid config: {0}")]
    Config(String),
    /// The input is not Singer messages (unreadable, not JSON, a message without `stream`, a
    /// BATCH).
    #[error("target-jsonl: {0}")]
    Message(#[from] InputError),
    /// A problem with a message of a known stream.
    #[error("target-jsonl: {}: {problem}", at_line(stream, *line))]
    Stream {
        /// The stream named by the message.
        stream: String,
        /// 1-based input line.
        line: u64,
        /// What is wrong and what to do.
        problem: String,
    },
    /// Writing an output file failed.
    #[error("target-jsonl: could not write '{path}': {source}")]
    Write {
        /// The file or directory.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// stdout (state acknowledgements) failed.
    #[error("target-jsonl: could not write state to stdout: {0}")]
    Output(#[source] io::Error),
}

impl TargetError {
    /// A stream-level data error.
    pub(crate) fn stream(stream: &str, line: u64, problem: impl Into<String>) -> Self {
        TargetError::Stream {
            stream: stream.to_string(),
            line,
            problem: problem.into(),
        }
    }
}
