//! Reaching the PostgreSQL server: parsing the URI, retrying while the server is not (yet)
//! reachable, and saying what to check when we give up.

use std::thread;
use std::time::Instant;

use smelt_pg::tokio_postgres::Config;
use smelt_pg::{hosts_of, is_transient};

use super::client::{Bounds, PgCalls, PgClient, PgError, CONNECT_SETTING, STATEMENT_SETTING};
use crate::uri::redact;
use crate::{DbError, DbTimeouts, BUSY_TIMEOUT};

/// Parse a `postgresql://` URI into a driver config and the password-free location used in
/// every message (`postgresql://user@host:port/db`).
pub(crate) fn parse(uri: &str) -> Result<(Config, String), DbError> {
    let config = smelt_pg::parse_uri(uri, "smelt").map_err(|reason| DbError::UnsupportedUri {
        uri: redact(uri),
        reason,
    })?;
    let target = smelt_pg::location(&config);
    Ok((config, target))
}

/// Connect, retrying failures that may pass (refused, timed out, server starting) up to
/// `timeouts.max_retries` times, `timeouts.retry_pause` apart (Meltano's
/// `database_max_retries` / `database_retry_timeout`). Each attempt is bounded by the URI's
/// `connect_timeout`, else `timeouts.connect`. Then the session is prepared: `lock_timeout`
/// ([`BUSY_TIMEOUT`], at most the statement bound) and `statement_timeout`, unless the URI's
/// `options` set them, so a stuck writer or a runaway statement turns into a clear error.
pub(crate) fn connect(
    config: &Config,
    target: &str,
    timeouts: &DbTimeouts,
) -> Result<PgClient, DbError> {
    let mut config = config.clone();
    let attempt_limit = match config.get_connect_timeout() {
        Some(from_uri) => Some(*from_uri),
        None => {
            if let Some(limit) = timeouts.connect {
                config.connect_timeout(limit);
            }
            timeouts.connect
        }
    };
    // tokio-postgres bounds each host's socket connect; we bound the whole attempt (TCP,
    // start-up, authentication) across all hosts.
    let hosts = config
        .get_hosts()
        .len()
        .max(config.get_hostaddrs().len())
        .max(1) as u32;
    let attempt_limit = attempt_limit.map(|l| l * hosts);
    let started = Instant::now();
    let mut attempts = 0;
    let mut client = loop {
        attempts += 1;
        let left = timeouts
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        let limit = match (attempt_limit, left) {
            (Some(l), Some(left)) => Some(l.min(left)),
            (l, left) => l.or(left),
        };
        let bounds = Bounds {
            connect: limit,
            round_trip: timeouts.round_trip(),
            connect_setting: CONNECT_SETTING,
            round_trip_setting: STATEMENT_SETTING,
        };
        match PgClient::connect(&config, bounds) {
            Ok(client) => break client,
            Err(e) => {
                let out_of_time = timeouts
                    .deadline
                    .is_some_and(|d| Instant::now() + timeouts.retry_pause >= d);
                if !is_transient(&e) || attempts > timeouts.max_retries || out_of_time {
                    return Err(DbError::Connect {
                        target: target.to_string(),
                        attempts,
                        waited: started.elapsed(),
                        reason: e.to_string(),
                        hint: hint(&e, &config, target, timeouts),
                    });
                }
                thread::sleep(timeouts.retry_pause);
            }
        }
    };
    let options = config.get_options().unwrap_or_default();
    let mut setup = String::new();
    if !options.contains("lock_timeout") {
        let lock = timeouts
            .statement
            .map_or(BUSY_TIMEOUT, |s| s.min(BUSY_TIMEOUT));
        setup.push_str(&format!(
            "SET lock_timeout = '{}ms';",
            lock.as_millis().max(1)
        ));
    }
    if !options.contains("statement_timeout") {
        let statement = timeouts.statement.map_or(0, |s| s.as_millis().max(1));
        setup.push_str(&format!("SET statement_timeout = '{statement}ms';"));
    }
    client
        .batch_execute(&setup)
        .map_err(|e| DbError::Postgres {
            target: target.to_string(),
            action: "set up the session".to_string(),
            reason: e.to_string(),
        })?;
    Ok(client)
}

/// What to check, given why the connection failed.
fn hint(e: &PgError, config: &Config, target: &str, timeouts: &DbTimeouts) -> String {
    let db = config.get_dbname().or(config.get_user()).unwrap_or("?");
    let user = config.get_user().unwrap_or("?");
    match e.code() {
        Some(_) if smelt_pg::is_unknown_database(e) => format!(
            "the database {db:?} does not exist; create it (e.g. `createdb {db}`) or fix the \
             database name in database_uri"
        ),
        Some(_) if smelt_pg::is_auth_failure(e) => {
            format!(
                "check the user name ({user:?}) and password in database_uri (or \
                 MELTANO_DATABASE_URI) and the server's pg_hba.conf"
            )
        }
        _ if matches!(e, PgError::TimedOut { .. }) => {
            let retries = retries(timeouts);
            format!(
                "something at {} accepted the connection but did not answer as PostgreSQL does; \
                 check that database_uri names the PostgreSQL server (not a proxy or another \
                 service) and that it is not overloaded, or raise \
                 database_connect_timeout_seconds{retries}",
                hosts_of(target)
            )
        }
        _ => {
            let hosts = hosts_of(target);
            let retries = retries(timeouts);
            format!(
                "check that PostgreSQL is running and accepts connections at {hosts} \
                 (listen_addresses, firewall), that database {db:?} exists and user {user:?} \
                 may connect, and that database_uri (or MELTANO_DATABASE_URI) is right{retries}"
            )
        }
    }
}

/// How the retries were configured, for hints.
fn retries(timeouts: &DbTimeouts) -> String {
    format!(
        " (smelt retried {} time{}, {:.0}s apart: database_max_retries, database_retry_timeout)",
        timeouts.max_retries,
        if timeouts.max_retries == 1 { "" } else { "s" },
        timeouts.retry_pause.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn target_names_user_hosts_and_database_but_no_password() {
        let (config, target) = match parse("postgresql://ann:s3cret@db.example:6543/warehouse") {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(target, "postgresql://ann@db.example:6543/warehouse");
        assert_eq!(config.get_application_name(), Some("smelt"));
        assert_eq!(config.get_connect_timeout(), None);
        assert_eq!(config.get_keepalives_idle(), smelt_pg::KEEPALIVE_IDLE);
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
        let timeouts = DbTimeouts {
            max_retries: 3,
            retry_pause: Duration::from_millis(300),
            ..DbTimeouts::default()
        };
        match connect(&config, &target, &timeouts) {
            Err(e @ DbError::Connect { attempts, .. }) => {
                assert_eq!(attempts, 4, "one attempt and database_max_retries retries");
                let text = e.to_string();
                let target = format!("postgresql://smelt@127.0.0.1:{port}/nowhere");
                for needle in [
                    target.as_str(),
                    "PostgreSQL is running",
                    "refused",
                    "database_max_retries",
                ] {
                    assert!(text.contains(needle), "{needle} missing: {text}");
                }
                assert!(!text.contains("hunter2"), "{text}");
            }
            Err(other) => panic!("expected Connect error, got {other:?}"),
            Ok(_) => panic!("connected to a closed port"),
        }
        let took = started.elapsed();
        // Three pauses of database_retry_timeout between four attempts.
        assert!(
            took >= Duration::from_millis(900) && took <= Duration::from_secs(5),
            "{took:?}"
        );
    }
}
