//! The PostgreSQL state table.

use smelt_state::StateError;
use tokio_postgres::Row;

use super::client::{PgCalls, PgClient};
use super::PgEngine;
use crate::engine::{StateStore, StoredState, UpdateBody};
use crate::time::now;

const UPSERT: &str = "INSERT INTO smelt_state (state_id, completed, partial, updated_at) \
                      VALUES ($1, $2, $3, $4) ON CONFLICT (state_id) DO UPDATE SET \
                      completed = excluded.completed, partial = excluded.partial, \
                      updated_at = excluded.updated_at";

fn stored(row: &Row) -> Result<StoredState, tokio_postgres::Error> {
    Ok(StoredState {
        completed: row.try_get(0)?,
        partial: row.try_get(1)?,
    })
}

impl PgEngine {
    /// The connection, with a failed reconnect reported as a state error.
    fn state_client(&self) -> Result<std::sync::MutexGuard<'_, PgClient>, StateError> {
        self.client()
            .map_err(|e| StateError::Backend(e.to_string()))
    }
}

impl StateStore for PgEngine {
    fn read_state(&self, id: &str) -> Result<Option<StoredState>, StateError> {
        self.state_client()?
            .query_opt(
                "SELECT completed, partial FROM smelt_state WHERE state_id = $1",
                &[&id],
            )
            .and_then(|row| Ok(row.as_ref().map(stored).transpose()?))
            .map_err(self.state_err(id, "read state"))
    }

    fn write_state(&self, id: &str, state: &StoredState) -> Result<(), StateError> {
        self.state_client()?
            .execute(UPSERT, &[&id, &state.completed, &state.partial, &now()])
            .map_err(self.state_err(id, "write state"))?;
        Ok(())
    }

    // The row is created first if missing (ON CONFLICT DO NOTHING waits for a concurrent
    // creator to finish), then locked with FOR UPDATE: every update of this ID, in any
    // process, runs one at a time, and each sees the previous one's committed result.
    // Updates of other IDs do not wait.
    fn update_state(&self, id: &str, body: &mut UpdateBody<'_>) -> Result<(), StateError> {
        let mut client = self.state_client()?;
        let mut tx = client
            .transaction()
            .map_err(self.state_err(id, "start a transaction"))?;
        let created = tx
            .execute(
                "INSERT INTO smelt_state (state_id, completed, partial, updated_at) \
                 VALUES ($1, '{}', '{}', $2) ON CONFLICT (state_id) DO NOTHING",
                &[&id, &now()],
            )
            .map_err(self.state_err(id, "lock state"))?;
        let current = if created == 1 {
            // Our placeholder, invisible to others and rolled back unless we commit.
            None
        } else {
            tx.query_opt(
                "SELECT completed, partial FROM smelt_state WHERE state_id = $1 FOR UPDATE",
                &[&id],
            )
            .and_then(|row| Ok(row.as_ref().map(stored).transpose()?))
            .map_err(self.state_err(id, "read state"))?
        };
        // On error the transaction is dropped, which rolls it back: nothing is written.
        let next = body(current)?;
        tx.execute(UPSERT, &[&id, &next.completed, &next.partial, &now()])
            .map_err(self.state_err(id, "write state"))?;
        tx.commit().map_err(self.state_err(id, "commit state"))
    }

    fn state_ids(&self) -> Result<Vec<String>, StateError> {
        self.state_client()?
            .query("SELECT state_id FROM smelt_state", &[])
            .and_then(|rows| {
                Ok(rows
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?)
            })
            .map_err(self.state_err("*", "list state IDs"))
    }

    fn delete_state(&self, id: &str) -> Result<(), StateError> {
        self.state_client()?
            .execute("DELETE FROM smelt_state WHERE state_id = $1", &[&id])
            .map_err(self.state_err(id, "clear state"))?;
        Ok(())
    }
}
