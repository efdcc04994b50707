//! `smelt environment add|list|remove NAME`: manage `environments:` in meltano.yml with the
//! lossless editor, so comments and layout outside the entry stay as they were.

use serde_json::{json, Value};
use smelt_project::{edit_yaml_file, EnvironmentChoice, PathSeg, Project, YamlEditor};

use super::print_out;
use crate::cli::{Cli, EnvironmentCommand};
use crate::project_context::{load_project_in, CliError};

/// Runs an `environment` subcommand.
pub fn run(cli: &Cli, cmd: &EnvironmentCommand) -> Result<i32, CliError> {
    // Managing environments needs none to be active (and must work while one is broken).
    let project = load_project_in(cli, EnvironmentChoice::NoEnvironment)?;
    match cmd {
        EnvironmentCommand::List => {
            let names: Vec<&str> = project
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            if !names.is_empty() {
                print_out(&names.join("\n"))?;
            }
            Ok(0)
        }
        EnvironmentCommand::Add { name } => {
            if name.trim().is_empty() {
                return Err(CliError::usage("an environment needs a name"));
            }
            if let Some(e) = project.environments.iter().find(|e| e.name == *name) {
                return Err(CliError::fail(format!(
                    "an environment named '{name}' already exists (at {})",
                    e.location
                )));
            }
            edit_main_file(&project, |editor| {
                editor.push(
                    &[PathSeg::Key("environments".into())],
                    &json!({ "name": name }),
                )
            })?;
            print_out(&format!("Created new environment '{name}'"))?;
            Ok(0)
        }
        EnvironmentCommand::Remove { name } => {
            let Some(env) = project.environments.iter().find(|e| e.name == *name) else {
                let known: Vec<&str> = project
                    .environments
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect();
                return Err(CliError::fail(format!(
                    "environment '{name}' was not found{}",
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!("; the project defines: {}", known.join(", "))
                    }
                )));
            };
            if env.location.file.as_path() != std::path::Path::new(smelt_project::PROJECT_FILE) {
                return Err(CliError::fail(format!(
                    "environment '{name}' is defined in {}, an included file; remove it there",
                    env.location
                )));
            }
            let index = project
                .environments
                .iter()
                .take_while(|e| e.name != *name)
                .filter(|e| e.location.file == env.location.file)
                .count();
            edit_main_file(&project, |editor| {
                editor
                    .remove(&[PathSeg::Key("environments".into()), PathSeg::Index(index)])
                    .map(|_| ())
            })?;
            print_out(&format!("Removed environment '{name}'"))?;
            Ok(0)
        }
    }
}

/// Applies `edit` to meltano.yml and writes it back atomically.
fn edit_main_file(
    project: &Project,
    edit: impl FnOnce(&mut YamlEditor) -> Result<(), smelt_project::ProjectError>,
) -> Result<(), CliError> {
    if matches!(project.setting("project_readonly"), Some(Value::Bool(true))) {
        return Err(CliError::fail(
            "the project is read-only (project_readonly is true)\n  hint: unset project_readonly to change meltano.yml",
        ));
    }
    let path = project.root.join(smelt_project::PROJECT_FILE);
    edit_yaml_file(
        &path,
        std::path::Path::new(smelt_project::PROJECT_FILE),
        |editor| edit(editor).map(|()| true),
    )
    .map(|_| ())
    .map_err(CliError::fail)
}
