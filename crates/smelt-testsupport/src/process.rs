//! Running one emulator process: pick a free port, start it in its own process group with its
//! output in a log file, wait until it accepts connections, and stop it on drop.

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::HarnessError;

/// How often a port is tried when the emulator lost a race for it.
const PORT_ATTEMPTS: usize = 3;
/// Pause between readiness probes.
const POLL: Duration = Duration::from_millis(50);
/// How long a stopping emulator gets after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How much of the log is quoted in errors.
const LOG_TAIL_BYTES: u64 = 3000;

/// What to start and how to explain a failure.
pub(crate) struct Launch<'a> {
    /// Short name for messages, e.g. "moto_server".
    pub name: &'a str,
    /// How to run the emulator by hand, quoted in every error.
    pub manual: &'a str,
    /// How long to wait for the port to accept connections.
    pub ready_timeout: Duration,
    /// Builds the command for a port and a private data directory.
    pub command: &'a dyn Fn(u16, &Path) -> Command,
}

/// A running emulator; stopped (its whole process group) when dropped.
///
/// The process is also killed by the kernel if the thread that started it ends (Linux
/// `PR_SET_PDEATHSIG`), so a test killed halfway leaves nothing behind; keep the handle in the
/// thread that created it.
pub(crate) struct EmulatorProcess {
    child: Child,
    port: u16,
    log_path: PathBuf,
    /// Holds the log and the emulator's data; removed on drop.
    _data_dir: tempfile::TempDir,
}

impl EmulatorProcess {
    /// Start `launch` on a free port and wait until it accepts TCP connections.
    pub(crate) fn start(launch: &Launch<'_>) -> Result<EmulatorProcess, HarnessError> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            match Self::start_on(launch, port) {
                Ok(process) => return Ok(process),
                Err(StartError::PortTaken(e)) => last_error = Some(e),
                Err(StartError::Fatal(e)) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| HarnessError::new("no free port found")))
    }

    fn start_on(launch: &Launch<'_>, port: u16) -> Result<EmulatorProcess, StartError> {
        let data_dir = tempfile::Builder::new()
            .prefix("smelt-emulator-")
            .tempdir()
            .map_err(|e| fatal(format!("could not create a temporary directory: {e}")))?;
        let log_path = data_dir.path().join("emulator.log");
        let log = File::create(&log_path)
            .map_err(|e| fatal(format!("could not create {}: {e}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(|e| fatal(format!("could not duplicate a log handle: {e}")))?;
        let store = data_dir.path().join("data");
        fs::create_dir_all(&store)
            .map_err(|e| fatal(format!("could not create {}: {e}", store.display())))?;

        let mut command = (launch.command)(port, &store);
        command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        die_with_parent(&mut command);
        let child = command.spawn().map_err(|e| {
            fatal(format!(
                "could not start {}: {e}. To run it by hand: {}",
                launch.name, launch.manual
            ))
        })?;
        let mut process = EmulatorProcess {
            child,
            port,
            log_path,
            _data_dir: data_dir,
        };
        process.wait_ready(launch)?;
        Ok(process)
    }

    fn wait_ready(&mut self, launch: &Launch<'_>) -> Result<(), StartError> {
        let started = Instant::now();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Some(status) = self.child.try_wait().ok().flatten() {
                let log = self.log_tail();
                let message = format!(
                    "{} exited ({status}) before accepting connections on 127.0.0.1:{}.\n\
                     --- its output ---\n{log}\n---\nTo run it by hand: {}",
                    launch.name, self.port, launch.manual
                );
                let lost_port = log.contains("in use") || log.contains("EADDRINUSE");
                return Err(if lost_port {
                    StartError::PortTaken(HarnessError::new(message))
                } else {
                    StartError::Fatal(HarnessError::new(message))
                });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // Someone else may own the port; make sure our process is still alive.
                sleep(POLL);
                if self.child.try_wait().ok().flatten().is_none() {
                    return Ok(());
                }
                continue;
            }
            if started.elapsed() >= launch.ready_timeout {
                let log = self.log_tail();
                return Err(fatal(format!(
                    "{} did not accept connections on 127.0.0.1:{} within {:?}.\n\
                     --- its output ---\n{log}\n---\nTo run it by hand: {}",
                    launch.name, self.port, launch.ready_timeout, launch.manual
                )));
            }
            sleep(POLL);
        }
    }

    /// The port the emulator listens on (127.0.0.1).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The last few kilobytes of the emulator's output, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        read_tail(&self.log_path, LOG_TAIL_BYTES)
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let Ok(pid) = i32::try_from(self.child.id()) else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return;
        };
        // SAFETY: signalling the process group we created with process_group(0).
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            sleep(POLL);
        }
        // SAFETY: as above; also reaps stragglers of the group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

