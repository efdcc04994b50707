//! `smelt schedule export airflow|kubernetes`: writes the project's schedules as Airflow DAG
//! files or Kubernetes CronJobs (with a Dockerfile), via smelt-export.

use smelt_export::{render_airflow, render_kubernetes, write_files, ExportOptions, Operator};

use super::print_out;
use crate::cli::{AirflowOperator, Cli, ExportTarget, ScheduleExportArgs};
use crate::project_context::{load_project, logger, CliError};

/// Runs `smelt schedule export`.
pub fn run(cli: &Cli, args: &ScheduleExportArgs) -> Result<i32, CliError> {
    let project = load_project(cli)?;
    let log = logger(cli)?;
    if args.target == ExportTarget::Kubernetes && args.operator.is_some() {
        return Err(CliError::usage(
            "--operator applies to `schedule export airflow` only",
        ));
    }
    let project_root = match &args.project_root {
        Some(p) => p.clone(),
        None if args.target == ExportTarget::Airflow
            && args.operator != Some(AirflowOperator::Kubernetes) =>
        {
            project.root.display().to_string()
        }
        // Pods run in the image's WORKDIR, where the Dockerfile puts the project.
        None => ExportOptions::default().project_root,
    };
    let opts = ExportOptions {
        project_root,
        smelt_bin: args.smelt_bin.clone(),
        image: args.image.clone(),
        namespace: args.namespace.clone(),
        secret: (!args.no_secret).then(|| args.secret.clone()),
        cpu: args.cpu.clone(),
        memory: args.memory.clone(),
        retries: args.retries,
        environment: cli.environment.clone(),
    };
    let rendered = match args.target {
        ExportTarget::Airflow => {
            let operator = match args.operator.unwrap_or(AirflowOperator::Bash) {
                AirflowOperator::Bash => Operator::Bash,
                AirflowOperator::Kubernetes => Operator::Kubernetes,
            };
            render_airflow(&project, &opts, operator)
        }
        ExportTarget::Kubernetes => render_kubernetes(&project, &opts),
    }
    .map_err(CliError::fail)?;
    for note in &rendered.skipped {
        log.warn(&format!("skipped {note}"));
    }
    let dir = match &args.output {
        Some(dir) => dir.clone(),
        None => project.root.join(match args.target {
            ExportTarget::Airflow => "orchestrate/dags",
            ExportTarget::Kubernetes => "orchestrate/kubernetes",
        }),
    };
    if project.schedules.is_empty() {
        log.warn("meltano.yml has no schedules; add one with `smelt schedule add`");
    }
    let outcome = write_files(&dir, &rendered.files, args.force).map_err(CliError::fail)?;
    for path in &outcome.written {
        print_out(&format!("wrote {}", path.display()))?;
    }
    for path in &outcome.unchanged {
        print_out(&format!("unchanged {}", path.display()))?;
    }
    Ok(0)
}
