//! `smelt schedule serve` and `smelt schedule status`: the built-in scheduler.
//!
//! The loop and its rules live in `smelt-scheduler`; this module is its [`Host`]: every run
//! is a child `smelt schedule run NAME` (so a crashing run cannot take the daemon down),
//! started in its own process group with the parent-death signal and registered with the
//! watchdog like a plugin, so nothing outlives `serve`; ticks are claimed in the system
//! database; SIGINT/SIGTERM/SIGHUP stop the loop.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use smelt_project::Project;
use smelt_runtime::process::{describe_status, die_with_smelt, signal_group, watch_group};
use smelt_runtime::{signals, Logger};
use smelt_scheduler::serve::{fmt_time, RunHandle};
use smelt_scheduler::{
    Host, Interval, Outcome, RetryPolicy, ScheduleSpec, ServeOptions, Status, TickStatus,
};
use smelt_systemdb::{SystemDb, TickState};

use super::print_out;
use crate::cli::{Cli, ListFormat, ScheduleServeArgs, ScheduleStatusArgs};
use crate::project_context::{load_project, logger, open_systemdb, CliError};

/// Where `serve` writes its status unless `--status-file` says otherwise, relative to the
/// project's `.meltano/` directory.
pub const STATUS_FILE: &str = "run/schedule-serve/status.json";

/// The words after the smelt executable that run schedule `name` once: the one place to
/// change if the way a scheduled run is started changes.
fn run_words(name: &str) -> Vec<OsString> {
    vec!["schedule".into(), "run".into(), name.into()]
}

/// Runs `smelt schedule serve`.
pub fn run(cli: &Cli, args: &ScheduleServeArgs) -> Result<i32, CliError> {
    signals::install().map_err(|e| CliError::fail(format!("could not handle signals: {e}")))?;
    let mut project = load_project(cli)?;
    let specs = schedules_to_serve(&project, args)?;
    let db = open_systemdb(&mut project)?;
    let log = logger(cli)?;
    let status_path = args
        .status_file
        .clone()
        .unwrap_or_else(|| project.sys_dir.join(STATUS_FILE));
    let exe = std::env::current_exe()
        .map_err(|e| CliError::fail(format!("could not find the smelt executable: {e}")))?;
    let mut base = vec![OsString::from("--cwd"), project.root.clone().into()];
    if cli.no_environment {
        base.push("--no-environment".into());
    } else if let Some(env) = &cli.environment {
        base.extend(["--environment".into(), env.into()]);
    }
    if let Some(uri) = &cli.database_uri {
        base.extend(["--database-uri".into(), uri.into()]);
    }
    let pid = std::process::id();
    let host_name = smelt_systemdb::local_hostname();
    let names: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
    log.info(&format!(
        "smelt schedule serve: serving {} on {} (status: {})",
        names.join(", "),
        db.location(),
        status_path.display()
    ));
    let mut host = ProcessHost {
        exe,
        base,
        root: project.root.clone(),
        db,
        claimed_by: format!("{host_name}:{pid}"),
        children: HashMap::new(),
        done: Vec::new(),
        next_handle: 0,
        status_path,
        log,
        last_beat: Instant::now(),
    };
    let options = ServeOptions {
        catch_up: args.catch_up,
        max_concurrent: args.max_concurrent,
        poll_interval: args.poll_interval,
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
    };
    let now = fmt_time(Utc::now());
    let status = Status {
        pid,
        host: host_name,
        state: "starting".into(),
        started_at: now.clone(),
        updated_at: now,
        schedules: Default::default(),
    };
    let stopped = smelt_scheduler::serve(&mut host, specs, &options, status);
    Ok(if stopped.forced {
        signals::exit_code_for(stopped.signal)
    } else {
        0
    })
}

