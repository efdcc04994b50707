//! The fault-injection suite (issue 7, "Keep it fixed"): plugins killed at pseudo-random
//! points, a full disk under the state backend and the target, 8 concurrent runs on every
//! state backend, and a secret that must never show up in any output or file. Every scenario
//! asserts that no state is lost or torn, that no plugin process outlives its run, that no
//! smelt process runs past its bound, and that the secret stays in `.env`.
//!
//! The loader is a bash wrapper around the fixture target: it records the target's pid
//! (`target.pid`) and tees every state the target acknowledges into `acks.log`, so the test
//! knows exactly what smelt was told and must have kept.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const ID: &str = "dev:tap-fixture-to-target-fixture";

/// The secret: a `kind: password` setting of the tap, set only in `.env`.
const SECRET: &str = "fi-secret-5b7e0c93d1a4";

/// How long any one smelt command may take before the test calls it a hang.
const BOUND: Duration = Duration::from_secs(60);

/// A fixed-seed xorshift64 generator: the same "random" faults on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The fixture project on a backend, with the secret and the acknowledging target wrapper.
struct Fi {
    p: TestProject,
    backend: Backend,
}

impl Fi {
    fn new(backend: Backend) -> Fi {
        Fi::with_yml(backend, "")
    }

    fn with_yml(backend: Backend, extra: &str) -> Fi {
        let yml = FIXTURE_YML
            .replacen(
                "    - {name: env_dump}\n",
                "    - {name: env_dump}\n    - {name: api_key, kind: password}\n",
                1,
            )
            .replace(
                "executable: {FIXTURES}/target-fixture",
                "executable: {ROOT}/target-wrapper",
            );
        let p = backend.project(&yml, extra);
        let root = p.dir.path().display().to_string();
        let path = p.path("meltano.yml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("{ROOT}/target-wrapper") && text.contains("kind: password"));
        std::fs::write(&path, text.replace("{ROOT}", &root)).unwrap();
        std::fs::write(p.path(".env"), format!("TAP_FIXTURE_API_KEY={SECRET}\n")).unwrap();
        let wrapper = p.path("target-wrapper");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/bash\nset -o pipefail\ndir=$(dirname \"$0\")\n\
                 sh -c 'echo $$ > \"$1\"; shift; exec \"$@\"' sh \"$dir/target.pid\" \
                 \"{}/target-fixture\" \"$@\" | tee -a \"$dir/acks.log\"\n",
                fixtures().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        Fi { p, backend }
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = self.backend.command(&self.p, args);
        cmd.envs(env.iter().copied());
        cmd
    }

    fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        self.command(args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn smelt")
    }

    /// Runs smelt within [`BOUND`]; the output must not hold the secret.
    fn smelt(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        finish(self.spawn(args, env), BOUND)
    }

    fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = self.smelt(args, env);
        assert!(
            out.status.success(),
            "[{}] smelt {args:?} failed\n{}",
            self.backend.name,
            text(&out)
        );
        out
    }

    /// The stored `{completed, partial}` document, which must parse; `{}` parts when none.
    fn raw(&self, id: &str) -> Value {
        let out = self.smelt(&["state", "get", "--format", "raw", id], &[]);
        if !out.status.success() {
            return serde_json::json!({"completed": {}, "partial": {}});
        }
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "[{}] torn state document for {id}: {e}\n{}",
                self.backend.name,
                text(&out)
            )
        })
    }

    /// States the target acknowledged since `acks.log` was last cleared.
    fn acks(&self) -> Vec<i64> {
        read_jsonl(&self.p.path("acks.log"))
            .iter()
            .filter_map(|v| v["bookmarks"]["numbers"]["last_id"].as_i64())
            .collect()
    }
}

/// `last_id` of a Singer state part (`{"singer_state": …}`), 0 when absent.
fn last_id(part: &Value) -> i64 {
    part["singer_state"]["bookmarks"]["numbers"]["last_id"]
        .as_i64()
        .unwrap_or(0)
}

