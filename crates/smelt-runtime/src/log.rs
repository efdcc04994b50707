//! smelt's own log: leveled lines to stderr (text or JSON), or, during a run, events sent to the
//! run's coordinator.
//!
//! Plugin stderr lines come through here tagged with the plugin's name, so one stream tells who
//! said what. Outside a run a logger prints itself; inside one it is *routed*
//! ([`Logger::routed`]): every line becomes a [`RunEvent`] for the run's one coordinator, which
//! alone writes the console and the run's log file (that file always receives everything at
//! `debug` and above, whatever the console level, so a failed run can be read afterwards).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use crate::events::{Envelope, RunEvent};

/// How much to print, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Everything, including relay details.
    Debug,
    /// Progress and plugin output (default).
    Info,
    /// Things that may need attention.
    Warning,
    /// Failures only.
    Error,
}

impl LogLevel {
    fn label(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        }
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warning" | "warn" => Ok(LogLevel::Warning),
            "error" | "critical" => Ok(LogLevel::Error),
            other => Err(format!(
                "unknown log level '{other}': use debug, info, warning or error"
            )),
        }
    }
}

/// Console line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-01-01T00:00:00.000Z info    [tap-x] message`
    Text,
    /// One JSON object per line: `{"timestamp","level","plugin","event"}`.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "console" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format '{other}': use text or json")),
        }
    }
}

/// A cheap-to-clone handle to smelt's log: the console, or a run's coordinator.
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Inner>,
    route: Option<Route>,
}

struct Inner {
    level: LogLevel,
    format: LogFormat,
    stderr_lock: Mutex<()>,
}

/// Where a routed logger's events go, and which set they belong to.
#[derive(Clone)]
struct Route {
    tx: Sender<Envelope>,
    set: Option<Arc<str>>,
}

impl Logger {
    /// A logger printing at `level` and above in `format` to stderr.
    pub fn new(level: LogLevel, format: LogFormat) -> Self {
        Logger {
            inner: Arc::new(Inner {
                level,
                format,
                stderr_lock: Mutex::new(()),
            }),
            route: None,
        }
    }

    /// The console level.
    pub fn level(&self) -> LogLevel {
        self.inner.level
    }

    /// The line format.
    pub fn format(&self) -> LogFormat {
        self.inner.format
    }

    /// A logger with this one's level and format whose lines and events go to `tx` (a run's
    /// coordinator) instead of the console.
    pub fn routed(&self, tx: Sender<Envelope>) -> Logger {
        Logger {
            inner: Arc::clone(&self.inner),
            route: Some(Route { tx, set: None }),
        }
    }

    /// A routed logger whose events are tagged with `set` (shown as a `[set]` prefix). On a
    /// logger that is not routed it is the same logger.
    pub fn for_set(&self, set: &str) -> Logger {
        Logger {
            inner: Arc::clone(&self.inner),
            route: self.route.as_ref().map(|r| Route {
                tx: r.tx.clone(),
                set: Some(Arc::from(set)),
            }),
        }
    }

    /// Reports `event` to the run's coordinator; a logger outside a run drops it (log lines are
    /// the only events a console logger prints, through [`Logger::log`] and friends).
    pub fn event(&self, event: RunEvent) {
        if let Some(r) = &self.route {
            let _ = r.tx.send(Envelope {
                at: chrono::Utc::now(),
                set: r.set.clone(),
                event,
            });
        }
    }

    /// Logs a smelt message.
    pub fn log(&self, level: LogLevel, msg: &str) {
        self.emit(level, None, msg);
    }

    /// Logs at debug level.
    pub fn debug(&self, msg: &str) {
        self.emit(LogLevel::Debug, None, msg);
    }

    /// Logs at info level.
    pub fn info(&self, msg: &str) {
        self.emit(LogLevel::Info, None, msg);
    }

    /// Logs at warning level.
    pub fn warn(&self, msg: &str) {
        self.emit(LogLevel::Warning, None, msg);
    }

    /// Logs at error level.
    pub fn error(&self, msg: &str) {
        self.emit(LogLevel::Error, None, msg);
    }

    /// Logs one line a plugin wrote to its stderr (or a command block to stdout).
    pub fn plugin_line(&self, plugin: &str, line: &str) {
        self.emit(LogLevel::Info, Some(plugin), line.trim_end());
    }

