//! What to do about ticks missed while no `serve` was running.

use chrono::{DateTime, Utc};

use crate::cron::Interval;

/// The catch-up policy (`--catch-up`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CatchUp {
    /// Missed ticks are skipped; the schedule waits for its next tick.
    None,
    /// If any tick was missed, run once (for the latest missed tick), then carry on.
    #[default]
    Latest,
    /// Run every missed tick, oldest first (at most [`MAX_CATCH_UP`]).
    All,
}

/// The most missed ticks `--catch-up all` runs, so a long outage of a per-minute schedule does
/// not queue days of runs.
pub const MAX_CATCH_UP: usize = 100;

impl std::str::FromStr for CatchUp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(CatchUp::None),
            "latest" => Ok(CatchUp::Latest),
            "all" => Ok(CatchUp::All),
            _ => Err(format!(
                "{s:?} is not a catch-up policy: use none, latest or all"
            )),
        }
    }
}

/// The missed ticks to run now, oldest first: ticks after `last_tick` (the newest tick any
/// `serve` claimed for this schedule) up to and including `now`. A schedule never run before
/// (`last_tick` is `None`) has missed nothing: it starts with its next tick.
pub fn missed_ticks(
    policy: CatchUp,
    interval: &Interval,
    last_tick: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let Some(mut t) = last_tick else {
        return Vec::new();
    };
    if policy == CatchUp::None {
        return Vec::new();
    }
    let mut missed = std::collections::VecDeque::new();
    // A per-second schedule down for months would otherwise walk millions of ticks.
    let mut budget = 1_000_000u32;
    while let Some(next) = interval.next_after(t) {
        budget = budget.saturating_sub(1);
        if next > now || budget == 0 {
            break;
        }
        missed.push_back(next);
        let keep = if policy == CatchUp::Latest {
            1
        } else {
            MAX_CATCH_UP
        };
        if missed.len() > keep {
            missed.pop_front();
        }
        t = next;
    }
    missed.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => panic!("{e}"),
        }
    }

    fn hourly() -> Interval {
        match Interval::parse("@hourly") {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn policies_choose_the_missed_ticks() {
        let last = Some(at("2026-01-01T10:00:00Z"));
        let now = at("2026-01-01T13:30:00Z");
        assert!(missed_ticks(CatchUp::None, &hourly(), last, now).is_empty());
        assert_eq!(
            missed_ticks(CatchUp::Latest, &hourly(), last, now),
            [at("2026-01-01T13:00:00Z")]
        );
        assert_eq!(
            missed_ticks(CatchUp::All, &hourly(), last, now),
            [
                at("2026-01-01T11:00:00Z"),
                at("2026-01-01T12:00:00Z"),
                at("2026-01-01T13:00:00Z")
            ]
        );
    }

    #[test]
    fn nothing_missed_when_up_to_date_or_never_run() {
        let now = at("2026-01-01T10:30:00Z");
        let last = Some(at("2026-01-01T10:00:00Z"));
        assert!(missed_ticks(CatchUp::All, &hourly(), last, now).is_empty());
        assert!(missed_ticks(CatchUp::Latest, &hourly(), None, now).is_empty());
        let manual = Interval::Manual("@once".into());
        assert!(missed_ticks(CatchUp::All, &manual, last, at("2027-01-01T00:00:00Z")).is_empty());
    }

    #[test]
    fn all_is_capped() {
        let every_minute = match Interval::parse("* * * * *") {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        };
        let missed = missed_ticks(
            CatchUp::All,
            &every_minute,
            Some(at("2026-01-01T00:00:00Z")),
            at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(missed.len(), MAX_CATCH_UP);
        assert_eq!(missed.last(), Some(&at("2026-01-02T00:00:00Z")));
    }

    #[test]
    fn policy_names_parse() {
        assert_eq!("latest".parse(), Ok(CatchUp::Latest));
        assert_eq!("none".parse(), Ok(CatchUp::None));
        assert_eq!("all".parse(), Ok(CatchUp::All));
        assert!("some".parse::<CatchUp>().is_err());
    }
}
