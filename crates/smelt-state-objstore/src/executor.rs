//! The bridge from our synchronous `StateBackend` API to object_store's async one: a small
//! current-thread tokio runtime owned by each backend.

use std::future::Future;

use smelt_state::StateError;
use tokio::runtime::{Builder, Handle, Runtime};

/// Runs object_store futures to completion on a private current-thread runtime.
///
/// Several threads may call [`Executor::block_on`] at once (tokio lets one of them drive the
/// I/O while the others wait). Called from inside another tokio runtime (where blocking on a
/// runtime would panic), the future runs on a scoped helper thread instead.
pub(crate) struct Executor {
    /// `None` only while being dropped.
    runtime: Option<Runtime>,
}

impl Executor {
    /// A new current-thread runtime with I/O and timers.
    pub(crate) fn new() -> Result<Executor, StateError> {
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
        if Handle::try_current().is_err() {
            return Ok(runtime.block_on(future));
        }
        std::thread::scope(|scope| {
            scope
                .spawn(|| runtime.block_on(future))
                .join()
                .map_err(|_| {
                    StateError::Backend(
                        "a cloud state backend operation panicked on its I/O thread".to_string(),
                    )
                })
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
        match Executor::new() {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        }
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
