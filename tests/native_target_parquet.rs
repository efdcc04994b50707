//! smelt's native target-parquet through the real binary, read back with real pyarrow and
//! DuckDB from PyPI: every Singer SDK target conformance stream, column types and values,
//! hive partitioning, an S3 destination (Moto), `smelt run tap-csv target-parquet`, and
//! STATE acknowledged only once the rows before it are in a visible, complete file.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{pypi_venv, quickstart, text};
use serde_json::{json, Value};

/// The readers every test compares against.
const READERS: &str = "pyarrow==26.0.1 duckdb==2.0.1";

/// Reads Parquet datasets with pyarrow and DuckDB and prints, per dataset directory (or
/// `s3://` / `azure://` prefix, pyarrow only), the rows and column types each reader sees, as one JSON document.
const READ_PY: &str = r#"
import datetime, decimal, json, os, sys
import duckdb, pyarrow.dataset as ds, pyarrow.fs as pafs

def plain(v):
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v

out = {}
for target in sys.argv[1:]:
    if "://" in target:
        scheme, path = target.split("://", 1)
        if scheme == "s3":
            fs = pafs.S3FileSystem(endpoint_override=os.environ["S3_ENDPOINT"], scheme="http",
                                   access_key="testing", secret_key="testing", region="us-east-1")
        else:
            fs = pafs.AzureFileSystem(account_name=os.environ["AZURE_ACCOUNT"],
                                      account_key=os.environ["AZURE_KEY"],
                                      blob_storage_authority=os.environ["AZURE_AUTHORITY"],
                                      blob_storage_scheme="http",
                                      dfs_storage_authority=os.environ["AZURE_AUTHORITY"],
                                      dfs_storage_scheme="http")
        table = ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive").to_table()
        out[target] = {"rows": [{k: plain(v) for k, v in r.items()} for r in table.to_pylist()],
                       "types": {f.name: str(f.type) for f in table.schema}}
        continue
    dataset = ds.dataset(target, format="parquet", partitioning="hive")
    table = dataset.to_table()
    groups = [f.metadata.num_row_groups for f in dataset.get_fragments()]
    con = duckdb.connect()
    rel = con.sql("select * from read_parquet('%s/**/*.parquet', hive_partitioning=true, "
                  "union_by_name=true)" % target)
    out[target] = {
        "rows": [{k: plain(v) for k, v in r.items()} for r in table.to_pylist()],
        "types": {f.name: str(f.type) for f in table.schema},
        "duck_rows": [dict(zip(rel.columns, [plain(v) for v in row])) for row in rel.fetchall()],
        "duck_types": dict(zip(rel.columns, [str(t) for t in rel.types])),
        "row_groups": groups,
    }
print(json.dumps(out))
"#;

/// The Python of the readers' venv (installed once, cached under target/).
fn python() -> PathBuf {
    pypi_venv("parquet-readers", READERS, "python")
}

