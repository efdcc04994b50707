//! The deadline client lives in `smelt-pg`; this module names the settings that bound it here.

pub(crate) use smelt_pg::{Bounds, PgCalls, PgClient, PgError, PgTx};

/// Which setting bounds each round trip, for messages.
pub(crate) const STATEMENT_SETTING: &str = "database_statement_timeout_seconds";
/// Which setting bounds connecting, for messages.
pub(crate) const CONNECT_SETTING: &str =
    "database_connect_timeout_seconds, or connect_timeout= in database_uri";
