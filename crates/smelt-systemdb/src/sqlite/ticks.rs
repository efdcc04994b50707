//! The SQLite schedule ticks table.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::SqliteEngine;
use crate::engine::TickStore;
use crate::time::{from_db, now, to_db};
use crate::{DbError, ScheduleTick};

impl TickStore for SqliteEngine {
    fn insert_tick(
        &self,
        tick: &ScheduleTick,
        alive_since: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        // One statement: SQLite runs it under the database write lock, so the check and the
        // insert cannot interleave with another process's claim.
        let inserted = self
            .conn()
            .execute(
                "INSERT INTO schedule_ticks \
                 (schedule, tick, claimed_by, claimed_at, status, attempt, heartbeat) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS ( \
                     SELECT 1 FROM schedule_ticks WHERE schedule = ?1 AND tick <> ?2 \
                     AND status = 'running' AND heartbeat >= ?8) \
                 ON CONFLICT (schedule, tick) DO NOTHING",
                params![
                    tick.schedule,
                    tick.tick,
                    tick.claimed_by,
                    to_db(tick.claimed_at),
                    tick.status,
                    tick.attempt,
                    to_db(tick.heartbeat),
                    to_db(alive_since)
                ],
            )
            .map_err(self.sql_err("claim a schedule tick"))?;
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
            .conn()
            .execute(
                "UPDATE schedule_ticks SET status = ?3, attempt = ?4, ended_at = ?5, heartbeat = ?6 \
                 WHERE schedule = ?1 AND tick = ?2",
                params![schedule, tick, status, attempt, ended_at.map(to_db), to_db(now())],
            )
            .map_err(self.sql_err("record a schedule tick"))?;
        Ok(changed > 0)
    }

    fn touch_ticks(&self, claimed_by: &str, at: DateTime<Utc>) -> Result<usize, DbError> {
        self.conn()
            .execute(
                "UPDATE schedule_ticks SET heartbeat = ?2 \
                 WHERE claimed_by = ?1 AND status = 'running'",
                params![claimed_by, to_db(at)],
            )
            .map_err(self.sql_err("refresh schedule tick heartbeats"))
    }

    fn list_ticks(&self, schedule: Option<&str>, limit: i64) -> Result<Vec<ScheduleTick>, DbError> {
        let conn = self.conn();
        let err = || self.sql_err("read schedule ticks");
        let mut stmt = conn
            .prepare(
                "SELECT schedule, tick, claimed_by, claimed_at, status, attempt, ended_at, heartbeat \
                 FROM schedule_ticks WHERE (?1 IS NULL OR schedule = ?1) \
                 ORDER BY tick DESC, schedule LIMIT ?2",
            )
            .map_err(err())?;
        let rows = stmt
            .query_map(params![schedule, limit], |row| {
                Ok(ScheduleTick {
                    schedule: row.get(0)?,
                    tick: row.get(1)?,
                    claimed_by: row.get(2)?,
                    claimed_at: from_db(&row.get::<_, String>(3)?).unwrap_or_else(|_| now()),
                    status: row.get(4)?,
                    attempt: row.get(5)?,
                    ended_at: row
                        .get::<_, Option<String>>(6)?
                        .and_then(|t| from_db(&t).ok()),
                    heartbeat: from_db(&row.get::<_, String>(7)?).unwrap_or_else(|_| now()),
                })
            })
            .map_err(err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(err())
    }
}
