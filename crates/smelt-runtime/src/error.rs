//! Everything that can stop a run, phrased for the person who has to fix it.

use smelt_project::ProjectError;
use smelt_state::StateError;
use smelt_systemdb::DbError;

/// Why a `smelt run` (or one of its blocks) did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The project file is wrong; the message carries file:line:col.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// The block list cannot be turned into a plan (unknown name, loader missing, ...).
    #[error("{message}\n  hint: {hint}")]
    Blocks {
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// A plugin could not be started.
    #[error("cannot start {label} {plugin}: {message}\n  hint: {hint}")]
    Launch {
        /// "extractor", "loader", ...
        label: String,
        /// The plugin's name.
        plugin: String,
        /// What went wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// Another set of the run failed and `--fail-fast` stopped this one.
    #[error("stopped because another set of the run failed (--fail-fast)")]
    Cancelled,
    /// A plugin exited unsuccessfully.
    #[error("{label} {plugin} failed ({status}){detail}")]
    PluginFailed {
        /// "Extractor", "Loader", ... (capitalised: it starts the sentence).
        label: String,
        /// The plugin's name.
        plugin: String,
        /// "exit 2", "killed by signal 9 (SIGKILL)".
        status: String,
        /// Extra context such as the last lines it printed.
        detail: String,
    },
    /// The loader (or a mapper) stopped reading before its input ended.
    #[error("{label} {plugin} exited before reading all of its input ({status}); the plugins upstream of it were stopped")]
    EndedEarly {
        /// "Loader" or "Mapper".
        label: String,
        /// The plugin's name.
        plugin: String,
        /// How it ended.
        status: String,
    },
    /// A message line exceeded `elt.buffer_size`.
    #[error("{plugin} wrote a message line longer than {limit} bytes\n  hint: raise `elt.buffer_size` in meltano.yml (or set MELTANO_ELT_BUFFER_SIZE), e.g. to {suggested}")]
    LineTooLong {
        /// The plugin whose output had the long line.
        plugin: String,
        /// The limit in force.
        limit: usize,
        /// A bigger value to try.
        suggested: usize,
    },
    /// Moving bytes between two plugins failed for a reason other than a plugin exiting.
    #[error("relaying output of {plugin} failed: {message}")]
    Relay {
        /// The plugin whose output was being relayed.
        plugin: String,
        /// What failed.
        message: String,
    },
    /// smelt received SIGINT or SIGTERM and stopped the run.
    #[error("run interrupted by signal {0}; every plugin was stopped")]
    Signalled(i32),
    /// `--timeout` elapsed.
    #[error("run timed out after {0} seconds; every plugin was stopped")]
    Timeout(u64),
    /// `--run-id` names a run that already happened; reusing it would overwrite that run's
    /// log and confuse its record, so nothing is started.
    #[error("run ID {run_id} is already used: {detail}\n  hint: leave out --run-id to get a fresh one, or pass an ID no earlier run used")]
    RunIdInUse {
        /// The ID given.
        run_id: String,
        /// Where it was found (the system database, an existing log file).
        detail: String,
    },
    /// A chain's consumer has what it needed (e.g. `config test`'s first RECORD) and asks the
    /// supervisor to stop the plugins upstream; not a failure, never logged as one.
    #[error("the consumer stopped the plugins after getting what it needed")]
    ConsumerDone,
    /// Reading or writing state failed.
    #[error("state {state_id}: {source}")]
    State {
        /// The state ID involved.
        state_id: String,
        /// The backend's error.
        #[source]
        source: StateError,
    },
    /// The system database refused or failed (includes "already running").
    #[error(transparent)]
    Db(#[from] DbError),
    /// A project setting has a value smelt cannot use.
    #[error("{message}\n  hint: {hint}")]
    Setting {
        /// What is wrong, naming the setting.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// Another run of the same pipeline holds the state ID.
    #[error("another run of {state_id} is in progress ({detail})\n  hint: wait for it to finish, or pass --force if you are sure it is gone")]
    AlreadyRunning {
        /// The state ID.
        state_id: String,
        /// Where the claim is and since when.
        detail: String,
    },
    /// A filesystem operation smelt itself needed failed.
    #[error("{context}: {source}")]
    Io {
        /// What smelt was doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl RunError {
    /// The process exit code this error maps to (DESIGN.md §2): 2 for usage errors, 128+n for
    /// signals, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Blocks { .. } | RunError::RunIdInUse { .. } => 2,
            RunError::Signalled(sig) => crate::signals::exit_code_for(*sig),
            _ => 1,
        }
    }

    /// The timeout error for a run given `timeout`: the seconds the user asked for, rounded up
    /// (never 0 for a sub-second timeout), not the time one block happened to run.
    pub fn timed_out_after(timeout: std::time::Duration) -> Self {
        let secs = timeout
            .as_secs()
            .saturating_add(u64::from(timeout.subsec_nanos() > 0));
        RunError::Timeout(secs)
    }

    /// Shorthand for an I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RunError::Io {
            context: context.into(),
            source,
        }
    }
}
