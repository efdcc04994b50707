//! The loop on a simulated clock: runs take `run_secs`, fail while `fail_first` attempts
//! remain, and a stop signal arrives at `stop_at`.

use super::*;
use std::collections::HashSet;

fn t0() -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339("2026-01-01T00:00:00.500Z") {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => panic!("{e}"),
    }
}

struct Fake {
    now: DateTime<Utc>,
    stop_at: DateTime<Utc>,
    run_secs: i64,
    fail_first: u32,
    ignore_signal: bool,
    next_handle: u64,
    running: Vec<(RunHandle, DateTime<Utc>)>,
    launches: Vec<(String, DateTime<Utc>, u32, DateTime<Utc>)>,
    claimed: HashSet<(String, DateTime<Utc>)>,
    taken_elsewhere: HashSet<DateTime<Utc>>,
    records: Vec<(DateTime<Utc>, TickStatus, u32)>,
    last_tick: Option<DateTime<Utc>>,
    forwarded: Vec<i32>,
    killed: bool,
    logs: Vec<String>,
    last_status: Option<Status>,
}

impl Fake {
    fn new(stop_after_secs: i64) -> Fake {
        Fake {
            now: t0(),
            stop_at: t0() + chrono::Duration::seconds(stop_after_secs),
            run_secs: 0,
            fail_first: 0,
            ignore_signal: false,
            next_handle: 0,
            running: Vec::new(),
            launches: Vec::new(),
            claimed: HashSet::new(),
            taken_elsewhere: HashSet::new(),
            records: Vec::new(),
            last_tick: None,
            forwarded: Vec::new(),
            killed: false,
            logs: Vec::new(),
            last_status: None,
        }
    }
}

impl Host for Fake {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
    fn sleep(&mut self, d: Duration) {
        self.now += chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero());
    }
    fn stop_signal(&self) -> Option<i32> {
        (self.now >= self.stop_at).then_some(15)
    }
    fn last_tick(&mut self, _: &str) -> Result<Option<DateTime<Utc>>, String> {
        Ok(self.last_tick)
    }
    fn claim(&mut self, s: &str, tick: DateTime<Utc>) -> Result<bool, String> {
        Ok(!self.taken_elsewhere.contains(&tick) && self.claimed.insert((s.into(), tick)))
    }
    fn record(
        &mut self,
        _: &str,
        tick: DateTime<Utc>,
        st: TickStatus,
        a: u32,
    ) -> Result<(), String> {
        self.records.push((tick, st, a));
        Ok(())
    }
    fn launch(&mut self, s: &str, tick: DateTime<Utc>, attempt: u32) -> Result<RunHandle, String> {
        self.next_handle += 1;
        self.launches.push((s.into(), tick, attempt, self.now));
        self.running.push((
            self.next_handle,
            self.now + chrono::Duration::seconds(self.run_secs),
        ));
        Ok(self.next_handle)
    }
    fn finished(&mut self) -> Vec<(RunHandle, Outcome)> {
        let now = self.now;
        let (done, still): (Vec<_>, Vec<_>) = self.running.iter().partition(|(_, end)| *end <= now);
        self.running = still;
        done.into_iter()
            .map(|(h, _)| {
                if self.killed {
                    (h, Outcome::Failed("killed by signal 9".into()))
                } else if self.fail_first > 0 {
                    self.fail_first -= 1;
                    (h, Outcome::Failed("exit 1".into()))
                } else {
                    (h, Outcome::Success)
                }
            })
            .collect()
    }
    fn forward(&mut self, signal: i32) {
        self.forwarded.push(signal);
        if !self.ignore_signal {
            for r in &mut self.running {
                r.1 = self.now;
            }
        }
    }
    fn kill_all(&mut self) {
        self.killed = true;
        for r in &mut self.running {
            r.1 = self.now;
        }
    }
    fn write_status(&mut self, status: &Status) {
        self.last_status = Some(status.clone());
    }
    fn log(&mut self, line: &str) {
        self.logs.push(line.to_string());
    }
}

fn spec(interval: &str, retries: u32) -> ScheduleSpec {
    ScheduleSpec {
        name: "s".into(),
        interval_text: interval.into(),
        interval: match Interval::parse(interval) {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        },
        retry: RetryPolicy {
            retries,
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(3),
        },
    }
}

fn options() -> ServeOptions {
    ServeOptions {
        catch_up: CatchUp::Latest,
        max_concurrent: 4,
        poll_interval: Duration::from_secs(1),
        shutdown_timeout: Duration::from_secs(30),
    }
}

#[test]
fn every_two_seconds_runs_each_tick_once() {
    let mut host = Fake::new(10);
    let stopped = serve(
        &mut host,
        vec![spec("*/2 * * * * *", 0)],
        &options(),
        Status::default(),
    );
    assert_eq!(
        stopped,
        Stopped {
            signal: 15,
            forced: false
        }
    );
    let ticks: Vec<_> = host.launches.iter().map(|l| fmt_time(l.1)).collect();
    assert_eq!(
        ticks,
        [
            "2026-01-01T00:00:02Z",
            "2026-01-01T00:00:04Z",
            "2026-01-01T00:00:06Z",
            "2026-01-01T00:00:08Z",
            "2026-01-01T00:00:10Z"
        ]
    );
    let status = host.last_status.unwrap_or_default();
    assert_eq!(status.state, "stopped");
    assert_eq!(
        status.schedules["s"].last_outcome.as_deref(),
        Some("success")
    );
    assert_eq!(
        status.schedules["s"].next_run.as_deref(),
        Some("2026-01-01T00:00:12Z")
    );
}

