//! The shared state-backend suite against each cloud's local emulator: S3 on moto, Azure Blob
//! on Azurite, GCS on fake-gcs-server (read side only — see `gcs_on_fake_gcs_server`).

mod common;
mod suite;

use std::time::Duration;

use object_store::{PutMode, UpdateVersion};
use serde_json::json;
use smelt_state::{JobState, StateBackend, StateError};

use common::{Azure, Gcs, ObjectRaw, S3};
use suite::{LockSettings, RawStore, Target};

#[test]
fn s3_on_moto_passes_the_backend_suite() {
    let s3 = S3::start("smelt-state-suite");
    let raw = s3.raw();
    let make = |lock| s3.backend(lock);
    assert_eq!(
        s3.backend(LockSettings::fast()).name(),
        "s3://smelt-state-suite/meltano/state"
    );
    suite::run_full(&Target {
        make: &make,
        raw: &raw,
    });
    let uri = "s3://no-such-bucket/meltano/state";
    missing_bucket_is_an_error(uri, s3.settings());
}

#[test]
fn azure_on_azurite_passes_the_backend_suite() {
    let azure = Azure::start("smelt-state-suite");
    let raw = azure.raw();
    let make = |lock| azure.backend(lock);
    let name = azure.backend(LockSettings::fast()).name();
    assert_eq!(name, "azure://smelt-state-suite/meltano/state");
    assert!(!name.contains(smelt_testsupport::Azurite::ACCOUNT_KEY));
    suite::run_full(&Target {
        make: &make,
        raw: &raw,
    });
    missing_bucket_is_an_error("azure://no-such-container/state", azure.settings());
}

/// A bucket that does not exist is an error naming it, never "no state".
fn missing_bucket_is_an_error(uri: &str, settings: smelt_state_objstore::ObjectStoreSettings) {
    let backend = match smelt_state_objstore::from_uri(uri, &settings) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    let bucket = uri.split('/').take(3).collect::<Vec<_>>().join("/");
    let get = backend.get("dev:a-to-b").err().map(|e| e.to_string());
    assert!(
        get.as_deref()
            .is_some_and(|e| e.contains(&format!("{bucket} does not exist"))),
        "{get:?}"
    );
    let list = backend.list(None).err().map(|e| e.to_string());
    assert!(
        list.as_deref().is_some_and(|e| e.contains(&bucket)),
        "{list:?}"
    );
    let set = backend
        .set("dev:a-to-b", &JobState::new())
        .err()
        .map(|e| e.to_string());
    assert!(
        set.as_deref().is_some_and(|e| e.contains(&bucket)),
        "{set:?}"
    );
}

/// fake-gcs-server serves the XML API's object GET, DELETE and listing that object_store's
/// GCS client uses, but answers the XML API's plain object PUT with `400 invalid uploadType`
/// (it only accepts uploads through the JSON API). So against it we run the read side of the
/// suite with states put in place through the JSON API, and check that a write fails with a
/// clear error naming the object. Writes, locks, conditional writes and concurrency on GCS
/// are exercised only by the S3 and Azure runs of the same code paths.
#[test]
fn gcs_on_fake_gcs_server() {
    let gcs = Gcs::start("smelt-state-suite");
    let make = |lock| gcs.backend(lock);
    assert_eq!(
        gcs.backend(LockSettings::fast()).name(),
        "gs://smelt-state-suite/meltano/state"
    );
    suite::run_read_only(&Target {
        make: &make,
        raw: &gcs,
    });

    let backend = gcs.backend(LockSettings::fast());
    let id = "dev:tap-gcs-write-to-target";
    match backend.set(id, &JobState::from_singer_state(json!({"a": 1}))) {
        Err(StateError::Backend(message)) => {
            assert!(
                message.contains(&format!("gs://smelt-state-suite/meltano/state/{id}/lock")),
                "{message}"
            );
            assert!(message.contains("invalid uploadType"), "{message}");
        }
        other => panic!(
            "fake-gcs-server now accepts object_store's XML PUT ({other:?}): switch this test \
             to suite::run_full"
        ),
    }
    assert_eq!(gcs.get(&format!("{id}/lock")), None);
    assert_eq!(gcs.get(&format!("{id}/state.json")), None);
}

/// What each emulator enforces, observed with an independent client: a second create of the
/// same key fails, and an update against a stale version fails. If an emulator stopped
/// enforcing these, the suite's lock tests would no longer prove anything.
#[test]
fn emulators_enforce_conditional_writes() {
    fn check(store: &str, raw: &ObjectRaw) {
        let rel = "probe/conditional";
        let first = raw.put_mode(rel, b"1", PutMode::Create);
        let first = match first {
            Ok(r) => r,
            Err(e) => panic!("{store}: create: {e}"),
        };
        match raw.put_mode(rel, b"2", PutMode::Create) {
            Err(object_store::Error::AlreadyExists { .. }) => {}
            other => panic!("{store}: second create must fail with AlreadyExists: {other:?}"),
        }
        let v1 = UpdateVersion {
            e_tag: first.e_tag.clone(),
            version: first.version.clone(),
        };
        if let Err(e) = raw.put_mode(rel, b"3", PutMode::Update(v1.clone())) {
            panic!("{store}: update with the current version: {e}");
        }
        match raw.put_mode(rel, b"4", PutMode::Update(v1)) {
            Err(object_store::Error::Precondition { .. }) => {}
            other => panic!("{store}: update with a stale version must fail: {other:?}"),
        }
        assert_eq!(raw.get(rel).as_deref(), Some(&b"3"[..]), "{store}");
    }
    let s3 = S3::start("smelt-conditional");
    check("moto", &s3.raw());
    let azure = Azure::start("smelt-conditional");
    check("azurite", &azure.raw());
}

