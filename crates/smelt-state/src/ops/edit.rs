//! `state edit`: show the state a run would start from in the user's editor and store what
//! they save, without ever losing their edit or silently discarding a concurrent change.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{check_state_value, OpError};
use crate::pyjson::{dumps, PyJsonStyle};
use crate::{validate_state_id, JobState, StateBackend, StateError};

/// What [`edit`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum EditOutcome {
    /// The edited value was stored as the completed state (partial state emptied).
    Saved(JobState),
    /// The document came back equal to what was shown; nothing was written.
    Unchanged,
    /// The document came back empty (the user's way to cancel); nothing was written.
    Emptied,
}

/// Edits the state of `id` like `meltano state edit`: the effective state (`{}` when there is
/// none) is written, indented, to a private (0600) temporary `.json` file, `open_editor` is
/// called with its path and must return once the user is done, and the result is stored as
/// [`super::set`] would — if it changed and holds a `singer_state` object.
///
/// If the result is not valid, or the stored state changed while the editor was open (a run
/// saved bookmarks meanwhile), nothing is written and the edit is kept on disk; the error
/// names the file. The stored state is written with one [`StateBackend::update`], which checks
/// it is still what was shown.
pub fn edit(
    backend: &dyn StateBackend,
    id: &str,
    open_editor: &mut dyn FnMut(&Path) -> Result<(), String>,
) -> Result<EditOutcome, OpError> {
    validate_state_id(id)?;
    let shown = backend.get(id)?;
    let initial = shown
        .as_ref()
        .map(JobState::effective_state)
        .unwrap_or_else(|| Value::Object(Map::new()));
    let file = write_temp(&initial)?;
    open_editor(file.path()).map_err(|reason| OpError::Editor { reason })?;

    let text = match fs::read(file.path()) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string()),
        Err(e) => return Err(StateError::io("read the edited file", file.path(), e).into()),
    };
    let text = match text {
        Ok(text) => text,
        Err(reason) => return Err(invalid_edit(id, reason, file)),
    };
    if text.trim().is_empty() {
        return Ok(EditOutcome::Emptied);
    }
    let edited: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return Err(invalid_edit(
                id,
                format!("it is not valid JSON ({e})"),
                file,
            ))
        }
    };
    if edited == initial {
        return Ok(EditOutcome::Unchanged);
    }
    if let Err(reason) = check_state_value(&edited) {
        return Err(invalid_edit(id, reason, file));
    }

    let next = JobState {
        completed: edited,
        partial: Value::Object(Map::new()),
    };
    let mut changed = false;
    let result = backend.update(id, &mut |current| {
        if current != shown {
            changed = true;
            return Err(StateError::Invalid {
                reason: "the stored state changed during the edit".to_string(),
            });
        }
        Ok(next.clone())
    });
    match result {
        Ok(stored) => Ok(EditOutcome::Saved(stored)),
        Err(_) if changed => Err(OpError::ChangedWhileEditing {
            id: id.to_string(),
            kept: keep(file),
        }),
        Err(e) => Err(invalid_edit(id, format!("storing it failed: {e}"), file)),
    }
}

/// Writes `value` (indented like `state get --format pretty`) to a new private temp file.
fn write_temp(value: &Value) -> Result<tempfile::NamedTempFile, OpError> {
    let dir = std::env::temp_dir();
    let mut file = tempfile::Builder::new()
        .prefix("smelt-state-")
        .suffix(".json")
        .tempfile_in(&dir)
        .map_err(|e| StateError::io("create a temporary file in", &dir, e))?;
    restrict(file.as_file(), file.path())?;
    let mut text = dumps(value, PyJsonStyle::Indent(2));
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| StateError::io("write the temporary file", file.path(), e))?;
    Ok(file)
}

/// Makes sure only the user can read the file (state may hold sensitive bookmarks).
#[cfg(unix)]
fn restrict(file: &fs::File, path: &Path) -> Result<(), OpError> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| StateError::io("restrict the permissions of", path, e).into())
}

#[cfg(not(unix))]
fn restrict(_file: &fs::File, _path: &Path) -> Result<(), OpError> {
    Ok(())
}

fn invalid_edit(id: &str, reason: String, file: tempfile::NamedTempFile) -> OpError {
    OpError::InvalidEdit {
        id: id.to_string(),
        reason,
        kept: keep(file),
    }
}

