//! Tests of target-jsonl, including the Singer SDK target conformance streams.

use super::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// The vendored conformance streams (tests/conformance); a missing directory fails loudly.
fn conformance_dir() -> PathBuf {
    let dir = match std::env::var_os("SMELT_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance"),
    }
    .join("sdk-target-streams");
    assert!(
        dir.is_dir(),
        "conformance data missing: expected the Singer SDK target streams at {} \
         (the repository vendors them in tests/conformance; or set SMELT_CONFORMANCE_DIR)",
        dir.display()
    );
    dir
}

/// The files that must load, as the conformance README lists them.
const PASSING: &[&str] = &[
    "array_data",
    "camelcase",
    "camelcase_complex_schema",
    "duplicate_records",
    "encoded_string_data",
    "multiple_state_messages",
    "no_primary_keys",
    "no_primary_keys_append",
    "optional_attributes",
    "pk_updates",
    "record_missing_fields",
    "schema_no_properties",
    "schema_updates",
    "special_chars_in_attributes",
    "user_location_data",
    "user_location_upsert_data",
];

const FAILING: &[(&str, &str, &str)] = &[
    (
        "invalid_schema",
        "test_invalid_schema",
        "no top-level `properties`",
    ),
    (
        "record_before_schema",
        "test_record_before_schema",
        "RECORD arrived before any SCHEMA",
    ),
    (
        "record_missing_key_property",
        "test_record_missing_key_property",
        "missing key property 'id'",
    ),
    (
        "record_missing_required_property",
        "test_record_missing_required_property",
        "\"id\" is a required property",
    ),
];

struct Run {
    dir: tempfile::TempDir,
    result: Result<Summary, TargetError>,
    stdout: String,
}

