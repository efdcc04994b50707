//! The project settings (`smelt config list meltano`): one declaration each, the single table
//! that drives their resolution, `config list meltano`, validation errors and the docs page.
//!
//! Names, kinds and defaults are Meltano 4.x's (its `settings.yml` and the state backends'
//! setting definitions) so existing `MELTANO_*` variables and `meltano.yml` keys keep working.
//! Where smelt's default differs (the system database), the help says so.

use serde_json::Value;

use crate::setting_def::{SettingDef, SettingKind};

/// One project setting: what `meltano.yml`'s top level, `MELTANO_<DOTTED_NAME>` and the
/// system database can set.
#[derive(Debug, Clone, Copy)]
pub struct MeltanoSettingDef {
    /// Dotted name, e.g. `elt.buffer_size`.
    pub name: &'static str,
    /// How values are typed and validated.
    pub kind: SettingKind,
    /// Default as JSON text (`None`: unset).
    pub default: Option<&'static str>,
    /// Allowed values of an `options` setting.
    pub options: &'static [&'static str],
    /// Whether the value is a secret (never printed without `--unsafe`).
    pub sensitive: bool,
    /// One line of help for listings and the docs page.
    pub help: &'static str,
}

impl MeltanoSettingDef {
    /// The variable that sets it: `MELTANO_` + the dotted name upper-cased, `.` → `_`.
    pub fn env_var(&self) -> String {
        crate::env_names::env_var_name(&["meltano", self.name])
    }

    /// The default as a JSON value.
    pub fn default_value(&self) -> Option<Value> {
        self.default.and_then(|d| serde_json::from_str(d).ok())
    }

    /// The same declaration as a plugin-style [`SettingDef`], for the shared resolver.
    pub fn to_setting_def(&self) -> SettingDef {
        SettingDef {
            name: self.name.to_string(),
            kind: self.kind,
            value: self.default_value(),
            sensitive: self.sensitive,
            env: None,
            aliases: Vec::new(),
            options: self.options.iter().map(|o| o.to_string()).collect(),
            hidden: false,
        }
    }
}

const fn def(
    name: &'static str,
    kind: SettingKind,
    default: Option<&'static str>,
    help: &'static str,
) -> MeltanoSettingDef {
    MeltanoSettingDef {
        name,
        kind,
        default,
        options: &[],
        sensitive: false,
        help,
    }
}

const fn secret(name: &'static str, help: &'static str) -> MeltanoSettingDef {
    MeltanoSettingDef {
        name,
        kind: SettingKind::String,
        default: None,
        options: &[],
        sensitive: true,
        help,
    }
}

const fn options(
    name: &'static str,
    default: &'static str,
    options: &'static [&'static str],
    help: &'static str,
) -> MeltanoSettingDef {
    MeltanoSettingDef {
        name,
        kind: SettingKind::Options,
        default: Some(default),
        options,
        sensitive: false,
        help,
    }
}

use SettingKind::{Array, Boolean, Decimal, Integer, String as Text};

