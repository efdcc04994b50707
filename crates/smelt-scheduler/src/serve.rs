//! The tick loop of `smelt schedule serve`, independent of how runs are started and claims
//! are stored: the binary supplies a [`Host`] (child processes, the system database, signals,
//! the clock), and unit tests a fake one.
//!
//! Rules: a schedule never has two runs at once in one `serve` (a tick that comes while the
//! previous run or its retries are still going is skipped and logged); a tick runs only after
//! [`Host::claim`] wins it, so several `serve` processes sharing a claim store run it once; a
//! failed attempt is retried with the schedule's [`RetryPolicy`] under the same claim; after a
//! stop signal nothing new starts, running children get the signal, and the loop waits for
//! them at most `shutdown_timeout` before killing them.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::catchup::{missed_ticks, CatchUp};
use crate::cron::Interval;
use crate::retry::RetryPolicy;
use crate::status::{ScheduleStatus, Status};

/// One schedule to serve.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    /// Its name in meltano.yml.
    pub name: String,
    /// The `interval` as written (for the status file).
    pub interval_text: String,
    /// The parsed interval.
    pub interval: Interval,
    /// How failed runs are retried.
    pub retry: RetryPolicy,
}

/// Loop-wide options.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// What to do about ticks missed while nothing served.
    pub catch_up: CatchUp,
    /// At most this many runs at once (all schedules together); at least 1.
    pub max_concurrent: usize,
    /// The longest sleep between two looks at the clock and the children.
    pub poll_interval: Duration,
    /// How long to wait for running children after a stop signal before killing them.
    pub shutdown_timeout: Duration,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Anything else, described.
    Failed(String),
}

/// The status recorded for a claimed tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickStatus {
    /// An attempt is running (or waiting to be retried).
    Running,
    /// It succeeded.
    Success,
    /// Every attempt failed, or `serve` stopped first.
    Failed,
}

impl TickStatus {
    /// The word stored in the system database.
    pub fn as_str(self) -> &'static str {
        match self {
            TickStatus::Running => "running",
            TickStatus::Success => "success",
            TickStatus::Failed => "failed",
        }
    }
}

/// A started run, as the host identifies it.
pub type RunHandle = u64;

/// What the loop needs from the world.
pub trait Host {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Sleeps at most `d`, returning early when a stop signal or a finished child arrives.
    fn sleep(&mut self, d: Duration);
    /// The stop signal received, if any (SIGTERM, SIGINT, SIGHUP).
    fn stop_signal(&self) -> Option<i32>;
    /// The newest tick any `serve` claimed for `schedule` (for catch-up).
    fn last_tick(&mut self, schedule: &str) -> Result<Option<DateTime<Utc>>, String>;
    /// Claims (`schedule`, `tick`); `Ok(false)` when another `serve` already has.
    fn claim(&mut self, schedule: &str, tick: DateTime<Utc>) -> Result<bool, String>;
    /// Records the progress of a claimed tick.
    fn record(
        &mut self,
        schedule: &str,
        tick: DateTime<Utc>,
        status: TickStatus,
        attempt: u32,
    ) -> Result<(), String>;
    /// Starts attempt `attempt` of `schedule`'s run for `tick`.
    fn launch(
        &mut self,
        schedule: &str,
        tick: DateTime<Utc>,
        attempt: u32,
    ) -> Result<RunHandle, String>;
    /// Runs that ended since the last call.
    fn finished(&mut self) -> Vec<(RunHandle, Outcome)>;
    /// Sends `signal` to every running child.
    fn forward(&mut self, signal: i32);
    /// Kills every running child and reaps it.
    fn kill_all(&mut self);
    /// Writes the status document.
    fn write_status(&mut self, status: &Status);
    /// Logs one line.
    fn log(&mut self, line: &str);
    /// Called on every turn of the loop: a host whose claims expire refreshes them here.
    fn heartbeat(&mut self) {}
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// The signal that stopped it.
    pub signal: i32,
    /// Whether children had to be killed after `shutdown_timeout`.
    pub forced: bool,
}

