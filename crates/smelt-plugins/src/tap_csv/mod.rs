//! tap-csv: a Singer tap that reads CSV files (capabilities: catalog, discover, state).
//!
//! `run` is the whole program over any `Write`, so tests drive it without a process.

mod bookmarks;
mod coerce;
mod config;
mod discover;
mod error;
mod paths;
mod reader;
mod record;
mod selection;
mod sync;

use std::io::{BufRead, Write};

use serde_json::json;

pub(crate) use error::TapCsvError;

use bookmarks::TapState;
use smelt_plugin_sdk::args::SingerArgs;
use smelt_plugin_sdk::catalog::Catalog;
use smelt_plugin_sdk::json_file::{load_config, read_json};
use smelt_plugin_sdk::log;
use smelt_plugin_sdk::registry::{Flags, NativePlugin};
use smelt_plugin_sdk::spec::{PluginKind, PluginSpec, SettingSpec, SettingType};

/// How often (in records) an incremental stream checkpoints its bookmark.
pub(crate) const STATE_EVERY: u64 = 10_000;

/// What tap-csv is, for `--about` and the project's plugin definitions.
pub(crate) const SPEC: PluginSpec = PluginSpec {
    name: "tap-csv",
    kind: PluginKind::Extractor,
    description: "Reads CSV files (a file, a directory of *.csv or a glob per entity) as Singer \
                  streams; built into smelt.",
    capabilities: &["catalog", "discover", "state"],
    settings: &[
        SettingSpec {
            name: "files",
            kind: SettingType::Array,
            default: None,
            description: "The entities to read: [{entity, path, keys, replication_key?, \
                          delimiter?, quotechar?, encoding?}]. `path` is a file, a directory \
                          (every *.csv inside) or a glob, relative to the project root.",
            items: Some(file_item_schema),
        },
        SettingSpec {
            name: "csv_files_definition",
            kind: SettingType::String,
            default: None,
            description: "Path of a JSON file holding the `files` list.",
            items: None,
        },
    ],
};

fn file_item_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "entity": {"type": "string", "description": "Stream name."},
            "path": {"type": "string", "description": "File, directory or glob."},
            "keys": {"type": "array", "items": {"type": "string"}, "description": "Primary key columns."},
            "replication_key": {"type": "string", "description": "Column bookmarked for incremental runs."},
            "delimiter": {"type": "string", "default": ","},
            "quotechar": {"type": "string", "default": "\""},
            "encoding": {"type": "string", "default": "utf-8", "description": "Only utf-8 is supported."}
        },
        "required": ["entity", "path"]
    })
}

/// tap-csv's entry in the native plugin registry.
pub(crate) static PLUGIN: NativePlugin = NativePlugin {
    spec: &SPEC,
    flags: Flags::TAP,
    run: run_plugin,
};

/// [`run`] as the registry calls it (a tap reads no Singer input).
fn run_plugin(
    args: &SingerArgs,
    _input: &mut dyn BufRead,
    mut output: &mut dyn Write,
) -> Result<(), String> {
    run(args, &mut output).map_err(|e| e.to_string())
}

/// Runs tap-csv: `--discover` prints the catalog; otherwise the selected streams are synced.
pub(crate) fn run<W: Write>(args: &SingerArgs, out: &mut W) -> Result<(), TapCsvError> {
    run_with(args, out, STATE_EVERY)
}