/// What pyarrow and DuckDB read from each of `targets`.
fn read_back(targets: &[String], env: &[(&str, &str)]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("read.py");
    std::fs::write(&script, READ_PY).unwrap();
    let out = Command::new(python())
        .arg(&script)
        .args(targets)
        .envs(env.iter().copied())
        .output()
        .expect("run python");
    assert!(out.status.success(), "reading back failed: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn write_config(dir: &Path, config: &Value) -> PathBuf {
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// `smelt plugin target-parquet --config CONFIG` with `input` on stdin.
fn target(config: &Path, input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["plugin", "target-parquet", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn smelt plugin target-parquet");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A target that fails early closes stdin; the write error is expected then.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Visible `.parquet` files under `dir`, and hidden in-progress ones.
fn files(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut visible = Vec::new();
    let mut hidden = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name.starts_with('.') {
                hidden.push(path);
            } else if name.ends_with(".parquet") {
                visible.push(path);
            }
        }
    }
    visible.sort();
    (visible, hidden)
}

fn lines(input: &str) -> Vec<Value> {
    input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The sanitised directory name of a stream (as the target names it).
fn stream_dir(stream: &str) -> String {
    stream
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[test]
fn conformance_streams_load_and_read_back_in_pyarrow_and_duckdb() {
    let must_fail = [
        "invalid_schema",
        "record_before_schema",
        "record_missing_key_property",
        "record_missing_required_property",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/sdk-target-streams");
    let work = tempfile::tempdir().unwrap();
    let mut expected_rows: BTreeMap<String, usize> = BTreeMap::new();
    let mut entries: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "singer"))
        .collect();
    entries.sort();
    assert_eq!(entries.len(), 20, "the vendored conformance streams");
    for file in entries {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read_to_string(&file).unwrap();
        let messages = lines(&input);
        let dir = work.path().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let config = write_config(&dir, &json!({"destination_path": dir.join("out")}));
        let out = target(&config, input.as_bytes());
        let stderr = String::from_utf8_lossy(&out.stderr);
        if must_fail.contains(&name.as_str()) {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{name} must fail: {}",
                text(&out)
            );
            let stream = messages[0]["stream"].as_str().unwrap();
            assert!(
                stderr.contains(&format!("stream '{stream}'")),
                "{name}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
            continue;
        }
        assert!(out.status.success(), "{name}: {}", text(&out));
        // STATE: the last input state comes last on stdout (an empty one need not).
        let states: Vec<&Value> = messages
            .iter()
            .filter(|m| m["type"] == "STATE")
            .map(|m| &m["value"])
            .collect();
        let acked = lines(&String::from_utf8_lossy(&out.stdout));
        match states.last() {
            Some(last) if **last != json!({}) => {
                assert_eq!(acked.last(), Some(*last), "{name}")
            }
            _ => {}
        }
        let (_, hidden) = files(&dir.join("out"));
        assert!(hidden.is_empty(), "{name}: leftovers {hidden:?}");
        for m in messages.iter().filter(|m| m["type"] == "RECORD") {
            let key = format!(
                "{}/{}",
                dir.join("out").display(),
                stream_dir(m["stream"].as_str().unwrap())
            );
            *expected_rows.entry(key).or_default() += 1;
        }
    }
    let targets: Vec<String> = expected_rows.keys().cloned().collect();
    let read = read_back(&targets, &[]);
    for (target, rows) in &expected_rows {
        let got = &read[target];
        assert_eq!(
            got["rows"].as_array().unwrap().len(),
            *rows,
            "pyarrow {target}"
        );
        assert_eq!(
            got["duck_rows"].as_array().unwrap().len(),
            *rows,
            "duckdb {target}"
        );
    }
    // Values survive exactly, escapes, non-ASCII and NUL included.
    let strings = work.path().join("encoded_string_data/out/test_strings");
    let input = std::fs::read_to_string(root.join("encoded_string_data.singer")).unwrap();
    let sent: Vec<Value> = lines(&input)
        .into_iter()
        .filter(|m| m["type"] == "RECORD" && m["stream"] == "test_strings")
        .map(|m| m["record"]["info"].clone())
        .collect();
    let got = &read[&strings.display().to_string()];
    for reader in ["rows", "duck_rows"] {
        let mut values: Vec<(i64, Value)> = got[reader]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_i64().unwrap(), r["info"].clone()))
            .collect();
        values.sort_by_key(|(id, _)| *id);
        let values: Vec<Value> = values.into_iter().map(|(_, v)| v).collect();
        assert_eq!(values, sent, "{reader}");
    }
    // Nested objects with properties are flattened; a changed SCHEMA starts a new file.
    let nested = &read[&work
        .path()
        .join("schema_no_properties/out/test_object_schema_with_properties")
        .display()
        .to_string()];
    assert_eq!(nested["types"]["object_store__id"], "int64");
    let (updates, _) = files(&work.path().join("schema_updates/out"));
    assert_eq!(updates.len(), 4, "one file per SCHEMA: {updates:?}");
}

#[test]
fn types_and_values_match_the_input_in_both_readers() {
    let dir = tempfile::tempdir().unwrap();
    let schema = json!({"type": "SCHEMA", "stream": "typed", "key_properties": ["id"], "schema": {
    "type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"},
        "price": {"type": ["number", "null"]},
        "ok": {"type": ["boolean", "null"]},
        "name": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "seen": {"type": ["string", "null"], "format": "date-time"},
        "born": {"type": ["null", "string"], "format": "date"},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "doc": {"type": ["object", "null"]},
        "addr": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}}}
    }}});
    let records = [
        json!({"id": 1, "price": 12.5, "ok": true, "name": "Ünïcødé ✓ \"q\"",
               "seen": "2024-05-01T14:00:00.123456+02:00", "born": "1999-12-31",
               "tags": ["a", "b c"], "doc": {"k": [1, 2.5, null]}, "addr": {"city": "Paris", "zip": 75001}}),
        json!({"id": 2, "price": null, "ok": false, "name": null, "seen": "2024-01-01T00:00:00Z",
               "born": null, "tags": [], "doc": null, "addr": null}),
        json!({"id": 3, "price": -1, "seen": "2024-06-30 23:59:59", "addr": {"city": "Köln"}}),
    ];
    let mut input = schema.to_string() + "\n";
    for r in &records {
        input += &json!({"type": "RECORD", "stream": "typed", "record": r}).to_string();
        input += "\n";
    }
    input += "{\"type\": \"STATE\", \"value\": {\"bookmarks\": {\"typed\": 3}}}\n";
    let config = write_config(
        dir.path(),
        &json!({"destination_path": dir.path().join("out")}),
    );
    let out = target(&config, input.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"bookmarks": {"typed": 3}}"#
    );
    let path = dir.path().join("out/typed").display().to_string();
    let read = read_back(std::slice::from_ref(&path), &[]);
    let got = &read[&path];
    assert_eq!(
        got["types"],
        json!({"id": "int64", "price": "double", "ok": "bool", "name": "string",
               "seen": "timestamp[us, tz=UTC]", "born": "date32[day]", "tags": "string",
               "doc": "string", "addr__city": "string", "addr__zip": "int64"})
    );
    assert_eq!(
        got["duck_types"],
        json!({"id": "BIGINT", "price": "DOUBLE", "ok": "BOOLEAN", "name": "VARCHAR",
               "seen": "TIMESTAMP WITH TIME ZONE", "born": "DATE", "tags": "JSON",
               "doc": "JSON", "addr__city": "VARCHAR", "addr__zip": "BIGINT"})
    );
    let expected = [
        json!({"id": 1, "price": 12.5, "ok": true, "name": "Ünïcødé ✓ \"q\"",
               "seen": "2024-05-01T12:00:00.123456+00:00", "born": "1999-12-31",
               "tags": r#"["a","b c"]"#, "doc": r#"{"k":[1,2.5,null]}"#,
               "addr__city": "Paris", "addr__zip": 75001}),
        json!({"id": 2, "price": null, "ok": false, "name": null,
               "seen": "2024-01-01T00:00:00+00:00", "born": null, "tags": "[]", "doc": null,
               "addr__city": null, "addr__zip": null}),
        json!({"id": 3, "price": -1.0, "ok": null, "name": null,
               "seen": "2024-06-30T23:59:59+00:00", "born": null, "tags": null, "doc": null,
               "addr__city": "Köln", "addr__zip": null}),
    ];
    assert_eq!(got["rows"], json!(expected), "pyarrow");
    // DuckDB shows timestamps with time zone in the session's zone; compare the instant.
    let duck: Vec<Value> = got["duck_rows"].as_array().unwrap().clone();
    assert_eq!(duck.len(), 3);
    for (row, want) in duck.iter().zip(&expected) {
        for key in [
            "id",
            "price",
            "ok",
            "name",
            "born",
            "tags",
            "doc",
            "addr__city",
        ] {
            assert_eq!(row[key], want[key], "duckdb {key}");
        }
        let instant = |v: &Value| {
            chrono::DateTime::parse_from_rfc3339(&v.as_str().unwrap().replace(' ', "T"))
                .unwrap()
                .timestamp_micros()
        };
        assert_eq!(instant(&row["seen"]), instant(&want["seen"]));
    }
}