enum Active {
    Running {
        handle: RunHandle,
        tick: DateTime<Utc>,
        attempt: u32,
    },
    Retrying {
        tick: DateTime<Utc>,
        attempt: u32,
        at: DateTime<Utc>,
    },
}

struct Slot {
    spec: ScheduleSpec,
    next: Option<DateTime<Utc>>,
    pending: VecDeque<DateTime<Utc>>,
    active: Option<Active>,
}

/// RFC 3339 in UTC with whole seconds, as stored and shown.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Runs the loop until a stop signal; `status` is the document to keep up to date (its
/// `schedules` are filled in here).
pub fn serve(
    host: &mut dyn Host,
    schedules: Vec<ScheduleSpec>,
    options: &ServeOptions,
    mut status: Status,
) -> Stopped {
    let now = host.now();
    let mut slots: Vec<Slot> = Vec::new();
    for spec in schedules {
        let last = match host.last_tick(&spec.name) {
            Ok(t) => t,
            Err(e) => {
                host.log(&format!(
                    "schedule {}: could not read its last tick ({e}); no catch-up",
                    spec.name
                ));
                None
            }
        };
        let pending: VecDeque<_> = missed_ticks(options.catch_up, &spec.interval, last, now).into();
        if !pending.is_empty() {
            host.log(&format!(
                "schedule {}: {} missed tick(s) to catch up (--catch-up {:?})",
                spec.name,
                pending.len(),
                options.catch_up
            ));
        }
        status.schedules.insert(
            spec.name.clone(),
            ScheduleStatus {
                interval: spec.interval_text.clone(),
                ..ScheduleStatus::default()
            },
        );
        slots.push(Slot {
            next: spec.interval.next_after(now),
            spec,
            pending,
            active: None,
        });
    }
    status.state = "running".into();
    let max = options.max_concurrent.max(1);
    loop {
        if let Some(signal) = host.stop_signal() {
            return shut_down(host, &mut slots, options, status, signal);
        }
        host.heartbeat();
        let mut changed = reap(host, &mut slots, &mut status);
        let now = host.now();
        for slot in &mut slots {
            while let Some(tick) = slot.next.filter(|t| *t <= now) {
                if slot.active.is_some() || !slot.pending.is_empty() {
                    host.log(&format!(
                        "schedule {}: skipping tick {}: its previous run is still in progress",
                        slot.spec.name,
                        fmt_time(tick)
                    ));
                } else {
                    slot.pending.push_back(tick);
                }
                slot.next = slot.spec.interval.next_after(tick.max(now));
                changed = true;
            }
        }
        changed |= start_due(host, &mut slots, &mut status, max, now);
        if changed {
            refresh(&slots, &mut status);
            status.updated_at = fmt_time(host.now());
            host.write_status(&status);
        }
        let wake = slots
            .iter()
            .filter_map(|s| match &s.active {
                Some(Active::Retrying { at, .. }) => Some(*at),
                Some(Active::Running { .. }) => None,
                None => s.next,
            })
            .min();
        let mut wait = options.poll_interval;
        if let Some(w) = wake {
            let until = (w - host.now()).to_std().unwrap_or(Duration::ZERO);
            wait = wait.min(until);
        }
        if !wait.is_zero() {
            host.sleep(wait);
        }
    }
}

fn running(slots: &[Slot]) -> usize {
    slots
        .iter()
        .filter(|s| matches!(s.active, Some(Active::Running { .. })))
        .count()
}

