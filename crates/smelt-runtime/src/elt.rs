//! Runs one extract-load set: extractor → mappers → loader, with state in and state out.
//!
//! State flow (DESIGN.md §3): the extractor gets the stored state (completed merged with
//! partial); every line the loader prints is an acknowledged state and is written to the state
//! backend as partial state before the next line is read; when the whole set succeeds the
//! partial state is folded into completed. A failed run leaves what was acknowledged as partial,
//! so the next run resumes from it and completed state is never replaced by less.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::process::ChildStdout;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smelt_project::Plugin;
use smelt_state::{state_id, JobState, StateBackend, StateError, StateStrategy};
use smelt_systemdb::{local_hostname, NewRun, RunStatus};

use crate::blocks::EltSet;
use crate::catalog::{add_catalog_args, CatalogContext, CatalogOptions};
use crate::context::RunContext;
use crate::el::{extractor_state, ExtractorState};
use crate::error::RunError;
use crate::launch::{prepare, PreparedPlugin};
use crate::log::Logger;
use crate::rundir::RunDir;
use crate::state_store::LockSettings;
use crate::supervise::{read_line_bounded, run_chain, BoundedLine, ChainOptions, Sink, Stage};

/// How often a running set tells the system database it is alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// What one extract-load set did, for the summary.
#[derive(Debug, Clone, Default)]
pub struct SetReport {
    /// `<env>:<tap>-to-<target>[:<suffix>]`, or None without an environment.
    pub state_id: Option<String>,
    /// This set's run ID.
    pub run_id: String,
    /// The block as written: `tap → mapping → target`.
    pub pipeline: String,
    /// Records per stream the extractor produced.
    pub extracted: BTreeMap<String, u64>,
    /// Records per stream the loader received (differs when mappers filter or rename).
    pub loaded: BTreeMap<String, u64>,
    /// States the loader acknowledged.
    pub states_acked: u64,
    /// The last acknowledged state (for `--dry-run`-free debugging and tests).
    pub last_state: Option<serde_json::Value>,
    /// Wall time.
    pub duration: Duration,
    /// Where the loader wrote, when its config says (`destination_path`, `output_path`, ...).
    pub destination: Option<String>,
    /// Whether state was read and written.
    pub state_saved: bool,
    /// The error, when the set failed.
    pub error: Option<String>,
}

/// Runs `set`. The report is filled in even when the set fails.
pub fn run_elt(
    ctx: &RunContext,
    set: &EltSet,
    run_id: &str,
    rundir: &RunDir,
) -> (SetReport, Result<(), RunError>) {
    let started = Instant::now();
    let mut report = SetReport {
        run_id: run_id.to_string(),
        pipeline: set.to_string(),
        ..Default::default()
    };
    let suffix = ctx
        .options
        .state_id_suffix
        .clone()
        .or_else(|| ctx.project.state_id_suffix());
    report.state_id = match ctx.project.environment.as_deref() {
        _ if ctx.options.state_id.is_some() => ctx.options.state_id.clone(),
        Some(env) => match state_id(
            env,
            &set.extractor.name,
            &set.loader.name,
            suffix.as_deref(),
        ) {
            Ok(id) => Some(id),
            Err(source) => {
                let e = RunError::State {
                    state_id: format!("{env}:{}-to-{}", set.extractor.name, set.loader.name),
                    source,
                };
                report.error = Some(e.to_string());
                return (report, Err(e));
            }
        },
        None => None,
    };
    if report.state_id.is_none() {
        ctx.logger.warn("no environment is active, so state is neither read nor saved (use --environment or set default_environment)");
    }
    let result = run_recorded(ctx, set, run_id, rundir, &mut report);
    report.duration = started.elapsed();
    if let Err(e) = &result {
        report.error = Some(e.to_string());
    }
    (report, result)
}

fn run_recorded(
    ctx: &RunContext,
    set: &EltSet,
    run_id: &str,
    rundir: &RunDir,
    report: &mut SetReport,
) -> Result<(), RunError> {
    let Some(id) = report.state_id.clone() else {
        return run_pipeline(ctx, set, None, rundir, report);
    };
    let locks = LockSettings::from_settings(&ctx.settings);
    ctx.db.begin_run(&NewRun {
        state_id: id.clone(),
        run_id: run_id.to_string(),
        force: ctx.options.force,
        pid: std::process::id(),
        hostname: local_hostname(),
    })?;
    if let Err(e) = ctx.state.claim_run(&id, ctx.options.force) {
        let err = claim_error(&id, e);
        let _ = ctx.db.finish_run(
            run_id,
            RunStatus::Failed,
            &BTreeMap::new(),
            Some(&err.to_string()),
        );
        return Err(err);
    }
    let heartbeat = Heartbeat::start(
        ctx,
        run_id.to_string(),
        id.clone(),
        locks.refresh_interval(),
    );
    let result = run_pipeline(ctx, set, Some(&id), rundir, report);
    heartbeat.stop();
    if let Err(e) = ctx.state.release_run(&id) {
        ctx.logger
            .warn(&format!("could not release the run lock of {id}: {e}"));
    }
    let records = if report.loaded.is_empty() {
        &report.extracted
    } else {
        &report.loaded
    };
    let (status, err) = match &result {
        Ok(()) => (RunStatus::Success, None),
        Err(e) => (RunStatus::Failed, Some(e.to_string())),
    };
    if let Err(e) = ctx.db.finish_run(run_id, status, records, err.as_deref()) {
        ctx.logger
            .error(&format!("could not record the end of run {run_id}: {e}"));
        if result.is_ok() {
            return Err(e.into());
        }
    }
    result
}

