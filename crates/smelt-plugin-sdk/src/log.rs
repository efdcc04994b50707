//! Log lines on stderr.
//!
//! Singer reserves stdout for messages, so everything for people goes to stderr, one line per
//! event in a simple `time=... level=... message=...` shape the runtime can show or keep.

use std::io::Write;

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Progress and summaries.
    Info,
    /// Something suspicious that does not stop the run.
    Warn,
    /// Why the run failed.
    Error,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// Formats one log line (without the trailing newline).
pub fn format_line(level: Level, message: &str) -> String {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // One event per line: a multi-line message keeps its text but not its line breaks.
    let message = message.replace('\n', " | ");
    format!("time={time} level={} message={message}", level.label())
}

/// Writes one log line to stderr; a failing stderr is ignored (there is nowhere else to say it).
pub fn log(level: Level, message: &str) {
    let line = format_line(level, message);
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Logs at INFO.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at WARNING.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at ERROR.
pub fn error(message: &str) {
    log(Level::Error, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shape() {
        let line = format_line(Level::Warn, "tap-csv: two\nlines");
        assert!(line.starts_with("time="), "{line}");
        assert!(
            line.ends_with(" level=WARNING message=tap-csv: two | lines"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}