#[test]
fn a_value_that_does_not_fit_names_stream_record_and_property() {
    let dir = tempfile::tempdir().unwrap();
    let input = concat!(
        r#"{"type": "SCHEMA", "stream": "people", "key_properties": [], "schema": {"properties": {"age": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}}}}"#,
        "\n",
        r#"{"type": "RECORD", "stream": "people", "record": {"age": 3}}"#,
        "\n",
        r#"{"type": "RECORD", "stream": "people", "record": {"age": "three"}}"#,
        "\n",
    );
    let config = write_config(
        dir.path(),
        &json!({"destination_path": dir.path().join("out")}),
    );
    let out = target(&config, input.as_bytes());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stream 'people' (input line 3): record 2, property 'age': expected an integer, found the string \"three\""),
        "{err}"
    );
    let (visible, hidden) = files(&dir.path().join("out"));
    assert!(
        visible.is_empty() && hidden.is_empty(),
        "{visible:?} {hidden:?}"
    );

    let bad_time = input.replace(r#"{"age": "three"}"#, r#"{"at": "noon"}"#);
    let out = target(&config, bad_time.as_bytes());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("property 'at': expected a date-time"), "{err}");
}

#[test]
fn partitioned_datasets_read_back_with_their_partition_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::from(
        r#"{"type": "SCHEMA", "stream": "sales", "key_properties": ["id"], "schema": {"properties": {"id": {"type": "integer"}, "country": {"type": ["string", "null"]}, "amount": {"type": "number"}}}}"#,
    );
    input.push('\n');
    let countries = [Some("FR"), Some("DE"), None, Some("a b/c"), Some("FR")];
    for (i, c) in countries.iter().enumerate() {
        let record = json!({"id": i, "country": c, "amount": i as f64 * 1.5});
        input += &json!({"type": "RECORD", "stream": "sales", "record": record}).to_string();
        input.push('\n');
    }
    // max_open_files 2 with 4 partitions: files are closed and reopened, nothing is lost.
    let config = write_config(
        dir.path(),
        &json!({"destination_path": dir.path().join("out"), "partition_cols": "country",
                "max_open_files": 2}),
    );
    let out = target(&config, input.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    let sales = dir.path().join("out/sales");
    for sub in [
        "country=FR",
        "country=DE",
        "country=__HIVE_DEFAULT_PARTITION__",
        "country=a%20b%2Fc",
    ] {
        assert!(sales.join(sub).is_dir(), "{sub}");
    }
    let path = sales.display().to_string();
    let read = read_back(std::slice::from_ref(&path), &[]);
    for reader in ["rows", "duck_rows"] {
        let mut got: Vec<(i64, Value)> = read[&path][reader]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_i64().unwrap(), r["country"].clone()))
            .collect();
        got.sort_by_key(|(id, _)| *id);
        let want: Vec<(i64, Value)> = countries
            .iter()
            .enumerate()
            .map(|(i, c)| (i as i64, json!(c)))
            .collect();
        assert_eq!(got, want, "{reader}");
    }
}

