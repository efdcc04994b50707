//! Choosing where state lives, from the project's `state_backend` settings (Meltano's names):
//! `state_backend.uri` (`systemdb`, `file:///dir`, `s3://`, `gs://`, `azure://`), the cloud
//! credentials under `state_backend.s3|gcs|azure.*`, and the lock settings
//! `state_backend.lock_timeout_seconds` / `state_backend.lock_retry_seconds`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use smelt_project::{Project, ProjectSettings};
use smelt_state::{FileStateBackend, StateBackend};
use smelt_state_objstore::{from_uri, ObjectStoreSettings};
use smelt_systemdb::SystemDb;

use crate::error::RunError;

/// The lock timing every lock-based backend honours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LockSettings {
    /// Age after which a lock is abandoned (`state_backend.lock_timeout_seconds`, default 10).
    pub timeout: Duration,
    /// Pause between attempts on a held lock (`state_backend.lock_retry_seconds`, default 1).
    pub retry: Duration,
}

impl LockSettings {
    /// The lock settings of the project's typed settings.
    pub fn from_settings(settings: &ProjectSettings) -> LockSettings {
        LockSettings {
            timeout: settings.lock_timeout,
            retry: settings.lock_retry,
        }
    }

    /// How often a running pipeline re-stamps its claim: a third of the timeout, so two
    /// refreshes can be late before the claim could be taken as abandoned.
    pub fn refresh_interval(&self) -> Duration {
        (self.timeout / 3).max(Duration::from_millis(100))
    }
}

/// Opens the backend the project's settings name.
pub fn open_state_backend(
    project: &Project,
    settings: &ProjectSettings,
    db: &Arc<SystemDb>,
) -> Result<Arc<dyn StateBackend>, RunError> {
    let uri = settings.state_backend_uri.trim().to_string();
    let locks = LockSettings::from_settings(settings);
    if uri == "systemdb" {
        return Ok(db.state_backend());
    }
    if let Some(rest) = uri.strip_prefix("file://") {
        let path = PathBuf::from(rest);
        let root = if path.is_absolute() {
            path
        } else {
            project.root.join(path)
        };
        return Ok(Arc::new(FileStateBackend::new(
            root,
            locks.timeout,
            locks.retry,
        )));
    }
    if ["s3://", "gs://", "azure://"]
        .iter()
        .any(|scheme| uri.starts_with(scheme))
    {
        let text = |key: &str| settings.text(key).filter(|s| !s.trim().is_empty());
        let settings = ObjectStoreSettings {
            lock_timeout: locks.timeout,
            lock_retry: locks.retry,
            timeout: settings.state_backend_timeout,
            s3_access_key_id: text("state_backend.s3.aws_access_key_id"),
            s3_secret_access_key: text("state_backend.s3.aws_secret_access_key"),
            s3_endpoint_url: text("state_backend.s3.endpoint_url"),
            s3_region: text("state_backend.s3.region"),
            gcs_application_credentials: text("state_backend.gcs.application_credentials"),
            azure_connection_string: text("state_backend.azure.connection_string"),
        };
        return from_uri(&uri, &settings)
            .map(|b| Arc::new(b) as Arc<dyn StateBackend>)
            .map_err(|e| RunError::Setting {
                message: format!("state_backend.uri '{}' cannot be used: {e}", redact_uri(&uri)),
                hint: "check the bucket/container name and the state_backend.s3/gcs/azure settings (or the cloud's standard credential variables)".into(),
            });
    }
    Err(RunError::Setting {
        message: format!("state_backend.uri '{}' is not a supported state backend", redact_uri(&uri)),
        hint: "use systemdb, file:///path, s3://bucket/prefix, gs://bucket/prefix or azure://container/prefix".into(),
    })
}

/// A URI (or libpq connection string) with every credential hidden, for messages: one
/// redaction for the whole program, see [`smelt_systemdb::redact_uri`].
pub fn redact_uri(uri: &str) -> String {
    smelt_systemdb::redact_uri(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_messages() {
        assert_eq!(
            redact_uri("s3://KEY:SECRET@bucket/prefix"),
            "s3://***@bucket/prefix"
        );
        assert_eq!(
            redact_uri("azure://acct:p@ss/w@container/prefix"),
            "azure://***@container/prefix"
        );
        assert_eq!(redact_uri("s3://bucket/a@b"), "s3://bucket/a@b");
        assert_eq!(redact_uri("file:///tmp/state"), "file:///tmp/state");
    }

    #[test]
    fn refresh_is_a_third_of_the_timeout() {
        let l = LockSettings {
            timeout: Duration::from_secs(9),
            retry: Duration::from_secs(1),
        };
        assert_eq!(l.refresh_interval(), Duration::from_secs(3));
    }
}