enum StartError {
    /// Another process took the port first; try another one.
    PortTaken(HarnessError),
    Fatal(HarnessError),
}

fn fatal(message: String) -> StartError {
    StartError::Fatal(HarnessError::new(message))
}

/// A port that was free a moment ago on 127.0.0.1.
pub(crate) fn free_port() -> Result<u16, HarnessError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| HarnessError::new(format!("could not find a free port on 127.0.0.1: {e}")))
}

#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// The last `max` bytes of the file at `path` (lossy UTF-8), or a note that it is unreadable.
pub(crate) fn read_tail(path: &Path, max: u64) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let start = bytes
                .len()
                .saturating_sub(usize::try_from(max).unwrap_or(usize::MAX));
            String::from_utf8_lossy(&bytes[start..])
                .trim_end()
                .to_string()
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &'static str) -> impl Fn(u16, &Path) -> Command {
        move |port, _| {
            let mut c = Command::new("sh");
            c.arg("-c").arg(script).env("PORT", port.to_string());
            c
        }
    }

    #[test]
    fn free_port_is_nonzero() {
        assert!(free_port().is_ok_and(|p| p > 0));
    }

    #[test]
    fn early_exit_is_reported_with_output_and_manual_hint() {
        let command = sh("echo boom-from-emulator >&2; exit 3");
        let launch = Launch {
            name: "fake",
            manual: "run fake --port N",
            ready_timeout: Duration::from_secs(5),
            command: &command,
        };
        let err = EmulatorProcess::start(&launch)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("fake exited"), "{err}");
        assert!(err.contains("boom-from-emulator"), "{err}");
        assert!(err.contains("run fake --port N"), "{err}");
    }

    #[test]
    fn silent_process_times_out_with_clear_error() {
        let command = sh("sleep 30");
        let launch = Launch {
            name: "sleepy",
            manual: "start sleepy by hand",
            ready_timeout: Duration::from_millis(300),
            command: &command,
        };
        let started = Instant::now();
        let err = EmulatorProcess::start(&launch)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("did not accept connections"), "{err}");
        assert!(err.contains("start sleepy by hand"), "{err}");
        // The sleeping child was killed on drop, not waited for.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn ready_process_is_stopped_on_drop() {
        let command = |port: u16, _: &Path| {
            let mut c = Command::new("python3");
            c.args([
                "-c",
                "import socket,sys,time\n\
                 s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
                 s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n\
                 time.sleep(60)",
                &port.to_string(),
            ]);
            c
        };
        let launch = Launch {
            name: "listener",
            manual: "n/a",
            ready_timeout: Duration::from_secs(20),
            command: &command,
        };
        let process = match EmulatorProcess::start(&launch) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let port = process.port();
        drop(process);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
    }

    #[test]
    fn read_tail_keeps_the_end() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("log");
        assert!(fs::write(&path, "0123456789\n").is_ok());
        assert_eq!(read_tail(&path, 4), "789");
        assert!(read_tail(&dir.path().join("missing"), 4).contains("could not read"));
    }
}
