//! `smelt state …`: parse the arguments, call `smelt_state::ops`, print. Destructive changes
//! (overwriting or clearing stored state) ask first on a terminal and need `--force` without
//! one. Data goes to stdout; confirmations and progress messages go to stderr.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::Command;

use smelt_state::ops::{self, EditOutcome, ExportFormat, OpError, StateExport};
use smelt_state::pyjson::{dumps, PyJsonStyle};
use smelt_state::{StateBackend, StateError};

use super::print_out;
use crate::cli::{Cli, ExportFormatArg, GetFormat, StateCommand};
use crate::project_context::{
    load_project_for_state, open_systemdb, project_settings, state_backend, CliError,
};

/// Runs a state subcommand.
pub fn run(cli: &Cli, cmd: &StateCommand) -> Result<i32, CliError> {
    let mut project = load_project_for_state(cli)?;
    let db = open_systemdb(&mut project)?;
    let settings = project_settings(&project)?;
    let backend = state_backend(&project, &settings, &db)?;
    let backend = backend.as_ref();
    match cmd {
        StateCommand::List { pattern } => list(backend, pattern.as_deref()),
        StateCommand::Get { state_id, format } => get(backend, state_id, *format),
        StateCommand::Set {
            state_id,
            state,
            input_file,
            force,
        } => {
            let (text, origin) = read_value(state.as_deref(), input_file.as_deref())?;
            let value = ops::parse_state_value(&text, &origin).map_err(op_error)?;
            confirm_overwrite(
                backend,
                state_id,
                *force,
                "This will overwrite the state's current value.",
            )?;
            ops::set(backend, state_id, value).map_err(op_error)?;
            done(&format!("State for {state_id} was successfully set."))
        }
        StateCommand::Merge {
            state_id,
            state,
            input_file,
            from_state_id,
        } => {
            match from_state_id {
                Some(src) => ops::merge_from(backend, state_id, src),
                None => {
                    let (text, origin) = read_value(state.as_deref(), input_file.as_deref())?;
                    let value = ops::parse_state_value(&text, &origin).map_err(op_error)?;
                    ops::merge(backend, state_id, value)
                }
            }
            .map_err(op_error)?;
            done(&format!("State for {state_id} was successfully merged."))
        }
        StateCommand::Copy {
            src_state_id: src,
            dst_state_id: dst,
            force,
        } => {
            refuse_same(src, dst, "copy")?;
            require_state(backend, src, "copy")?;
            confirm_overwrite(
                backend,
                dst,
                *force,
                "This will overwrite state for the destination.",
            )?;
            ops::copy(backend, src, dst).map_err(op_error)?;
            done(&format!(
                "State for {dst} was successfully copied from {src}."
            ))
        }
        StateCommand::Move {
            src_state_id: src,
            dst_state_id: dst,
            force,
        } => {
            refuse_same(src, dst, "move")?;
            require_state(backend, src, "move")?;
            confirm(
                *force,
                "This will clear the source state and overwrite destination state.",
                &format!("move the state of '{src}' to '{dst}'"),
            )?;
            ops::move_state(backend, src, dst).map_err(op_error)?;
            done(&format!("State for {src} was successfully moved to {dst}."))
        }
        StateCommand::Clear {
            state_id: Some(id),
            force,
            ..
        } => clear_one(backend, id, *force),
        StateCommand::Clear {
            state_id: None,
            force,
            ..
        } => clear_all(backend, *force),
        StateCommand::Edit { state_id, .. } => edit(backend, state_id),
        StateCommand::Export { pattern, format } => {
            let export = ops::export(backend, pattern.as_deref()).map_err(op_error)?;
            let format = match format {
                ExportFormatArg::Smelt => ExportFormat::Smelt,
                ExportFormatArg::Meltano => ExportFormat::Meltano,
            };
            print_out(&export.to_json(format))?;
            done(&format!(
                "Exported {} state(s) from {}.",
                export.states.len(),
                backend.name()
            ))
        }
        StateCommand::Import { input_file, force } => import(backend, input_file, *force),
    }
}

fn list(backend: &dyn StateBackend, pattern: Option<&str>) -> Result<i32, CliError> {
    let ids = backend.list(pattern).map_err(state_error)?;
    if ids.is_empty() {
        return done("No state IDs found.");
    }
    print_out(&ids.join("\n"))?;
    Ok(0)
}

