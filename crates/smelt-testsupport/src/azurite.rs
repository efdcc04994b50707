//! Azure Blob Storage emulator: `azurite-blob` from the npm package `azurite`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::node::NodeEnv;
use crate::process::{EmulatorProcess, Launch};
use crate::python::run;
use crate::{default_cache_dir, HarnessError};

/// A running Azurite blob service on 127.0.0.1 with its data in a temporary directory;
/// stopped when dropped.
pub struct Azurite {
    process: EmulatorProcess,
    node: NodeEnv,
    blob_endpoint: String,
}

impl Azurite {
    /// Azurite's well-known development account.
    pub const ACCOUNT_NAME: &'static str = "devstoreaccount1";
    /// Azurite's well-known development account key (public, documented by Microsoft).
    pub const ACCOUNT_KEY: &'static str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// Install Azurite if needed (into [`default_cache_dir`]) and start it on a free port.
    pub fn start() -> Result<Azurite, HarnessError> {
        Self::start_in(&default_cache_dir())
    }

    /// Like [`Azurite::start`], installing into `cache_dir`.
    pub fn start_in(cache_dir: &Path) -> Result<Azurite, HarnessError> {
        let node = NodeEnv::ensure(cache_dir)?;
        let program = node.bin("azurite-blob");
        let manual = format!(
            "{}; then {} --blobHost 127.0.0.1 --blobPort 10000 --location /tmp/azurite \
             --skipApiVersionCheck --loose",
            node.manual(),
            program.display()
        );
        let command = |port: u16, data: &Path| {
            let mut c = Command::new(&program);
            c.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
                .arg("--location")
                .arg(data)
                .args(["--skipApiVersionCheck", "--loose", "--silent"]);
            c
        };
        let process = EmulatorProcess::start(&Launch {
            name: "azurite-blob",
            manual: &manual,
            ready_timeout: Duration::from_secs(60),
            command: &command,
        })?;
        let blob_endpoint = format!("http://127.0.0.1:{}/{}", process.port(), Self::ACCOUNT_NAME);
        Ok(Azurite {
            process,
            node,
            blob_endpoint,
        })
    }

    /// The blob service URL including the account, e.g.
    /// `http://127.0.0.1:41234/devstoreaccount1`.
    pub fn blob_endpoint(&self) -> &str {
        &self.blob_endpoint
    }

    /// The port Azurite's blob service listens on.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// A connection string for this instance, as `AZURE_STORAGE_CONNECTION_STRING` holds it.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={};AccountKey={};BlobEndpoint={};",
            Self::ACCOUNT_NAME,
            Self::ACCOUNT_KEY,
            self.blob_endpoint
        )
    }

    /// Create a blob container (3-63 lowercase letters, digits and dashes).
    pub fn create_container(&self, name: &str) -> Result<(), HarnessError> {
        let mut node = Command::new("node");
        node.arg(self.node.script())
            .arg(self.connection_string())
            .arg(name);
        run(
            &mut node,
            &format!("creating container {name:?} in Azurite"),
            &self.node.manual(),
        )
    }
}
