//! Nothing outlives smelt: however smelt ends (`kill -9`, SIGHUP, a signal to its process
//! group), every plugin process — including a plugin's own children — ends too, and the next
//! run cleans up what the dead one left (its run record, its secret config files).
//!
//! The extractor here is a shell wrapper that runs the fixture tap as its child, so the tap's
//! Python process is a grandchild of smelt, as with real wrapper scripts and launchers. The
//! wrapper also starts a background `sleep` and waits for it: neither writes to a pipe, so
//! neither would ever notice smelt is gone by a broken pipe — only smelt's own measures (the
//! parent-death signal, the watchdog that kills the plugin's process group) end them.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A fixture project whose extractor runs through `sh`, so the tap is smelt's grandchild.
fn wrapped_project() -> TestProject {
    let yml = FIXTURE_YML.replace(
        "executable: {FIXTURES}/tap-fixture",
        "executable: {WRAPPER}",
    );
    let p = TestProject::new(&yml);
    let wrapper = p.path("tap-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ -n \"$SLEEPER_PID_FILE\" ]; then\n  sleep 120 &\n  echo $! > \"$SLEEPER_PID_FILE\"\nfi\n\"{}/tap-fixture\" \"$@\"\nstatus=$?\nwait\nexit $status\n",
            fixtures().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let yml_path = p.path("meltano.yml");
    let text = std::fs::read_to_string(&yml_path).unwrap();
    std::fs::write(
        &yml_path,
        text.replace("{WRAPPER}", wrapper.to_str().unwrap()),
    )
    .unwrap();
    p
}

/// Starts a slow `smelt run` (about a minute of records) and returns it once the tap runs,
/// with the pids of the tap and the sleeper (grandchildren), the wrapper and the target.
fn start_slow_run(p: &TestProject, own_group: bool) -> (Child, Vec<i32>) {
    let pid_file = p.path("tap.pid");
    let sleeper_file = p.path("sleeper.pid");
    let mut cmd = p.command(&["run", "tap-fixture", "target-fixture"]);
    cmd.envs([
        ("SLEEPER_PID_FILE", sleeper_file.to_str().unwrap()),
        ("TAP_FIXTURE_COUNT", "1000"),
        ("TAP_FIXTURE_SLEEP_MS", "60"),
        ("TAP_FIXTURE_PID_FILE", pid_file.to_str().unwrap()),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if own_group {
        cmd.process_group(0);
    }
    let child = cmd.spawn().expect("spawn smelt");
    assert!(wait_for_file(&pid_file, 30), "the tap never started");
    let tap: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let wrapper = parent_of(tap).expect("the tap has a parent");
    let smelt = child.id() as i32;
    assert_eq!(
        parent_of(wrapper),
        Some(smelt),
        "the wrapper is smelt's child"
    );
    let target = wait_for_child(smelt, "target-fixture").expect("the target runs");
    assert!(
        wait_for_file(&sleeper_file, 10),
        "the sleeper never started"
    );
    let sleeper: i32 = std::fs::read_to_string(&sleeper_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        parent_of(sleeper),
        Some(wrapper),
        "the sleeper is a grandchild"
    );
    (child, vec![tap, wrapper, target, sleeper])
}

/// Waits (generously) until none of `pids` is running; panics naming the survivors.
fn assert_all_gone(pids: &[i32], what: &str) {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let alive: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if alive.is_empty() {
            return;
        }
        if Instant::now() > end {
            for p in &alive {
                // SAFETY: cleaning up our own test's processes.
                unsafe { libc::kill(*p, libc::SIGKILL) };
            }
            panic!("{what}: processes {alive:?} outlived smelt");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for smelt to exit (it must within 30 s) and returns its output.
fn finish(mut child: Child) -> (ExitStatus, String) {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (status, text);
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("smelt did not exit within 30 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every run recorded in the project's system database, newest first.
fn runs(p: &TestProject) -> Vec<smelt_systemdb::RunRecord> {
    let db = smelt_systemdb::SystemDb::open(&p.path(".meltano/smelt.db")).expect("open db");
    db.runs(None, 100).expect("list runs")
}

/// Files left under `.meltano/run` (where plugin config files with secrets are written).
fn leftover_run_files(p: &TestProject) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(&p.path(".meltano/run"), &mut out);
    out
}

#[test]
fn kill_9_of_smelt_takes_every_plugin_with_it_and_the_next_run_cleans_up() {
    let p = wrapped_project();
    let (mut child, pids) = start_slow_run(&p, false);
    let smelt = child.id() as i32;
    let old_run = runs(&p).first().map(|r| r.run_id.clone());
    // SAFETY: signalling the smelt we started.
    unsafe { libc::kill(smelt, libc::SIGKILL) };
    let _ = child.wait();
    assert_all_gone(&pids, "kill -9 of smelt");
    assert!(
        !leftover_run_files(&p).is_empty(),
        "the killed run should have left its config files (else this test proves nothing)"
    );

    // (d) The next run succeeds, the dead run is recorded failed, its secrets are gone.
    let out = p.run_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "3")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let all = runs(&p);
    let old_run = old_run.expect("the killed run was recorded");
    let old = all.iter().find(|r| r.run_id == old_run).unwrap();
    assert_eq!(old.status.as_str(), "failed", "{old:?}");
    assert!(
        old.error
            .as_deref()
            .unwrap_or("")
            .contains("no longer running"),
        "{old:?}"
    );
    assert_eq!(all[0].status.as_str(), "success");
    assert_eq!(leftover_run_files(&p), Vec::<String>::new());
}

#[test]
fn sighup_stops_every_plugin_exits_129_and_records_the_run_failed() {
    let p = wrapped_project();
    let (child, pids) = start_slow_run(&p, false);
    // SAFETY: signalling the smelt we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    let (status, out) = finish(child);
    assert_eq!(status.code(), Some(129), "{out}");
    assert_all_gone(&pids, "SIGHUP");
    let all = runs(&p);
    assert_eq!(all[0].status.as_str(), "failed", "{:?}", all[0]);
    assert!(
        all[0].error.as_deref().unwrap_or("").contains("signal 1"),
        "{:?}",
        all[0]
    );
    assert_eq!(leftover_run_files(&p), Vec::<String>::new());
}

#[test]
fn sigterm_to_smelts_process_group_stops_everything() {
    let p = wrapped_project();
    let (child, pids) = start_slow_run(&p, true);
    let pgid = child.id() as i32;
    // SAFETY: the group is the smelt we started (process_group(0) made it the leader).
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    let (status, out) = finish(child);
    assert_eq!(status.code(), Some(143), "{out}");
    assert_all_gone(&pids, "SIGTERM to smelt's process group");
    assert_eq!(runs(&p)[0].status.as_str(), "failed");
}

#[test]
fn sigkill_to_smelts_process_group_still_stops_every_plugin() {
    let p = wrapped_project();
    let (mut child, pids) = start_slow_run(&p, true);
    let pgid = child.id() as i32;
    // SAFETY: the group is the smelt we started.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let _ = child.wait();
    assert_all_gone(&pids, "SIGKILL to smelt's process group");
}

#[test]
fn kill_9_of_smelt_invoke_takes_the_plugin_and_its_children_with_it() {
    let p = wrapped_project();
    let pid_file = p.path("tap.pid");
    let sleeper_file = p.path("sleeper.pid");
    let mut child = p
        .command(&["invoke", "tap-fixture"])
        .envs([
            ("SLEEPER_PID_FILE", sleeper_file.to_str().unwrap()),
            ("TAP_FIXTURE_COUNT", "1000"),
            ("TAP_FIXTURE_SLEEP_MS", "60"),
            ("TAP_FIXTURE_PID_FILE", pid_file.to_str().unwrap()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn smelt");
    assert!(wait_for_file(&pid_file, 30), "the tap never started");
    assert!(
        wait_for_file(&sleeper_file, 10),
        "the sleeper never started"
    );
    let read = |f: &Path| -> i32 { std::fs::read_to_string(f).unwrap().trim().parse().unwrap() };
    let (tap, sleeper) = (read(&pid_file), read(&sleeper_file));
    let wrapper = parent_of(tap).expect("the tap has a parent");
    // SAFETY: signalling the smelt we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    assert_all_gone(&[tap, wrapper, sleeper], "kill -9 of smelt invoke");
}