fn get(backend: &dyn StateBackend, id: &str, format: GetFormat) -> Result<i32, CliError> {
    if format == GetFormat::Raw {
        return match backend.get(id).map_err(state_error)? {
            Some(state) => {
                print_out(&String::from_utf8_lossy(&state.to_meltano_json()))?;
                Ok(0)
            }
            None => Err(CliError::fail(format!(
                "no state stored for '{id}'\n  hint: `smelt state list` shows the state IDs that exist"
            ))),
        };
    }
    let effective = ops::get_effective(backend, id).map_err(op_error)?;
    if effective.is_none() {
        eprintln!("No state stored for {id}.");
    }
    let value = effective.unwrap_or_else(|| serde_json::json!({}));
    let style = match format {
        GetFormat::Pretty => PyJsonStyle::Indent(2),
        _ => PyJsonStyle::Compact,
    };
    print_out(&dumps(&value, style))?;
    Ok(0)
}

fn clear_one(backend: &dyn StateBackend, id: &str, force: bool) -> Result<i32, CliError> {
    match backend.get(id) {
        Ok(None) => return done(&format!("No state stored for {id}; nothing to clear.")),
        Ok(Some(_)) | Err(StateError::Corrupt { .. }) => {}
        Err(e) => return Err(state_error(e)),
    }
    confirm(
        force,
        "This will clear state for the job.",
        &format!("clear the state of '{id}'"),
    )?;
    ops::clear(backend, id).map_err(op_error)?;
    done(&format!("State for {id} was successfully cleared."))
}

fn clear_all(backend: &dyn StateBackend, force: bool) -> Result<i32, CliError> {
    let count = backend.list(None).map_err(state_error)?.len();
    if count == 0 {
        return done("No state IDs found; nothing to clear.");
    }
    confirm(
        force,
        &format!("This will clear the state of {count} state ID(s)."),
        &format!("clear the state of {count} state ID(s)"),
    )?;
    let cleared = ops::clear_all(backend).map_err(op_error)?;
    done(&format!(
        "{} state(s) were successfully cleared.",
        cleared.len()
    ))
}

fn edit(backend: &dyn StateBackend, id: &str) -> Result<i32, CliError> {
    match ops::edit(backend, id, &mut open_editor).map_err(op_error)? {
        EditOutcome::Saved(_) => done(&format!("State for {id} was successfully updated.")),
        EditOutcome::Unchanged => done("No changes detected; nothing was written."),
        EditOutcome::Emptied => done("Empty content provided; nothing was written."),
    }
}

fn import(backend: &dyn StateBackend, input: &Path, force: bool) -> Result<i32, CliError> {
    let from_stdin = input.as_os_str() == "-";
    let (bytes, origin) = if from_stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::fail(format!("could not read stdin: {e}")))?;
        (bytes, "stdin".to_string())
    } else {
        let bytes = std::fs::read(input)
            .map_err(|e| CliError::fail(format!("could not read {}: {e}", input.display())))?;
        (bytes, input.display().to_string())
    };
    let export = StateExport::from_json(&bytes, &origin).map_err(op_error)?;
    let existing = ops::existing_ids(backend, &export).map_err(op_error)?;
    if !existing.is_empty() && !force {
        let shown = preview(&existing);
        let action = format!("overwrite the stored state of {shown}");
        if from_stdin {
            // The document took stdin, so there is no way left to answer a prompt.
            return Err(refusal(&action, "the document was read from stdin"));
        }
        let question = format!(
            "This will overwrite the stored state of {} state ID(s): {shown}.",
            existing.len()
        );
        confirm(false, &question, &action)?;
    }
    let count = ops::import(backend, &export).map_err(op_error)?;
    done(&format!(
        "Successfully imported {count} state(s) into {}.",
        backend.name()
    ))
}

/// The new state's JSON text and a name for it in messages, from the argument or the file.
/// clap guarantees exactly one of them is given.
fn read_value(state: Option<&str>, file: Option<&Path>) -> Result<(String, String), CliError> {
    match (state, file) {
        (Some(text), _) => Ok((text.to_string(), "the STATE argument".to_string())),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|text| (text, format!("file {}", path.display())))
            .map_err(|e| CliError::fail(format!("could not read {}: {e}", path.display()))),
        (None, None) => Err(CliError::usage(
            "give the state as an argument or with --input-file",
        )),
    }
}

/// Fails with "no state is stored" before asking anything, when `id` has no state.
fn require_state(
    backend: &dyn StateBackend,
    id: &str,
    action: &'static str,
) -> Result<(), CliError> {
    match backend.get(id) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(op_error(OpError::NoState {
            id: id.to_string(),
            action,
        })),
        Err(e) => Err(state_error(e)),
    }
}

