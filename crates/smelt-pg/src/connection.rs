//! The connection settings of smelt's native PostgreSQL plugins, read one way for all of them.
//!
//! MeltanoLabs tap-postgres and target-postgres share their connection settings: `host`,
//! `port`, `user`, `password`, `database`, or `sqlalchemy_url`, which wins when set. smelt adds
//! `connect_timeout_seconds` and `statement_timeout_seconds`, its bounds on connecting and on
//! each round trip. An extractor and a loader must read them identically, and neither should
//! depend on the other for it, so this module is the one reader.

use std::time::Duration;

use serde_json::{Map, Value};
use smelt_plugin_sdk::settings::{string_setting, timeout_setting, u64_setting_in};
use tokio_postgres::Config;

use crate::{Bounds, PgCalls, PgClient, DEFAULT_PORT, KEEPALIVE_IDLE};

/// Default `connect_timeout_seconds`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `statement_timeout_seconds`: the bound on each round trip (a query, or the next
/// chunk of a COPY).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(600);

/// Where and how a plugin connects, read from its config.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The driver's config (with the password, which nothing prints).
    pub config: Config,
    /// `postgresql://user@host:port/db` without the password, for messages.
    pub location: String,
    /// Bounds on connecting and on each round trip, naming the settings that set them.
    pub bounds: Bounds,
}

/// The driver config from `sqlalchemy_url` (SQLAlchemy's `postgresql+psycopg2://` accepted).
fn from_url(url: &str, application_name: &str) -> Result<Config, String> {
    let url = match url.split_once("://") {
        Some((scheme, rest)) if scheme.starts_with("postgresql") || scheme == "postgres" => {
            format!("postgresql://{rest}")
        }
        // Only the scheme is quoted: the rest may hold the password.
        _ => {
            return Err(format!(
                "`sqlalchemy_url` must start with postgresql://, found {:?}",
                url.split("://").next().unwrap_or("")
            ))
        }
    };
    crate::parse_uri(&url, application_name)
        .map_err(|e| format!("`sqlalchemy_url` is not a PostgreSQL URL: {e}"))
}

/// The driver config from `host`, `port`, `user`, `password` and `database`.
fn from_parts(config: &Map<String, Value>, application_name: &str) -> Result<Config, String> {
    let Some(host) = string_setting(config, "host")? else {
        return Err(
            "set `host` (with `user`, `database` and, as needed, `port` and `password`) or \
             `sqlalchemy_url`"
                .to_string(),
        );
    };
    let port = u64_setting_in(config, "port", DEFAULT_PORT.into(), 1..=u16::MAX.into())?;
    let mut pg = Config::new();
    pg.host(&host);
    pg.port(u16::try_from(port).unwrap_or(DEFAULT_PORT));
    if let Some(user) = string_setting(config, "user")? {
        pg.user(&user);
    }
    if let Some(password) = string_setting(config, "password")? {
        pg.password(password);
    }
    if let Some(db) = string_setting(config, "database")? {
        pg.dbname(&db);
    }
    pg.keepalives_idle(KEEPALIVE_IDLE);
    pg.application_name(application_name);
    Ok(pg)
}

impl Connection {
    /// Read the connection settings from a plugin's merged config; `application_name` is what
    /// the server shows in `pg_stat_activity` (unless `sqlalchemy_url` names one). Errors name
    /// the setting and never hold the password.
    pub fn from_settings(
        config: &Map<String, Value>,
        application_name: &str,
    ) -> Result<Connection, String> {
        let mut pg = match string_setting(config, "sqlalchemy_url")? {
            Some(url) => from_url(&url, application_name)?,
            None => from_parts(config, application_name)?,
        };
        // A `connect_timeout` in the URL wins over the setting.
        let connect = match pg.get_connect_timeout() {
            Some(t) => Some(*t),
            None => timeout_setting(config, "connect_timeout_seconds", CONNECT_TIMEOUT)?,
        };
        if let Some(t) = connect {
            pg.connect_timeout(t);
        }
        Ok(Connection {
            location: crate::location(&pg),
            config: pg,
            bounds: Bounds {
                connect,
                round_trip: timeout_setting(
                    config,
                    "statement_timeout_seconds",
                    STATEMENT_TIMEOUT,
                )?,
                connect_setting: "connect_timeout_seconds",
                round_trip_setting: "statement_timeout_seconds",
            },
        })
    }

