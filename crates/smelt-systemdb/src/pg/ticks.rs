//! The PostgreSQL schedule ticks table.

use chrono::{DateTime, Utc};

use super::client::PgCalls;
use super::PgEngine;
use crate::engine::TickStore;
use crate::{DbError, ScheduleTick};

impl TickStore for PgEngine {
    fn insert_tick(&self, tick: &ScheduleTick) -> Result<bool, DbError> {
        let inserted = self
            .client()?
            .execute(
                "INSERT INTO smelt_schedule_ticks \
                 (schedule, tick, claimed_by, claimed_at, status, attempt) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (schedule, tick) DO NOTHING",
                &[
                    &tick.schedule,
                    &tick.tick,
                    &tick.claimed_by,
                    &tick.claimed_at,
                    &tick.status,
                    &tick.attempt,
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
                "UPDATE smelt_schedule_ticks SET status = $3, attempt = $4, ended_at = $5 \
                 WHERE schedule = $1 AND tick = $2",
                &[&schedule, &tick, &status, &attempt, &ended_at],
            )
            .map_err(self.pg_err("record a schedule tick"))?;
        Ok(changed > 0)
    }

    fn list_ticks(&self, schedule: Option<&str>, limit: i64) -> Result<Vec<ScheduleTick>, DbError> {
        self.client()?
            .query(
                "SELECT schedule, tick, claimed_by, claimed_at, status, attempt, ended_at \
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
                        })
                    })
                    .collect::<Result<_, tokio_postgres::Error>>()
                    .map_err(Into::into)
            })
            .map_err(self.pg_err("read schedule ticks"))
    }
}
