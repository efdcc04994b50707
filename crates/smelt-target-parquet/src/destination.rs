//! Where finished files go, and how they appear there all at once.
//!
//! - A local directory: files are written beside their final place under a hidden name
//!   (`.name.parquet.inprogress`, skipped by pyarrow, DuckDB globs and Spark), synced, then
//!   renamed and the directory synced: a reader sees a whole file or none, and a crash leaves
//!   at most a hidden temporary file.
//! - An object store (`s3://`, `gs://`, `azure://`, opened by the state backends' code):
//!   files are written to a private local staging directory, then uploaded in one conditional
//!   PUT or a multipart upload, either of which makes the object appear whole or not at all.

use std::fs::File;
use std::path::{Path, PathBuf};

use smelt_state_objstore::{ObjectStoreSettings, StateError, StoreHandle};

use crate::file::FinishedFile;

/// Parts of a multipart upload (S3's minimum part is 5 MiB).
const PART_SIZE: usize = 16 * 1024 * 1024;

/// The target's destination.
pub enum Destination {
    /// A local directory.
    Local {
        /// The directory (created when missing).
        root: PathBuf,
    },
    /// An object store.
    Store {
        /// The opened store.
        handle: Box<StoreHandle>,
        /// Local staging directory, removed at the end.
        staging: tempfile::TempDir,
    },
}

/// Whether `destination` names an object store rather than a local directory.
fn is_store_url(destination: &str) -> bool {
    destination.split_once("://").is_some_and(|(scheme, _)| {
        matches!(scheme.to_ascii_lowercase().as_str(), "s3" | "gs" | "azure")
    })
}

impl Destination {
    /// Opens `destination_path`: a local directory, or an `s3://`, `gs://`, `azure://` URL.
    pub fn open(destination: &str, store: &ObjectStoreSettings) -> Result<Destination, String> {
        if is_store_url(destination) {
            let handle = StoreHandle::open(destination, store, &crate::config::STORE_SETTING_NAMES)
                .map_err(store_error)?;
            let staging = tempfile::Builder::new()
                .prefix("smelt-target-parquet-")
                .tempdir()
                .map_err(|e| format!("could not create a local staging directory: {e}"))?;
            return Ok(Destination::Store {
                handle: Box::new(handle),
                staging,
            });
        }
        if let Some((scheme, _)) = destination.split_once("://") {
            if scheme != "file" {
                return Err(format!(
                    "`destination_path` {scheme}:// is not supported; use a local directory or an \
                     s3://, gs:// or azure:// URL"
                ));
            }
        }
        let root = PathBuf::from(destination.strip_prefix("file://").unwrap_or(destination));
        Ok(Destination::Local { root })
    }

    /// The destination for messages (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Destination::Local { root } => root.display().to_string(),
            Destination::Store { handle, .. } => handle.root_url(),
        }
    }

    /// Where to write the file that will be published as `relative`.
    pub fn temp_path(&self, relative: &str) -> Result<PathBuf, String> {
        match self {
            Destination::Local { root } => {
                let target = root.join(relative);
                let dir = target.parent().unwrap_or(root);
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("could not create directory {}: {e}", dir.display()))?;
                let name = target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok(dir.join(format!(".{name}.inprogress")))
            }
            // File names are unique in a run, so the name alone is enough here.
            Destination::Store { staging, .. } => Ok(staging
                .path()
                .join(relative.rsplit('/').next().unwrap_or(relative))),
        }
    }

    /// Makes a finished file visible at its final place; returns where it is.
    pub fn publish(&self, file: &FinishedFile) -> Result<String, String> {
        match self {
            Destination::Local { root } => {
                let target = root.join(&file.relative);
                if target.exists() {
                    return Err(format!(
                        "{} already exists; it was not overwritten",
                        target.display()
                    ));
                }
                std::fs::rename(&file.temp, &target).map_err(|e| {
                    format!(
                        "could not move {} to {}: {e}",
                        file.temp.display(),
                        target.display()
                    )
                })?;
                sync_dir(target.parent().unwrap_or(root))?;
                Ok(target.display().to_string())
            }
            Destination::Store { handle, .. } => {
                let key = handle.key(&file.relative).map_err(store_error)?;
                let mut reader = File::open(&file.temp)
                    .map_err(|e| format!("could not read {}: {e}", file.temp.display()))?;
                handle
                    .upload_new(&key, &mut reader, PART_SIZE)
                    .map_err(store_error)?;
                let _ = std::fs::remove_file(&file.temp);
                Ok(handle.url(&key))
            }
        }
    }
}

/// The store's message without the state backends' "state backend error" prefix.
fn store_error(e: StateError) -> String {
    match e {
        StateError::Backend(message) => message,
        other => other.to_string(),
    }
}

/// Syncs a directory so a rename in it survives a crash.
fn sync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("could not sync directory {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_store_destinations() {
        assert!(is_store_url("s3://b/p") && is_store_url("GS://b") && is_store_url("azure://c"));
        assert!(!is_store_url("/tmp/out") && !is_store_url("out"));
        let err = Destination::open("ftp://host/x", &ObjectStoreSettings::default())
            .err()
            .unwrap_or_default();
        assert!(err.contains("ftp:// is not supported"), "{err}");
        let d = Destination::open("file:///tmp/x", &ObjectStoreSettings::default()).unwrap();
        assert_eq!(d.describe(), "/tmp/x");
    }
}
