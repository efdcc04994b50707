//! Building the object_store client for each cloud from the URI, the settings and the
//! standard environment of that cloud.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use smelt_state::StateError;

use crate::azure_conn::{parse_connection_string_named, AzureSecret};
use crate::executor::Executor;
use crate::uri::{Cloud, Location};
use crate::{ObjectStoreSettings, SettingNames};

/// Standard variable naming a Google credentials file.
const GOOGLE_APPLICATION_CREDENTIALS: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// Standard variable holding an Azure storage connection string.
const AZURE_STORAGE_CONNECTION_STRING: &str = "AZURE_STORAGE_CONNECTION_STRING";

/// The longest TCP (and TLS) connect to the store, whatever `state_backend.timeout_seconds`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Retries of a failed request (object_store's default is 10 over up to 3 minutes).
const MAX_RETRIES: usize = 3;

/// HTTP client options for every store: each connect is bounded by [`CONNECT_TIMEOUT`] (at most
/// `state_backend.timeout_seconds`), each request by that setting plus a second — a backstop:
/// the executor cuts the whole operation off first, with a message naming the setting.
fn client_options(settings: &ObjectStoreSettings) -> ClientOptions {
    match settings.timeout {
        Some(t) => ClientOptions::new()
            .with_timeout(t + Duration::from_secs(1))
            .with_connect_timeout(t.min(CONNECT_TIMEOUT)),
        None => ClientOptions::new()
            .with_timeout_disabled()
            .with_connect_timeout(CONNECT_TIMEOUT),
    }
}

/// Retries bounded in number and in time: no new attempt starts after
/// `state_backend.timeout_seconds` (the executor cuts the whole call off at that point anyway).
fn retry_config(settings: &ObjectStoreSettings) -> RetryConfig {
    let defaults = RetryConfig::default();
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: MAX_RETRIES,
        retry_timeout: settings.timeout.unwrap_or(defaults.retry_timeout),
    }
}

/// The client for one bucket, built at once or — for an S3 bucket whose region is not
/// configured anywhere — on first use, after asking S3 for the bucket's region (so building a
/// backend never touches the network).
pub(crate) struct StoreCell {
    ready: OnceLock<Arc<dyn ObjectStore>>,
    pending_s3: Option<AmazonS3Builder>,
    bucket_url: String,
    options: ClientOptions,
    names: SettingNames,
}

impl StoreCell {
    /// The client, building it first if needed.
    pub(crate) fn get(&self, exec: &Executor) -> Result<Arc<dyn ObjectStore>, StateError> {
        if let Some(store) = self.ready.get() {
            return Ok(Arc::clone(store));
        }
        let Some(builder) = &self.pending_s3 else {
            return Err(StateError::Backend(format!(
                "the client for {} was not built",
                self.bucket_url
            )));
        };
        let bucket = builder
            .get_config_value(&AmazonS3ConfigKey::Bucket)
            .unwrap_or_default();
        let region = exec
            .block_on(object_store::aws::resolve_bucket_region(
                &bucket,
                &self.options,
            ))?
            .map_err(|e| {
                StateError::Backend(format!(
                    "could not find the region of {}: {e}; set AWS_REGION (or \
                     AWS_DEFAULT_REGION) to the bucket's region",
                    self.bucket_url
                ))
            })?;
        let store = build_s3(
            builder.clone().with_region(region),
            &self.bucket_url,
            &self.names,
        )?;
        Ok(Arc::clone(self.ready.get_or_init(|| store)))
    }
}

/// Prepare the client for `location`.
pub(crate) fn store_for(
    location: &Location,
    settings: &ObjectStoreSettings,
    names: &SettingNames,
) -> Result<StoreCell, StateError> {
    let bucket_url = location.bucket_url();
    let ready = OnceLock::new();
    let mut pending_s3 = None;
    let store = match location.cloud {
        Cloud::S3 => {
            let (builder, region_known) = s3_builder(location, settings, names)?;
            if region_known {
                Some(build_s3(builder, &bucket_url, names)?)
            } else {
                pending_s3 = Some(builder);
                None
            }
        }
        Cloud::Gcs => Some(gcs(location, settings, names)?),
        Cloud::Azure => Some(azure(location, settings, names)?),
    };
    if let Some(store) = store {
        let _ = ready.set(store);
    }
    Ok(StoreCell {
        ready,
        pending_s3,
        bucket_url,
        options: client_options(settings),
        names: *names,
    })
}