fn run_pipeline(
    ctx: &RunContext,
    set: &EltSet,
    state_id: Option<&str>,
    rundir: &RunDir,
    report: &mut SetReport,
) -> Result<(), RunError> {
    let project = ctx.project;
    let mut tap = prepare(project, set.extractor, None, &set.extractor.name, rundir)?;
    let mut stages = Vec::new();
    let catalog_opts = CatalogOptions {
        refresh: ctx.options.refresh_catalog || ctx.options.full_refresh,
        select_filter: Vec::new(),
    };
    add_catalog_args(
        &CatalogContext::from_run(ctx),
        set.extractor,
        &mut tap,
        rundir,
        &catalog_opts,
    )?;
    let use_state = state_id.is_some() && !ctx.options.no_state_update;
    if let Some(id) = state_id {
        add_state_args(ctx, set.extractor, id, &mut tap, rundir)?;
    }
    stages.push(stage(tap));
    for m in &set.mappers {
        stages.push(stage(prepare(
            project,
            m.plugin,
            m.mapping,
            m.display_name(),
            rundir,
        )?));
    }
    let target = prepare(project, set.loader, None, &set.loader.name, rundir)?;
    // Plugins run in the project root, so a relative destination is relative to it.
    report.destination = destination_of(&target).map(|d| match std::path::Path::new(&d) {
        p if p.is_relative() && !d.contains("://") => project.root.join(p).display().to_string(),
        _ => d,
    });
    stages.push(stage(target));

    let strategy = ctx.options.state_strategy.resolve(ctx.options.full_refresh);
    let acks = Arc::new(std::sync::Mutex::new((0u64, None::<serde_json::Value>)));
    let sink: Sink = {
        let backend = Arc::clone(&ctx.state);
        let id = state_id.filter(|_| use_state).map(str::to_string);
        let log = ctx.logger.clone();
        let loader = set.loader.name.clone();
        let acks = Arc::clone(&acks);
        let limit = ctx.settings.buffer_size;
        Box::new(move |out: ChildStdout| {
            read_acks(
                out,
                limit,
                &loader,
                id.as_deref(),
                backend.as_ref(),
                strategy,
                &log,
                &acks,
            )
        })
    };
    let max_line = ctx.settings.buffer_size;
    let opts = ChainOptions {
        cwd: &project.root,
        max_line,
        deadline: ctx.deadline,
        logger: &ctx.logger,
        cancel: ctx.cancel.as_deref(),
    };
    // Discovery may have taken a while: start nothing once another set failed (--fail-fast).
    if ctx
        .cancel
        .as_deref()
        .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
    {
        return Err(RunError::Cancelled);
    }
    let mut outcome = run_chain(stages, &opts, sink)?;
    report.extracted = outcome.first_counts();
    report.loaded = outcome.last_counts();
    {
        let guard = acks.lock().unwrap_or_else(|e| e.into_inner());
        report.states_acked = guard.0;
        report.last_state = guard.1.clone();
    }
    let verdict = outcome.verdict();
    if let (Ok(()), true, Some(id)) = (&verdict, use_state, state_id) {
        ctx.state
            .update(id, &mut |s| {
                let mut s = s.unwrap_or_default();
                s.complete_run(strategy);
                Ok(s)
            })
            .map_err(|source| RunError::State {
                state_id: id.to_string(),
                source,
            })?;
        report.state_saved = true;
    } else if use_state && report.states_acked > 0 {
        report.state_saved = true;
        ctx.logger.warn(&format!(
            "run failed; the {} state(s) the loader acknowledged are kept as partial state, so the next run resumes from them",
            report.states_acked
        ));
    }
    verdict
}

fn stage(p: PreparedPlugin) -> Stage {
    Stage {
        name: p.name,
        label: p.label,
        spec: p.spec,
    }
}

/// Where a loader writes files, for the summary: a path-valued setting that is not a secret
/// and not a URL. Loaders writing to databases have none, so nothing of their config (hosts,
/// connection strings) is ever printed.
fn destination_of(p: &PreparedPlugin) -> Option<String> {
    [
        "destination_path",
        "output_path",
        "output_dir",
        "filepath",
        "file_path",
        "path",
    ]
    .iter()
    .filter(|k| !p.config.is_sensitive(k))
    .find_map(|k| {
        p.config
            .values
            .get(*k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty() && !v.contains("://") && !v.contains('@'))
            .map(str::to_string)
    })
}