#[test]
fn failures_are_retried_with_backoff_under_the_same_claim() {
    let mut host = Fake::new(20);
    host.fail_first = 3;
    serve(
        &mut host,
        vec![spec("1 * * * * *", 3)],
        &options(),
        Status::default(),
    );
    let attempts: Vec<_> = host
        .launches
        .iter()
        .map(|(_, tick, a, at)| (fmt_time(*tick), *a, (*at - t0()).num_milliseconds()))
        .collect();
    // Attempt 1 at 00:01 fails, noticed at the next poll (1 s); then waits 1 s, 2 s, 3 s (capped).
    assert_eq!(
        attempts,
        [
            ("2026-01-01T00:00:01Z".to_string(), 1, 500),
            ("2026-01-01T00:00:01Z".to_string(), 2, 2500),
            ("2026-01-01T00:00:01Z".to_string(), 3, 5500),
            ("2026-01-01T00:00:01Z".to_string(), 4, 9500),
        ]
    );
    assert_eq!(host.claimed.len(), 1);
    assert_eq!(
        host.records.last(),
        Some(&(attempts_tick(), TickStatus::Success, 4))
    );
}

fn attempts_tick() -> DateTime<Utc> {
    t0() + chrono::Duration::milliseconds(500)
}

#[test]
fn retries_run_out_and_the_tick_is_failed() {
    let mut host = Fake::new(10);
    host.fail_first = 10;
    serve(
        &mut host,
        vec![spec("1 * * * * *", 1)],
        &options(),
        Status::default(),
    );
    assert_eq!(host.launches.len(), 2);
    assert_eq!(
        host.records.last(),
        Some(&(attempts_tick(), TickStatus::Failed, 2))
    );
    let status = host.last_status.unwrap_or_default();
    assert_eq!(
        status.schedules["s"].last_outcome.as_deref(),
        Some("failed")
    );
    assert_eq!(status.schedules["s"].last_error.as_deref(), Some("exit 1"));
}

#[test]
fn a_tick_claimed_elsewhere_is_not_run() {
    let mut host = Fake::new(5);
    host.taken_elsewhere
        .insert(t0() + chrono::Duration::milliseconds(1500));
    serve(
        &mut host,
        vec![spec("* * * * * *", 0)],
        &options(),
        Status::default(),
    );
    let ticks: Vec<_> = host.launches.iter().map(|l| fmt_time(l.1)).collect();
    assert_eq!(
        ticks,
        [
            "2026-01-01T00:00:01Z",
            "2026-01-01T00:00:03Z",
            "2026-01-01T00:00:04Z",
            "2026-01-01T00:00:05Z"
        ]
    );
    assert!(host
        .logs
        .iter()
        .any(|l| l.contains("claimed by another serve")));
}

#[test]
fn a_tick_during_a_long_run_is_skipped() {
    let mut host = Fake::new(9);
    host.run_secs = 3;
    serve(
        &mut host,
        vec![spec("*/2 * * * * *", 0)],
        &options(),
        Status::default(),
    );
    let ticks: Vec<_> = host.launches.iter().map(|l| fmt_time(l.1)).collect();
    assert_eq!(ticks, ["2026-01-01T00:00:02Z", "2026-01-01T00:00:06Z"]);
    assert!(host
        .logs
        .iter()
        .any(|l| l.contains("skipping tick 2026-01-01T00:00:04Z")));
}

#[test]
fn catch_up_latest_runs_the_missed_tick_at_once() {
    let mut host = Fake::new(1);
    host.last_tick = Some(t0() - chrono::Duration::hours(5));
    serve(
        &mut host,
        vec![spec("@hourly", 0)],
        &options(),
        Status::default(),
    );
    let ticks: Vec<_> = host.launches.iter().map(|l| fmt_time(l.1)).collect();
    assert_eq!(ticks, ["2026-01-01T00:00:00Z"]);
}

#[test]
fn shutdown_waits_then_kills_after_the_timeout() {
    let mut host = Fake::new(3);
    host.run_secs = 1000;
    host.ignore_signal = true;
    let mut opts = options();
    opts.shutdown_timeout = Duration::from_secs(5);
    let stopped = serve(
        &mut host,
        vec![spec("1 * * * * *", 0)],
        &opts,
        Status::default(),
    );
    assert_eq!(
        stopped,
        Stopped {
            signal: 15,
            forced: true
        }
    );
    assert_eq!(host.forwarded, [15]);
    assert!(host.killed);
    assert_eq!(
        host.records.last(),
        Some(&(attempts_tick(), TickStatus::Failed, 1))
    );
    let status = host.last_status.unwrap_or_default();
    assert_eq!(
        status.schedules["s"].last_outcome.as_deref(),
        Some("interrupted")
    );

    let mut host = Fake::new(3);
    host.run_secs = 1000;
    let stopped = serve(
        &mut host,
        vec![spec("1 * * * * *", 0)],
        &opts,
        Status::default(),
    );
    assert_eq!(
        stopped,
        Stopped {
            signal: 15,
            forced: false
        }
    );
    assert!(!host.killed);
}

#[test]
fn concurrency_is_limited_across_schedules() {
    let mut host = Fake::new(2);
    host.run_secs = 100;
    let mut opts = options();
    opts.max_concurrent = 1;
    let mut a = spec("1 * * * * *", 0);
    a.name = "a".into();
    let mut b = spec("1 * * * * *", 0);
    b.name = "b".into();
    serve(&mut host, vec![a, b], &opts, Status::default());
    assert_eq!(host.launches.len(), 1);
}
