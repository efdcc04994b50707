//! Settings stored in the system database (`config set --store db`), on either engine.
//!
//! One row per (namespace, dotted setting name), the value kept as JSON text. Namespaces are
//! `meltano` for project settings and `<plugin type>.<plugin name>` (e.g. `extractors.tap-x`)
//! for a plugin's. The project crate layers these values under `meltano.yml` in settings
//! resolution; this module only stores them and refuses to hide unreadable rows.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::engine::StoredSetting;
use crate::{DbError, SystemDb};

impl SystemDb {
    /// Every stored setting, by namespace then dotted name.
    ///
    /// Both levels are in byte order of their keys whatever the database's collation, so
    /// listings are the same on SQLite and PostgreSQL. A row whose value is not valid JSON is
    /// [`DbError::Corrupt`] naming its namespace and name: a setting is never silently
    /// dropped, since a missing secret would quietly fall back to another layer's value.
    pub fn stored_settings(&self) -> Result<BTreeMap<String, Map<String, Value>>, DbError> {
        let mut rows = self.engine().setting_rows()?;
        rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let mut out: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for row in rows {
            let value = serde_json::from_str::<Value>(&row.value).map_err(|e| {
                self.corrupt(
                    format!(
                        "value of setting {:?} in namespace {:?}",
                        row.name, row.namespace
                    ),
                    format!("not valid JSON ({e}); store it again or unset it"),
                )
            })?;
            out.entry(row.namespace)
                .or_default()
                .insert(row.name, value);
        }
        Ok(out)
    }

    /// Insert or replace one setting.
    ///
    /// `namespace` is `meltano` or `<plugin type>.<plugin name>`; `name` is the dotted setting
    /// name, kept flat (not split into nested objects) as Meltano's settings store does. The
    /// write is one atomic statement, so concurrent writers of the same setting leave one of
    /// their values, never a mix.
    pub fn store_setting(&self, namespace: &str, name: &str, value: &Value) -> Result<(), DbError> {
        check_key(namespace, name)?;
        let value = serde_json::to_string(value).map_err(|e| DbError::InvalidSetting {
            namespace: namespace.to_string(),
            name: name.to_string(),
            reason: format!("its value cannot be written as JSON ({e})"),
        })?;
        self.engine().upsert_setting(&StoredSetting {
            namespace: namespace.to_string(),
            name: name.to_string(),
            value,
        })
    }

    /// Remove one setting; whether it existed (so `config unset` can say nothing was set).
    pub fn unstore_setting(&self, namespace: &str, name: &str) -> Result<bool, DbError> {
        check_key(namespace, name)?;
        self.engine().delete_setting(namespace, name)
    }

    /// Remove every setting of a namespace; how many were removed (`config reset`).
    /// Other namespaces are untouched.
    pub fn clear_settings(&self, namespace: &str) -> Result<usize, DbError> {
        check_part(namespace, "", "namespace", namespace)?;
        self.engine().delete_namespace(namespace)
    }
}

/// Refuse keys that cannot round-trip on both engines: empty parts (no setting has one) and
/// NUL characters (PostgreSQL text cannot hold them).
fn check_key(namespace: &str, name: &str) -> Result<(), DbError> {
    check_part(namespace, name, "namespace", namespace)?;
    check_part(namespace, name, "name", name)
}

fn check_part(namespace: &str, name: &str, part: &str, text: &str) -> Result<(), DbError> {
    let reason = if text.is_empty() {
        format!("the {part} is empty")
    } else if text.contains('\0') {
        format!("the {part} contains a NUL character")
    } else {
        return Ok(());
    };
    Err(DbError::InvalidSetting {
        namespace: namespace.to_string(),
        name: name.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests;
