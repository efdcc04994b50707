//! Runs a chain of plugin processes (`a | b | c`) with smelt relaying between them, and decides
//! how the chain ended.
//!
//! Threads, not async: one per relay hop, one per stderr, one waiter per process and one for the
//! last process's stdout (the "sink": state acknowledgements for a loader, log lines for a
//! command). They report to one event loop, which also polls for signals and the timeout. The
//! verdict is computed from the facts afterwards, so it does not depend on the order in which
//! events happened to arrive.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{ChildStdout, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use smelt_singer::framer::RelayError;

use crate::error::RunError;
use crate::events::RunEvent;
use crate::launch::LaunchSpec;
use crate::log::Logger;
use crate::process::{describe_status, enlarge_pipe, signal_group, spawn};
use crate::relay::{run_hop, HopResult, StreamCounts};
use crate::signals;

/// How long a stopped process gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(10);
/// How long a producer may keep running after its consumer exited before it is stopped.
const EARLY_EXIT_GRACE: Duration = Duration::from_millis(500);
/// How long stderr forwarders get to finish after every process of a chain has exited.
const STDERR_DRAIN: Duration = Duration::from_secs(5);
/// Event-loop poll interval for signals and the timeout (events themselves wake it at once).
const POLL: Duration = Duration::from_millis(50);

/// One process in the chain.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Name for logs and errors (plugin or mapping name).
    pub name: String,
    /// Capitalised type ("Extractor").
    pub label: String,
    /// What to run.
    pub spec: LaunchSpec,
}

/// The consumer of the last stage's stdout. Returning an error stops the whole chain.
pub type Sink = Box<dyn FnOnce(ChildStdout) -> Result<(), RunError> + Send>;

/// Settings for one chain.
pub struct ChainOptions<'a> {
    /// Working directory for every process (the project root).
    pub cwd: &'a Path,
    /// Longest line a hop accepts (`elt.buffer_size`).
    pub max_line: usize,
    /// When to give up (from `--timeout`).
    pub deadline: Option<Instant>,
    /// Where stderr lines go.
    pub logger: &'a Logger,
    /// When set, stop the chain (another set failed under `--fail-fast`).
    pub cancel: Option<&'a AtomicBool>,
}

/// What happened to a chain.
#[derive(Debug)]
pub struct ChainOutcome {
    /// The stages, in order.
    pub stages: Vec<Stage>,
    /// How each process ended.
    pub statuses: Vec<Option<ExitStatus>>,
    /// Which processes smelt stopped on purpose (their non-zero status is not their fault).
    pub stopped: Vec<bool>,
    /// Consumers that exited while their producer still had output for them.
    pub ended_early: Vec<bool>,
    /// Hop `i` carries stage `i`'s stdout into stage `i + 1`.
    pub hops: Vec<HopResult>,
    /// The sink's error, if it failed.
    pub sink_error: Option<RunError>,
    /// The signal that interrupted the run, if any.
    pub signal: Option<i32>,
    /// Seconds after which the run was stopped, if it timed out.
    pub timed_out: Option<u64>,
    /// Whether the chain was stopped because another set failed (`--fail-fast`).
    pub cancelled: bool,
}

impl ChainOutcome {
    /// Records per stream on the first hop (what the extractor produced).
    pub fn first_counts(&mut self) -> std::collections::BTreeMap<String, u64> {
        self.hop_counts(0)
    }

    /// Records per stream on the last hop (what the loader received).
    pub fn last_counts(&mut self) -> std::collections::BTreeMap<String, u64> {
        let n = self.hops.len();
        if n == 0 {
            return Default::default();
        }
        self.hop_counts(n - 1)
    }

    fn hop_counts(&mut self, i: usize) -> std::collections::BTreeMap<String, u64> {
        match self.hops.get_mut(i) {
            Some(h) => std::mem::take(&mut h.counts).finish(),
            None => Default::default(),
        }
    }

