//! SIGINT / SIGTERM / SIGHUP handling for a run.
//!
//! smelt must not die on the first Ctrl-C: it forwards the signal to every plugin's process
//! group, waits for them, records the run as failed and exits 130 / 143. SIGHUP (the terminal
//! closed, or an orchestrator hung up) is handled like SIGTERM and exits 129. The handler only
//! sets a flag; the run loops poll it between events.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

static RECEIVED: OnceLock<Arc<AtomicI32>> = OnceLock::new();
static COUNT: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);

/// How long a run may take to wind down after a signal (or past its `--timeout`) before smelt
/// exits anyway: longer than the supervisor's SIGTERM→SIGKILL grace, short enough that a
/// backend that stopped answering cannot keep smelt alive.
pub const EXIT_GRACE: Duration = Duration::from_secs(15);

/// Installs the handlers (idempotent). After this, SIGINT, SIGTERM and SIGHUP no longer end
/// smelt directly; [`received`] reports them.
pub fn install() -> std::io::Result<()> {
    if RECEIVED.get().is_some() {
        return Ok(());
    }
    let flag = Arc::new(AtomicI32::new(0));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let f = Arc::clone(&flag);
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            signal_hook::low_level::register(sig, move || {
                // Keep the first signal: it decides the exit code.
                let _ = f.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
                COUNT.fetch_add(1, Ordering::SeqCst);
            })?;
        }
    }
    let _ = RECEIVED.set(flag);
    Ok(())
}

/// The first SIGINT/SIGTERM/SIGHUP received since [`install`], if any.
pub fn received() -> Option<i32> {
    let v = RECEIVED.get()?.load(Ordering::SeqCst);
    (v != 0).then_some(v)
}

/// Makes sure a run ends soon after a signal or its deadline even if something it waits for
/// (a state backend, the system database) never answers: a watcher thread exits the process
/// [`EXIT_GRACE`] after the first signal (at once on a second one), or `EXIT_GRACE` past
/// `deadline`. Plugins die with smelt (parent-death signal, watchdog); state already
/// acknowledged is durable; the run record left `running` is settled as failed by the next run.
/// Only runs arm it: an interactive `invoke` must let its plugin handle Ctrl-C.
pub fn arm_exit_deadline(deadline: Option<Instant>) {
    if ARMED.swap(true, Ordering::SeqCst) {
        return;
    }
    std::thread::spawn(move || {
        let mut first: Option<(i32, Instant)> = None;
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = Instant::now();
            if first.is_none() {
                first = received().map(|sig| (sig, now));
            }
            if let Some((sig, at)) = first {
                if COUNT.load(Ordering::SeqCst) >= 2 || now >= at + EXIT_GRACE {
                    give_up(exit_code_for(sig), "after the signal");
                }
            } else if deadline.is_some_and(|d| now >= d + EXIT_GRACE) {
                give_up(1, "past its --timeout");
            }
        }
    });
}

fn give_up(code: i32, when: &str) -> ! {
    eprintln!(
        "smelt: still stopping {}s {when}; exiting now. Acknowledged state is saved; the run is recorded as failed by the next run.",
        EXIT_GRACE.as_secs()
    );
    // SAFETY: _exit ends the process without running destructors, which may be blocked.
    unsafe { libc::_exit(code) }
}

/// The exit code for a run ended by `signal`: 129 for SIGHUP, 130 for SIGINT, 143 for SIGTERM
/// (128 + n, the shell convention).
pub fn exit_code_for(signal: i32) -> i32 {
    128 + signal
}

/// The signal smelt sends its plugins when it received `signal`. SIGHUP becomes SIGTERM: many
/// programs take SIGHUP as "reload your configuration" and would keep running, while smelt
/// means "stop"; SIGINT and SIGTERM are passed on as they are.
pub fn forwarded(signal: i32) -> i32 {
    if signal == libc::SIGHUP {
        libc::SIGTERM
    } else {
        signal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_shell_convention() {
        assert_eq!(exit_code_for(libc::SIGINT), 130);
        assert_eq!(exit_code_for(libc::SIGTERM), 143);
        assert_eq!(exit_code_for(libc::SIGHUP), 129);
    }

    #[test]
    fn hangup_stops_plugins_with_sigterm() {
        assert_eq!(forwarded(libc::SIGHUP), libc::SIGTERM);
        assert_eq!(forwarded(libc::SIGINT), libc::SIGINT);
        assert_eq!(forwarded(libc::SIGTERM), libc::SIGTERM);
    }
}
