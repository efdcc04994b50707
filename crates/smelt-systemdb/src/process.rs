//! Facts about processes and this machine, used to tell a crashed run from a live one.

/// Whether process `pid` exists on this machine.
///
/// Uses `kill(pid, 0)`: only "no such process" (`ESRCH`) counts as dead; a process owned by
/// another user (`EPERM`) is alive. IDs that cannot name a single process (0, or beyond
/// `pid_t`) are reported alive, so a run is never declared dead on a guess — the heartbeat
/// rule still catches it.
pub fn pid_alive(pid: u32) -> bool {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if raw <= 0 {
        return true;
    }
    // SAFETY: signal 0 performs only the existence/permission check; no signal is sent.
    let rc = unsafe { libc::kill(raw, 0) };
    if rc == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// This machine's host name, recorded with each run so stale-PID checks only apply to runs
/// started here. Falls back to `$HOSTNAME`, then `"localhost"`.
pub fn local_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname writes at most that many.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
        if !name.is_empty() {
            return name;
        }
    }
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive() {
        assert!(pid_alive(std::process::id()));
    }

    #[test]
    fn reaped_child_is_dead() {
        let child = std::process::Command::new("true").spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => panic!("spawn true: {e}"),
        };
        let pid = child.id();
        assert!(child.wait().is_ok());
        assert!(!pid_alive(pid));
    }

    #[test]
    fn unusable_pids_are_not_declared_dead() {
        assert!(pid_alive(0));
        assert!(pid_alive(u32::MAX));
    }

    #[test]
    fn hostname_is_not_empty() {
        assert!(!local_hostname().is_empty());
    }
}
