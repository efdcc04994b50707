//! The native stream-maps mapper (`smelt plugin meltano-map-transformer`) against the Singer
//! SDK's stream-maps conformance data vendored in tests/conformance/stream-maps: one test per
//! case folder, compared as that folder's README.md says (`exact`, `schema_only`, `partial`,
//! `error` from each case's notes.json).
//!
//! Comparison rules (README "How to compare"): line by line, each line as parsed JSON with
//! object key order ignored, numbers compared as the text they were written with
//! (`1640995200.0` is not `1640995200`), SCHEMA `bookmark_properties: []` equal to an absent
//! one, and `time_extracted` ignored in the `dict_*` cases (their inputs carry none). The native
//! mapper passes `time_extracted` through, so every other case compares it, and it renames
//! BATCH messages to the alias, so `aliased_stream_batch` is compared in full.
//!
//! `SMELT_STREAM_MAPS_MAPPER=/path/to/mapper` runs another mapper executable (called as
//! `<mapper> --config config.json`) instead of smelt's, to check this harness against the
//! Python `meltano-map-transform` (pin its clock with faketime to 2022-01-01T00:00:00Z).

mod common;

use common::{json_numbers_as_text, text, NUMBER_MARK as NUMBER};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The vendored conformance folders.
fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/stream-maps")
}

/// Runs the mapper on one case folder: config.json as its config, input.singer on stdin.
fn run_mapper(case: &Path) -> Output {
    let scratch = tempfile::tempdir().expect("temp dir");
    let config = case.join("config.json");
    let mut cmd = match std::env::var_os("SMELT_STREAM_MAPS_MAPPER") {
        Some(other) => {
            let mut c = Command::new(other);
            c.arg("--config").arg(&config);
            c
        }
        None => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_smelt"));
            c.args(["plugin", "meltano-map-transformer", "--config"])
                .arg(&config);
            c
        }
    };
    let input = std::fs::File::open(case.join("input.singer")).expect("open input.singer");
    cmd.current_dir(scratch.path())
        .stdin(Stdio::from(input))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.output().expect("run the mapper")
}

/// One output line parsed for comparison, with the README's equivalences applied.
fn parse(line: &str, case: &str, what: &str, n: usize) -> Value {
    let mut v: Value = json_numbers_as_text(line)
        .unwrap_or_else(|e| panic!("{case}: {what} line {n} is not JSON ({e}): {line}"));
    if let Some(msg) = v.as_object_mut() {
        let kind = msg
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if kind == "SCHEMA" && msg.get("bookmark_properties") == Some(&Value::Array(vec![])) {
            msg.remove("bookmark_properties");
        }
        if kind == "RECORD" && case.starts_with("dict_") {
            msg.remove("time_extracted");
        }
    }
    v
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// What the failure message shows: both outputs and the mapper's stderr.
fn report(case: &str, problem: &str, expected: &[String], out: &Output) -> String {
    format!(
        "stream-maps case {case}: {problem}\n--- expected.singer\n{}\n--- mapper {}",
        expected.join("\n"),
        text(out)
    )
}

fn message_type(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or("")
}

/// Runs one case folder and checks it by its notes.json `compare` mode.
fn check_case(case: &str) {
    let dir = cases_dir().join(case);
    let notes: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("notes.json")).expect("read notes.json"),
    )
    .expect("notes.json is JSON");
    let mode = notes["compare"].as_str().expect("notes.json has compare");
    let expected = lines(&std::fs::read(dir.join("expected.singer")).expect("expected.singer"));
    let out = run_mapper(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "{}",
        report(case, "the mapper panicked", &expected, &out)
    );

    if mode == "error" {
        assert!(
            !out.status.success() && out.status.code() != Some(101),
            "{}",
            report(case, "expected a clean non-zero exit", &expected, &out)
        );
        assert!(
            out.stdout.is_empty(),
            "{}",
            report(case, "expected nothing on stdout", &expected, &out)
        );
        for needle in error_needles(case) {
            assert!(
                stderr.contains(needle),
                "{}",
                report(
                    case,
                    &format!("stderr should name {needle:?}"),
                    &expected,
                    &out
                )
            );
        }
        return;
    }

    assert!(
        out.status.success(),
        "{}",
        report(case, "the mapper failed", &expected, &out)
    );
    let got = lines(&out.stdout);
    let mut problems = Vec::new();
    if got.len() != expected.len() {
        problems.push(format!(
            "{} lines written, {} expected",
            got.len(),
            expected.len()
        ));
    }
    for (n, (e, g)) in expected.iter().zip(&got).enumerate() {
        let n = n + 1;
        let ev = parse(e, case, "expected", n);
        let gv = parse(g, case, "output", n);
        let same = match mode {
            "exact" | "partial" => ev == gv,
            "schema_only" => schema_only_same(&ev, &gv),
            other => panic!("{case}: unknown compare mode {other:?} in notes.json"),
        };
        if !same {
            let hint = if message_type(&ev) == "BATCH" {
                " (the native mapper renames BATCH messages to the alias, encoding and manifest unchanged)"
            } else {
                ""
            };
            problems.push(format!(
                "line {n} differs{hint}:\n  expected {e}\n  got      {g}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}",
        report(case, &problems.join("\n"), &expected, &out)
    );
}

/// `schema_only` (Faker) cases: everything but the faked values must match; each record holds
/// exactly the mapped keys, with string values of the right shape.
fn schema_only_same(expected: &Value, got: &Value) -> bool {
    if message_type(expected) != "RECORD" {
        return expected == got;
    }
    for key in ["type", "stream", "version", "time_extracted"] {
        if expected.get(key) != got.get(key) {
            return false;
        }
    }
    if expected.as_object().map(|o| o.len()) != got.as_object().map(|o| o.len()) {
        return false;
    }
    let (Some(e), Some(g)) = (expected["record"].as_object(), got["record"].as_object()) else {
        return false;
    };
    if e.len() != g.len() || e.keys().any(|k| !g.contains_key(k)) {
        return false;
    }
    g.iter().all(|(key, value)| match value.as_str() {
        Some(s) if key == "cc" => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
        Some(s) if key == "email" => s.contains('@') && !s.starts_with(NUMBER),
        Some(s) => !s.starts_with(NUMBER),
        None => false,
    })
}

/// What stderr must mention for an `error` case: the stream and the offending expression.
fn error_needles(case: &str) -> &'static [&'static str] {
    match case {
        "dict_test_filter_transforms_w_error_filter" => {
            &["repositories", "this should raise an er!ror"]
        }
        other => panic!("{other}: an error case with no expected stderr listed in this test"),
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_case(stringify!($name));
            }
        )*
        /// Every case this file has a test for.
        const CASES: &[&str] = &[$(stringify!($name)),*];
    };
}