fn refuse_same(src: &str, dst: &str, action: &'static str) -> Result<(), CliError> {
    if src == dst {
        return Err(CliError::usage(OpError::SameId {
            id: src.to_string(),
            action,
        }));
    }
    Ok(())
}

/// Asks before overwriting `id`'s state, if it has any (a corrupt document counts).
fn confirm_overwrite(
    backend: &dyn StateBackend,
    id: &str,
    force: bool,
    question: &str,
) -> Result<(), CliError> {
    match backend.get(id) {
        Ok(None) => Ok(()),
        Ok(Some(_)) => confirm(
            force,
            question,
            &format!("overwrite the state stored for '{id}'"),
        ),
        Err(e @ StateError::Corrupt { .. }) => {
            eprintln!("{e}");
            confirm(
                force,
                &format!("The stored state for {id} is corrupt; it will be replaced."),
                &format!("replace the corrupt state stored for '{id}'"),
            )
        }
        Err(e) => Err(state_error(e)),
    }
}

/// Meltano's confirmation: with `--force` go ahead; on a terminal ask `[y/N]`; without a
/// terminal refuse, saying to pass `--force`.
fn confirm(force: bool, question: &str, action: &str) -> Result<(), CliError> {
    if force {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(refusal(action, "stdin is not a terminal"));
    }
    eprint!("{question} Continue? [y/N]: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .read_line(&mut answer)
        .map_err(|e| CliError::fail(format!("could not read the answer: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::fail("aborted; nothing was changed")),
    }
}

fn refusal(action: &str, why: &str) -> CliError {
    CliError::fail(format!(
        "refusing to {action} without confirmation: {why}\n  hint: pass --force to do it anyway"
    ))
}

/// Up to five IDs, quoted, for a prompt.
fn preview(ids: &[String]) -> String {
    let mut shown: Vec<String> = ids.iter().take(5).map(|id| format!("'{id}'")).collect();
    if ids.len() > 5 {
        shown.push(format!("and {} more", ids.len() - 5));
    }
    shown.join(", ")
}

/// Opens `path` in `$VISUAL`, else `$EDITOR`, else `vi`, through `sh` (so `code --wait`
/// works), and waits for it.
fn open_editor(path: &Path) -> Result<(), String> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(&editor)
        .arg(path)
        .status()
        .map_err(|e| format!("could not start `{editor}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{editor}` exited with {status}"))
    }
}

/// Prints a progress message to stderr and succeeds.
fn done(message: &str) -> Result<i32, CliError> {
    eprintln!("{message}");
    Ok(0)
}

/// Bad state IDs and patterns are usage errors (exit 2); everything else fails (exit 1).
fn state_error(e: StateError) -> CliError {
    match e {
        StateError::InvalidId { .. } | StateError::InvalidPattern { .. } => CliError::usage(e),
        other => CliError::fail(other),
    }
}

fn op_error(e: OpError) -> CliError {
    match e {
        OpError::State(e) => state_error(e),
        OpError::SameId { .. } => CliError::usage(e),
        other => CliError::fail(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_shows_at_most_five_ids() {
        let ids: Vec<String> = (1..=7).map(|i| format!("dev:t{i}")).collect();
        assert_eq!(preview(&ids[..2]), "'dev:t1', 'dev:t2'");
        assert_eq!(
            preview(&ids),
            "'dev:t1', 'dev:t2', 'dev:t3', 'dev:t4', 'dev:t5', and 2 more"
        );
    }

    #[test]
    fn bad_ids_and_patterns_are_usage_errors_the_rest_failures() {
        let invalid_id = StateError::InvalidId {
            id: "../x".into(),
            reason: "path".into(),
        };
        assert_eq!(state_error(invalid_id).code, 2);
        let pattern = StateError::InvalidPattern {
            pattern: "[".into(),
            reason: "glob".into(),
        };
        assert_eq!(op_error(OpError::State(pattern)).code, 2);
        let same = OpError::SameId {
            id: "a".into(),
            action: "move",
        };
        assert_eq!(op_error(same).code, 2);
        let corrupt = StateError::Corrupt {
            location: "/s/a/state.json".into(),
            reason: "torn".into(),
        };
        let err = op_error(OpError::State(corrupt));
        assert_eq!(err.code, 1);
        assert!(err.message.contains("/s/a/state.json"), "{}", err.message);
    }

    #[test]
    fn refusal_says_to_pass_force() {
        let err = refusal("clear the state of 'x'", "stdin is not a terminal");
        assert_eq!(err.code, 1);
        assert!(err.message.contains("refusing to clear the state of 'x'"));
        assert!(err.message.contains("pass --force"));
    }
}
