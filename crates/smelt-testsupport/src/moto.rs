//! S3 emulator: `moto_server` from the PyPI package `moto[server]`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::process::{EmulatorProcess, Launch};
use crate::python::PythonEnv;
use crate::{default_cache_dir, HarnessError};

/// A running moto S3 server on 127.0.0.1; stopped when dropped.
///
/// Moto accepts any credentials; [`Moto::ACCESS_KEY_ID`] and [`Moto::SECRET_ACCESS_KEY`] are
/// the conventional test values. Requests use path-style URLs against [`Moto::endpoint`].
pub struct Moto {
    process: EmulatorProcess,
    endpoint: String,
}

impl Moto {
    /// Access key ID to sign requests with (moto does not check it).
    pub const ACCESS_KEY_ID: &'static str = "testing";
    /// Secret access key to sign requests with (moto does not check it).
    pub const SECRET_ACCESS_KEY: &'static str = "testing";
    /// Region to sign requests for.
    pub const REGION: &'static str = "us-east-1";

    /// Install moto if needed (into [`default_cache_dir`]) and start it on a free port.
    pub fn start() -> Result<Moto, HarnessError> {
        Self::start_in(&default_cache_dir())
    }

    /// Like [`Moto::start`], installing into `cache_dir`.
    pub fn start_in(cache_dir: &Path) -> Result<Moto, HarnessError> {
        let env = PythonEnv::ensure(cache_dir)?;
        let program = env.bin("moto_server");
        let manual = format!(
            "{}; then {} -H 127.0.0.1 -p 5000",
            env.manual(),
            program.display()
        );
        let command = |port: u16, _: &Path| {
            let mut c = Command::new(&program);
            c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            c
        };
        let process = EmulatorProcess::start(&Launch {
            name: "moto_server",
            manual: &manual,
            ready_timeout: Duration::from_secs(60),
            command: &command,
        })?;
        let endpoint = format!("http://127.0.0.1:{}", process.port());
        Ok(Moto { process, endpoint })
    }

    /// The S3 endpoint URL, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// Create a bucket (names must be valid S3 bucket names: 3-63 lowercase characters).
    pub fn create_bucket(&self, name: &str) -> Result<(), HarnessError> {
        let response = crate::http::request(self.port(), "PUT", &format!("/{name}"), &[], b"")?;
        if response.status == 200 {
            return Ok(());
        }
        Err(HarnessError::new(format!(
            "moto refused to create bucket {name:?} (HTTP {}): {}\n--- moto output ---\n{}",
            response.status,
            response.text(),
            self.process.log_tail()
        )))
    }
}
