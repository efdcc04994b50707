//! `smelt invoke`: one plugin run in the foreground, prepared the way Meltano's `invoke`
//! prepares it.
//!
//! Unlike a pipeline, the plugin's stdin, stdout and stderr are the user's own (a terminal or a
//! pipe), passed through untouched; smelt writes what the plugin needs (config, catalog) into a
//! private run directory, builds its environment, waits for it, forwards stop signals and
//! returns its exit code.
//!
//! What the plugin is given follows Meltano 4:
//! - a Singer plugin (extractor, loader, mapper) run without a command gets `--config <file>`
//!   before the user's arguments; an extractor run with no arguments at all (sync mode) also
//!   gets its catalog (`--catalog`/`--properties`, discovered or from the `catalog` extra, with
//!   the select/metadata/schema rules applied). Never `--state`: state belongs to pipelines.
//! - `plugin:command` runs the command's `args` (split like a shell, then each word expanded
//!   against the plugin's environment) followed by the user's arguments, and nothing else.
//! - any other plugin gets only the user's arguments.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use smelt_project::{expand_str, Plugin, PluginCommand, PluginType};

use crate::catalog::{add_catalog_args, CatalogContext, CatalogOptions};
use crate::command_block::split_args;
use crate::error::RunError;
use crate::launch::{prepare, resolve_program, LaunchSpec};
use crate::process::signal_group;
use crate::rundir::RunDir;
use crate::signals;

/// How long a plugin gets between the forwarded stop signal and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(10);
/// How often the wait loop looks at the signal counters (the child's exit wakes it at once).
const POLL: Duration = Duration::from_millis(50);

/// What `smelt invoke` was asked to run.
#[derive(Debug, Clone, Copy)]
pub struct InvokeRequest<'a> {
    /// The plugin.
    pub plugin: &'a Plugin,
    /// A command from the plugin's `commands:`, when invoked as `plugin:command`.
    pub command: Option<&'a str>,
    /// The arguments after the plugin name, passed on as they are.
    pub args: &'a [OsString],
    /// Run discovery even when a cached catalog is still valid (`--refresh-catalog`).
    pub refresh_catalog: bool,
}

/// Whether Meltano treats plugins of type `t` as Singer programs, which get `--config`.
pub fn is_singer(t: PluginType) -> bool {
    matches!(
        t,
        PluginType::Extractor | PluginType::Loader | PluginType::Mapper
    )
}

/// Builds what to run for `req`: the program, its arguments and the variables it gets on top of
/// smelt's environment. Config and catalog files are written into `rundir`.
pub fn prepare_invocation(
    cx: &CatalogContext,
    req: &InvokeRequest,
    rundir: &RunDir,
) -> Result<LaunchSpec, RunError> {
    let plugin = req.plugin;
    let project = cx.project;
    if let Some(name) = req.command {
        let command = find_command(plugin, name)?;
        let config = project.plugin_config(plugin, None)?;
        let env = project.plugin_env(plugin, &config);
        let (program, mut args) = resolve_program(project, plugin, command.executable.as_deref())?;
        args.extend(
            command_args(plugin, name, command, &env)?
                .into_iter()
                .map(OsString::from),
        );
        args.extend(req.args.iter().cloned());
        return Ok(LaunchSpec { program, args, env });
    }
    if !is_singer(plugin.plugin_type) {
        let config = project.plugin_config(plugin, None)?;
        let env = project.plugin_env(plugin, &config);
        let (program, mut args) = resolve_program(project, plugin, None)?;
        args.extend(req.args.iter().cloned());
        return Ok(LaunchSpec { program, args, env });
    }
    let mut prepared = prepare(project, plugin, None, &plugin.name, rundir)?;
    if plugin.plugin_type == PluginType::Extractor && req.args.is_empty() {
        let opts = CatalogOptions {
            refresh: req.refresh_catalog,
            ..CatalogOptions::default()
        };
        add_catalog_args(cx, plugin, &mut prepared, rundir, &opts)?;
    }
    prepared.spec.args.extend(req.args.iter().cloned());
    Ok(prepared.spec)
}

/// The command `name` of `plugin`, or a usage error listing the commands it has (as Meltano's
/// "Command 'x' could not be found").
pub fn find_command<'p>(plugin: &'p Plugin, name: &str) -> Result<&'p PluginCommand, RunError> {
    plugin.commands.get(name).ok_or_else(|| {
        let known: Vec<&str> = plugin.commands.keys().map(String::as_str).collect();
        RunError::Blocks {
            message: format!(
                "command '{name}' could not be found: {} '{}' {}",
                plugin.plugin_type.label(),
                plugin.name,
                if known.is_empty() {
                    "does not define any commands".to_string()
                } else {
                    format!("supports the following commands: {}", known.join(", "))
                }
            ),
            hint: "list them with `smelt invoke --list-commands PLUGIN`, or add it under the plugin's `commands:` in meltano.yml".into(),
        }
    })
}

