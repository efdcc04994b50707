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
    /// Console log level: debug, info, warning, error (critical counts as error).
    #[arg(
        long,
        global = true,
        env = "MELTANO_CLI_LOG_LEVEL",
        default_value = "info",
        value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<smelt_runtime::LogLevel>())
    )]
    pub log_level: smelt_runtime::LogLevel,
    /// Console log format: text or json.
    #[arg(
        long,
        global = true,
        default_value = "text",
        value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<smelt_runtime::LogFormat>())
    )]
    pub log_format: smelt_runtime::LogFormat,
    /// System database URI for this command (over `database_uri` and `MELTANO_DATABASE_URI`).
    #[arg(long, global = true, value_name = "URI")]
    pub database_uri: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run blocks: extractor [mappings…] loader sets, plugin:command blocks and jobs, in order.
    Run(RunArgs),
    /// Show and change plugin settings, or project settings with `meltano` as the plugin.
    Config(ConfigArgs),
    /// Add, list or remove environments in meltano.yml.
    #[command(subcommand)]
    Environment(EnvironmentCommand),
    /// Create a new project.
    Init(InitArgs),
    /// Manage stored state: list, get, set, merge, copy, move, clear, edit, export, import.
    #[command(subcommand)]
    State(StateCommand),
    /// Run a built-in plugin as a standalone Singer program (usable from plain Meltano too).
    Plugin(PluginArgs),
    /// Add plugins to meltano.yml (from smelt's plugin index, inheriting, or custom) and install them.
    Add(AddArgs),
    /// Remove plugins: their meltano.yml entry, stored settings, installation and lock files.
    Remove(RemoveArgs),
    /// Write the lock files of plugins from smelt's plugin index (no network needed).
    Lock(LockArgs),
    /// List the project's plugins: type, variant, whether installed, where the executable is.
    List(ListArgs),
    /// List an extractor's selected streams and properties, or change its `select` patterns.
    Select(SelectArgs),
    /// Run one plugin (or one of its commands) in the foreground with its config and env.
    Invoke(InvokeArgs),
    /// Run one extractor → loader pipeline (Meltano's `el`).
    El(ElArgs),
    /// Meltano's deprecated `elt`: `el` plus `--transform` (only `skip` is supported).
    Elt(EltArgs),
    /// Install the project's plugins into their virtualenvs (uv, in parallel; unchanged ones skipped).
    Install(InstallArgs),
    /// Add, change, list or remove jobs (named lists of `run` tasks) in meltano.yml.
    #[command(subcommand)]
    Job(JobCommand),
    /// Manage schedules; `schedule export` hands them to Airflow or Kubernetes.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
}

/// `smelt schedule` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Add a schedule: a job (`--job`) or an extractor/loader pair, on an interval.
    Add(ScheduleAddArgs),
    /// Change a schedule's interval, job, extractor, loader or transform.
    Set(ScheduleSetArgs),
    /// List the schedules (`--format json`: Meltano's shape, read by Airflow and Dagster).
    List {
        /// text or json.
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// Run a schedule now: its job as `smelt run`, or its pair as `smelt el` with the schedule
    /// name as state ID; the schedule's `env` applies.
    Run(ScheduleRunArgs),
    /// Remove a schedule.
    Remove {
        /// Its name.
        name: String,
    },
    /// Write the schedules as Airflow DAG files or Kubernetes CronJobs (and a Dockerfile).
    Export(ScheduleExportArgs),
    /// Run schedules on their intervals until stopped (smelt's built-in scheduler).
    Serve(ScheduleServeArgs),
    /// Show each schedule's last and next run (system database and the serve status file).
    Status(ScheduleStatusArgs),
}

