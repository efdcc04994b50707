//! Crash-safe file replacement: readers see the old file or the new one, never a torn mix,
//! and after a power loss the file is either fully old or fully new.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::StateError;

/// Replace `path` with `bytes`: write a temporary file in the same directory, fsync it, rename
/// it over `path`, then fsync the directory so the rename itself is durable.
///
/// An existing file's permissions are kept; a new file gets the temporary file's (0600 on
/// Unix, since state can carry bookmarks users consider sensitive).
///
/// Temporary files an interrupted earlier write left behind are removed first (see
/// [`sweep_stale_temps`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    sweep_stale_temps(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| StateError::io("create temporary state file in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| StateError::io("write temporary state file", tmp.path(), e))?;
    if let Ok(existing) = fs::metadata(path) {
        // Best effort: failing to copy permissions must not block saving state.
        let _ = tmp.as_file().set_permissions(existing.permissions());
    }
    tmp.persist(path)
        .map_err(|e| StateError::io("replace state file", path, e.error))?;
    sync_dir(dir)
}

/// Name prefix of the temporary files [`write_atomic`] creates.
const TEMP_PREFIX: &str = ".state.json.";
/// Name suffix of the temporary files [`write_atomic`] creates.
const TEMP_SUFFIX: &str = ".tmp";
/// A temporary file older than this belongs to a write that was interrupted (a live write
/// renames its file within moments), so it is safe to remove.
pub(crate) const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// Removes temporary files of interrupted writes (killed smelt, full disk, power loss) from
/// `dir`, so they do not pile up. Best effort: a failure here never blocks saving state.
pub(crate) fn sweep_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= STALE_TEMP_AGE);
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StateError::io("sync state directory", dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), StateError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_files() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("state.json");
        assert!(write_atomic(&path, b"one").is_ok());
        assert!(write_atomic(&path, b"two").is_ok());
        assert_eq!(fs::read(&path).ok().as_deref(), Some(&b"two"[..]));
        let names: Vec<String> = fs::read_dir(dir.path())
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn interrupted_writes_are_swept_on_the_next_write() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let old = dir.path().join(".state.json.abc123.tmp");
        let fresh = dir.path().join(".state.json.def456.tmp");
        let other = dir.path().join("notes.tmp");
        for p in [&old, &fresh, &other] {
            assert!(fs::write(p, b"partial").is_ok());
        }
        let past = SystemTime::now() - STALE_TEMP_AGE - Duration::from_secs(5);
        let aged = File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.set_modified(past));
        assert!(aged.is_ok(), "{aged:?}");
        assert!(write_atomic(&dir.path().join("state.json"), b"{}").is_ok());
        assert!(!old.exists(), "a stale temp file is removed");
        assert!(
            fresh.exists(),
            "a temp file that may belong to a live write is kept"
        );
        assert!(other.exists(), "other files are never touched");
    }

    #[cfg(unix)]
    #[test]
    fn keeps_existing_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("state.json");
        assert!(fs::write(&path, b"old").is_ok());
        assert!(fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).is_ok());
        assert!(write_atomic(&path, b"new").is_ok());
        let mode = fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .ok();
        assert_eq!(mode, Some(0o640));
    }

    #[test]
    fn missing_directory_is_an_io_error_naming_it() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("nope").join("state.json");
        let err = write_atomic(&path, b"x").err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("nope")),
            "{err:?}"
        );
    }
}
