//! What every block of a run shares: the project, the state backend, the system database, the
//! settings, the flags and the logger. Its own module so the pieces of a run (sets, command
//! blocks, catalog discovery) depend on it rather than on the runner that drives them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smelt_project::{Project, ProjectSettings};
use smelt_state::{StateBackend, StateStrategy};
use smelt_systemdb::SystemDb;

use crate::log::Logger;

/// The run flags, as Meltano's `run` has them.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Ignore stored state; the new state replaces it on success.
    pub full_refresh: bool,
    /// Read state as usual but never write it (Meltano's `--no-state-update`).
    pub no_state_update: bool,
    /// How acknowledged states combine with stored ones.
    pub state_strategy: StateStrategy,
    /// Run even if another run of the same state ID looks alive.
    pub force: bool,
    /// Use this run ID instead of a fresh UUID.
    pub run_id: Option<String>,
    /// Appended to state IDs (`--state-id-suffix`), over the environment's `state_id_suffix`.
    pub state_id_suffix: Option<String>,
    /// Stop everything after this long.
    pub timeout: Option<Duration>,
    /// Run catalog discovery even when the cached catalog is still valid (`--refresh-catalog`).
    pub refresh_catalog: bool,
    /// Use this state ID verbatim for every extract-load set, with or without an environment
    /// (`el --state-id`, and `el`'s ephemeral ID), instead of `<env>:<tap>-to-<target>`.
    pub state_id: Option<String>,
    /// How many extract-load sets may run at once (`--jobs`); 0 and 1 both mean one.
    pub jobs: usize,
    /// With `--jobs` > 1, stop every set when one fails (`--fail-fast`).
    pub fail_fast: bool,
}

/// Everything a block needs: the project, where state lives, the log and the flags.
pub struct RunContext<'a> {
    /// The loaded project.
    pub project: &'a Project,
    /// smelt's log.
    pub logger: Logger,
    /// Where state is read and written.
    pub state: Arc<dyn StateBackend>,
    /// Run records.
    pub db: Arc<SystemDb>,
    /// The project settings, resolved and validated before anything started.
    pub settings: ProjectSettings,
    /// The flags.
    pub options: RunOptions,
    /// When `--timeout` expires, computed once at the start.
    pub deadline: Option<Instant>,
    /// Set when the run's other sets must stop (`--fail-fast` after a failure); supervisors
    /// poll it. None outside a concurrent group.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl<'a> RunContext<'a> {
    /// This context with another logger and cancel flag (one set of a concurrent group, or the
    /// whole run routed to its coordinator).
    pub(crate) fn scoped(&self, logger: Logger, cancel: Option<Arc<AtomicBool>>) -> RunContext<'a> {
        RunContext {
            project: self.project,
            logger,
            state: Arc::clone(&self.state),
            db: Arc::clone(&self.db),
            settings: self.settings.clone(),
            options: self.options.clone(),
            deadline: self.deadline,
            cancel,
        }
    }
}
