//! `smelt job add|set|list|remove`: Meltano's job commands over
//! [`smelt_project::schedule_edit`]. Output lines and `--format json` are Meltano's, byte for
//! byte (orchestrators parse them).

use serde_json::{json, Value};
use smelt_project::schedule_edit::{parse_tasks, task_sets};
use smelt_project::{Job, Project};
use smelt_state::pyjson::{dumps, PyJsonStyle};

use super::print_out;
use super::pyrepr::py_repr;
use crate::cli::{Cli, JobCommand, ListFormat};
use crate::project_context::{load_project_explicit_env, CliError};

/// Runs a `job` subcommand.
pub fn run(cli: &Cli, cmd: &JobCommand) -> Result<i32, CliError> {
    let project = load_project_explicit_env(cli, "job")?;
    match cmd {
        JobCommand::List { name, format } => list(&project, name.as_deref(), *format),
        JobCommand::Add { name, tasks } => {
            let tasks = checked_tasks(&project, name, tasks)?;
            project.add_job(name, &tasks).map_err(CliError::fail)?;
            print_out(&format!("Added job {name}: {}", py_repr(&tasks)))?;
            Ok(0)
        }
        JobCommand::Set { name, tasks } => {
            let tasks = checked_tasks(&project, name, tasks)?;
            project
                .set_job_tasks(name, &tasks)
                .map_err(CliError::fail)?;
            print_out(&format!("Updated job {name}: {}", py_repr(&tasks)))?;
            Ok(0)
        }
        JobCommand::Remove { name } => {
            project.remove_job(name).map_err(CliError::fail)?;
            print_out(&format!("Removed job '{name}'."))?;
            Ok(0)
        }
    }
}

/// `job list`: `name: <Python repr of tasks>` lines, or Meltano's JSON.
fn list(project: &Project, name: Option<&str>, format: ListFormat) -> Result<i32, CliError> {
    let entry = |job: &Job| json!({ "job_name": job.name, "tasks": job.written_tasks });
    // Meltano prints `str(tasks)`: a string as it is, a list as Python's repr.
    let text_line = |job: &Job| match &job.written_tasks {
        Value::String(tasks) => format!("{}: {tasks}", job.name),
        tasks => format!("{}: {}", job.name, py_repr(tasks)),
    };
    let out = match name {
        Some(name) => {
            let Some(job) = project.find_job(name) else {
                return Err(CliError::fail(format!("Job '{name}' does not exist.")));
            };
            match format {
                ListFormat::Text => text_line(job),
                ListFormat::Json => dumps(&entry(job), PyJsonStyle::Indent(2)),
            }
        }
        None => match format {
            ListFormat::Text => project
                .jobs
                .iter()
                .map(text_line)
                .collect::<Vec<_>>()
                .join("\n"),
            ListFormat::Json => {
                let jobs: Vec<Value> = project.jobs.iter().map(entry).collect();
                dumps(&json!({ "jobs": jobs }), PyJsonStyle::Indent(2))
            }
        },
    };
    if !out.is_empty() {
        print_out(&out)?;
    }
    Ok(0)
}

/// Parses `--tasks` and checks, as Meltano does, that every task names blocks that exist.
fn checked_tasks(project: &Project, job: &str, raw: &str) -> Result<Value, CliError> {
    let tasks = parse_tasks(job, raw).map_err(CliError::fail)?;
    for words in task_sets(&tasks) {
        smelt_runtime::parse_blocks(project, &words)
            .map_err(|e| CliError::fail(format!("Job '{job}' has invalid tasks. {e}")))?;
    }
    Ok(tasks)
}