    /// Turns the facts into the run's result: the first real cause wins, in this order:
    /// signal, timeout, sink (state) failure, relay failure, a plugin's own failure (upstream
    /// first), a consumer that ended early.
    pub fn verdict(&mut self) -> Result<(), RunError> {
        if let Some(sig) = self.signal {
            return Err(RunError::Signalled(sig));
        }
        if let Some(secs) = self.timed_out {
            return Err(RunError::Timeout(secs));
        }
        if self.cancelled {
            return Err(RunError::Cancelled);
        }
        if let Some(e) = self.sink_error.take() {
            return Err(e);
        }
        for (i, hop) in self.hops.iter().enumerate() {
            match &hop.result {
                Err(RelayError::LineTooLong { limit }) => {
                    return Err(RunError::LineTooLong {
                        plugin: self.stages[i].name.clone(),
                        limit: *limit,
                        suggested: limit.saturating_mul(4),
                    })
                }
                Err(RelayError::Read(e)) => {
                    return Err(RunError::Relay {
                        plugin: self.stages[i].name.clone(),
                        message: e.to_string(),
                    })
                }
                _ => {}
            }
        }
        for (i, status) in self.statuses.iter().enumerate() {
            let stage = &self.stages[i];
            match status {
                Some(s) if s.success() => {}
                Some(s) if !self.stopped[i] => {
                    return Err(RunError::PluginFailed {
                        label: stage.label.clone(),
                        plugin: stage.name.clone(),
                        status: describe_status(s),
                        detail: String::new(),
                    })
                }
                None => {
                    return Err(RunError::PluginFailed {
                        label: stage.label.clone(),
                        plugin: stage.name.clone(),
                        status: "not reaped".into(),
                        detail: String::new(),
                    })
                }
                _ => {}
            }
        }
        if let Some(i) = self.ended_early.iter().position(|e| *e) {
            let stage = &self.stages[i];
            return Err(RunError::EndedEarly {
                label: stage.label.clone(),
                plugin: stage.name.clone(),
                status: self.statuses[i]
                    .as_ref()
                    .map(describe_status)
                    .unwrap_or_else(|| "still running".into()),
            });
        }
        // A producer we stopped because its consumer ended early, with no other cause found.
        if let Some(i) = self.stopped.iter().position(|s| *s) {
            if let Some(Some(s)) = self.statuses.get(i) {
                if !s.success() {
                    return Err(RunError::PluginFailed {
                        label: self.stages[i].label.clone(),
                        plugin: self.stages[i].name.clone(),
                        status: describe_status(s),
                        detail: " after smelt stopped it".into(),
                    });
                }
            }
        }
        Ok(())
    }
}

enum Event {
    Exited(usize, std::io::Result<ExitStatus>),
    HopDone(usize, HopResult),
    SinkDone(Result<(), RunError>),
}

