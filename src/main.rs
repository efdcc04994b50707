//! The `smelt` binary: parse the command line, call the library, print, exit with a meaningful
//! code (0 ok, 1 failure, 2 usage error, 130/143 when interrupted).

mod auto_install;
mod cli;
mod commands;
mod plugin_index;
mod project_context;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse_from(cli::normalize_args(std::env::args_os().collect()));
    let code = commands::dispatch(cli);
    std::process::exit(code);
}
