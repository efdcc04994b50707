//! Command-line definitions. Verbs, flags and exit codes follow Meltano's so `alias meltano=smelt`
//! keeps scripts working; each subcommand's behaviour lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// smelt runs Meltano projects: the same meltano.yml, Singer plugins and state, in one fast binary.
#[derive(Debug, Parser)]
#[command(name = "smelt", version, about, propagate_version = true)]
pub struct Cli {
    /// Project directory (default: the nearest parent holding meltano.yml, or MELTANO_PROJECT_ROOT).
    #[arg(long, global = true, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Environment to use (default: MELTANO_ENVIRONMENT, else the project's default_environment).
    #[arg(long, short = 'e', global = true, value_name = "NAME")]
    pub environment: Option<String>,
    /// Run without any environment (no state is read or saved).
    #[arg(long, global = true, conflicts_with = "environment")]
    pub no_environment: bool,
    /// Console log level: debug, info, warning, error.
    #[arg(
        long,
        global = true,
        env = "MELTANO_CLI_LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,
    /// Console log format: text or json.
    #[arg(long, global = true, default_value = "text")]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run blocks: extractor [mappings…] loader sets, plugin:command blocks and jobs, in order.
    Run(RunArgs),
    /// Create a new project.
    Init(InitArgs),
    /// Inspect stored state.
    #[command(subcommand)]
    State(StateCommand),
    /// Run a built-in plugin as a standalone Singer program (usable from plain Meltano too).
    Plugin(PluginArgs),
}

/// `smelt run` flags (Meltano's).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Blocks to run: `tap-x [mapping…] target-y`, `plugin:command`, or job names.
    #[arg(required = true, value_name = "BLOCK")]
    pub blocks: Vec<String>,
    /// Print the plan and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Ignore stored state; the run's final state replaces it.
    #[arg(long)]
    pub full_refresh: bool,
    /// Read state but do not save any.
    #[arg(long)]
    pub no_state_update: bool,
    /// How acknowledged state combines with stored state: auto, merge or overwrite.
    #[arg(long, default_value = "auto")]
    pub state_strategy: String,
    /// Run even if another run of the same state ID seems to be in progress.
    #[arg(long)]
    pub force: bool,
    /// Use this run ID (a UUID) instead of a generated one.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Suffix appended to every state ID of this run.
    #[arg(long)]
    pub state_id_suffix: Option<String>,
    /// Stop the run after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

/// `smelt init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the project in.
    pub directory: PathBuf,
}

/// `smelt state` subcommands.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List state IDs.
    List {
        /// Only IDs matching this glob pattern.
        #[arg(long)]
        pattern: Option<String>,
    },
    /// Print the state stored for a state ID.
    Get {
        /// The state ID.
        state_id: String,
    },
}

/// `smelt plugin NAME ARGS…`
#[derive(Debug, Args)]
pub struct PluginArgs {
    /// Built-in plugin name (tap-csv, target-jsonl).
    pub name: String,
    /// Singer arguments: --config FILE, --catalog FILE, --state FILE, --discover, --about.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<std::ffi::OsString>,
}