#[test]
fn s3_destination_through_moto_adds_files_run_after_run() {
    let moto = smelt_testsupport::Moto::start().unwrap_or_else(|e| panic!("{e}"));
    moto.create_bucket("lake").unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &json!({"destination_path": "s3://lake/raw", "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing", "aws_endpoint_url": moto.endpoint(),
                "aws_region": "us-east-1", "max_batch_size": 2}),
    );
    let mut input = String::from(
        r#"{"type": "SCHEMA", "stream": "events", "key_properties": [], "schema": {"properties": {"n": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}}}}"#,
    );
    input.push('\n');
    for n in 0..5 {
        input += &format!(
            "{{\"type\": \"RECORD\", \"stream\": \"events\", \"record\": {{\"n\": {n}, \"at\": \"2024-01-0{}T00:00:00Z\"}}}}\n",
            n + 1
        );
    }
    input += "{\"type\": \"STATE\", \"value\": {\"done\": 5}}\n";
    for run in 1..=2 {
        let out = target(&config, input.as_bytes());
        assert!(out.status.success(), "run {run}: {}", text(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            r#"{"done": 5}"#
        );
        let read = read_back(
            &["s3://lake/raw/events".to_string()],
            &[("S3_ENDPOINT", moto.endpoint())],
        );
        let rows = read["s3://lake/raw/events"]["rows"].as_array().unwrap();
        assert_eq!(
            rows.len(),
            5 * run,
            "run {run}: a second run adds, never overwrites"
        );
        assert_eq!(
            read["s3://lake/raw/events"]["types"]["at"],
            "timestamp[us, tz=UTC]"
        );
    }
    // No secret in what the target says, even when it fails.
    let bad = write_config(
        dir.path(),
        &json!({"destination_path": "s3://lake/raw", "aws_access_key_id": "testing",
                "aws_endpoint_url": moto.endpoint(), "aws_region": "us-east-1"}),
    );
    let out = target(&bad, input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("set aws_secret_access_key"), "{err}");
}

