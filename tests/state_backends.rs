//! The same state suite on every backend, through the real `smelt` binary: every `state`
//! subcommand, export → import migration, concurrent merges from 8 processes, a crashed run
//! keeping what the target acknowledged, and the duplicate-run guard. Then file-backend
//! specifics: Meltano's on-disk layout read and continued, corrupt `state.json` reported and
//! left alone, lock settings from meltano.yml, and the run claim shared between projects.
//!
//! To run the suite on another backend, write a function returning its [`Backend`] (the
//! meltano.yml lines, environment and any emulator guard) and add one line:
//! `backend_suite!(s3, s3_backend());`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{
    azure, file_dir, postgres, read_jsonl, s3, systemdb, text, wait_for_file, Backend, TestProject,
    FIXTURE_YML,
};
use serde_json::{json, Value};

const ID: &str = "dev:tap-fixture-to-target-fixture";

/// The fixture pipeline project on a backend, with helpers that run smelt against it.
struct Case {
    p: TestProject,
    backend: Backend,
}

impl Case {
    fn new(backend: Backend) -> Case {
        Case::with_yml(backend, "")
    }

    /// Like [`Case::new`] with more top-level meltano.yml lines.
    fn with_yml(backend: Backend, extra: &str) -> Case {
        let p = backend.project(FIXTURE_YML, extra);
        Case { p, backend }
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = self.backend.command(&self.p, args);
        cmd.envs(env.iter().copied());
        cmd
    }

