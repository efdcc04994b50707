//! Job state stored in the system database (`state_backend.uri: systemdb`, the default).

use std::sync::Arc;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde_json::Value;
use smelt_state::{
    compile_pattern, pattern_matches, validate_state_id, JobState, StateBackend, StateError,
};

use crate::time::{now, to_db};
use crate::{DbError, SystemDb};

/// The [`StateBackend`] view of a [`SystemDb`]: one row per state ID in the `state` table.
///
/// Updates run in `BEGIN IMMEDIATE` transactions, so concurrent smelt processes sharing the
/// database serialize instead of losing each other's writes.
#[derive(Debug, Clone)]
pub struct SystemDbStateBackend {
    db: Arc<SystemDb>,
}

impl SystemDbStateBackend {
    /// A state backend over `db`.
    pub fn new(db: Arc<SystemDb>) -> Self {
        SystemDbStateBackend { db }
    }

    fn location(&self, id: &str) -> String {
        format!("{} (state ID {id})", self.name())
    }

    /// Map a database error to a state error, turning "database is busy" into
    /// [`StateError::Locked`].
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
                    lock_path: self.db.path().display().to_string(),
                    locked_at: None,
                    waited: crate::BUSY_TIMEOUT,
                }
            } else {
                let err = DbError::Sqlite {
                    path: self.db.path().to_path_buf(),
                    action,
                    source: e,
                };
                StateError::Backend(err.to_string())
            }
        }
    }

    fn read(&self, tx: &Transaction<'_>, id: &str) -> Result<Option<JobState>, StateError> {
        let row: Option<(String, String)> = tx
            .query_row(
                "SELECT completed, partial FROM state WHERE state_id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(self.state_err(id, "read state"))?;
        let Some((completed, partial)) = row else {
            return Ok(None);
        };
        let parse = |half: &str, text: &str| {
            serde_json::from_str::<Value>(text).map_err(|e| StateError::Corrupt {
                location: self.location(id),
                reason: format!("\"{half}\" is not valid JSON ({e})"),
            })
        };
        let state =
            JobState::from_parts(parse("completed", &completed)?, parse("partial", &partial)?)
                .map_err(|e| e.located(self.location(id)))?;
        Ok(Some(state))
    }

    fn write(&self, tx: &Transaction<'_>, id: &str, state: &JobState) -> Result<(), StateError> {
        let encode = |v: &Value| {
            serde_json::to_string(v)
                .map_err(|e| StateError::Backend(format!("could not encode state for {id}: {e}")))
        };
        tx.execute(
            "INSERT INTO state (state_id, completed, partial, updated_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (state_id) DO UPDATE SET completed = excluded.completed, \
             partial = excluded.partial, updated_at = excluded.updated_at",
            params![
                id,
                encode(&state.completed)?,
                encode(&state.partial)?,
                to_db(now())
            ],
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
        let mut conn = self.db.conn();
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(self.state_err(id, "start a transaction"))?;
        let out = body(&tx)?;
        tx.commit().map_err(self.state_err(id, "commit state"))?;
        Ok(out)
    }
}

impl SystemDb {
    /// This database as a [`StateBackend`] (the `systemdb` state backend).
    pub fn state_backend(self: &Arc<Self>) -> Arc<dyn StateBackend> {
        Arc::new(SystemDbStateBackend::new(Arc::clone(self)))
    }
}

impl StateBackend for SystemDbStateBackend {
    fn name(&self) -> String {
        format!("systemdb ({})", self.db.path().display())
    }

    fn get(&self, id: &str) -> Result<Option<JobState>, StateError> {
        validate_state_id(id)?;
        self.in_tx(id, TransactionBehavior::Deferred, |tx| self.read(tx, id))
    }

    fn set(&self, id: &str, state: &JobState) -> Result<(), StateError> {
        validate_state_id(id)?;
        self.in_tx(id, TransactionBehavior::Immediate, |tx| {
            self.write(tx, id, state)
        })
    }

    fn update(
        &self,
        id: &str,
        f: &mut dyn FnMut(Option<JobState>) -> Result<JobState, StateError>,
    ) -> Result<JobState, StateError> {
        validate_state_id(id)?;
        self.in_tx(id, TransactionBehavior::Immediate, |tx| {
            let current = self.read(tx, id)?;
            let next = f(current)?;
            self.write(tx, id, &next)?;
            Ok(next)
        })
    }

    fn list(&self, pattern: Option<&str>) -> Result<Vec<String>, StateError> {
        let pattern = compile_pattern(pattern)?;
        let conn = self.db.conn();
        let ids: Vec<String> = {
            let mut stmt = conn
                .prepare("SELECT state_id FROM state ORDER BY state_id")
                .map_err(self.state_err("*", "list state IDs"))?;
            let rows = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(self.state_err("*", "list state IDs"))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(self.state_err("*", "list state IDs"))?
        };
        Ok(ids
            .into_iter()
            .filter(|id| pattern_matches(pattern.as_ref(), id))
            .collect())
    }

    fn clear(&self, id: &str) -> Result<(), StateError> {
        validate_state_id(id)?;
        self.in_tx(id, TransactionBehavior::Immediate, |tx| {
            tx.execute("DELETE FROM state WHERE state_id = ?1", [id])
                .map_err(self.state_err(id, "clear state"))?;
            Ok(())
        })
    }

    // The runs table is this backend's duplicate-run guard (SystemDb::begin_run), and every
    // write is its own transaction, so a run needs no separate claim.
    fn claim_run(&self, id: &str, _force: bool) -> Result<(), StateError> {
        validate_state_id(id)
    }

    fn refresh_run(&self, _id: &str) -> Result<(), StateError> {
        Ok(())
    }

    fn release_run(&self, _id: &str) -> Result<(), StateError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
