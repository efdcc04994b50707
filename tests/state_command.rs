//! `smelt state` as a command line: usage errors (exit 2), the confirmation prompt on a real
//! terminal (a pseudo-terminal driven by Python's `pty`), refusals without one, and output
//! details that scripts rely on. The per-backend behaviour is in tests/state_backends.rs.

mod common;

use std::process::{Command, Output};

use common::{text, TestProject};

const ID: &str = "dev:tap-fixture-to-target-fixture";
const STATE: &str = r#"{"singer_state": {"bookmarks": {"numbers": {"last_id": 3}}}}"#;
const OTHER: &str = r#"{"singer_state": {"bookmarks": {"numbers": {"last_id": 7}}}}"#;

fn project_with_state() -> TestProject {
    let p = TestProject::fixture();
    let out = p.run(&["state", "set", ID, STATE]);
    assert!(out.status.success(), "{}", text(&out));
    p
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs smelt on a pseudo-terminal (stdin, stdout and stderr), answering `answer` to the
/// first `[y/N]` prompt. Returns the exit code and everything the terminal showed.
fn on_terminal(p: &TestProject, args: &[&str], answer: &str) -> (Option<i32>, String) {
    const DRIVER: &str = r#"
import os, pty, select, sys
answer, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
seen, sent = b"", False
while True:
    ready, _, _ = select.select([fd], [], [], 20)
    if not ready:
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    seen += data
    if not sent and b"[y/N]" in seen:
        os.write(fd, answer.encode() + b"\n")
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(DRIVER)
        .arg(answer)
        .arg(env!("CARGO_BIN_EXE_smelt"))
        .args(args)
        .current_dir(p.dir.path());
    for (k, _) in std::env::vars() {
        if k.starts_with("MELTANO_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .output()
        .expect("python3 is needed to drive a pseudo-terminal");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn usage_errors_exit_2() {
    let p = project_with_state();
    let cases: [&[&str]; 10] = [
        &["state", "set", ID],
        &["state", "set", ID, STATE, "--input-file", "x.json"],
        &["state", "merge", ID],
        &["state", "merge", ID, STATE, "--from-state-id", "dev:x"],
        &["state", "clear"],
        &["state", "clear", ID, "--all"],
        &["state", "copy", ID, ID],
        &["state", "get", ID, "--format", "yaml"],
        &["state", "get", "../etc"],
        &["state", "list", "--pattern", "dev:["],
    ];
    for args in cases {
        let out = p.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}\n{}", text(&out));
    }
    assert!(
        p.state(ID)
            .is_some_and(
                |s| s["completed"]["singer_state"]["bookmarks"]["numbers"]["last_id"] == 3
            ),
        "usage errors change nothing"
    );
}

#[test]
fn destructive_commands_refuse_without_a_terminal_and_change_nothing() {
    let p = project_with_state();
    let out = p.run(&["state", "set", "dev:b", OTHER]);
    assert!(out.status.success(), "{}", text(&out));
    let export = p.run(&["state", "export"]);
    let backup = p.path("backup.json");
    std::fs::write(&backup, &export.stdout).unwrap();
    let before = p.run(&["state", "export"]).stdout;

    let cases: [&[&str]; 6] = [
        &["state", "set", ID, OTHER],
        &["state", "copy", "dev:b", ID],
        &["state", "move", "dev:b", "dev:c"],
        &["state", "clear", ID],
        &["state", "clear", "--all"],
        &["state", "import", backup.to_str().unwrap()],
    ];
    for args in cases {
        let out = p.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{}", text(&out));
        let err = stderr(&out);
        assert!(
            err.contains("without confirmation") && err.contains("pass --force"),
            "{args:?}\n{err}"
        );
    }
    assert_eq!(p.run(&["state", "export"]).stdout, before);

    // Writing where nothing is stored needs no confirmation.
    for args in [
        &["state", "set", "dev:new", STATE][..],
        &["state", "copy", ID, "dev:new2"],
        &["state", "clear", "dev:never"],
    ] {
        let out = p.run(args);
        assert!(out.status.success(), "{args:?}\n{}", text(&out));
    }
}

#[test]
fn terminal_prompt_asks_and_respects_the_answer() {
    let p = project_with_state();
    let (code, screen) = on_terminal(&p, &["state", "set", ID, OTHER], "n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("This will overwrite the state's current value. Continue? [y/N]"),
        "{screen}"
    );
    assert!(screen.contains("aborted; nothing was changed"), "{screen}");
    assert_eq!(
        p.state(ID).unwrap()["completed"]["singer_state"]["bookmarks"]["numbers"]["last_id"],
        3
    );

    let (code, screen) = on_terminal(&p, &["state", "set", ID, OTHER], "y");
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(
        p.state(ID).unwrap()["completed"]["singer_state"]["bookmarks"]["numbers"]["last_id"],
        7
    );

    let (code, screen) = on_terminal(&p, &["state", "clear", ID], "yes");
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("This will clear state for the job."),
        "{screen}"
    );
    assert!(p.state(ID).is_none());

    // Nothing to overwrite: no question at all.
    let (code, screen) = on_terminal(&p, &["state", "set", ID, STATE], "n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains("[y/N]"), "{screen}");
}

#[test]
fn get_prints_what_meltano_prints() {
    let p = TestProject::fixture();
    let out = p.run(&["state", "get", ID]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{}\n");
    let out = p.run(&["state", "get", "--format", "raw", ID]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("no state stored for"),
        "{}",
        text(&out)
    );

    let out = p.run(&[
        "state",
        "set",
        ID,
        r#"{"singer_state": {"bookmarks": {"s": {"name": "Zoë", "at": 1.5e-7, "ok": true}}}}"#,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // Python's json.dumps(…, separators=(",", ":")): ASCII escapes and repr floats.
    let out = p.run(&["state", "get", ID]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"singer_state\":{\"bookmarks\":{\"s\":{\"name\":\"Zo\\u00eb\",\"at\":1.5e-07,\"ok\":true}}}}\n"
    );
}

#[test]
fn list_reports_when_there_is_nothing() {
    let p = TestProject::fixture();
    let out = p.run(&["state", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("No state IDs found."));
}

#[test]
fn help_lists_every_subcommand() {
    let p = TestProject::fixture();
    let out = p.run(&["state", "--help"]);
    assert!(out.status.success(), "{}", text(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    for verb in [
        "list", "get", "set", "merge", "copy", "move", "clear", "edit", "export", "import",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(verb)),
            "{verb} missing from\n{help}"
        );
    }
}
