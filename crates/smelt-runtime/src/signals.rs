//! SIGINT / SIGTERM / SIGHUP handling for a run.
//!
//! smelt must not die on the first Ctrl-C: it forwards the signal to every plugin's process
//! group, waits for them, records the run as failed and exits 130 / 143. SIGHUP (the terminal
//! closed, or an orchestrator hung up) is handled like SIGTERM and exits 129. The handler only
//! sets a flag; the run loops poll it between events.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};

static RECEIVED: OnceLock<Arc<AtomicI32>> = OnceLock::new();

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
