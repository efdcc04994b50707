//! One module per verb: each parses nothing itself, calls library code and prints.

mod init;
mod plugin;
mod run;
mod state;

use crate::cli::{Cli, Command};
use crate::project_context::CliError;

/// Runs the chosen command and returns the process exit code.
pub fn dispatch(cli: Cli) -> i32 {
    let result = match &cli.command {
        Command::Run(args) => run::run(&cli, args),
        Command::Init(args) => init::run(args),
        Command::State(cmd) => state::run(&cli, cmd),
        Command::Plugin(args) => return plugin::run(args),
    };
    match result {
        Ok(code) => code,
        Err(CliError { message, code }) => {
            eprintln!("error: {message}");
            code
        }
    }
}
