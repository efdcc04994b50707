//! The tap's settings (MeltanoLabs tap-postgres' names and meanings) and connecting with them.

use std::time::Duration;

use serde_json::{Map, Value};
use smelt_pg::tokio_postgres::Config;
use smelt_pg::{Bounds, PgCalls, PgClient};
use smelt_plugin_sdk::settings::bool_setting;

use crate::types::Options;

/// Default bound on connecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on each round trip (a query, or the next row of a COPY).
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(600);

/// The settings, read and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to connect.
    pub config: Config,
    /// `postgresql://user@host:port/db` without the password, for messages.
    pub location: String,
    /// `filter_schemas` (empty: all but the system schemas).
    pub filter_schemas: Vec<String>,
    /// `dates_as_string`, `json_as_object`.
    pub options: Options,
    /// `max_record_count`: at most this many records per stream.
    pub max_record_count: Option<u64>,
    /// `stream_options.<stream>.custom_where_clauses`, ANDed to the stream's query.
    pub stream_options: Map<String, Value>,
    /// Bounds on connecting and on each round trip.
    pub bounds: Bounds,
    /// LOG_BASED: the logical replication slot, the publication, and whether streams
    /// without a bookmark start with a snapshot of the table.
    pub log_based: LogBasedSettings,
}

/// The LOG_BASED settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBasedSettings {
    /// `replication_slot_name` (MeltanoLabs' setting and default, `tappostgres`).
    pub slot: String,
    /// `publication_name` (smelt: pgoutput reads a publication; default: the slot's name).
    pub publication: String,
    /// `auto_bootstrap_log_based`: a stream without a bookmark is first read whole.
    pub bootstrap: bool,
}

/// MeltanoLabs' default `replication_slot_name`.
pub const DEFAULT_SLOT: &str = "tappostgres";

/// A slot or publication name as MeltanoLabs accepts slot names: letters, digits and
/// underscores, at most 63, not starting with `pg_`.
fn object_name(config: &Map<String, Value>, key: &str, default: &str) -> Result<String, String> {
    let name = string(config, key)?.unwrap_or_else(|| default.to_string());
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with("pg_")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(format!(
            "`{key}` must be 1 to 63 letters, digits or underscores not starting with pg_, \
             found {name:?}"
        ))
    }
}

fn string(config: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("`{key}` must be a string, found {other}")),
    }
}

fn integer(config: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("`{key}` must be a whole number, found \"{s}\"")),
        Some(other) => Err(format!("`{key}` must be a whole number, found {other}")),
    }
}

fn seconds(
    config: &Map<String, Value>,
    key: &str,
    default: Duration,
) -> Result<Option<Duration>, String> {
    Ok(match integer(config, key)? {
        None => Some(default),
        Some(0) => None,
        Some(n) => Some(Duration::from_secs(n)),
    })
}

/// Read the settings from the merged config.
pub fn settings(config: &Map<String, Value>) -> Result<Settings, String> {
    match string(config, "default_replication_method")?.as_deref() {
        None | Some("FULL_TABLE" | "INCREMENTAL" | "LOG_BASED") => {}
        Some(other) => {
            return Err(format!(
                "`default_replication_method` must be FULL_TABLE, INCREMENTAL or LOG_BASED, \
                 found {other:?}"
            ))
        }
    }
    let options = Options {
        dates_as_string: bool_setting(config, "dates_as_string", false)?,
        json_as_object: bool_setting(config, "json_as_object", false)?,
    };
    let mut pg = match string(config, "sqlalchemy_url")? {
        Some(url) => {
            // SQLAlchemy URLs name a driver (`postgresql+psycopg2://`); libpq's do not.
            let url = match url.split_once("://") {
                Some((scheme, rest))
                    if scheme.starts_with("postgresql") || scheme == "postgres" =>
                {
                    format!("postgresql://{rest}")
                }
                _ => {
                    return Err(format!(
                        "`sqlalchemy_url` must start with postgresql://, found {:?}",
                        url.split("://").next().unwrap_or("")
                    ))
                }
            };
            smelt_pg::parse_uri(&url, "smelt tap-postgres")
                .map_err(|e| format!("`sqlalchemy_url` is not a PostgreSQL URL: {e}"))?
        }
        None => {
            let Some(host) = string(config, "host")? else {
                return Err(
                    "set `host` (with `user`, `database` and, as needed, `port` and `password`) \
                     or `sqlalchemy_url`"
                        .to_string(),
                );
            };
            let mut pg = Config::new();
            pg.host(&host);
            let port = integer(config, "port")?.unwrap_or(5432);
            pg.port(u16::try_from(port).map_err(|_| format!("`port` {port} is not a port"))?);
            if let Some(user) = string(config, "user")? {
                pg.user(&user);
            }
            if let Some(password) = string(config, "password")? {
                pg.password(password);
            }
            if let Some(db) = string(config, "database")? {
                pg.dbname(&db);
            }
            pg.keepalives_idle(smelt_pg::KEEPALIVE_IDLE);
            pg.application_name("smelt tap-postgres");
            pg
        }
    };
    let connect = match pg.get_connect_timeout() {
        Some(t) => Some(*t),
        None => seconds(config, "connect_timeout_seconds", CONNECT_TIMEOUT)?,
    };
    if let Some(t) = connect {
        pg.connect_timeout(t);
    }
    let filter_schemas = match config.get("filter_schemas") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("`filter_schemas` must list schema names, found {v}"))
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(s)) => serde_json::from_str::<Vec<String>>(s)
            .map_err(|_| format!("`filter_schemas` must be a list of schema names, found {s:?}"))?,
        Some(other) => return Err(format!("`filter_schemas` must be a list, found {other}")),
    };
    let stream_options = match config.get("stream_options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => return Err(format!("`stream_options` must be an object, found {other}")),
    };
    let slot = object_name(config, "replication_slot_name", DEFAULT_SLOT)?;
    let log_based = LogBasedSettings {
        publication: object_name(config, "publication_name", &slot)?,
        slot,
        bootstrap: bool_setting(config, "auto_bootstrap_log_based", false)?,
    };
    Ok(Settings {
        log_based,
        location: smelt_pg::location(&pg),
        config: pg,
        filter_schemas,
        options,
        max_record_count: integer(config, "max_record_count")?.filter(|n| *n > 0),
        stream_options,
        bounds: Bounds {
            connect,
            round_trip: seconds(config, "statement_timeout_seconds", STATEMENT_TIMEOUT)?,
            connect_setting: "connect_timeout_seconds",
            round_trip_setting: "statement_timeout_seconds",
        },
    })
}