/// `smelt install` arguments (Meltano's, plus its old `install TYPE NAME…` form).
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Plugins to install (default: all). A leading plugin type (`extractors tap-x`) is
    /// accepted as in Meltano 2.
    #[arg(value_name = "PLUGIN")]
    pub plugins: Vec<String>,
    /// Only plugins of this type.
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
    /// Delete the plugins' virtualenvs first and install from scratch.
    #[arg(long)]
    pub clean: bool,
    /// Only the plugins the named schedule runs (its extractor and loader, or its job's blocks).
    #[arg(long, value_name = "NAME")]
    pub schedule: Option<String>,
    /// Plugins installed at once (default: the number of cores).
    #[arg(long, short = 'p', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: Option<u16>,
    /// Reinstall even when a plugin's requirements have not changed (with `venv.backend:
    /// virtualenv`, also ignore the Python version plugins require, as Meltano's `--force`).
    #[arg(long, short = 'f')]
    pub force: bool,
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
    #[arg(long, default_value = "auto", value_parser = parse_state_strategy)]
    pub state_strategy: smelt_state::StateStrategy,
    /// Run even if another run of the same state ID seems to be in progress.
    #[arg(long)]
    pub force: bool,
    /// Use this run ID (a UUID) instead of a generated one.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Suffix appended to every state ID of this run.
    #[arg(long)]
    pub state_id_suffix: Option<String>,
    /// Stop the run after this many seconds (at most one year).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECONDS))]
    pub timeout: Option<u64>,
    /// Run catalog discovery even when the cached catalog is still valid.
    #[arg(long, env = "MELTANO_RUN_REFRESH_CATALOG")]
    pub refresh_catalog: bool,
    /// Run up to N extract-load sets at once; a `plugin:command` block waits for all before it.
    /// Default: 1, or the largest `annotations: {smelt: {parallelism: N}}` of the jobs named.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// With --jobs above 1, stop every set as soon as one fails.
    #[arg(long)]
    pub fail_fast: bool,
    /// Whether missing plugins are installed first.
    #[command(flatten)]
    pub install: InstallFlags,
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
    /// Built-in plugin name (tap-csv, target-jsonl, meltano-map-transformer).
    pub name: String,
    /// Singer arguments: --config FILE, --catalog FILE, --state FILE, --discover, --about.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<std::ffi::OsString>,
}

/// How `list` and `plugin list` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ListFormat {
    /// A table.
    #[default]
    Text,
    /// A JSON list.
    Json,
}

/// `smelt list` flags.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// text or json.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// `smelt plugin list` flags (Meltano's `meltano plugin list`), parsed from `smelt plugin`'s
/// arguments when its name is `list`.
#[derive(Debug, Parser)]
#[command(name = "smelt plugin list")]
pub struct PluginListArgs {
    /// text or json.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// `smelt add` flags: Meltano's, plus `--pip-url`, `--executable` and `--namespace`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Plugin names; a leading plugin type (`extractor tap-x`) is accepted as in Meltano 3.
    #[arg(required = true, value_name = "PLUGIN")]
    pub plugins: Vec<String>,
    /// The plugins' type (default: what smelt's index knows, else Meltano's name rule).
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
    /// The variant (default: the index's default variant; `smelt` for a built-in plugin).
    #[arg(long)]
    pub variant: Option<String>,
    /// Add PLUGIN under this name, inheriting from PLUGIN.
    #[arg(long = "as", value_name = "NAME", conflicts_with = "inherit_from")]
    pub as_name: Option<String>,
    /// Inherit from this plugin (of the project, else of the index).
    #[arg(long, value_name = "PLUGIN")]
    pub inherit_from: Option<String>,
    /// A plugin smelt's index does not know: namespace, pip_url and executable from the flags
    /// (default: derived from the name).
    #[arg(long)]
    pub custom: bool,
    /// What to install (overrides the index's pip_url).
    #[arg(long, value_name = "URL")]
    pub pip_url: Option<String>,
    /// The program to run.
    #[arg(long, value_name = "PROGRAM")]
    pub executable: Option<String>,
    /// With --custom: the namespace (default: the name with `-` as `_`).
    #[arg(long, requires = "custom")]
    pub namespace: Option<String>,
    /// The Python interpreter for the plugin's virtualenv.
    #[arg(long, value_name = "PYTHON")]
    pub python: Option<String>,
    /// Do not install the plugins after adding them.
    #[arg(long)]
    pub no_install: bool,
}

