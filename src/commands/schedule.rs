//! `smelt schedule add|set|list|run|remove`: Meltano's schedule commands over
//! [`smelt_project::schedule_edit`]. `list` prints Meltano's lines and JSON byte for byte (the
//! Airflow DAG generator and dagster-meltano parse the JSON); `run` runs a job schedule as
//! `smelt run [ARGS…] JOB` and an ELT schedule as `smelt el EXTRACTOR LOADER
//! --state-id=<schedule> [ARGS…]`, in-process, with the schedule's `env` set.

use clap::Parser;
use serde_json::{json, Value};
use smelt_project::schedule_edit::{NewSchedule, ScheduleChange, ScheduleTarget};
use smelt_project::{Project, Schedule};
use smelt_state::pyjson::{dumps, PyJsonStyle};
use smelt_systemdb::{RunStatus, SystemDb};

use super::print_out;
use super::pyrepr::py_repr;
use crate::cli::{
    Cli, EltArgs, ListFormat, RunArgs, ScheduleAddArgs, ScheduleCommand, ScheduleRunArgs,
    ScheduleSetArgs,
};
use crate::project_context::{load_project, load_project_explicit_env, open_systemdb, CliError};

/// Runs a `schedule` subcommand other than `export` and `serve`.
pub fn run(cli: &Cli, cmd: &ScheduleCommand) -> Result<i32, CliError> {
    match cmd {
        ScheduleCommand::Add(args) => add(cli, args),
        ScheduleCommand::Set(args) => set(cli, args),
        ScheduleCommand::List { format } => list(cli, *format),
        ScheduleCommand::Run(args) => run_schedule(cli, args),
        ScheduleCommand::Remove { name } => {
            let project = load_project_explicit_env(cli, "schedule")?;
            project.remove_schedule(name).map_err(CliError::fail)?;
            Ok(0)
        }
        // `export` and `serve` are dispatched to their own modules before this.
        #[allow(unreachable_patterns)]
        _ => Err(CliError::fail(
            "internal error: schedule subcommand dispatched to the wrong module",
        )),
    }
}

fn add(cli: &Cli, args: &ScheduleAddArgs) -> Result<i32, CliError> {
    let mut extractor = args.extractor.clone();
    let mut loader = args.loader.clone();
    let mut interval = args.interval.clone();
    match args.legacy.as_slice() {
        [] => {}
        [e, l, i] if extractor.is_none() && loader.is_none() && interval.is_none() => {
            (extractor, loader, interval) = (Some(e.clone()), Some(l.clone()), Some(i.clone()));
        }
        _ => {
            return Err(CliError::usage(
                "give the schedule with --job or --extractor/--loader and --interval (or Meltano 1's `schedule add NAME EXTRACTOR LOADER INTERVAL`)",
            ))
        }
    }
    let Some(interval) = interval else {
        return Err(CliError::usage("Missing option '--interval'"));
    };
    let target = match (&args.job, extractor, loader) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(CliError::fail(
                "Cannot mix --job with --extractor/--loader/--transform",
            ))
        }
        (Some(job), None, None) if args.transform.is_none() => ScheduleTarget::Job(job.clone()),
        (Some(_), None, None) => {
            return Err(CliError::fail(
                "Cannot mix --job with --extractor/--loader/--transform",
            ))
        }
        (None, None, _) => return Err(CliError::usage("Missing --extractor")),
        (None, _, None) => return Err(CliError::usage("Missing --loader")),
        (None, Some(extractor), Some(loader)) => ScheduleTarget::Elt {
            extractor,
            loader,
            transform: args.transform.map_or("skip", |t| t.as_str()).to_string(),
        },
    };
    let kind = match target {
        ScheduleTarget::Job(_) => "job",
        ScheduleTarget::Elt { .. } => "elt",
    };
    let schedule = NewSchedule {
        name: args.name.clone(),
        interval,
        target,
    };
    let project = load_project_explicit_env(cli, "schedule")?;
    project.add_schedule(&schedule).map_err(CliError::fail)?;
    print_out(&format!(
        "Scheduled {kind} '{}' at {}",
        schedule.name, schedule.interval
    ))?;
    Ok(0)
}