/// The command's `args` as Meltano builds them: split like a shell first, then every word
/// expanded against the plugin's environment (`env`, then smelt's own), so a value with spaces
/// stays one argument. A word that expands to nothing is an error, as in Meltano.
pub fn command_args(
    plugin: &Plugin,
    name: &str,
    command: &PluginCommand,
    env: &BTreeMap<String, String>,
) -> Result<Vec<String>, RunError> {
    let words = split_args(&command.args).map_err(|message| RunError::Blocks {
        message: format!(
            "command '{}:{name}' has unusable args: {message}",
            plugin.name
        ),
        hint: "fix the quoting of `args` under the plugin's `commands:` in meltano.yml".into(),
    })?;
    let lookup = |var: &str| env.get(var).cloned().or_else(|| std::env::var(var).ok());
    let mut out = Vec::with_capacity(words.len());
    for word in words {
        let expanded = expand_str(&word, &lookup);
        if expanded.is_empty() && !word.is_empty() {
            return Err(RunError::Setting {
                message: format!(
                    "command '{}:{name}' uses '{word}' in an argument, and it expands to nothing (the variable is unset or empty)",
                    plugin.name
                ),
                hint: format!(
                    "set the environment variable, or change `commands.{name}` of {} in meltano.yml",
                    plugin.name
                ),
            });
        }
        out.push(expanded);
    }
    Ok(out)
}

/// The text of `smelt invoke --list-commands`: `plugin:command  description` per line, names
/// padded to one column as Meltano prints them, or Meltano's sentence when there are none.
pub fn list_commands(plugin: &Plugin) -> String {
    if plugin.commands.is_empty() {
        return format!("Plugin '{}' does not define any commands.", plugin.name);
    }
    let names: Vec<String> = plugin
        .commands
        .keys()
        .map(|c| format!("{}:{c}", plugin.name))
        .collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 2;
    names
        .iter()
        .zip(plugin.commands.values())
        .map(|(n, c)| {
            format!("{n:<width$}{}", c.description.as_deref().unwrap_or(""))
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of `name` as a plugin with the added variables `env` sees it: `env`, else
/// smelt's own environment (`--print-var`).
pub fn env_value(env: &BTreeMap<String, String>, name: &str) -> Option<String> {
    env.get(name).cloned().or_else(|| std::env::var(name).ok())
}

/// Runs `spec` in the foreground with smelt's stdin, stdout and stderr, and returns the exit
/// code smelt should exit with: the plugin's own, `128 + n` when it was killed by signal `n`,
/// and 130 / 143 when smelt itself was interrupted by SIGINT / SIGTERM (after forwarding the
/// signal and waiting for the plugin; SIGKILL follows after a grace period).
///
/// When smelt owns the terminal (stdin is a terminal and smelt is in its foreground process
/// group) the plugin stays in smelt's process group, so it can read the terminal and gets
/// Ctrl-C, Ctrl-Z and Ctrl-\ from it directly, as it would if run by the shell; smelt then
/// leaves SIGINT to the plugin (a REPL may ignore it) and forwards SIGTERM. Otherwise the
/// plugin gets a process group of its own, and SIGINT and SIGTERM are forwarded to the whole
/// group, so the plugin's own children stop too.
pub fn run_foreground(spec: &LaunchSpec, cwd: &Path, plugin: &Plugin) -> Result<i32, RunError> {
    install_counters().map_err(|e| RunError::io("installing signal handlers", e))?;
    signals::install().map_err(|e| RunError::io("installing signal handlers", e))?;
    let mut seen = [
        COUNTS[0].load(Ordering::SeqCst),
        COUNTS[1].load(Ordering::SeqCst),
    ];
    if let Some(sig) = signals::received() {
        return Err(RunError::Signalled(sig));
    }
    let interactive = owns_terminal();
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args).envs(&spec.env).current_dir(cwd);
    if !interactive {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    // Nothing outlives smelt: the plugin dies with it (see `process`).
    crate::process::die_with_smelt(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| {
        crate::process::spawn_error(plugin.plugin_type.label(), &plugin.name, spec, &e)
    })?;
    let pid = child.id();
    if !interactive {
        // Its own group: the watchdog may kill it once smelt is gone. (On a terminal it shares
        // smelt's group, which must never be registered.)
        crate::process::watch_group(pid);
    }
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let deliver = |sig: i32| {
        if interactive {
            if let Ok(p) = i32::try_from(pid) {
                // SAFETY: kill has no memory-safety preconditions; a stale pid yields ESRCH.
                unsafe {
                    libc::kill(p, sig);
                }
            }
        } else {
            signal_group(pid, sig);
        }
    };
    let mut stopped_by: Option<i32> = None;
    let mut kill_at: Option<Instant> = None;
    let waited = loop {
        match rx.recv_timeout(POLL) {
            Ok(r) => break r,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(std::io::Error::other("the waiting thread ended"))
            }
        }
        for (i, sig) in [(0, libc::SIGINT), (1, libc::SIGTERM)] {
            let now = COUNTS[i].load(Ordering::SeqCst);
            if now == seen[i] {
                continue;
            }
            seen[i] = now;
            if interactive && sig == libc::SIGINT {
                // The terminal delivered it to the plugin already; what it means is up to it.
                continue;
            }
            deliver(sig);
            stopped_by.get_or_insert(sig);
            kill_at.get_or_insert(Instant::now() + KILL_GRACE);
        }
        if let Some(at) = kill_at {
            if Instant::now() >= at {
                deliver(libc::SIGKILL);
                kill_at = Some(Instant::now() + KILL_GRACE);
            }
        }
    };
    let _ = waiter.join();
    let status = waited.map_err(|e| RunError::io("waiting for the plugin", e))?;
    match stopped_by {
        Some(sig) => {
            if !interactive {
                // Whatever the plugin started and left behind goes with it.
                signal_group(pid, libc::SIGKILL);
            }
            Ok(signals::exit_code_for(sig))
        }
        None => Ok(exit_code_of(&status)),
    }
}

/// A process's exit status as a shell reports it: its code, or `128 + n` when signal `n`
/// killed it.
pub fn exit_code_of(status: &ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => signals::exit_code_for(sig),
        (None, None) => 1,
    }
}

/// SIGINT and SIGTERM received so far (index 0 and 1). Counting, unlike the first-signal flag
/// of [`signals`], sees every signal, so a second Ctrl-C or a SIGTERM after a SIGINT the
/// plugin ignored is still forwarded.
static COUNTS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

fn install_counters() -> std::io::Result<()> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    for (i, sig) in [(0usize, libc::SIGINT), (1, libc::SIGTERM)] {
        // SAFETY: the handler only increments a static atomic, which is async-signal-safe.
        unsafe {
            signal_hook::low_level::register(sig, move || {
                COUNTS[i].fetch_add(1, Ordering::SeqCst);
            })?;
        }
    }
    let _ = INSTALLED.set(());
    Ok(())
}