/// S3 settings: explicit settings win over credentials in the URI (as in Meltano), which win
/// over the `AWS_*` environment (keys, session token, region, endpoint, web identity, ECS and
/// instance credentials — object_store's chain; unlike boto3 it does not read
/// `~/.aws/credentials`). Returns whether the region is known.
fn s3_builder(
    location: &Location,
    settings: &ObjectStoreSettings,
    names: &SettingNames,
) -> Result<(AmazonS3Builder, bool), StateError> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&location.bucket)
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .with_client_options(client_options(settings))
        .with_retry(retry_config(settings));
    let (uri_key, uri_secret) = match &location.uri_credentials {
        Some((k, s)) => (Some(k.clone()), Some(s.clone())),
        None => (None, None),
    };
    let key = settings.s3_access_key_id.clone().or(uri_key);
    let secret = settings.s3_secret_access_key.clone().or(uri_secret);
    match (key, secret) {
        (Some(key), Some(secret)) => {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
        }
        (Some(_), None) => {
            return Err(StateError::Backend(format!(
                "an AWS access key ID is configured but no secret access key; set {}",
                names.s3_secret_access_key
            )))
        }
        (None, Some(_)) => {
            return Err(StateError::Backend(format!(
                "an AWS secret access key is configured but no access key ID; set {}",
                names.s3_access_key_id
            )))
        }
        (None, None) => {}
    }
    if let Some(endpoint) = settings
        .s3_endpoint_url
        .as_deref()
        .filter(|e| !e.is_empty())
    {
        builder = builder.with_endpoint(endpoint);
    }
    let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
    if endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"))
    {
        builder = builder.with_allow_http(true);
    }
    if let Some(region) = settings.s3_region.as_deref().filter(|r| !r.is_empty()) {
        builder = builder.with_region(region);
    }
    let region_known = endpoint.is_some()
        || settings.s3_region.as_deref().is_some_and(|r| !r.is_empty())
        || std::env::var("AWS_REGION").is_ok_and(|r| !r.is_empty())
        || std::env::var("AWS_DEFAULT_REGION").is_ok_and(|r| !r.is_empty());
    Ok((builder, region_known))
}

fn build_s3(
    builder: AmazonS3Builder,
    bucket_url: &str,
    names: &SettingNames,
) -> Result<Arc<dyn ObjectStore>, StateError> {
    builder
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| config_error(bucket_url, Cloud::S3, e, names))
}

/// GCS: `state_backend.gcs.application_credentials`, else `GOOGLE_APPLICATION_CREDENTIALS`,
/// else Google's default chain (gcloud's application-default file, instance metadata). A
/// `service_account` key file is used as such — which also honours object_store's
/// `gcs_base_url` / `disable_oauth` keys for emulators; other files (`authorized_user`) go
/// through application-default handling.
fn gcs(
    location: &Location,
    settings: &ObjectStoreSettings,
    names: &SettingNames,
) -> Result<Arc<dyn ObjectStore>, StateError> {
    let bucket_url = location.bucket_url();
    let mut builder = GoogleCloudStorageBuilder::new()
        .with_bucket_name(&location.bucket)
        .with_client_options(client_options(settings))
        .with_retry(retry_config(settings));
    let path = settings
        .gcs_application_credentials
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| std::env::var(GOOGLE_APPLICATION_CREDENTIALS).ok())
        .filter(|p| !p.is_empty());
    if let Some(path) = path {
        let unreadable = |reason: String| {
            StateError::Backend(format!(
                "could not use the Google credentials file {path} ({} or \
                 GOOGLE_APPLICATION_CREDENTIALS): {reason}",
                names.gcs_application_credentials
            ))
        };
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
        let doc: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| unreadable(format!("not valid JSON ({e})")))?;
        let kind = doc.get("type").and_then(serde_json::Value::as_str);
        builder = match kind {
            Some("service_account") => builder.with_service_account_path(&path),
            Some(_) => builder.with_application_credentials(&path),
            None => {
                return Err(unreadable(
                    "it has no \"type\"; expected a service account key or an \
                     application-default credentials file"
                        .to_string(),
                ))
            }
        };
        let base_url = doc.get("gcs_base_url").and_then(serde_json::Value::as_str);
        if base_url.is_some_and(|u| u.starts_with("http://")) {
            builder = builder.with_client_options(client_options(settings).with_allow_http(true));
        }
    }
    builder
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| config_error(&bucket_url, Cloud::Gcs, e, names))
}

/// Azure: `state_backend.azure.connection_string`, else `AZURE_STORAGE_CONNECTION_STRING`
/// (both parsed here: account, key or SAS, blob endpoint — so Azurite works), else the
/// `AZURE_*` environment object_store understands (account name plus key, service principal,
/// managed identity, ...).
fn azure(
    location: &Location,
    settings: &ObjectStoreSettings,
    names: &SettingNames,
) -> Result<Arc<dyn ObjectStore>, StateError> {
    let bucket_url = location.bucket_url();
    let connection = settings
        .azure_connection_string
        .clone()
        .filter(|c| !c.is_empty())
        .or_else(|| std::env::var(AZURE_STORAGE_CONNECTION_STRING).ok())
        .filter(|c| !c.is_empty());
    let builder = match connection {
        Some(text) => {
            let conn = parse_connection_string_named(&text, names.azure_connection_string)?;
            let allow_http = conn.blob_endpoint.starts_with("http://");
            let builder = MicrosoftAzureBuilder::new()
                .with_client_options(client_options(settings))
                .with_retry(retry_config(settings))
                .with_container_name(&location.bucket)
                .with_account(&conn.account)
                .with_endpoint(conn.blob_endpoint)
                .with_allow_http(allow_http);
            match conn.credential {
                AzureSecret::AccountKey(key) => builder.with_access_key(key),
                AzureSecret::SharedAccessSignature(sas) => {
                    builder.with_config(AzureConfigKey::SasKey, sas)
                }
            }
        }
        None => MicrosoftAzureBuilder::from_env()
            .with_client_options(client_options(settings))
            .with_retry(retry_config(settings))
            .with_container_name(&location.bucket),
    };
    builder
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| config_error(&bucket_url, Cloud::Azure, e, names))
}