/// `smelt remove` arguments.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Plugin names; a leading plugin type (`extractor tap-x`) is accepted as in Meltano 3.
    #[arg(required = true, value_name = "PLUGIN")]
    pub plugins: Vec<String>,
    /// Only plugins of this type.
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
}

/// `smelt lock` arguments.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Plugins to lock (default: all).
    #[arg(value_name = "PLUGIN")]
    pub plugins: Vec<String>,
    /// Only plugins of this type.
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
    /// Overwrite existing lock files.
    #[arg(long, short = 'u')]
    pub update: bool,
    /// Lock every plugin (the default; accepted for compatibility).
    #[arg(long)]
    pub all: bool,
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
    /// Whether a missing extractor is installed first (for `--list`, which runs discovery).
    #[command(flatten)]
    pub install: InstallFlags,
}

/// `smelt invoke [FLAGS] PLUGIN[:COMMAND] [ARGS…]`. Everything after the plugin name goes to
/// the plugin, as in Meltano.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Print NAME=value for this environment variable as the plugin sees it, then run it
    /// (repeatable).
    #[arg(long, value_name = "NAME")]
    pub print_var: Vec<String>,
    /// Look for the plugin among this type only (extractor, loader, utility, … or plural).
    #[arg(long, value_name = "TYPE")]
    pub plugin_type: Option<String>,
    /// Print the plugin's config (secrets included, as Meltano does) or catalog instead of
    /// running it.
    #[arg(long, value_enum)]
    pub dump: Option<InvokeDump>,
    /// With `--dump config`: print secret values instead of redacting them.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
    /// Run catalog discovery even when the cached catalog is still valid.
    #[arg(long)]
    pub refresh_catalog: bool,
    /// List the commands the plugin defines.
    #[arg(long)]
    pub list_commands: bool,
    /// Not supported: smelt does not run plugins in containers.
    #[arg(long)]
    pub containers: bool,
    #[command(flatten)]
    pub install: InstallFlags,
    /// PLUGIN[:COMMAND] followed by the arguments passed to it.
    #[arg(
        required = true,
        value_name = "PLUGIN[:COMMAND] [ARGS]",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub plugin_and_args: Vec<std::ffi::OsString>,
}

/// What `smelt invoke --dump` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InvokeDump {
    /// The config file the plugin would get.
    Config,
    /// The catalog an extractor would get.
    Catalog,
}

/// Meltano's `--install` / `--no-install` / `--only-install`, on every command that runs
/// plugins. By default a plugin whose venv is missing or out of date is installed first.
#[derive(Debug, Args)]
pub struct InstallFlags {
    /// Install missing or changed plugins first (the default).
    #[arg(long, conflicts_with_all = ["no_install", "only_install"])]
    pub install: bool,
    /// Do not install anything; run what is installed.
    #[arg(long, conflicts_with = "only_install")]
    pub no_install: bool,
    /// Install the plugins this command would run, then stop.
    #[arg(long)]
    pub only_install: bool,
}

