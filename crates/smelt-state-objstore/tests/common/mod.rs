//! The three clouds under test, each on its local emulator: how to build backends on a fresh
//! bucket, and raw access to that bucket through an independent client.
#![allow(dead_code)] // each test binary uses a different part

use std::path::PathBuf;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use smelt_state::StateBackend;
use smelt_state_objstore::{from_uri, ObjectStoreBackend, ObjectStoreSettings};
use smelt_testsupport::{Azurite, FakeGcs, Moto};

use crate::suite::{LockSettings, RawStore};

/// The key prefix every test backend uses, as a Meltano project would (`s3://bucket/<prefix>`).
pub const PREFIX: &str = "meltano/state";

/// Fail the test with the harness's message (never skip).
pub fn started<T>(what: &str, r: Result<T, smelt_testsupport::HarnessError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

fn backend(uri: &str, settings: ObjectStoreSettings, lock: LockSettings) -> ObjectStoreBackend {
    let settings = ObjectStoreSettings {
        lock_timeout: lock.timeout,
        lock_retry: lock.retry,
        ..settings
    };
    let backend = match from_uri(uri, &settings) {
        Ok(b) => b,
        Err(e) => panic!("from_uri({uri}): {e}"),
    };
    match lock.max_wait {
        Some(max_wait) => backend.with_max_lock_wait(max_wait),
        None => backend,
    }
}

/// S3 on moto, with one bucket.
pub struct S3 {
    pub moto: Moto,
    pub bucket: String,
}

impl S3 {
    pub fn start(bucket: &str) -> S3 {
        let moto = started("starting moto (S3)", Moto::start());
        started("creating the S3 bucket", moto.create_bucket(bucket));
        S3 {
            moto,
            bucket: bucket.to_string(),
        }
    }

    pub fn uri(&self) -> String {
        format!("s3://{}/{PREFIX}", self.bucket)
    }

    pub fn settings(&self) -> ObjectStoreSettings {
        s3_settings(self.moto.endpoint())
    }

    pub fn backend(&self, lock: LockSettings) -> Box<dyn StateBackend> {
        Box::new(backend(&self.uri(), self.settings(), lock))
    }

    pub fn raw(&self) -> ObjectRaw {
        let store = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_endpoint(self.moto.endpoint())
            .with_allow_http(true)
            .with_region(Moto::REGION)
            .with_access_key_id(Moto::ACCESS_KEY_ID)
            .with_secret_access_key(Moto::SECRET_ACCESS_KEY)
            .build();
        ObjectRaw::new(store.map(|s| Arc::new(s) as Arc<dyn ObjectStore>))
    }
}

/// Settings pointing an S3 backend at moto.
pub fn s3_settings(endpoint: &str) -> ObjectStoreSettings {
    ObjectStoreSettings {
        s3_access_key_id: Some(Moto::ACCESS_KEY_ID.to_string()),
        s3_secret_access_key: Some(Moto::SECRET_ACCESS_KEY.to_string()),
        s3_endpoint_url: Some(endpoint.to_string()),
        s3_region: Some(Moto::REGION.to_string()),
        ..ObjectStoreSettings::default()
    }
}

/// Azure Blob Storage on Azurite, with one container.
pub struct Azure {
    pub azurite: Azurite,
    pub container: String,
}

impl Azure {
    pub fn start(container: &str) -> Azure {
        let azurite = started("starting Azurite", Azurite::start());
        started(
            "creating the container",
            azurite.create_container(container),
        );
        Azure {
            azurite,
            container: container.to_string(),
        }
    }

    pub fn uri(&self) -> String {
        format!("azure://{}/{PREFIX}", self.container)
    }

    pub fn settings(&self) -> ObjectStoreSettings {
        ObjectStoreSettings {
            azure_connection_string: Some(self.azurite.connection_string()),
            ..ObjectStoreSettings::default()
        }
    }

    pub fn backend(&self, lock: LockSettings) -> Box<dyn StateBackend> {
        Box::new(backend(&self.uri(), self.settings(), lock))
    }

    pub fn raw(&self) -> ObjectRaw {
        let store = MicrosoftAzureBuilder::new()
            .with_account(Azurite::ACCOUNT_NAME)
            .with_access_key(Azurite::ACCOUNT_KEY)
            .with_container_name(&self.container)
            .with_endpoint(self.azurite.blob_endpoint().to_string())
            .with_allow_http(true)
            .build();
        ObjectRaw::new(store.map(|s| Arc::new(s) as Arc<dyn ObjectStore>))
    }
}

/// Google Cloud Storage on fake-gcs-server, with one bucket and a credentials file pointing
/// at it.
pub struct Gcs {
    pub gcs: FakeGcs,
    pub bucket: String,
    pub credentials: PathBuf,
    _dir: tempfile::TempDir,
}

impl Gcs {
    pub fn start(bucket: &str) -> Gcs {
        let gcs = started("starting fake-gcs-server", FakeGcs::start());
        started("creating the GCS bucket", gcs.create_bucket(bucket));
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let credentials = dir.path().join("service-account.json");
        started(
            "writing GCS credentials",
            gcs.write_credentials_file(&credentials),
        );
        Gcs {
            gcs,
            bucket: bucket.to_string(),
            credentials,
            _dir: dir,
        }
    }

    pub fn uri(&self) -> String {
        format!("gs://{}/{PREFIX}", self.bucket)
    }

    pub fn settings(&self) -> ObjectStoreSettings {
        ObjectStoreSettings {
            gcs_application_credentials: Some(self.credentials.display().to_string()),
            ..ObjectStoreSettings::default()
        }
    }

    pub fn backend(&self, lock: LockSettings) -> Box<dyn StateBackend> {
        Box::new(backend(&self.uri(), self.settings(), lock))
    }
}

impl RawStore for Gcs {
    fn put(&self, rel: &str, bytes: &[u8]) {
        started(
            "uploading through the GCS JSON API",
            self.gcs
                .upload(&self.bucket, &format!("{PREFIX}/{rel}"), bytes),
        );
    }

    fn get(&self, rel: &str) -> Option<Vec<u8>> {
        started(
            "downloading through the GCS JSON API",
            self.gcs.download(&self.bucket, &format!("{PREFIX}/{rel}")),
        )
    }
}

/// Raw access to a bucket through its own object_store client and runtime (not the
/// backend's), so layout checks do not trust the code under test.
pub struct ObjectRaw {
    store: Arc<dyn ObjectStore>,
    runtime: tokio::runtime::Runtime,
}

impl ObjectRaw {
    fn new(store: object_store::Result<Arc<dyn ObjectStore>>) -> ObjectRaw {
        let store = match store {
            Ok(s) => s,
            Err(e) => panic!("raw client: {e}"),
        };
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("runtime: {e}"),
        };
        ObjectRaw { store, runtime }
    }

    fn path(rel: &str) -> Path {
        match Path::parse(format!("{PREFIX}/{rel}")) {
            Ok(p) => p,
            Err(e) => panic!("bad path {rel}: {e}"),
        }
    }

    /// Put with a given mode, reporting whether the store accepted it.
    pub fn put_mode(
        &self,
        rel: &str,
        bytes: &[u8],
        mode: object_store::PutMode,
    ) -> object_store::Result<object_store::PutResult> {
        let path = Self::path(rel);
        let opts = object_store::PutOptions {
            mode,
            ..Default::default()
        };
        self.runtime.block_on(
            self.store
                .put_opts(&path, PutPayload::from(bytes.to_vec()), opts),
        )
    }
}

impl RawStore for ObjectRaw {
    fn put(&self, rel: &str, bytes: &[u8]) {
        let path = Self::path(rel);
        let result = self
            .runtime
            .block_on(self.store.put(&path, PutPayload::from(bytes.to_vec())));
        if let Err(e) = result {
            panic!("raw put {rel}: {e}");
        }
    }

    fn get(&self, rel: &str) -> Option<Vec<u8>> {
        let path = Self::path(rel);
        let result = self.runtime.block_on(async {
            let got = self.store.get(&path).await?;
            got.bytes().await
        });
        match result {
            Ok(bytes) => Some(bytes.to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("raw get {rel}: {e}"),
        }
    }
}