#[test]
fn azure_destination_through_azurite() {
    let azurite = smelt_testsupport::Azurite::start().unwrap_or_else(|e| panic!("{e}"));
    azurite
        .create_container("lake")
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &json!({"destination_path": "azure://lake/raw",
                "azure_connection_string": azurite.connection_string(),
                "partition_cols": ["day"]}),
    );
    let mut input = String::from(
        r#"{"type": "SCHEMA", "stream": "events", "key_properties": [], "schema": {"properties": {"n": {"type": "integer"}, "day": {"type": "string", "format": "date"}}}}"#,
    );
    input.push('\n');
    for n in 0..4 {
        input += &format!(
            "{{\"type\": \"RECORD\", \"stream\": \"events\", \"record\": {{\"n\": {n}, \"day\": \"2024-01-0{}\"}}}}\n",
            n % 2 + 1
        );
    }
    let out = target(&config, input.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    let authority = azurite
        .blob_endpoint()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let read = read_back(
        &["azure://lake/raw/events".to_string()],
        &[
            ("AZURE_ACCOUNT", smelt_testsupport::Azurite::ACCOUNT_NAME),
            ("AZURE_KEY", smelt_testsupport::Azurite::ACCOUNT_KEY),
            ("AZURE_AUTHORITY", &authority),
        ],
    );
    let mut rows: Vec<(i64, String)> = read["azure://lake/raw/events"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["n"].as_i64().unwrap(), r["day"].to_string()))
        .collect();
    rows.sort();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(
        rows[0].1.contains("2024-01-01") && rows[1].1.contains("2024-01-02"),
        "{rows:?}"
    );
}

#[test]
fn smelt_run_tap_csv_to_target_parquet() {
    let p = quickstart();
    let yml = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    let yml = yml.replacen(
        "  loaders:\n",
        "  loaders:\n  - name: target-parquet\n    variant: smelt\n    config:\n      destination_path: lake\n",
        1,
    );
    std::fs::write(p.path("meltano.yml"), yml).unwrap();
    let out = p.run(&["run", "tap-csv", "target-parquet"]);
    assert!(out.status.success(), "{}", text(&out));
    let state = p
        .state("dev:tap-csv-to-target-parquet")
        .expect("state saved");
    assert!(state.to_string().contains("orders"), "{state}");
    let targets = [
        p.path("lake/customers").display().to_string(),
        p.path("lake/orders").display().to_string(),
    ];
    let read = read_back(&targets, &[]);
    assert_eq!(read[&targets[0]]["rows"].as_array().unwrap().len(), 5);
    assert_eq!(read[&targets[1]]["duck_rows"].as_array().unwrap().len(), 6);
    let names: Vec<&Value> = read[&targets[0]]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["name"])
        .collect();
    assert!(names.contains(&&json!("Ada Lovelace")), "{names:?}");
}

/// Reads one stdout line within `secs`, or None.
fn next_line(lines: &mpsc::Receiver<String>, secs: u64) -> Option<String> {
    lines.recv_timeout(Duration::from_secs(secs)).ok()
}