/// A backend whose store is unreachable fails with an error naming the object, promptly.
#[test]
fn unreachable_store_is_reported() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0");
        match listener.and_then(|l| l.local_addr()) {
            Ok(addr) => addr.port(),
            Err(e) => panic!("{e}"),
        }
    };
    let settings = smelt_state_objstore::ObjectStoreSettings {
        lock_timeout: Duration::from_secs(1),
        ..common::s3_settings(&format!("http://127.0.0.1:{port}"))
    };
    let backend = match smelt_state_objstore::from_uri("s3://nowhere/p", &settings) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    let err = backend
        .get("dev:a-to-b")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("s3://nowhere/p/dev:a-to-b/state.json"),
        "{err}"
    );
}

/// A store that accepts connections but never answers (S3 and Azure endpoints behind a frozen
/// proxy) fails each operation within `state_backend.timeout_seconds`, naming the bucket and
/// the setting; a claim (the lock protocol) is bounded the same way.
#[test]
fn a_store_that_never_answers_fails_within_the_timeout() {
    let proxy = match smelt_testsupport::FrozenProxy::silent() {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let endpoint = format!("http://127.0.0.1:{}", proxy.port());
    let s3 = smelt_state_objstore::ObjectStoreSettings {
        timeout: Some(Duration::from_secs(1)),
        ..common::s3_settings(&endpoint)
    };
    let azure = smelt_state_objstore::ObjectStoreSettings {
        timeout: Some(Duration::from_secs(1)),
        azure_connection_string: Some(format!(
            "AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint={endpoint}/devstoreaccount1"
        )),
        ..smelt_state_objstore::ObjectStoreSettings::default()
    };
    for (uri, settings) in [("s3://frozen/p", s3), ("azure://frozen/p", azure)] {
        let backend = match smelt_state_objstore::from_uri(uri, &settings) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let started = std::time::Instant::now();
        let err = backend
            .get("dev:a-to-b")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{uri}: {took:?}");
        for needle in [
            "did not answer within 1.0s",
            "state_backend.timeout_seconds",
        ] {
            assert!(err.contains(needle), "{uri}: {needle} missing: {err}");
        }
        let started = std::time::Instant::now();
        let claimed = backend.update("dev:a-to-b", &mut |_| Ok(JobState::new()));
        assert!(claimed.is_err(), "{uri}");
        assert!(started.elapsed() < Duration::from_secs(3), "{uri}");
    }
    assert!(proxy.accepted() >= 2);
}

/// `StoreHandle`, the opening code shared with target-parquet: a small upload is one
/// conditional PUT that never overwrites, a large one a multipart upload of several parts, and
/// both read back byte for byte; messages name the caller's settings.
#[test]
fn store_handle_uploads_whole_objects() {
    use smelt_state_objstore::{SettingNames, StoreHandle};
    const NAMES: SettingNames = SettingNames {
        uri: "destination_path",
        s3_access_key_id: "aws_access_key_id",
        s3_secret_access_key: "aws_secret_access_key",
        s3_endpoint_url: "aws_endpoint_url",
        gcs_application_credentials: "google_application_credentials",
        azure_connection_string: "azure_connection_string",
        timeout: "object_store_timeout_seconds",
    };
    fn check(
        store: &str,
        uri: &str,
        settings: &smelt_state_objstore::ObjectStoreSettings,
        raw: &ObjectRaw,
    ) {
        let handle = match StoreHandle::open(uri, settings, &NAMES) {
            Ok(h) => h,
            Err(e) => panic!("{store}: {e}"),
        };
        let small = handle
            .key("lake/small.bin")
            .unwrap_or_else(|e| panic!("{e}"));
        let written = handle.upload_new(&small, &mut &b"tiny"[..], 5 << 20);
        assert_eq!(written.ok(), Some(4), "{store}");
        let again = handle
            .upload_new(&small, &mut &b"other"[..], 5 << 20)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(again.contains("already exists"), "{store}: {again}");
        assert_eq!(
            raw.get("lake/small.bin").as_deref(),
            Some(&b"tiny"[..]),
            "{store}"
        );

        // 11 MiB in 5 MiB parts: three parts, the last short.
        let big: Vec<u8> = (0..11u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let key = handle.key("lake/big.bin").unwrap_or_else(|e| panic!("{e}"));
        let written = handle.upload_new(&key, &mut big.as_slice(), 5 << 20);
        assert_eq!(written.ok(), Some(big.len() as u64), "{store}");
        assert!(
            raw.get("lake/big.bin").as_deref() == Some(big.as_slice()),
            "{store}: content differs"
        );
        let listed = handle.list("lake").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(listed.len(), 2, "{store}: {listed:?}");
    }
    let s3 = S3::start("smelt-handle");
    check("moto", &s3.uri(), &s3.settings(), &s3.raw());
    let azure = Azure::start("smelt-handle");
    check("azurite", &azure.uri(), &azure.settings(), &azure.raw());

    let half = smelt_state_objstore::ObjectStoreSettings {
        s3_secret_access_key: None,
        ..s3.settings()
    };
    let err = StoreHandle::open("s3://b/p", &half, &NAMES)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("set aws_secret_access_key"), "{err}");
    let err = StoreHandle::open("ftp://b/p", &half, &NAMES)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("invalid destination_path ftp://b/p"), "{err}");
}
