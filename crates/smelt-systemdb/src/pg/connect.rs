//! Reaching the PostgreSQL server: parsing the URI, retrying while the server is not (yet)
//! reachable, and saying what to check when we give up.

use std::error::Error as _;
use std::thread;
use std::time::{Duration, Instant};

use postgres::config::{Host, SslMode};
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};

use crate::uri::redact;
use crate::{DbError, BUSY_TIMEOUT};

/// How long we keep retrying a server that refuses connections (e.g. still starting).
pub(crate) const CONNECT_PATIENCE: Duration = Duration::from_secs(5);
/// The first pause between attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Per-attempt TCP connect timeout unless the URI sets `connect_timeout`.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// PostgreSQL's default port.
const DEFAULT_PORT: u16 = 5432;

/// Parse a `postgresql://` URI into a driver config and the password-free location used in
/// every message (`postgresql://user@host:port/db`).
pub(crate) fn parse(uri: &str) -> Result<(Config, String), DbError> {
    let invalid = |reason: String| DbError::UnsupportedUri {
        uri: redact(uri),
        reason,
    };
    let mut config: Config = uri
        .parse()
        .map_err(|e: postgres::Error| invalid(describe(&e)))?;
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        return Err(invalid(
            "it names no host (write postgresql://user@host:port/db)".to_string(),
        ));
    }
    if config.get_ssl_mode() == SslMode::Require {
        return Err(invalid(
            "sslmode=require needs TLS, which smelt's PostgreSQL connection does not support \
             yet (use sslmode=prefer or disable, on a trusted network)"
                .to_string(),
        ));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(ATTEMPT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("smelt");
    }
    let target = target(&config);
    Ok((config, target))
}

/// `postgresql://user@host:port[,host:port…]/db`, never with a password.
fn target(config: &Config) -> String {
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

/// Connect, retrying transient failures with exponential backoff for [`CONNECT_PATIENCE`],
/// then prepare the session: `lock_timeout` = [`BUSY_TIMEOUT`], so a stuck writer turns into
/// a clear error instead of a hang.
pub(crate) fn connect(config: &Config, target: &str) -> Result<Client, DbError> {
    let started = Instant::now();
    let mut attempts = 0;
    let mut backoff = FIRST_BACKOFF;
    let mut client = loop {
        attempts += 1;
        match config.connect(NoTls) {
            Ok(client) => break client,
            Err(e) => {
                let waited = started.elapsed();
                if !is_transient(&e) || waited + backoff > CONNECT_PATIENCE {
                    return Err(DbError::Connect {
                        target: target.to_string(),
                        attempts,
                        waited,
                        reason: describe(&e),
                        hint: hint(&e, config, target),
                    });
                }
                thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    };
    client
        .batch_execute(&format!(
            "SET lock_timeout = '{}ms'",
            BUSY_TIMEOUT.as_millis()
        ))
        .map_err(|e| DbError::Postgres {
            target: target.to_string(),
            action: "set up the session".to_string(),
            reason: describe(&e),
        })?;
    Ok(client)
}

/// Whether a failed connection attempt may succeed if repeated: the network or the server's
/// start-up, not a wrong password or a missing database.
fn is_transient(e: &postgres::Error) -> bool {
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

/// What to check, given why the connection failed.
fn hint(e: &postgres::Error, config: &Config, target: &str) -> String {
    let db = config.get_dbname().or(config.get_user()).unwrap_or("?");
    let user = config.get_user().unwrap_or("?");
    match e.code() {
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => format!(
            "the database {db:?} does not exist; create it (e.g. `createdb {db}`) or fix the \
             database name in database_uri"
        ),
        Some(code)
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            format!(
                "check the user name ({user:?}) and password in database_uri (or \
                 MELTANO_DATABASE_URI) and the server's pg_hba.conf"
            )
        }
        _ => {
            let hosts = target
                .trim_start_matches("postgresql://")
                .rsplit_once('/')
                .map_or(target, |(authority, _)| authority);
            let hosts = hosts.rsplit_once('@').map_or(hosts, |(_, h)| h);
            format!(
                "check that PostgreSQL is running and accepts connections at {hosts} \
                 (listen_addresses, firewall), that database {db:?} exists and user {user:?} \
                 may connect, and that database_uri (or MELTANO_DATABASE_URI) is right"
            )
        }
    }
}

/// The driver's error with its causes, on one line: its `Display` alone says only "db error".
pub(crate) fn describe(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.replace('\n', "; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_user_hosts_and_database_but_no_password() {
        let (config, target) = match parse("postgresql://ann:s3cret@db.example:6543/warehouse") {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(target, "postgresql://ann@db.example:6543/warehouse");
        assert_eq!(config.get_application_name(), Some("smelt"));
        assert_eq!(config.get_connect_timeout(), Some(&ATTEMPT_TIMEOUT));
        let (_, target) = match parse("postgresql://ann@h1,h2:7/x") {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(target, "postgresql://ann@h1:5432,h2:7/x");
        let (_, target) = match parse("postgresql://postgres@127.0.0.1/test") {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(target, "postgresql://postgres@127.0.0.1:5432/test");
    }

    #[test]
    fn bad_uris_are_refused_without_the_password() {
        for (uri, needle) in [
            ("postgresql://u:pw@h/db?bogus=1", "bogus"),
            ("postgresql://u:pw@h/db?sslmode=require", "sslmode=require"),
            ("postgresql:///db", "no host"),
        ] {
            match parse(uri) {
                Err(e @ DbError::UnsupportedUri { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains(needle), "{text}");
                    assert!(!text.contains("pw"), "{text}");
                }
                other => panic!("{uri}: expected UnsupportedUri, got {other:?}"),
            }
        }
    }

    #[test]
    fn refused_connection_is_retried_then_explained() {
        // A port nothing listens on: bind one, note it, close it.
        let port = match std::net::TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l.local_addr().map(|a| a.port()).unwrap_or(1),
            Err(e) => panic!("{e}"),
        };
        let uri = format!("postgresql://smelt:hunter2@127.0.0.1:{port}/nowhere");
        let (config, target) = match parse(&uri) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let started = Instant::now();
        match connect(&config, &target) {
            Err(e @ DbError::Connect { attempts, .. }) => {
                assert!(attempts > 3, "only {attempts} attempts");
                let text = e.to_string();
                let target = format!("postgresql://smelt@127.0.0.1:{port}/nowhere");
                for needle in [target.as_str(), "PostgreSQL is running", "refused"] {
                    assert!(text.contains(needle), "{needle} missing: {text}");
                }
                assert!(!text.contains("hunter2"), "{text}");
            }
            Err(other) => panic!("expected Connect error, got {other:?}"),
            Ok(_) => panic!("connected to a closed port"),
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(2) && took <= CONNECT_PATIENCE + ATTEMPT_TIMEOUT,
            "{took:?}"
        );
    }
}
