//! `smelt state list|get`: read stored state.

use crate::cli::{Cli, StateCommand};
use crate::project_context::{load_project, open_systemdb, state_backend, CliError};

/// Runs a state subcommand.
pub fn run(cli: &Cli, cmd: &StateCommand) -> Result<i32, CliError> {
    let project = load_project(cli)?;
    let db = open_systemdb(&project)?;
    let backend = state_backend(&project, &db)?;
    match cmd {
        StateCommand::List { pattern } => {
            for id in backend.list(pattern.as_deref()).map_err(CliError::fail)? {
                println!("{id}");
            }
            Ok(0)
        }
        StateCommand::Get { state_id } => match backend.get(state_id).map_err(CliError::fail)? {
            Some(state) => {
                println!("{}", String::from_utf8_lossy(&state.to_meltano_json()));
                Ok(0)
            }
            None => Err(CliError::fail(format!(
                "no state stored for '{state_id}'\n  hint: `smelt state list` shows the state IDs that exist"
            ))),
        },
    }
}
