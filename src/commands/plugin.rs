//! `smelt plugin NAME …`: a built-in plugin as a standalone Singer program.

use crate::cli::PluginArgs;

/// Runs the plugin and returns its exit code.
pub fn run(args: &PluginArgs) -> i32 {
    smelt_plugins::run_native(&args.name, &args.args)
}
