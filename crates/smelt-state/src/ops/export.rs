//! `state export` / `state import`: every state of a backend as one JSON document, for
//! backups and for moving state between backends (systemdb → bucket, say).
//!
//! smelt writes a versioned document,
//! `{"smelt_state_export": 1, "states": {"<id>": {"completed": …, "partial": …}}}`, so a
//! later format can be told apart. On import it also accepts the plain
//! `{"<id>": {"completed": …, "partial": …}}` map that `meltano state export` writes (and
//! [`ExportFormat::Meltano`] produces), so state moves between the two tools both ways.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::OpError;
use crate::pyjson::{dumps, PyJsonStyle};
use crate::{validate_state_id, JobState, StateBackend, SINGER_STATE_KEY};

/// The top-level key that marks a smelt export and holds its format version.
pub const EXPORT_FORMAT_KEY: &str = "smelt_state_export";

/// The export format version this smelt writes and the newest it reads.
pub const EXPORT_FORMAT_VERSION: u64 = 1;

/// Most problems listed when an import document is refused.
const MAX_LISTED_PROBLEMS: usize = 10;

/// The layout [`StateExport::to_json`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// smelt's versioned document, indented for reading and diffing.
    #[default]
    Smelt,
    /// Meltano's plain `{id: {completed, partial}}` map on one line, byte for byte what
    /// `meltano state export` prints, for `meltano state import`.
    Meltano,
}

/// A set of states keyed by state ID (sorted), as exported from or imported into a backend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateExport {
    /// The states, by state ID.
    pub states: BTreeMap<String, JobState>,
}

impl StateExport {
    /// The document in the given layout (no trailing newline).
    pub fn to_json(&self, format: ExportFormat) -> String {
        let mut states = Map::new();
        for (id, state) in &self.states {
            let mut entry = Map::new();
            entry.insert("completed".to_string(), state.completed.clone());
            entry.insert("partial".to_string(), state.partial.clone());
            states.insert(id.clone(), Value::Object(entry));
        }
        match format {
            ExportFormat::Smelt => {
                let mut top = Map::new();
                top.insert(
                    EXPORT_FORMAT_KEY.to_string(),
                    Value::from(EXPORT_FORMAT_VERSION),
                );
                top.insert("states".to_string(), Value::Object(states));
                dumps(&Value::Object(top), PyJsonStyle::Indent(2))
            }
            ExportFormat::Meltano => dumps(&Value::Object(states), PyJsonStyle::Compact),
        }
    }

    /// Parses and fully validates an export document: every state ID must be usable and every
    /// state must be a `{completed, partial}` document. Nothing is accepted unless everything
    /// is valid, so an import never writes half of a bad file. `origin` names the input in
    /// errors (a file name or "stdin").
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<StateExport, OpError> {
        let invalid = |reason: String| OpError::InvalidExport {
            origin: origin.to_string(),
            reason,
        };
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("it is not valid JSON ({e})")))?;
        let Value::Object(top) = value else {
            return Err(invalid(format!(
                "expected a JSON object (from `smelt state export` or `meltano state export`), \
                 found {}",
                crate::json_kind(&value)
            )));
        };
        let entries = entries_of(top).map_err(invalid)?;

        let mut states = BTreeMap::new();
        let mut problems = Vec::new();
        for (id, entry) in entries {
            match parse_entry(&id, &entry) {
                Ok(state) => {
                    states.insert(id, state);
                }
                Err(problem) => problems.push(problem),
            }
        }
        if !problems.is_empty() {
            let count = problems.len();
            problems.truncate(MAX_LISTED_PROBLEMS);
            let more = count - problems.len();
            let mut reason = format!(
                "{count} entr{} invalid, nothing was imported: ",
                if count == 1 { "y is" } else { "ies are" }
            );
            reason.push_str(&problems.join("; "));
            if more > 0 {
                reason.push_str(&format!("; and {more} more"));
            }
            return Err(invalid(reason));
        }
        Ok(StateExport { states })
    }
}

