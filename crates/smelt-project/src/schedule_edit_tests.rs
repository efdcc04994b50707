//! Job and schedule edits keep every other byte, follow Meltano's validation, and change an
//! entry in the file that defines it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use crate::*;

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write: {e}"));
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn load(dir: &Path) -> Project {
    Project::load_with_env(
        dir,
        &LoadOptions {
            environment: EnvironmentChoice::NoEnvironment,
            native: &[],
        },
        BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("load failed: {e}"))
}

const PROJECT: &str = "\
# my project
plugins:
  extractors:
  - name: tap-x
    namespace: tap_x
  loaders:
  - name: target-y
    namespace: target_y
jobs:
- name: j1  # the first job
  tasks:
  - tap-x target-y
schedules:
- name: daily
  interval: '@daily'  # keep me
  job: j1
";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    write(dir.path(), "meltano.yml", PROJECT);
    dir
}

#[test]
fn intervals_follow_meltanos_rules() {
    for ok in [
        "@once",
        "@manual",
        "@none",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "@midnight",
        "0 * * * *",
        "*/5 * * * *",
        "0 1-5/2 * * mon-fri",
        "0 0 L * ?",
        "0 0 1,15 jan,jul 7",
        "0 0 * * fri-mon",
    ] {
        assert!(schedule_edit::is_valid_interval(ok), "{ok} should be valid");
    }
    for bad in [
        "bad cron",
        "* * * *",
        "* * * * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "*/0 * * * *",
        "/5 * * * *",
        "@every-day",
        "",
        "99999999999999999999 * * * *",
    ] {
        assert!(
            !schedule_edit::is_valid_interval(bad),
            "{bad} should be invalid"
        );
    }
    assert_eq!(
        schedule_edit::cron_interval("@daily").as_deref(),
        Some("0 0 * * *")
    );
    assert_eq!(schedule_edit::cron_interval("@once"), None);
    assert_eq!(
        schedule_edit::cron_interval("*/5 * * * *").as_deref(),
        Some("*/5 * * * *")
    );
}

#[test]
fn tasks_parse_like_meltanos_yaml_option() {
    let parse = |raw: &str| schedule_edit::parse_tasks("j", raw);
    assert_eq!(
        parse("tap-x target-y").ok(),
        Some(json!(["tap-x target-y"]))
    );
    assert_eq!(
        parse("[tap-x target-y, dbt:run]").ok(),
        Some(json!(["tap-x target-y", "dbt:run"]))
    );
    assert_eq!(
        parse(r#"["a b", ["c d", "e"]]"#).ok(),
        Some(json!(["a b", ["c d", "e"]]))
    );
    for bad in ["{a: 1}", "[unclosed", "5", "[[[a]]]"] {
        let err = parse(bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("Job 'j' has invalid tasks."), "{bad}: {err}");
    }
    assert_eq!(
        schedule_edit::task_sets(&json!(["a b", ["c d", "e:f"]])),
        vec![vec!["a", "b"], vec!["c", "d", "e:f"]]
    );
}

#[test]
fn add_set_and_remove_a_job_keep_comments() {
    let dir = project();
    let p = load(dir.path());
    p.add_job("j2", &json!(["tap-x target-y", ["tap-x target-y", "x:y"]]))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = read(dir.path(), "meltano.yml");
    assert!(text.starts_with("# my project\n"), "{text}");
    assert!(text.contains("- name: j1  # the first job\n"), "{text}");
    let p = load(dir.path());
    let j2 = p
        .find_job("j2")
        .unwrap_or_else(|| panic!("j2 missing: {text}"));
    assert_eq!(
        j2.written_tasks,
        json!(["tap-x target-y", ["tap-x target-y", "x:y"]])
    );
    let dup = p.add_job("j1", &json!(["a"])).err().map(|e| e.to_string());
    assert!(
        dup.as_deref()
            .is_some_and(|e| e.contains("Job 'j1' already exists.")),
        "{dup:?}"
    );
    assert_eq!(read(dir.path(), "meltano.yml"), text, "a failed add wrote");

    p.set_job_tasks("j1", &json!(["tap-x target-y", "x:y"]))
        .unwrap_or_else(|e| panic!("{e}"));
    let p = load(dir.path());
    assert_eq!(
        p.find_job("j1").map(|j| j.tasks.clone()),
        Some(vec!["tap-x target-y".to_string(), "x:y".to_string()])
    );
    assert!(read(dir.path(), "meltano.yml").contains("- name: j1  # the first job\n"));

    p.remove_job("j2").unwrap_or_else(|e| panic!("{e}"));
    let p = load(dir.path());
    assert!(p.find_job("j2").is_none());
    let missing = p.remove_job("nope").err().map(|e| e.to_string());
    assert!(
        missing
            .as_deref()
            .is_some_and(|e| e.contains("Job 'nope' was not found.")),
        "{missing:?}"
    );
}

#[test]
fn add_schedule_writes_meltanos_keys_and_validates() {
    let dir = project();
    let p = load(dir.path());
    let elt = schedule_edit::NewSchedule {
        name: "nightly".into(),
        interval: "0 1 * * *".into(),
        target: schedule_edit::ScheduleTarget::Elt {
            extractor: "tap-x".into(),
            loader: "target-y".into(),
            transform: "skip".into(),
        },
    };
    p.add_schedule(&elt).unwrap_or_else(|e| panic!("{e}"));
    let text = read(dir.path(), "meltano.yml");
    assert!(
        text.ends_with(
            "  job: j1\n- name: nightly\n  interval: '0 1 * * *'\n  extractor: tap-x\n  loader: target-y\n  transform: skip\n"
        ),
        "{text}"
    );
    let p = load(dir.path());
    let s = p
        .find_schedule("nightly")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        s.elt_args(),
        vec![
            "tap-x",
            "target-y",
            "--transform=skip",
            "--state-id=nightly"
        ]
    );
    assert_eq!(s.cron_interval().as_deref(), Some("0 1 * * *"));

    let failing = [
        (
            "nightly",
            "@daily",
            "j1",
            "Schedule 'nightly' already exists.",
        ),
        (
            "new",
            "bad cron",
            "j1",
            "Invalid Cron expression or alias: 'bad cron'",
        ),
        ("new", "@daily", "nope", "Job 'nope' was not found."),
    ];
    for (name, interval, job, message) in failing {
        let s = schedule_edit::NewSchedule {
            name: name.into(),
            interval: interval.into(),
            target: schedule_edit::ScheduleTarget::Job(job.into()),
        };
        let err = p.add_schedule(&s).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains(message)),
            "{err:?}"
        );
    }
    let bad_tap = schedule_edit::NewSchedule {
        name: "new".into(),
        interval: "@daily".into(),
        target: schedule_edit::ScheduleTarget::Elt {
            extractor: "tap-nope".into(),
            loader: "target-y".into(),
            transform: "skip".into(),
        },
    };
    assert!(p.add_schedule(&bad_tap).is_err());
    assert_eq!(read(dir.path(), "meltano.yml"), text, "a failed add wrote");
}

