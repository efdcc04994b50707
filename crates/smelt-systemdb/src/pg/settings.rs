//! The PostgreSQL settings table.

use super::client::PgCalls;
use super::PgEngine;
use crate::engine::{SettingsStore, StoredSetting};
use crate::time::now;
use crate::DbError;

impl SettingsStore for PgEngine {
    fn setting_rows(&self) -> Result<Vec<StoredSetting>, DbError> {
        self.client()?
            .query("SELECT namespace, name, value FROM smelt_settings", &[])
            .and_then(|rows| {
                rows.iter()
                    .map(|row| {
                        Ok(StoredSetting {
                            namespace: row.try_get(0)?,
                            name: row.try_get(1)?,
                            value: row.try_get(2)?,
                        })
                    })
                    .collect::<Result<_, tokio_postgres::Error>>()
                    .map_err(Into::into)
            })
            .map_err(self.pg_err("read stored settings"))
    }

    fn upsert_setting(&self, setting: &StoredSetting) -> Result<(), DbError> {
        self.client()?
            .execute(
                "INSERT INTO smelt_settings (namespace, name, value, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, name) DO UPDATE SET \
                 value = excluded.value, updated_at = excluded.updated_at",
                &[&setting.namespace, &setting.name, &setting.value, &now()],
            )
            .map_err(self.pg_err("store a setting"))?;
        Ok(())
    }

    fn delete_setting(&self, namespace: &str, name: &str) -> Result<bool, DbError> {
        let removed = self
            .client()?
            .execute(
                "DELETE FROM smelt_settings WHERE namespace = $1 AND name = $2",
                &[&namespace, &name],
            )
            .map_err(self.pg_err("remove a stored setting"))?;
        Ok(removed > 0)
    }

    fn delete_namespace(&self, namespace: &str) -> Result<usize, DbError> {
        let removed = self
            .client()?
            .execute(
                "DELETE FROM smelt_settings WHERE namespace = $1",
                &[&namespace],
            )
            .map_err(self.pg_err("clear stored settings"))?;
        // A row count always fits in memory's address space; saturate rather than panic.
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }
}