/// Starts every stage, relays between them, feeds the last stdout to `sink`, and waits for all
/// of it. Returns an error only if a process could not be started (then the ones already
/// started are stopped).
pub fn run_chain(
    stages: Vec<Stage>,
    opts: &ChainOptions,
    sink: Sink,
) -> Result<ChainOutcome, RunError> {
    let n = stages.len();
    let (tx, rx) = mpsc::channel::<Event>();
    let mut pids: Vec<u32> = Vec::with_capacity(n);
    let mut children = Vec::with_capacity(n);
    // Start downstream first so each consumer is ready before its producer starts writing.
    for (i, stage) in stages.iter().enumerate().rev() {
        let stdin = if i == 0 {
            Stdio::null()
        } else {
            Stdio::piped()
        };
        match spawn(&stage.spec, opts.cwd, stdin, Stdio::piped(), Stdio::piped()) {
            Ok(child) => {
                pids.push(child.id());
                children.push((i, child));
            }
            Err(e) => {
                for p in &pids {
                    signal_group(*p, libc::SIGKILL);
                }
                for (_, mut c) in children {
                    let _ = c.wait();
                }
                return Err(crate::process::spawn_error(
                    &stage.label.to_lowercase(),
                    &stage.name,
                    &stage.spec,
                    &e,
                ));
            }
        }
    }
    children.sort_by_key(|(i, _)| *i);
    pids.reverse();

    let mut stdins = Vec::with_capacity(n);
    let mut stdouts = Vec::with_capacity(n);
    let (stderr_tx, stderr_done) = mpsc::channel::<()>();
    let mut stderr_threads = 0usize;
    for (i, child) in children.iter_mut() {
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        if let Some(s) = &stdin {
            enlarge_pipe(s);
        }
        if let Some(s) = &stdout {
            enlarge_pipe(s);
        }
        stdins.push(stdin);
        stdouts.push(stdout);
        if let Some(err) = child.stderr.take() {
            let log = opts.logger.clone();
            let name = stages[*i].name.clone();
            let done = stderr_tx.clone();
            stderr_threads += 1;
            thread::spawn(move || {
                forward_lines(err, &name, &log);
                let _ = done.send(());
            });
        }
    }
    // Hops: stdout i → stdin i+1.
    let mut last_stdout = None;
    for i in 0..n {
        let Some(out) = stdouts[i].take() else {
            continue;
        };
        if i + 1 == n {
            last_stdout = Some(out);
            continue;
        }
        let Some(inp) = stdins[i + 1].take() else {
            continue;
        };
        let tx = tx.clone();
        let max = opts.max_line;
        thread::spawn(move || {
            let r = run_hop(out, inp, max);
            let _ = tx.send(Event::HopDone(i, r));
        });
    }
    if let Some(out) = last_stdout {
        let tx = tx.clone();
        thread::spawn(move || {
            let _ = tx.send(Event::SinkDone(sink(out)));
        });
    } else {
        let _ = tx.send(Event::SinkDone(Ok(())));
    }
    for (i, mut child) in children {
        let tx = tx.clone();
        thread::spawn(move || {
            let _ = tx.send(Event::Exited(i, child.wait()));
        });
    }
    drop(tx);

    let mut out = ChainOutcome {
        stages,
        statuses: vec![None; n],
        stopped: vec![false; n],
        ended_early: vec![false; n],
        hops: Vec::new(),
        sink_error: None,
        signal: None,
        timed_out: None,
        cancelled: false,
    };
    let mut hops: Vec<Option<HopResult>> = (0..n.saturating_sub(1)).map(|_| None).collect();
    let mut exited = vec![false; n];
    let mut sink_done = false;
    let mut kill_at: Option<Instant> = None;
    let mut early_check: Vec<Option<Instant>> = vec![None; n];
    let started = Instant::now();

    let stop = |from: usize, to: usize, sig: i32, exited: &[bool], stopped: &mut [bool]| {
        for j in from..to {
            if !exited[j] {
                signal_group(pids[j], sig);
                stopped[j] = true;
            }
        }
    };

    loop {
        let all_done = exited.iter().all(|e| *e) && hops.iter().all(Option::is_some) && sink_done;
        if all_done {
            break;
        }
        if out.signal.is_none() {
            if let Some(sig) = signals::received() {
                opts.logger
                    .warn(&format!("received signal {sig}: stopping every plugin"));
                out.signal = Some(sig);
                stop(0, n, signals::forwarded(sig), &exited, &mut out.stopped);
                kill_at.get_or_insert(Instant::now() + KILL_GRACE);
            }
        }
        let cancelled = opts.cancel.is_some_and(|c| c.load(Ordering::SeqCst));
        if cancelled && !out.cancelled && out.signal.is_none() {
            opts.logger
                .warn("another set of the run failed (--fail-fast): stopping every plugin");
            out.cancelled = true;
            stop(0, n, libc::SIGTERM, &exited, &mut out.stopped);
            kill_at.get_or_insert(Instant::now() + KILL_GRACE);
        }
        if let Some(deadline) = opts.deadline {
            if out.timed_out.is_none() && out.signal.is_none() && Instant::now() >= deadline {
                let secs = started.elapsed().as_secs();
                opts.logger
                    .error("the run's --timeout was reached: stopping every plugin");
                out.timed_out = Some(secs);
                stop(0, n, libc::SIGTERM, &exited, &mut out.stopped);
                kill_at.get_or_insert(Instant::now() + KILL_GRACE);
            }
        }
        if let Some(at) = kill_at {
            if Instant::now() >= at {
                stop(0, n, libc::SIGKILL, &exited, &mut out.stopped);
                kill_at = Some(Instant::now() + KILL_GRACE);
            }
        }
        for i in 1..n {
            if let Some(at) = early_check[i] {
                if Instant::now() >= at {
                    early_check[i] = None;
                    if hops[i - 1].is_none() {
                        out.ended_early[i] = true;
                        stop(0, i, libc::SIGTERM, &exited, &mut out.stopped);
                        kill_at.get_or_insert(Instant::now() + KILL_GRACE);
                    }
                }
            }
        }
        match rx.recv_timeout(POLL) {
            Ok(Event::Exited(i, status)) => {
                exited[i] = true;
                match status {
                    Ok(s) => {
                        opts.logger.event(RunEvent::PluginExited {
                            plugin: out.stages[i].name.clone(),
                            code: s.code(),
                        });
                        opts.logger.debug(&format!(
                            "{} {} ended ({})",
                            out.stages[i].label,
                            out.stages[i].name,
                            describe_status(&s)
                        ));
                        out.statuses[i] = Some(s);
                    }
                    Err(e) => opts
                        .logger
                        .error(&format!("waiting for {} failed: {e}", out.stages[i].name)),
                }
                // A consumer gone while its input is still flowing: stop upstream shortly.
                if i > 0 && hops[i - 1].is_none() {
                    early_check[i] = Some(Instant::now() + EARLY_EXIT_GRACE);
                }
            }
            Ok(Event::HopDone(i, r)) => {
                match &r.result {
                    Err(RelayError::Write(_)) => {
                        // The consumer stopped reading: stop everything upstream of it now.
                        out.ended_early[i + 1] = true;
                        stop(0, i + 1, libc::SIGTERM, &exited, &mut out.stopped);
                        kill_at.get_or_insert(Instant::now() + KILL_GRACE);
                    }
                    Err(e) => {
                        opts.logger
                            .error(&format!("relay after {} stopped: {e}", out.stages[i].name));
                        stop(0, n, libc::SIGTERM, &exited, &mut out.stopped);
                        kill_at.get_or_insert(Instant::now() + KILL_GRACE);
                    }
                    Ok(t) => opts.logger.debug(&format!(
                        "relay after {}: {} lines, {} bytes",
                        out.stages[i].name, t.lines, t.bytes
                    )),
                }
                if r.counts.non_messages > 0 {
                    opts.logger.warn(&format!(
                        "{} wrote {} line(s) that are not Singer messages to stdout (first: {:?}); they were passed on",
                        out.stages[i].name,
                        r.counts.non_messages,
                        r.counts.first_non_message.as_deref().unwrap_or("")
                    ));
                }
                hops[i] = Some(r);
            }
            Ok(Event::SinkDone(r)) => {
                sink_done = true;
                if let Err(e) = r {
                    if !matches!(e, RunError::ConsumerDone) {
                        opts.logger.error(&e.to_string());
                    }
                    out.sink_error = Some(e);
                    stop(0, n, libc::SIGTERM, &exited, &mut out.stopped);
                    kill_at.get_or_insert(Instant::now() + KILL_GRACE);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drain_stderr(stderr_done, stderr_threads, opts.logger);
    // Stopping a stage we later found had already exited on its own does not make it "stopped".
    for i in 0..n {
        if out.stopped[i] {
            if let Some(s) = &out.statuses[i] {
                if s.success() {
                    out.stopped[i] = false;
                }
            }
        }
    }
    out.hops = hops
        .into_iter()
        .map(|h| {
            h.unwrap_or(HopResult {
                result: Ok(Default::default()),
                counts: StreamCounts::default(),
            })
        })
        .collect();
    Ok(out)
}

/// Waits until every stderr forwarder has copied its last line, so nothing a plugin said is
/// lost when smelt exits right after the chain. A forwarder still blocked after
/// [`STDERR_DRAIN`] (a plugin's own child keeps the pipe open) is left behind with a warning.
fn drain_stderr(done: mpsc::Receiver<()>, mut pending: usize, log: &Logger) {
    let until = Instant::now() + STDERR_DRAIN;
    while pending > 0 {
        match done.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(()) => pending -= 1,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                log.warn(&format!(
                    "{pending} plugin stderr stream(s) still open {}s after the plugins exited (a plugin's child process may still hold them); not waiting for them",
                    STDERR_DRAIN.as_secs()
                ));
                return;
            }
        }
    }
}

/// Longest stderr (or command output) line kept for the log. Longer lines are cut here with a
/// marker saying how much was dropped, so one runaway line cannot exhaust smelt's memory.
pub const MAX_LOG_LINE: usize = 64 * 1024;

/// What [`read_line_bounded`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundedLine {
    /// The source is exhausted and nothing was read.
    Eof,
    /// A whole line (with its newline, unless it was the last) is in the buffer.
    Line,
    /// The line was longer than the limit: the buffer holds its first `limit` bytes and
    /// `dropped` more bytes were skipped (consumed without being stored).
    Truncated {
        /// Bytes of the line that were skipped, newline included.
        dropped: u64,
    },
}

/// Reads one line into `buf` (cleared first), storing at most `limit` bytes, so memory stays
/// bounded whatever a plugin writes. With `skip_rest`, the remainder of an over-long line is
/// consumed (and counted) up to its newline; without it, reading stops at the limit.
pub fn read_line_bounded<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
    skip_rest: bool,
) -> std::io::Result<BoundedLine> {
    buf.clear();
    let mut dropped: u64 = 0;
    let mut over = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = limit.saturating_sub(buf.len());
        if take <= room && !over {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            buf.extend_from_slice(&chunk[..room.min(take)]);
            dropped += (take - room.min(take)) as u64;
            over = true;
        }
        reader.consume(take);
        if done {
            break;
        }
        if over && !skip_rest {
            break;
        }
    }
    Ok(match (over, buf.is_empty()) {
        (true, _) => BoundedLine::Truncated { dropped },
        (false, true) => BoundedLine::Eof,
        (false, false) => BoundedLine::Line,
    })
}

