//! The SQLite state table.

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use smelt_state::StateError;

use super::SqliteEngine;
use crate::engine::{StateStore, StoredState, UpdateBody};
use crate::time::{now, to_db};
use crate::BUSY_TIMEOUT;

impl SqliteEngine {
    /// Map a SQLite error to a state error, turning "database is busy" (another process held
    /// the write lock for longer than [`BUSY_TIMEOUT`]) into [`StateError::Locked`].
    fn state_err(&self, id: &str, action: &str) -> impl FnOnce(rusqlite::Error) -> StateError + '_ {
        let id = id.to_string();
        let action = action.to_string();
        move |e| {
            let busy = matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            );
            if busy {
                StateError::Locked {
                    id,
                    lock_path: self.path.display().to_string(),
                    locked_at: None,
                    waited: BUSY_TIMEOUT,
                }
            } else {
                StateError::Backend(self.sql_err(&action)(e).to_string())
            }
        }
    }

    fn select_state(
        &self,
        tx: &Transaction<'_>,
        id: &str,
    ) -> Result<Option<StoredState>, StateError> {
        tx.query_row(
            "SELECT completed, partial FROM state WHERE state_id = ?1",
            [id],
            |row| {
                Ok(StoredState {
                    completed: row.get(0)?,
                    partial: row.get(1)?,
                })
            },
        )
        .optional()
        .map_err(self.state_err(id, "read state"))
    }

    fn upsert_state(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        state: &StoredState,
    ) -> Result<(), StateError> {
        tx.execute(
            "INSERT INTO state (state_id, completed, partial, updated_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (state_id) DO UPDATE SET completed = excluded.completed, \
             partial = excluded.partial, updated_at = excluded.updated_at",
            params![id, state.completed, state.partial, to_db(now())],
        )
        .map_err(self.state_err(id, "write state"))?;
        Ok(())
    }

    /// Run `body` in a transaction on the shared connection and commit if it succeeds.
    fn in_tx<T>(
        &self,
        id: &str,
        behavior: TransactionBehavior,
        body: impl FnOnce(&Transaction<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(self.state_err(id, "start a transaction"))?;
        let out = body(&tx)?;
        tx.commit().map_err(self.state_err(id, "commit state"))?;
        Ok(out)
    }
}

impl StateStore for SqliteEngine {
    fn read_state(&self, id: &str) -> Result<Option<StoredState>, StateError> {
        self.in_tx(id, TransactionBehavior::Deferred, |tx| {
            self.select_state(tx, id)
        })
    }

    fn write_state(&self, id: &str, state: &StoredState) -> Result<(), StateError> {
        self.in_tx(id, TransactionBehavior::Immediate, |tx| {
            self.upsert_state(tx, id, state)
        })
    }

    // BEGIN IMMEDIATE takes the file's write lock up front, so read-modify-writes of the
    // whole database (any state ID) run one at a time across processes.
    fn update_state(&self, id: &str, body: &mut UpdateBody<'_>) -> Result<(), StateError> {
        self.in_tx(id, TransactionBehavior::Immediate, |tx| {
            let next = body(self.select_state(tx, id)?)?;
            self.upsert_state(tx, id, &next)
        })
    }

    fn state_ids(&self) -> Result<Vec<String>, StateError> {
        let conn = self.conn();
        let err = || self.state_err("*", "list state IDs");
        let mut stmt = conn.prepare("SELECT state_id FROM state").map_err(err())?;
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(err())
    }

    fn delete_state(&self, id: &str) -> Result<(), StateError> {
        self.in_tx(id, TransactionBehavior::Immediate, |tx| {
            tx.execute("DELETE FROM state WHERE state_id = ?1", [id])
                .map_err(self.state_err(id, "clear state"))?;
            Ok(())
        })
    }
}