    /// Connect and prepare the session (UTC time zone, ISO dates, standard strings, no
    /// server-side statement timeout: each round trip has smelt's bound instead). The error
    /// says where (without the password) and which settings to check.
    pub fn connect(&self) -> Result<PgClient, String> {
        let mut client = PgClient::connect(&self.config, self.bounds).map_err(|e| {
            let hint = if crate::is_auth_failure(&e) {
                "check `user` and `password` (or sqlalchemy_url) and the server's pg_hba.conf"
                    .to_string()
            } else if crate::is_unknown_database(&e) {
                "check `database` (or the database in sqlalchemy_url)".to_string()
            } else {
                format!(
                    "check that PostgreSQL is running and accepts connections at {} and that \
                     `host`/`port` (or sqlalchemy_url) are right",
                    crate::hosts_of(&self.location)
                )
            };
            format!("could not connect to {}: {e}; {hint}", self.location)
        })?;
        client
            .batch_execute(
                "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; \
                 SET standard_conforming_strings = on; SET statement_timeout = 0; \
                 SET extra_float_digits = 1",
            )
            .map_err(|e| format!("{}: could not set up the session: {e}", self.location))?;
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<Connection, String> {
        match v {
            Value::Object(m) => Connection::from_settings(&m, "smelt test"),
            _ => unreachable!(),
        }
    }

    #[test]
    fn parts_or_url_which_wins() {
        let c = read(json!({"host": "h", "user": "u", "password": "pw", "database": "d"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.location, "postgresql://u@h:5432/d");
        assert_eq!(c.config.get_application_name(), Some("smelt test"));
        assert_eq!(c.bounds.connect, Some(CONNECT_TIMEOUT));
        assert_eq!(c.bounds.round_trip, Some(STATEMENT_TIMEOUT));
        let c = read(json!({
            "host": "ignored", "port": "1",
            "sqlalchemy_url": "postgresql+psycopg2://a:b@x:7/y",
            "statement_timeout_seconds": 0, "connect_timeout_seconds": "3"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.location, "postgresql://a@x:7/y");
        assert_eq!(c.bounds.round_trip, None);
        assert_eq!(c.bounds.connect, Some(Duration::from_secs(3)));
        let c = read(json!({"sqlalchemy_url": "postgres://a@x/y?connect_timeout=4"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.bounds.connect, Some(Duration::from_secs(4)));
    }

    #[test]
    fn errors_name_the_setting_and_hide_the_password() {
        for (bad, needle) in [
            (json!({}), "set `host`"),
            (
                json!({"host": "h", "port": "x"}),
                "`port` must be a whole number",
            ),
            (
                json!({"host": "h", "port": 70000}),
                "`port` must be from 1 to 65535, found 70000",
            ),
            (
                json!({"host": "h", "port": 0}),
                "`port` must be from 1 to 65535",
            ),
            (
                json!({"host": "h", "password": ["pw9"]}),
                "`password` must be a string, found an array",
            ),
            (
                json!({"sqlalchemy_url": "mysql://u:pw9@h/d"}),
                "`sqlalchemy_url` must start with postgresql://, found \"mysql\"",
            ),
            (
                json!({"sqlalchemy_url": "postgresql://u:pw9@h:x/d"}),
                "`sqlalchemy_url` is not a PostgreSQL URL",
            ),
            (
                json!({"host": "h", "statement_timeout_seconds": -1}),
                "`statement_timeout_seconds` must be a whole number",
            ),
            (
                json!({"host": "h", "connect_timeout_seconds": "soon"}),
                "`connect_timeout_seconds` must be a whole number",
            ),
        ] {
            match read(bad) {
                Err(e) => assert!(e.contains(needle) && !e.contains("pw9"), "{e}"),
                Ok(_) => panic!("accepted {needle}"),
            }
        }
    }

    #[test]
    fn connecting_fails_naming_where_without_the_password() {
        // Port 1 on the loopback: nothing listens, so the connection is refused at once.
        let c = read(
            json!({"host": "127.0.0.1", "port": 1, "user": "u", "password": "pw9",
                            "database": "d", "connect_timeout_seconds": 5}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let e = c.connect().err().unwrap_or_default();
        assert!(
            e.starts_with("could not connect to postgresql://u@127.0.0.1:1/d")
                && e.contains("`host`/`port`")
                && !e.contains("pw9"),
            "{e}"
        );
    }
}
