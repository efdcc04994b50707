//! Meltano-compatible state backends in cloud object storage: `state_backend.uri` set to
//! `s3://[key:secret@]bucket/prefix`, `gs://bucket/prefix` or `azure://container/prefix`.
//!
//! One library, object_store, talks to all three clouds. The layout is Meltano's, so a bucket
//! Meltano wrote is read and continued in place: `<prefix>/<state_id>/state.json` holds
//! `{"completed": …, "partial": …}` exactly as Meltano serializes it, and
//! `<prefix>/<state_id>/lock` holds the lock time as Unix epoch seconds.
//!
//! # Atomicity
//!
//! Every object PUT is atomic (readers see the old or the new object). On top of that, the
//! writes that decide who holds a lock or whether a merge is still valid are conditional —
//! on all three clouds, through object_store's `PutMode`:
//!
//! * taking a free lock: `PutMode::Create` — S3 and Azure `If-None-Match: *`, GCS
//!   `x-goog-if-generation-match: 0`;
//! * breaking an expired lock and refreshing a run claim: `PutMode::Update` against the
//!   version read — S3 and Azure `If-Match: <etag>`, GCS `x-goog-if-generation-match:
//!   <generation>`;
//! * writing `state.json` in `update`: `PutMode::Update` against the version read (or
//!   `PutMode::Create` when there was none), retried with a fresh read on conflict;
//! * not conditional: `set` and `clear` (they run under the lock and replace or remove
//!   whatever is there), and releasing a lock — an ETag check (HEAD) followed by a plain
//!   DELETE, because object_store has no conditional delete.
//!
//! So two smelt processes can never both hold a lock, and an `update` whose `state.json`
//! changed since it was read (a writer that ignores the lock, such as Meltano, whose own lock
//! is check-then-write) re-reads and merges again instead of overwriting. AWS S3 has supported
//! both conditional headers since 2024. Locks are looked at before they are created, as
//! Meltano does, so an S3-compatible store that silently ignores the headers degrades to
//! Meltano's check-then-write locking (no worse than Meltano); one that rejects them produces
//! an error saying so.
//!
//! # One way to open a store
//!
//! [`StoreHandle::open`] turns a URL plus [`ObjectStoreSettings`] into a client with a private,
//! bounded runtime; the backends here and smelt's target-parquet both use it. Its
//! [`SettingNames`] argument says what the caller calls each setting, so messages point at
//! `state_backend.s3.endpoint_url` for state and at the target's own setting names for data.
//!
//! # Credentials
//!
//! * S3: `state_backend.s3.aws_access_key_id` / `aws_secret_access_key`, else `key:secret@` in
//!   the URI, else the `AWS_*` environment (keys, session token, web identity, ECS/instance
//!   metadata; `~/.aws/credentials` is not read). `state_backend.s3.endpoint_url` targets
//!   S3-compatible stores. Without a configured region the bucket's region is asked from S3.
//! * GCS: `state_backend.gcs.application_credentials`, else `GOOGLE_APPLICATION_CREDENTIALS`,
//!   else gcloud's application-default credentials or instance metadata.
//! * Azure: `state_backend.azure.connection_string`, else `AZURE_STORAGE_CONNECTION_STRING`
//!   (both parsed here, including `BlobEndpoint` for Azurite), else the `AZURE_*` environment.

mod azure_conn;
mod backend;
mod executor;
mod handle;
mod lock;
mod objects;
mod settings;
mod stores;
mod uri;

pub use backend::{from_uri, ObjectStoreBackend};
pub use handle::StoreHandle;
pub use settings::{ObjectStoreSettings, SettingNames, DEFAULT_TIMEOUT};
/// The error type of every operation here (shared with the other state backends).
pub use smelt_state::StateError;
