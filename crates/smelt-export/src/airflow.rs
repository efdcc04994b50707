//! Airflow DAG files: one per schedule, one task per job task, chained in job order.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use smelt_project::{Project, Schedule};

use crate::text::{airflow_id, py_str, sh_quote};
use crate::{
    smelt_args, start_date, work_of, ExportError, ExportOptions, GeneratedFile, Operator, Rendered,
    Work, MARKER,
};

/// Renders `smelt_<schedule>.py` for every schedule of `project`.
///
/// `@manual` (or no interval) becomes `schedule=None` (runs only when triggered) and `@once`
/// stays `"@once"`; presets and cron expressions are passed through, since Airflow reads both.
pub fn render_airflow(
    project: &Project,
    opts: &ExportOptions,
    operator: Operator,
) -> Result<Rendered, ExportError> {
    let mut rendered = Rendered::default();
    let mut ids = BTreeSet::new();
    for schedule in &project.schedules {
        let dag_id = format!("smelt_{}", airflow_id(&schedule.name));
        if !ids.insert(dag_id.clone()) {
            return Err(ExportError::Invalid(format!(
                "{}: schedule `{}` would share the DAG id `{dag_id}` with another schedule; rename one of them",
                schedule.location, schedule.name
            )));
        }
        let contents = dag_file(project, schedule, &dag_id, opts, operator)?;
        rendered.files.push(GeneratedFile {
            name: format!("{dag_id}.py"),
            contents,
        });
    }
    Ok(rendered)
}

/// The Python expression for a DAG's `schedule` argument.
fn schedule_expr(interval: Option<&str>) -> String {
    match interval.map(str::trim) {
        None | Some("") | Some("@manual") => "None".to_string(),
        Some(other) => py_str(other),
    }
}

