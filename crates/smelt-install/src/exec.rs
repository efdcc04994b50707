//! Runs one installer process (uv, pip, python) with a bounded wait.
//!
//! Each process gets its own process group, so stopping it stops whatever it started (a build
//! backend compiling an sdist), a parent-death signal and the runtime's watchdog, so it never
//! outlives smelt. Its stdout and stderr go into one pipe; smelt keeps the output (bounded) for
//! error messages.
//! The wait ends when the process exits, when the deadline passes, or when the caller's
//! `interrupted` hook reports a signal; the group then gets SIGTERM and, after a grace
//! period, SIGKILL.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use smelt_runtime::process::{die_with_smelt, signal_group, watch_group};

/// Most bytes of installer output kept (the tail is what matters).
const KEEP_BYTES: usize = 1024 * 1024;
/// How long a stopped installer gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(25);

/// How a process run ended.
#[derive(Debug)]
pub enum Ended {
    /// It exited on its own.
    Exited(ExitStatus),
    /// It ran past its deadline and was stopped.
    TimedOut(Duration),
    /// smelt received `signal` and stopped it.
    Interrupted(i32),
}

/// A finished process: how it ended and what it printed.
#[derive(Debug)]
pub struct Finished {
    /// How it ended.
    pub ended: Ended,
    /// Its stdout and stderr, interleaved (the last [`KEEP_BYTES`] at most).
    pub output: String,
}

impl Finished {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        matches!(&self.ended, Ended::Exited(s) if s.success())
    }

    /// "exit 1", "timed out after 1800 s", "interrupted".
    pub fn describe(&self) -> String {
        match &self.ended {
            Ended::Exited(s) => match s.code() {
                Some(code) => format!("exit {code}"),
                None => "killed by a signal".to_string(),
            },
            Ended::TimedOut(d) => {
                format!("stopped after {} s (SMELT_INSTALL_TIMEOUT)", d.as_secs())
            }
            Ended::Interrupted(_) => "interrupted".to_string(),
        }
    }

    /// The last `n` non-empty lines of the output.
    pub fn tail(&self, n: usize) -> Vec<&str> {
        let lines: Vec<&str> = self
            .output
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        lines[lines.len().saturating_sub(n)..].to_vec()
    }
}

/// Limits of one run.
#[derive(Clone, Copy)]
pub struct Bounds {
    /// The longest the process may run.
    pub timeout: Duration,
    /// Reports a signal smelt received (then the process is stopped).
    pub interrupted: fn() -> Option<i32>,
}

/// Runs `program args…` in `cwd` with `env` added, waiting within `bounds`.
pub fn run(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    cwd: &Path,
    bounds: Bounds,
) -> std::io::Result<Finished> {
    let (mut reader, writer) = std::io::pipe()?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    // The same guarantees as every plugin: killed with smelt, even by `kill -9` (watchdog).
    die_with_smelt(&mut cmd);
    let mut child = cmd.spawn()?;
    watch_group(child.id());
    // Drop our copies of the write end so the reader sees end-of-file when the child exits.
    drop(cmd);
    let collector = std::thread::spawn(move || {
        let mut kept: Vec<u8> = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * KEEP_BYTES {
                        kept.drain(..kept.len() - KEEP_BYTES);
                    }
                }
            }
        }
        kept
    });
    let started = Instant::now();
    let mut stop: Option<Ended> = None;
    let mut stop_sent: Option<Instant> = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if stop.is_none() {
            if let Some(sig) = (bounds.interrupted)() {
                stop = Some(Ended::Interrupted(sig));
            } else if started.elapsed() >= bounds.timeout {
                stop = Some(Ended::TimedOut(bounds.timeout));
            }
            if stop.is_some() {
                signal_group(child.id(), libc::SIGTERM);
                stop_sent = Some(Instant::now());
            }
        } else if stop_sent.is_some_and(|t| t.elapsed() >= KILL_GRACE) {
            signal_group(child.id(), libc::SIGKILL);
            stop_sent = None;
        }
        std::thread::sleep(POLL);
    };
    // Whatever the process left behind in its group goes too.
    signal_group(child.id(), libc::SIGKILL);
    // The collector ends at end-of-file; a grandchild holding the pipe open was just killed.
    let kept = collector.join().unwrap_or_default();
    let start = kept.len().saturating_sub(KEEP_BYTES);
    Ok(Finished {
        ended: stop.unwrap_or(Ended::Exited(status)),
        output: String::from_utf8_lossy(&kept[start..]).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never() -> Option<i32> {
        None
    }

    fn sh(script: &str, timeout: Duration) -> Finished {
        run(
            Path::new("/bin/sh"),
            &["-c".to_string(), script.to_string()],
            &[("X_FROM_ENV".to_string(), "hello".to_string())],
            Path::new("/"),
            Bounds {
                timeout,
                interrupted: never,
            },
        )
        .expect("run sh")
    }

    #[test]
    fn keeps_interleaved_output_and_status() {
        let f = sh(
            "echo out $X_FROM_ENV; echo err >&2; exit 3",
            Duration::from_secs(30),
        );
        assert!(!f.success());
        assert_eq!(f.describe(), "exit 3");
        assert_eq!(f.tail(5), ["out hello", "err"]);
        assert_eq!(f.tail(1), ["err"]);
    }

    #[test]
    fn stops_a_process_past_its_deadline() {
        let f = sh("echo started; sleep 30 & wait", Duration::from_millis(300));
        assert!(matches!(f.ended, Ended::TimedOut(_)), "{f:?}");
        assert_eq!(f.tail(1), ["started"]);
    }
}
