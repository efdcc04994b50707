//! `smelt run`: executes a plan of blocks, reporting through one coordinator.
//!
//! Blocks run in plan order, except that with `--jobs N` (N > 1) consecutive extract-load sets
//! run concurrently, at most N at a time ([`crate::plan`]); a command block is a barrier. With
//! one job the first failure stops the run (Meltano's behaviour); with more, a failed set does
//! not stop the others of its group unless `--fail-fast`, and nothing after the group starts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::blocks::{Block, EltSet};
use crate::command_block::run_command;
use crate::coordinator::Coordinator;
use crate::elt::run_elt;
use crate::error::RunError;
use crate::events::RunEvent;
use crate::plan::{steps, SetQueue, Step};
use crate::rundir::RunDir;
use crate::signals;

/// How often the set scheduler looks at signals while sets run.
const POLL: Duration = Duration::from_millis(50);

pub use crate::context::{RunContext, RunOptions};
pub use crate::report::{BlockReport, RunReport};

/// Runs `blocks` (see the module doc). Returns the report (always) and the first error in
/// plan order.
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
    let (file, file_error) = match open_run_log(&log_file) {
        Ok(f) => (Some(f), None),
        Err(e) => (None, Some(e)),
    };
    let coordinator = Coordinator::start(ctx.logger.clone(), file);
    let run = ctx.scoped(coordinator.logger(&ctx.logger), None);
    if let Some(e) = file_error {
        run.logger.warn(&format!(
            "cannot write the run log {}: {e}",
            log_file.display()
        ));
    }
    let (mut result, logged) = run_all(&run, blocks, &run_id, &mut report.skipped);
    if let (Err(RunError::Timeout(_)), Some(timeout)) = (&result, ctx.options.timeout) {
        // The supervisor only knows how long its own block ran; say what the user set.
        result = Err(RunError::timed_out_after(timeout));
    }
    if let (Err(e), false) = (&result, logged) {
        run.logger.error(&e.to_string());
    }
    drop(run);
    report.blocks = coordinator.finish().blocks;
    report.duration = started.elapsed();
    (report, result)
}

/// Creates the run's log file (0600: plugins may log connection details or data).
fn open_run_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::log::open_private(path)
}

/// Runs every step; returns the first error in plan order and whether it was already logged.
fn run_all(
    ctx: &RunContext,
    blocks: &[Block],
    run_id: &str,
    skipped: &mut Vec<String>,
) -> (Result<(), RunError>, bool) {
    if let Err(e) = signals::install() {
        return (Err(RunError::io("installing signal handlers", e)), false);
    }
    signals::arm_exit_deadline(ctx.deadline);
    let rundir = match RunDir::create(&ctx.project.sys_dir, run_id) {
        Ok(d) => d,
        Err(e) => {
            let context = format!(
                "creating the run directory under {}",
                ctx.project.sys_dir.display()
            );
            return (Err(RunError::io(context, e)), false);
        }
    };
    let run_ids = set_run_ids(blocks, run_id);
    let mut failure: Option<(Result<(), RunError>, bool)> = None;
    for step in steps(blocks) {
        let indices = match &step {
            Step::Sets(v) => v.clone(),
            Step::Command(i) => vec![*i],
        };
        if failure.is_some() {
            skipped.extend(indices.iter().map(|i| blocks[*i].to_string()));
            continue;
        }
        if let Some(sig) = signals::received() {
            skipped.extend(indices.iter().map(|i| blocks[*i].to_string()));
            failure = Some((Err(RunError::Signalled(sig)), false));
            continue;
        }
        match step {
            Step::Command(i) => {
                announce(ctx, blocks, i);
                let Block::Command(c) = &blocks[i] else {
                    continue;
                };
                let (r, res) = run_command(ctx, c);
                ctx.logger.event(RunEvent::BlockFinished {
                    index: i,
                    report: BlockReport::Command(r),
                });
                if res.is_err() {
                    failure = Some((res, false));
                }
            }
            Step::Sets(v) => {
                let group = SetGroup {
                    ctx,
                    blocks,
                    run_ids: &run_ids,
                    rundir: &rundir,
                };
                if let Some(f) = group.run(&v, skipped) {
                    failure = Some(f);
                }
            }
        }
    }
    failure.unwrap_or((Ok(()), false))
}

/// Logs `block i/n: …` and reports the start.
fn announce(ctx: &RunContext, blocks: &[Block], i: usize) {
    ctx.logger
        .info(&format!("block {}/{}: {}", i + 1, blocks.len(), blocks[i]));
    ctx.logger.event(RunEvent::BlockStarted {
        index: i,
        block: blocks[i].to_string(),
    });
}

