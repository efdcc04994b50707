//! Launching plugin processes in their own process groups and signalling those groups.
//!
//! A plugin may start children of its own (a shell wrapper, a Python launcher); signalling the
//! whole group is the only way to stop all of them. Each plugin gets a fresh group so that a
//! Ctrl-C in the terminal reaches smelt alone, and smelt decides who to stop and when.
//!
//! Nothing may outlive smelt, however smelt ends. Two mechanisms cover the case where smelt
//! cannot stop its plugins itself (`kill -9`, a SIGKILL to its process group, a crash):
//! every plugin process is started with a parent-death signal (SIGKILL when smelt dies), and
//! every plugin's process group is registered with a small [`watchdog`] process that kills
//! the groups still alive once smelt is gone, which reaches the plugin's own children too.

mod watchdog;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use crate::launch::LaunchSpec;

/// Starts `spec` with the given stdio in a new process group. The child inherits smelt's
/// environment plus `spec.env`, and runs in `cwd`. It dies with smelt ([`die_with_smelt`]) and
/// its group is registered with the watchdog ([`watch_group`]).
///
/// The calling thread must outlive the child (Linux sends the parent-death signal when the
/// spawning *thread* ends); every caller waits for its children before returning, so it does.
pub fn spawn(
    spec: &LaunchSpec,
    cwd: &Path,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
) -> std::io::Result<Child> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(&spec.env)
        .current_dir(cwd)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0);
    die_with_smelt(&mut cmd);
    let child = cmd.spawn()?;
    watch_group(child.id());
    Ok(child)
}

/// Makes the process `cmd` starts receive SIGKILL when smelt (more exactly, the thread that
/// spawns it) dies, so a `kill -9` of smelt cannot leave a plugin running. Should smelt already
/// be gone by the time the child sets this up, the child does not start at all.
pub fn die_with_smelt(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
        // system calls (prctl, getppid); it allocates nothing.
        let parent = unsafe { libc::getpid() };
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    // smelt died between fork and prctl: the signal will never come.
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Registers process group `pgid` (a plugin started in its own group) with the watchdog, which
/// SIGKILLs the group if smelt ends while the group still has members. Best effort: without a
/// watchdog (it could not be started) the parent-death signal still stops the plugin itself.
pub fn watch_group(pgid: u32) {
    watchdog::watch(pgid);
}

/// Sends `signal` to the process group led by `pid`. Errors (the group is already gone) are
/// ignored: the caller only wants the group to stop.
pub fn signal_group(pid: u32, signal: i32) {
    let Ok(pid) = i32::try_from(pid) else { return };
    if pid <= 0 {
        return;
    }
    // SAFETY: killpg has no memory-safety preconditions; a stale pgid only yields ESRCH.
    unsafe {
        libc::killpg(pid, signal);
    }
}

/// Raises a pipe's kernel buffer (best effort) so fewer context switches are needed per megabyte
/// relayed. The kernel caps it at `/proc/sys/fs/pipe-max-size`; failure leaves the default.
pub fn enlarge_pipe<F: std::os::fd::AsRawFd>(fd: &F) {
    // SAFETY: fcntl on a valid, owned fd; F_SETPIPE_SZ only changes the pipe's capacity.
    unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

/// Describes how a process ended, for messages: "exit 2" or "killed by signal 15 (SIGTERM)".
pub fn describe_status(status: &ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit {code}");
    }
    match status.signal() {
        Some(sig) => format!("killed by signal {sig}{}", signal_name(sig)),
        None => "ended abnormally".to_string(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => " (SIGHUP)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGPIPE => " (SIGPIPE)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_well() {
        assert_eq!(describe_status(&ExitStatus::from_raw(2 << 8)), "exit 2");
        assert_eq!(
            describe_status(&ExitStatus::from_raw(libc::SIGTERM)),
            "killed by signal 15 (SIGTERM)"
        );
    }

    #[test]
    fn group_signal_stops_grandchildren() {
        let spec = LaunchSpec {
            program: "sh".into(),
            args: vec!["-c".into(), "sleep 30 & sleep 30; wait".into()],
            env: Default::default(),
        };
        let mut child = spawn(
            &spec,
            Path::new("."),
            Stdio::null(),
            Stdio::null(),
            Stdio::null(),
        )
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        signal_group(child.id(), libc::SIGKILL);
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        // The background sleep was in the same group: nothing in the group is still running
        // (a killed grandchild may linger as a zombie until init reaps it; that is not running).
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            live_members(child.id()).is_empty(),
            "grandchild survived the group signal"
        );
    }

    /// Pids in process group `pgid` that are not zombies, from /proc.
    fn live_members(pgid: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let fields: Vec<&str> = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            // fields[0] = state, fields[2] = pgrp
            if fields.get(2) == Some(&pgid.to_string().as_str()) && fields.first() != Some(&"Z") {
                out.push(pid);
            }
        }
        out
    }
}

/// The error for a plugin that could not be started, with a hint that fits the cause: a
/// missing program, one that is not executable, or (E2BIG) arguments and environment larger
/// than the system allows — usually a setting too large to export as an environment variable.
pub fn spawn_error(
    label: &str,
    plugin: &str,
    spec: &LaunchSpec,
    err: &std::io::Error,
) -> crate::error::RunError {
    let (message, hint) = match err.raw_os_error() {
        Some(libc::E2BIG) => {
            let env_bytes: usize = spec.env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
            let largest = spec
                .env
                .iter()
                .max_by_key(|(_, v)| v.len())
                .map(|(k, v)| format!("; the largest is {k} ({} bytes)", v.len()))
                .unwrap_or_default();
            (
                format!(
                    "{}: its configuration is too large to pass as environment variables ({env_bytes} bytes in {} variables{largest})",
                    spec.program.display(),
                    spec.env.len()
                ),
                "keep large values (catalogs, JSON documents, key files) in files and set the path instead".to_string(),
            )
        }
        Some(libc::ENOENT) => (
            format!("{}: no such program", spec.program.display()),
            "install the plugin, or set `executable:` to its path".to_string(),
        ),
        Some(libc::EACCES) => (
            format!("{}: not executable", spec.program.display()),
            "make it executable (chmod +x), or set `executable:` to the right program".to_string(),
        ),
        _ => (
            format!("{}: {err}", spec.program.display()),
            "check that the executable exists and is runnable".to_string(),
        ),
    };
    crate::error::RunError::Launch {
        label: label.to_string(),
        plugin: plugin.to_string(),
        message,
        hint,
    }
}

#[cfg(test)]
mod spawn_error_tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn argument_list_too_long_names_the_plugin_and_the_largest_variable() {
        let mut env = BTreeMap::new();
        env.insert("TAP_X_CATALOG".to_string(), "x".repeat(4 * 1024 * 1024));
        env.insert("TAP_X_HOST".to_string(), "h".to_string());
        let spec = LaunchSpec {
            program: "/bin/true".into(),
            args: Vec::new(),
            env,
        };
        let err = match spawn(
            &spec,
            Path::new("."),
            Stdio::null(),
            Stdio::null(),
            Stdio::null(),
        ) {
            Ok(mut child) => {
                let _ = child.wait();
                panic!("a 4 MiB variable should not fit in the environment")
            }
            Err(e) => e,
        };
        let text = spawn_error("extractor", "tap-x", &spec, &err).to_string();
        assert!(text.contains("tap-x"), "{text}");
        assert!(
            text.contains("too large to pass as environment variables"),
            "{text}"
        );
        assert!(text.contains("TAP_X_CATALOG"), "{text}");
    }
}
