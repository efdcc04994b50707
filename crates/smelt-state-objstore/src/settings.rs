//! What a cloud state backend is configured with besides its URI: Meltano's lock settings and
//! the per-cloud credential settings (`state_backend.s3.*`, `state_backend.gcs.*`,
//! `state_backend.azure.*`).

use std::fmt;
use std::time::Duration;

use smelt_state::{DEFAULT_LOCK_RETRY, DEFAULT_LOCK_TIMEOUT};

/// Default bound on one state-backend operation (`state_backend.timeout_seconds`): long enough
/// for a slow cloud round trip with a retry, short enough that a store that accepts
/// connections but never answers fails the command in tens of seconds, not minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The names of the settings an object store is configured with, as the user writes them, so
/// every message points at the setting to fix: `state_backend.*` for the state backends, the
/// plugin's own setting names when a plugin (target-parquet) writes to a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingNames {
    /// The URL (`state_backend.uri`).
    pub uri: &'static str,
    /// The S3 access key ID.
    pub s3_access_key_id: &'static str,
    /// The S3 secret access key.
    pub s3_secret_access_key: &'static str,
    /// The S3 endpoint URL.
    pub s3_endpoint_url: &'static str,
    /// The Google credentials file.
    pub gcs_application_credentials: &'static str,
    /// The Azure connection string.
    pub azure_connection_string: &'static str,
    /// The bound on one operation.
    pub timeout: &'static str,
}

impl SettingNames {
    /// Meltano's `state_backend.*` setting names.
    pub const STATE_BACKEND: SettingNames = SettingNames {
        uri: "state_backend.uri",
        s3_access_key_id: "state_backend.s3.aws_access_key_id",
        s3_secret_access_key: "state_backend.s3.aws_secret_access_key",
        s3_endpoint_url: "state_backend.s3.endpoint_url",
        gcs_application_credentials: "state_backend.gcs.application_credentials",
        azure_connection_string: "state_backend.azure.connection_string",
        timeout: "state_backend.timeout_seconds",
    };
}

/// Settings for [`crate::from_uri`] and [`crate::StoreHandle::open`], one field per Meltano
/// setting (what they are called is [`SettingNames`]). Unset credentials fall
/// back to each cloud's standard environment (see the crate docs).
///
/// `Debug` redacts every secret, so the settings can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ObjectStoreSettings {
    /// `state_backend.lock_timeout_seconds`: a lock older than this is considered abandoned.
    pub lock_timeout: Duration,
    /// `state_backend.lock_retry_seconds`: pause between attempts to take a held lock.
    pub lock_retry: Duration,
    /// `state_backend.timeout_seconds`: the longest one operation (a read, a write, a lock
    /// step, including object_store's retries) may take; `None` for no bound.
    pub timeout: Option<Duration>,
    /// `state_backend.s3.aws_access_key_id` (wins over a key in the URI, like Meltano).
    pub s3_access_key_id: Option<String>,
    /// `state_backend.s3.aws_secret_access_key`.
    pub s3_secret_access_key: Option<String>,
    /// `state_backend.s3.endpoint_url`, for S3-compatible stores (MinIO, R2, moto, ...).
    pub s3_endpoint_url: Option<String>,
    /// The bucket's region; when unset, `AWS_REGION`/`AWS_DEFAULT_REGION`, else asked from S3.
    pub s3_region: Option<String>,
    /// `state_backend.gcs.application_credentials`: path of a credentials JSON file.
    pub gcs_application_credentials: Option<String>,
    /// `state_backend.azure.connection_string`.
    pub azure_connection_string: Option<String>,
}

impl Default for ObjectStoreSettings {
    /// Meltano's lock defaults (10 s timeout, 1 s retry) and no explicit credentials.
    fn default() -> Self {
        ObjectStoreSettings {
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            lock_retry: DEFAULT_LOCK_RETRY,
            timeout: Some(DEFAULT_TIMEOUT),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_endpoint_url: None,
            s3_region: None,
            gcs_application_credentials: None,
            azure_connection_string: None,
        }
    }
}

impl fmt::Debug for ObjectStoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("ObjectStoreSettings")
            .field("lock_timeout", &self.lock_timeout)
            .field("lock_retry", &self.lock_retry)
            .field("timeout", &self.timeout)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field("s3_secret_access_key", &redact(&self.s3_secret_access_key))
            .field("s3_endpoint_url", &self.s3_endpoint_url)
            .field("s3_region", &self.s3_region)
            .field(
                "gcs_application_credentials",
                &self.gcs_application_credentials,
            )
            .field(
                "azure_connection_string",
                &redact(&self.azure_connection_string),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_meltanos() {
        let s = ObjectStoreSettings::default();
        assert_eq!(s.lock_timeout, Duration::from_secs(10));
        assert_eq!(s.lock_retry, Duration::from_secs(1));
        assert!(s.s3_access_key_id.is_none() && s.azure_connection_string.is_none());
    }

    #[test]
    fn debug_redacts_secrets() {
        let s = ObjectStoreSettings {
            s3_access_key_id: Some("AKIDVISIBLE".into()),
            s3_secret_access_key: Some("very-secret-key".into()),
            azure_connection_string: Some("AccountKey=secret-azure-key".into()),
            ..Default::default()
        };
        let text = format!("{s:?}");
        assert!(!text.contains("very-secret-key"), "{text}");
        assert!(!text.contains("secret-azure-key"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
        assert!(text.contains("AKIDVISIBLE"), "{text}");
    }
}
