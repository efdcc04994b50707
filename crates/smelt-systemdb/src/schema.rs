//! What both engines' schemas share: the version number and the outcome of migrating.
//!
//! Each engine keeps its own list of migrations (`sqlite/schema.rs`, `pg/schema.rs`) in its
//! own SQL dialect, but migration `n` means the same change in both, so one version number
//! describes either database.

/// The newest schema version this build knows (both engines).
pub const SCHEMA_VERSION: i64 = 3;

/// Outcome of an engine's migration step.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Migrated {
    /// The schema is at [`SCHEMA_VERSION`] (possibly after applying migrations).
    UpToDate,
    /// The database is at a version newer than this build knows.
    TooNew(i64),
}
