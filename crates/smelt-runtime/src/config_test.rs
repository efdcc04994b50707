//! `smelt config test PLUGIN`: does the plugin work with its resolved configuration?
//!
//! An extractor passes when it emits a first RECORD (as in Meltano, which then stops it); it
//! runs with its config and catalog but no state, under the same supervisor as a run, so
//! `--timeout`, SIGINT and SIGTERM end it. A loader passes when it accepts a one-record stream
//! (stream `smelt_config_test`) and exits 0 — that record is really written, so point the
//! test at a scratch destination when that matters.

use std::io::{BufRead, BufReader, Read};
use std::process::{ChildStdout, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smelt_project::{Plugin, PluginType, ProjectSettings};
use smelt_singer::classify::{classify, MessageKind};

use crate::catalog::{add_catalog_args, CatalogContext, CatalogOptions};
use crate::error::RunError;
use crate::launch::prepare;
use crate::process::{describe_status, signal_group, spawn, spawn_error};
use crate::rundir::RunDir;
use crate::signals;
use crate::supervise::{forward_lines, run_chain, ChainOptions, Sink, Stage};

/// The verdict of a configuration test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    /// The plugin worked; what showed it.
    Valid(String),
    /// The plugin ran but did not do what a working plugin does; why.
    Invalid(String),
}

/// The stream a loader test sends.
pub const TEST_STREAM: &str = "smelt_config_test";

/// Tests `plugin` with its resolved configuration (see the module docs).
pub fn test_plugin(
    cx: &CatalogContext,
    settings: &ProjectSettings,
    plugin: &Plugin,
    rundir: &RunDir,
) -> Result<TestOutcome, RunError> {
    match plugin.plugin_type {
        PluginType::Extractor => test_extractor(cx, settings, plugin, rundir),
        PluginType::Loader => test_loader(cx, plugin, rundir),
        other => Err(RunError::Setting {
            message: format!(
                "config test checks extractors and loaders; {} is a {}",
                plugin.name,
                other.label()
            ),
            hint: "run it with `smelt invoke` to try it".into(),
        }),
    }
}

fn test_extractor(
    cx: &CatalogContext,
    settings: &ProjectSettings,
    plugin: &Plugin,
    rundir: &RunDir,
) -> Result<TestOutcome, RunError> {
    let mut tap = prepare(cx.project, plugin, None, &plugin.name, rundir)?;
    add_catalog_args(cx, plugin, &mut tap, rundir, &CatalogOptions::default())?;
    let found: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let sink: Sink = {
        let found = Arc::clone(&found);
        let max = settings.buffer_size;
        Box::new(move |out: ChildStdout| first_record(out, max, &found))
    };
    let opts = ChainOptions {
        cwd: &cx.project.root,
        max_line: settings.buffer_size,
        deadline: cx.deadline,
        logger: cx.logger,
        cancel: None,
    };
    let stage = Stage {
        name: tap.name,
        label: tap.label,
        spec: tap.spec,
    };
    let mut outcome = run_chain(vec![stage], &opts, sink)?;
    let stream = found.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(stream) = stream {
        return Ok(TestOutcome::Valid(format!(
            "{} emitted a RECORD (stream {stream})",
            plugin.name
        )));
    }
    match outcome.verdict() {
        Err(e @ RunError::Signalled(_)) => Err(e),
        // Name the --timeout given, not how long discovery left for the tap.
        Err(e @ RunError::Timeout(_)) => Err(cx.timeout.map_or(e, RunError::timed_out_after)),
        Err(e) => Ok(TestOutcome::Invalid(e.to_string())),
        Ok(()) => Ok(TestOutcome::Invalid(format!(
            "{} ended without emitting any RECORD (check its config and its selected streams)",
            plugin.name
        ))),
    }
}