/// The `id → entry` map of either layout.
fn entries_of(mut top: Map<String, Value>) -> Result<Map<String, Value>, String> {
    let Some(version) = top.shift_remove(EXPORT_FORMAT_KEY) else {
        // Meltano's plain map. Catch a single state passed by mistake.
        let single = ["completed", "partial", SINGER_STATE_KEY, "bookmarks"]
            .iter()
            .find(|k| top.contains_key(**k));
        if let Some(key) = single {
            return Err(format!(
                "it has a top-level {key:?} key, so it looks like a single state rather than an \
                 export of states by ID; use `smelt state set` for one state"
            ));
        }
        return Ok(top);
    };
    match version.as_u64() {
        Some(EXPORT_FORMAT_VERSION) => {}
        Some(v) if v > EXPORT_FORMAT_VERSION => {
            return Err(format!(
                "it uses export format version {v}, written by a newer smelt; this smelt reads \
                 version {EXPORT_FORMAT_VERSION}"
            ))
        }
        _ => {
            return Err(format!(
                "\"{EXPORT_FORMAT_KEY}\" must be the format version {EXPORT_FORMAT_VERSION}, \
                 found {version}"
            ))
        }
    }
    match top.shift_remove("states") {
        Some(Value::Object(states)) => Ok(states),
        Some(other) => Err(format!(
            "\"states\" must be an object of state ID → state, found {}",
            crate::json_kind(&other)
        )),
        None => Err("it has no \"states\" object".to_string()),
    }
}

fn parse_entry(id: &str, entry: &Value) -> Result<JobState, String> {
    validate_state_id(id).map_err(|e| e.to_string())?;
    if !entry.is_object() {
        return Err(format!(
            "the state for {id:?} must be an object with \"completed\" and \"partial\", found {}",
            crate::json_kind(entry)
        ));
    }
    let bytes = serde_json::to_vec(entry).map_err(|e| format!("the state for {id:?}: {e}"))?;
    JobState::from_json(&bytes).map_err(|e| match e {
        crate::StateError::Invalid { reason } => format!("the state for {id:?}: {reason}"),
        other => format!("the state for {id:?}: {other}"),
    })
}

/// Reads every state whose ID matches the glob `pattern` (all when `None`). A corrupt stored
/// state fails the export, naming where it is, so a backup is never silently incomplete.
pub fn export(backend: &dyn StateBackend, pattern: Option<&str>) -> Result<StateExport, OpError> {
    let mut states = BTreeMap::new();
    for id in backend.list(pattern)? {
        // A state cleared between listing and reading is simply not exported.
        if let Some(state) = backend.get(&id)? {
            states.insert(id, state);
        }
    }
    Ok(StateExport { states })
}

/// The IDs in `export` that already have state in `backend` (they would be overwritten).
pub fn existing_ids(
    backend: &dyn StateBackend,
    export: &StateExport,
) -> Result<Vec<String>, OpError> {
    let stored: BTreeSet<String> = backend.list(None)?.into_iter().collect();
    Ok(export
        .states
        .keys()
        .filter(|id| stored.contains(*id))
        .cloned()
        .collect())
}