impl Run {
    fn output(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    fn file_lines(&self, stream_file: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(self.output().join(stream_file)).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn run_input(input: &[u8], extra_config: Value) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut config = json!({"destination_path": dir.path().join("out")});
    if let (Value::Object(base), Value::Object(extra)) = (&mut config, extra_config) {
        base.extend(extra);
    }
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let args = SingerArgs {
        config: vec![config_path],
        ..SingerArgs::default()
    };
    let mut stdout = Vec::new();
    let result = run(&args, &mut &input[..], &mut stdout);
    Run {
        dir,
        result,
        stdout: String::from_utf8(stdout).unwrap(),
    }
}

fn run_file(path: &Path) -> Run {
    run_input(&std::fs::read(path).unwrap(), json!({}))
}

fn messages(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn conformance_failing_streams_fail_naming_stream_and_problem() {
    let dir = conformance_dir();
    for (file, stream, problem) in FAILING {
        let run = run_file(&dir.join(format!("{file}.singer")));
        let err = match run.result {
            Ok(_) => panic!("{file}: expected a failure"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(&format!("stream '{stream}'")), "{file}: {err}");
        assert!(err.contains(problem), "{file}: {err}");
    }
}

#[test]
fn conformance_passing_streams_load_records_and_acknowledge_states() {
    let dir = conformance_dir();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        if path.extension().and_then(|e| e.to_str()) != Some("singer")
            || FAILING.iter().any(|(f, _, _)| *f == name)
        {
            continue;
        }
        assert!(
            PASSING.contains(&name.as_str()),
            "new conformance file {name}: classify it"
        );
        checked += 1;
        let input = messages(&path);
        let run = run_file(&path);
        if let Err(e) = &run.result {
            panic!("{name}: expected success, got {e}");
        }

        // Every record lands, in order, unchanged, in its stream's file.
        let mut expected: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for message in input.iter().filter(|m| m["type"] == "RECORD") {
            let stream = message["stream"].as_str().unwrap();
            expected
                .entry(smelt_plugin_sdk::names::stream_file_name(stream))
                .or_default()
                .push(message["record"].clone());
        }
        for (file, records) in &expected {
            assert_eq!(
                &run.file_lines(&format!("{file}.jsonl")),
                records,
                "{name}: {file}"
            );
        }

        // States: every non-empty input state, in order, bare.
        let states: Vec<Value> = input
            .iter()
            .filter(|m| m["type"] == "STATE")
            .map(|m| m["value"].clone())
            .filter(|v| v != &json!({}))
            .collect();
        let acknowledged: Vec<Value> = run
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(acknowledged, states, "{name}");
    }
    assert_eq!(
        checked,
        PASSING.len(),
        "some passing conformance files are missing"
    );
}

#[test]
fn special_characters_in_stream_names_are_sanitized() {
    let run = run_file(&conformance_dir().join("special_chars_in_attributes.singer"));
    assert!(run.result.is_ok());
    let lines = run.file_lines("test_SpecialChars_in_attributes.jsonl");
    assert_eq!(lines[0]["d"]["agent:os:version"], "10.13.1");
}

#[test]
fn records_are_written_byte_for_byte() {
    let input = concat!(
        r#"{"type": "SCHEMA", "stream": "s", "schema": {"properties": {"info": {"type": "string"}}}, "key_properties": []}"#,
        "\n",
        r#"{"type": "RECORD", "stream": "s", "record": {"info": "nul \u0000 and \/ slash", "n": [ 1,2 ]}}"#,
        "\r\n",
    );
    let run = run_input(input.as_bytes(), json!({}));
    assert!(run.result.is_ok());
    let text = std::fs::read_to_string(run.output().join("s.jsonl")).unwrap();
    assert_eq!(
        text,
        "{\"info\": \"nul \\u0000 and \\/ slash\", \"n\": [ 1,2 ]}\n"
    );
}

/// A stdout that records, at each flush, the states so far and the output file's line count.
struct Probe {
    file: PathBuf,
    buffer: Vec<u8>,
    seen: Vec<(String, usize)>,
}

impl Write for Probe {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let lines = std::fs::read_to_string(&self.file)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        let text = String::from_utf8_lossy(&self.buffer).into_owned();
        if let Some(last) = text.lines().last() {
            if self.seen.last().map(|(s, _)| s.as_str()) != Some(last) {
                self.seen.push((last.to_string(), lines));
            }
        }
        Ok(())
    }
}

#[test]
fn states_are_acknowledged_in_order_only_after_their_records_are_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.json");
    std::fs::write(
        &config_path,
        json!({"destination_path": dir.path()}).to_string(),
    )
    .unwrap();
    let mut input = String::new();
    input.push_str(r#"{"type":"SCHEMA","stream":"s","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}"#);
    input.push('\n');
    for batch in 1..=3 {
        for i in 0..1000 {
            input.push_str(&format!(
                "{{\"type\":\"RECORD\",\"stream\":\"s\",\"record\":{{\"id\":{}}}}}\n",
                batch * 1000 + i
            ));
        }
        input.push_str(&format!(
            "{{\"type\":\"STATE\",\"value\":{{\"n\":{batch}}}}}\n"
        ));
        input.push_str("{\"type\":\"STATE\",\"value\":{}}\n");
    }
    let mut probe = Probe {
        file: dir.path().join("s.jsonl"),
        buffer: Vec::new(),
        seen: Vec::new(),
    };
    let args = SingerArgs {
        config: vec![config_path],
        ..SingerArgs::default()
    };
    let summary = run(&args, &mut input.as_bytes(), &mut probe).unwrap();
    assert_eq!(summary.states, 3);
    assert_eq!(
        probe.seen,
        vec![
            (r#"{"n":1}"#.to_string(), 1000),
            (r#"{"n":2}"#.to_string(), 2000),
            (r#"{"n":3}"#.to_string(), 3000),
        ]
    );
    assert_eq!(
        String::from_utf8(probe.buffer).unwrap(),
        "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"
    );
}

#[test]
fn batch_is_rejected_and_activate_version_ignored() {
    let schema = r#"{"type":"SCHEMA","stream":"s","schema":{"properties":{}}}"#;
    let input = format!(
        "{schema}\n{{\"type\":\"ACTIVATE_VERSION\",\"stream\":\"s\",\"version\":1}}\n{{\"type\":\"BATCH\",\"stream\":\"s\",\"encoding\":{{}},\"manifest\":[]}}\n"
    );
    let err = run_input(input.as_bytes(), json!({}))
        .result
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("stream 's' (input line 3): BATCH messages are not supported"),
        "{err}"
    );
}

#[test]
fn malformed_lines_are_reported_with_their_number() {
    let err = run_input(
        b"\n{\"type\":\"STATE\",\"value\":{}}\nnot json\n",
        json!({}),
    )
    .result
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("input line 3 is not a Singer message"),
        "{err}"
    );
    let err = run_input(b"{\"type\":\"RECORD\",\"record\":{}}\n", json!({}))
        .result
        .unwrap_err()
        .to_string();
    assert!(err.contains("a RECORD message needs a `stream`"), "{err}");
}

#[test]
fn validation_can_be_turned_off_but_keys_still_checked() {
    let path = conformance_dir().join("record_missing_required_property.singer");
    let run = run_input(
        &std::fs::read(&path).unwrap(),
        json!({"validate_records": false}),
    );
    assert!(run.result.is_ok());
    let path = conformance_dir().join("record_missing_key_property.singer");
    let run = run_input(
        &std::fs::read(&path).unwrap(),
        json!({"validate_records": false}),
    );
    assert!(run.result.is_err());
}

#[test]
fn timestamped_file_names() {
    let input = concat!(
        r#"{"type":"SCHEMA","stream":"s","schema":{"properties":{}}}"#,
        "\n",
        r#"{"type":"RECORD","stream":"s","record":{}}"#,
        "\n"
    );
    let run = run_input(input.as_bytes(), json!({"do_timestamp_file": true}));
    assert!(run.result.is_ok());
    let names: Vec<String> = std::fs::read_dir(run.output())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1);
    let name = &names[0];
    // s-YYYYMMDDTHHMMSS.jsonl
    assert!(
        name.starts_with("s-") && name.ends_with(".jsonl") && name.len() == 23,
        "{name}"
    );
    assert_eq!(name.as_bytes()[10], b'T', "{name}");
}

#[test]
fn records_append_across_runs() {
    let input = concat!(
        r#"{"type":"SCHEMA","stream":"s","schema":{"properties":{}}}"#,
        "\n",
        r#"{"type":"RECORD","stream":"s","record":{"a":1}}"#,
        "\n"
    );
    let first = run_input(input.as_bytes(), json!({}));
    let config_path = first.dir.path().join("config.json");
    let args = SingerArgs {
        config: vec![config_path],
        ..SingerArgs::default()
    };
    run(&args, &mut input.as_bytes(), &mut Vec::new()).unwrap();
    assert_eq!(first.file_lines("s.jsonl").len(), 2);
}
