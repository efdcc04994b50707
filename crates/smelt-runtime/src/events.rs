//! Typed run events: what the runtime tells the coordinator while a run happens.
//!
//! Every part of a run (the runner, each extract-load set, each supervisor) reports through a
//! [`crate::log::Logger`] routed to the run's [`crate::coordinator::Coordinator`]; the logger wraps
//! each event in an [`Envelope`] saying when it happened and which set it belongs to. Only the
//! coordinator turns events into output (console, the run's log file, the summary), so lines of
//! concurrent sets never interleave mid-line and the log file is owned by one run.

use std::sync::Arc;

use crate::log::LogLevel;
use crate::report::BlockReport;

/// One thing that happened during a run.
#[derive(Debug)]
pub enum RunEvent {
    /// A log line: smelt's own message (`plugin` None) or a line a plugin wrote to stderr.
    Log {
        /// Its level.
        level: LogLevel,
        /// The plugin that said it, if any.
        plugin: Option<String>,
        /// The text, without its line end.
        message: String,
    },
    /// A block (extract-load set or command) started; `index` is its position in the plan.
    BlockStarted {
        /// Position in the plan, from 0.
        index: usize,
        /// The block as written.
        block: String,
    },
    /// A loader acknowledged a state, and it was persisted (or deliberately not, without an ID).
    StateAcknowledged {
        /// The state ID it was written under, if any.
        state_id: Option<String>,
    },
    /// A plugin process ended.
    PluginExited {
        /// The stage's name.
        plugin: String,
        /// Its exit code, None when a signal ended it.
        code: Option<i32>,
    },
    /// A block ended; its report goes into the summary.
    BlockFinished {
        /// Position in the plan, from 0.
        index: usize,
        /// What it did.
        report: BlockReport,
    },
    /// The run is over: sinks flush, and the coordinator stops reading.
    RunFinished,
}

/// An event with its time and the set it belongs to.
#[derive(Debug)]
pub struct Envelope {
    /// When it happened (UTC).
    pub at: chrono::DateTime<chrono::Utc>,
    /// The set's label (`tap-a→target-b`) when the run has concurrent sets, else None.
    pub set: Option<Arc<str>>,
    /// What happened.
    pub event: RunEvent,
}
