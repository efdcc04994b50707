//! The one-screen summary printed after `smelt run`: what moved, how long it took, where the
//! state and the output went.

use std::fmt::Write;
use std::time::Duration;

use crate::elt::SetReport;
use crate::report::{BlockReport, RunReport};

/// Renders `report` as plain text for a terminal.
pub fn render(report: &RunReport, ok: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s);
    for block in &report.blocks {
        match block {
            BlockReport::Elt(set) => render_set(&mut s, set),
            BlockReport::Command(c) => {
                let mark = if c.error.is_some() { "✗" } else { "✓" };
                let _ = writeln!(s, "{mark} {}  ({})", c.block, secs(c.duration));
            }
        }
    }
    for b in &report.skipped {
        let _ = writeln!(s, "- {b}  (not run: an earlier block failed)");
    }
    let verdict = if ok { "succeeded" } else { "FAILED" };
    let _ = writeln!(
        s,
        "Run {} {verdict} in {}. Log: {}",
        report.run_id,
        secs(report.duration),
        report.log_file.display()
    );
    s
}

fn render_set(s: &mut String, set: &SetReport) {
    let mark = if set.error.is_some() { "✗" } else { "✓" };
    let _ = writeln!(s, "{mark} {}  ({})", set.pipeline, secs(set.duration));
    let streams = if set.loaded.is_empty() {
        &set.extracted
    } else {
        &set.loaded
    };
    if streams.is_empty() {
        let _ = writeln!(s, "    no records moved");
    } else {
        let width = streams.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        for (stream, n) in streams {
            let extracted = set.extracted.get(stream).copied();
            let note = match extracted {
                Some(e) if e != *n => format!("  (extracted {e})"),
                _ => String::new(),
            };
            let _ = writeln!(s, "    {stream:<width$}  {n:>10} records{note}");
        }
        let total: u64 = streams.values().sum();
        let _ = writeln!(s, "    {:<width$}  {total:>10} records", "total");
    }
    match (&set.state_id, set.state_saved) {
        (Some(id), true) => {
            let _ = writeln!(s, "    state: {id} ({} acknowledged)", set.states_acked);
        }
        (Some(id), false) => {
            let _ = writeln!(s, "    state: {id} (unchanged)");
        }
        (None, _) => {
            let _ = writeln!(s, "    state: not saved (no active environment)");
        }
    }
    if let Some(d) = &set.destination {
        let _ = writeln!(s, "    output: {d}");
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_streams_state_and_output() {
        let mut set = SetReport {
            state_id: Some("dev:tap-csv-to-target-jsonl".into()),
            pipeline: "tap-csv → target-jsonl".into(),
            state_saved: true,
            states_acked: 2,
            destination: Some("output".into()),
            ..Default::default()
        };
        set.extracted.insert("customers".into(), 3);
        set.loaded.insert("customers".into(), 2);
        let report = RunReport {
            run_id: "r1".into(),
            blocks: vec![BlockReport::Elt(Box::new(set))],
            skipped: vec!["dbt:run".into()],
            log_file: "x.log".into(),
            duration: Duration::from_millis(1500),
        };
        let text = render(&report, true);
        assert!(text.contains("customers"), "{text}");
        assert!(text.contains("2 records  (extracted 3)"), "{text}");
        assert!(
            text.contains("state: dev:tap-csv-to-target-jsonl (2 acknowledged)"),
            "{text}"
        );
        assert!(text.contains("output: output"), "{text}");
        assert!(text.contains("dbt:run  (not run"), "{text}");
        assert!(text.contains("succeeded in 1.50s"), "{text}");
    }
}
