//! `smelt run`: executes a plan of blocks in order, stopping at the first failure.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smelt_project::{Project, ProjectSettings};
use smelt_state::{StateBackend, StateStrategy};
use smelt_systemdb::SystemDb;

use crate::blocks::Block;
use crate::command_block::{run_command, CommandReport};
use crate::elt::{run_elt, SetReport};
use crate::error::RunError;
use crate::log::Logger;
use crate::rundir::RunDir;
use crate::signals;

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
}

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

/// Runs `blocks` in order. Returns the report (always) and the first error.
pub fn run_blocks(ctx: &RunContext, blocks: &[Block]) -> (RunReport, Result<(), RunError>) {
    let started = Instant::now();
    let run_id = ctx
        .options
        .run_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let log_file = ctx
        .project
        .sys_dir
        .join("logs")
        .join("run")
        .join(format!("{run_id}.log"));
    let mut report = RunReport {
        run_id: run_id.clone(),
        blocks: Vec::new(),
        skipped: Vec::new(),
        log_file: log_file.clone(),
        duration: Duration::ZERO,
    };
    if ctx.options.run_id.is_some() {
        // A reused ID would truncate the earlier run's log and mix up its record: refuse before
        // touching anything.
        if let Err(e) = refuse_used_run_id(ctx, blocks, &run_id, &log_file) {
            report.duration = started.elapsed();
            return (report, Err(e));
        }
    }
    if let Err(e) = ctx.logger.attach_file(&log_file) {
        ctx.logger.warn(&format!(
            "cannot write the run log {}: {e}",
            log_file.display()
        ));
    }
    let mut result = run_all(ctx, blocks, &run_id, &mut report);
    if let (Err(RunError::Timeout(_)), Some(timeout)) = (&result, ctx.options.timeout) {
        // The supervisor only knows how long its own block ran; say what the user set.
        result = Err(RunError::timed_out_after(timeout));
    }
    if let Err(e) = &result {
        ctx.logger.error(&e.to_string());
    }
    ctx.logger.detach_file();
    report.duration = started.elapsed();
    (report, result)
}

fn run_all(
    ctx: &RunContext,
    blocks: &[Block],
    run_id: &str,
    report: &mut RunReport,
) -> Result<(), RunError> {
    signals::install().map_err(|e| RunError::io("installing signal handlers", e))?;
    signals::arm_exit_deadline(ctx.deadline);
    let rundir = RunDir::create(&ctx.project.sys_dir, run_id).map_err(|e| {
        RunError::io(
            format!(
                "creating the run directory under {}",
                ctx.project.sys_dir.display()
            ),
            e,
        )
    })?;
    let elt_sets = blocks.iter().filter(|b| matches!(b, Block::Elt(_))).count();
    let mut elt_index = 0;
    for (i, block) in blocks.iter().enumerate() {
        if let Some(sig) = signals::received() {
            skip_rest(report, &blocks[i..]);
            return Err(RunError::Signalled(sig));
        }
        ctx.logger
            .info(&format!("block {}/{}: {block}", i + 1, blocks.len()));
        let result = match block {
            Block::Elt(set) => {
                elt_index += 1;
                let set_run_id = if elt_sets == 1 {
                    run_id.to_string()
                } else {
                    format!("{run_id}-{elt_index}")
                };
                let (r, res) = run_elt(ctx, set, &set_run_id, &rundir);
                report.blocks.push(BlockReport::Elt(Box::new(r)));
                res
            }
            Block::Command(step) => {
                let (r, res) = run_command(ctx, step);
                report.blocks.push(BlockReport::Command(r));
                res
            }
        };
        if let Err(e) = result {
            skip_rest(report, &blocks[i + 1..]);
            return Err(e);
        }
    }
    Ok(())
}

/// Fails with [`RunError::RunIdInUse`] when `run_id` (or the per-set IDs `<run_id>-<n>` a
/// multi-set run records) is already in the system database, or its log file already exists.
fn refuse_used_run_id(
    ctx: &RunContext,
    blocks: &[Block],
    run_id: &str,
    log_file: &std::path::Path,
) -> Result<(), RunError> {
    let sets = blocks.iter().filter(|b| matches!(b, Block::Elt(_))).count();
    let mut ids = vec![run_id.to_string()];
    if sets > 1 {
        ids.extend((1..=sets).map(|n| format!("{run_id}-{n}")));
    }
    for id in &ids {
        if let Some(old) = ctx.db.run(id)? {
            return Err(RunError::RunIdInUse {
                run_id: run_id.to_string(),
                detail: format!(
                    "the system database records run {id} of {} ({}, started {})",
                    old.state_id,
                    old.status.as_str(),
                    old.started_at.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            });
        }
    }
    if log_file.exists() {
        return Err(RunError::RunIdInUse {
            run_id: run_id.to_string(),
            detail: format!("its log {} already exists", log_file.display()),
        });
    }
    Ok(())
}

fn skip_rest(report: &mut RunReport, rest: &[Block]) {
    report.skipped.extend(rest.iter().map(|b| b.to_string()));
}
