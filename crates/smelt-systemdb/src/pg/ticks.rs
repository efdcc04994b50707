//! The PostgreSQL schedule ticks table.

use chrono::{DateTime, Utc};

use super::client::PgCalls;
use super::PgEngine;
use crate::engine::TickStore;
use crate::{DbError, ScheduleTick};

impl TickStore for PgEngine {
    fn insert_tick(
        &self,
        tick: &ScheduleTick,
        alive_since: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        // The unique key decides between serves claiming the same tick; the NOT EXISTS keeps
        // a serve from starting the next tick while another serve's run of the schedule goes
        // on (ticks are computed from one clock each, so those claims are seconds apart).
        let inserted = self
            .client()?
            .execute(
                "INSERT INTO smelt_schedule_ticks \
                 (schedule, tick, claimed_by, claimed_at, status, attempt, heartbeat) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS ( \
                     SELECT 1 FROM smelt_schedule_ticks WHERE schedule = $1 AND tick <> $2 \
                     AND status = 'running' AND heartbeat >= $8) \
                 ON CONFLICT (schedule, tick) DO NOTHING",
                &[
                    &tick.schedule,
                    &tick.tick,
                    &tick.claimed_by,
                    &tick.claimed_at,
                    &tick.status,
                    &tick.attempt,
                    &tick.heartbeat,
                    &alive_since,
                ],
            )
            .map_err(self.pg_err("claim a schedule tick"))?;
        Ok(inserted == 1)
    }

    fn update_tick(
        &self,
        schedule: &str,
        tick: &str,
        status: &str,
        attempt: i64,
        ended_at: Option<DateTime<Utc>>,
    ) -> Result<bool, DbError> {
        let changed = self
            .client()?
            .execute(
                "UPDATE smelt_schedule_ticks SET status = $3, attempt = $4, ended_at = $5, \
                 heartbeat = $6 WHERE schedule = $1 AND tick = $2",
                &[
                    &schedule,
                    &tick,
                    &status,
                    &attempt,
                    &ended_at,
                    &crate::time::now(),
                ],
            )
            .map_err(self.pg_err("record a schedule tick"))?;
        Ok(changed > 0)
    }

    fn touch_ticks(&self, claimed_by: &str, at: DateTime<Utc>) -> Result<usize, DbError> {
        let n = self
            .client()?
            .execute(
                "UPDATE smelt_schedule_ticks SET heartbeat = $2 \
                 WHERE claimed_by = $1 AND status = 'running'",
                &[&claimed_by, &at],
            )
            .map_err(self.pg_err("refresh schedule tick heartbeats"))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn list_ticks(&self, schedule: Option<&str>, limit: i64) -> Result<Vec<ScheduleTick>, DbError> {
        self.client()?
            .query(
                "SELECT schedule, tick, claimed_by, claimed_at, status, attempt, ended_at, heartbeat \
                 FROM smelt_schedule_ticks WHERE ($1::TEXT IS NULL OR schedule = $1) \
                 ORDER BY tick DESC, schedule LIMIT $2",
                &[&schedule, &limit],
            )
            .and_then(|rows| {
                rows.iter()
                    .map(|row| {
                        Ok(ScheduleTick {
                            schedule: row.try_get(0)?,
                            tick: row.try_get(1)?,
                            claimed_by: row.try_get(2)?,
                            claimed_at: row.try_get(3)?,
                            status: row.try_get(4)?,
                            attempt: row.try_get(5)?,
                            ended_at: row.try_get(6)?,
                            heartbeat: row.try_get(7)?,
                        })
                    })
                    .collect::<Result<_, tokio_postgres::Error>>()
                    .map_err(Into::into)
            })
            .map_err(self.pg_err("read schedule ticks"))
    }
}
