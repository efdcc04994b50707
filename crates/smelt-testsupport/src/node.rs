//! The private npm prefix holding Azurite and the Azure SDK (used only to create containers,
//! which needs a signed request), installed with `npm install --prefix` on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::{marker_matches, write_marker, InstallLock};
use crate::python::run;
use crate::HarnessError;

/// Pinned so every machine tests against the same emulator behaviour.
pub(crate) const NPM_PACKAGES: &[&str] = &["azurite@3.37.0", "@azure/storage-blob@12.34.0"];

/// Creates a blob container: `node create-container.js <connection string> <name>`.
const CREATE_CONTAINER_JS: &str = r#"// Written by smelt-testsupport: creates one blob container in Azurite.
const { BlobServiceClient } = require("@azure/storage-blob");
const [connectionString, name] = process.argv.slice(2);
BlobServiceClient.fromConnectionString(connectionString)
  .getContainerClient(name)
  .createIfNotExists()
  .then(() => process.exit(0))
  .catch((err) => { console.error(String(err && err.stack || err)); process.exit(1); });
"#;

/// An npm prefix with [`NPM_PACKAGES`] installed.
pub(crate) struct NodeEnv {
    root: PathBuf,
}

impl NodeEnv {
    /// The npm prefix under `cache_dir`, installing it first if needed.
    pub(crate) fn ensure(cache_dir: &Path) -> Result<NodeEnv, HarnessError> {
        let env = NodeEnv {
            root: cache_dir.join("node"),
        };
        let marker = env.root.join(".smelt-packages");
        let wanted = NPM_PACKAGES.join("\n");
        if marker_matches(&marker, &wanted) && env.script().exists() {
            return Ok(env);
        }
        let _lock = InstallLock::acquire(cache_dir, "node")?;
        if !marker_matches(&marker, &wanted) {
            let mut npm = Command::new("npm");
            npm.arg("install")
                .arg("--prefix")
                .arg(&env.root)
                .args(["--no-audit", "--no-fund", "--loglevel=error"])
                .args(NPM_PACKAGES);
            run(&mut npm, "npm install", &env.manual())?;
        }
        std::fs::write(env.script(), CREATE_CONTAINER_JS).map_err(|e| {
            HarnessError::new(format!("could not write {}: {e}", env.script().display()))
        })?;
        write_marker(&marker, &wanted)?;
        Ok(env)
    }

    /// A program from `node_modules/.bin`.
    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        self.root.join("node_modules").join(".bin").join(name)
    }

    /// The container-creation helper script.
    pub(crate) fn script(&self) -> PathBuf {
        self.root.join("create-container.js")
    }

    /// How to do the install by hand.
    pub(crate) fn manual(&self) -> String {
        format!(
            "npm install --prefix {} {}",
            self.root.display(),
            NPM_PACKAGES.join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_manual() {
        let env = NodeEnv {
            root: PathBuf::from("/c/node"),
        };
        assert_eq!(
            env.bin("azurite-blob"),
            PathBuf::from("/c/node/node_modules/.bin/azurite-blob")
        );
        let manual = env.manual();
        assert!(
            manual.starts_with("npm install --prefix /c/node"),
            "{manual}"
        );
        assert!(NPM_PACKAGES.iter().all(|p| manual.contains(p)), "{manual}");
    }
}