/// Reads the loader's stdout: every non-empty line is an acknowledged state, persisted before
/// the next line is read. A line longer than `limit` (`elt.buffer_size`) fails the run rather
/// than being buffered whole, so smelt's memory stays bounded.
#[allow(clippy::too_many_arguments)]
fn read_acks(
    out: ChildStdout,
    limit: usize,
    loader: &str,
    state_id: Option<&str>,
    backend: &dyn StateBackend,
    strategy: StateStrategy,
    log: &Logger,
    acks: &std::sync::Mutex<(u64, Option<serde_json::Value>)>,
) -> Result<(), RunError> {
    let mut reader = BufReader::new(out);
    let mut line = Vec::new();
    loop {
        match read_line_bounded(&mut reader, &mut line, limit, false)
            .map_err(|e| RunError::io(format!("reading state from loader {loader}"), e))?
        {
            BoundedLine::Eof => return Ok(()),
            BoundedLine::Line => {}
            BoundedLine::Truncated { .. } => {
                return Err(RunError::LineTooLong {
                    plugin: format!("loader {loader} (state output)"),
                    limit,
                    suggested: limit.saturating_mul(4),
                })
            }
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => {
                log.warn(&format!("loader {loader} printed a line that is not a JSON state object; ignored: {:.120}", text));
                continue;
            }
        };
        if let Some(id) = state_id {
            backend
                .update(id, &mut |s| {
                    let mut s: JobState = s.unwrap_or_default();
                    s.record_ack(value.clone(), strategy);
                    Ok(s)
                })
                .map_err(|source| RunError::State {
                    state_id: id.to_string(),
                    source,
                })?;
        }
        log.debug(&format!("state acknowledged by {loader}"));
        log.event(crate::events::RunEvent::StateAcknowledged {
            state_id: state_id.map(str::to_string),
        });
        let mut guard = acks.lock().unwrap_or_else(|e| e.into_inner());
        guard.0 += 1;
        guard.1 = Some(value);
    }
}

/// Adds `--state` when the extractor supports it and there is state to resume from.
fn add_state_args(
    ctx: &RunContext,
    tap: &Plugin,
    id: &str,
    prepared: &mut PreparedPlugin,
    rundir: &RunDir,
) -> Result<(), RunError> {
    let path = match extractor_state(ctx, tap, id)? {
        Some(ExtractorState::File(path)) => path,
        Some(ExtractorState::Stored(singer_state)) => {
            ctx.logger.info(&format!("resuming {id} from stored state"));
            let bytes = serde_json::to_vec(&singer_state)
                .map_err(|e| RunError::io("serialising state", e.into()))?;
            rundir
                .write_file(&tap.name, "state.json", &bytes)
                .map_err(|e| RunError::io("writing state file", e))?
        }
        None if tap.has_capability("state") && !ctx.options.full_refresh => {
            ctx.logger.info(&if ctx.options.no_state_update {
                format!("--no-state-update: {id}'s stored state is not used")
            } else {
                format!("no state found for {id}: starting from scratch")
            });
            return Ok(());
        }
        None => return Ok(()),
    };
    prepared.spec.args.push("--state".into());
    prepared.spec.args.push(path.into_os_string());
    Ok(())
}

/// A refused claim means another run holds the state ID; anything else is a state error.
fn claim_error(id: &str, e: StateError) -> RunError {
    match e {
        StateError::Locked {
            lock_path,
            locked_at,
            ..
        } => RunError::AlreadyRunning {
            state_id: id.to_string(),
            detail: match locked_at {
                Some(t) => format!("lock {lock_path} taken at {t}"),
                None => format!("lock {lock_path}"),
            },
        },
        source => RunError::State {
            state_id: id.to_string(),
            source,
        },
    }
}

/// Until stopped, tells the system database the run is alive and re-stamps the state ID's run
/// claim, so neither a crashed smelt's run nor its lock is mistaken for a live one.
struct Heartbeat {
    stop: std::sync::mpsc::Sender<()>,
    handle: std::thread::JoinHandle<()>,
}

impl Heartbeat {
    fn start(
        ctx: &RunContext,
        run_id: String,
        state_id: String,
        claim_refresh: Duration,
    ) -> Heartbeat {
        let (stop, rx) = std::sync::mpsc::channel::<()>();
        let db = Arc::clone(&ctx.db);
        let state = Arc::clone(&ctx.state);
        let log = ctx.logger.clone();
        let tick = claim_refresh.min(HEARTBEAT_EVERY);
        let handle = std::thread::spawn(move || {
            let mut last_db = Instant::now();
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(tick) {
                if let Err(e) = state.refresh_run(&state_id) {
                    log.warn(&format!(
                        "could not refresh the run lock of {state_id}: {e}"
                    ));
                }
                if last_db.elapsed() >= HEARTBEAT_EVERY {
                    last_db = Instant::now();
                    if let Err(e) = db.heartbeat(&run_id) {
                        log.warn(&format!("heartbeat for run {run_id} failed: {e}"));
                    }
                }
            }
        });
        Heartbeat { stop, handle }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.join();
    }
}
