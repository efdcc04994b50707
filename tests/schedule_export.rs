//! `smelt schedule export` checked by the real consumers: the DAG files import with zero errors
//! in an Airflow DagBag (apache-airflow from PyPI) and the CronJobs pass `kubernetes-validate
//! --strict` (from PyPI).
//!
//! Each tool lives in a venv under target/ created once (uv, pinned versions, a marker file
//! recording what was installed, a file lock against parallel test processes) and reused by
//! later runs, with uv's cache under target/ too.

mod common;

use std::fs::OpenOptions;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{text, TestProject};

const AIRFLOW: &[&str] = &[
    "apache-airflow==3.1.8",
    "apache-airflow-providers-cncf-kubernetes==10.12.4",
];
const KUBERNETES_VALIDATE: &[&str] = &["kubernetes-validate==1.34.1"];

const YML: &str = r#"
version: 1
default_environment: dev
environments:
- name: dev
plugins:
  extractors:
  - name: tap-x
    namespace: tap_x
    executable: tap-x
  loaders:
  - name: target-y
    namespace: target_y
    executable: target-y
  utilities:
  - name: dbt
    namespace: dbt
    executable: dbt
    commands:
      run: run
jobs:
- name: load
  tasks:
  - tap-x target-y
  - dbt:run
schedules:
- name: daily-load
  interval: '@daily'
  job: load
  env:
    LOG_STYLE: plain
- name: legacy
  interval: '15 3 * * *'
  extractor: tap-x
  loader: target-y
  transform: skip
- name: by-hand
  interval: '@manual'
  job: load
- name: every-hour
  interval: '@hourly'
  job: load
"#;

/// A uv binary: on PATH, else the one smelt bootstrapped into a cache under target/ or home.
fn uv() -> Option<PathBuf> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("uv")).collect())
        .unwrap_or_default();
    candidates.push(tmp.join("smelt-cache/uv/bin/uv"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/smelt/uv/bin/uv"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The python of a venv under target/ holding `requirements`, created on first use (uv if one
/// is found, else `python3 -m venv` and pip) and reused while its marker matches.
fn venv(dir_name: &str, requirements: &[&str]) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(tmp).expect("create target tmp dir");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(tmp.join(format!(".{dir_name}.lock")))
        .expect("open the venv lock");
    // SAFETY: flock on a descriptor owned by `lock`, which lives until this function returns.
    while unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {}
    let venv = tmp.join(dir_name);
    let python = venv.join("bin/python");
    let marker = venv.join(".smelt-test-installed");
    let wanted = requirements.join(" ");
    if python.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(&wanted) {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let started = std::time::Instant::now();
    let out = match uv() {
        Some(uv) => {
            let cache = tmp.join("schedule-export-uv-cache");
            let made = Command::new(&uv)
                .args(["venv", "-q", "-p", "python3"])
                .arg(&venv)
                .env("UV_CACHE_DIR", &cache)
                .output()
                .expect("run uv venv");
            assert!(made.status.success(), "uv venv failed: {}", text(&made));
            Command::new(&uv)
                .args(["pip", "install", "-q"])
                .args(requirements)
                .env("VIRTUAL_ENV", &venv)
                .env("UV_CACHE_DIR", &cache)
                .output()
                .expect("run uv pip install")
        }
        None => {
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .output()
                .expect("python3 is needed for this test");
            assert!(
                made.status.success(),
                "python3 -m venv failed: {}",
                text(&made)
            );
            Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "--disable-pip-version-check"])
                .args(requirements)
                .output()
                .expect("run pip")
        }
    };
    assert!(
        out.status.success(),
        "installing {wanted} failed (is PyPI reachable?): {}",
        text(&out)
    );
    eprintln!(
        "installed {wanted} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    std::fs::write(&marker, &wanted).expect("write the venv marker");
    python
}

fn export(p: &TestProject, args: &[&str]) -> String {
    let out = p.run(args);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

/// Loads `dir` in a DagBag and prints, as JSON, the import errors and each DAG's schedule,
/// catchup, max_active_runs and tasks with their downstream tasks.
const DAGBAG: &str = r#"
import json, sys
from airflow.models import DagBag
bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
dags = {}
for dag_id in sorted(bag.dag_ids):
    dag = bag.dags[dag_id]
    dags[dag_id] = {
        "schedule": dag.timetable.summary,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tasks": [[t.task_id, sorted(t.downstream_task_ids), type(t).__name__] for t in sorted(dag.tasks, key=lambda t: t.task_id)],
    }
print("RESULT " + json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags}))
"#;

fn dagbag(python: &Path, dir: &Path) -> serde_json::Value {
    let home = tempfile::tempdir().expect("airflow home");
    let out = Command::new(python)
        .args(["-c", DAGBAG])
        .arg(dir)
        .env("AIRFLOW_HOME", home.path())
        .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        .output()
        .expect("run python");
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let line = all
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no result in: {all}"));
    serde_json::from_str(line).expect("DagBag result JSON")
}