fn set(cli: &Cli, args: &ScheduleSetArgs) -> Result<i32, CliError> {
    let project = load_project_explicit_env(cli, "schedule")?;
    let change = ScheduleChange {
        interval: args.interval.clone(),
        job: args.job.clone(),
        extractor: args.extractor.clone(),
        loader: args.loader.clone(),
        transform: args.transform.map(|t| t.as_str().to_string()),
    };
    project
        .set_schedule(&args.name, &change)
        .map_err(CliError::fail)?;
    print_out(&format!("Updated schedule '{}'", args.name))?;
    Ok(0)
}

/// Whether Meltano treats the schedule as a job schedule (a non-empty `job`).
fn is_job_schedule(s: &Schedule) -> bool {
    s.job.as_deref().is_some_and(|j| !j.is_empty())
}

fn list(cli: &Cli, format: ListFormat) -> Result<i32, CliError> {
    let mut project = load_project_explicit_env(cli, "schedule")?;
    let job_tasks = |project: &Project, s: &Schedule| -> Result<Value, CliError> {
        let name = s.job.as_deref().unwrap_or_default();
        project
            .find_job(name)
            .map(|j| j.written_tasks.clone())
            .ok_or_else(|| {
                CliError::fail(format!(
                    "{}: schedule '{}' runs job '{name}', which is not defined; add it with `smelt job add` or change the schedule with `smelt schedule set {} --job …`",
                    s.location, s.name, s.name
                ))
            })
    };
    let out = match format {
        ListFormat::Text => {
            let mut lines = Vec::new();
            for s in &project.schedules {
                let interval = s.interval.as_deref().unwrap_or("None");
                if is_job_schedule(s) {
                    let tasks = job_tasks(&project, s)?;
                    let tasks = match &tasks {
                        Value::String(text) => text.clone(),
                        other => py_repr(other),
                    };
                    lines.push(format!(
                        "[{interval}] job {}: {} → {tasks}",
                        s.name,
                        s.job.as_deref().unwrap_or_default()
                    ));
                } else {
                    let (first, second) = match s.transform().as_str() {
                        "run" => ("→", "→"),
                        "only" => ("×", "→"),
                        _ => ("→", "x"),
                    };
                    lines.push(format!(
                        "[{interval}] elt {}: {} {first} {} {second} transforms",
                        s.name,
                        s.extractor.as_deref().unwrap_or("None"),
                        s.loader.as_deref().unwrap_or("None"),
                    ));
                }
            }
            lines.join("\n")
        }
        ListFormat::Json => {
            let db = if project.schedules.iter().any(|s| !is_job_schedule(s)) {
                Some(open_systemdb(&mut project)?)
            } else {
                None
            };
            let mut jobs = Vec::new();
            let mut elts = Vec::new();
            for s in &project.schedules {
                if is_job_schedule(s) {
                    jobs.push(json!({
                        "name": s.name,
                        "interval": s.interval,
                        "cron_interval": s.cron_interval(),
                        "env": Value::Object(s.written_env.clone()),
                        "job": {
                            "name": s.job,
                            "tasks": job_tasks(&project, s)?,
                        },
                    }));
                } else {
                    let ended = match &db {
                        Some(db) => last_success_ended_at(db, &s.name)?,
                        None => None,
                    };
                    elts.push(json!({
                        "name": s.name,
                        "extractor": s.extractor,
                        "loader": s.loader,
                        "transform": s.transform(),
                        "interval": s.interval,
                        "env": Value::Object(s.written_env.clone()),
                        "cron_interval": s.cron_interval(),
                        "last_successful_run_ended_at": ended,
                        "elt_args": s.elt_args(),
                    }));
                }
            }
            dumps(
                &json!({ "schedules": { "job": jobs, "elt": elts } }),
                PyJsonStyle::Indent(2),
            )
        }
    };
    if !out.is_empty() {
        print_out(&out)?;
    }
    Ok(0)
}