impl Settings {
    /// The custom WHERE clauses configured for `stream`.
    pub fn where_clauses(&self, stream: &str) -> Result<Vec<String>, String> {
        match self
            .stream_options
            .get(stream)
            .and_then(|o| o.get("custom_where_clauses"))
        {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| {
                    v.as_str().map(|s| s.trim().to_string()).ok_or_else(|| {
                        format!("stream_options.{stream}.custom_where_clauses must list strings")
                    })
                })
                .collect(),
            Some(_) => Err(format!(
                "stream_options.{stream}.custom_where_clauses must be a list of strings"
            )),
        }
    }

    /// Connect and prepare the session (UTC time zone, ISO dates, standard strings, no
    /// server-side statement timeout: each round trip has smelt's bound instead).
    pub fn connect(&self) -> Result<PgClient, String> {
        let mut client = PgClient::connect(&self.config, self.bounds).map_err(|e| {
            let hint = if smelt_pg::is_auth_failure(&e) {
                "check `user` and `password` (or sqlalchemy_url) and the server's pg_hba.conf"
                    .to_string()
            } else if smelt_pg::is_unknown_database(&e) {
                "check `database` (or the database in sqlalchemy_url)".to_string()
            } else {
                format!(
                    "check that PostgreSQL is running and accepts connections at {} and that \
                     `host`/`port` (or sqlalchemy_url) are right",
                    smelt_pg::hosts_of(&self.location)
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

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn parts_or_url() {
        let s = settings(&map(
            json!({"host": "h", "user": "u", "password": "pw", "database": "d"}),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.location, "postgresql://u@h:5432/d");
        assert_eq!(s.bounds.connect, Some(CONNECT_TIMEOUT));
        assert_eq!(
            s.log_based,
            LogBasedSettings {
                slot: "tappostgres".into(),
                publication: "tappostgres".into(),
                bootstrap: false
            }
        );
        let s = settings(&map(json!({
            "host": "ignored",
            "sqlalchemy_url": "postgresql+psycopg2://a:b@x:7/y",
            "filter_schemas": ["s1"],
            "statement_timeout_seconds": 0
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.location, "postgresql://a@x:7/y");
        assert_eq!(s.filter_schemas, ["s1"]);
        assert_eq!(s.bounds.round_trip, None);
        for (bad, needle) in [
            (json!({}), "set `host`"),
            (json!({"host": "h", "port": "x"}), "`port`"),
            (json!({"sqlalchemy_url": "mysql://h/d"}), "postgresql://"),
            (
                json!({"host": "h", "dates_as_string": "maybe"}),
                "dates_as_string",
            ),
            (
                json!({"host": "h", "replication_slot_name": "pg_x"}),
                "replication_slot_name",
            ),
            (
                json!({"host": "h", "publication_name": "a-b"}),
                "publication_name",
            ),
        ] {
            match settings(&map(bad)) {
                Err(e) => assert!(e.contains(needle), "{e}"),
                Ok(_) => panic!("accepted {needle}"),
            }
        }
    }
}
