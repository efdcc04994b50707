//! Renderer tests on a small project: exact text for the main shapes, and the edge cases.

use std::collections::BTreeMap;

use smelt_project::{EnvironmentChoice, LoadOptions, Project};

use crate::*;

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
  start_date: '2024-05-01 06:30:00'
- name: by-hand
  interval: '@manual'
  job: load
"#;

fn project(yml: &str) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("meltano.yml"), yml).unwrap_or_else(|e| panic!("{e}"));
    let p = Project::load_with_env(
        dir.path(),
        &LoadOptions {
            environment: EnvironmentChoice::Default,
            native: &[],
        },
        BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (dir, p)
}

fn opts() -> ExportOptions {
    ExportOptions {
        project_root: "/srv/my project".to_string(),
        ..ExportOptions::default()
    }
}

fn file<'a>(r: &'a Rendered, name: &str) -> &'a str {
    r.files
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.contents.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no {name} among {:?}",
                r.files.iter().map(|f| &f.name).collect::<Vec<_>>()
            )
        })
}

#[test]
fn airflow_bash_job_dag_exact() {
    let (_d, p) = project(YML);
    let r = render_airflow(&p, &opts(), Operator::Bash).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = r.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["smelt_daily-load.py", "smelt_legacy.py", "smelt_by-hand.py"]
    );
    let expected = format!(
        r#"{MARKER}
# smelt schedule `daily-load`: job `load` (2 tasks).
# Each task runs smelt on the Airflow worker in /srv/my project.
import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2 without the standard provider
    from airflow.operators.bash import BashOperator

with DAG(
    dag_id="smelt_daily-load",
    description="smelt schedule daily-load",
    schedule="@daily",
    start_date=datetime.datetime(1970, 1, 1, 0, 0, 0, tzinfo=datetime.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={{"retries": 1, "retry_delay": datetime.timedelta(minutes=5)}},
    tags=["smelt", "schedule:daily-load", "job:load"],
) as dag:
    task_1 = BashOperator(
        task_id="tap-x_target-y",
        bash_command="cd '/srv/my project' && smelt run tap-x target-y",
        env={{"LOG_STYLE": "plain"}},
        append_env=True,
    )
    task_2 = BashOperator(
        task_id="dbt_run",
        bash_command="cd '/srv/my project' && smelt run dbt:run",
        env={{"LOG_STYLE": "plain"}},
        append_env=True,
    )

    task_1 >> task_2
"#
    );
    assert_eq!(file(&r, "smelt_daily-load.py"), expected);
    let legacy = file(&r, "smelt_legacy.py");
    assert!(
        legacy.contains("    schedule=\"15 3 * * *\",\n"),
        "{legacy}"
    );
    assert!(
        legacy.contains("datetime.datetime(2024, 5, 1, 6, 30, 0, tzinfo"),
        "{legacy}"
    );
    assert!(legacy.contains("task_id=\"extract_load\""), "{legacy}");
    assert!(
        legacy.contains("bash_command=\"cd '/srv/my project' && smelt schedule run legacy\""),
        "{legacy}"
    );
    assert!(!legacy.contains(">>"), "{legacy}");
    assert!(file(&r, "smelt_by-hand.py").contains("    schedule=None,\n"));
}

#[test]
fn airflow_kubernetes_operator_uses_image_secret_and_resources() {
    let (_d, p) = project(YML);
    let o = ExportOptions {
        image: "registry.example/smelt:1".to_string(),
        namespace: "data".to_string(),
        environment: Some("prod".to_string()),
        ..opts()
    };
    let r = render_airflow(&p, &o, Operator::Kubernetes).unwrap_or_else(|e| panic!("{e}"));
    let dag = file(&r, "smelt_daily-load.py");
    let expected_task = r#"    task_1 = KubernetesPodOperator(
        task_id="tap-x_target-y",
        name="smelt-smelt-daily-load-1",
        namespace="data",
        image="registry.example/smelt:1",
        cmds=["smelt"],
        arguments=["--environment=prod", "run", "tap-x", "target-y"],
        env_vars=[k8s.V1EnvVar(name="LOG_STYLE", value="plain")],
        env_from=ENV_FROM,
        container_resources=RESOURCES,
        get_logs=True,
    )
"#;
    assert!(dag.contains(expected_task), "{dag}");
    assert!(dag.contains(
        "RESOURCES = k8s.V1ResourceRequirements(requests={\"cpu\": \"500m\", \"memory\": \"512Mi\"})"
    ));
    assert!(
        dag.contains("k8s.V1SecretEnvSource(name=\"smelt-env\")"),
        "{dag}"
    );
    assert!(!dag.contains("BashOperator"), "{dag}");
}

