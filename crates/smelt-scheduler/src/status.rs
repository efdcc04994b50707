//! The status file `serve` rewrites after every change, and `smelt schedule status` reads.
//!
//! It is JSON, written to a temporary file in the same directory and renamed over the old
//! one, so a reader never sees half a document.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What one `serve` process knows about its schedules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The `serve` process.
    pub pid: u32,
    /// Its host name.
    pub host: String,
    /// `running`, `stopping` or `stopped`.
    pub state: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When this document was written (RFC 3339, UTC).
    pub updated_at: String,
    /// Per schedule name.
    pub schedules: BTreeMap<String, ScheduleStatus>,
}

/// One schedule's last and next run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduleStatus {
    /// The `interval` as written in meltano.yml.
    pub interval: String,
    /// The next tick this process will try to run (none for `@once`/`@manual`).
    pub next_run: Option<String>,
    /// The tick of the last run this process started.
    pub last_tick: Option<String>,
    /// When the last attempt started.
    pub last_start: Option<String>,
    /// When the last attempt ended.
    pub last_end: Option<String>,
    /// `running`, `success`, `failed`, `retrying` or `interrupted`.
    pub last_outcome: Option<String>,
    /// The attempt number of the last run (1 = first try).
    pub attempt: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next retry starts, while one is pending.
    pub retry_at: Option<String>,
}

impl Status {
    /// Writes the document atomically (temporary file + rename), creating the directory.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "status.json".into());
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// Reads a status file; `Ok(None)` when there is none.
    pub fn read(path: &Path) -> Result<Option<Status>, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("{} is not a serve status file: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("could not read {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_status_reads_back_and_leaves_no_temp_file() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("a/b/status.json");
        assert_eq!(Status::read(&path), Ok(None));
        let mut s = Status {
            pid: 7,
            state: "running".into(),
            ..Status::default()
        };
        s.schedules.insert(
            "nightly".into(),
            ScheduleStatus {
                interval: "@daily".into(),
                attempt: 2,
                ..ScheduleStatus::default()
            },
        );
        assert!(s.write(&path).is_ok());
        s.state = "stopped".into();
        assert!(s.write(&path).is_ok());
        assert_eq!(Status::read(&path), Ok(Some(s)));
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap_or(dir.path()))
            .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["status.json"]);
        assert!(std::fs::write(&path, "{").is_ok());
        assert!(Status::read(&path).is_err());
    }
}
