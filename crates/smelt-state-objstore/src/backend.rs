//! The cloud state backend: Meltano's object layout, Meltano's lock protocol made atomic with
//! conditional writes, and read-modify-write updates that cannot lose a concurrent write.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use object_store::path::Path;
use object_store::PutMode;
use smelt_state::{
    compile_pattern, pattern_matches, validate_state_id, JobState, StateBackend, StateError,
    STATE_FILE,
};

use crate::handle::StoreHandle;
use crate::lock::{self, HeldLock, LockPolicy, LOCK_FILE};
use crate::objects::{Objects, Put};
use crate::{ObjectStoreSettings, SettingNames};

/// How often an update re-reads and retries when its conditional write loses a race (only
/// happens when another writer ignores the lock, e.g. Meltano, whose lock is not atomic).
const MAX_UPDATE_ATTEMPTS: usize = 20;

/// Job state in an S3, GCS or Azure Blob bucket, laid out exactly like Meltano's cloud state
/// backends so smelt and Meltano can share a bucket:
/// `<prefix>/<state_id>/state.json` (the bytes of [`JobState::to_meltano_json`]) and the lock
/// `<prefix>/<state_id>/lock` (Unix epoch seconds).
///
/// Built by [`from_uri`]. The API is synchronous; each backend owns a small current-thread
/// runtime that drives object_store's async client, shared by all threads using the backend.
pub struct ObjectStoreBackend {
    handle: StoreHandle,
    root_url: String,
    policy: LockPolicy,
    /// Locks this instance holds for whole runs (see [`StateBackend::claim_run`]).
    claims: Mutex<HashMap<String, HeldLock>>,
}

/// Build the backend for a `state_backend.uri` of the form `s3://[key:secret@]bucket/prefix`,
/// `gs://bucket/prefix` or `azure://container/prefix`.
///
/// Nothing is sent over the network here; an S3 bucket whose region is configured nowhere has
/// its region looked up on first use. Configuration problems — a malformed
/// URI, half a key pair, an unreadable credentials file, a bad connection string — are
/// reported now, naming the setting to fix and never quoting a secret.
pub fn from_uri(
    uri: &str,
    settings: &ObjectStoreSettings,
) -> Result<ObjectStoreBackend, StateError> {
    let handle = StoreHandle::open(uri, settings, &SettingNames::STATE_BACKEND)?;
    Ok(ObjectStoreBackend {
        root_url: handle.root_url(),
        handle,
        policy: LockPolicy::new(settings.lock_timeout, settings.lock_retry),
        claims: Mutex::default(),
    })
}

impl std::fmt::Debug for ObjectStoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStoreBackend")
            .field("root", &self.root_url)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A lock taken for one operation; released (if still ours) when dropped.
struct LockGuard<'a> {
    objects: &'a Objects<'a>,
    held: HeldLock,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Best effort: a lock we fail to delete expires after lock_timeout.
        let _ = lock::release(self.objects, &self.held);
    }
}

impl ObjectStoreBackend {
    /// Change how long an operation waits for a held lock before failing with
    /// [`StateError::Locked`] (default: twice `lock_timeout + lock_retry`, at least 1 s).
    pub fn with_max_lock_wait(mut self, max_wait: Duration) -> Self {
        self.policy.max_wait = max_wait;
        self
    }

    /// The object key of `id`'s state: `<prefix>/<id>/state.json`.
    pub fn state_key(&self, id: &str) -> Result<String, StateError> {
        Ok(self.key(id, STATE_FILE)?.to_string())
    }

    /// The object key of `id`'s lock: `<prefix>/<id>/lock`.
    pub fn lock_key(&self, id: &str) -> Result<String, StateError> {
        Ok(self.key(id, LOCK_FILE)?.to_string())
    }