/// The schedules named (or all), with their intervals parsed; manual ones are left out.
fn schedules_to_serve(
    project: &Project,
    args: &ScheduleServeArgs,
) -> Result<Vec<ScheduleSpec>, CliError> {
    for name in &args.names {
        if project.find_schedule(name).is_none() {
            return Err(CliError::usage(format!(
                "Schedule '{name}' was not found (see `smelt schedule list`)."
            )));
        }
    }
    let retry = RetryPolicy {
        retries: args.retries,
        delay: Duration::from_secs(args.retry_delay),
        max_delay: Duration::from_secs(args.max_retry_delay.max(args.retry_delay)),
    };
    let log = |m: &str| eprintln!("{m}");
    let mut specs = Vec::new();
    for schedule in &project.schedules {
        let named = args.names.contains(&schedule.name);
        if !args.names.is_empty() && !named {
            continue;
        }
        let Some(text) = schedule.interval.as_deref() else {
            if named {
                return Err(CliError::usage(format!(
                    "{}: schedule '{}' has no interval, so serve cannot run it",
                    schedule.location, schedule.name
                )));
            }
            continue;
        };
        let interval = Interval::parse(text).map_err(|e| {
            CliError::usage(format!(
                "{}: schedule '{}': {e}",
                schedule.location, schedule.name
            ))
        })?;
        if let Interval::Manual(preset) = &interval {
            if named {
                return Err(CliError::usage(format!(
                    "schedule '{}' is {preset}: it never runs on its own; use `smelt schedule run {}`",
                    schedule.name, schedule.name
                )));
            }
            log(&format!(
                "schedule {} is {preset}: not served (run it with `smelt schedule run`)",
                schedule.name
            ));
            continue;
        }
        specs.push(ScheduleSpec {
            name: schedule.name.clone(),
            interval_text: text.to_string(),
            interval,
            retry,
        });
    }
    if specs.is_empty() {
        return Err(CliError::fail(
            "no schedule to serve: add one with `smelt schedule add NAME --job JOB --interval '@daily'`",
        ));
    }
    Ok(specs)
}

/// The [`Host`] of a real `serve`: child processes, the system database, signals.
struct ProcessHost {
    exe: PathBuf,
    base: Vec<OsString>,
    root: PathBuf,
    db: Arc<SystemDb>,
    claimed_by: String,
    children: HashMap<RunHandle, Child>,
    done: Vec<(RunHandle, Outcome)>,
    next_handle: RunHandle,
    status_path: PathBuf,
    log: Logger,
    last_beat: Instant,
}

impl ProcessHost {
    /// Reaps children that ended into `done`.
    fn collect(&mut self) {
        let mut ended = Vec::new();
        for (handle, child) in &mut self.children {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => ended.push((*handle, Outcome::Success)),
                Ok(Some(status)) => {
                    ended.push((*handle, Outcome::Failed(describe_status(&status))))
                }
                Ok(None) => {}
                Err(e) => ended.push((*handle, Outcome::Failed(format!("wait failed: {e}")))),
            }
        }
        for (handle, outcome) in ended {
            self.children.remove(&handle);
            self.done.push((handle, outcome));
        }
    }
}

impl Host for ProcessHost {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&mut self, d: Duration) {
        let until = Instant::now() + d;
        loop {
            self.collect();
            let now = Instant::now();
            if !self.done.is_empty() || signals::received().is_some() || now >= until {
                return;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
    }

    fn stop_signal(&self) -> Option<i32> {
        signals::received()
    }

    fn last_tick(&mut self, schedule: &str) -> Result<Option<DateTime<Utc>>, String> {
        let Some(row) = self
            .db
            .last_schedule_tick(schedule)
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        DateTime::parse_from_rfc3339(&row.tick)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("stored tick {:?} is not a time: {e}", row.tick))
    }

    fn claim(&mut self, schedule: &str, tick: DateTime<Utc>) -> Result<bool, String> {
        self.db
            .claim_schedule_tick(schedule, &fmt_time(tick), &self.claimed_by)
            .map_err(|e| e.to_string())
    }