/// `smelt el EXTRACTOR LOADER` flags (Meltano's).
#[derive(Debug, Args)]
pub struct ElArgs {
    /// The extractor.
    pub extractor: String,
    /// The loader.
    pub loader: String,
    /// Print what would run and run nothing.
    #[arg(long)]
    pub dry: bool,
    /// Ignore stored state; the run's final state replaces it.
    #[arg(long, env = "MELTANO_RUN_FULL_REFRESH")]
    pub full_refresh: bool,
    /// Run catalog discovery even when the cached catalog is still valid.
    #[arg(long)]
    pub refresh_catalog: bool,
    /// Extract only the streams (or stream.property) matching this pattern (repeatable).
    #[arg(long, short = 's', value_name = "PATTERN")]
    pub select: Vec<String>,
    /// Do not extract the streams matching this pattern (repeatable). No `-e`: that is
    /// smelt's global --environment.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Use this catalog file (relative to the project root) instead of discovery.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<String>,
    /// Start from this state file (relative to the project root) instead of stored state.
    #[arg(long, value_name = "FILE")]
    pub state: Option<String>,
    /// Print one generated file of the pipeline instead of running it.
    #[arg(long, value_enum)]
    pub dump: Option<ElDump>,
    /// With `--dump extractor-config|loader-config`: print secret values instead of redacting.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
    /// The state ID to read and save state under (default: a new, timestamped ID each run,
    /// as in Meltano 4).
    #[arg(long, env = "MELTANO_STATE_ID", value_name = "ID")]
    pub state_id: Option<String>,
    /// Run even if another run of the same state ID seems to be in progress.
    #[arg(long, short = 'f')]
    pub force: bool,
    /// Same as --state-strategy merge (Meltano's hidden flag).
    #[arg(long, hide = true)]
    pub merge_state: bool,
    /// How acknowledged state combines with stored state: auto, merge or overwrite.
    #[arg(long, default_value = "auto", value_parser = parse_state_strategy)]
    pub state_strategy: smelt_state::StateStrategy,
    #[command(flatten)]
    pub install: InstallFlags,
    /// Use this run ID (a UUID) instead of a generated one.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Stop the run after this many seconds (smelt only; at most one year).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECONDS))]
    pub timeout: Option<u64>,
}

/// What `smelt el --dump` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ElDump {
    /// The catalog the extractor would get.
    Catalog,
    /// The state the extractor would start from.
    State,
    /// The extractor's config file.
    ExtractorConfig,
    /// The loader's config file.
    LoaderConfig,
}

/// `smelt elt EXTRACTOR LOADER`: `el` plus Meltano's `--transform`.
#[derive(Debug, Args)]
pub struct EltArgs {
    /// skip (default): no transform. `run` and `only` are refused: run dbt as its own block.
    #[arg(long, value_enum)]
    pub transform: Option<TransformMode>,
    #[command(flatten)]
    pub el: ElArgs,
}

/// Meltano's `elt --transform` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransformMode {
    /// Extract and load only.
    Skip,
    /// Extract, load, then run the extractor's transform (not supported).
    Run,
    /// Only run the transform (not supported).
    Only,
}

/// The longest `--timeout` accepted: a year, far beyond any run, and far from overflowing a
/// deadline computed from the clock.
pub const MAX_TIMEOUT_SECONDS: u64 = 365 * 24 * 3600;

/// Parses `--state-strategy` at argument-parsing time, so a wrong value is a usage error
/// (exit 2) before anything runs, `--dry-run` included.
pub fn parse_state_strategy(text: &str) -> Result<smelt_state::StateStrategy, String> {
    text.parse()
        .map_err(|e: smelt_state::StateError| e.to_string())
}

/// `smelt config [--unsafe] SUBCOMMAND …` (Meltano 4 order; `config PLUGIN SUBCOMMAND` of
/// Meltano 3 is rewritten to it before parsing, see [`normalize_args`]).
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Show secret values instead of redacting them.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
    /// Redact secret values (the default; accepted for compatibility).
    #[arg(long, conflicts_with = "unsafe_")]
    pub safe: bool,
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// Plugin types as `--plugin-type` accepts them (singular or plural, as Meltano).
fn parse_plugin_type(text: &str) -> Result<smelt_project::PluginType, String> {
    smelt_project::PluginType::from_name(text).ok_or_else(|| {
        format!(
            "unknown plugin type '{text}': use extractor, loader, mapper, transformer, utility, orchestrator or file"
        )
    })
}