/// Starts due retries, then pending ticks, within the concurrency limit.
fn start_due(
    host: &mut dyn Host,
    slots: &mut [Slot],
    status: &mut Status,
    max: usize,
    now: DateTime<Utc>,
) -> bool {
    let mut changed = false;
    for i in 0..slots.len() {
        if running(slots) >= max {
            break;
        }
        if let Some(Active::Retrying { tick, attempt, at }) = slots[i].active {
            if at <= now {
                slots[i].active = None;
                start(host, &mut slots[i], status, tick, attempt);
                changed = true;
            }
        }
    }
    for i in 0..slots.len() {
        while slots[i].active.is_none() && running(slots) < max {
            let Some(tick) = slots[i].pending.pop_front() else {
                break;
            };
            changed = true;
            let name = slots[i].spec.name.clone();
            match host.claim(&name, tick) {
                Ok(true) => start(host, &mut slots[i], status, tick, 1),
                Ok(false) => host.log(&format!(
                    "schedule {name}: tick {} was claimed by another serve (or another serve's run \
                     of this schedule is still going); not running it here",
                    fmt_time(tick)
                )),
                Err(e) => host.log(&format!(
                    "schedule {name}: could not claim tick {} ({e}); skipping it",
                    fmt_time(tick)
                )),
            }
        }
    }
    changed
}

fn start(
    host: &mut dyn Host,
    slot: &mut Slot,
    status: &mut Status,
    tick: DateTime<Utc>,
    attempt: u32,
) {
    let name = slot.spec.name.clone();
    if let Err(e) = host.record(&name, tick, TickStatus::Running, attempt) {
        host.log(&format!(
            "schedule {name}: could not record attempt {attempt}: {e}"
        ));
    }
    let now = fmt_time(host.now());
    let entry = status.schedules.entry(name.clone()).or_default();
    entry.last_tick = Some(fmt_time(tick));
    entry.last_start = Some(now);
    entry.last_end = None;
    entry.attempt = attempt;
    entry.retry_at = None;
    entry.last_error = None;
    match host.launch(&name, tick, attempt) {
        Ok(handle) => {
            entry.last_outcome = Some("running".into());
            host.log(&format!(
                "schedule {name}: started run for tick {} (attempt {attempt})",
                fmt_time(tick)
            ));
            slot.active = Some(Active::Running {
                handle,
                tick,
                attempt,
            });
        }
        Err(e) => {
            ended(host, slot, status, tick, attempt, Outcome::Failed(e));
        }
    }
}

/// Collects finished children and decides: done, or retry later.
fn reap(host: &mut dyn Host, slots: &mut [Slot], status: &mut Status) -> bool {
    let done = host.finished();
    let changed = !done.is_empty();
    for (handle, outcome) in done {
        let Some(slot) = slots
            .iter_mut()
            .find(|s| matches!(s.active, Some(Active::Running { handle: h, .. }) if h == handle))
        else {
            continue;
        };
        if let Some(Active::Running { tick, attempt, .. }) = slot.active.take() {
            ended(host, slot, status, tick, attempt, outcome);
        }
    }
    changed
}

fn ended(
    host: &mut dyn Host,
    slot: &mut Slot,
    status: &mut Status,
    tick: DateTime<Utc>,
    attempt: u32,
    outcome: Outcome,
) {
    let name = slot.spec.name.clone();
    let now = host.now();
    let entry = status.schedules.entry(name.clone()).or_default();
    entry.last_end = Some(fmt_time(now));
    let final_status = match &outcome {
        Outcome::Success => {
            host.log(&format!(
                "schedule {name}: run for tick {} succeeded (attempt {attempt})",
                fmt_time(tick)
            ));
            entry.last_outcome = Some("success".into());
            TickStatus::Success
        }
        Outcome::Failed(why) => {
            entry.last_error = Some(why.clone());
            match slot.spec.retry.delay_after(attempt) {
                Some(delay) => {
                    let at =
                        now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                    host.log(&format!(
                        "schedule {name}: run for tick {} failed ({why}); retrying in {}s (attempt {} of {})",
                        fmt_time(tick),
                        delay.as_secs_f64(),
                        attempt + 1,
                        slot.spec.retry.retries.saturating_add(1)
                    ));
                    entry.last_outcome = Some("retrying".into());
                    entry.retry_at = Some(fmt_time(at));
                    slot.active = Some(Active::Retrying {
                        tick,
                        attempt: attempt + 1,
                        at,
                    });
                    return;
                }
                None => {
                    host.log(&format!(
                        "schedule {name}: run for tick {} failed ({why}) after {attempt} attempt(s)",
                        fmt_time(tick)
                    ));
                    entry.last_outcome = Some("failed".into());
                    TickStatus::Failed
                }
            }
        }
    };
    if let Err(e) = host.record(&name, tick, final_status, attempt) {
        host.log(&format!(
            "schedule {name}: could not record the outcome: {e}"
        ));
    }
}

