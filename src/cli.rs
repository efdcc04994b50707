//! Command-line definitions. Verbs, flags and exit codes follow Meltano's so `alias meltano=smelt`
//! keeps scripts working; each subcommand's behaviour lives in `commands/`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

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
    /// Manage stored state: list, get, set, merge, copy, move, clear, edit, export, import.
    #[command(subcommand)]
    State(StateCommand),
    /// Run a built-in plugin as a standalone Singer program (usable from plain Meltano too).
    Plugin(PluginArgs),
    /// List an extractor's selected streams and properties, or change its `select` patterns.
    Select(SelectArgs),
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
    /// Run catalog discovery even when the cached catalog is still valid.
    #[arg(long, env = "MELTANO_RUN_REFRESH_CATALOG")]
    pub refresh_catalog: bool,
}

/// `smelt init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the project in.
    pub directory: PathBuf,
}

/// `smelt state` subcommands: Meltano's verbs and flags, plus `--format raw` for `get` and
/// `--format meltano` for `export`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List state IDs.
    List {
        /// Only IDs matching this glob pattern, e.g. 'dev:*'.
        #[arg(long)]
        pattern: Option<String>,
    },
    /// Print the state the next run of a state ID starts from (`{}` when there is none).
    Get {
        /// The state ID.
        state_id: String,
        /// json: one compact line (ready for `state set`); pretty: indented; raw: the stored
        /// {"completed", "partial"} document, byte for byte.
        #[arg(long, value_enum, default_value_t = GetFormat::Json)]
        format: GetFormat,
    },
    /// Replace the state of a state ID with a Singer state ({"singer_state": {...}}).
    #[command(group(ArgGroup::new("source").required(true).args(["state", "input_file"])))]
    Set {
        /// The state ID.
        state_id: String,
        /// The new state as JSON: {"singer_state": {...}}.
        state: Option<String>,
        /// Read the new state from this JSON file instead.
        #[arg(long, value_name = "FILE")]
        input_file: Option<PathBuf>,
        /// Do not ask before overwriting existing state.
        #[arg(long)]
        force: bool,
    },
    /// Add bookmarks to the state of a state ID (merged into its partial state).
    #[command(group(ArgGroup::new("source").required(true).args(["state", "input_file", "from_state_id"])))]
    Merge {
        /// The state ID to merge into.
        state_id: String,
        /// The state to merge as JSON: {"singer_state": {...}}.
        state: Option<String>,
        /// Read the state to merge from this JSON file instead.
        #[arg(long, value_name = "FILE")]
        input_file: Option<PathBuf>,
        /// Merge the state of this other state ID instead.
        #[arg(long, value_name = "STATE_ID")]
        from_state_id: Option<String>,
    },
    /// Copy the state of one state ID to another.
    Copy {
        /// Where the state comes from.
        src_state_id: String,
        /// Where it goes (its state is replaced).
        dst_state_id: String,
        /// Do not ask before overwriting the destination's state.
        #[arg(long)]
        force: bool,
    },
    /// Move the state of one state ID to another, clearing the original.
    Move {
        /// Where the state comes from (cleared afterwards).
        src_state_id: String,
        /// Where it goes (its state is replaced).
        dst_state_id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        force: bool,
    },
    /// Clear the state of a state ID, or of all of them with --all.
    #[command(group(ArgGroup::new("target").required(true).args(["state_id", "all"])))]
    Clear {
        /// The state ID.
        state_id: Option<String>,
        /// Clear every state ID.
        #[arg(long)]
        all: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        force: bool,
    },
    /// Edit the state of a state ID in $VISUAL / $EDITOR (default vi).
    Edit {
        /// The state ID.
        state_id: String,
        /// Accepted for compatibility with Meltano; the editor session is the confirmation.
        #[arg(long)]
        force: bool,
    },
    /// Print every state (or those matching --pattern) as one JSON document.
    Export {
        /// Only IDs matching this glob pattern, e.g. 'prod:*'.
        #[arg(long)]
        pattern: Option<String>,
        /// smelt: versioned document; meltano: the plain map `meltano state import` reads.
        #[arg(long, value_enum, default_value_t = ExportFormatArg::Smelt)]
        format: ExportFormatArg,
    },
    /// Write every state of an export document (from a file, or stdin with `-`).
    Import {
        /// The document from `smelt state export` or `meltano state export`; `-` is stdin.
        #[arg(default_value = "-", value_name = "FILE")]
        input_file: PathBuf,
        /// Do not ask before overwriting existing states.
        #[arg(long)]
        force: bool,
    },
}

/// How `smelt state get` prints a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GetFormat {
    /// Compact single line, like `meltano state get`.
    Json,
    /// Indented, like `meltano state get --format pretty`.
    Pretty,
    /// The stored `{"completed": …, "partial": …}` document (Meltano's state.json bytes).
    Raw,
}

/// The layout `smelt state export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    /// `{"smelt_state_export": 1, "states": {...}}`, indented.
    Smelt,
    /// `{"<id>": {"completed": ..., "partial": ...}}` on one line, as `meltano state export`.
    Meltano,
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

/// `smelt select EXTRACTOR [STREAM] [PROPERTY]` (Meltano's flags). Without a listing or
/// `--clear` flag, adds the pattern `STREAM.PROPERTY` to the extractor's `select` list.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// The extractor.
    pub extractor: String,
    /// Stream pattern (shell wildcards; `\.` for a dot inside a name).
    #[arg(default_value = "*", value_name = "STREAM")]
    pub streams: String,
    /// Property pattern (shell wildcards; dots for nested properties).
    #[arg(default_value = "*", value_name = "PROPERTY")]
    pub properties: String,
    /// List the selected streams and properties.
    #[arg(long)]
    pub list: bool,
    /// List the selected streams and properties as JSON.
    #[arg(long)]
    pub json: bool,
    /// With --list or --json: show every stream and property, not only the extracted ones.
    #[arg(long)]
    pub all: bool,
    /// Run catalog discovery even when the cached catalog is still valid.
    #[arg(long)]
    pub refresh_catalog: bool,
    /// Remove the pattern instead of adding it.
    #[arg(long = "rm", visible_alias = "remove")]
    pub remove: bool,
    /// Make the pattern an exclusion (`!STREAM.PROPERTY`).
    #[arg(long)]
    pub exclude: bool,
    /// Remove every select pattern of the extractor.
    #[arg(long)]
    pub clear: bool,
}
