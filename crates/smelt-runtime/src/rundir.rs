//! The private directory where a run writes its plugins' config, catalog and state files.
//!
//! Config files hold secrets, so the directory is 0700, every file is 0600 and created fresh
//! (never following an existing path), and the whole directory is removed when the run ends,
//! successful or not.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A run's private directory; removed on drop.
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates `<sys_dir>/run/smelt-<run_id>` with mode 0700, recording this process's pid in
    /// it, after removing run directories left by smelt processes that no longer exist (a
    /// `kill -9` skips the cleanup on drop, and their config files hold secrets).
    pub fn create(sys_dir: &Path, run_id: &str) -> std::io::Result<RunDir> {
        let parent = sys_dir.join("run");
        fs::create_dir_all(&parent)?;
        sweep_abandoned(&parent);
        let path = parent.join(format!("smelt-{run_id}"));
        fs::DirBuilder::new().mode(0o700).create(&path)?;
        let dir = RunDir { path };
        fs::write(dir.path.join(OWNER_FILE), std::process::id().to_string())?;
        Ok(dir)
    }

    /// Where the directory is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` to `<dir>/<plugin>/<file>` as a new 0600 file and returns its path. When
    /// the run already wrote that file (the same plugin in two blocks of one run), the new one
    /// goes to `<dir>/<plugin>+2/<file>` (then `+3`, ...): files are never overwritten, and `+`
    /// cannot occur in a sanitized plugin name, so no other plugin's directory is taken.
    pub fn write_file(&self, plugin: &str, file: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let base = sanitize(plugin);
        let mut n = 1u32;
        loop {
            let dir = match n {
                1 => self.path.join(&base),
                _ => self.path.join(format!("{base}+{n}")),
            };
            if !dir.exists() {
                // Concurrent sets may create the same plugin's directory at once.
                fs::DirBuilder::new()
                    .mode(0o700)
                    .recursive(true)
                    .create(&dir)?;
            }
            let path = dir.join(file);
            let opened = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path);
            match opened {
                Ok(mut f) => {
                    f.write_all(bytes)?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// The file in a run directory naming the smelt process that owns it.
const OWNER_FILE: &str = "owner.pid";

/// How old a run directory without a readable owner file must be before it is swept: such a
/// directory is either being created right now (owner file written microseconds later) or was
/// left by a smelt killed between creating it and writing the owner.
const OWNERLESS_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes `smelt-*` run directories whose owner process is gone. Directories without a
/// readable owner are left alone while they may still be being created, and removed once
/// older than [`OWNERLESS_AFTER`].
fn sweep_abandoned(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with("smelt-") {
            continue;
        }
        let owner = fs::read_to_string(entry.path().join(OWNER_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        let abandoned = match owner {
            Some(pid) => !smelt_systemdb::pid_alive(pid),
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > OWNERLESS_AFTER),
        };
        if abandoned {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Plugin names come from the project file; keep them to one harmless path component.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_are_private_and_removed() {
        let sys = tempfile::tempdir().unwrap();
        let path;
        {
            let rd = RunDir::create(sys.path(), "abc").unwrap();
            let f = rd
                .write_file("tap-x", "config.json", b"{\"password\":1}")
                .unwrap();
            assert_eq!(
                fs::metadata(&f).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(rd.path()).unwrap().permissions().mode() & 0o777,
                0o700
            );
            let again = rd.write_file("tap-x", "config.json", b"x").unwrap();
            assert_ne!(again, f, "never overwrites");
            assert_eq!(fs::read(&f).unwrap(), b"{\"password\":1}");
            assert_eq!(
                fs::metadata(again.parent().unwrap())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
            path = rd.path().to_path_buf();
        }
        assert!(!path.exists());
    }

    #[test]
    fn directories_of_dead_runs_are_swept_live_ones_kept() {
        let sys = tempfile::tempdir().unwrap();
        let run = sys.path().join("run");
        let dead = run.join("smelt-dead");
        let live = run.join("smelt-live");
        let unknown = run.join("smelt-unknown");
        for d in [&dead, &live, &unknown] {
            fs::create_dir_all(d).unwrap();
        }
        // A pid that cannot exist (above the kernel's pid_max) stands for a killed smelt.
        fs::write(dead.join(OWNER_FILE), "2147483000").unwrap();
        fs::write(dead.join("config.json"), "{\"token\": \"secret\"}").unwrap();
        fs::write(live.join(OWNER_FILE), std::process::id().to_string()).unwrap();
        let rd = RunDir::create(sys.path(), "new").unwrap();
        assert!(!dead.exists(), "abandoned run dir with secrets must go");
        assert!(live.exists() && unknown.exists());
        assert!(rd.path().join(OWNER_FILE).exists());
        drop(rd);
        // An ownerless directory from long ago (smelt killed before writing the owner) goes.
        let old = fs::File::open(&unknown).unwrap();
        old.set_modified(std::time::SystemTime::now() - 2 * OWNERLESS_AFTER)
            .unwrap();
        let _rd = RunDir::create(sys.path(), "newer").unwrap();
        assert!(!unknown.exists(), "stale ownerless run dir must go");
        assert!(live.exists());
    }

    #[test]
    fn plugin_names_cannot_escape() {
        assert_eq!(sanitize("../etc"), "_etc");
        assert_eq!(sanitize("tap-x.y"), "tap-x.y");
    }
}