    fn smelt_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().expect("run smelt")
    }

    fn smelt(&self, args: &[&str]) -> Output {
        self.smelt_env(args, &[])
    }

    /// Runs smelt with `input` on stdin (a pipe, not a terminal).
    fn smelt_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .command(args, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn smelt");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(input).expect("write stdin");
        }
        child.wait_with_output().expect("wait smelt")
    }

    fn spawn_env(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        self.command(args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn smelt")
    }

    /// Runs smelt, asserts success, returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.smelt(args);
        assert!(
            out.status.success(),
            "[{}] smelt {args:?} failed\n{}",
            self.backend.name,
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Asserts smelt failed with `code` and stderr holds every needle.
    fn fails(&self, out: &Output, code: i32, needles: &[&str]) {
        assert_eq!(
            out.status.code(),
            Some(code),
            "[{}] {}",
            self.backend.name,
            text(out)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        for n in needles {
            assert!(
                err.contains(n),
                "[{}] expected {n:?} in stderr\n{}",
                self.backend.name,
                text(out)
            );
        }
    }

    /// The stored document (`state get --format raw`), or None when there is none.
    fn raw(&self, id: &str) -> Option<String> {
        let out = self.smelt(&["state", "get", "--format", "raw", id]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    fn raw_json(&self, id: &str) -> Value {
        let raw = self
            .raw(id)
            .unwrap_or_else(|| panic!("[{}] no state for {id}", self.backend.name));
        serde_json::from_str(&raw).expect("raw state is JSON")
    }

    /// `state get` parsed: the effective state.
    fn effective(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", "get", id])).expect("state get prints JSON")
    }

    fn ids(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec!["state", "list"];
        args.extend_from_slice(extra);
        self.ok(&args).lines().map(str::to_string).collect()
    }
}

fn singer(bookmarks: Value) -> String {
    json!({"singer_state": {"bookmarks": bookmarks}}).to_string()
}

fn sigterm(child: &Child) {
    // SAFETY: sending a signal to a child we spawned and have not reaped yet.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
}

fn record_ids(records: &[Value]) -> Vec<i64> {
    records.iter().filter_map(|r| r["id"].as_i64()).collect()
}

// ---------------------------------------------------------------------------------------------
// The per-backend suite.

/// `get` (all formats), `set` (refusals, --force, --input-file), `merge` (JSON, file, other ID)
/// and `list`.
fn get_set_merge(backend: Backend) {
    let c = Case::new(backend);
    assert_eq!(c.ok(&["state", "get", ID]), "{}\n", "no state prints {{}}");
    assert!(c.ids(&[]).is_empty());

    c.ok(&[
        "state",
        "set",
        ID,
        &singer(json!({"numbers": {"last_id": 3}})),
    ]);
    assert_eq!(
        c.ok(&["state", "get", ID]),
        "{\"singer_state\":{\"bookmarks\":{\"numbers\":{\"last_id\":3}}}}\n"
    );
    assert_eq!(
        c.ok(&["state", "get", ID, "--format", "pretty"]),
        "{\n  \"singer_state\": {\n    \"bookmarks\": {\n      \"numbers\": {\n        \"last_id\": 3\n      }\n    }\n  }\n}\n"
    );
    assert_eq!(
        c.raw(ID).as_deref(),
        Some(
            r#"{"completed": {"singer_state": {"bookmarks": {"numbers": {"last_id": 3}}}}, "partial": {}}"#
        )
    );

    // Overwriting needs --force without a terminal; a bad value is refused with the reason.
    let before = c.raw(ID);
    let out = c.smelt(&[
        "state",
        "set",
        ID,
        &singer(json!({"numbers": {"last_id": 9}})),
    ]);
    c.fails(
        &out,
        1,
        &["refusing to overwrite", "not a terminal", "--force"],
    );
    let out = c.smelt(&["state", "set", "--force", ID, r#"{"bookmarks": {}}"#]);
    c.fails(&out, 1, &["bare Singer state", "singer_state"]);
    let out = c.smelt(&["state", "set", "--force", ID, "{oops"]);
    c.fails(&out, 1, &["not valid JSON"]);
    assert_eq!(c.raw(ID), before, "refused commands change nothing");

    let file = c.p.path("new-state.json");
    std::fs::write(&file, singer(json!({"numbers": {"last_id": 4}}))).unwrap();
    c.ok(&[
        "state",
        "set",
        ID,
        "--input-file",
        file.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(
        c.effective(ID),
        json!({"singer_state": {"bookmarks": {"numbers": {"last_id": 4}}}})
    );

    // merge adds to the partial state; completed is untouched.
    c.ok(&["state", "merge", ID, &singer(json!({"other": {"v": "é"}}))]);
    assert_eq!(
        c.raw(ID).as_deref(),
        Some(
            r#"{"completed": {"singer_state": {"bookmarks": {"numbers": {"last_id": 4}}}}, "partial": {"singer_state": {"bookmarks": {"other": {"v": "\u00e9"}}}}}"#
        )
    );
    std::fs::write(&file, singer(json!({"other": {"w": 1}}))).unwrap();
    c.ok(&["state", "merge", ID, "--input-file", file.to_str().unwrap()]);
    assert_eq!(
        c.effective(ID),
        json!({"singer_state": {"bookmarks": {"numbers": {"last_id": 4}, "other": {"v": "é", "w": 1}}}})
    );
    let out = c.smelt(&["state", "merge", ID, r#"{"nope": 1}"#]);
    c.fails(&out, 1, &["singer_state"]);

    c.ok(&["state", "merge", "prod:x-to-y", "--from-state-id", ID]);
    assert_eq!(
        c.raw_json("prod:x-to-y"),
        json!({"completed": {}, "partial": c.effective(ID)})
    );
    let out = c.smelt(&["state", "merge", ID, "--from-state-id", "dev:missing"]);
    c.fails(&out, 1, &["no state is stored for \"dev:missing\""]);

    assert_eq!(c.ids(&[]), [ID, "prod:x-to-y"]);
    assert_eq!(c.ids(&["--pattern", "prod:*"]), ["prod:x-to-y"]);
}

/// `copy`, `move`, `clear ID` and `clear --all`, with their confirmations.
fn copy_move_clear(backend: Backend) {
    let c = Case::new(backend);
    c.ok(&["state", "set", ID, &singer(json!({"a": 1}))]);
    c.ok(&["state", "merge", ID, &singer(json!({"b": 2}))]);

    // Copy to a new ID needs no confirmation; partial is folded into completed, as Meltano.
    c.ok(&["state", "copy", ID, "dev:copy"]);
    assert_eq!(
        c.raw("dev:copy").as_deref(),
        Some(r#"{"completed": {"singer_state": {"bookmarks": {"a": 1, "b": 2}}}, "partial": {}}"#)
    );
    // Over an existing destination it does.
    c.ok(&["state", "set", "dev:other", &singer(json!({"z": 0}))]);
    let out = c.smelt(&["state", "copy", ID, "dev:other"]);
    c.fails(&out, 1, &["refusing", "--force"]);
    assert_eq!(
        c.effective("dev:other"),
        json!({"singer_state": {"bookmarks": {"z": 0}}})
    );
    c.ok(&["state", "copy", ID, "dev:other", "--force"]);
    assert_eq!(c.effective("dev:other"), c.effective(ID));
    let out = c.smelt(&["state", "copy", "dev:missing", "dev:new"]);
    c.fails(&out, 1, &["no state is stored for \"dev:missing\""]);

    // Move always asks (it clears the source).
    let out = c.smelt(&["state", "move", "dev:copy", "dev:moved"]);
    c.fails(&out, 1, &["refusing to move", "--force"]);
    assert!(c.raw("dev:copy").is_some());
    c.ok(&["state", "move", "dev:copy", "dev:moved", "--force"]);
    assert!(c.raw("dev:copy").is_none());
    assert_eq!(c.effective("dev:moved"), c.effective(ID));

    // Clear asks when there is something to clear.
    let out = c.smelt(&["state", "clear", "dev:moved"]);
    c.fails(&out, 1, &["refusing to clear", "--force"]);
    c.ok(&["state", "clear", "dev:moved", "--force"]);
    assert!(c.raw("dev:moved").is_none());
    assert_eq!(c.ok(&["state", "get", "dev:moved"]), "{}\n");
    c.ok(&["state", "clear", "dev:never"]);

    assert_eq!(c.ids(&[]), ["dev:other", ID]);
    let out = c.smelt(&["state", "clear", "--all"]);
    c.fails(
        &out,
        1,
        &["refusing to clear the state of 2 state ID(s)", "--force"],
    );
    assert_eq!(c.ids(&[]).len(), 2);
    let out = c.smelt(&["state", "clear", "--all", "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 state(s) were successfully cleared"));
    assert!(c.ids(&[]).is_empty());
}

/// `edit` through $VISUAL / $EDITOR: saved, unchanged, invalid (kept), failing editor.
fn edit(backend: Backend) {
    let c = Case::new(backend);
    c.ok(&["state", "set", ID, &singer(json!({"a": 1}))]);
    c.ok(&["state", "merge", ID, &singer(json!({"b": 2}))]);
    let editor = c.p.path("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nstat -c %a \"$1\" > \"$EDIT_DIR/mode\"\ncp \"$1\" \"$EDIT_DIR/shown\"\n\
         if [ -n \"$EDIT_WITH\" ]; then printf '%s' \"$EDIT_WITH\" > \"$1\"; fi\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let dir = c.p.dir.path().display().to_string();
    let edit = |with: &str, visual: &str, editor_var: &str| {
        let mut cmd = c.command(
            &["state", "edit", ID],
            &[("EDIT_DIR", &dir), ("EDIT_WITH", with)],
        );
        cmd.env_remove("VISUAL").env_remove("EDITOR");
        if !visual.is_empty() {
            cmd.env("VISUAL", visual);
        }
        if !editor_var.is_empty() {
            cmd.env("EDITOR", editor_var);
        }
        cmd.output().expect("run smelt")
    };
    let script = editor.to_str().unwrap();

    // Unchanged: nothing written.
    let before = c.raw(ID);
    let out = edit("", script, "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No changes detected"));
    assert_eq!(c.raw(ID), before);
    assert_eq!(
        std::fs::read_to_string(c.p.path("mode")).unwrap().trim(),
        "600"
    );
    assert_eq!(
        std::fs::read_to_string(c.p.path("shown")).unwrap(),
        "{\n  \"singer_state\": {\n    \"bookmarks\": {\n      \"a\": 1,\n      \"b\": 2\n    }\n  }\n}\n"
    );

    // $VISUAL wins over $EDITOR; the edit becomes the completed state.
    let out = edit(&singer(json!({"a": 5})), script, "false");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        c.raw(ID).as_deref(),
        Some(r#"{"completed": {"singer_state": {"bookmarks": {"a": 5}}}, "partial": {}}"#)
    );

    // Invalid result: refused, kept on disk, nothing written.
    let before = c.raw(ID);
    let out = edit(r#"{"bookmarks": {"a": 6}}"#, "", script);
    c.fails(&out, 1, &["was not saved", "bare Singer state", "kept at"]);
    assert_eq!(c.raw(ID), before);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let kept = err
        .split("kept at ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .map(PathBuf::from)
        .expect("kept path in message");
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        r#"{"bookmarks": {"a": 6}}"#
    );
    let _ = std::fs::remove_file(kept);

    // A failing editor changes nothing.
    let out = edit(&singer(json!({"a": 7})), "", "false");
    c.fails(&out, 1, &["the editor failed", "nothing was changed"]);
    assert_eq!(c.raw(ID), before);
}

/// `export` (versioned and Meltano layouts, --pattern) and `import` (file, stdin, refusals,
/// validation before writing).
fn export_import(backend: Backend) {
    let c = Case::new(backend);
    c.ok(&[
        "state",
        "set",
        "dev:a-to-b",
        &singer(json!({"s": {"n": 1}})),
    ]);
    c.ok(&[
        "state",
        "merge",
        "dev:a-to-b",
        &singer(json!({"t": {"n": 2}})),
    ]);
    c.ok(&["state", "merge", "dev:c-to-d", &singer(json!({"u": 1.5}))]);
    c.ok(&["state", "set", "prod:a-to-b", &singer(json!({"s": "x"}))]);
    let all_raw: Vec<Option<String>> = c.ids(&[]).iter().map(|id| c.raw(id)).collect();
    assert_eq!(all_raw.len(), 3);

    let dev: Value =
        serde_json::from_str(&c.ok(&["state", "export", "--pattern", "dev:*"])).unwrap();
    assert_eq!(dev["smelt_state_export"], 1);
    assert_eq!(
        dev["states"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["dev:a-to-b".to_string(), "dev:c-to-d".to_string()])
    );
    assert_eq!(
        dev["states"]["dev:a-to-b"],
        json!({"completed": {"singer_state": {"bookmarks": {"s": {"n": 1}}}},
               "partial": {"singer_state": {"bookmarks": {"t": {"n": 2}}}}})
    );

    let backup = c.p.path("backup.json");
    std::fs::write(&backup, c.ok(&["state", "export"])).unwrap();
    let meltano = c.ok(&["state", "export", "--format", "meltano"]);
    assert!(
        meltano.starts_with("{\"dev:a-to-b\":{\"completed\":"),
        "{meltano}"
    );

    c.ok(&["state", "clear", "--all", "--force"]);
    c.ok(&["state", "import", backup.to_str().unwrap()]);
    let restored: Vec<Option<String>> = c.ids(&[]).iter().map(|id| c.raw(id)).collect();
    assert_eq!(restored, all_raw, "round trip is exact");

    // Over existing IDs: refused without --force (a file, and stdin), then forced.
    c.ok(&[
        "state",
        "set",
        "prod:a-to-b",
        "--force",
        &singer(json!({"changed": true})),
    ]);
    let out = c.smelt(&["state", "import", backup.to_str().unwrap()]);
    c.fails(
        &out,
        1,
        &["refusing to overwrite", "'dev:a-to-b'", "--force"],
    );
    let out = c.smelt_stdin(&["state", "import", "-"], meltano.as_bytes());
    c.fails(&out, 1, &["read from stdin", "--force"]);
    assert_eq!(
        c.effective("prod:a-to-b"),
        json!({"singer_state": {"bookmarks": {"changed": true}}})
    );
    let out = c.smelt_stdin(&["state", "import", "--force"], meltano.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    let restored: Vec<Option<String>> = c.ids(&[]).iter().map(|id| c.raw(id)).collect();
    assert_eq!(restored, all_raw, "Meltano's layout imports too");

    // A document with one bad entry writes nothing at all.
    let bad = r#"{"smelt_state_export": 1, "states": {
        "dev:new": {"completed": {"singer_state": {}}, "partial": {}},
        "dev:bad": {"singer_state": {"bookmarks": {}}}}}"#;
    let out = c.smelt_stdin(&["state", "import", "--force"], bad.as_bytes());
    c.fails(
        &out,
        1,
        &[
            "stdin is not a state export",
            "\"dev:bad\"",
            "nothing was imported",
        ],
    );
    assert!(c.raw("dev:new").is_none());
}

/// Moving every state to another backend with export/import (the documented migration path);
/// the pipeline then continues on the new backend from where it was.
fn migrate(from: Backend, to: Backend) -> Case {
    let a = Case::new(from);
    let out = a.smelt(&["run", "tap-fixture", "target-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    a.ok(&[
        "state",
        "merge",
        "prod:other-to-x",
        &singer(json!({"k": {"v": 1}})),
    ]);
    let backup = a.p.path("backup.json");
    std::fs::write(&backup, a.ok(&["state", "export"])).unwrap();

    let b = Case::new(to);
    b.ok(&["state", "import", backup.to_str().unwrap()]);
    assert_eq!(b.ids(&[]), a.ids(&[]));
    for id in a.ids(&[]) {
        assert_eq!(b.raw(&id), a.raw(&id), "{id}");
    }
    let out = b.smelt_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "13")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        record_ids(&b.p.output_records()),
        [11, 12, 13],
        "continued after 10"
    );
    b
}

/// 8 processes merge their own stream's bookmark into one state ID 50 times each; every
/// stream's last bookmark must survive.
fn concurrent_merges(backend: Backend) {
    let c = Case::new(backend);
    let started = Instant::now();
    std::thread::scope(|s| {
        for k in 0..8 {
            let c = &c;
            s.spawn(move || {
                for i in 1..=50 {
                    let value = singer(json!({format!("s{k}"): {"n": i}}));
                    let out = c.smelt_env(
                        &["state", "merge", ID, &value],
                        // A loaded CI machine can starve one worker for a while: wait
                        // long enough that only a real lost lock fails the test.
                        &[
                            ("MELTANO_STATE_BACKEND_LOCK_RETRY_SECONDS", "0.02"),
                            ("MELTANO_STATE_BACKEND_LOCK_TIMEOUT_SECONDS", "120"),
                        ],
                    );
                    assert!(
                        out.status.success(),
                        "[{}] worker {k} merge {i}\n{}",
                        c.backend.name,
                        text(&out)
                    );
                }
            });
        }
    });
    let state = c.effective(ID);
    for k in 0..8 {
        assert_eq!(
            state["singer_state"]["bookmarks"][format!("s{k}")]["n"],
            50,
            "[{}] stream s{k} lost its last bookmark: {state}",
            c.backend.name
        );
    }
    eprintln!(
        "[{}] 400 concurrent merges took {:?}",
        c.backend.name,
        started.elapsed()
    );
}

/// A tap crash after the target acknowledged state 5 keeps 5 as partial state; the next run
/// resumes after it.
fn crash_keeps_acknowledged_state(backend: Backend) {
    let c = Case::new(backend);
    let out = c.smelt_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_CRASH_AFTER", "7")],
    );
    c.fails(&out, 1, &["Extractor tap-fixture failed"]);
    assert_eq!(
        c.raw_json(ID),
        json!({"completed": {}, "partial": {"singer_state": {"bookmarks": {"numbers": {"last_id": 5}}}}})
    );
    let out = c.smelt(&["run", "tap-fixture", "target-fixture"]);
    assert!(out.status.success(), "{}", text(&out));
    let ids = record_ids(&c.p.output_records());
    assert_eq!(&ids[ids.len() - 5..], [6, 7, 8, 9, 10]);
    assert_eq!(
        c.raw_json(ID),
        json!({"completed": {"singer_state": {"bookmarks": {"numbers": {"last_id": 10}}}}, "partial": {}})
    );
}

/// A second run of a running pipeline is refused with a hint about --force; --force proceeds.
fn duplicate_run_is_refused(backend: Backend) {
    let c = Case::new(backend);
    let pid_file = c.p.path("tap.pid");
    let first = c.spawn_env(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "1000000"),
            ("TAP_FIXTURE_SLEEP_MS", "20"),
            ("TAP_FIXTURE_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    assert!(wait_for_file(&pid_file, 20), "first run never started");
    let second = c.smelt(&["run", "tap-fixture", "target-fixture"]);
    let forced = c.smelt_env(
        &["run", "--force", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "3")],
    );
    sigterm(&first);
    let first = first.wait_with_output().expect("first run");
    c.fails(&second, 1, &["in progress", "--force"]);
    assert!(
        forced.status.success(),
        "[{}] {}",
        c.backend.name,
        text(&forced)
    );
    assert_eq!(first.status.code(), Some(143), "{}", text(&first));
}

/// One `#[test]` per scenario for a backend: `backend_suite!(module_name, backend_expr);`.
macro_rules! backend_suite {
    ($name:ident, $backend:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn get_set_merge() {
                super::get_set_merge($backend);
            }

            #[test]
            fn copy_move_clear() {
                super::copy_move_clear($backend);
            }

            #[test]
            fn edit() {
                super::edit($backend);
            }

            #[test]
            fn export_import() {
                super::export_import($backend);
            }

            #[test]
            fn migrate_from_systemdb() {
                super::migrate(systemdb(), $backend);
            }

            #[test]
            fn concurrent_merges() {
                super::concurrent_merges($backend);
            }

            #[test]
            fn crash_keeps_acknowledged_state() {
                super::crash_keeps_acknowledged_state($backend);
            }

            #[test]
            fn duplicate_run_is_refused() {
                super::duplicate_run_is_refused($backend);
            }
        }
    };
}

backend_suite!(on_systemdb, systemdb());
backend_suite!(on_file, file_dir());
backend_suite!(on_postgres, postgres());
backend_suite!(on_s3, s3());
backend_suite!(on_azure, azure());

// ---------------------------------------------------------------------------------------------
// The file backend's specifics.

/// Meltano's exact bytes for a state with `last_id` as completed bookmark.
fn meltano_bytes(last_id: u64) -> String {
    format!(
        r#"{{"completed": {{"singer_state": {{"bookmarks": {{"numbers": {{"last_id": {last_id}}}}}}}}}, "partial": {{}}}}"#
    )
}

fn state_dir(c: &Case) -> PathBuf {
    c.p.path("state").join(ID)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A lock file as Meltano writes it: Unix epoch seconds as a Python float, `age` ago.
fn meltano_lock(age: Duration) -> String {
    let at = SystemTime::now() - age;
    format!(
        "{:.6}",
        at.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
    )
}

#[test]
fn file_backend_reads_and_continues_meltanos_layout() {
    let c = Case::new(file_dir());
    let dir = state_dir(&c);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.json"), meltano_bytes(10)).unwrap();

    assert_eq!(c.ids(&[]), [ID]);
    assert_eq!(
        c.ok(&["state", "get", ID]),
        "{\"singer_state\":{\"bookmarks\":{\"numbers\":{\"last_id\":10}}}}\n"
    );
    assert_eq!(
        c.raw(ID),
        Some(meltano_bytes(10)),
        "raw is the file, byte for byte"
    );

    let out = c.smelt_env(
        &["run", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "13")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(record_ids(&c.p.output_records()), [11, 12, 13]);
    assert_eq!(
        std::fs::read_to_string(dir.join("state.json")).unwrap(),
        meltano_bytes(13),
        "still Meltano's one-line layout"
    );
    assert_eq!(
        entries(&dir),
        ["state.json"],
        "no lock or temp file left behind"
    );
}

#[test]
fn corrupt_state_file_is_reported_with_its_path_and_left_untouched() {
    let c = Case::new(file_dir());
    let dir = state_dir(&c);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    let torn = br#"{"completed": {"singer_state": {"bookmarks": {"numbers": {"last_"#;
    std::fs::write(&path, torn).unwrap();
    let shown = path.display().to_string();

    let attempts: [&[&str]; 6] = [
        &["state", "get", ID],
        &["state", "get", "--format", "raw", ID],
        &[
            "state",
            "merge",
            ID,
            r#"{"singer_state": {"bookmarks": {"x": 1}}}"#,
        ],
        &["state", "set", ID, r#"{"singer_state": {}}"#],
        &["state", "export"],
        &["run", "tap-fixture", "target-fixture"],
    ];
    for args in attempts {
        let out = c.smelt(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&shown),
            "{args:?} must name {shown}\n{}",
            text(&out)
        );
        assert!(err.contains("corrupt"), "{args:?}\n{}", text(&out));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            torn,
            "{args:?} changed the file"
        );
    }
    assert!(
        read_jsonl(&c.p.path("out.jsonl")).is_empty(),
        "the run did not start"
    );

    // The documented way out: replace it explicitly.
    c.ok(&["state", "set", "--force", ID, r#"{"singer_state": {}}"#]);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        r#"{"completed": {"singer_state": {}}, "partial": {}}"#
    );
}

#[test]
fn file_backend_honours_lock_settings_from_meltano_yml() {
    // lock_timeout_seconds: a fresh lock is waited for until it is 1 s old, then broken.
    let c = Case::new(Backend::new(
        "file",
        "state_backend:\n  uri: file://{ROOT}/state\n  lock_timeout_seconds: 1\n  lock_retry_seconds: 0.05\n",
    ));
    let dir = state_dir(&c);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lock"), meltano_lock(Duration::ZERO)).unwrap();
    let t = Instant::now();
    c.ok(&["state", "merge", ID, &singer(json!({"a": 1}))]);
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(5),
        "waited {waited:?}; expected about the 1 s lock timeout"
    );
    assert_eq!(entries(&dir), ["state.json"]);

    // lock_retry_seconds: a held lock released after 300 ms is noticed within the 50 ms
    // retry, not the 1 s default.
    let c = Case::new(Backend::new(
        "file",
        "state_backend:\n  uri: file://{ROOT}/state\n  lock_timeout_seconds: 30\n  lock_retry_seconds: 0.05\n",
    ));
    let dir = state_dir(&c);
    std::fs::create_dir_all(&dir).unwrap();
    let lock = dir.join("lock");
    std::fs::write(&lock, meltano_lock(Duration::ZERO)).unwrap();
    let t = Instant::now();
    let waited = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::remove_file(&lock).unwrap();
        });
        c.ok(&["state", "merge", ID, &singer(json!({"a": 1}))]);
        t.elapsed()
    });
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_millis(900),
        "waited {waited:?}; expected 300 ms plus at most one 50 ms retry"
    );
}

#[test]
fn run_claim_is_shared_through_the_lock_between_projects_and_with_meltano() {
    let shared = tempfile::tempdir().unwrap();
    let yml = format!(
        "state_backend:\n  uri: file://{}\n",
        shared.path().display()
    );
    let a = Case::new(Backend::new("file", &yml));
    let b = Case::new(Backend::new("file", &yml));

    // Project A runs; project B (another worker with its own system database) must not.
    let pid_file = a.p.path("tap.pid");
    let first = a.spawn_env(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("TAP_FIXTURE_COUNT", "1000000"),
            ("TAP_FIXTURE_SLEEP_MS", "20"),
            ("TAP_FIXTURE_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    assert!(wait_for_file(&pid_file, 20), "first run never started");
    let lock = shared.path().join(ID).join("lock");
    let refused = b.smelt(&["run", "tap-fixture", "target-fixture"]);
    let forced = b.smelt_env(
        &["run", "--force", "tap-fixture", "target-fixture"],
        &[("TAP_FIXTURE_COUNT", "3")],
    );
    sigterm(&first);
    let _ = first.wait_with_output();
    b.fails(
        &refused,
        1,
        &["in progress", &lock.display().to_string(), "--force"],
    );
    assert!(forced.status.success(), "{}", text(&forced));

    // A lock Meltano wrote (epoch seconds) is honoured the same way; an expired one is not.
    std::fs::write(&lock, meltano_lock(Duration::ZERO)).unwrap();
    let out = b.smelt(&["run", "tap-fixture", "target-fixture"]);
    b.fails(&out, 1, &["in progress", "--force"]);
    std::fs::write(&lock, meltano_lock(Duration::from_secs(60))).unwrap();
    let out = b.smelt(&["run", "tap-fixture", "target-fixture"]);
    assert!(
        out.status.success(),
        "expired lock must not block\n{}",
        text(&out)
    );
    assert!(!lock.exists(), "the run released its lock");
}

#[test]
fn systemdb_to_file_migration_writes_meltanos_layout() {
    let b = migrate(systemdb(), file_dir());
    let root = b.p.path("state");
    assert_eq!(
        std::fs::read_to_string(root.join(ID).join("state.json")).unwrap(),
        meltano_bytes(13)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("prod:other-to-x").join("state.json")).unwrap(),
        r#"{"completed": {}, "partial": {"singer_state": {"bookmarks": {"k": {"v": 1}}}}}"#
    );
}
