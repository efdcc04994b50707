//! The bridge from our synchronous `StateBackend` API to object_store's async one: a small
//! current-thread tokio runtime owned by each backend.

use std::future::Future;
use std::time::Duration;

use smelt_state::StateError;
use tokio::runtime::{Builder, Handle, Runtime};

use crate::SettingNames;

/// Runs object_store futures to completion on a private current-thread runtime.
///
/// Several threads may call [`Executor::block_on`] at once (tokio lets one of them drive the
/// I/O while the others wait). Called from inside another tokio runtime (where blocking on a
/// runtime would panic), the future runs on a scoped helper thread instead.
///
/// Every call is bounded by `limit` (`state_backend.timeout_seconds`), on top of
/// object_store's own request timeouts and retry budget, so no store can hang smelt.
pub(crate) struct Executor {
    /// `None` only while being dropped.
    runtime: Option<Runtime>,
    /// The longest one call may take (`None`: unbounded).
    limit: Option<Duration>,
    /// The store, for messages.
    what: String,
    /// The setting names to quote in messages.
    names: SettingNames,
}

impl Executor {
    /// A new current-thread runtime with I/O and timers; calls give up after `limit`,
    /// with an error naming `what` (the bucket URL).
    #[cfg(test)]
    pub(crate) fn new(limit: Option<Duration>, what: String) -> Result<Executor, StateError> {
        Executor::named(limit, what, SettingNames::STATE_BACKEND)
    }

    /// [`Executor::new`] whose messages quote the settings `names`.
    pub(crate) fn named(
        limit: Option<Duration>,
        what: String,
        names: SettingNames,
    ) -> Result<Executor, StateError> {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                StateError::Backend(format!(
                    "could not start the I/O runtime for the cloud state backend: {e}"
                ))
            })?;
        Ok(Executor {
            runtime: Some(runtime),
            limit,
            what,
            names,
        })
    }

    /// Run `future` to completion and return its output.
    pub(crate) fn block_on<F>(&self, future: F) -> Result<F::Output, StateError>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let Some(runtime) = &self.runtime else {
            return Err(StateError::Backend(
                "the cloud state backend is shutting down".to_string(),
            ));
        };
        let limit = self.limit;
        // The timer is created inside the runtime (it needs its clock).
        let bounded = async move {
            match limit {
                Some(limit) => tokio::time::timeout(limit, future).await.ok(),
                None => Some(future.await),
            }
        };
        let out = if Handle::try_current().is_err() {
            runtime.block_on(bounded)
        } else {
            std::thread::scope(|scope| {
                scope
                    .spawn(|| runtime.block_on(bounded))
                    .join()
                    .map_err(|_| {
                        StateError::Backend(
                            "a cloud state backend operation panicked on its I/O thread"
                                .to_string(),
                        )
                    })
            })?
        };
        out.ok_or_else(|| {
            StateError::Backend(format!(
                "the object store {} did not answer within {:.1}s (smelt's bound, set by \
                 {}); check that the endpoint is the object store and reachable ({}, proxies, \
                 firewall), or raise the setting",
                self.what,
                limit.unwrap_or_default().as_secs_f64(),
                self.names.timeout,
                self.names.s3_endpoint_url
            ))
        })
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime's async context panics; hand it off.
        if Handle::try_current().is_ok() {
            if let Some(runtime) = self.runtime.take() {
                runtime.shutdown_background();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn executor() -> Executor {
        match Executor::new(Some(Duration::from_secs(10)), "s3://b".to_string()) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_call_that_never_ends_is_cut_off() {
        let exec = match Executor::new(Some(Duration::from_millis(100)), "s3://b".into()) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        let started = std::time::Instant::now();
        let err = exec
            .block_on(std::future::pending::<()>())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            err.contains("s3://b") && err.contains("state_backend.timeout_seconds"),
            "{err}"
        );
    }

    #[test]
    fn runs_futures_with_timers() {
        let exec = executor();
        let out = exec.block_on(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            41 + 1
        });
        assert_eq!(out.ok(), Some(42));
    }

    #[test]
    fn many_threads_can_block_on_one_executor() {
        let exec = executor();
        let total: u32 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u32)
                .map(|i| {
                    let exec = &exec;
                    s.spawn(move || {
                        exec.block_on(async move {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            i
                        })
                        .unwrap_or(1000)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(1000)).sum()
        });
        assert_eq!(total, (0..8u32).sum::<u32>());
    }

    #[test]
    fn works_and_drops_inside_another_runtime() {
        let outer = match Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => panic!("{e}"),
        };
        let out = outer.block_on(async {
            let exec = executor();
            let value = exec.block_on(async { 7 });
            drop(exec); // must not panic inside an async context
            value
        });
        assert_eq!(out.ok(), Some(7));
    }
}
