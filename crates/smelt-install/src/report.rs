//! What `smelt install` prints while it works: on a terminal, one live line per plugin redrawn
//! in place; otherwise one plain line per event. Wording follows Meltano 4's `meltano install`
//! ("Installing extractor 'tap-x'", "Skipped installing … Requirements have not changed.").

use std::io::{IsTerminal, Write};
use std::time::Instant;

use smelt_project::PluginType;

use crate::Status;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// Live lines when stderr is a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// One line per event.
    Plain,
    /// Nothing (the caller reports the outcomes).
    Quiet,
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

enum RowState {
    Waiting,
    Running(Instant),
    Done(String),
}

/// Prints progress to stderr (the caller's thread owns it; workers send it events).
pub struct Reporter {
    live: bool,
    quiet: bool,
    rows: Vec<(String, RowState)>,
    drawn: usize,
    tick: usize,
    details: Vec<String>,
}

/// "extractor 'tap-x'".
pub fn describe(plugin_type: PluginType, name: &str) -> String {
    format!("{} '{name}'", plugin_type.label())
}

/// The final line for a plugin.
pub fn final_line(what: &str, status: &Status, seconds: f64) -> String {
    match status {
        Status::Installed => format!("Installed {what} ({seconds:.1}s)"),
        Status::UpToDate => format!("Skipped installing {what}. Requirements have not changed."),
        Status::NothingToInstall(why) => format!("Skipped installing {what}. {why}."),
        Status::Failed(why) => {
            let first = why.lines().next().unwrap_or_default();
            format!("Installation failed for {what}: {first}")
        }
    }
}

impl Reporter {
    /// A reporter for `progress`, with one row per plugin (`(type, name)`).
    pub fn new(progress: Progress, rows: Vec<String>) -> Reporter {
        let terminal = std::io::stderr().is_terminal();
        Reporter {
            live: progress == Progress::Auto && terminal,
            quiet: progress == Progress::Quiet,
            rows: rows.into_iter().map(|r| (r, RowState::Waiting)).collect(),
            drawn: 0,
            tick: 0,
            details: Vec::new(),
        }
    }

    /// A line outside the plugin rows (e.g. "bootstrapping uv into …").
    pub fn note(&mut self, text: &str) {
        if self.quiet {
            return;
        }
        self.clear_area();
        eprintln!("{text}");
        self.draw();
    }

    /// Plugin row `row` started installing.
    pub fn started(&mut self, row: usize) {
        let Some((what, state)) = self.rows.get_mut(row) else {
            return;
        };
        *state = RowState::Running(Instant::now());
        if !self.live && !self.quiet {
            eprintln!("Installing {what}...");
        }
        self.draw();
    }

    /// Plugin row `row` finished with `status`.
    pub fn finished(&mut self, row: usize, status: &Status, seconds: f64) {
        let Some((what, state)) = self.rows.get_mut(row) else {
            return;
        };
        let line = final_line(what, status, seconds);
        if let Status::Failed(why) = status {
            self.details
                .push(format!("Installation failed for {what}: {why}"));
        }
        if !self.live && !self.quiet {
            match status {
                Status::Failed(why) => eprintln!("Installation failed for {what}: {why}"),
                _ => eprintln!("{line}"),
            }
        }
        *state = RowState::Done(line);
        self.draw();
    }

    /// Redraws the live rows (elapsed times, spinner); nothing in plain mode.
    pub fn draw(&mut self) {
        if !self.live {
            return;
        }
        self.tick = self.tick.wrapping_add(1);
        let mut out = std::io::stderr().lock();
        let mut text = String::new();
        if self.drawn > 0 {
            text.push_str(&format!("\x1b[{}A", self.drawn));
        }
        for (what, state) in &self.rows {
            text.push_str("\r\x1b[2K");
            match state {
                RowState::Waiting => text.push_str(&format!("  {what}: waiting")),
                RowState::Running(since) => text.push_str(&format!(
                    "{} Installing {what}... {:.1}s",
                    SPINNER[self.tick % SPINNER.len()],
                    since.elapsed().as_secs_f64()
                )),
                RowState::Done(line) => text.push_str(line),
            }
            text.push('\n');
        }
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        self.drawn = self.rows.len();
    }

    fn clear_area(&mut self) {
        if self.live && self.drawn > 0 {
            let mut out = std::io::stderr().lock();
            let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    /// Ends the live area and prints failure details below it.
    pub fn finish(mut self) {
        if !self.live {
            return;
        }
        self.draw();
        for d in std::mem::take(&mut self.details) {
            eprintln!("{d}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_meltanos_wording() {
        let what = describe(PluginType::Loader, "target-jsonl");
        assert_eq!(
            final_line(&what, &Status::Installed, 3.21),
            "Installed loader 'target-jsonl' (3.2s)"
        );
        assert_eq!(
            final_line(&what, &Status::UpToDate, 0.0),
            "Skipped installing loader 'target-jsonl'. Requirements have not changed."
        );
        assert_eq!(
            final_line(&what, &Status::Failed("boom\n    detail".into()), 1.0),
            "Installation failed for loader 'target-jsonl': boom"
        );
    }
}
