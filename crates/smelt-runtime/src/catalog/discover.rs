//! Runs `tap --config … --discover` under the same rules as a run.
//!
//! A tap that hangs in discovery must not make smelt unstoppable: the tap runs in its own
//! process group, and while it runs smelt polls for SIGINT/SIGTERM and for the run's deadline.
//! Either stops the whole group (the signal itself, or SIGTERM for the deadline, then SIGKILL
//! after a grace period) and ends discovery with [`RunError::Signalled`] or
//! [`RunError::Timeout`], which the commands turn into exit codes 130/143 and 1. The catalog is
//! read with a size bound, so a tap that prints without end cannot exhaust memory.

use std::io::Read;
use std::process::{ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::CatalogContext;
use crate::error::RunError;
use crate::launch::PreparedPlugin;
use crate::process::{describe_status, signal_group, spawn};
use crate::signals;
use crate::supervise::forward_lines;

/// The most `--discover` output smelt accepts (256 MiB). Catalogs of very wide databases reach
/// tens of megabytes; anything beyond this is a tap printing without end.
pub const DISCOVERY_OUTPUT_LIMIT: usize = 256 * 1024 * 1024;

/// How long a stopped tap gets between the first signal and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How often the loop looks at signals and the deadline when nothing else happens.
const POLL: Duration = Duration::from_millis(50);
/// How long stderr may trail the tap's exit before smelt moves on.
const STDERR_DRAIN: Duration = Duration::from_secs(1);

enum Event {
    Exited(std::io::Result<ExitStatus>),
    Output(Result<Vec<u8>, OutputError>),
}

/// Why the tap's stdout could not be read in full.
enum OutputError {
    TooLong,
    Read(std::io::Error),
}

/// Why smelt stopped the tap itself.
#[derive(Clone, Copy)]
enum Stop {
    Signal(i32),
    Timeout,
    TooLong,
}

/// Runs discovery for `tap` and returns what it printed on stdout.
pub(crate) fn run_discovery(
    cx: &CatalogContext,
    tap: &PreparedPlugin,
) -> Result<Vec<u8>, RunError> {
    run_bounded(cx, tap, DISCOVERY_OUTPUT_LIMIT)
}

/// [`run_discovery`] with an explicit output limit (tests use a small one).
pub(crate) fn run_bounded(
    cx: &CatalogContext,
    tap: &PreparedPlugin,
    limit: usize,
) -> Result<Vec<u8>, RunError> {
    signals::install().map_err(|e| RunError::io("installing signal handlers", e))?;
    if let Some(sig) = signals::received() {
        return Err(RunError::Signalled(sig));
    }
    if cx.deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(timeout_error(cx));
    }
    cx.logger
        .info(&format!("{}: running catalog discovery", tap.name));
    let mut spec = tap.spec.clone();
    spec.args.push("--discover".into());
    let mut child = spawn(
        &spec,
        &cx.project.root,
        Stdio::null(),
        Stdio::piped(),
        Stdio::piped(),
    )
    .map_err(|e| crate::process::spawn_error("extractor", &tap.name, &spec, &e))?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel::<Event>();
    let (err_done_tx, err_done) = mpsc::channel::<()>();
    if let Some(err) = child.stderr.take() {
        let log = cx.logger.clone();
        let name = tap.name.clone();
        thread::spawn(move || {
            forward_lines(err, &name, &log);
            let _ = err_done_tx.send(());
        });
    }
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        thread::spawn(move || {
            let _ = tx.send(Event::Output(read_bounded(out, limit)));
        });
    } else {
        let _ = tx.send(Event::Output(Ok(Vec::new())));
    }
    {
        let tx = tx.clone();
        thread::spawn(move || {
            let _ = tx.send(Event::Exited(child.wait()));
        });
    }
    drop(tx);

    let mut status: Option<std::io::Result<ExitStatus>> = None;
    let mut output: Option<Result<Vec<u8>, OutputError>> = None;
    let mut stopped: Option<Stop> = None;
    let mut kill_at: Option<Instant> = None;
    while status.is_none() || output.is_none() {
        if stopped.is_none() {
            let reason = if let Some(sig) = signals::received() {
                cx.logger.warn(&format!(
                    "received signal {sig}: stopping catalog discovery of {}",
                    tap.name
                ));
                Some((Stop::Signal(sig), sig))
            } else if cx.deadline.is_some_and(|d| Instant::now() >= d) {
                cx.logger.error(&format!(
                    "timeout reached during catalog discovery of {}: stopping it",
                    tap.name
                ));
                Some((Stop::Timeout, libc::SIGTERM))
            } else {
                None
            };
            if let Some((why, sig)) = reason {
                stopped = Some(why);
                signal_group(pid, signals::forwarded(sig));
                kill_at = Some(Instant::now() + KILL_GRACE);
            }
        }
        if kill_at.is_some_and(|at| Instant::now() >= at) {
            // Also reaches children that keep stdout open after the tap itself exited.
            signal_group(pid, libc::SIGKILL);
            kill_at = Some(Instant::now() + KILL_GRACE);
        }
        match rx.recv_timeout(POLL) {
            Ok(Event::Exited(s)) => status = Some(s),
            Ok(Event::Output(o)) => {
                if matches!(o, Err(OutputError::TooLong)) && stopped.is_none() {
                    stopped = Some(Stop::TooLong);
                    signal_group(pid, libc::SIGKILL);
                    kill_at = Some(Instant::now() + KILL_GRACE);
                }
                output = Some(o);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = err_done.recv_timeout(STDERR_DRAIN);

    match stopped {
        Some(Stop::Signal(sig)) => return Err(RunError::Signalled(sig)),
        Some(Stop::Timeout) => return Err(timeout_error(cx)),
        Some(Stop::TooLong) => {
            return Err(RunError::Launch {
                label: "extractor".into(),
                plugin: tap.name.clone(),
                message: format!(
                    "its --discover output exceeded {} MiB, so smelt stopped it",
                    limit / (1024 * 1024)
                ),
                hint: "run the tap with --discover yourself to see what it prints, or set the `catalog` extra to a catalog file".into(),
            })
        }
        None => {}
    }
    let status = match status {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(RunError::io("waiting for catalog discovery", e)),
        None => return Err(RunError::io("waiting for catalog discovery", lost())),
    };
    if !status.success() {
        return Err(RunError::PluginFailed {
            label: "Extractor".into(),
            plugin: tap.name.clone(),
            status: describe_status(&status),
            detail: " during catalog discovery (--discover)".into(),
        });
    }
    match output {
        Some(Ok(bytes)) => Ok(bytes),
        Some(Err(OutputError::Read(e))) => Err(RunError::io("reading the discovered catalog", e)),
        Some(Err(OutputError::TooLong)) | None => {
            Err(RunError::io("reading the discovered catalog", lost()))
        }
    }
}

fn lost() -> std::io::Error {
    std::io::Error::other("the discovery process was lost")
}

/// The timeout error of the run, naming the configured timeout when there is one.
fn timeout_error(cx: &CatalogContext) -> RunError {
    RunError::Timeout(cx.timeout.map(|t| t.as_secs()).unwrap_or(0))
}

/// Reads `src` to its end, failing as soon as more than `limit` bytes arrive.
fn read_bounded<R: Read>(src: R, limit: usize) -> Result<Vec<u8>, OutputError> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    src.take(cap)
        .read_to_end(&mut bytes)
        .map_err(OutputError::Read)?;
    if bytes.len() > limit {
        return Err(OutputError::TooLong);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::LaunchSpec;
    use crate::log::{LogFormat, LogLevel, Logger};
    use smelt_project::{EnvironmentChoice, LoadOptions, Project};

    fn project(dir: &std::path::Path) -> Project {
        std::fs::write(dir.join("meltano.yml"), "version: 1\n").unwrap();
        Project::load(
            dir,
            &LoadOptions {
                environment: EnvironmentChoice::NoEnvironment,
                native: &[],
            },
        )
        .unwrap()
    }

    fn sh(script: &str) -> PreparedPlugin {
        PreparedPlugin {
            name: "tap-sh".into(),
            label: "Extractor".into(),
            spec: LaunchSpec {
                program: "sh".into(),
                args: vec!["-c".into(), script.into(), "tap".into()],
                env: Default::default(),
            },
            config: Default::default(),
        }
    }

    #[test]
    fn output_is_returned_and_failures_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        let log = Logger::new(LogLevel::Error, LogFormat::Text);
        let cx = CatalogContext {
            project: &p,
            logger: &log,
            deadline: None,
            timeout: None,
        };
        let out = run_bounded(&cx, &sh("echo '{\"streams\": []}'"), 1024).unwrap();
        assert_eq!(out, b"{\"streams\": []}\n");
        let err = run_bounded(&cx, &sh("exit 4"), 1024)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tap-sh failed (exit 4) during catalog discovery"),
            "{err}"
        );
    }

    #[test]
    fn endless_output_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        let log = Logger::new(LogLevel::Error, LogFormat::Text);
        let cx = CatalogContext {
            project: &p,
            logger: &log,
            deadline: None,
            timeout: None,
        };
        let started = Instant::now();
        let err = run_bounded(&cx, &sh("yes"), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(err.contains("exceeded 1 MiB"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn the_deadline_stops_a_hanging_tap() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        let log = Logger::new(LogLevel::Error, LogFormat::Text);
        let cx = CatalogContext {
            project: &p,
            logger: &log,
            deadline: Some(Instant::now() + Duration::from_millis(300)),
            timeout: Some(Duration::from_secs(1)),
        };
        let started = Instant::now();
        let err = run_bounded(&cx, &sh("sleep 30 & sleep 30; wait"), 1024).unwrap_err();
        assert!(matches!(err, RunError::Timeout(1)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
