//! dagster-meltano (PyPI) pointed at smelt: it builds Dagster jobs and schedules from
//! `meltano job list --format=json` and `meltano schedule list --format=json`, and runs
//! `meltano run <task> --force` for each task. With a `meltano` symlink to smelt first on PATH
//! (docs/deployment.md), the real library loads a smelt project and runs one of its jobs.

mod common;

use std::process::Command;

use common::{pypi_venv, text, TestProject, FIXTURE_YML};

const SCRIPT: &str = r#"
import json, sys
from dagster_meltano import load_jobs_from_meltano_project

project = sys.argv[1]
defs = load_jobs_from_meltano_project(project)
jobs = [d for d in defs if d.__class__.__name__ == "JobDefinition"]
schedules = [d for d in defs if d.__class__.__name__ == "ScheduleDefinition"]
job = next(j for j in jobs if j.name == "load_fixture")
result = job.execute_in_process(
    run_config={"resources": {"meltano": {"config": {"project_dir": project}}}}
)
print(json.dumps({
    "jobs": sorted(j.name for j in jobs),
    "ops": sorted(n.name for n in job.graph.node_defs),
    "schedules": sorted((s.name, s.cron_schedule, s.job_name) for s in schedules),
    "success": result.success,
}))
"#;

#[test]
fn dagster_meltano_loads_and_runs_a_smelt_projects_jobs() {
    let python = pypi_venv(
        "venv-dagster-meltano",
        "dagster-meltano==1.5.5 dagster==1.9.13 dagster-shell==0.25.13",
        "python",
    );
    let yml = format!(
        "{FIXTURE_YML}jobs:\n- name: load-fixture\n  tasks:\n  - tap-fixture target-fixture\nschedules:\n- name: nightly-fixture\n  job: load-fixture\n  interval: '0 3 * * *'\n"
    );
    let p = TestProject::new(&yml);
    // dagster-meltano calls the literal `meltano`: a symlink to smelt first on PATH.
    let shim = tempfile::tempdir().expect("shim dir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_smelt"), shim.path().join("meltano"))
        .expect("meltano symlink");
    let path = format!(
        "{}:{}",
        shim.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dagster_home = tempfile::tempdir().expect("DAGSTER_HOME");
    let out = Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(p.path(""))
        .env("PATH", path)
        .env("DAGSTER_HOME", dagster_home.path())
        .env("DAGSTER_DISABLE_TELEMETRY", "1")
        .current_dir(p.path(""))
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let got: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!("no JSON summary ({e}): {}", text(&out));
    });
    assert_eq!(got["jobs"], serde_json::json!(["load_fixture"]), "{got}");
    assert_eq!(
        got["schedules"],
        serde_json::json!([["nightly_fixture", "0 3 * * *", "load_fixture"]]),
        "{got}"
    );
    assert_eq!(
        got["ops"],
        serde_json::json!(["tap_fixture_target_fixture"]),
        "{got}"
    );
    assert_eq!(got["success"], true, "{}", text(&out));
    // The job's one task ran through smelt: the fixture target wrote the tap's 10 records.
    assert_eq!(p.output_records().len(), 10, "{}", text(&out));
}