/// Reads the tap's stdout until the first RECORD; then asks the supervisor to stop the tap
/// ([`RunError::ConsumerDone`]).
fn first_record(
    out: ChildStdout,
    max_line: usize,
    found: &Mutex<Option<String>>,
) -> Result<(), RunError> {
    let mut reader = BufReader::new(out);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = Read::by_ref(&mut reader)
            .take(max_line as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| RunError::io("reading the extractor's output", e))?;
        if n == 0 {
            return Ok(());
        }
        if let Ok(c) = classify(&line) {
            if c.kind == MessageKind::Record {
                let stream = c
                    .stream
                    .map(|s| String::from_utf8_lossy(s).trim_matches('"').to_string())
                    .unwrap_or_default();
                *found.lock().unwrap_or_else(|e| e.into_inner()) = Some(stream);
                return Err(RunError::ConsumerDone);
            }
        }
    }
}

fn test_loader(
    cx: &CatalogContext,
    plugin: &Plugin,
    rundir: &RunDir,
) -> Result<TestOutcome, RunError> {
    let target = prepare(cx.project, plugin, None, &plugin.name, rundir)?;
    let stream = format!(
        concat!(
            "{{\"type\":\"SCHEMA\",\"stream\":\"{s}\",\"key_properties\":[\"id\"],",
            "\"schema\":{{\"type\":\"object\",\"properties\":{{\"id\":{{\"type\":\"integer\"}},",
            "\"checked_at\":{{\"type\":\"string\",\"format\":\"date-time\"}}}}}}}}\n",
            "{{\"type\":\"RECORD\",\"stream\":\"{s}\",\"record\":{{\"id\":1,\"checked_at\":\"{t}\"}}}}\n",
            "{{\"type\":\"STATE\",\"value\":{{\"smelt_config_test\":1}}}}\n"
        ),
        s = TEST_STREAM,
        t = chrono_now()
    );
    let input = rundir
        .write_file(&plugin.name, "config-test.singer", stream.as_bytes())
        .map_err(|e| RunError::io("writing the test stream", e))?;
    let stdin =
        std::fs::File::open(&input).map_err(|e| RunError::io("opening the test stream", e))?;
    let mut child = spawn(
        &target.spec,
        &cx.project.root,
        Stdio::from(stdin),
        Stdio::piped(),
        Stdio::piped(),
    )
    .map_err(|e| spawn_error("loader", &plugin.name, &target.spec, &e))?;
    let err = child.stderr.take();
    let out = child.stdout.take();
    let (log, name) = (cx.logger.clone(), plugin.name.clone());
    let errs = std::thread::spawn(move || {
        if let Some(e) = err {
            forward_lines(e, &name, &log);
        }
    });
    let acked = std::thread::spawn(move || {
        let mut lines = 0usize;
        if let Some(o) = out {
            let mut r = BufReader::new(o);
            let mut buf = Vec::new();
            while let Ok(n) = Read::by_ref(&mut r)
                .take(1 << 20)
                .read_until(b'\n', &mut buf)
            {
                if n == 0 {
                    break;
                }
                if !buf.iter().all(u8::is_ascii_whitespace) {
                    lines += 1;
                }
                buf.clear();
            }
        }
        lines
    });
    let pid = child.id();
    let status = loop {
        if let Some(sig) = signals::received() {
            signal_group(pid, signals::forwarded(sig));
            let _ = child.wait();
            return Err(RunError::Signalled(sig));
        }
        if let Some(deadline) = cx.deadline {
            if Instant::now() >= deadline {
                signal_group(pid, libc::SIGKILL);
                let _ = child.wait();
                return Err(RunError::Timeout(cx.timeout.map_or(0, |t| t.as_secs())));
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(RunError::io("waiting for the loader", e)),
        }
    };
    let _ = errs.join();
    let acks = acked.join().unwrap_or(0);
    if !status.success() {
        return Ok(TestOutcome::Invalid(format!(
            "{} rejected a one-record stream ({})",
            plugin.name,
            describe_status(&status)
        )));
    }
    Ok(TestOutcome::Valid(format!(
        "{} accepted a one-record stream ({})",
        plugin.name,
        if acks > 0 {
            "and acknowledged its state"
        } else {
            "without acknowledging its state"
        }
    )))
}

fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
