//! The SQLite settings table.

use rusqlite::params;

use super::SqliteEngine;
use crate::engine::{SettingsStore, StoredSetting};
use crate::time::{now, to_db};
use crate::DbError;

impl SettingsStore for SqliteEngine {
    fn setting_rows(&self) -> Result<Vec<StoredSetting>, DbError> {
        let conn = self.conn();
        let err = || self.sql_err("read stored settings");
        let mut stmt = conn
            .prepare("SELECT namespace, name, value FROM settings")
            .map_err(err())?;
        let rows = stmt
            .query_map([], |row| {
                Ok(StoredSetting {
                    namespace: row.get(0)?,
                    name: row.get(1)?,
                    value: row.get(2)?,
                })
            })
            .map_err(err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(err())
    }

    fn upsert_setting(&self, setting: &StoredSetting) -> Result<(), DbError> {
        self.conn()
            .execute(
                "INSERT INTO settings (namespace, name, value, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (namespace, name) DO UPDATE SET \
                 value = excluded.value, updated_at = excluded.updated_at",
                params![setting.namespace, setting.name, setting.value, to_db(now())],
            )
            .map_err(self.sql_err("store a setting"))?;
        Ok(())
    }

    fn delete_setting(&self, namespace: &str, name: &str) -> Result<bool, DbError> {
        let removed = self
            .conn()
            .execute(
                "DELETE FROM settings WHERE namespace = ?1 AND name = ?2",
                params![namespace, name],
            )
            .map_err(self.sql_err("remove a stored setting"))?;
        Ok(removed > 0)
    }

    fn delete_namespace(&self, namespace: &str) -> Result<usize, DbError> {
        self.conn()
            .execute("DELETE FROM settings WHERE namespace = ?1", [namespace])
            .map_err(self.sql_err("clear stored settings"))
    }
}
