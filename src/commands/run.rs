//! `smelt run BLOCK…`: parse the blocks, run them, print the summary.

use std::time::{Duration, Instant};

use smelt_runtime::error::RunError;
use smelt_runtime::{parse_blocks, run_blocks, summary, Block, RunContext, RunOptions};

use super::print_out;
use crate::cli::{Cli, RunArgs};
use crate::project_context::{
    load_project, logger, open_systemdb_by, project_settings, run_context, CliError,
};

/// Runs the blocks and returns the exit code.
pub fn run(cli: &Cli, args: &RunArgs) -> Result<i32, CliError> {
    let logger = logger(cli)?;
    let mut project = load_project(cli)?;
    // --timeout also bounds waiting for the system database.
    let timeout = args.timeout.map(Duration::from_secs);
    let deadline = timeout.map(|t| Instant::now() + t);
    let db = open_systemdb_by(&mut project, deadline).map_err(|e| match (timeout, deadline) {
        (Some(t), Some(d)) if Instant::now() >= d => CliError::fail(format!(
            "{} (while waiting for the system database: {})",
            RunError::timed_out_after(t),
            e.message
        )),
        _ => e,
    })?;
    let settings = project_settings(&project)?;
    let project = project;
    let blocks = parse_blocks(&project, &args.blocks).map_err(|e| CliError {
        code: e.exit_code(),
        message: e.to_string(),
    })?;
    if !args.dry_run {
        if let Some(code) =
            crate::auto_install::prepare(&project, &block_plugins(&blocks), &args.install)?
        {
            return Ok(code);
        }
    }
    if args.dry_run {
        let mut plan = String::from("Dry run: nothing will be executed.\n");
        plan += &format!(
            "Environment: {}",
            project
                .environment
                .as_deref()
                .unwrap_or("(none: state is not saved)")
        );
        for (i, b) in blocks.iter().enumerate() {
            plan += &format!("\n  {}. {b}", i + 1);
        }
        print_out(&plan)?;
        return Ok(0);
    }
    let state_strategy = args.state_strategy;
    if let Some(id) = &args.run_id {
        uuid_like(id)?;
    }
    let timeout = args.timeout.map(Duration::from_secs);
    let options = RunOptions {
        full_refresh: args.full_refresh,
        no_state_update: args.no_state_update,
        state_strategy,
        force: args.force,
        run_id: args.run_id.clone(),
        state_id_suffix: args.state_id_suffix.clone(),
        timeout,
        refresh_catalog: args.refresh_catalog,
        state_id: None,
        jobs: usize::from(parallelism(&project, args)),
        fail_fast: args.fail_fast,
    };
    let ctx = run_context(&project, logger, db, settings, options)?;
    run_and_summarise(&ctx, &blocks)
}

/// `--jobs`, else the largest parallelism the named jobs declare, else 1 (serial, as Meltano).
fn parallelism(project: &smelt_project::Project, args: &RunArgs) -> u16 {
    args.jobs.unwrap_or_else(|| {
        args.blocks
            .iter()
            .filter_map(|name| project.find_job(name))
            .filter_map(|job| job.parallelism)
            .max()
            .unwrap_or(1)
    })
}

/// Every plugin the blocks run (extractor, mappers, loader, command plugins), for auto-install.
pub(crate) fn block_plugins<'p>(blocks: &[Block<'p>]) -> Vec<&'p smelt_project::Plugin> {
    let mut out = Vec::new();
    for b in blocks {
        match b {
            Block::Elt(set) => {
                out.push(set.extractor);
                out.extend(set.mappers.iter().map(|m| m.plugin));
                out.push(set.loader);
            }
            Block::Command(c) => out.push(c.plugin),
        }
    }
    out
}

/// Runs `blocks`, prints the summary and turns the outcome into an exit code (`run`, `el`).
pub(crate) fn run_and_summarise(ctx: &RunContext, blocks: &[Block]) -> Result<i32, CliError> {
    let (report, result) = run_blocks(ctx, blocks);
    // The run has happened either way; a closed stdout must not change its exit code. A
    // refused run ID started nothing, and its summary would point at the earlier run's log.
    if !matches!(result, Err(RunError::RunIdInUse { .. })) {
        let _ = print_out(summary::render(&report, result.is_ok()).trim_end());
    }
    result.map(|()| 0).map_err(|e| CliError {
        code: e.exit_code(),
        message: e.to_string(),
    })
}

/// Run IDs end up in paths and database keys: accept only UUID-shaped text.
pub(crate) fn uuid_like(id: &str) -> Result<(), CliError> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "--run-id '{id}' is not a UUID (hex digits and dashes)"
        )))
    }
}
