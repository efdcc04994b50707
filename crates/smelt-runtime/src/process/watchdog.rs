//! A helper process that outlives smelt just long enough to kill its plugins' process groups.
//!
//! The parent-death signal only reaches a plugin's own process, not what that process started
//! (a shell wrapper's Python, a launcher's worker). Those stay in the plugin's process group, so
//! something must signal the group after smelt is gone. On the first plugin start, smelt forks
//! this watchdog: it sits in a process group of its own (a signal to smelt's group does not
//! reach it), ignores the terminal signals, and reads the process group IDs smelt sends it over
//! a pipe. When the pipe reaches end-of-file — smelt has exited, however it died — it sends
//! SIGKILL to every registered group that still has members, and exits.
//!
//! Groups that empty out are forgotten within half a second, so a process group ID the kernel
//! later reuses for someone else's processes is not killed by mistake.
//!
//! The child of `fork` in a multi-threaded process may only make async-signal-safe calls: the
//! watchdog's loop uses plain system calls, fixed-size stack buffers and no allocation.

use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::sync::{Mutex, OnceLock};

/// The write end of the pipe to the watchdog, or `None` if it could not be started.
static WATCHDOG: OnceLock<Option<Mutex<File>>> = OnceLock::new();

/// How many groups the watchdog tracks at once; more are left to the parent-death signal.
const MAX_GROUPS: usize = 1024;
/// How often (milliseconds) the watchdog forgets groups that have no members left.
const PRUNE_EVERY_MS: libc::c_int = 500;
/// The fd the watchdog reads registrations from.
const PIPE_FD: libc::c_int = 3;

/// Tells the watchdog (started on first use) about process group `pgid`.
pub(super) fn watch(pgid: u32) {
    let Ok(pgid) = i32::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    if let Some(pipe) = WATCHDOG.get_or_init(start) {
        let mut pipe = pipe.lock().unwrap_or_else(|e| e.into_inner());
        // A failed write means the watchdog is gone; the parent-death signal remains.
        let _ = pipe.write_all(&pgid.to_ne_bytes());
    }
}

/// Forks the watchdog and returns the pipe's write end.
fn start() -> Option<Mutex<File>> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array; both are owned here.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return None;
    }
    let (read_end, write_end) = (fds[0], fds[1]);
    // SAFETY: the child only runs `watchdog_main`, which is async-signal-safe and never
    // returns; the parent continues normally.
    match unsafe { libc::fork() } {
        -1 => {
            // SAFETY: both fds were just created and are not used elsewhere.
            unsafe {
                libc::close(read_end);
                libc::close(write_end);
            }
            None
        }
        0 => unsafe { watchdog_main(read_end, write_end) },
        _ => {
            // SAFETY: the read end belongs to the watchdog now; the write end is owned by the
            // returned File (close-on-exec, so plugins never hold it open).
            unsafe { libc::close(read_end) };
            Some(Mutex::new(unsafe { File::from_raw_fd(write_end) }))
        }
    }
}

/// The watchdog's whole life. Only async-signal-safe calls; never returns.
unsafe fn watchdog_main(read_end: libc::c_int, write_end: libc::c_int) -> ! {
    libc::close(write_end);
    libc::setpgid(0, 0);
    for sig in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGQUIT,
        libc::SIGPIPE,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
    ] {
        libc::signal(sig, libc::SIG_IGN);
    }
    libc::prctl(
        libc::PR_SET_NAME,
        c"smelt-watchdog".as_ptr() as libc::c_ulong,
        0,
        0,
        0,
    );
    // Keep nothing of smelt's open: no terminal, no pipes a reader waits on, no files.
    let pipe = libc::fcntl(read_end, libc::F_DUPFD, PIPE_FD + 1);
    let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
    if pipe < 0 {
        libc::_exit(1);
    }
    for fd in 0..3 {
        if null >= 0 {
            libc::dup2(null, fd);
        }
    }
    libc::dup2(pipe, PIPE_FD);
    close_from(PIPE_FD + 1);

    let mut groups = [0 as libc::pid_t; MAX_GROUPS];
    let mut count = 0usize;
    let mut buf = [0u8; 512];
    let mut filled = 0usize;
    loop {
        let mut pfd = libc::pollfd {
            fd: PIPE_FD,
            events: libc::POLLIN,
            revents: 0,
        };
        let rc = libc::poll(&mut pfd, 1, PRUNE_EVERY_MS);
        if rc > 0 {
            let room = buf.len() - filled;
            let n = libc::read(PIPE_FD, buf.as_mut_ptr().add(filled).cast(), room);
            if n == 0 {
                break; // smelt is gone
            }
            if n < 0 {
                if errno() == libc::EINTR || errno() == libc::EAGAIN {
                    continue;
                }
                break;
            }
            filled += n as usize;
            let whole = filled - filled % 4;
            let mut at = 0;
            while at + 4 <= whole {
                let pgid =
                    libc::pid_t::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
                at += 4;
                if count == MAX_GROUPS {
                    count = prune(&mut groups, count);
                }
                if count < MAX_GROUPS && pgid > 1 {
                    groups[count] = pgid;
                    count += 1;
                }
            }
            for i in whole..filled {
                buf[i - whole] = buf[i];
            }
            filled -= whole;
        } else if rc < 0 && errno() != libc::EINTR {
            break;
        }
        count = prune(&mut groups, count);
    }
    for &pgid in &groups[..count] {
        libc::kill(-pgid, libc::SIGKILL);
    }
    libc::_exit(0)
}

/// Drops groups that no longer have members; returns the new count.
unsafe fn prune(groups: &mut [libc::pid_t; MAX_GROUPS], count: usize) -> usize {
    let mut kept = 0;
    for i in 0..count {
        let pgid = groups[i];
        if libc::kill(-pgid, 0) == 0 || errno() != libc::ESRCH {
            groups[kept] = pgid;
            kept += 1;
        }
    }
    kept
}

/// Closes every fd from `first` up (close_range, or a bounded loop on older kernels).
unsafe fn close_from(first: libc::c_int) {
    let rc = libc::syscall(
        libc::SYS_close_range,
        first as libc::c_uint,
        libc::c_uint::MAX,
        0 as libc::c_uint,
    );
    if rc != 0 {
        for fd in first..65536 {
            libc::close(fd);
        }
    }
}

fn errno() -> libc::c_int {
    // SAFETY: errno is thread-local and always readable.
    unsafe { *libc::__errno_location() }
}