/// Writes every state of `export` into `backend`, replacing existing state for those IDs
/// (as `meltano state import` does), each with one atomic [`StateBackend::set`]. Returns how
/// many were written; a failure part-way says how many were already written.
pub fn import(backend: &dyn StateBackend, export: &StateExport) -> Result<usize, OpError> {
    let total = export.states.len();
    for (done, (id, state)) in export.states.iter().enumerate() {
        backend
            .set(id, state)
            .map_err(|source| OpError::Interrupted {
                done,
                total,
                verb: "imported",
                id: id.clone(),
                source: Box::new(source),
            })?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{backend, ok};
    use crate::StateError;
    use serde_json::json;

    fn sample() -> StateExport {
        let mut states = BTreeMap::new();
        states.insert(
            "dev:a-to-b".to_string(),
            JobState {
                completed: json!({"singer_state": {"bookmarks": {"s": {"n": 1}}}}),
                partial: json!({}),
            },
        );
        states.insert(
            "prod:a-to-b".to_string(),
            JobState {
                completed: json!({}),
                partial: json!({"singer_state": {"bookmarks": {"s": {"n": 2.5}}}}),
            },
        );
        StateExport { states }
    }

    fn refused(doc: &str) -> String {
        match StateExport::from_json(doc.as_bytes(), "in.json") {
            Err(OpError::InvalidExport { origin, reason }) => {
                assert_eq!(origin, "in.json");
                reason
            }
            other => panic!("expected InvalidExport, got {other:?}"),
        }
    }

    #[test]
    fn versioned_document_round_trips() {
        let text = sample().to_json(ExportFormat::Smelt);
        assert!(
            text.starts_with("{\n  \"smelt_state_export\": 1,\n  \"states\": {"),
            "{text}"
        );
        assert_eq!(ok(StateExport::from_json(text.as_bytes(), "x")), sample());
    }

    #[test]
    fn meltano_plain_map_round_trips_and_matches_meltanos_bytes() {
        let text = sample().to_json(ExportFormat::Meltano);
        assert_eq!(
            text,
            r#"{"dev:a-to-b":{"completed":{"singer_state":{"bookmarks":{"s":{"n":1}}}},"partial":{}},"prod:a-to-b":{"completed":{},"partial":{"singer_state":{"bookmarks":{"s":{"n":2.5}}}}}}"#
        );
        assert_eq!(ok(StateExport::from_json(text.as_bytes(), "x")), sample());
        assert_eq!(
            ok(StateExport::from_json(b"{}", "x")),
            StateExport::default()
        );
    }

    #[test]
    fn every_problem_is_reported_and_nothing_accepted() {
        let reason = refused(
            r#"{"smelt_state_export": 1, "states": {
                "ok": {"completed": {}, "partial": {}},
                "../evil": {"completed": {}, "partial": {}},
                "bare": {"singer_state": {"bookmarks": {}}},
                "list": [1],
                "half": {"completed": 3}}}"#,
        );
        assert!(reason.contains("4 entries are invalid"), "{reason}");
        assert!(reason.contains("\"../evil\""), "{reason}");
        assert!(
            reason.contains("\"bare\"") && reason.contains("bare Singer state"),
            "{reason}"
        );
        assert!(
            reason.contains("\"list\"") && reason.contains("found an array"),
            "{reason}"
        );
        assert!(
            reason.contains("\"half\"") && reason.contains("found a number"),
            "{reason}"
        );
    }

    #[test]
    fn malformed_documents_are_refused_with_reasons() {
        assert!(refused("{oops").contains("not valid JSON"));
        assert!(refused("[]").contains("found an array"));
        assert!(refused(r#"{"smelt_state_export": 2, "states": {}}"#).contains("newer smelt"));
        assert!(refused(r#"{"smelt_state_export": "1", "states": {}}"#).contains("format version"));
        assert!(refused(r#"{"smelt_state_export": 1}"#).contains("no \"states\""));
        assert!(refused(r#"{"smelt_state_export": 1, "states": []}"#).contains("found an array"));
        assert!(refused(r#"{"singer_state": {"bookmarks": {}}}"#).contains("single state"));
        assert!(refused(r#"{"completed": {}, "partial": {}}"#).contains("state set"));
    }

    #[test]
    fn export_then_import_moves_states_between_backends() {
        let (_a, from) = backend();
        let (_b, to) = backend();
        for (id, state) in &sample().states {
            ok(from.set(id, state));
        }
        ok(to.set(
            "prod:a-to-b",
            &JobState::from_singer_state(json!({"old": 1})),
        ));
        ok(to.set("other", &JobState::from_singer_state(json!({"keep": 1}))));

        let all = ok(export(&from, None));
        assert_eq!(all, sample());
        assert_eq!(ok(existing_ids(&to, &all)), vec!["prod:a-to-b".to_string()]);
        assert_eq!(ok(import(&to, &all)), 2);
        assert_eq!(
            ok(to.get("prod:a-to-b")),
            sample().states.get("prod:a-to-b").cloned()
        );
        assert!(
            ok(to.get("other")).is_some(),
            "IDs not in the export are kept"
        );
        // the written files are Meltano's layout
        let bytes = ok(std::fs::read(ok(to.state_path("dev:a-to-b"))));
        assert_eq!(
            bytes,
            br#"{"completed": {"singer_state": {"bookmarks": {"s": {"n": 1}}}}, "partial": {}}"#
        );
    }

    #[test]
    fn export_filters_by_pattern_and_fails_on_corrupt_state() {
        let (_d, b) = backend();
        for (id, state) in &sample().states {
            ok(b.set(id, state));
        }
        let dev = ok(export(&b, Some("dev:*")));
        assert_eq!(dev.states.keys().collect::<Vec<_>>(), ["dev:a-to-b"]);

        ok(std::fs::write(ok(b.state_path("prod:a-to-b")), b"nope"));
        let err = export(&b, None).err();
        assert!(
            matches!(err, Some(OpError::State(StateError::Corrupt { .. }))),
            "{err:?}"
        );
    }
}