fn refresh(slots: &[Slot], status: &mut Status) {
    for slot in slots {
        let entry = status.schedules.entry(slot.spec.name.clone()).or_default();
        entry.next_run = slot.pending.front().copied().or(slot.next).map(fmt_time);
    }
}

fn shut_down(
    host: &mut dyn Host,
    slots: &mut [Slot],
    options: &ServeOptions,
    mut status: Status,
    signal: i32,
) -> Stopped {
    let forwarded = if signal == 1 { 15 } else { signal };
    let n = running(slots);
    host.log(&format!(
        "stopping: signal {signal} received; no new runs; waiting up to {}s for {n} running run(s)",
        options.shutdown_timeout.as_secs()
    ));
    status.state = "stopping".into();
    status.updated_at = fmt_time(host.now());
    host.write_status(&status);
    host.forward(forwarded);
    let deadline = host.now()
        + chrono::Duration::from_std(options.shutdown_timeout).unwrap_or(chrono::Duration::MAX);
    let mut forced = false;
    loop {
        for (handle, outcome) in host.finished() {
            settle_interrupted(host, slots, &mut status, handle, outcome);
        }
        if running(slots) == 0 {
            break;
        }
        if host.now() >= deadline {
            host.log("stopping: runs still going after --shutdown-timeout; killing them");
            host.kill_all();
            forced = true;
            for (handle, outcome) in host.finished() {
                settle_interrupted(host, slots, &mut status, handle, outcome);
            }
            break;
        }
        host.sleep(Duration::from_millis(100));
    }
    for slot in slots.iter_mut() {
        match slot.active.take() {
            Some(Active::Retrying { tick, attempt, .. }) => {
                let name = slot.spec.name.clone();
                let _ = host.record(&name, tick, TickStatus::Failed, attempt.saturating_sub(1));
                if let Some(e) = status.schedules.get_mut(&name) {
                    e.last_outcome = Some("interrupted".into());
                    e.retry_at = None;
                }
            }
            Some(Active::Running { tick, attempt, .. }) => {
                let name = slot.spec.name.clone();
                let _ = host.record(&name, tick, TickStatus::Failed, attempt);
                if let Some(e) = status.schedules.get_mut(&name) {
                    e.last_outcome = Some("interrupted".into());
                }
            }
            None => {}
        }
    }
    refresh(slots, &mut status);
    status.state = "stopped".into();
    status.updated_at = fmt_time(host.now());
    host.write_status(&status);
    Stopped { signal, forced }
}

fn settle_interrupted(
    host: &mut dyn Host,
    slots: &mut [Slot],
    status: &mut Status,
    handle: RunHandle,
    outcome: Outcome,
) {
    let Some(slot) = slots
        .iter_mut()
        .find(|s| matches!(s.active, Some(Active::Running { handle: h, .. }) if h == handle))
    else {
        return;
    };
    let Some(Active::Running { tick, attempt, .. }) = slot.active.take() else {
        return;
    };
    let name = slot.spec.name.clone();
    let (word, tick_status) = match &outcome {
        Outcome::Success => ("success", TickStatus::Success),
        Outcome::Failed(_) => ("interrupted", TickStatus::Failed),
    };
    host.log(&format!(
        "schedule {name}: run for tick {} ended while stopping: {word}",
        fmt_time(tick)
    ));
    let now = fmt_time(host.now());
    if let Some(e) = status.schedules.get_mut(&name) {
        e.last_outcome = Some(word.into());
        e.last_end = Some(now);
        if let Outcome::Failed(why) = outcome {
            e.last_error = Some(why);
        }
    }
    let _ = host.record(&name, tick, tick_status, attempt);
}

#[cfg(test)]
mod tests;