/// The `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// List settings with their values, where each value comes from, and their variables.
    List(ConfigListArgs),
    /// Print the configuration the plugin gets (JSON, or NAME='value' lines).
    Print(ConfigPrintArgs),
    /// Set a setting: `config set PLUGIN NAME [NAME…] VALUE` (words join with dots).
    Set(ConfigSetArgs),
    /// Remove a setting from every store (or the one given with --store).
    Unset(ConfigUnsetArgs),
    /// Remove every setting of the plugin from every store (or the one given).
    Reset(ConfigResetArgs),
    /// Check the configuration: an extractor must emit a RECORD, a loader accept a stream.
    Test(ConfigTestArgs),
}

impl ConfigCommand {
    /// Whether the subcommand itself was given `--unsafe`.
    pub fn unsafe_flag(&self) -> bool {
        match self {
            ConfigCommand::List(a) => a.unsafe_,
            ConfigCommand::Print(a) => a.unsafe_,
            ConfigCommand::Set(a) => a.unsafe_,
            ConfigCommand::Unset(_) | ConfigCommand::Reset(_) | ConfigCommand::Test(_) => false,
        }
    }
}

/// `config list` flags.
#[derive(Debug, Args)]
pub struct ConfigListArgs {
    /// The plugin, or `meltano` for project settings.
    pub plugin: String,
    /// The plugin's type, when two plugins share a name.
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
    /// List only the plugin's extras (`_select`, `_metadata`, …).
    #[arg(long)]
    pub extras: bool,
    /// Also show optional settings at their default values.
    #[arg(long)]
    pub all: bool,
    /// Only settings whose name contains this text (case-insensitive; searches all).
    #[arg(long, value_name = "SUBSTRING")]
    pub filter: Option<String>,
    /// Show secret values.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
}

/// How `config print` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    /// The config JSON.
    Json,
    /// `NAME='value'` lines for `eval`.
    Env,
}

/// `config print` flags.
#[derive(Debug, Args)]
pub struct ConfigPrintArgs {
    /// The plugin, or `meltano` for project settings.
    pub plugin: String,
    /// The plugin's type, when two plugins share a name.
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
    /// json or env.
    #[arg(long, value_enum, default_value_t = ConfigFormat::Json)]
    pub format: ConfigFormat,
    /// Print only the plugin's extras.
    #[arg(long)]
    pub extras: bool,
    /// Show secret values.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
}

/// Where `config set|unset|reset` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum StoreArg {
    /// Meltano's rule: secrets to .env, else the active environment's block or meltano.yml.
    #[default]
    Auto,
    /// meltano.yml (the active environment's block when one is active).
    #[value(name = "meltano_yml", alias = "meltano-yml")]
    MeltanoYml,
    /// The project's .env file.
    Dotenv,
    /// The system database.
    Db,
}

impl StoreArg {
    /// The library's choice.
    pub fn choice(self) -> smelt_project::StoreChoice {
        match self {
            StoreArg::Auto => smelt_project::StoreChoice::Auto,
            StoreArg::MeltanoYml => smelt_project::StoreChoice::MeltanoYml,
            StoreArg::Dotenv => smelt_project::StoreChoice::DotEnv,
            StoreArg::Db => smelt_project::StoreChoice::Db,
        }
    }
}

/// `config set` arguments.
#[derive(Debug, Args)]
pub struct ConfigSetArgs {
    /// The plugin, or `meltano` for project settings.
    pub plugin: String,
    /// The setting name (one or more words, joined with dots) and then the value.
    #[arg(required = true, num_args = 1.., value_name = "NAME… VALUE")]
    pub words: Vec<String>,
    /// The plugin's type, when two plugins share a name.
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
    /// Where to write.
    #[arg(long, value_enum, default_value_t = StoreArg::Auto)]
    pub store: StoreArg,
    /// Read the value from this file.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Ask for the value on the terminal (it is not echoed to the command line or history).
    #[arg(long)]
    pub interactive: bool,
    /// Show a secret value in the confirmation.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
}

