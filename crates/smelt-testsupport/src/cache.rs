//! Where emulators are installed, and the lock that keeps parallel test processes from
//! installing into the same place at once.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::HarnessError;

/// Environment variable that overrides the emulator cache directory.
pub(crate) const CACHE_DIR_ENV: &str = "SMELT_EMULATOR_DIR";

/// The directory emulators are installed into: `$SMELT_EMULATOR_DIR` if set, else
/// `$CARGO_TARGET_DIR/emulators` if set, else `<workspace>/target/emulators` (found from this
/// crate's manifest directory at compile time), so `cargo clean` removes it with the rest.
pub fn default_cache_dir() -> PathBuf {
    cache_dir_from(
        std::env::var_os(CACHE_DIR_ENV),
        std::env::var_os("CARGO_TARGET_DIR"),
    )
}

/// [`default_cache_dir`] given the values of its two environment variables.
fn cache_dir_from(explicit: Option<OsString>, target_dir: Option<OsString>) -> PathBuf {
    if let Some(dir) = explicit.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = target_dir.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("emulators");
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("target")
        .join("emulators")
}

/// An exclusive lock on `<cache>/.<what>.lock`, held while installing `what`; released on drop.
///
/// `flock` locks belong to the open file, so this serializes threads of one test process as
/// well as separate test processes.
pub(crate) struct InstallLock {
    _file: File,
}

impl InstallLock {
    /// Wait for and take the lock for installing `what` into `cache_dir` (created if missing).
    /// Different `what`s (the Python and the npm installs) proceed in parallel.
    pub(crate) fn acquire(cache_dir: &Path, what: &str) -> Result<InstallLock, HarnessError> {
        fs::create_dir_all(cache_dir).map_err(|e| {
            HarnessError::new(format!(
                "could not create the emulator cache directory {}: {e}",
                cache_dir.display()
            ))
        })?;
        let path = cache_dir.join(format!(".{what}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| HarnessError::new(format!("could not open {}: {e}", path.display())))?;
        loop {
            // SAFETY: flock on a file descriptor we own for the lifetime of `file`.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(InstallLock { _file: file });
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(HarnessError::new(format!(
                    "could not lock {}: {err}",
                    path.display()
                )));
            }
        }
    }
}

/// Whether `marker` exists and holds exactly `expected` (what was installed last time).
pub(crate) fn marker_matches(marker: &Path, expected: &str) -> bool {
    fs::read_to_string(marker).is_ok_and(|found| found == expected)
}

/// Record that `content` was installed, so the next run can skip the install.
pub(crate) fn write_marker(marker: &Path, content: &str) -> Result<(), HarnessError> {
    fs::write(marker, content).map_err(|e| {
        HarnessError::new(format!(
            "could not write install marker {}: {e}",
            marker.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_precedence() {
        let workspace = cache_dir_from(None, Some(OsString::new()));
        assert!(workspace.ends_with("target/emulators"), "{workspace:?}");
        assert!(workspace.starts_with(env!("CARGO_MANIFEST_DIR")));
        assert_eq!(
            cache_dir_from(None, Some("/t".into())),
            PathBuf::from("/t/emulators")
        );
        assert_eq!(
            cache_dir_from(Some("/e".into()), Some("/t".into())),
            PathBuf::from("/e")
        );
    }

    #[test]
    fn markers_round_trip_and_detect_changes() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let marker = dir.path().join("m");
        assert!(!marker_matches(&marker, "a==1"));
        assert!(write_marker(&marker, "a==1").is_ok());
        assert!(marker_matches(&marker, "a==1"));
        assert!(!marker_matches(&marker, "a==2"));
    }

    #[test]
    fn install_lock_is_reentrant_after_release() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let first = InstallLock::acquire(dir.path(), "venv");
        assert!(first.is_ok());
        // Another install may run meanwhile.
        assert!(InstallLock::acquire(dir.path(), "node").is_ok());
        drop(first);
        assert!(InstallLock::acquire(dir.path(), "venv").is_ok());
        assert!(dir.path().join(".venv.lock").exists());
    }
}