/// One DAG file.
fn dag_file(
    project: &Project,
    schedule: &Schedule,
    dag_id: &str,
    opts: &ExportOptions,
    operator: Operator,
) -> Result<String, ExportError> {
    let work = work_of(project, schedule)?;
    let start = start_date(schedule)?.unwrap_or([1970, 1, 1, 0, 0, 0]);
    let mut tags = vec!["smelt".to_string(), format!("schedule:{}", schedule.name)];
    // (task id, smelt arguments) in run order.
    let mut tasks: Vec<(String, Vec<String>)> = Vec::new();
    let what = match work {
        Work::Job(job) => {
            tags.push(format!("job:{}", job.name));
            let mut seen = BTreeSet::new();
            for task in &job.tasks {
                let base = airflow_id(&task.split_whitespace().collect::<Vec<_>>().join("_"));
                let mut id = base.clone();
                let mut n = 2;
                while !seen.insert(id.clone()) {
                    id = format!("{base}_{n}");
                    n += 1;
                }
                tasks.push((id, smelt_args(opts, Some(task), schedule)));
            }
            format!("job `{}` ({} tasks)", job.name, job.tasks.len())
        }
        Work::Elt => {
            let (e, l) = (
                schedule.extractor.as_deref().unwrap_or_default(),
                schedule.loader.as_deref().unwrap_or_default(),
            );
            tags.push(e.to_string());
            tags.push(l.to_string());
            tasks.push(("extract_load".to_string(), smelt_args(opts, None, schedule)));
            format!("extractor `{e}` → loader `{l}`")
        }
    };
    let mut out = String::new();
    let w = &mut out;
    // Writing into a String cannot fail; `let _` keeps the lines short.
    let _ = writeln!(w, "{MARKER}");
    let _ = writeln!(w, "# smelt schedule `{}`: {what}.", schedule.name);
    match operator {
        Operator::Bash => {
            let _ = writeln!(
                w,
                "# Each task runs smelt on the Airflow worker in {}.",
                opts.project_root
            );
        }
        Operator::Kubernetes => {
            let _ = writeln!(
                w,
                "# Each task runs in its own pod from image {}; keep state in object storage or\n# Postgres (state_backend.uri / database_uri), since pods keep nothing.",
                opts.image
            );
        }
    }
    let _ = writeln!(w, "import datetime\n");
    let _ = writeln!(
        w,
        "try:\n    from airflow.sdk import DAG\nexcept ImportError:  # Airflow 2\n    from airflow import DAG"
    );
    match operator {
        Operator::Bash => {
            let _ = writeln!(w, "try:\n    from airflow.providers.standard.operators.bash import BashOperator\nexcept ImportError:  # Airflow 2 without the standard provider\n    from airflow.operators.bash import BashOperator");
        }
        Operator::Kubernetes => {
            let _ = writeln!(w, "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\nfrom kubernetes.client import models as k8s");
            let _ = writeln!(
                w,
                "\nRESOURCES = k8s.V1ResourceRequirements(requests={{\"cpu\": {}, \"memory\": {}}})",
                py_str(&opts.cpu),
                py_str(&opts.memory)
            );
            match &opts.secret {
                Some(secret) => {
                    let _ = writeln!(w, "# Credentials come from the Kubernetes Secret {}; none are written here.\nENV_FROM = [k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name={}))]", py_str(secret), py_str(secret));
                }
                None => {
                    let _ = writeln!(w, "ENV_FROM = []");
                }
            }
        }
    }
    let [y, mo, d, h, mi, s] = start;
    let tag_list: Vec<String> = tags.iter().map(|t| py_str(t)).collect();
    let _ = writeln!(w, "\nwith DAG(");
    let _ = writeln!(w, "    dag_id={},", py_str(dag_id));
    let _ = writeln!(
        w,
        "    description={},",
        py_str(&format!("smelt schedule {}", schedule.name))
    );
    let _ = writeln!(
        w,
        "    schedule={},",
        schedule_expr(schedule.interval.as_deref())
    );
    let _ = writeln!(w, "    start_date=datetime.datetime({y}, {mo}, {d}, {h}, {mi}, {s}, tzinfo=datetime.timezone.utc),");
    let _ = writeln!(w, "    catchup=False,\n    max_active_runs=1,");
    let _ = writeln!(
        w,
        "    default_args={{\"retries\": {}, \"retry_delay\": datetime.timedelta(minutes=5)}},",
        opts.retries
    );
    let _ = writeln!(w, "    tags=[{}],", tag_list.join(", "));
    let _ = writeln!(w, ") as dag:");
    for (i, (task_id, args)) in tasks.iter().enumerate() {
        let _ = write!(w, "    task_{} =", i + 1);
        match operator {
            Operator::Bash => {
                let mut command = format!(
                    "cd {} && {}",
                    sh_quote(&opts.project_root),
                    sh_quote(&opts.smelt_bin)
                );
                for a in args {
                    command.push(' ');
                    command.push_str(&sh_quote(a));
                }
                let _ = writeln!(w, " BashOperator(");
                let _ = writeln!(w, "        task_id={},", py_str(task_id));
                let _ = writeln!(w, "        bash_command={},", py_str(&command));
                if !schedule.env.is_empty() {
                    let pairs: Vec<String> = schedule
                        .env
                        .iter()
                        .map(|(k, v)| format!("{}: {}", py_str(k), py_str(v)))
                        .collect();
                    let _ = writeln!(w, "        env={{{}}},", pairs.join(", "));
                    let _ = writeln!(w, "        append_env=True,");
                }
                let _ = writeln!(w, "    )");
            }
            Operator::Kubernetes => {
                let quoted: Vec<String> = args.iter().map(|a| py_str(a)).collect();
                let _ = writeln!(w, " KubernetesPodOperator(");
                let _ = writeln!(w, "        task_id={},", py_str(task_id));
                let pod = crate::text::dns_label(&format!("smelt-{dag_id}-{}", i + 1), 50)
                    .unwrap_or_else(|| "smelt".to_string());
                let _ = writeln!(w, "        name={},", py_str(&pod));
                let _ = writeln!(w, "        namespace={},", py_str(&opts.namespace));
                let _ = writeln!(w, "        image={},", py_str(&opts.image));
                let _ = writeln!(w, "        cmds=[{}],", py_str(&opts.smelt_bin));
                let _ = writeln!(w, "        arguments=[{}],", quoted.join(", "));
                if !schedule.env.is_empty() {
                    let vars: Vec<String> = schedule
                        .env
                        .iter()
                        .map(|(k, v)| {
                            format!("k8s.V1EnvVar(name={}, value={})", py_str(k), py_str(v))
                        })
                        .collect();
                    let _ = writeln!(w, "        env_vars=[{}],", vars.join(", "));
                }
                let _ = writeln!(w, "        env_from=ENV_FROM,");
                let _ = writeln!(w, "        container_resources=RESOURCES,");
                let _ = writeln!(w, "        get_logs=True,");
                let _ = writeln!(w, "    )");
            }
        }
    }
    if tasks.len() > 1 {
        let chain: Vec<String> = (1..=tasks.len()).map(|i| format!("task_{i}")).collect();
        let _ = writeln!(w, "\n    {}", chain.join(" >> "));
    }
    Ok(out)
}
