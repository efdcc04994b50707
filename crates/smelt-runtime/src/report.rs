//! What a run did, block by block: filled in by the blocks, gathered by the coordinator,
//! rendered by [`crate::summary`].

use std::path::PathBuf;
use std::time::Duration;

use crate::command_block::CommandReport;
use crate::elt::SetReport;

/// What one block did.
#[derive(Debug, Clone)]
pub enum BlockReport {
    /// An extract-load set.
    Elt(Box<SetReport>),
    /// A command block.
    Command(CommandReport),
}

/// What the whole run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The invocation's run ID.
    pub run_id: String,
    /// One entry per block that started.
    pub blocks: Vec<BlockReport>,
    /// Blocks never started because an earlier one failed.
    pub skipped: Vec<String>,
    /// The run's log file.
    pub log_file: PathBuf,
    /// Wall time.
    pub duration: Duration,
}