    /// `<prefix>/<id>/<file>`, with the state ID used verbatim (`:` included), as Meltano does.
    fn key(&self, id: &str, file: &str) -> Result<Path, StateError> {
        validate_state_id(id)?;
        let prefix = self.handle.location.prefix.as_ref();
        let raw = if prefix.is_empty() {
            format!("{id}/{file}")
        } else {
            format!("{prefix}/{id}/{file}")
        };
        Path::parse(&raw).map_err(|e| StateError::InvalidId {
            id: id.to_string(),
            reason: format!("it cannot be used as an object key ({e})"),
        })
    }

    fn objects(&self) -> Result<Objects<'_>, StateError> {
        self.handle.objects()
    }

    fn claims(&self) -> MutexGuard<'_, HashMap<String, HeldLock>> {
        self.claims.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take `id`'s lock for one operation, unless this instance holds it for a run.
    fn lock_unless_claimed<'a>(
        &self,
        objects: &'a Objects<'a>,
        id: &str,
    ) -> Result<Option<LockGuard<'a>>, StateError> {
        if self.claims().contains_key(id) {
            return Ok(None);
        }
        let held = lock::acquire(objects, id, &self.key(id, LOCK_FILE)?, self.policy)?;
        Ok(Some(LockGuard { objects, held }))
    }
}

fn parse_state(bytes: &[u8], url: String) -> Result<JobState, StateError> {
    JobState::from_json(bytes).map_err(|e| e.located(url))
}

impl StateBackend for ObjectStoreBackend {
    fn name(&self) -> String {
        self.root_url.clone()
    }

    fn get(&self, id: &str) -> Result<Option<JobState>, StateError> {
        let key = self.key(id, STATE_FILE)?;
        let objects = self.objects()?;
        match objects.get(&key)? {
            Some(fetched) => parse_state(&fetched.bytes, objects.url(&key)).map(Some),
            None => Ok(None),
        }
    }

    fn set(&self, id: &str, state: &JobState) -> Result<(), StateError> {
        let key = self.key(id, STATE_FILE)?;
        let objects = self.objects()?;
        let _lock = self.lock_unless_claimed(&objects, id)?;
        objects.put(&key, state.to_stored_json()?, PutMode::Overwrite)?;
        Ok(())
    }