/// Each set's run ID: the invocation's for a single set, `<run_id>-<n>` (n counting sets from
/// 1 in plan order) when there are several. None for command blocks.
fn set_run_ids(blocks: &[Block], run_id: &str) -> Vec<Option<String>> {
    let sets = blocks.iter().filter(|b| matches!(b, Block::Elt(_))).count();
    let mut n = 0;
    blocks
        .iter()
        .map(|b| {
            matches!(b, Block::Elt(_)).then(|| {
                n += 1;
                if sets == 1 {
                    run_id.to_string()
                } else {
                    format!("{run_id}-{n}")
                }
            })
        })
        .collect()
}

/// The sets of one step and what they share.
struct SetGroup<'r, 'a> {
    ctx: &'r RunContext<'a>,
    blocks: &'r [Block<'a>],
    run_ids: &'r [Option<String>],
    rundir: &'r RunDir,
}

impl SetGroup<'_, '_> {
    /// Runs the sets at `indices`, at most `--jobs` at a time. Sets that never start go to
    /// `skipped`. Returns the first failure in plan order, and whether it was logged already.
    fn run(
        &self,
        indices: &[usize],
        skipped: &mut Vec<String>,
    ) -> Option<(Result<(), RunError>, bool)> {
        let ctx = self.ctx;
        let jobs = ctx.options.jobs.max(1);
        let concurrent = jobs > 1;
        let fail_fast = ctx.options.fail_fast || !concurrent;
        let cancel = Arc::new(AtomicBool::new(false));
        let mut queue = SetQueue::new(
            indices
                .iter()
                .filter_map(|&i| match &self.blocks[i] {
                    Block::Elt(set) => Some((i, state_key(ctx, set))),
                    Block::Command(_) => None,
                })
                .collect(),
        );
        let (tx, rx) = mpsc::channel::<(usize, Result<(), RunError>)>();
        let mut errors: Vec<(usize, RunError)> = Vec::new();
        std::thread::scope(|scope| {
            let mut running = 0usize;
            loop {
                let stopping = signals::received().is_some() || cancel.load(Ordering::SeqCst);
                while !stopping && running < jobs {
                    let Some(i) = queue.next_ready() else { break };
                    let Block::Elt(set) = &self.blocks[i] else {
                        continue;
                    };
                    announce(ctx, self.blocks, i);
                    let logger = if concurrent {
                        ctx.logger.for_set(&set_label(set))
                    } else {
                        ctx.logger.clone()
                    };
                    let set_ctx = ctx.scoped(logger, Some(Arc::clone(&cancel)));
                    let run_id = self.run_ids[i].clone().unwrap_or_default();
                    let rundir = self.rundir;
                    let tx = tx.clone();
                    scope.spawn(move || {
                        let (r, res) = run_elt(&set_ctx, set, &run_id, rundir);
                        if let (Err(e), true) = (&res, concurrent) {
                            set_ctx.logger.error(&e.to_string());
                        }
                        set_ctx.logger.event(RunEvent::BlockFinished {
                            index: i,
                            report: BlockReport::Elt(Box::new(r)),
                        });
                        let _ = tx.send((i, res));
                    });
                    running += 1;
                }
                if running == 0 && (stopping || queue.is_empty()) {
                    break;
                }
                // Every set ends on its own: its supervisor bounds it (signals, --timeout).
                match rx.recv_timeout(POLL) {
                    Ok((i, res)) => {
                        running -= 1;
                        queue.done(i);
                        if let Err(e) = res {
                            if fail_fast {
                                cancel.store(true, Ordering::SeqCst);
                            }
                            errors.push((i, e));
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        });
        let never_started = queue.drain();
        skipped.extend(never_started.iter().map(|i| self.blocks[*i].to_string()));
        // A signal decides the exit code, whichever set noticed it; otherwise plan order.
        errors.sort_by_key(|(i, _)| *i);
        let pick = errors
            .iter()
            .position(|(_, e)| matches!(e, RunError::Signalled(_)))
            .or((!errors.is_empty()).then_some(0));
        if let Some(p) = pick {
            return Some((Err(errors.swap_remove(p).1), concurrent));
        }
        match signals::received() {
            Some(sig) if !never_started.is_empty() => Some((Err(RunError::Signalled(sig)), false)),
            _ => None,
        }
    }
}

/// What identifies a set's state: sets with equal keys never run at once.
fn state_key(ctx: &RunContext, set: &EltSet) -> String {
    match &ctx.options.state_id {
        Some(id) => id.clone(),
        None => format!("{}-to-{}", set.extractor.name, set.loader.name),
    }
}

/// The prefix of a concurrent set's lines: `tap→target`.
fn set_label(set: &EltSet) -> String {
    format!("{}→{}", set.extractor.name, set.loader.name)
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
