//! Retrying a failed run: how many times, and how long to wait before each attempt.

use std::time::Duration;

/// Exponential backoff: attempt 2 waits `delay`, attempt 3 `2 × delay`, attempt 4 `4 × delay`…,
/// never more than `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: a failed run waits for the next tick).
    pub retries: u32,
    /// The wait before the first retry.
    pub delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 2,
            delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed, or `None`
    /// when no retry is left.
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        if attempt == 0 || attempt > self.retries {
            return None;
        }
        let factor = 1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX);
        Some(self.delay.saturating_mul(factor).min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops_after_the_retries() {
        let p = RetryPolicy {
            retries: 5,
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(6),
        };
        let waits: Vec<_> = (1..=6).map(|a| p.delay_after(a)).collect();
        let s = Duration::from_secs;
        assert_eq!(
            waits,
            [
                Some(s(1)),
                Some(s(2)),
                Some(s(4)),
                Some(s(6)),
                Some(s(6)),
                None
            ]
        );
        assert_eq!(p.delay_after(0), None);
    }

    #[test]
    fn no_retries_means_no_wait_and_huge_attempts_do_not_overflow() {
        let none = RetryPolicy {
            retries: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(none.delay_after(1), None);
        let many = RetryPolicy {
            retries: u32::MAX,
            delay: Duration::from_secs(u64::MAX / 2),
            max_delay: Duration::from_secs(u64::MAX),
        };
        assert!(many.delay_after(200).is_some());
    }
}
