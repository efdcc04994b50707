//! smelt-pg: the PostgreSQL client smelt shares between its system database and its native
//! PostgreSQL plugins.
//!
//! - [`PgClient`]: a synchronous connection in which every round trip (and every chunk of a
//!   `COPY … TO STDOUT` stream) has a deadline; see the `client` module.
//! - [`BinaryRows`]: rows of a binary `COPY … TO STDOUT`, read in bounded memory.
//! - [`parse_uri`], [`location`], [`is_transient`], [`describe`]: connecting with a URI or
//!   libpq-style parameters and saying what failed.
//! - `connection` (feature `settings`): the native plugins' connection settings.

mod binary;
mod client;
/// The native PostgreSQL plugins' connection settings (`host` … `sqlalchemy_url`, timeouts),
/// read one way for the tap and the target (feature `settings`).
#[cfg(feature = "settings")]
pub mod connection;
/// Loading: `COPY … FROM STDIN` (used by the native target-postgres).
pub mod copy_in;
/// Logical replication: slots, publications and pgoutput decoding (used by tap-postgres LOG_BASED).
pub mod replication;

use std::error::Error as _;
use std::time::Duration;

pub use binary::{BinaryCopyError, BinaryRows, ChunkSource};
pub use client::{Bounds, CopyOut, Parts, PgCalls, PgClient, PgError, PgTx};
/// The driver, for its types (`Config`, `Row`, `SqlState`, …).
pub use tokio_postgres;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::Config;

/// Idle time before TCP keepalive probes start (libpq's default is the system's, often 2 h):
/// a server host that vanished is noticed within about a minute even between statements.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
/// PostgreSQL's default port.
pub const DEFAULT_PORT: u16 = 5432;

/// Parse a `postgresql://` URI (or libpq `key=value` parameters) into a driver config with
/// smelt's defaults (keepalives after [`KEEPALIVE_IDLE`], `application_name` =
/// `application_name` unless given). Refuses a config naming no host and `sslmode=require`
/// (no TLS support yet). The error is a sentence without the password.
pub fn parse_uri(uri: &str, application_name: &str) -> Result<Config, String> {
    let mut config: Config = uri
        .parse()
        .map_err(|e: tokio_postgres::Error| describe(&e))?;
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        return Err("it names no host (write postgresql://user@host:port/db)".to_string());
    }
    if config.get_ssl_mode() == SslMode::Require {
        return Err(
            "sslmode=require needs TLS, which smelt's PostgreSQL connection does not support \
             yet (use sslmode=prefer or disable, on a trusted network)"
                .to_string(),
        );
    }
    if config.get_keepalives_idle() > KEEPALIVE_IDLE {
        config.keepalives_idle(KEEPALIVE_IDLE);
    }
    if config.get_application_name().is_none() {
        config.application_name(application_name);
    }
    Ok(config)
}

/// `postgresql://user@host:port[,host:port…]/db`, never with a password: where a config
/// connects, for messages.
pub fn location(config: &Config) -> String {
    let ports = config.get_ports();
    let port_of = |i: usize| {
        ports
            .get(i)
            .or_else(|| ports.first())
            .copied()
            .unwrap_or(DEFAULT_PORT)
    };
    let hosts: Vec<String> = if config.get_hosts().is_empty() {
        config
            .get_hostaddrs()
            .iter()
            .enumerate()
            .map(|(i, addr)| match addr {
                std::net::IpAddr::V6(v6) => format!("[{v6}]:{}", port_of(i)),
                std::net::IpAddr::V4(v4) => format!("{v4}:{}", port_of(i)),
            })
            .collect()
    } else {
        config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{}", port_of(i)),
                Host::Tcp(name) => format!("{name}:{}", port_of(i)),
                Host::Unix(dir) => format!("{}:{}", dir.display(), port_of(i)),
            })
            .collect()
    };
    let user = config.get_user().unwrap_or("");
    let db = config.get_dbname().unwrap_or(user);
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("postgresql://{user}{}/{db}", hosts.join(","))
}

/// `host:port[,host:port…]` of a [`location`].
pub fn hosts_of(location: &str) -> &str {
    let hosts = location
        .trim_start_matches("postgresql://")
        .rsplit_once('/')
        .map_or(location, |(authority, _)| authority);
    hosts.rsplit_once('@').map_or(hosts, |(_, h)| h)
}

/// Whether a failed connection attempt may succeed if repeated: the network or the server's
/// start-up, not a wrong password or a missing database.
pub fn is_transient(e: &PgError) -> bool {
    let e = match e {
        PgError::TimedOut { .. } => return true,
        PgError::Runtime(_) => return false,
        PgError::Driver(e) => e,
    };
    if let Some(code) = e.code() {
        return [
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
        ]
        .contains(code);
    }
    let mut source = e.source();
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Whether the server refused the credentials (wrong user or password, pg_hba.conf).
pub fn is_auth_failure(e: &PgError) -> bool {
    e.code().is_some_and(|code| {
        *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    })
}

/// Whether the database named in the config does not exist.
pub fn is_unknown_database(e: &PgError) -> bool {
    e.code() == Some(&SqlState::INVALID_CATALOG_NAME)
}

/// The driver's error with its causes, on one line: its `Display` alone says only "db error".
pub fn describe(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.replace('\n', "; ")
}

/// `name` as a double-quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a single-quoted SQL string literal (for `standard_conforming_strings = on`, the
/// default since PostgreSQL 9.1, where a backslash is an ordinary character). For statements
/// that take no parameters, such as `COPY`.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_names_user_hosts_and_database_but_no_password() {
        let config = parse_uri("postgresql://ann:s3cret@db.example:6543/warehouse", "smelt")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            location(&config),
            "postgresql://ann@db.example:6543/warehouse"
        );
        assert_eq!(hosts_of(&location(&config)), "db.example:6543");
        assert_eq!(config.get_application_name(), Some("smelt"));
        let config =
            parse_uri("host=h port=7 user=u dbname=d", "tap").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(location(&config), "postgresql://u@h:7/d");
        assert_eq!(config.get_application_name(), Some("tap"));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's \\"), "'it''s \\'");
    }
}