/// Keeps the temp file on disk (so the user's edit survives) and returns its path.
fn keep(file: tempfile::NamedTempFile) -> PathBuf {
    let path = file.path().to_path_buf();
    match file.into_temp_path().keep() {
        Ok(kept) => kept,
        Err(_) => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{backend, ok};
    use serde_json::json;

    const ID: &str = "dev:tap-a-to-target-b";

    fn stored() -> JobState {
        JobState {
            completed: json!({"singer_state": {"bookmarks": {"a": 1}}}),
            partial: json!({"singer_state": {"bookmarks": {"b": 2}}}),
        }
    }

    /// Identifies the file at `path` (an atomic rewrite replaces it with a new inode).
    fn inode(path: &Path) -> u64 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            ok(fs::metadata(path)).ino()
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            0
        }
    }

    /// An "editor" that checks what it was shown and writes `replacement`.
    fn editor(replacement: &'static str) -> impl FnMut(&Path) -> Result<(), String> {
        move |path: &Path| {
            let shown = fs::read_to_string(path).map_err(|e| e.to_string())?;
            assert!(shown.ends_with('\n'));
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(path)
                    .map_err(|e| e.to_string())?
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600);
            }
            assert_eq!(path.extension().and_then(|e| e.to_str()), Some("json"));
            fs::write(path, replacement).map_err(|e| e.to_string())
        }
    }

    #[test]
    fn shows_the_effective_state_and_saves_the_edit_as_completed() {
        let (_d, b) = backend();
        ok(b.set(ID, &stored()));
        let mut seen = String::new();
        let outcome = ok(edit(&b, ID, &mut |path: &Path| {
            seen = fs::read_to_string(path).map_err(|e| e.to_string())?;
            fs::write(path, r#"{"singer_state": {"bookmarks": {"a": 7}}}"#)
                .map_err(|e| e.to_string())
        }));
        assert_eq!(
            seen,
            "{\n  \"singer_state\": {\n    \"bookmarks\": {\n      \"a\": 1,\n      \"b\": 2\n    }\n  }\n}\n"
        );
        let expected = JobState::from_singer_state(json!({"bookmarks": {"a": 7}}));
        assert_eq!(outcome, EditOutcome::Saved(expected.clone()));
        assert_eq!(ok(b.get(ID)), Some(expected));
    }

    #[test]
    fn unchanged_or_empty_writes_nothing() {
        let (_d, b) = backend();
        ok(b.set(ID, &stored()));
        let path = ok(b.state_path(ID));
        let before = ok(fs::read(&path));
        let before_inode = inode(&path);
        // Same JSON, different whitespace: unchanged, and partial is not folded in.
        let out = ok(edit(
            &b,
            ID,
            &mut editor(r#"{"singer_state":{"bookmarks":{"a":1,"b":2}}}"#),
        ));
        assert_eq!(out, EditOutcome::Unchanged);
        assert_eq!(ok(edit(&b, ID, &mut editor("  \n"))), EditOutcome::Emptied);
        assert_eq!(ok(b.get(ID)), Some(stored()));
        assert_eq!(ok(fs::read(&path)), before);
        assert_eq!(inode(&path), before_inode, "the file was not rewritten");
        // No state yet: `{}` is shown, saving it unchanged creates nothing.
        assert_eq!(
            ok(edit(&b, "new", &mut editor("{}"))),
            EditOutcome::Unchanged
        );
        assert_eq!(ok(b.get("new")), None);
    }

    #[test]
    fn invalid_edits_are_refused_and_kept() {
        let (_d, b) = backend();
        ok(b.set(ID, &stored()));
        for (bad, needle) in [
            ("{not json", "not valid JSON"),
            (r#"{"bookmarks": {"a": 3}}"#, "bare Singer state"),
        ] {
            match edit(&b, ID, &mut editor(bad)) {
                Err(OpError::InvalidEdit { reason, kept, .. }) => {
                    assert!(reason.contains(needle), "{reason}");
                    assert_eq!(ok(fs::read_to_string(&kept)), bad, "the edit survives");
                    ok(fs::remove_file(&kept));
                }
                other => panic!("expected InvalidEdit, got {other:?}"),
            }
        }
        assert_eq!(ok(b.get(ID)), Some(stored()));
    }

    #[test]
    fn a_concurrent_change_is_not_overwritten() {
        let (_d, b) = backend();
        ok(b.set(ID, &stored()));
        let other = b.clone();
        let result = edit(&b, ID, &mut |path: &Path| {
            // A run saves new bookmarks while the editor is open.
            other
                .set(
                    ID,
                    &JobState::from_singer_state(json!({"bookmarks": {"a": 99}})),
                )
                .map_err(|e| e.to_string())?;
            fs::write(path, r#"{"singer_state": {"bookmarks": {"a": 5}}}"#)
                .map_err(|e| e.to_string())
        });
        match result {
            Err(OpError::ChangedWhileEditing { kept, .. }) => {
                assert!(ok(fs::read_to_string(&kept)).contains("\"a\": 5"));
                ok(fs::remove_file(&kept));
            }
            other => panic!("expected ChangedWhileEditing, got {other:?}"),
        }
        assert_eq!(
            ok(b.get(ID)).and_then(|s| s.effective_singer_state()),
            Some(json!({"bookmarks": {"a": 99}}))
        );
    }

    #[test]
    fn a_failing_editor_changes_nothing() {
        let (_d, b) = backend();
        ok(b.set(ID, &stored()));
        let err = edit(&b, ID, &mut |_: &Path| {
            Err("vi exited with status 1".to_string())
        });
        assert!(matches!(err, Err(OpError::Editor { ref reason }) if reason.contains("status 1")));
        assert_eq!(ok(b.get(ID)), Some(stored()));
    }
}