/// [`run`] with a chosen checkpoint interval (tests use small ones).
pub(crate) fn run_with<W: Write>(
    args: &SingerArgs,
    out: &mut W,
    state_every: u64,
) -> Result<(), TapCsvError> {
    let config = load_config(args)?;
    let defs = config::file_defs(&config)?;

    if args.discover {
        let plans = defs
            .into_iter()
            .map(discover::plan)
            .collect::<Result<Vec<_>, _>>()?;
        serde_json::to_writer_pretty(&mut *out, &discover::catalog(&plans))
            .map_err(|e| TapCsvError::Output(e.into()))?;
        out.write_all(b"\n").map_err(TapCsvError::Output)?;
        out.flush().map_err(TapCsvError::Output)?;
        return Ok(());
    }

    let catalog = match &args.catalog {
        Some(path) => Some(Catalog::from_value(&read_json(path, "catalog")?)?),
        None => None,
    };
    let mut state = match &args.state {
        Some(path) => TapState::from_file_value(read_json(path, "state")?)?,
        None => TapState::default(),
    };

    if let Some(catalog) = &catalog {
        for id in catalog.stream_ids() {
            if !defs.iter().any(|d| d.entity == id) {
                log::warn(&format!(
                    "tap-csv: the catalog lists stream '{id}', which is not configured; ignored"
                ));
            }
        }
    }

    // Plan every selected stream first, so a missing file fails the run before any output.
    let mut work = Vec::new();
    for def in defs {
        let entry = match &catalog {
            None => None,
            Some(catalog) => match catalog.stream(&def.entity) {
                Some(entry) if entry.stream_selected() => Some(entry),
                Some(_) => {
                    log::info(&format!(
                        "tap-csv: stream '{}' is not selected; skipped",
                        def.entity
                    ));
                    continue;
                }
                None => {
                    log::info(&format!(
                        "tap-csv: stream '{}' is not in the catalog; skipped",
                        def.entity
                    ));
                    continue;
                }
            },
        };
        let plan = discover::plan(def)?;
        let resolved = selection::resolve(&plan, entry)?;
        work.push((plan, resolved));
    }

    for (plan, resolved) in &work {
        let stats = sync::sync_stream(plan, resolved, &mut state, out, state_every)?;
        log::info(&format!(
            "tap-csv: stream '{}': {} records from {} file(s){}",
            plan.name(),
            stats.records,
            plan.files.len(),
            if stats.skipped > 0 {
                format!(", {} rows at or before the bookmark skipped", stats.skipped)
            } else {
                String::new()
            }
        ));
    }
    out.flush().map_err(TapCsvError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::path::{Path, PathBuf};

    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture {
                dir: tempfile::tempdir().unwrap(),
            }
        }
        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }
        fn root(&self) -> &str {
            self.dir.path().to_str().unwrap()
        }
        fn write(&self, name: &str, content: &str) -> PathBuf {
            let path = self.path(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::write(&path, content).unwrap();
            path
        }
        fn json(&self, name: &str, value: Value) -> PathBuf {
            self.write(name, &value.to_string())
        }
    }

    fn args(config: &Path) -> SingerArgs {
        SingerArgs {
            config: vec![config.to_path_buf()],
            ..SingerArgs::default()
        }
    }

    fn run_lines(args: &SingerArgs, state_every: u64) -> Result<Vec<Value>, TapCsvError> {
        let mut out = Vec::new();
        run_with(args, &mut out, state_every)?;
        Ok(String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect())
    }

    fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
        lines.iter().filter(|l| l["type"] == kind).collect()
    }

    #[test]
    fn discover_prints_a_catalog() {
        let fx = Fixture::new();
        fx.write("users.csv", "id,name\n1,ann\n");
        let cfg = fx.json(
            "config.json",
            json!({"files": [{"entity": "users", "path": fx.path("users.csv"), "keys": ["id"]}]}),
        );
        let mut out = Vec::new();
        run(
            &SingerArgs {
                discover: true,
                ..args(&cfg)
            },
            &mut out,
        )
        .unwrap();
        let catalog: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(catalog["streams"][0]["tap_stream_id"], "users");
        assert_eq!(
            catalog["streams"][0]["schema"]["properties"]["name"],
            json!({"type": ["string", "null"]})
        );
        assert_eq!(catalog["streams"][0]["key_properties"], json!(["id"]));
    }

    #[test]
    fn sync_emits_schema_then_records_with_strings() {
        let fx = Fixture::new();
        fx.write(
            "users.csv",
            "id,name,note\n1,ann,\n2,\"bo, b\",\"x\"\"y\"\n",
        );
        let cfg = fx.json(
            "config.json",
            json!({"files": [{"entity": "users", "path": fx.path("users.csv"), "keys": ["id"]}]}),
        );
        let lines = run_lines(&args(&cfg), STATE_EVERY).unwrap();
        assert_eq!(lines[0]["type"], "SCHEMA");
        assert_eq!(lines[0]["key_properties"], json!(["id"]));
        assert_eq!(lines[0]["bookmark_properties"], json!([]));
        let records = of_type(&lines, "RECORD");
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0]["record"],
            json!({"id": "1", "name": "ann", "note": ""})
        );
        assert_eq!(
            records[1]["record"],
            json!({"id": "2", "name": "bo, b", "note": "x\"y"})
        );
        let stamp = records[0]["time_extracted"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{stamp}"
        );
        assert!(
            of_type(&lines, "STATE").is_empty(),
            "full-table streams keep no bookmark"
        );
    }

    #[test]
    fn catalog_selection_filters_streams_and_columns() {
        let fx = Fixture::new();
        fx.write("a.csv", "id,x,y\n1,2,3\n");
        fx.write("b.csv", "id\n1\n");
        fx.write("c.csv", "id\n1\n");
        let cfg = fx.json(
            "config.json",
            json!({"files": [
                {"entity": "a", "path": fx.path("a.csv"), "keys": ["id"]},
                {"entity": "b", "path": fx.path("b.csv"), "keys": ["id"]},
                {"entity": "c", "path": fx.path("missing.csv"), "keys": ["id"]}
            ]}),
        );
        let catalog = fx.json(
            "catalog.json",
            json!({"streams": [
                {"tap_stream_id": "a", "schema": {"type": "object", "properties": {
                    "id": {"type": "string"}, "x": {"type": ["integer", "null"]}, "y": {"type": "string"}}},
                 "metadata": [
                    {"breadcrumb": [], "metadata": {"selected": true}},
                    {"breadcrumb": ["properties", "y"], "metadata": {"selected": false}}
                 ]},
                {"tap_stream_id": "b", "metadata": [{"breadcrumb": [], "metadata": {"selected": false}}]}
            ]}),
        );
        let lines = run_lines(
            &SingerArgs {
                catalog: Some(catalog),
                ..args(&cfg)
            },
            STATE_EVERY,
        )
        .unwrap();
        let schemas = of_type(&lines, "SCHEMA");
        assert_eq!(
            schemas.len(),
            1,
            "only a is selected; c's missing file is never read"
        );
        assert_eq!(schemas[0]["stream"], "a");
        assert_eq!(
            schemas[0]["schema"]["properties"],
            json!({"id": {"type": "string"}, "x": {"type": ["integer", "null"]}})
        );
        let records = of_type(&lines, "RECORD");
        assert_eq!(records[0]["record"], json!({"id": "1", "x": 2}));
    }

    #[test]
    fn incremental_runs_skip_rows_up_to_the_bookmark() {
        let fx = Fixture::new();
        let data = fx.write("ev.csv", "id,ts\n1,5\n2,10\n3,7\n");
        let cfg = fx.json(
            "config.json",
            json!({"files": [{"entity": "ev", "path": data, "keys": ["id"], "replication_key": "ts"}]}),
        );
        let first = run_lines(&args(&cfg), STATE_EVERY).unwrap();
        assert_eq!(of_type(&first, "RECORD").len(), 3);
        assert_eq!(first[0]["bookmark_properties"], json!(["ts"]));
        let last_state = of_type(&first, "STATE").last().unwrap()["value"].clone();
        assert_eq!(
            last_state,
            json!({"bookmarks": {"ev": {"replication_key": "ts", "replication_key_value": "10"}}})
        );

        // New rows arrive; the second run moves only rows greater than 10 (numerically).
        fx.write("ev.csv", "id,ts\n1,5\n2,10\n3,7\n4,9\n5,11\n6,100\n7,\n");
        let state_file = fx.json(
            "state.json",
            json!({"completed": {"singer_state": last_state}}),
        );
        let second = run_lines(
            &SingerArgs {
                state: Some(state_file),
                ..args(&cfg)
            },
            STATE_EVERY,
        )
        .unwrap();
        let ids: Vec<_> = of_type(&second, "RECORD")
            .iter()
            .map(|r| r["record"]["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, ["5", "6"]);
        assert_eq!(
            of_type(&second, "STATE").last().unwrap()["value"]["bookmarks"]["ev"]
                ["replication_key_value"],
            "100"
        );
    }

    #[test]
    fn intermediate_states_advance_only_while_sorted() {
        let fx = Fixture::new();
        let sorted = fx.write("s.csv", "ts\n1\n2\n3\n4\n5\n");
        let unsorted = fx.write("u.csv", "ts\n1\n2\n9\n3\n4\n5\n");
        let cfg = fx.json(
            "config.json",
            json!({"files": [
                {"entity": "s", "path": sorted, "replication_key": "ts"},
                {"entity": "u", "path": unsorted, "replication_key": "ts"}
            ]}),
        );
        let lines = run_lines(&args(&cfg), 2).unwrap();
        let values: Vec<(String, Value)> = lines
            .iter()
            .filter(|l| l["type"] == "STATE")
            .map(|l| {
                let bookmarks = &l["value"]["bookmarks"];
                (
                    bookmarks["s"]["replication_key_value"].to_string(),
                    bookmarks["u"]["replication_key_value"].clone(),
                )
            })
            .collect();
        // s: checkpoints at 2 and 4 records, then the final 5.
        assert_eq!(values[0].0, "\"2\"");
        assert_eq!(values[1].0, "\"4\"");
        assert_eq!(values[2].0, "\"5\"");
        // u: checkpoint after 2 rows (sorted so far), none after it turns unsorted, then final 9.
        let u: Vec<_> = values[3..].iter().map(|(_, u)| u.clone()).collect();
        assert_eq!(u, vec![json!("2"), json!("9")]);
    }

    #[test]
    fn directories_and_globs_read_every_file_in_order() {
        let fx = Fixture::new();
        fx.write("d/2024-02.csv", "id,v\n3,c\n");
        fx.write("d/2024-01.csv", "id,v,extra\n1,a,x\n2,b,y\n");
        fx.write("d/readme.txt", "not csv");
        let cfg = fx.json(
            "config.json",
            json!({"files": [
                {"entity": "dir", "path": fx.path("d"), "keys": ["id"]},
                {"entity": "glob", "path": format!("{}/d/2024-0[2].csv", fx.root()), "keys": ["id"]}
            ]}),
        );
        let lines = run_lines(&args(&cfg), STATE_EVERY).unwrap();
        let records = of_type(&lines, "RECORD");
        let dir: Vec<_> = records.iter().filter(|r| r["stream"] == "dir").collect();
        assert_eq!(dir.len(), 3);
        assert_eq!(dir[0]["record"], json!({"id": "1", "v": "a", "extra": "x"}));
        assert_eq!(
            dir[2]["record"],
            json!({"id": "3", "v": "c", "extra": null})
        );
        let glob: Vec<_> = records.iter().filter(|r| r["stream"] == "glob").collect();
        assert_eq!(glob.len(), 1);
        assert_eq!(glob[0]["record"]["id"], "3");
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let fx = Fixture::new();
        let data = fx.write("bad.csv", "id,name\n1,a\n2,b,extra\n");
        let cfg = fx.json(
            "config.json",
            json!({"files": [{"entity": "people", "path": data, "keys": ["id"]}]}),
        );
        let err = run_lines(&args(&cfg), STATE_EVERY).unwrap_err().to_string();
        assert!(
            err.contains(
                "bad.csv' (entity people), line 3: the row has 3 fields but the header has 2"
            ),
            "{err}"
        );

        std::fs::write(fx.path("bad.csv"), b"id,name\n1,a\n2,\xff\n").unwrap();
        let err = run_lines(&args(&cfg), STATE_EVERY).unwrap_err().to_string();
        assert!(err.contains("line 3: field 2 is not valid UTF-8"), "{err}");
    }

    #[test]
    fn missing_file_and_key_column_errors() {
        let fx = Fixture::new();
        let cfg = fx.json(
            "config.json",
            json!({"files": [{"entity": "people", "path": "no/such/file.csv"}]}),
        );
        let err = run_lines(&args(&cfg), STATE_EVERY).unwrap_err().to_string();
        assert!(
            err.starts_with("tap-csv: file 'no/such/file.csv' (entity people) not found"),
            "{err}"
        );
        let data = fx.write("p.csv", "name\nann\n");
        let cfg = fx.json(
            "config.json",
            json!({"files": [{"entity": "people", "path": data, "keys": ["id"]}]}),
        );
        let err = run_lines(&args(&cfg), STATE_EVERY).unwrap_err().to_string();
        assert!(
            err.contains("key column 'id' is not in the header row"),
            "{err}"
        );
    }

    #[test]
    fn custom_dialect() {
        let fx = Fixture::new();
        let data = fx.write("semi.csv", "id;name\n1;'a;b'\n");
        let cfg = fx.json(
            "config.json",
            json!({"files": [{"entity": "e", "path": data, "keys": ["id"],
                              "delimiter": ";", "quotechar": "'"}]}),
        );
        let lines = run_lines(&args(&cfg), STATE_EVERY).unwrap();
        assert_eq!(of_type(&lines, "RECORD")[0]["record"]["name"], "a;b");
    }
}