#[test]
fn state_is_acknowledged_only_after_its_rows_are_in_visible_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    // A long commit interval: a STATE waits for the end of input unless no rows are pending.
    let config = write_config(
        dir.path(),
        &json!({"destination_path": out_dir, "commit_interval_seconds": 3600}),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["plugin", "target-parquet", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut send = |text: &str| {
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    };
    send("{\"type\": \"SCHEMA\", \"stream\": \"s\", \"key_properties\": [], \"schema\": {\"properties\": {\"n\": {\"type\": \"integer\"}}}}\n");
    send("{\"type\": \"STATE\", \"value\": {\"at\": 0}}\n");
    // Nothing pending: acknowledged at once.
    assert_eq!(next_line(&rx, 30).as_deref(), Some(r#"{"at": 0}"#));
    for n in 0..3 {
        send(&format!(
            "{{\"type\": \"RECORD\", \"stream\": \"s\", \"record\": {{\"n\": {n}}}}}\n"
        ));
    }
    send("{\"type\": \"STATE\", \"value\": {\"at\": 3}}\n");
    // Rows are pending in a hidden file: the state waits, and no reader sees a half file.
    assert_eq!(
        next_line(&rx, 2),
        None,
        "acknowledged before its rows were written"
    );
    let (visible, hidden) = files(&out_dir);
    assert!(visible.is_empty(), "{visible:?}");
    assert_eq!(hidden.len(), 1, "{hidden:?}");
    drop(stdin);
    assert_eq!(next_line(&rx, 30).as_deref(), Some(r#"{"at": 3}"#));
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert!(status.success());
    let (visible, hidden) = files(&out_dir);
    assert_eq!((visible.len(), hidden.len()), (1, 0));
    let path = out_dir.join("s").display().to_string();
    let read = read_back(std::slice::from_ref(&path), &[]);
    assert_eq!(read[&path]["rows"], json!([{"n": 0}, {"n": 1}, {"n": 2}]));

    // commit_interval_seconds 0: every STATE closes the files first.
    let config = write_config(
        dir.path(),
        &json!({"destination_path": out_dir, "commit_interval_seconds": 0}),
    );
    let input = "{\"type\": \"SCHEMA\", \"stream\": \"s\", \"key_properties\": [], \"schema\": {\"properties\": {\"n\": {\"type\": \"integer\"}}}}\n\
                 {\"type\": \"RECORD\", \"stream\": \"s\", \"record\": {\"n\": 7}}\n\
                 {\"type\": \"STATE\", \"value\": {\"at\": 1}}\n\
                 {\"type\": \"RECORD\", \"stream\": \"s\", \"record\": {\"n\": 8}}\n\
                 {\"type\": \"STATE\", \"value\": {\"at\": 2}}\n";
    let out = target(&config, input.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"at\": 1}\n{\"at\": 2}\n"
    );
    assert_eq!(
        files(&out_dir).0.len(),
        3,
        "one more file per acknowledged STATE"
    );
}

#[test]
fn row_groups_and_files_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::from(
        r#"{"type": "SCHEMA", "stream": "wide", "key_properties": [], "schema": {"properties": {"n": {"type": "integer"}, "text": {"type": "string"}}}}"#,
    );
    input.push('\n');
    // Text that does not compress: about 30 MB of row data would be needed to reach the
    // defaults; with 1 MB files and 1,000-row groups, 20,000 rows of ~110 bytes make 2+ files.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for n in 0..20_000 {
        let text: String = (0..100)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b'!' + (seed % 90) as u8)
            })
            .filter(|c| *c != '"' && *c != '\\')
            .collect();
        input += &json!({"type": "RECORD", "stream": "wide", "record": {"n": n, "text": text}})
            .to_string();
        input.push('\n');
    }
    let config = write_config(
        dir.path(),
        &json!({"destination_path": dir.path().join("out"), "max_batch_size": 1000,
                "max_pyarrow_table_size": 1}),
    );
    let out = target(&config, input.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    let (visible, hidden) = files(&dir.path().join("out"));
    assert!(hidden.is_empty());
    assert!(
        visible.len() >= 2,
        "a file is closed after about 1 MB: {visible:?}"
    );
    for file in &visible {
        let size = std::fs::metadata(file).unwrap().len();
        assert!(size < 2 << 20, "{} is {size} bytes", file.display());
    }
    let path = dir.path().join("out/wide").display().to_string();
    let read = read_back(std::slice::from_ref(&path), &[]);
    assert_eq!(read[&path]["rows"].as_array().unwrap().len(), 20_000);
    let groups: Vec<u64> = read[&path]["row_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_u64().unwrap())
        .collect();
    assert_eq!(
        groups.iter().sum::<u64>(),
        20,
        "1,000-row groups: {groups:?}"
    );
}

#[test]
fn a_killed_target_leaves_no_visible_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let config = write_config(dir.path(), &json!({"destination_path": out_dir}));
    let mut child = Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["plugin", "target-parquet", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"{\"type\": \"SCHEMA\", \"stream\": \"s\", \"key_properties\": [], \"schema\": {\"properties\": {\"n\": {\"type\": \"integer\"}}}}\n")
        .unwrap();
    for n in 0..5000 {
        writeln!(
            stdin,
            "{{\"type\": \"RECORD\", \"stream\": \"s\", \"record\": {{\"n\": {n}}}}}"
        )
        .unwrap();
    }
    stdin.flush().unwrap();
    // Wait (bounded) until the file is being written, then kill the target.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while files(&out_dir).1.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(files(&out_dir).1.len(), 1, "an in-progress file exists");
    child.kill().unwrap();
    child.wait().unwrap();
    let (visible, _) = files(&out_dir);
    assert!(visible.is_empty(), "{visible:?}");
}
