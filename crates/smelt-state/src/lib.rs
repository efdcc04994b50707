//! Job state, Meltano-compatible.
//!
//! A pipeline's state (one per state ID, `<env>:<tap>-to-<target>[:<suffix>]`) is stored as
//! Meltano stores it: `{"completed": {"singer_state": …}, "partial": {…}}`. This crate holds:
//!
//! * the model and its run rules ([`JobState`], [`StateStrategy`], [`merge_values`]),
//! * state IDs ([`state_id`], [`validate_state_id`]),
//! * the [`StateBackend`] trait every storage place implements, and
//! * the local directory backend ([`FileStateBackend`]), byte-compatible with Meltano's.
//!
//! It knows nothing about SQLite or cloud stores; those backends live in their own crates.

mod backend;
mod error;
mod file;
mod job_state;
mod limits;
pub mod lock_time;
mod merge;
pub mod ops;
pub mod pyjson;
mod state_id;
mod strategy;

pub use backend::{compile_pattern, pattern_matches, StateBackend};
pub use error::StateError;
pub use file::{FileStateBackend, DEFAULT_LOCK_RETRY, DEFAULT_LOCK_TIMEOUT, STATE_FILE};
pub use job_state::{JobState, SINGER_STATE_KEY};
pub use limits::{check_size, json_depth, MAX_STATE_BYTES, MAX_STATE_DEPTH};
pub use merge::{is_truthy, merge_into, merge_values};
pub use state_id::{state_id, validate_state_id, MAX_STATE_ID_BYTES, STATE_ID_DELIMITER};
pub use strategy::StateStrategy;

/// Names the kind of a JSON value for error messages ("an array", "a string", ...).
pub(crate) use smelt_singer::json_value::json_type_name as json_kind;