/// Copies a plugin's stderr (or a command's stdout) into the log, one line at a time. Lines
/// longer than [`MAX_LOG_LINE`] are cut with a marker naming how many bytes were left out;
/// the rest of such a line is skipped, never buffered.
pub fn forward_lines<R: std::io::Read>(src: R, name: &str, log: &Logger) {
    let mut reader = BufReader::new(src);
    let mut buf = Vec::new();
    loop {
        match read_line_bounded(&mut reader, &mut buf, MAX_LOG_LINE, true) {
            Ok(BoundedLine::Eof) | Err(_) => break,
            Ok(BoundedLine::Line) => log.plugin_line(name, &String::from_utf8_lossy(&buf)),
            Ok(BoundedLine::Truncated { dropped }) => {
                let text = String::from_utf8_lossy(&buf);
                log.plugin_line(
                    name,
                    &format!(
                        "{}… [line truncated by smelt: {dropped} more bytes not shown]",
                        text.trim_end()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod bounded_tests {
    use super::*;

    fn lines(input: &[u8], limit: usize, skip: bool) -> Vec<(String, BoundedLine)> {
        let mut r = BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line_bounded(&mut r, &mut buf, limit, skip) {
                Ok(BoundedLine::Eof) => return out,
                Ok(k) => out.push((String::from_utf8_lossy(&buf).into_owned(), k)),
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn short_lines_pass_whole() {
        assert_eq!(
            lines(b"ab\ncd", 10, true),
            [
                ("ab\n".to_string(), BoundedLine::Line),
                ("cd".to_string(), BoundedLine::Line)
            ]
        );
        assert_eq!(lines(b"abc\n", 4, true)[0].1, BoundedLine::Line);
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_skipped() {
        let got = lines(b"abcdefghij\nxy\n", 4, true);
        assert_eq!(
            got[0],
            ("abcd".into(), BoundedLine::Truncated { dropped: 7 })
        );
        assert_eq!(got[1], ("xy\n".into(), BoundedLine::Line));
    }

    #[test]
    fn without_skipping_reading_stops_at_the_limit() {
        let mut r = BufReader::with_capacity(4, &b"abcdefghij\n"[..]);
        let mut buf = Vec::new();
        let k = read_line_bounded(&mut r, &mut buf, 4, false).ok();
        assert!(matches!(k, Some(BoundedLine::Truncated { .. })));
        assert_eq!(buf, b"abcd");
    }
}
