//! One module per verb: each parses nothing itself, calls library code and prints.

mod add;
mod config;
mod el;
mod environment;
mod init;
mod install;
mod invoke;
mod job;
mod list;
mod lock;
mod plugin;
mod pyrepr;
mod remove;
mod run;
mod schedule;
pub(crate) mod schedule_export;
pub(crate) mod schedule_serve;
mod select;
mod state;

use crate::cli::{Cli, Command, ScheduleCommand};
use crate::project_context::CliError;

/// Runs the chosen command and returns the process exit code.
pub fn dispatch(cli: Cli) -> i32 {
    let result = match &cli.command {
        Command::Run(args) => run::run(&cli, args),
        Command::Config(args) => config::run(&cli, args),
        Command::Environment(cmd) => environment::run(&cli, cmd),
        Command::Init(args) => init::run(args),
        Command::State(cmd) => state::run(&cli, cmd),
        Command::Plugin(args) if args.name == "list" => list::plugin_list(&cli, &args.args),
        Command::Plugin(args) => return plugin::run(args),
        Command::Add(args) => add::run(&cli, args),
        Command::Remove(args) => remove::run(&cli, args),
        Command::Lock(args) => lock::run(&cli, args),
        Command::List(args) => list::run(&cli, args),
        Command::Select(args) => select::run(&cli, args),
        Command::Invoke(args) => invoke::run(&cli, args),
        Command::El(args) => el::run(&cli, args, None),
        Command::Elt(args) => el::run(&cli, &args.el, Some(args.transform)),
        Command::Install(args) => install::run(&cli, args),
        Command::Schedule(ScheduleCommand::Export(args)) => schedule_export::run(&cli, args),
        Command::Schedule(ScheduleCommand::Serve(args)) => schedule_serve::run(&cli, args),
        Command::Schedule(ScheduleCommand::Status(args)) => schedule_serve::status(&cli, args),
        Command::Schedule(cmd) => schedule::run(&cli, cmd),
        Command::Job(cmd) => job::run(&cli, cmd),
    };
    match result {
        Ok(code) => code,
        Err(CliError { message, code }) => {
            eprintln!("error: {message}");
            code
        }
    }
}

/// Writes `text` and a newline to stdout; a closed pipe (`| head`) is an error, not a panic
/// (smelt ignores SIGPIPE so that a plugin closing its stdin cannot kill the relay).
pub(crate) fn print_out(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::fail(format!("could not write to stdout: {e}")))
}

/// Meltano 3's `VERB TYPE NAME…` form (`add extractor tap-x`): a leading plugin type among the
/// names becomes the type when `--plugin-type` is not given and names follow it.
pub(crate) fn leading_plugin_type(
    flag: Option<smelt_project::PluginType>,
    names: &[String],
) -> (Option<smelt_project::PluginType>, &[String]) {
    match (flag, names) {
        (None, [first, rest @ ..]) if !rest.is_empty() => {
            match smelt_project::PluginType::from_name(first) {
                Some(t) => (Some(t), rest),
                None => (None, names),
            }
        }
        _ => (flag, names),
    }
}
