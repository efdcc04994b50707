//! Ticks claimed by `smelt schedule serve`: one row per (schedule, tick), on either engine.
//!
//! Several `serve` processes (on one machine or many sharing a PostgreSQL system database)
//! compute the same ticks from the same cron expression; each tries to insert the claim row and
//! the unique key lets exactly one succeed (`INSERT … ON CONFLICT DO NOTHING`), so a tick runs
//! once. The row then records the run's progress: `running`, then `success` or `failed`, with
//! the attempt number.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{DbError, SystemDb};

/// A `running` tick whose serve has not refreshed its heartbeat for this long no longer
/// blocks the schedule's next tick (its serve was killed or lost its database).
pub const TICK_STALE_AFTER: Duration = Duration::from_secs(60);

/// One claimed tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTick {
    /// The schedule name.
    pub schedule: String,
    /// The tick, RFC 3339 UTC with whole seconds (`2026-01-01T00:00:00Z`), so text order is
    /// time order.
    pub tick: String,
    /// Who claimed it: `<host>:<pid>` of the `serve` process.
    pub claimed_by: String,
    /// When it was claimed.
    pub claimed_at: DateTime<Utc>,
    /// The claiming serve's last sign of life while the tick is `running`.
    pub heartbeat: DateTime<Utc>,
    /// `running`, `success` or `failed`.
    pub status: String,
    /// The latest attempt (1 = first try).
    pub attempt: i64,
    /// When the last attempt ended, once final.
    pub ended_at: Option<DateTime<Utc>>,
}

/// The progress of a claimed tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickState {
    /// An attempt is running or waiting to be retried.
    Running,
    /// The run succeeded.
    Success,
    /// Every attempt failed, or `serve` stopped first.
    Failed,
}

impl TickState {
    /// The word stored in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            TickState::Running => "running",
            TickState::Success => "success",
            TickState::Failed => "failed",
        }
    }
}

impl SystemDb {
    /// Claims `tick` of `schedule` for `claimed_by`; `Ok(false)` when another process already
    /// holds it, or when another tick of the schedule is still `running` under a live serve
    /// (heartbeat within [`TICK_STALE_AFTER`]), so two serves never run one schedule at once.
    pub fn claim_schedule_tick(
        &self,
        schedule: &str,
        tick: &str,
        claimed_by: &str,
    ) -> Result<bool, DbError> {
        let now = crate::time::now();
        let stale = chrono::Duration::from_std(TICK_STALE_AFTER).unwrap_or(chrono::Duration::MAX);
        self.engine().insert_tick(
            &ScheduleTick {
                schedule: schedule.to_string(),
                tick: tick.to_string(),
                claimed_by: claimed_by.to_string(),
                claimed_at: now,
                heartbeat: now,
                status: "running".to_string(),
                attempt: 0,
                ended_at: None,
            },
            now - stale,
        )
    }

    /// Refreshes the heartbeat of every `running` tick `claimed_by` holds (a serve calls this
    /// while its runs go on); how many it touched.
    pub fn touch_schedule_ticks(&self, claimed_by: &str) -> Result<usize, DbError> {
        self.engine().touch_ticks(claimed_by, crate::time::now())
    }

    /// Records a claimed tick's progress: attempt `attempt` started ([`TickState::Running`]),
    /// or the tick is done (then the end time is now). Whether the tick was claimed.
    pub fn set_schedule_tick(
        &self,
        schedule: &str,
        tick: &str,
        status: TickState,
        attempt: u32,
    ) -> Result<bool, DbError> {
        let ended = (status != TickState::Running).then(crate::time::now);
        self.engine()
            .update_tick(schedule, tick, status.as_str(), i64::from(attempt), ended)
    }

    /// The newest claimed tick of `schedule`, if any (for catch-up after downtime).
    pub fn last_schedule_tick(&self, schedule: &str) -> Result<Option<ScheduleTick>, DbError> {
        Ok(self
            .engine()
            .list_ticks(Some(schedule), 1)?
            .into_iter()
            .next())
    }

    /// Claimed ticks newest first, of one schedule or all, at most `limit`.
    pub fn schedule_ticks(
        &self,
        schedule: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ScheduleTick>, DbError> {
        self.engine().list_ticks(schedule, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::TickState;
    use crate::test_support::each_engine;

    each_engine! {
        fn exactly_one_claim_wins_and_progress_is_recorded(f) {
            let a = f.open();
            let b = f.open();
            let t = "2026-01-01T00:00:02Z";
            assert_eq!(a.claim_schedule_tick("s", t, "h:1").ok(), Some(true));
            assert_eq!(b.claim_schedule_tick("s", t, "h:2").ok(), Some(false));
            assert_eq!(a.claim_schedule_tick("s", t, "h:1").ok(), Some(false));
            assert_eq!(b.claim_schedule_tick("other", t, "h:2").ok(), Some(true));
            assert_eq!(a.set_schedule_tick("s", t, TickState::Running, 2).ok(), Some(true));
            assert_eq!(a.set_schedule_tick("s", t, TickState::Success, 2).ok(), Some(true));
            assert_eq!(a.set_schedule_tick("s", "2000-01-01T00:00:00Z", TickState::Failed, 1).ok(), Some(false));
            let later = "2026-01-01T00:00:04Z";
            // While tick :04 of `other` runs, its next tick cannot be claimed.
            assert_eq!(a.claim_schedule_tick("other", later, "h:1").ok(), Some(false));
            assert_eq!(b.touch_schedule_ticks("h:2").ok(), Some(1));
            assert_eq!(b.claim_schedule_tick("s", later, "h:2").ok(), Some(true));
            let last = match a.last_schedule_tick("s") {
                Ok(Some(x)) => x,
                other => panic!("{other:?}"),
            };
            assert_eq!((last.tick.as_str(), last.claimed_by.as_str(), last.status.as_str()), (later, "h:2", "running"));
            let all = match a.schedule_ticks(Some("s"), 10) {
                Ok(v) => v,
                Err(e) => panic!("{e}"),
            };
            assert_eq!(all.len(), 2);
            assert_eq!((all[1].status.as_str(), all[1].attempt, all[1].claimed_by.as_str()), ("success", 2, "h:1"));
            assert!(all[1].ended_at.is_some());
            assert_eq!(a.schedule_ticks(None, 10).map(|v| v.len()).ok(), Some(3));
            // A running tick whose serve stopped beating no longer blocks the schedule.
            f.exec(&format!(
                "UPDATE {} SET heartbeat = '2000-01-01T00:00:00Z' WHERE schedule = 'other'",
                f.table("schedule_ticks")
            ));
            assert_eq!(a.claim_schedule_tick("other", later, "h:1").ok(), Some(true));
            assert_eq!(a.last_schedule_tick("none").ok(), Some(None));
        }

        fn racing_claims_from_threads_have_one_winner(f) {
            let dbs: Vec<_> = (0..4).map(|_| f.open()).collect();
            let wins: usize = std::thread::scope(|scope| {
                let handles: Vec<_> = dbs
                    .iter()
                    .enumerate()
                    .map(|(i, db)| {
                        scope.spawn(move || {
                            (0..10)
                                .filter(|n| {
                                    let tick = format!("2026-01-01T00:00:{n:02}Z");
                                    matches!(db.claim_schedule_tick(&format!("s{n}"), &tick, &format!("h:{i}")), Ok(true))
                                })
                                .count()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
            });
            assert_eq!(wins, 10);
        }
    }
}