#[test]
fn kubernetes_cronjob_exact_and_manual_schedules_skipped() {
    let (_d, p) = project(YML);
    let r = render_kubernetes(&p, &opts()).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = r.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cronjob-smelt-daily-load.yaml",
            "cronjob-smelt-legacy.yaml",
            "Dockerfile",
            "Dockerfile.dockerignore"
        ]
    );
    assert_eq!(r.skipped.len(), 1);
    assert!(
        r.skipped[0].starts_with("schedule `by-hand`: interval `@manual`"),
        "{:?}",
        r.skipped
    );
    let expected = format!(
        r#"{MARKER}
# smelt schedule `daily-load`: job `load`, interval @daily.
# Pods keep nothing between runs: keep state in object storage (state_backend.uri:
# s3://, gs://, azure://) or Postgres (database_uri: postgresql://), never in the pod.
# Only one run of a schedule at a time (concurrencyPolicy: Forbid); smelt's state-ID claim
# also refuses a second run of the same state ID.
# Credentials come from the Secret `smelt-env`, e.g.
#   kubectl create secret generic smelt-env --from-env-file=.env
apiVersion: batch/v1
kind: CronJob
metadata:
  name: smelt-daily-load
  namespace: "default"
  labels:
    app.kubernetes.io/name: smelt
    app.kubernetes.io/managed-by: smelt
  annotations:
    smelt.dev/schedule: "daily-load"
spec:
  schedule: "0 0 * * *"
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 3
  jobTemplate:
    spec:
      backoffLimit: 1
      template:
        metadata:
          labels:
            app.kubernetes.io/name: smelt
        spec:
          restartPolicy: Never
          containers:
            - name: smelt
              image: "smelt-project:latest"
              command: ["smelt"]
              args: ["run", "load"]
              env:
                - name: "LOG_STYLE"
                  value: "plain"
              envFrom:
                - secretRef:
                    name: "smelt-env"
              resources:
                requests:
                  cpu: "500m"
                  memory: "512Mi"
"#
    );
    assert_eq!(file(&r, "cronjob-smelt-daily-load.yaml"), expected);
    let legacy = file(&r, "cronjob-smelt-legacy.yaml");
    assert!(legacy.contains("  schedule: \"15 3 * * *\"\n"), "{legacy}");
    assert!(
        legacy.contains("args: [\"schedule\", \"run\", \"legacy\"]"),
        "{legacy}"
    );
    let docker = file(&r, "Dockerfile");
    assert!(docker.starts_with(MARKER));
    assert!(docker.contains("RUN rm -f /project/.env"));
    assert!(docker.contains("ENTRYPOINT [\"smelt\"]"));
    assert!(file(&r, "Dockerfile.dockerignore").contains("\n.env\n"));
}

#[test]
fn cron_translation() {
    use crate::kubernetes::k8s_cron;
    assert_eq!(k8s_cron(Some("@hourly")).as_deref(), Ok("0 * * * *"));
    assert_eq!(k8s_cron(Some("@weekly")).as_deref(), Ok("0 0 * * 0"));
    assert_eq!(k8s_cron(Some("@monthly")).as_deref(), Ok("0 0 1 * *"));
    assert_eq!(k8s_cron(Some("@annually")).as_deref(), Ok("0 0 1 1 *"));
    assert_eq!(
        k8s_cron(Some(" */5  * * * * ")).as_deref(),
        Ok("*/5 * * * *")
    );
    assert!(k8s_cron(Some("@once")).is_err());
    assert!(k8s_cron(None).is_err());
    assert!(k8s_cron(Some("@every 5m")).is_err());
    let six = k8s_cron(Some("0 */5 * * * *")).err().unwrap_or_default();
    assert!(six.contains("6 fields"), "{six}");
}

#[test]
fn bad_schedules_are_errors_with_locations() {
    let (_d, p) =
        project("version: 1\nschedules:\n- name: s\n  interval: '@daily'\n  job: missing\n");
    let err = render_airflow(&p, &opts(), Operator::Bash)
        .err()
        .map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(
        err.contains("job `missing`") && err.contains("meltano.yml:3"),
        "{err}"
    );
    let (_d, p) = project(
        "version: 1\njobs:\n- name: j\n  tasks: [a b]\nschedules:\n- name: s\n  interval: '@daily'\n  job: j\n  start_date: '2023-02-30'\n",
    );
    let err = render_airflow(&p, &opts(), Operator::Bash)
        .err()
        .map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("start_date `2023-02-30`"));
    let (_d, p) = project(
        "version: 1\njobs:\n- name: j\n  tasks: [a b]\nschedules:\n- name: a b\n  interval: '@daily'\n  job: j\n- name: a_b\n  interval: '@daily'\n  job: j\n",
    );
    let err = render_airflow(&p, &opts(), Operator::Bash)
        .err()
        .map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("DAG id `smelt_a_b`"));
    let err = render_kubernetes(&p, &opts()).err().map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("CronJob name `smelt-a-b`"));
}

#[test]
fn repeated_tasks_get_distinct_ids() {
    let (_d, p) = project(
        "version: 1\njobs:\n- name: j\n  tasks: [tap-x target-y, tap-x target-y]\nschedules:\n- name: s\n  interval: '@daily'\n  job: j\n",
    );
    let r = render_airflow(&p, &opts(), Operator::Bash).unwrap_or_else(|e| panic!("{e}"));
    let dag = file(&r, "smelt_s.py");
    assert!(dag.contains("task_id=\"tap-x_target-y\""));
    assert!(dag.contains("task_id=\"tap-x_target-y_2\""));
}