/// When the newest successful run of state ID `state_id` ended, as Python's `isoformat()` of
/// Meltano's naive UTC timestamp (`2024-05-01T02:03:04.123456`, no fraction when zero).
fn last_success_ended_at(db: &SystemDb, state_id: &str) -> Result<Option<String>, CliError> {
    let runs = db
        .runs(Some(state_id), usize::MAX)
        .map_err(|e| CliError::fail(format!("could not read the runs of '{state_id}': {e}")))?;
    let latest = runs
        .iter()
        .filter(|r| r.status == RunStatus::Success)
        .filter_map(|r| r.ended_at)
        .max();
    Ok(latest.map(|t| {
        if t.timestamp_subsec_micros() == 0 {
            t.format("%Y-%m-%dT%H:%M:%S").to_string()
        } else {
            t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
        }
    }))
}

/// `smelt run`'s flags, parsed from the words `schedule run` builds.
#[derive(Parser)]
#[command(name = "smelt run", no_binary_name = true)]
struct RunWords {
    #[command(flatten)]
    args: RunArgs,
}

/// `smelt elt`'s flags, parsed from the words `schedule run` builds.
#[derive(Parser)]
#[command(name = "smelt elt", no_binary_name = true)]
struct EltWords {
    #[command(flatten)]
    args: EltArgs,
}

fn run_schedule(cli: &Cli, args: &ScheduleRunArgs) -> Result<i32, CliError> {
    let project = load_project(cli)?;
    let Some(schedule) = project.find_schedule(&args.name).cloned() else {
        return Err(CliError::fail(format!(
            "Schedule '{}' was not found.",
            args.name
        )));
    };
    drop(project);
    // Meltano starts the run with the schedule's env on top of its own; this process is still
    // single-threaded here, and the run loads the project (and its env layers) afresh.
    for (key, value) in &schedule.env {
        std::env::set_var(key, value);
    }
    let bad_words = |e: clap::Error| CliError::usage(e.render().to_string().trim_end().to_string());
    if is_job_schedule(&schedule) {
        let mut words = args.args.clone();
        words.push(schedule.job.clone().unwrap_or_default());
        let parsed = RunWords::try_parse_from(words).map_err(bad_words)?;
        super::run::run(cli, &parsed.args)
    } else {
        let mut words = schedule.elt_args();
        if words.is_empty() {
            return Err(CliError::fail(format!(
                "{}: schedule '{}' has neither a job nor an extractor and a loader",
                schedule.location, schedule.name
            )));
        }
        words.extend(args.args.iter().cloned());
        let parsed = EltWords::try_parse_from(words).map_err(bad_words)?;
        let transform = match parsed.args.transform {
            Some(crate::cli::TransformMode::Skip) | None => None,
            other => Some(other),
        };
        super::el::run(cli, &parsed.args.el, transform)
    }
}

/// The plugins schedule `name` runs, for `smelt install --schedule`: an ELT schedule's
/// extractor and loader, or every plugin in its job's tasks.
pub(crate) fn schedule_plugins<'p>(
    project: &'p Project,
    name: &str,
) -> Result<Vec<&'p smelt_project::Plugin>, CliError> {
    let Some(schedule) = project.find_schedule(name) else {
        return Err(CliError::fail(format!("Schedule '{name}' was not found.")));
    };
    let mut out = Vec::new();
    if is_job_schedule(schedule) {
        let job_name = schedule.job.as_deref().unwrap_or_default();
        let Some(job) = project.find_job(job_name) else {
            return Err(CliError::fail(format!(
                "schedule '{name}' runs job '{job_name}', which is not defined"
            )));
        };
        for words in smelt_project::schedule_edit::task_sets(&job.written_tasks) {
            let blocks = smelt_runtime::parse_blocks(project, &words).map_err(|e| CliError {
                code: e.exit_code(),
                message: e.to_string(),
            })?;
            out.extend(super::run::block_plugins(&blocks));
        }
    } else {
        for plugin in [&schedule.extractor, &schedule.loader]
            .into_iter()
            .flatten()
        {
            let Some(p) = project.find_plugin(plugin) else {
                return Err(CliError::fail(format!(
                    "schedule '{name}' runs plugin '{plugin}', which is not in the project"
                )));
            };
            out.push(p);
        }
    }
    Ok(out)
}
