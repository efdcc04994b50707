//! Job state stored in the system database (`state_backend.uri: systemdb`, the default), on
//! either engine.

use std::sync::Arc;

use serde_json::Value;
use smelt_state::{
    compile_pattern, pattern_matches, validate_state_id, JobState, StateBackend, StateError,
};

use crate::engine::StoredState;
use crate::SystemDb;

/// The [`StateBackend`] view of a [`SystemDb`]: one row per state ID in its state table.
///
/// Every write is a transaction; `update` serializes with every other update of the same ID
/// in any process (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: `SELECT … FOR UPDATE` on the row),
/// so concurrent smelt processes never lose each other's writes.
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

    /// Parse a stored row; unreadable text or a wrong shape is [`StateError::Corrupt`].
    fn decode(&self, id: &str, stored: StoredState) -> Result<JobState, StateError> {
        let parse = |half: &str, text: &str| {
            serde_json::from_str::<Value>(text).map_err(|e| StateError::Corrupt {
                location: self.location(id),
                reason: format!("\"{half}\" is not valid JSON ({e})"),
            })
        };
        JobState::from_parts(
            parse("completed", &stored.completed)?,
            parse("partial", &stored.partial)?,
        )
        .map_err(|e| e.located(self.location(id)))
    }

    /// Serialise a state for its row, refusing (before anything is written) one over
    /// smelt's state limits ([`smelt_state::MAX_STATE_DEPTH`], [`smelt_state::MAX_STATE_BYTES`]),
    /// so every stored row can be read back.
    fn encode(id: &str, state: &JobState) -> Result<StoredState, StateError> {
        state.check_depth()?;
        let encode = |v: &Value| {
            serde_json::to_string(v)
                .map_err(|e| StateError::Backend(format!("could not encode state for {id}: {e}")))
        };
        let stored = StoredState {
            completed: encode(&state.completed)?,
            partial: encode(&state.partial)?,
        };
        smelt_state::check_size(stored.completed.len() + stored.partial.len())?;
        Ok(stored)
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
        format!("systemdb ({})", self.db.location())
    }

    fn get(&self, id: &str) -> Result<Option<JobState>, StateError> {
        validate_state_id(id)?;
        self.db
            .engine()
            .read_state(id)?
            .map(|stored| self.decode(id, stored))
            .transpose()
    }

    fn set(&self, id: &str, state: &JobState) -> Result<(), StateError> {
        validate_state_id(id)?;
        self.db.engine().write_state(id, &Self::encode(id, state)?)
    }

    fn update(
        &self,
        id: &str,
        f: &mut dyn FnMut(Option<JobState>) -> Result<JobState, StateError>,
    ) -> Result<JobState, StateError> {
        validate_state_id(id)?;
        let mut stored_next = None;
        self.db.engine().update_state(id, &mut |current| {
            let current = current.map(|c| self.decode(id, c)).transpose()?;
            let next = f(current)?;
            let encoded = Self::encode(id, &next)?;
            stored_next = Some(next);
            Ok(encoded)
        })?;
        stored_next.ok_or_else(|| {
            StateError::Backend(format!(
                "{}: the update of {id} committed without computing a state",
                self.name()
            ))
        })
    }

    fn list(&self, pattern: Option<&str>) -> Result<Vec<String>, StateError> {
        let pattern = compile_pattern(pattern)?;
        // Sorted here, byte-wise, so both engines list in the same order whatever the
        // database's collation.
        let mut ids = self.db.engine().state_ids()?;
        ids.retain(|id| pattern_matches(pattern.as_ref(), id));
        ids.sort();
        Ok(ids)
    }

    fn clear(&self, id: &str) -> Result<(), StateError> {
        validate_state_id(id)?;
        self.db.engine().delete_state(id)
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
