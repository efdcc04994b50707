//! How long smelt waits for a PostgreSQL system database, so a server that accepts
//! connections but never answers fails a command in seconds instead of hanging it.

use std::time::{Duration, Instant};

/// The bounds on every wait for a PostgreSQL system database, from the project settings
/// (`database_connect_timeout_seconds`, `database_statement_timeout_seconds`,
/// `database_max_retries`, `database_retry_timeout`). The SQLite engine ignores them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbTimeouts {
    /// One connection attempt: TCP connect plus start-up and authentication. A
    /// `connect_timeout=` in the URI wins. `None`: no bound.
    pub connect: Option<Duration>,
    /// Server-side `statement_timeout`; the client gives up on a round trip a little later
    /// (see [`DbTimeouts::round_trip`]). `None`: no bound.
    pub statement: Option<Duration>,
    /// Retries of a failed initial connection (Meltano's `database_max_retries`).
    pub max_retries: u32,
    /// Pause between connection attempts (Meltano's `database_retry_timeout`).
    pub retry_pause: Duration,
    /// When to stop connecting altogether, retries included (a run's `--timeout`).
    pub deadline: Option<Instant>,
}

impl Default for DbTimeouts {
    /// Connect 10 s, statements 30 s, Meltano's 3 retries 5 s apart.
    fn default() -> Self {
        DbTimeouts {
            connect: Some(Duration::from_secs(10)),
            statement: Some(Duration::from_secs(30)),
            max_retries: 3,
            retry_pause: Duration::from_secs(5),
            deadline: None,
        }
    }
}

impl DbTimeouts {
    /// The client-side bound on one round trip: the statement timeout plus a grace period (up
    /// to 5 s), so the server's own, clearer `statement_timeout` error normally comes first and
    /// ours only fires when the server does not answer at all.
    pub fn round_trip(&self) -> Option<Duration> {
        self.statement.map(|s| {
            s + s
                .min(Duration::from_secs(5))
                .max(Duration::from_millis(200))
        })
    }

    /// These bounds, each shortened to end no later than `remaining` from now (a run's
    /// `--timeout`), and connecting (retries included) given up at that point.
    pub fn within(mut self, remaining: Duration) -> DbTimeouts {
        self.deadline = Some(Instant::now() + remaining);
        let cap = |d: Option<Duration>| Some(d.map_or(remaining, |d| d.min(remaining)));
        self.connect = cap(self.connect);
        self.statement = cap(self.statement);
        self.retry_pause = self.retry_pause.min(remaining);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_adds_a_bounded_grace() {
        let t = |s: u64| DbTimeouts {
            statement: Some(Duration::from_secs(s)),
            ..DbTimeouts::default()
        };
        assert_eq!(t(30).round_trip(), Some(Duration::from_secs(35)));
        assert_eq!(t(1).round_trip(), Some(Duration::from_secs(2)));
        let none = DbTimeouts {
            statement: None,
            ..DbTimeouts::default()
        };
        assert_eq!(none.round_trip(), None);
    }

    #[test]
    fn within_caps_every_bound() {
        let capped = DbTimeouts {
            connect: None,
            ..DbTimeouts::default()
        }
        .within(Duration::from_secs(3));
        assert_eq!(capped.connect, Some(Duration::from_secs(3)));
        assert_eq!(capped.statement, Some(Duration::from_secs(3)));
        assert_eq!(capped.retry_pause, Duration::from_secs(3));
    }
}
