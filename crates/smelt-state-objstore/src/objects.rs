//! Blocking object operations on one bucket, with errors phrased for people: what we were
//! doing, on which `scheme://bucket/key`, and where to look.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};
use smelt_state::StateError;

use crate::executor::Executor;
use crate::uri::Cloud;
use crate::SettingNames;

/// Appended when a store rejects the conditional headers the lock protocol relies on.
const CONDITIONAL_HINT: &str = "; this store does not seem to support conditional writes \
     (If-None-Match / If-Match), which smelt needs to take locks safely; AWS S3, GCS and Azure \
     support them, as do recent MinIO and Cloudflare R2";

/// One object's bytes and metadata.
pub(crate) struct Fetched {
    pub bytes: Vec<u8>,
    pub meta: ObjectMeta,
}

impl Fetched {
    /// The version to make a conditional write against this object.
    pub(crate) fn version(&self) -> UpdateVersion {
        UpdateVersion {
            e_tag: self.meta.e_tag.clone(),
            version: self.meta.version.clone(),
        }
    }
}

/// Result of a write that may be conditional.
pub(crate) enum Put {
    /// Written; the new object's version.
    Written(UpdateVersion),
    /// The condition failed: the object exists (create) or changed (update).
    Conflict,
}

/// A bucket seen through a blocking API.
pub(crate) struct Objects<'a> {
    pub store: Arc<dyn ObjectStore>,
    pub exec: &'a Executor,
    pub cloud: Cloud,
    /// `scheme://bucket`, for messages.
    pub bucket_url: &'a str,
    /// The setting names to quote in messages.
    pub names: &'a SettingNames,
}

impl Objects<'_> {
    /// `scheme://bucket/key`, for messages.
    pub(crate) fn url(&self, key: &Path) -> String {
        format!("{}/{}", self.bucket_url, key)
    }

    /// The object at `key`, or `None` if there is none.
    pub(crate) fn get(&self, key: &Path) -> Result<Option<Fetched>, StateError> {
        let store = &self.store;
        let result = self.exec.block_on(async move {
            let got = store.get(key).await?;
            let meta = got.meta.clone();
            let bytes = got.bytes().await?;
            Ok::<_, object_store::Error>(Fetched {
                bytes: bytes.to_vec(),
                meta,
            })
        })?;
        match result {
            Ok(fetched) => Ok(Some(fetched)),
            Err(e) if is_missing_bucket(&e) => Err(self.missing_bucket("read", key)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("read", key, e)),
        }
    }

    /// The metadata of the object at `key`, or `None` if there is none.
    pub(crate) fn head(&self, key: &Path) -> Result<Option<ObjectMeta>, StateError> {
        let store = &self.store;
        match self.exec.block_on(async move { store.head(key).await })? {
            Ok(meta) => Ok(Some(meta)),
            Err(e) if is_missing_bucket(&e) => Err(self.missing_bucket("inspect", key)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("inspect", key, e)),
        }
    }

    /// Write `bytes` to `key` (atomically: readers see the old or the new object). With
    /// `PutMode::Create` or `PutMode::Update` the write is conditional and a lost race is
    /// [`Put::Conflict`].
    pub(crate) fn put(&self, key: &Path, bytes: Vec<u8>, mode: PutMode) -> Result<Put, StateError> {
        let store = &self.store;
        let conditional = !matches!(mode, PutMode::Overwrite);
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let result = self
            .exec
            .block_on(async move { store.put_opts(key, PutPayload::from(bytes), opts).await })?;
        match result {
            Ok(put) => Ok(Put::Written(UpdateVersion {
                e_tag: put.e_tag,
                version: put.version,
            })),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(Put::Conflict),
            Err(e) => Err(self.error_with_hint("write", key, &e, self.hint(&e, conditional))),
        }
    }

    /// Delete `key`; a missing object is not an error.
    pub(crate) fn delete(&self, key: &Path) -> Result<(), StateError> {
        let store = &self.store;
        match self.exec.block_on(async move { store.delete(key).await })? {
            Err(e) if is_missing_bucket(&e) => Err(self.missing_bucket("delete", key)),
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", key, e)),
        }
    }

    /// Every object key under `prefix` (all of the bucket when it is empty).
    pub(crate) fn list(&self, prefix: &Path) -> Result<Vec<Path>, StateError> {
        let store = &self.store;
        let prefix_arg = (!prefix.as_ref().is_empty()).then_some(prefix);
        let result = self.exec.block_on(async move {
            store
                .list(prefix_arg)
                .map_ok(|meta| meta.location)
                .try_collect::<Vec<Path>>()
                .await
        })?;
        result.map_err(|e| {
            let what = if prefix.as_ref().is_empty() {
                self.bucket_url.to_string()
            } else {
                format!("{}/{}/", self.bucket_url, prefix)
            };
            StateError::Backend(format!(
                "could not list {what}: {e}{}",
                self.hint(&e, false)
            ))
        })
    }

    fn missing_bucket(&self, action: &str, key: &Path) -> StateError {
        StateError::Backend(format!(
            "could not {action} {}: the bucket (or container) {} does not exist; create it, or \
             fix {}",
            self.url(key),
            self.bucket_url,
            self.names.uri
        ))
    }

    fn error(&self, action: &str, key: &Path, e: object_store::Error) -> StateError {
        self.error_with_hint(action, key, &e, self.hint(&e, false))
    }

    fn error_with_hint(
        &self,
        action: &str,
        key: &Path,
        e: &object_store::Error,
        hint: String,
    ) -> StateError {
        StateError::Backend(format!("could not {action} {}: {e}{hint}", self.url(key)))
    }

    /// What to check, for errors where we can tell. `conditional`: the failed request carried
    /// If-None-Match / If-Match (or GCS's generation match).
    fn hint(&self, e: &object_store::Error, conditional: bool) -> String {
        match e {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => {
                format!(
                    "; access was denied: {}",
                    self.cloud.credentials_hint(self.names)
                )
            }
            object_store::Error::NotImplemented { .. }
            | object_store::Error::NotSupported { .. } => CONDITIONAL_HINT.to_string(),
            object_store::Error::NotFound { .. } => {
                format!(
                    "; does the bucket (or container) {} exist?",
                    self.bucket_url
                )
            }
            other if conditional && other.to_string().contains("501") => {
                CONDITIONAL_HINT.to_string()
            }
            _ => String::new(),
        }
    }
}

/// Whether a "not found" is about the bucket rather than the object (S3 and GCS say
/// `NoSuchBucket`, Azure `ContainerNotFound`): reading a missing bucket must be an error, not
/// "no state".
fn is_missing_bucket(e: &object_store::Error) -> bool {
    let text = e.to_string();
    matches!(e, object_store::Error::NotFound { .. })
        && (text.contains("NoSuchBucket") || text.contains("ContainerNotFound"))
}