    fn record(
        &mut self,
        schedule: &str,
        tick: DateTime<Utc>,
        status: TickStatus,
        attempt: u32,
    ) -> Result<(), String> {
        let state = match status {
            TickStatus::Running => TickState::Running,
            TickStatus::Success => TickState::Success,
            TickStatus::Failed => TickState::Failed,
        };
        self.db
            .set_schedule_tick(schedule, &fmt_time(tick), state, attempt)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn launch(
        &mut self,
        schedule: &str,
        tick: DateTime<Utc>,
        attempt: u32,
    ) -> Result<RunHandle, String> {
        let mut cmd = Command::new(&self.exe);
        cmd.args(&self.base)
            .args(run_words(schedule))
            .env("SMELT_SCHEDULE_TICK", fmt_time(tick))
            .env("SMELT_SCHEDULE_ATTEMPT", attempt.to_string())
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .process_group(0);
        die_with_smelt(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", self.exe.display()))?;
        watch_group(child.id());
        self.next_handle += 1;
        self.children.insert(self.next_handle, child);
        Ok(self.next_handle)
    }

    fn finished(&mut self) -> Vec<(RunHandle, Outcome)> {
        self.collect();
        std::mem::take(&mut self.done)
    }

    fn forward(&mut self, signal: i32) {
        for child in self.children.values() {
            signal_group(child.id(), signal);
        }
    }

    fn kill_all(&mut self) {
        for child in self.children.values() {
            signal_group(child.id(), libc::SIGKILL);
        }
        for (handle, mut child) in self.children.drain() {
            // SIGKILL cannot be caught: the wait ends as soon as the kernel reaps it.
            let outcome = match child.wait() {
                Ok(status) => Outcome::Failed(describe_status(&status)),
                Err(e) => Outcome::Failed(format!("wait failed: {e}")),
            };
            self.done.push((handle, outcome));
        }
    }

    fn write_status(&mut self, status: &Status) {
        if let Err(e) = status.write(&self.status_path) {
            self.log.warn(&format!(
                "could not write the status file {}: {e}",
                self.status_path.display()
            ));
        }
    }

    fn log(&mut self, line: &str) {
        self.log.info(&format!("smelt schedule serve: {line}"));
    }

    fn heartbeat(&mut self) {
        if self.children.is_empty() || self.last_beat.elapsed() < HEARTBEAT_EVERY {
            return;
        }
        self.last_beat = Instant::now();
        if let Err(e) = self.db.touch_schedule_ticks(&self.claimed_by) {
            self.log.warn(&format!(
                "could not refresh the running ticks' heartbeat: {e}"
            ));
        }
    }
}

/// How often a serve with running children refreshes their ticks' heartbeat: well inside
/// [`smelt_systemdb::TICK_STALE_AFTER`], so a live serve's run keeps blocking the next tick.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// Runs `smelt schedule status`: each schedule's interval, next run, and last claimed tick
/// from the system database (shared by every `serve`), plus what the local `serve` wrote in
/// its status file.
pub fn status(cli: &Cli, args: &ScheduleStatusArgs) -> Result<i32, CliError> {
    let mut project = load_project(cli)?;
    let db = open_systemdb(&mut project)?;
    let path = args
        .status_file
        .clone()
        .unwrap_or_else(|| project.sys_dir.join(STATUS_FILE));
    let file = Status::read(&path).map_err(CliError::fail)?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for schedule in &project.schedules {
        let interval = schedule.interval.clone().unwrap_or_default();
        let next = Interval::parse(&interval)
            .ok()
            .and_then(|i| i.next_after(now))
            .map(fmt_time);
        let last = db
            .last_schedule_tick(&schedule.name)
            .map_err(CliError::fail)?;
        let local = file.as_ref().and_then(|f| f.schedules.get(&schedule.name));
        rows.push(json!({
            "name": schedule.name,
            "interval": interval,
            "next_run": next,
            "last_tick": last.as_ref().map(|t| t.tick.clone()),
            "last_status": last.as_ref().map(|t| t.status.clone()),
            "last_attempt": last.as_ref().map(|t| t.attempt),
            "claimed_by": last.as_ref().map(|t| t.claimed_by.clone()),
            "last_end": last.as_ref().and_then(|t| t.ended_at).map(fmt_time),
            "local": local,
        }));
    }
    match args.format {
        ListFormat::Json => {
            let doc = json!({
                "status_file": path.display().to_string(),
                "serve": file.as_ref().map(|f| json!({
                    "pid": f.pid, "host": f.host, "state": f.state,
                    "started_at": f.started_at, "updated_at": f.updated_at,
                })),
                "schedules": rows,
            });
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| CliError::fail(format!("could not print the status: {e}")))?;
            print_out(&text)?;
        }
        ListFormat::Text => print_text(&path, file.as_ref(), &rows)?,
    }
    Ok(0)
}

fn print_text(path: &Path, file: Option<&Status>, rows: &[Value]) -> Result<(), CliError> {
    match file {
        Some(f) => print_out(&format!(
            "serve: {} (pid {} on {}, since {}, updated {})",
            f.state, f.pid, f.host, f.started_at, f.updated_at
        ))?,
        None => print_out(&format!(
            "serve: no status file at {} (has `smelt schedule serve` run here?)",
            path.display()
        ))?,
    }
    for row in rows {
        let s = |k: &str| row[k].as_str().unwrap_or("-").to_string();
        let mut line = format!(
            "{}  interval {}  next {}  last {}",
            s("name"),
            s("interval"),
            s("next_run"),
            s("last_tick")
        );
        if row["last_tick"].is_string() {
            line.push_str(&format!(
                " {} (attempt {}, by {})",
                s("last_status"),
                row["last_attempt"],
                s("claimed_by")
            ));
        }
        if let Some(err) = row["local"]["last_error"].as_str() {
            line.push_str(&format!("  last error: {err}"));
        }
        print_out(&line)?;
    }
    Ok(())
}