/// `config unset` arguments.
#[derive(Debug, Args)]
pub struct ConfigUnsetArgs {
    /// The plugin, or `meltano` for project settings.
    pub plugin: String,
    /// The setting name (one or more words, joined with dots).
    #[arg(required = true)]
    pub setting: Vec<String>,
    /// The plugin's type, when two plugins share a name.
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
    /// Only this store (default: every store).
    #[arg(long, value_enum, default_value_t = StoreArg::Auto)]
    pub store: StoreArg,
}

/// `config reset` arguments.
#[derive(Debug, Args)]
pub struct ConfigResetArgs {
    /// The plugin, or `meltano` for project settings.
    pub plugin: String,
    /// The plugin's type, when two plugins share a name.
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
    /// Only this store (default: every store).
    #[arg(long, value_enum, default_value_t = StoreArg::Auto)]
    pub store: StoreArg,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub force: bool,
}

/// `config test` arguments.
#[derive(Debug, Args)]
pub struct ConfigTestArgs {
    /// The extractor or loader.
    pub plugin: String,
    /// The plugin's type, when two plugins share a name.
    #[arg(long, value_parser = parse_plugin_type)]
    pub plugin_type: Option<smelt_project::PluginType>,
    /// Give up after this many seconds (at most one year).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECONDS))]
    pub timeout: Option<u64>,
    /// Whether a missing plugin is installed first.
    #[command(flatten)]
    pub install: InstallFlags,
}

/// Global flags that take a value, so a value is never mistaken for a verb.
const VALUE_FLAGS: &[&str] = &[
    "--cwd",
    "--environment",
    "-e",
    "--log-level",
    "--log-format",
];

/// Subcommands of `schedule`; any other first word is a schedule name for the default `add`.
const SCHEDULE_VERBS: &[&str] = &[
    "add", "set", "list", "run", "remove", "export", "serve", "status", "help",
];

/// Subcommands of `config`.
const CONFIG_VERBS: &[&str] = &["list", "print", "set", "unset", "reset", "test", "help"];

/// Rewrites Meltano 3.x's `config PLUGIN VERB …` (and bare `config PLUGIN`, which printed
/// the config) into Meltano 4's `config VERB PLUGIN …`, so both orders work.
pub fn normalize_args(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let text = |a: &std::ffi::OsString| a.to_str().map(str::to_string).unwrap_or_default();
    let mut i = 1;
    while i < args.len() {
        let a = text(&args[i]);
        if VALUE_FLAGS.contains(&a.as_str()) {
            i += 2;
            continue;
        }
        if a.starts_with('-') {
            i += 1;
            continue;
        }
        if a == "schedule" {
            // Meltano's `schedule` group defaults to `add`: `schedule NAME --job J --interval I`.
            let next = args.get(i + 1).map(text).unwrap_or_default();
            if !next.is_empty()
                && !next.starts_with('-')
                && !SCHEDULE_VERBS.contains(&next.as_str())
            {
                args.insert(i + 1, "add".into());
            }
            return args;
        }
        if a != "config" {
            return args;
        }
        break;
    }
    // Skip `config`'s own flags.
    let mut j = i + 1;
    while j < args.len() && text(&args[j]).starts_with('-') {
        j += 1;
    }
    if j >= args.len() {
        return args;
    }
    let first = text(&args[j]);
    if CONFIG_VERBS.contains(&first.as_str()) {
        return args;
    }
    match args.get(j + 1).map(text) {
        Some(verb) if CONFIG_VERBS.contains(&verb.as_str()) => args.swap(j, j + 1),
        _ => args.insert(j, "print".into()),
    }
    args
}