#[test]
fn airflow_dagbag_imports_exported_dags() {
    let started = std::time::Instant::now();
    let python = venv("airflow-venv", AIRFLOW);
    let p = TestProject::new(YML);
    let bash = p.path("orchestrate/dags");
    let printed = export(&p, &["schedule", "export", "airflow"]);
    assert!(printed.contains("smelt_daily-load.py"), "{printed}");
    let pods = p.path("pod-dags");
    export(
        &p,
        &[
            "schedule",
            "export",
            "airflow",
            "--operator",
            "kubernetes",
            "--output",
            "pod-dags",
            "--image",
            "registry.example/smelt:1",
            "--namespace",
            "data",
        ],
    );
    for (dir, operator) in [(&bash, "BashOperator"), (&pods, "KubernetesPodOperator")] {
        let r = dagbag(&python, dir);
        assert_eq!(r["errors"], serde_json::json!({}), "{r}");
        let dags = &r["dags"];
        let ids: Vec<&String> = dags
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            ids,
            [
                "smelt_by-hand",
                "smelt_daily-load",
                "smelt_every-hour",
                "smelt_legacy"
            ],
            "{r}"
        );
        let daily = &dags["smelt_daily-load"];
        // Airflow shows presets as the cron expression they stand for.
        assert_eq!(daily["schedule"], "0 0 * * *", "{r}");
        assert_eq!(daily["catchup"], false);
        assert_eq!(daily["max_active_runs"], 1);
        assert_eq!(
            daily["tasks"],
            serde_json::json!([
                ["dbt_run", [], operator],
                ["tap-x_target-y", ["dbt_run"], operator]
            ]),
            "{r}"
        );
        assert_eq!(dags["smelt_legacy"]["schedule"], "15 3 * * *", "{r}");
        assert_eq!(
            dags["smelt_legacy"]["tasks"],
            serde_json::json!([["extract_load", [], operator]])
        );
        assert_eq!(dags["smelt_by-hand"]["schedule"], "None", "{r}");
        assert_eq!(dags["smelt_every-hour"]["schedule"], "0 * * * *", "{r}");
    }
    let dag = std::fs::read_to_string(bash.join("smelt_legacy.py")).expect("read DAG");
    let root = p.path("").canonicalize().expect("project root");
    assert!(
        dag.contains(&format!(
            "cd {} && smelt schedule run legacy",
            root.display()
        )),
        "{dag}"
    );
    eprintln!("airflow test took {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn kubernetes_cronjobs_validate_against_the_schemas() {
    let started = std::time::Instant::now();
    let python = venv("kubernetes-validate-venv", KUBERNETES_VALIDATE);
    let p = TestProject::new(YML);
    let out = p.run(&[
        "schedule",
        "export",
        "kubernetes",
        "--image",
        "registry.example/smelt:1",
        "--namespace",
        "data",
        "--secret",
        "warehouse-creds",
        "--cpu",
        "1",
        "--memory",
        "2Gi",
    ]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("skipped schedule `by-hand`"), "{all}");
    let dir = p.path("orchestrate/kubernetes");
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read output")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    manifests.sort();
    let names: Vec<String> = manifests
        .iter()
        .filter_map(|m| m.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        names,
        [
            "cronjob-smelt-daily-load.yaml",
            "cronjob-smelt-every-hour.yaml",
            "cronjob-smelt-legacy.yaml"
        ]
    );
    assert!(dir.join("Dockerfile").is_file());
    let validate = python.with_file_name("kubernetes-validate");
    let out = Command::new(&validate)
        .args(["--strict", "--kubernetes-version", "1.34.0"])
        .args(&manifests)
        .output()
        .expect("run kubernetes-validate");
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert_eq!(
        report.matches("passed for resource cronjob/").count(),
        3,
        "{report}"
    );
    let hourly = std::fs::read_to_string(dir.join("cronjob-smelt-every-hour.yaml")).expect("read");
    for needle in [
        "schedule: \"0 * * * *\"",
        "concurrencyPolicy: Forbid",
        "name: \"warehouse-creds\"",
        "memory: \"2Gi\"",
        "args: [\"run\", \"load\"]",
    ] {
        assert!(hourly.contains(needle), "{needle} missing from {hourly}");
    }
    // A broken manifest is rejected, so the validator really checks.
    let broken = p.path("broken.yaml");
    std::fs::write(
        &broken,
        hourly.replace("concurrencyPolicy", "concurrencyPolicyX"),
    )
    .expect("write");
    let out = Command::new(&validate)
        .arg("--strict")
        .arg(&broken)
        .output()
        .expect("run kubernetes-validate");
    assert!(!out.status.success(), "{}", text(&out));
    eprintln!(
        "kubernetes test took {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