/// Whether stdin is a terminal whose foreground process group is smelt's.
fn owns_terminal() -> bool {
    // SAFETY: isatty, tcgetpgrp and getpgrp only read process and terminal attributes.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_project::{LoadOptions, Project};

    const YML: &str = r#"
plugins:
  extractors:
  - name: tap-x
    config:
      dir: /data/in put
    commands:
      hello:
        args: --path $TAP_X_DIR 'a b'
        description: says hello
      bare: run
      broken: echo $SMELT_TEST_SURELY_UNSET_VAR
  utilities:
  - name: util
"#;

    fn project() -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("meltano.yml"), YML).unwrap();
        let p = Project::load(dir.path(), &LoadOptions::default()).unwrap();
        (dir, p)
    }

    #[test]
    fn command_words_are_split_before_expansion() {
        let (_d, p) = project();
        let tap = p.find_plugin("tap-x").unwrap();
        let config = p.plugin_config(tap, None).unwrap();
        let env = p.plugin_env(tap, &config);
        let args = command_args(tap, "hello", find_command(tap, "hello").unwrap(), &env).unwrap();
        assert_eq!(args, ["--path", "/data/in put", "a b"]);
        let err = command_args(tap, "broken", find_command(tap, "broken").unwrap(), &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("SMELT_TEST_SURELY_UNSET_VAR"), "{err}");
    }

    #[test]
    fn unknown_commands_name_the_known_ones_and_are_usage_errors() {
        let (_d, p) = project();
        let err = find_command(p.find_plugin("tap-x").unwrap(), "nope").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("bare, broken, hello"), "{err}");
        let err = find_command(p.find_plugin("util").unwrap(), "x").unwrap_err();
        assert!(err.to_string().contains("does not define any commands"));
    }

    #[test]
    fn command_list_is_one_padded_column() {
        let (_d, p) = project();
        assert_eq!(
            list_commands(p.find_plugin("tap-x").unwrap()),
            "tap-x:bare\ntap-x:broken\ntap-x:hello   says hello"
        );
        assert_eq!(
            list_commands(p.find_plugin("util").unwrap()),
            "Plugin 'util' does not define any commands."
        );
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code_of(&ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code_of(&ExitStatus::from_raw(libc::SIGTERM)), 143);
    }
}