fn config_error(
    bucket_url: &str,
    cloud: Cloud,
    e: object_store::Error,
    names: &SettingNames,
) -> StateError {
    StateError::Backend(format!(
        "could not configure the object store {bucket_url}: {e}; {}",
        cloud.credentials_hint(names)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uri::parse_uri;

    fn location(uri: &str) -> Location {
        match parse_uri(uri) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        }
    }

    fn settings() -> ObjectStoreSettings {
        ObjectStoreSettings::default()
    }

    #[test]
    fn s3_settings_win_over_uri_credentials() {
        let s = ObjectStoreSettings {
            s3_access_key_id: Some("FROM-SETTINGS".into()),
            s3_secret_access_key: Some("settings-secret".into()),
            s3_endpoint_url: Some("http://127.0.0.1:9".into()),
            ..settings()
        };
        let (b, region_known) = match s3_builder(
            &location("s3://k:s@bucket/p"),
            &s,
            &SettingNames::STATE_BACKEND,
        ) {
            Ok(x) => x,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::AccessKeyId)
                .as_deref(),
            Some("FROM-SETTINGS")
        );
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::Bucket).as_deref(),
            Some("bucket")
        );
        assert!(region_known, "a custom endpoint needs no region lookup");
    }

    #[test]
    fn s3_uri_credentials_are_used() {
        let s = ObjectStoreSettings {
            s3_endpoint_url: Some("https://minio.example".into()),
            s3_region: Some("eu-west-3".into()),
            ..settings()
        };
        let (b, _) = match s3_builder(
            &location("s3://AKID:sec@bucket"),
            &s,
            &SettingNames::STATE_BACKEND,
        ) {
            Ok(x) => x,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::AccessKeyId)
                .as_deref(),
            Some("AKID")
        );
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::Region).as_deref(),
            Some("eu-west-3")
        );
    }

    #[test]
    fn s3_half_credentials_are_refused() {
        let s = ObjectStoreSettings {
            s3_access_key_id: Some("AKID".into()),
            ..settings()
        };
        let err = s3_builder(&location("s3://bucket"), &s, &SettingNames::STATE_BACKEND)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("aws_secret_access_key"), "{err}");
        let s = ObjectStoreSettings {
            s3_secret_access_key: Some("secret".into()),
            ..settings()
        };
        let err = s3_builder(&location("s3://bucket"), &s, &SettingNames::STATE_BACKEND)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("aws_access_key_id") && !err.contains("secret\""),
            "{err}"
        );
    }

    #[test]
    fn gcs_missing_credentials_file_is_named() {
        let s = ObjectStoreSettings {
            gcs_application_credentials: Some("/nonexistent/smelt-creds.json".into()),
            ..settings()
        };
        let err = gcs(&location("gs://bucket/p"), &s, &SettingNames::STATE_BACKEND)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/nonexistent/smelt-creds.json"), "{err}");
        assert!(err.contains("application_credentials"), "{err}");
    }

    #[test]
    fn gcs_credentials_without_type_are_refused() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("creds.json");
        assert!(std::fs::write(&path, "{\"client_email\": \"x\"}").is_ok());
        let s = ObjectStoreSettings {
            gcs_application_credentials: Some(path.display().to_string()),
            ..settings()
        };
        let err = gcs(&location("gs://bucket"), &s, &SettingNames::STATE_BACKEND)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("no \"type\""), "{err}");
    }

    #[test]
    fn gcs_service_account_file_builds_a_client() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("sa.json");
        let doc = r#"{"type": "service_account", "private_key_id": "k", "private_key": "k",
            "client_email": "a@b", "disable_oauth": true, "gcs_base_url": "http://127.0.0.1:9"}"#;
        assert!(std::fs::write(&path, doc).is_ok());
        let s = ObjectStoreSettings {
            gcs_application_credentials: Some(path.display().to_string()),
            ..settings()
        };
        let store = gcs(&location("gs://bucket/p"), &s, &SettingNames::STATE_BACKEND);
        assert!(store.is_ok(), "{:?}", store.err());
    }

    #[test]
    fn azure_connection_string_builds_a_client_and_errors_hide_it() {
        let s = ObjectStoreSettings {
            azure_connection_string: Some(
                "AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1"
                    .into(),
            ),
            ..settings()
        };
        assert!(azure(
            &location("azure://container/p"),
            &s,
            &SettingNames::STATE_BACKEND
        )
        .is_ok());
        let s = ObjectStoreSettings {
            azure_connection_string: Some("AccountKey=hidden-key".into()),
            ..settings()
        };
        let err = azure(
            &location("azure://container"),
            &s,
            &SettingNames::STATE_BACKEND,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("AccountName") && !err.contains("hidden-key"),
            "{err}"
        );
    }
}