    fn update(
        &self,
        id: &str,
        f: &mut dyn FnMut(Option<JobState>) -> Result<JobState, StateError>,
    ) -> Result<JobState, StateError> {
        let key = self.key(id, STATE_FILE)?;
        let objects = self.objects()?;
        let _lock = self.lock_unless_claimed(&objects, id)?;
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            // Write back only if the object is still the one we read (or still absent), so a
            // writer that ignores the lock makes us redo the merge instead of being overwritten.
            let (current, mode) = match objects.get(&key)? {
                Some(fetched) => {
                    let state = parse_state(&fetched.bytes, objects.url(&key))?;
                    let version = fetched.version();
                    let mode = if version.e_tag.is_some() || version.version.is_some() {
                        PutMode::Update(version)
                    } else {
                        PutMode::Overwrite
                    };
                    (Some(state), mode)
                }
                None => (None, PutMode::Create),
            };
            let next = f(current)?;
            match objects.put(&key, next.to_stored_json()?, mode)? {
                Put::Written(_) => return Ok(next),
                Put::Conflict => continue,
            }
        }
        Err(StateError::Backend(format!(
            "{} changed {MAX_UPDATE_ATTEMPTS} times while this process held its lock: another \
             writer is ignoring the lock (an older smelt, or Meltano while smelt holds a run \
             claim?); stop it and try again",
            objects.url(&key)
        )))
    }

    fn list(&self, pattern: Option<&str>) -> Result<Vec<String>, StateError> {
        let pattern = compile_pattern(pattern)?;
        let objects = self.objects()?;
        let prefix = &self.handle.location.prefix;
        let mut ids: Vec<String> = objects
            .list(prefix)?
            .iter()
            .filter_map(|location| {
                let parts: Vec<_> = location.prefix_match(prefix)?.collect();
                match parts.as_slice() {
                    [id, file] if file.as_ref() == STATE_FILE => Some(id.as_ref().to_string()),
                    _ => None,
                }
            })
            .filter(|id| validate_state_id(id).is_ok() && pattern_matches(pattern.as_ref(), id))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    fn clear(&self, id: &str) -> Result<(), StateError> {
        let key = self.key(id, STATE_FILE)?;
        let objects = self.objects()?;
        let _lock = self.lock_unless_claimed(&objects, id)?;
        objects.delete(&key)
    }

    fn claim_run(&self, id: &str, force: bool) -> Result<(), StateError> {
        let key = self.key(id, LOCK_FILE)?;
        if self.claims().contains_key(id) {
            return Ok(());
        }
        let objects = self.objects()?;
        let held = lock::claim(&objects, id, &key, self.policy, force)?;
        self.claims().insert(id.to_string(), held);
        Ok(())
    }

    fn refresh_run(&self, id: &str) -> Result<(), StateError> {
        let objects = self.objects()?;
        let mut claims = self.claims();
        match claims.get_mut(id) {
            Some(held) => lock::refresh(&objects, held),
            None => Err(StateError::Backend(format!(
                "no run claim held for state ID {id}"
            ))),
        }
    }

    fn release_run(&self, id: &str) -> Result<(), StateError> {
        let Some(held) = self.claims().remove(id) else {
            return Ok(());
        };
        let objects = self.objects()?;
        lock::release(&objects, &held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(uri: &str) -> ObjectStoreBackend {
        let settings = ObjectStoreSettings {
            s3_endpoint_url: Some("http://127.0.0.1:9".into()),
            s3_access_key_id: Some("AKIDEXAMPLE".into()),
            s3_secret_access_key: Some("shhh".into()),
            ..ObjectStoreSettings::default()
        };
        match from_uri(uri, &settings) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn keys_follow_meltanos_layout() {
        let b = backend("s3://bucket/some/prefix/");
        assert_eq!(
            b.state_key("dev:tap-a-to-target-b").ok().as_deref(),
            Some("some/prefix/dev:tap-a-to-target-b/state.json")
        );
        assert_eq!(
            b.lock_key("dev:tap-a-to-target-b").ok().as_deref(),
            Some("some/prefix/dev:tap-a-to-target-b/lock")
        );
        let root = backend("s3://bucket");
        assert_eq!(
            root.state_key("a~b%c").ok().as_deref(),
            Some("a~b%c/state.json")
        );
    }

    #[test]
    fn invalid_ids_are_refused_before_any_request() {
        let b = backend("s3://bucket/p");
        for bad in ["", "../x", "a/b", ".hidden"] {
            assert!(
                matches!(b.state_key(bad), Err(StateError::InvalidId { .. })),
                "{bad}"
            );
            assert!(
                matches!(b.get(bad), Err(StateError::InvalidId { .. })),
                "{bad}"
            );
            assert!(
                matches!(b.clear(bad), Err(StateError::InvalidId { .. })),
                "{bad}"
            );
            assert!(matches!(
                b.claim_run(bad, false),
                Err(StateError::InvalidId { .. })
            ));
        }
    }

    #[test]
    fn name_and_debug_never_show_credentials() {
        let b = backend("s3://KEYINURI:secretinuri@bucket/prefix");
        assert_eq!(b.name(), "s3://bucket/prefix");
        let debug = format!("{b:?}");
        assert!(
            !debug.contains("secretinuri") && !debug.contains("KEYINURI"),
            "{debug}"
        );
        assert!(!debug.contains("shhh"), "{debug}");
    }

    #[test]
    fn refreshing_or_releasing_without_a_claim() {
        let b = backend("s3://bucket/p");
        let err = b.refresh_run("dev:a-to-b").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("no run claim")));
        assert!(b.release_run("dev:a-to-b").is_ok());
    }

    #[test]
    fn max_lock_wait_is_adjustable() {
        let b = backend("s3://bucket/p").with_max_lock_wait(Duration::from_millis(5));
        assert_eq!(b.policy.max_wait, Duration::from_millis(5));
    }
}
