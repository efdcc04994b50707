//! The one way smelt opens an object store: a URL (`s3://`, `gs://`, `azure://`) plus
//! [`ObjectStoreSettings`] become a [`StoreHandle`] — the client, a private runtime that drives
//! it with every call bounded, and the key prefix. The cloud state backends and
//! target-parquet both go through [`StoreHandle::open`].

use std::io::Read;
use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload};
use smelt_state::StateError;

use crate::executor::Executor;
use crate::objects::{Objects, Put};
use crate::stores::{store_for, StoreCell};
use crate::uri::{parse_url, Location};
use crate::{ObjectStoreSettings, SettingNames};

/// An opened object store: client, runtime and prefix, with blocking operations.
pub struct StoreHandle {
    pub(crate) location: Location,
    store: StoreCell,
    pub(crate) exec: Executor,
    names: SettingNames,
    bucket_url: String,
}

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHandle")
            .field("root", &self.location.root_url())
            .finish_non_exhaustive()
    }
}

impl StoreHandle {
    /// Opens the store a URL names: `s3://[key:secret@]bucket/prefix`, `gs://bucket/prefix`
    /// or `azure://container/prefix`, with credentials from `settings`, else the URL (S3),
    /// else each cloud's standard environment (see the crate docs).
    ///
    /// Nothing is sent over the network here; an S3 bucket whose region is configured nowhere
    /// has its region looked up on first use. Configuration problems are reported now, naming
    /// the setting to fix (as `names` calls it) and never quoting a secret.
    pub fn open(
        url: &str,
        settings: &ObjectStoreSettings,
        names: &SettingNames,
    ) -> Result<StoreHandle, StateError> {
        let location = parse_url(url, names)?;
        let store = store_for(&location, settings, names)?;
        let exec = Executor::named(settings.timeout, location.bucket_url(), *names)?;
        Ok(StoreHandle {
            bucket_url: location.bucket_url(),
            location,
            store,
            exec,
            names: *names,
        })
    }

    /// `scheme://bucket[/prefix]`, never with credentials: the store's name in messages.
    pub fn root_url(&self) -> String {
        self.location.root_url()
    }

    /// The object key of `relative` (a `/`-separated path) under the URL's prefix.
    pub fn key(&self, relative: &str) -> Result<Path, StateError> {
        let prefix = self.location.prefix.as_ref();
        let raw = if prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{prefix}/{relative}")
        };
        Path::parse(&raw).map_err(|e| {
            StateError::Backend(format!(
                "{raw} cannot be used as an object key in {} ({e})",
                self.bucket_url
            ))
        })
    }

    /// `scheme://bucket/key`, for messages.
    pub fn url(&self, key: &Path) -> String {
        format!("{}/{}", self.bucket_url, key)
    }

    /// The client, for operations this handle does not wrap.
    pub fn client(&self) -> Result<Arc<dyn ObjectStore>, StateError> {
        self.store.get(&self.exec)
    }

    /// Blocking operations with errors phrased for people.
    pub(crate) fn objects(&self) -> Result<Objects<'_>, StateError> {
        Ok(Objects {
            store: self.client()?,
            exec: &self.exec,
            cloud: self.location.cloud,
            bucket_url: &self.bucket_url,
            names: &self.names,
        })
    }

    /// Uploads everything `reader` yields as the new object `key`: one conditional PUT
    /// (refused if `key` exists) when it fits in one part, else a multipart upload of
    /// `part_size`-byte parts, each part its own bounded call. Either way the object appears
    /// whole or not at all: an upload that fails is aborted and leaves nothing behind.
    pub fn upload_new(
        &self,
        key: &Path,
        reader: &mut dyn Read,
        part_size: usize,
    ) -> Result<u64, StateError> {
        let read_error =
            |e: std::io::Error| StateError::Backend(format!("could not read the upload: {e}"));
        let mut first = read_part(reader, part_size).map_err(read_error)?;
        if first.len() < part_size {
            let size = first.len() as u64;
            return match self.objects()?.put(key, first, PutMode::Create)? {
                Put::Written(_) => Ok(size),
                Put::Conflict => Err(StateError::Backend(format!(
                    "{} already exists; it was not overwritten",
                    self.url(key)
                ))),
            };
        }
        let store = self.client()?;
        let failed = |e: object_store::Error| {
            StateError::Backend(format!("could not upload {}: {e}", self.url(key)))
        };
        let mut upload = self
            .exec
            .block_on(async { store.put_multipart(key).await })?
            .map_err(failed)?;
        let mut size = 0u64;
        let result = (|| {
            loop {
                if first.is_empty() {
                    break;
                }
                size += first.len() as u64;
                let part = upload.put_part(PutPayload::from(first));
                self.exec.block_on(part)?.map_err(failed)?;
                first = read_part(reader, part_size).map_err(read_error)?;
            }
            self.exec
                .block_on(upload.complete())?
                .map_err(failed)
                .map(|_| size)
        })();
        if result.is_err() {
            // Best effort: an upload never completed is invisible and expires anyway.
            let _ = self.exec.block_on(upload.abort());
        }
        result
    }

    /// Every object key under `relative` (all of the prefix when empty).
    pub fn list(&self, relative: &str) -> Result<Vec<Path>, StateError> {
        let prefix = if relative.is_empty() {
            self.location.prefix.clone()
        } else {
            self.key(relative)?
        };
        self.objects()?.list(&prefix)
    }
}

/// Reads up to `size` bytes (fewer only at the end).
fn read_part(reader: &mut dyn Read, size: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(size);
    reader.take(size as u64).read_to_end(&mut buf)?;
    Ok(buf)
}
