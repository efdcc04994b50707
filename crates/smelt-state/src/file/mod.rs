//! The local-directory state backend (`state_backend.uri: file:///dir`), laid out exactly like
//! Meltano's: `<root>/<state_id>/state.json` plus the lock file `<root>/<state_id>/lock`.
//!
//! State IDs are used verbatim as directory names, `:` included, as Meltano does on Unix (its
//! Windows variant base64-encodes them; smelt targets Unix layouts).

mod atomic;
mod lock;

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::backend::{compile_pattern, pattern_matches};
use crate::{validate_state_id, JobState, StateBackend, StateError};

use atomic::write_atomic;
use lock::{acquire, claim, LockGuard, LockPolicy, LOCK_FILE};

/// File name of a state ID's stored state (Meltano's name).
pub const STATE_FILE: &str = "state.json";

/// Meltano's default `state_backend.lock_timeout_seconds`.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Meltano's default `state_backend.lock_retry_seconds`.
pub const DEFAULT_LOCK_RETRY: Duration = Duration::from_secs(1);

/// State stored in a local directory, byte-compatible with Meltano's file backend so smelt and
/// Meltano can share one directory.
///
/// Writes go through a temporary file, fsync and rename, under the state ID's lock file, so
/// concurrent smelt (and Meltano) processes neither tear nor lose each other's updates.
#[derive(Debug, Clone)]
pub struct FileStateBackend {
    root: PathBuf,
    policy: LockPolicy,
    /// Locks this instance holds for whole runs (see [`StateBackend::claim_run`]).
    claims: Arc<Mutex<HashMap<String, LockGuard>>>,
}

impl FileStateBackend {
    /// A backend rooted at `root` (the path of a `file://` URI). Locks older than
    /// `lock_timeout` are treated as abandoned; a held lock is retried every `lock_retry`.
    /// Nothing is created on disk until state is written.
    ///
    /// Waiting for a lock gives up after twice `lock_timeout + lock_retry` (at least one
    /// second) — long enough for any abandoned lock to expire; see
    /// [`FileStateBackend::with_max_lock_wait`].
    pub fn new(root: PathBuf, lock_timeout: Duration, lock_retry: Duration) -> Self {
        let max_wait = (lock_timeout + lock_retry)
            .saturating_mul(2)
            .max(Duration::from_secs(1));
        FileStateBackend {
            root,
            policy: LockPolicy {
                timeout: lock_timeout,
                retry: lock_retry,
                max_wait,
            },
            claims: Arc::default(),
        }
    }

    /// Change how long an operation waits for a held lock before failing with
    /// [`StateError::Locked`].
    pub fn with_max_lock_wait(mut self, max_wait: Duration) -> Self {
        self.policy.max_wait = max_wait;
        self
    }

    /// The directory holding one sub-directory per state ID.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the state for `id` is stored: `<root>/<id>/state.json`.
    pub fn state_path(&self, id: &str) -> Result<PathBuf, StateError> {
        Ok(self.state_dir(id)?.join(STATE_FILE))
    }

    /// Where the lock for `id` lives: `<root>/<id>/lock`.
    pub fn lock_path(&self, id: &str) -> Result<PathBuf, StateError> {
        Ok(self.state_dir(id)?.join(LOCK_FILE))
    }

    fn state_dir(&self, id: &str) -> Result<PathBuf, StateError> {
        validate_state_id(id)?;
        Ok(self.root.join(id))
    }

    fn claims(&self) -> MutexGuard<'_, HashMap<String, LockGuard>> {
        self.claims.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the state ID's lock unless this instance already holds it for a run.
    fn lock_unless_claimed(&self, id: &str, dir: &Path) -> Result<Option<LockGuard>, StateError> {
        if self.claims().contains_key(id) {
            return Ok(None);
        }
        acquire(id, dir, self.policy).map(Some)
    }

    /// Read and parse a state file; `None` if it does not exist.
    ///
    /// At most one byte over [`crate::MAX_STATE_BYTES`] is loaded, so an oversized file is
    /// refused without being read whole.
    fn read(&self, path: &Path) -> Result<Option<JobState>, StateError> {
        let read = fs::File::open(path).and_then(|f| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(f, crate::MAX_STATE_BYTES as u64 + 1),
                &mut bytes,
            )
            .map(|_| bytes)
        });
        match read {
            Ok(bytes) => JobState::from_json(&bytes)
                .map(Some)
                .map_err(|e| e.located(path.display().to_string())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::io("read state file", path, e)),
        }
    }
}

impl StateBackend for FileStateBackend {
    fn name(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn get(&self, id: &str) -> Result<Option<JobState>, StateError> {
        let path = self.state_path(id)?;
        self.read(&path)
    }

    fn set(&self, id: &str, state: &JobState) -> Result<(), StateError> {
        let dir = self.state_dir(id)?;
        let _lock = self.lock_unless_claimed(id, &dir)?;
        write_atomic(&dir.join(STATE_FILE), &state.to_stored_json()?)
    }

    fn update(
        &self,
        id: &str,
        f: &mut dyn FnMut(Option<JobState>) -> Result<JobState, StateError>,
    ) -> Result<JobState, StateError> {
        let dir = self.state_dir(id)?;
        let _lock = self.lock_unless_claimed(id, &dir)?;
        let path = dir.join(STATE_FILE);
        let current = self.read(&path)?;
        let next = f(current)?;
        write_atomic(&path, &next.to_stored_json()?)?;
        Ok(next)
    }

    fn list(&self, pattern: Option<&str>) -> Result<Vec<String>, StateError> {
        let pattern = compile_pattern(pattern)?;
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StateError::io("list state directory", &self.root, e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StateError::io("list state directory", &self.root, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue; // not UTF-8: cannot be a state ID we wrote
            };
            if validate_state_id(&name).is_err() || !pattern_matches(pattern.as_ref(), &name) {
                continue;
            }
            if entry.path().join(STATE_FILE).is_file() {
                ids.push(name);
            }
        }
        ids.sort();
        Ok(ids)
    }

    fn clear(&self, id: &str) -> Result<(), StateError> {
        let dir = self.state_dir(id)?;
        if !dir.is_dir() {
            return Ok(());
        }
        {
            let _lock = self.lock_unless_claimed(id, &dir)?;
            let path = dir.join(STATE_FILE);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(StateError::io("remove state file", &path, e)),
            }
        }
        // Tidy up like Meltano (which removes the whole directory); keep it if anything else
        // (another process's fresh lock, a user's file) is in there.
        let _ = fs::remove_dir(&dir);
        Ok(())
    }

    fn claim_run(&self, id: &str, force: bool) -> Result<(), StateError> {
        let dir = self.state_dir(id)?;
        if self.claims().contains_key(id) {
            return Ok(());
        }
        let guard = claim(id, &dir, self.policy, force)?;
        self.claims().insert(id.to_string(), guard);
        Ok(())
    }

    fn refresh_run(&self, id: &str) -> Result<(), StateError> {
        match self.claims().get_mut(id) {
            Some(guard) => guard.refresh(),
            None => Err(StateError::Backend(format!(
                "no run claim held for state ID {id}"
            ))),
        }
    }

    fn release_run(&self, id: &str) -> Result<(), StateError> {
        // Dropping the guard removes the lock if it is still ours.
        drop(self.claims().remove(id));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