/// `smelt environment` subcommands (Meltano's).
#[derive(Debug, Subcommand)]
pub enum EnvironmentCommand {
    /// Add an environment (an entry under `environments:`).
    Add {
        /// Its name.
        name: String,
    },
    /// List the environments.
    List,
    /// Remove an environment.
    Remove {
        /// Its name.
        name: String,
    },
}

/// `smelt schedule export` arguments: which engine, and how its runs reach smelt.
#[derive(Debug, Args)]
pub struct ScheduleExportArgs {
    /// airflow: one DAG file per schedule; kubernetes: one CronJob per schedule and a Dockerfile.
    #[arg(value_enum)]
    pub target: ExportTarget,
    /// Airflow only: run tasks with BashOperator on the worker (default) or in pods with
    /// KubernetesPodOperator.
    #[arg(long, value_enum)]
    pub operator: Option<AirflowOperator>,
    /// Directory for the files (default: orchestrate/dags or orchestrate/kubernetes in the project).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Container image holding smelt and the project (pods and CronJobs).
    #[arg(long, value_name = "IMAGE", default_value = "smelt-project:latest")]
    pub image: String,
    /// Kubernetes namespace for pods and CronJobs.
    #[arg(long, value_name = "NS", default_value = "default")]
    pub namespace: String,
    /// Kubernetes Secret whose keys become the container's environment (credentials).
    #[arg(long, value_name = "NAME", default_value = "smelt-env")]
    pub secret: String,
    /// Read no Secret into the container's environment.
    #[arg(long, conflicts_with = "secret")]
    pub no_secret: bool,
    /// CPU request of each pod.
    #[arg(long, value_name = "CPU", default_value = "500m")]
    pub cpu: String,
    /// Memory request of each pod.
    #[arg(long, value_name = "MEM", default_value = "512Mi")]
    pub memory: String,
    /// Retries of a failed task (Airflow) or pod (the Job's backoffLimit).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: u32,
    /// smelt executable as the runner sees it (a name on PATH or a path).
    #[arg(long, value_name = "PATH", default_value = "smelt")]
    pub smelt_bin: String,
    /// Project directory as the Airflow worker sees it (default: this project's directory;
    /// /project, the image's WORKDIR, for pods).
    #[arg(long, value_name = "PATH")]
    pub project_root: Option<String>,
    /// Overwrite files in the output directory that smelt did not generate.
    #[arg(long)]
    pub force: bool,
}

/// Where `smelt schedule export` hands schedules to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportTarget {
    /// Apache Airflow DAG files.
    Airflow,
    /// Kubernetes CronJob manifests and a Dockerfile.
    Kubernetes,
}

/// The Airflow operator each exported task uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AirflowOperator {
    /// BashOperator: `cd <project> && smelt run <task>` on the worker.
    Bash,
    /// KubernetesPodOperator: one pod per task from `--image`.
    Kubernetes,
}

/// `smelt job` subcommands (Meltano's).
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// List the jobs, or one job.
    List {
        /// The job to show (default: all).
        name: Option<String>,
        /// text or json.
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// Add a job.
    Add {
        /// Its name.
        name: String,
        /// One block string (`'tap-x target-y'`) or a YAML list of them
        /// (`'["tap-x target-y", "dbt:run"]'`, items may be lists of strings).
        #[arg(long)]
        tasks: String,
    },
    /// Replace a job's tasks.
    Set {
        /// Its name.
        name: String,
        /// The new tasks, as for `job add`.
        #[arg(long)]
        tasks: String,
    },
    /// Remove a job.
    Remove {
        /// Its name.
        name: String,
    },
}

/// What an ELT schedule does with transforms (Meltano's `--transform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleTransform {
    /// No transform.
    Skip,
    /// Transform only.
    Only,
    /// Extract, load, then transform.
    Run,
}

impl ScheduleTransform {
    /// The word written to meltano.yml.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleTransform::Skip => "skip",
            ScheduleTransform::Only => "only",
            ScheduleTransform::Run => "run",
        }
    }
}