/// The `last_id` the next run starts from: partial over completed.
fn effective(raw: &Value) -> i64 {
    if raw["partial"].as_object().is_some_and(|m| !m.is_empty()) {
        last_id(&raw["partial"]).max(last_id(&raw["completed"]))
    } else {
        last_id(&raw["completed"])
    }
}

/// Waits for smelt (draining its output) at most `limit`, killing it and failing otherwise;
/// the secret must not appear in what it printed.
fn finish(mut child: Child, limit: Duration) -> Output {
    fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    }
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let end = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait smelt") {
            break status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("smelt did not finish within {limit:?} (hang)");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert_no_secret_in(&out.stdout, "stdout", &out);
    assert_no_secret_in(&out.stderr, "stderr", &out);
    out
}

fn assert_no_secret_in(bytes: &[u8], what: &str, out: &Output) {
    assert!(
        !contains(bytes, SECRET.as_bytes()),
        "the secret is in smelt's {what}\n{}",
        text(out)
    );
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` (`.meltano` included; symlinks not followed).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            files_under(&e.path(), out);
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
}

/// No file under the project but `.env` holds the secret. Returns how many files were read.
fn assert_no_secret_in_files(p: &TestProject) -> usize {
    let mut files = Vec::new();
    files_under(p.dir.path(), &mut files);
    let env = p.path(".env");
    let mut read = 0;
    for f in files.iter().filter(|f| **f != env) {
        let bytes = std::fs::read(f).unwrap_or_default();
        assert!(
            !contains(&bytes, SECRET.as_bytes()),
            "the secret is in {}",
            f.display()
        );
        read += 1;
    }
    read
}

/// Waits up to 5 s for each pid (0 = never started) to be gone; fails naming the survivors.
fn assert_gone(pids: &[i32], what: &str) {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<i32> = pids
            .iter()
            .copied()
            .filter(|p| *p > 0 && alive(*p))
            .collect();
        if left.is_empty() {
            return;
        }
        if Instant::now() > end {
            for p in &left {
                // SAFETY: killing fixture processes this test started.
                unsafe { libc::kill(*p, libc::SIGKILL) };
            }
            panic!("{what}: fixture processes {left:?} outlived the run");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_pid(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The ids of the complete records the target wrote. A killed target or a full disk may
/// leave a torn line (and the next run appends to it), so whole `{"id": N, "tags": []}`
/// records are picked out of the text rather than parsed line by line.
fn record_ids(path: &Path) -> std::collections::BTreeSet<i64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut ids = std::collections::BTreeSet::new();
    for piece in text.split("{\"id\": ").skip(1) {
        let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && piece[digits.len()..].starts_with(", \"tags\": []}") {
            ids.insert(digits.parse().unwrap());
        }
    }
    ids
}

// ---------------------------------------------------------------------------------------------
// 1. Plugins killed at random points.

#[derive(Debug, Clone, Copy)]
enum Fault {
    KillTap(u64),
    KillTarget(u64),
    CrashTap(u64),
    CrashTarget(u64),
}

fn plugins_killed_at_random_points(backend: Backend, seed: u64) {
    let started = Instant::now();
    let c = Fi::new(backend);
    let name = c.backend.name;
    let mut rng = XorShift(seed);
    let (mut completed, mut resumes_from, mut count) = (0, 0, 0);
    let mut failed_runs = 0;
    for i in 0..8u64 {
        count += 40;
        let fault = match rng.below(4) {
            0 => Fault::KillTap(20 + rng.below(400)),
            1 => Fault::KillTarget(20 + rng.below(400)),
            2 => Fault::CrashTap(1 + rng.below(30)),
            _ => Fault::CrashTarget(1 + rng.below(30)),
        };
        for f in ["tap.pid", "target.pid", "acks.log"] {
            let _ = std::fs::remove_file(c.p.path(f));
        }
        let count_s = count.to_string();
        let pid_file = c.p.path("tap.pid");
        let mut env = vec![
            ("TAP_FIXTURE_COUNT", count_s.clone()),
            ("TAP_FIXTURE_SLEEP_MS", "8".to_string()),
            ("TAP_FIXTURE_PID_FILE", pid_file.display().to_string()),
        ];
        match fault {
            Fault::CrashTap(n) => env.push(("TAP_FIXTURE_CRASH_AFTER", n.to_string())),
            Fault::CrashTarget(n) => env.push(("TARGET_FIXTURE_CRASH_AFTER", n.to_string())),
            _ => {}
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut child = c.spawn(&["run", "tap-fixture", "target-fixture"], &env);
        assert!(
            wait_for_file(&pid_file, 30),
            "[{name}] run {i}: the tap never started"
        );
        assert!(
            wait_for_file(&c.p.path("target.pid"), 30),
            "[{name}] run {i}: the target never started"
        );
        let (tap, target) = (read_pid(&pid_file), read_pid(&c.p.path("target.pid")));
        let mut killed = false;
        if let Fault::KillTap(ms) | Fault::KillTarget(ms) = fault {
            std::thread::sleep(Duration::from_millis(ms));
            let victim = if matches!(fault, Fault::KillTap(_)) {
                tap
            } else {
                target
            };
            if child.try_wait().unwrap().is_none() && alive(victim) {
                // SAFETY: SIGKILL to a fixture plugin process of the run we started.
                killed = unsafe { libc::kill(victim, libc::SIGKILL) } == 0;
            }
        }
        let out = finish(child, BOUND);
        assert_gone(&[tap, target], &format!("[{name}] run {i} ({fault:?})"));

        let new_records = count - resumes_from;
        let faulted = match fault {
            Fault::KillTap(_) | Fault::KillTarget(_) => killed,
            Fault::CrashTap(n) | Fault::CrashTarget(n) => (n as i64) <= new_records,
        };
        let raw = c.raw(ID);
        let (now_completed, now_effective) = (last_id(&raw["completed"]), effective(&raw));
        let what = format!("[{name}] run {i} ({fault:?}, killed: {killed}): state {raw}");
        if out.status.success() {
            assert_eq!(now_completed, count, "{what}\n{}", text(&out));
            assert_eq!(raw["partial"], serde_json::json!({}), "{what}");
        } else {
            failed_runs += 1;
            assert!(faulted, "{what}: failed without a fault\n{}", text(&out));
            assert_eq!(out.status.code(), Some(1), "{what}\n{}", text(&out));
            let plugin = match fault {
                Fault::KillTap(_) | Fault::CrashTap(_) => "tap-fixture failed",
                _ => "target-fixture failed",
            };
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(plugin),
                "{what}: expected {plugin:?}\n{}",
                text(&out)
            );
        }
        assert!(
            now_completed >= completed,
            "{what}: completed state went back from {completed}"
        );
        assert!(
            now_effective >= resumes_from,
            "{what}: state went back from {resumes_from}"
        );
        let acked = c.acks().into_iter().max().unwrap_or(0);
        assert!(
            now_effective >= acked,
            "{what}: the target acknowledged {acked} but the state says {now_effective}"
        );
        let have = record_ids(&c.p.path("out.jsonl"));
        let missing: Vec<i64> = (1..=now_effective)
            .filter(|id| !have.contains(id))
            .collect();
        assert!(
            missing.is_empty(),
            "{what}: state is ahead of the data, ids {missing:?} never reached the target"
        );
        if c.backend.name == "file" {
            let dir = c.p.path("state").join(ID);
            match std::fs::read(dir.join("state.json")) {
                Ok(bytes) => {
                    let file: Value = serde_json::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("{what}: torn state.json: {e}"));
                    assert_eq!(file, raw, "{what}");
                }
                Err(_) => assert_eq!(now_effective, 0, "{what}: no state.json"),
            }
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names.retain(|n| n != "state.json");
            assert!(
                names.is_empty(),
                "{what}: lock or temp files left: {names:?}"
            );
        }
        completed = now_completed;
        resumes_from = now_effective;
    }
    assert!(
        failed_runs >= 3,
        "[{name}] only {failed_runs} of 8 runs were hit by their fault: the faults prove little"
    );

    // A clean run completes, and the target has every id at least once.
    let count_s = count.to_string();
    let out = c.ok(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", &count_s)],
    );
    let raw = c.raw(ID);
    assert_eq!(
        raw,
        serde_json::json!({"completed": {"singer_state": {"bookmarks": {"numbers": {"last_id": count}}}}, "partial": {}}),
        "[{name}]\n{}",
        text(&out)
    );
    let have = record_ids(&c.p.path("out.jsonl"));
    let missing: Vec<i64> = (1..=count).filter(|id| !have.contains(id)).collect();
    assert!(missing.is_empty(), "[{name}] ids never loaded: {missing:?}");
    assert!(assert_no_secret_in_files(&c.p) > 3);
    eprintln!(
        "[{name}] 8 faulted runs ({failed_runs} failed) + a clean one: {:?}",
        started.elapsed()
    );
}

#[test]
fn plugins_killed_at_random_points_keep_state_on_the_file_backend() {
    plugins_killed_at_random_points(file_dir(), 0x5eed_0001_f00d_cafe);
}

#[test]
fn plugins_killed_at_random_points_keep_state_in_the_systemdb() {
    plugins_killed_at_random_points(systemdb(), 0x5eed_0002_beef_d00d);
}

// ---------------------------------------------------------------------------------------------
// 2. Full disk.

/// A 1 MiB tmpfs mounted on a directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(dir)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "the full-disk test mounts a 1 MiB tmpfs and needs root (or CAP_SYS_ADMIN): \
             run the suite as root, or in a container started with --privileged or \
             --cap-add SYS_ADMIN\n{}",
            text(&out)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

#[test]
fn a_full_disk_fails_the_run_naming_the_plugin_and_keeps_the_state() {
    let started = Instant::now();
    let c = Fi::new(Backend::new(
        "file on a 1 MiB tmpfs",
        "state_backend:\n  uri: file://{ROOT}/disk/state\n",
    ));
    let disk = c.p.path("disk");
    let _mount = Tmpfs::mount(&disk);
    let out_path = disk.join("out.jsonl");
    let out_s = out_path.display().to_string();
    let state_dir = disk.join("state").join(ID);

    c.ok(
        &["run", "tap-fixture", "target-fixture"],
        &[("TARGET_FIXTURE_PATH", &out_s)],
    );
    assert_eq!(last_id(&c.raw(ID)["completed"]), 10);

    // The target alone fills the disk (no state to write before it does): the run fails
    // naming the loader, with the target's own error shown under its name.
    let out = c.smelt(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TARGET_FIXTURE_PATH", &out_s),
            ("TAP_FIXTURE_COUNT", "200000"),
            ("TAP_FIXTURE_STATE_EVERY", "200000"),
        ],
    );
    assert_fails(
        &out,
        1,
        &[
            "[target-fixture] OSError: [Errno 28] No space left on device",
            "error: Loader target-fixture failed",
        ],
    );
    assert!(
        record_ids(&out_path).len() > 10_000,
        "the disk was not filled"
    );
    assert_eq!(
        c.raw(ID),
        serde_json::json!({"completed": {"singer_state": {"bookmarks": {"numbers": {"last_id": 10}}}}, "partial": {}}),
        "nothing was acknowledged, so the completed state stays"
    );
    std::fs::remove_file(&out_path).unwrap();

    // Acknowledged states race the target for the last free pages: whichever hits the full
    // disk first decides smelt's last error line, the loader's failure (its error shown under
    // its name) or the state write (naming the file it could not write).
    let out = c.smelt(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TARGET_FIXTURE_PATH", &out_s),
            ("TAP_FIXTURE_COUNT", "200000"),
            ("TAP_FIXTURE_STATE_EVERY", "500"),
        ],
    );
    assert_fails(&out, 1, &["No space left on device"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        (last.contains("error: Loader target-fixture failed")
            && stderr.contains("[target-fixture] OSError: [Errno 28] No space left on device"))
            || (last.contains("could not write temporary state file")
                && last.contains(ID)
                && last.contains("No space left on device")),
        "unclear final error {last:?}\n{}",
        text(&out)
    );
    eprintln!("full disk, racing run ended with: {last}");
    let written = record_ids(&out_path);
    assert!(
        written.len() > 10_000,
        "the disk was not filled ({} records)",
        written.len()
    );
    let file: Value = serde_json::from_slice(&std::fs::read(state_dir.join("state.json")).unwrap())
        .expect("state.json on the full disk still parses");
    let raw = c.raw(ID);
    assert_eq!(file, raw);
    assert!(last_id(&raw["completed"]) >= 10, "{raw}");
    let resumes_from = effective(&raw);
    assert!(resumes_from >= 10, "{raw}");
    // (ids 1–10 went with the first output file, removed to free the disk)
    let missing: Vec<i64> = (11..=resumes_from)
        .filter(|id| !written.contains(id))
        .collect();
    assert!(missing.is_empty(), "state ahead of the data: {missing:?}");

    // Space again: the next run completes and leaves only state.json behind.
    std::fs::remove_file(&out_path).unwrap();
    c.ok(
        &["run", "tap-fixture", "target-fixture"],
        &[("TARGET_FIXTURE_PATH", &out_s), ("TAP_FIXTURE_COUNT", "10")],
    );
    let raw = c.raw(ID);
    assert_eq!(last_id(&raw["completed"]), resumes_from, "{raw}");
    let mut files = Vec::new();
    files_under(&disk, &mut files);
    let mut names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&disk).unwrap().display().to_string())
        .filter(|n| n != "out.jsonl")
        .collect();
    names.sort();
    assert_eq!(
        names,
        [format!("state/{ID}/state.json")],
        "temp or lock files left on the disk"
    );
    assert_no_secret_in_files(&c.p);
    eprintln!("full disk: {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// 3. Eight concurrent runs on every backend.

fn eight_concurrent_runs(backend: Backend) {
    let started = Instant::now();
    let c = Fi::new(backend);
    let name = c.backend.name;

    // 8 different state IDs at once: all succeed with their own completed state.
    let children: Vec<Child> = (0..8)
        .map(|k| {
            let out = c.p.path(&format!("out{k}.jsonl")).display().to_string();
            c.spawn(
                &[
                    "run",
                    "--state-id-suffix",
                    &format!("k{k}"),
                    "tap-fixture",
                    "target-fixture",
                ],
                &[("TARGET_FIXTURE_PATH", &out)],
            )
        })
        .collect();
    let outs: Vec<Output> = children.into_iter().map(|ch| finish(ch, BOUND)).collect();
    for (k, out) in outs.iter().enumerate() {
        assert!(out.status.success(), "[{name}] run k{k}\n{}", text(out));
        let raw = c.raw(&format!("{ID}:k{k}"));
        assert_eq!(
            raw,
            serde_json::json!({"completed": {"singer_state": {"bookmarks": {"numbers": {"last_id": 10}}}}, "partial": {}}),
            "[{name}] k{k}"
        );
        let ids = record_ids(&c.p.path(&format!("out{k}.jsonl")));
        assert_eq!(ids, (1..=10).collect(), "[{name}] k{k}");
    }
    let different = started.elapsed();

    // 8 of the same state ID at once: exactly one runs, seven are refused.
    let pid_file = |k: usize| c.p.path(&format!("tap{k}.pid"));
    let mut children: Vec<(usize, Option<Child>)> = (0..8)
        .map(|k| {
            let pid = pid_file(k).display().to_string();
            let out = c.p.path(&format!("same{k}.jsonl")).display().to_string();
            let child = c.spawn(
                &["run", "tap-fixture", "target-fixture"],
                &[
                    ("TAP_FIXTURE_COUNT", "1000000"),
                    ("TAP_FIXTURE_SLEEP_MS", "20"),
                    ("TAP_FIXTURE_PID_FILE", &pid),
                    ("TARGET_FIXTURE_PATH", &out),
                ],
            );
            (k, Some(child))
        })
        .collect();
    let end = Instant::now() + BOUND;
    let mut refused = Vec::new();
    while refused.len() < 7 && Instant::now() < end {
        for (_, slot) in children.iter_mut() {
            if slot.as_mut().unwrap().try_wait().unwrap().is_some() {
                refused.push(finish(slot.take().unwrap(), BOUND));
            }
        }
        children.retain(|(_, slot)| slot.is_some());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The winner's tap starts; a second winner gets every chance to show itself too.
    if let [(k, _)] = children.as_slice() {
        assert!(
            wait_for_file(&pid_file(*k), 30),
            "[{name}] the one run admitted (#{k}) never started its tap"
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    let taps: Vec<usize> = (0..8).filter(|k| pid_file(*k).exists()).collect();
    let running: Vec<usize> = children.iter().map(|(k, _)| *k).collect();
    for (_, ch) in children {
        let ch = ch.unwrap();
        // SAFETY: SIGTERM to a smelt we started.
        unsafe { libc::kill(ch.id() as i32, libc::SIGTERM) };
        let out = finish(ch, BOUND);
        assert_eq!(out.status.code(), Some(143), "[{name}]\n{}", text(&out));
    }
    assert_eq!(
        running.len(),
        1,
        "[{name}] runs {running:?} of one state ID ran at once (refused: {})",
        refused.len()
    );
    assert_eq!(taps, running, "[{name}] taps started by runs {taps:?}");
    for out in &refused {
        assert_fails(out, 1, &["another run of", ID, "in progress", "--force"]);
    }
    let pids: Vec<i32> = taps.iter().map(|k| read_pid(&pid_file(*k))).collect();
    assert_gone(&pids, &format!("[{name}] the SIGTERMed run"));
    let raw = c.raw(ID);
    assert_eq!(raw["completed"], serde_json::json!({}), "[{name}] {raw}");
    assert_no_secret_in_files(&c.p);
    eprintln!(
        "[{name}] 8 concurrent runs: different IDs {different:?}, all: {:?}",
        started.elapsed()
    );
}

macro_rules! concurrent_on {
    ($name:ident, $backend:expr) => {
        #[test]
        fn $name() {
            eight_concurrent_runs($backend);
        }
    };
}

concurrent_on!(eight_concurrent_runs_on_the_sqlite_systemdb, systemdb());
concurrent_on!(eight_concurrent_runs_on_the_postgres_systemdb, postgres());
concurrent_on!(eight_concurrent_runs_on_the_file_backend, file_dir());
concurrent_on!(eight_concurrent_runs_on_s3, s3());
concurrent_on!(eight_concurrent_runs_on_azure, azure());

// ---------------------------------------------------------------------------------------------
// 4. No secret anywhere.

#[test]
fn the_secret_appears_in_no_output_and_no_file() {
    let c = Fi::new(systemdb());
    // The secret is set and reaches the tap's configuration (so its absence below means
    // something): only --unsafe shows it.
    let shown = c
        .command(&["config", "--unsafe", "print", "tap-fixture"], &[])
        .output()
        .unwrap();
    assert!(
        contains(&shown.stdout, SECRET.as_bytes()),
        "config --unsafe print must show the secret\n{}",
        text(&shown)
    );

    c.ok(&["run", "tap-fixture", "target-fixture"], &[]);
    let out = c.smelt(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "20"),
            ("TAP_FIXTURE_CRASH_AFTER", "3"),
        ],
    );
    assert_fails(&out, 1, &["tap-fixture failed"]);
    let out = c.smelt(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "30"),
            ("TARGET_FIXTURE_CRASH_AFTER", "2"),
        ],
    );
    assert_fails(&out, 1, &["target-fixture failed"]);
    let out = c.ok(&["config", "list", "tap-fixture"], &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("api_key"),
        "{}",
        text(&out)
    );
    c.ok(&["config", "print", "tap-fixture"], &[]);
    c.ok(&["invoke", "--dump", "config", "tap-fixture"], &[]);
    c.ok(
        &[
            "el",
            "tap-fixture",
            "target-fixture",
            "--dump",
            "extractor-config",
        ],
        &[],
    );
    let files = assert_no_secret_in_files(&c.p);
    let db = c.p.path(".meltano/smelt.db");
    assert!(db.exists(), "no system database was scanned");
    let mut all = Vec::new();
    files_under(&c.p.path(".meltano/logs"), &mut all);
    assert!(!all.is_empty(), "no run log was scanned");
    eprintln!("secret absent from every output and from {files} files");
}