cases!(
    aliased_stream,
    aliased_stream_batch,
    aliased_stream_not_expr,
    aliased_stream_quoted,
    builtin_variable_original_stream_name_alias,
    builtin_variable_original_stream_name_no_alias,
    builtin_variable_self,
    builtin_variable_stream_name,
    builtin_variable_stream_name_alias,
    builtin_variable_stream_name_alias_expr,
    builtin_variable_underscore,
    changed_key_properties,
    dates,
    dict_test_clone_and_alias_transforms_clone_and_alias,
    dict_test_filter_transforms_filter,
    dict_test_filter_transforms_w_error_filter,
    dict_test_map_transforms_transform,
    dict_test_wildcard_transforms_wildcard,
    drop_property,
    drop_property_null_string,
    fake_credit_card_number,
    fake_email_seed_instance,
    filter_records,
    filter_records_cast_to_bool,
    flatten_all,
    flatten_all_with_dot_separator,
    flatten_depth_0,
    flatten_depth_1,
    json_dumps,
    keep_all_fields,
    map_and_flatten,
    no_map,
    non_pk_passthrough,
    only_mapped_fields,
    only_mapped_fields_null_string,
    record_to_column,
    remove_stream,
    sourced_stream_1,
    sourced_stream_1_null_string,
    sourced_stream_2,
);

#[test]
fn every_case_folder_has_a_test() {
    let mut folders: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("tests/conformance/stream-maps")
        .flatten()
        .filter(|e| e.path().join("notes.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(folders, listed, "add the new case folders to cases!()");
}

#[test]
fn number_tokens_compare_as_written() {
    let a = parse(r#"{"a":1640995200.0,"b":"x 1.0"}"#, "t", "a", 1);
    let b = parse(r#"{"b":"x 1.0","a":1640995200}"#, "t", "b", 1);
    let c = parse(r#"{"b":"x 1.0", "a": 1640995200.0}"#, "t", "c", 1);
    assert_ne!(a, b);
    assert_eq!(a, c);
    assert_eq!(
        parse(r#"{"s":"q\"1","n":[-2.5e3,0]}"#, "t", "d", 1)["n"][0],
        Value::String(format!("{NUMBER}-2.5e3"))
    );
}