/// `smelt schedule add` (Meltano's flags; Meltano 1's `add NAME EXTRACTOR LOADER INTERVAL` too).
#[derive(Debug, Args)]
pub struct ScheduleAddArgs {
    /// The schedule's name.
    pub name: String,
    /// Meltano 1's positional form: EXTRACTOR LOADER INTERVAL.
    #[arg(value_name = "EXTRACTOR LOADER INTERVAL", num_args = 0..=3, hide = true)]
    pub legacy: Vec<String>,
    /// A preset (@hourly, @daily, @weekly, @monthly, @yearly, @once, @manual…) or a cron expression.
    #[arg(long)]
    pub interval: Option<String>,
    /// The job to run.
    #[arg(long)]
    pub job: Option<String>,
    /// ELT only: the extractor.
    #[arg(long)]
    pub extractor: Option<String>,
    /// ELT only: the loader.
    #[arg(long)]
    pub loader: Option<String>,
    /// ELT only.
    #[arg(long, value_enum)]
    pub transform: Option<ScheduleTransform>,
}

/// `smelt schedule set`: only the given keys change.
#[derive(Debug, Args)]
pub struct ScheduleSetArgs {
    /// The schedule's name.
    pub name: String,
    /// New interval.
    #[arg(long)]
    pub interval: Option<String>,
    /// New job (job schedules).
    #[arg(long)]
    pub job: Option<String>,
    /// New extractor (ELT schedules).
    #[arg(long)]
    pub extractor: Option<String>,
    /// New loader (ELT schedules).
    #[arg(long)]
    pub loader: Option<String>,
    /// New transform (ELT schedules).
    #[arg(long, value_enum)]
    pub transform: Option<ScheduleTransform>,
}

/// `smelt schedule run NAME [ARGS…]`.
#[derive(Debug, Args)]
pub struct ScheduleRunArgs {
    /// The schedule's name.
    pub name: String,
    /// Passed on to `run` (job schedules, before the job name) or `el` (ELT schedules).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// `smelt schedule serve` flags (smelt-only; see docs/decisions/0013-schedule-serve.md).
#[derive(Debug, Args)]
pub struct ScheduleServeArgs {
    /// Schedules to serve (default: every schedule whose interval fires on its own).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Retries of a failed run (same tick), with exponential backoff.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub retries: u32,
    /// Seconds before the first retry; doubled for each further one.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub retry_delay: u64,
    /// The longest wait between retries, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub max_retry_delay: u64,
    /// Ticks missed while no serve ran: none (skip), latest (run once), all (each, at most 100).
    #[arg(long, default_value = "latest", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<smelt_scheduler::CatchUp>()))]
    pub catch_up: smelt_scheduler::CatchUp,
    /// At most this many runs at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub max_concurrent: usize,
    /// The longest pause between two looks at the clock, in seconds (0.05 to 60).
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = parse_poll_interval)]
    pub poll_interval: std::time::Duration,
    /// Seconds to wait for running runs after SIGTERM/SIGINT before killing them (exit 143/130).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub shutdown_timeout: u64,
    /// Where to write the status document (default: .meltano/run/schedule-serve/status.json).
    #[arg(long, value_name = "FILE")]
    pub status_file: Option<PathBuf>,
}

/// `smelt schedule status` flags.
#[derive(Debug, Args)]
pub struct ScheduleStatusArgs {
    /// text or json.
    #[arg(long, value_enum, default_value_t)]
    pub format: ListFormat,
    /// The serve status file to read (default: .meltano/run/schedule-serve/status.json).
    #[arg(long, value_name = "FILE")]
    pub status_file: Option<PathBuf>,
}

fn parse_poll_interval(text: &str) -> Result<std::time::Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.05..=60.0).contains(&s) => Ok(std::time::Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 0.05 to 60"
        )),
    }
}
