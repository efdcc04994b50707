//! Runs a command block: `plugin:command` from the plugin's `commands:`, or a plugin by itself.
//!
//! The command's `args` are split like a shell would, then each word is expanded against the
//! plugin's environment (so `$DBT_PROFILES_DIR` works as in Meltano, and `smelt invoke` builds
//! the same words), and run under the same supervisor as a pipeline, with stdout and stderr
//! going to the log.

use std::time::{Duration, Instant};

use crate::blocks::CommandStep;
use crate::context::RunContext;
use crate::error::RunError;
use crate::launch::{resolve_program, type_label, LaunchSpec};
use crate::supervise::{forward_lines, run_chain, ChainOptions, Sink, Stage};

/// What a command block did.
#[derive(Debug, Clone)]
pub struct CommandReport {
    /// `plugin:command` as written.
    pub block: String,
    /// Wall time.
    pub duration: Duration,
    /// The error, when it failed.
    pub error: Option<String>,
}

/// Runs one command block to completion.
pub fn run_command(ctx: &RunContext, step: &CommandStep) -> (CommandReport, Result<(), RunError>) {
    let started = Instant::now();
    let block = match &step.command {
        Some(c) => format!("{}:{c}", step.plugin.name),
        None => step.plugin.name.clone(),
    };
    let result = run(ctx, step, &block);
    let report = CommandReport {
        block,
        duration: started.elapsed(),
        error: result.as_ref().err().map(|e| e.to_string()),
    };
    (report, result)
}

fn run(ctx: &RunContext, step: &CommandStep, block: &str) -> Result<(), RunError> {
    let plugin = step.plugin;
    let config = ctx.project.plugin_config(plugin, None)?;
    let env = ctx.project.plugin_env(plugin, &config);
    let command = step.command.as_ref().and_then(|c| plugin.commands.get(c));
    let (program, mut args) = resolve_program(
        ctx.project,
        plugin,
        command.and_then(|c| c.executable.as_deref()),
    )?;
    if let (Some(c), Some(name)) = (command, step.command.as_deref()) {
        // The same words `smelt invoke plugin:command` builds (split, then expanded).
        let words = crate::invoke::command_args(plugin, name, c, &env)?;
        args.extend(words.into_iter().map(Into::into));
    }
    let stage = Stage {
        name: block.to_string(),
        label: type_label(plugin.plugin_type),
        spec: LaunchSpec { program, args, env },
    };
    let log = ctx.logger.clone();
    let name = block.to_string();
    let sink: Sink = Box::new(move |out| {
        forward_lines(out, &name, &log);
        Ok(())
    });
    let opts = ChainOptions {
        cwd: &ctx.project.root,
        max_line: usize::MAX,
        deadline: ctx.deadline,
        logger: &ctx.logger,
        cancel: None,
    };
    run_chain(vec![stage], &opts, sink)?.verdict()
}

/// Splits a command line into words with POSIX-shell quoting rules (single quotes literal,
/// double quotes with backslash escapes, backslash outside quotes), without running a shell.
pub fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("the line ends with a lone backslash".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split_args;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_args(r#"run --select 'a b' "c \"d\"" e\ f ''"#).unwrap(),
            vec!["run", "--select", "a b", "c \"d\"", "e f", ""]
        );
        assert_eq!(split_args("  ").unwrap(), Vec::<String>::new());
        assert!(split_args("'open").is_err());
        assert!(split_args("\"open").is_err());
    }
}