#[test]
fn set_schedule_changes_keys_in_place_and_refuses_mixing() {
    let dir = project();
    let p = load(dir.path());
    let change = schedule_edit::ScheduleChange {
        interval: Some("@hourly".into()),
        ..Default::default()
    };
    p.set_schedule("daily", &change)
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = PROJECT.replace("interval: '@daily'", "interval: '@hourly'");
    assert_eq!(read(dir.path(), "meltano.yml"), expected);
    let p = load(dir.path());
    let mixing = schedule_edit::ScheduleChange {
        extractor: Some("tap-x".into()),
        ..Default::default()
    };
    let err = p
        .set_schedule("daily", &mixing)
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("Cannot mix --job with --extractor/--loader/--transform")),
        "{err:?}"
    );
    let missing = p.set_schedule("nope", &change).err().map(|e| e.to_string());
    assert!(
        missing
            .as_deref()
            .is_some_and(|e| e.contains("Schedule 'nope' was not found.")),
        "{missing:?}"
    );
    assert_eq!(read(dir.path(), "meltano.yml"), expected);
}

#[test]
fn entries_in_included_files_are_changed_there() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    write(
        dir.path(),
        "meltano.yml",
        "include_paths:\n- sub/*.yml\njobs:\n- name: main-job\n  tasks: [a:b]\n",
    );
    let included = "# included\njobs:\n- name: inc-job\n  tasks: [a:c]\n- name: inc-2\n  tasks: [a:d]\nschedules:\n- name: inc-s\n  interval: '@daily'\n  job: inc-job\n";
    write(dir.path(), "sub/more.yml", included);
    let p = load(dir.path());
    let shown = p.remove_job("inc-2").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shown, Path::new("sub/more.yml"));
    assert_eq!(
        read(dir.path(), "sub/more.yml"),
        included.replace("- name: inc-2\n  tasks: [a:d]\n", "")
    );
    let p = load(dir.path());
    p.remove_schedule("inc-s").unwrap_or_else(|e| panic!("{e}"));
    assert!(load(dir.path()).find_schedule("inc-s").is_none());
    assert!(read(dir.path(), "meltano.yml").contains("main-job"));
}
