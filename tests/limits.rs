//! Memory, secrets and state limits (docs/reliability.md, "Memory, secrets and state
//! limits"): over-long plugin lines are read with bounded memory, run logs and lock files are
//! private, and state that could not be read back is refused.

mod common;

use std::io::Read;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use common::{text, TestProject};

/// smelt's peak RSS must stay below this while it reads a 50 MB line (the fixtures' size: far
/// above any line limit in force, so buffering one whole would show).
const RSS_CEILING_KB: u64 = 40 * 1024;

/// A tap writing one 50 MB stderr line (in chunks, so the tap itself stays small), then a
/// normal line, then pausing so smelt's memory can be measured, then its records.
const LOUD_TAP: &str = r#"#!/usr/bin/env python3
import json, sys, time
chunk = "e" * (1024 * 1024)
for _ in range(50):
    sys.stderr.write(chunk)
sys.stderr.write("\nafter-the-long-line\n")
sys.stderr.flush()
time.sleep(1.5)
out = sys.stdout
out.write(json.dumps({"type": "SCHEMA", "stream": "s", "key_properties": [], "schema": {"type": "object"}}) + "\n")
out.write(json.dumps({"type": "RECORD", "stream": "s", "record": {"id": 1}}) + "\n")
out.write(json.dumps({"type": "STATE", "value": {"n": 1}}) + "\n")
out.flush()
sys.stderr.write("last-words-before-exit\n")
"#;

/// A target acknowledging one 50 MB state line, then ignoring SIGTERM for a moment so smelt
/// is still alive to be measured after it refused the line.
const HUGE_STATE_TARGET: &str = r#"#!/usr/bin/env python3
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
for line in sys.stdin:
    pass
try:
    sys.stdout.write('{"k": "')
    chunk = "s" * (1024 * 1024)
    for _ in range(50):
        sys.stdout.write(chunk)
    sys.stdout.write('"}\n')
    sys.stdout.flush()
except Exception:
    pass
time.sleep(1.5)
"#;

const TARGET: &str = r#"#!/usr/bin/env python3
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("type") == "STATE":
        sys.stdout.write(json.dumps(m["value"]) + "\n")
        sys.stdout.flush()
"#;

fn project(tap: &str, target: &str) -> TestProject {
    let p = TestProject::new(
        "version: 1\ndefault_environment: dev\nenvironments:\n- name: dev\nplugins:\n  extractors:\n  - name: tap-x\n    executable: ./tap-x\n  loaders:\n  - name: target-x\n    executable: ./target-x\n",
    );
    for (name, body) in [("tap-x", tap), ("target-x", target)] {
        let path = p.path(name);
        std::fs::write(&path, body).expect("write plugin");
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&path, mode).expect("chmod plugin");
    }
    p
}

/// Waits for `child` while sampling its peak resident set (VmHWM, which only grows), and
/// returns its output with the last peak seen in kB.
fn run_measured(mut child: Child) -> (Output, u64) {
    let status_path = format!("/proc/{}/status", child.id());
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let mut peak = 0;
    let started = Instant::now();
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "smelt hung");
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    };
    (output, peak)
}

fn run_log(p: &TestProject) -> (std::path::PathBuf, String) {
    let dir = p.path(".meltano/logs/run");
    let entry = std::fs::read_dir(&dir)
        .expect("run log directory")
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "log"))
        .expect("a run log");
    let text = std::fs::read_to_string(entry.path()).expect("read run log");
    (entry.path(), text)
}

#[test]
fn a_huge_stderr_line_is_truncated_with_a_marker_in_bounded_memory() {
    let p = project(LOUD_TAP, TARGET);
    let child = p.spawn_env(&["run", "tap-x", "target-x"], &[]);
    let (out, peak_kb) = run_measured(child);
    let err = text(&out);
    assert!(out.status.success(), "{}", &err[..err.len().min(4000)]);
    assert!(peak_kb > 0, "VmHWM was never read");
    assert!(
        peak_kb < RSS_CEILING_KB,
        "smelt peaked at {peak_kb} kB reading a 50 MB stderr line"
    );
    assert!(
        err.contains("[line truncated by smelt:"),
        "console lacks the marker"
    );
    assert!(err.contains("after-the-long-line"));
    assert!(
        err.contains("last-words-before-exit"),
        "the last stderr line was lost"
    );
    assert!(err.len() < 1024 * 1024, "console got {} bytes", err.len());
    let (_, log) = run_log(&p);
    assert!(
        log.contains("[line truncated by smelt:"),
        "run log lacks the marker"
    );
    assert!(log.contains("after-the-long-line"));
    assert!(log.contains("last-words-before-exit"));
}

#[test]
fn a_huge_state_line_fails_the_run_naming_elt_buffer_size_in_bounded_memory() {
    let p = project(LOUD_TAP, HUGE_STATE_TARGET);
    // The default (100 MiB) is above the fixture's 50 MB line.
    std::fs::write(
        p.path("meltano.yml"),
        std::fs::read_to_string(p.path("meltano.yml")).expect("yml")
            + "elt:\n  buffer_size: 1048576\n",
    )
    .expect("yml");
    let child = p.spawn_env(&["run", "tap-x", "target-x"], &[]);
    let (out, peak_kb) = run_measured(child);
    let err = text(&out);
    assert!(!out.status.success(), "{}", &err[..err.len().min(4000)]);
    assert!(
        err.contains("elt.buffer_size"),
        "{}",
        &err[..err.len().min(4000)]
    );
    assert!(
        err.contains("state output"),
        "{}",
        &err[..err.len().min(4000)]
    );
    assert!(
        peak_kb < RSS_CEILING_KB,
        "smelt peaked at {peak_kb} kB reading a 50 MB state line"
    );
    // Nothing of the refused line was stored.
    assert!(p
        .state("dev:tap-x-to-target-x")
        .is_none_or(|s| !s.to_string().contains("sss")));
}

#[cfg(unix)]
#[test]
fn run_logs_and_state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let p = project(
        "#!/bin/sh\necho '{\"type\": \"STATE\", \"value\": {\"n\": 1}}'\n",
        TARGET,
    );
    std::fs::write(
        p.path("meltano.yml"),
        std::fs::read_to_string(p.path("meltano.yml")).expect("yml")
            + "state_backend:\n  uri: file://state\n",
    )
    .expect("yml");
    let out = p.run(&["run", "tap-x", "target-x"]);
    assert!(out.status.success(), "{}", text(&out));
    let (log, _) = run_log(&p);
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    assert_eq!(mode(&log), 0o600, "{}", log.display());
    let state = p.path("state/dev:tap-x-to-target-x/state.json");
    assert_eq!(mode(&state), 0o600);
}