    fn emit(&self, level: LogLevel, plugin: Option<&str>, msg: &str) {
        if let Some(r) = &self.route {
            let envelope = Envelope {
                at: chrono::Utc::now(),
                set: r.set.clone(),
                event: RunEvent::Log {
                    level,
                    plugin: plugin.map(str::to_string),
                    message: msg.to_string(),
                },
            };
            // The coordinator is gone only after its run ended (a stray stderr forwarder):
            // the console still gets the line.
            match r.tx.send(envelope) {
                Ok(()) => return,
                Err(e) => return self.print_envelope(&e.0),
            }
        }
        if level >= self.inner.level {
            let line = format_line(
                self.inner.format,
                chrono::Utc::now(),
                None,
                level,
                plugin,
                msg,
            );
            self.print(&line);
        }
    }

    fn print_envelope(&self, e: &Envelope) {
        if let RunEvent::Log {
            level,
            plugin,
            message,
        } = &e.event
        {
            if *level >= self.inner.level {
                let line = format_line(
                    self.inner.format,
                    e.at,
                    e.set.as_deref(),
                    *level,
                    plugin.as_deref(),
                    message,
                );
                self.print(&line);
            }
        }
    }

    /// Writes a finished line to stderr.
    pub(crate) fn print(&self, line: &str) {
        let _g = lock(&self.inner.stderr_lock);
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// One log line, ending in a newline: `[set] <ts> <level> [plugin] message` as text (the set
/// prefix only for concurrent sets), or a JSON object with a `set` key.
pub(crate) fn format_line(
    format: LogFormat,
    at: chrono::DateTime<chrono::Utc>,
    set: Option<&str>,
    level: LogLevel,
    plugin: Option<&str>,
    msg: &str,
) -> String {
    let ts = at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    match format {
        LogFormat::Text => {
            let set = set.map(|s| format!("[{s}] ")).unwrap_or_default();
            match plugin {
                Some(p) => format!("{set}{ts} {:<7} [{p}] {msg}\n", level.label()),
                None => format!("{set}{ts} {:<7} {msg}\n", level.label()),
            }
        }
        LogFormat::Json => {
            let mut o = serde_json::Map::new();
            o.insert("timestamp".into(), ts.into());
            o.insert("level".into(), level.label().into());
            if let Some(s) = set {
                o.insert("set".into(), s.into());
            }
            if let Some(p) = plugin {
                o.insert("plugin".into(), p.into());
            }
            o.insert("event".into(), msg.into());
            format!("{}\n", serde_json::Value::Object(o))
        }
    }
}

/// Creates or truncates `path` for writing, readable by its owner only (an existing file's
/// looser mode is tightened too, since opening keeps it).
pub(crate) fn open_private(path: &Path) -> std::io::Result<File> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        open.mode(0o600);
        let f = open.open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(f)
    }
    #[cfg(not(unix))]
    open.open(path)
}

/// Locks a mutex, recovering the data if another thread panicked while holding it: a log must
/// keep working while the process is reporting a failure.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_order() {
        assert_eq!("WARN".parse::<LogLevel>().unwrap(), LogLevel::Warning);
        assert!(LogLevel::Debug < LogLevel::Error);
        assert!("loud"
            .parse::<LogLevel>()
            .unwrap_err()
            .contains("debug, info"));
        assert!("yaml".parse::<LogFormat>().is_err());
    }

    #[test]
    fn set_prefix_and_json_set_key() {
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let t = format_line(
            LogFormat::Text,
            at,
            Some("a→b"),
            LogLevel::Info,
            Some("a"),
            "hi",
        );
        assert_eq!(t, "[a→b] 1970-01-01T00:00:00.000Z info    [a] hi\n");
        let t = format_line(LogFormat::Text, at, None, LogLevel::Warning, None, "x");
        assert_eq!(t, "1970-01-01T00:00:00.000Z warning x\n");
        let j = format_line(LogFormat::Json, at, Some("a→b"), LogLevel::Info, None, "hi");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["set"], "a→b");
        assert_eq!(v["event"], "hi");
    }

    #[cfg(unix)]
    #[test]
    fn log_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.log");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open_private(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
