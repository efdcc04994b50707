//! smelt's own log: leveled lines to stderr (text or JSON) and, during a run, to a log file.
//!
//! Plugin stderr lines come through here tagged with the plugin's name, so one stream tells who
//! said what. The run's log file always receives everything at `debug` and above, whatever the
//! console level, so a failed run can be read afterwards.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

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

/// A cheap-to-clone handle to the process-wide log.
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Inner>,
}

struct Inner {
    level: LogLevel,
    format: LogFormat,
    file: Mutex<Option<BufWriter<File>>>,
    stderr_lock: Mutex<()>,
}

impl Logger {
    /// A logger printing at `level` and above in `format` to stderr.
    pub fn new(level: LogLevel, format: LogFormat) -> Self {
        Logger {
            inner: Arc::new(Inner {
                level,
                format,
                file: Mutex::new(None),
                stderr_lock: Mutex::new(()),
            }),
        }
    }

    /// Starts copying every line (debug and above) to `path`, creating its directory. The file
    /// is readable by its owner only (0600, like `state.json` and `smelt.db`), since plugins
    /// may log connection details or data.
    pub fn attach_file(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let f = open_private(path)?;
        *lock(&self.inner.file) = Some(BufWriter::new(f));
        Ok(())
    }

    /// Flushes and closes the log file, if any.
    pub fn detach_file(&self) {
        if let Some(mut f) = lock(&self.inner.file).take() {
            let _ = f.flush();
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
        let to_console = level >= self.inner.level;
        let mut file = lock(&self.inner.file);
        if !to_console && file.is_none() {
            return;
        }
        let ts = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let line = match self.inner.format {
            LogFormat::Text => match plugin {
                Some(p) => format!("{ts} {:<7} [{p}] {msg}\n", level.label()),
                None => format!("{ts} {:<7} {msg}\n", level.label()),
            },
            LogFormat::Json => {
                let mut o = serde_json::Map::new();
                o.insert("timestamp".into(), ts.clone().into());
                o.insert("level".into(), level.label().into());
                if let Some(p) = plugin {
                    o.insert("plugin".into(), p.into());
                }
                o.insert("event".into(), msg.into());
                format!("{}\n", serde_json::Value::Object(o))
            }
        };
        if let Some(f) = file.as_mut() {
            let _ = f.write_all(line.as_bytes());
            if level >= LogLevel::Warning {
                let _ = f.flush();
            }
        }
        drop(file);
        if to_console {
            let _g = lock(&self.inner.stderr_lock);
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// Creates or truncates `path` for writing, readable by its owner only (an existing file's
/// looser mode is tightened too, since opening keeps it).
fn open_private(path: &Path) -> std::io::Result<File> {
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
    fn file_gets_debug_lines_even_when_console_is_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/run.log");
        let log = Logger::new(LogLevel::Error, LogFormat::Json);
        log.attach_file(&path).unwrap();
        log.debug("relay detail");
        log.plugin_line("tap-x", "hello\n");
        log.detach_file();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "relay detail");
        assert_eq!(lines[1]["plugin"], "tap-x");
        assert_eq!(lines[1]["event"], "hello");
    }

    #[cfg(unix)]
    #[test]
    fn log_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.log");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let log = Logger::new(LogLevel::Error, LogFormat::Text);
        log.attach_file(&path).unwrap();
        log.detach_file();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