/// Every project setting smelt knows, in Meltano's order.
pub static MELTANO_SETTINGS: &[MeltanoSettingDef] = &[
    def(
        "default_environment",
        Text,
        None,
        "Environment used when none is given",
    ),
    def(
        "send_anonymous_usage_stats",
        Boolean,
        Some("true"),
        "Accepted for compatibility; smelt sends no usage data",
    ),
    def(
        "disable_tracking",
        Boolean,
        None,
        "Accepted for compatibility; smelt sends no usage data",
    ),
    def("project_id", Text, None, "Identifies the project"),
    def(
        "database_uri",
        Text,
        None,
        "System database: unset for the embedded .meltano/smelt.db (SQLite), or postgresql://…",
    ),
    def(
        "database_max_retries",
        Integer,
        Some("3"),
        "Retries of a failed connection to a PostgreSQL system database",
    ),
    def(
        "database_retry_timeout",
        Integer,
        Some("5"),
        "Seconds between those connection retries",
    ),
    def(
        "database_connect_timeout_seconds",
        Decimal,
        Some("10"),
        "Seconds one connection attempt to a PostgreSQL system database may take; 0: no bound (smelt only; connect_timeout= in database_uri wins)",
    ),
    def(
        "database_statement_timeout_seconds",
        Decimal,
        Some("30"),
        "Seconds a PostgreSQL system database statement may take (its statement_timeout; smelt gives up on an unanswered round trip a little later); 0: no bound (smelt only)",
    ),
    def(
        "project_readonly",
        Boolean,
        Some("false"),
        "Refuse every change to project files and the system database's settings",
    ),
    def("hub_api_root", Text, None, "Root URL of a plugin hub API"),
    def(
        "hub_url",
        Text,
        Some("\"https://hub.meltano.com\""),
        "URL of the plugin hub",
    ),
    def(
        "hub_url_auth",
        Text,
        None,
        "Authorization header sent to the hub",
    ),
    def(
        "elt.buffer_size",
        Integer,
        Some("104857600"),
        "Longest Singer message line, in bytes, relayed between plugins",
    ),
    def(
        "python",
        Text,
        None,
        "Python interpreter for plugin virtual environments",
    ),
    def(
        "auto_install",
        Boolean,
        Some("true"),
        "Install missing plugins before running them",
    ),
    def(
        "state_backend.uri",
        Text,
        Some("\"systemdb\""),
        "Where state lives: systemdb, file:///dir, s3://, gs://, azure://",
    ),
    def(
        "state_backend.lock_timeout_seconds",
        Decimal,
        Some("10"),
        "Seconds after which a state ID's lock counts as abandoned (fractions allowed)",
    ),
    def(
        "state_backend.lock_retry_seconds",
        Decimal,
        Some("1"),
        "Seconds to wait between attempts on a held lock (fractions allowed)",
    ),
    def(
        "state_backend.timeout_seconds",
        Decimal,
        Some("30"),
        "Seconds one S3/GCS/Azure state operation may take, retries included; 0: no bound (smelt only)",
    ),
    secret(
        "state_backend.s3.aws_access_key_id",
        "AWS access key ID for an S3 state backend",
    ),
    secret(
        "state_backend.s3.aws_secret_access_key",
        "AWS secret access key for an S3 state backend",
    ),
    def(
        "state_backend.s3.endpoint_url",
        Text,
        None,
        "Endpoint of an S3-compatible store (MinIO, R2, …)",
    ),
    def(
        "state_backend.s3.region",
        Text,
        None,
        "Region of the S3 bucket (smelt only; default: AWS_REGION, else asked from S3)",
    ),
    secret(
        "state_backend.azure.connection_string",
        "Connection string of the Azure storage account",
    ),
    def(
        "state_backend.azure.storage_account_url",
        Text,
        None,
        "URL of the Azure storage account",
    ),
    secret(
        "state_backend.gcs.application_credentials",
        "Path of a Google service-account credentials file",
    ),
    secret(
        "state_backend.gcs.application_credentials_path",
        "Path of a Google service-account credentials file",
    ),
    secret(
        "state_backend.gcs.application_credentials_json",
        "Google service-account credentials as JSON",
    ),
    options(
        "cli.log_level",
        "\"info\"",
        &["debug", "info", "warning", "error", "critical", "disabled"],
        "Console log level",
    ),
    def(
        "cli.log_config",
        Text,
        Some("\"logging.yaml\""),
        "Logging configuration file (accepted for compatibility)",
    ),
    options(
        "cli.log_format",
        "\"colored\"",
        &["colored", "uncolored", "json", "key_value", "plain"],
        "Console log format",
    ),
    def(
        "cli.disable_version_check",
        Boolean,
        Some("false"),
        "Accepted for compatibility; smelt never checks for updates",
    ),
    def(
        "snowplow.collector_endpoints",
        Array,
        Some("[\"https://sp.meltano.com\"]"),
        "Accepted for compatibility; smelt sends no usage data",
    ),
    options(
        "venv.backend",
        "\"uv\"",
        &["virtualenv", "uv"],
        "How plugin virtual environments are created",
    ),
    def(
        "experimental",
        Boolean,
        Some("false"),
        "Enable experimental features",
    ),
    def(
        "ff.strict_env_var_mode",
        Boolean,
        Some("false"),
        "Fail when a referenced environment variable is not set",
    ),
    def(
        "ff.plugin_locks_required",
        Boolean,
        Some("false"),
        "Require a lock file for every plugin",
    ),
];

/// The declaration of project setting `name`.
pub fn meltano_setting(name: &str) -> Option<&'static MeltanoSettingDef> {
    MELTANO_SETTINGS.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid_json_of_its_kind() {
        for d in MELTANO_SETTINGS {
            if let Some(text) = d.default {
                let v: Value = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("default of {} is not JSON: {e}", d.name));
                let ok = match d.kind {
                    SettingKind::Boolean => v.is_boolean(),
                    SettingKind::Integer => v.is_i64(),
                    SettingKind::Decimal => v.is_number(),
                    SettingKind::Array => v.is_array(),
                    SettingKind::Options => v.as_str().is_some_and(|s| d.options.contains(&s)),
                    _ => v.is_string(),
                };
                assert!(ok, "default of {} does not fit its kind", d.name);
            }
        }
    }

    #[test]
    fn names_are_unique_and_map_to_meltano_variables() {
        let mut names: Vec<_> = MELTANO_SETTINGS.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), MELTANO_SETTINGS.len());
        assert_eq!(
            meltano_setting("state_backend.lock_timeout_seconds")
                .map(|d| d.env_var())
                .as_deref(),
            Some("MELTANO_STATE_BACKEND_LOCK_TIMEOUT_SECONDS")
        );
    }
}
