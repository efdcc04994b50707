//! The one coordinator of a run: a thread that receives every [`RunEvent`] and hands it to the
//! run's sinks, so output has exactly one writer (cargo's job queue, Vector's topology).
//!
//! Sinks today: the console (lines at the console level and above), the run's log file (held
//! here, per run, everything at `debug` and above) and the summary (block reports, in plan
//! order). Metrics would be one more sink.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;

use crate::events::{Envelope, RunEvent};
use crate::log::{format_line, LogLevel, Logger};
use crate::report::BlockReport;

/// What the coordinator gathered by the end of a run.
#[derive(Debug, Default)]
pub struct Tally {
    /// Reports of the blocks that ran, in plan order (not finishing order).
    pub blocks: Vec<BlockReport>,
    /// Plan positions of the blocks that started.
    pub started: Vec<usize>,
    /// States acknowledged across all sets.
    pub states_acked: u64,
}

/// A running coordinator; [`Coordinator::finish`] ends it and returns the [`Tally`].
pub struct Coordinator {
    tx: Sender<Envelope>,
    handle: JoinHandle<Tally>,
}

impl Coordinator {
    /// Starts the coordinator thread: console output through `console` (an unrouted logger,
    /// whose level and format apply), and every line also to `log_file` when there is one.
    pub fn start(console: Logger, log_file: Option<File>) -> Coordinator {
        let (tx, rx) = channel();
        let handle = std::thread::spawn(move || coordinate(rx, console, log_file));
        Coordinator { tx, handle }
    }

    /// A logger whose lines and events go to this coordinator.
    pub fn logger(&self, base: &Logger) -> Logger {
        base.routed(self.tx.clone())
    }

    /// Tells the sinks the run is over, waits for them to write everything received before,
    /// and returns what they gathered. Loggers still alive afterwards print to the console.
    pub fn finish(self) -> Tally {
        let _ = self.tx.send(Envelope {
            at: chrono::Utc::now(),
            set: None,
            event: RunEvent::RunFinished,
        });
        drop(self.tx);
        self.handle.join().unwrap_or_default()
    }
}

fn coordinate(rx: Receiver<Envelope>, console: Logger, log_file: Option<File>) -> Tally {
    let mut file = log_file.map(BufWriter::new);
    let mut summary = BTreeMap::new();
    let mut tally = Tally::default();
    // Ends on RunFinished, or when every sender is gone.
    while let Ok(e) = rx.recv() {
        match &e.event {
            RunEvent::Log {
                level,
                plugin,
                message,
            } => {
                let line = format_line(
                    console.format(),
                    e.at,
                    e.set.as_deref(),
                    *level,
                    plugin.as_deref(),
                    message,
                );
                if let Some(f) = file.as_mut() {
                    let _ = f.write_all(line.as_bytes());
                    if *level >= LogLevel::Warning {
                        let _ = f.flush();
                    }
                }
                if *level >= console.level() {
                    console.print(&line);
                }
            }
            RunEvent::BlockStarted { index, .. } => tally.started.push(*index),
            RunEvent::StateAcknowledged { .. } => tally.states_acked += 1,
            RunEvent::PluginExited { .. } => {}
            RunEvent::BlockFinished { index, report } => {
                summary.insert(*index, report.clone());
            }
            RunEvent::RunFinished => break,
        }
    }
    if let Some(mut f) = file {
        let _ = f.flush();
    }
    tally.blocks = summary.into_values().collect();
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command_block::CommandReport;
    use crate::log::LogFormat;
    use std::time::Duration;

    fn command(name: &str) -> BlockReport {
        BlockReport::Command(CommandReport {
            block: name.into(),
            duration: Duration::ZERO,
            error: None,
        })
    }

    #[test]
    fn file_gets_every_line_with_its_set_and_summary_is_in_plan_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.log");
        let file = crate::log::open_private(&path).unwrap();
        let console = Logger::new(LogLevel::Error, LogFormat::Json);
        let c = Coordinator::start(console.clone(), Some(file));
        let log = c.logger(&console);
        let set = log.for_set("tap-a→t");
        log.debug("relay detail");
        set.plugin_line("tap-a", "hello\n");
        set.event(RunEvent::StateAcknowledged {
            state_id: Some("dev:tap-a-to-t".into()),
        });
        // Finishing order differs from plan order.
        log.event(RunEvent::BlockFinished {
            index: 1,
            report: command("second"),
        });
        log.event(RunEvent::BlockFinished {
            index: 0,
            report: command("first"),
        });
        let tally = c.finish();
        let names: Vec<String> = tally
            .blocks
            .iter()
            .map(|b| match b {
                BlockReport::Command(c) => c.block.clone(),
                BlockReport::Elt(s) => s.pipeline.clone(),
            })
            .collect();
        assert_eq!(names, ["first", "second"]);
        assert_eq!(tally.states_acked, 1);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "relay detail");
        assert!(lines[0].get("set").is_none());
        assert_eq!(lines[1]["plugin"], "tap-a");
        assert_eq!(lines[1]["set"], "tap-a→t");
        assert_eq!(lines[1]["event"], "hello");
    }

    #[test]
    fn a_logger_outliving_its_run_still_works() {
        let console = Logger::new(LogLevel::Error, LogFormat::Text);
        let c = Coordinator::start(console.clone(), None);
        let log = c.logger(&console);
        drop(c.finish());
        // Sent after the coordinator ended: falls back to the console, no panic.
        log.error("late line");
        log.event(RunEvent::RunFinished);
    }
}
