//! smelt's native target-postgres against the PostgreSQL on 127.0.0.1:5432: the Singer SDK's
//! target conformance streams, a target killed mid-load (table and state stay consistent,
//! a re-run completes without duplicates), ACTIVATE_VERSION, `smelt run`, and the same input
//! loaded by MeltanoLabs target-postgres 0.8.1 for comparison.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{psql, pypi_venv, text, PgSchema, TestProject, PG};
use serde_json::{json, Value};

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/sdk-target-streams")
}

/// A config file in `dir` loading into `schema`, with `extra` settings.
fn config(dir: &Path, schema: &str, extra: Value) -> PathBuf {
    let mut c = json!({"sqlalchemy_url": PG, "default_target_schema": schema});
    if let (Some(c), Value::Object(extra)) = (c.as_object_mut(), extra) {
        c.extend(extra);
    }
    let path = dir.join(format!("config-{schema}.json"));
    std::fs::write(&path, c.to_string()).expect("write config");
    path
}

/// `smelt plugin target-postgres --config CONFIG` with `input` on stdin.
fn target(config: &Path, input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["plugin", "target-postgres", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run smelt plugin target-postgres");
    let mut stdin = child.stdin.take().expect("stdin");
    // A target that fails early stops reading; the write error is then expected.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().expect("wait for the target")
}

/// The STATE values a target printed.
fn states(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `SELECT …` as psql's unaligned rows (`|`-separated), one string per row.
fn rows(sql: &str) -> Vec<String> {
    psql(sql).lines().map(str::to_string).collect()
}

#[test]
fn conformance_streams_load_or_fail_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let must_fail = [
        ("invalid_schema", "does not define `properties`"),
        ("record_before_schema", "came before its SCHEMA"),
        (
            "record_missing_key_property",
            "key property `id` is missing",
        ),
        (
            "record_missing_required_property",
            "required property `id` is missing",
        ),
    ];
    let mut files: Vec<PathBuf> = std::fs::read_dir(conformance_dir())
        .expect("conformance streams")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "singer"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{files:?}");
    let mut checked = 0;
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let input = std::fs::read(file).expect("read stream");
        let schema = PgSchema::create();
        let s = schema.0.as_str();
        // Default settings: every stream, the NUL of encoded_string_data included, loads.
        let cfg = config(dir.path(), s, json!({}));
        let out = target(&cfg, &input);
        if let Some((_, needle)) = must_fail.iter().find(|(n, _)| *n == name) {
            let err = text(&out);
            assert!(!out.status.success(), "{name} must fail: {err}");
            assert!(err.contains(needle), "{name}: {err}");
            assert!(!err.contains("panicked"), "{name}: {err}");
            checked += 1;
            continue;
        }
        assert!(out.status.success(), "{name}: {}", text(&out));
        // The last STATE of the input is the last one written.
        let last_state = String::from_utf8_lossy(&input)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .rfind(|m| m["type"] == "STATE")
            .map(|m| m["value"].clone());
        assert_eq!(states(&out).last().cloned(), last_state, "{name}");
        match name.as_str() {
            "duplicate_records" => assert_eq!(
                rows(&format!(
                    "SELECT id, metric FROM {s}.test_duplicate_records ORDER BY id"
                )),
                ["1|100", "2|20"],
                "the last version of each key"
            ),
            "user_location_upsert_data" => {
                let users = rows(&format!("SELECT id, name FROM {s}.test_users ORDER BY id"));
                let input = String::from_utf8_lossy(&input);
                let mut expected = std::collections::BTreeMap::new();
                for m in input.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()) {
                    if m["type"] == "RECORD" && m["stream"] == "test_users" {
                        let r = &m["record"];
                        expected.insert(r["id"].as_i64().unwrap(), r["name"].as_str().unwrap().to_string());
                    }
                }
                let expected: Vec<String> =
                    expected.iter().map(|(id, n)| format!("{id}|{n}")).collect();
                assert_eq!(users, expected);
            }
            "camelcase" => {
                assert_eq!(
                    rows(&format!(
                        "SELECT \"Id\", \"clientName\" FROM {s}.\"TestCamelcase\" ORDER BY 1"
                    )),
                    ["1|Gitter Windows Desktop App", "2|Gitter iOS App"]
                );
            }
            "special_chars_in_attributes" => assert_eq!(
                rows(&format!(
                    "SELECT _id, d->>'agent:os:version', _sdc_table_version, _sdc_extracted_at \
                     FROM {s}.\"test:SpecialChars!in?attributes\""
                )),
                ["a2e98886|10.13.1|1541199424491|2018-11-02 22:57:04.84102"]
            ),
            "encoded_string_data" => {
                let info = rows(&format!("SELECT info FROM {s}.test_strings ORDER BY id"));
                assert!(info.contains(&"simple string 2837".to_string()), "{info:?}");
                assert!(info.contains(&"简单的字串".to_string()), "{info:?}");
                assert!(info.contains(&"Control Characters in string: \u{FFFD} A \u{1}".to_string()), "{info:?}");
                assert_eq!(
                    psql(&format!(
                        "SELECT info FROM {s}.test_strings WHERE info LIKE 'various%'"
                    )),
                    "various \" \\ / \n escape sequences"
                );
                assert_eq!(
                    psql(&format!(
                        "SELECT count(*) FROM {s}.test_strings_in_objects WHERE jsonb_typeof(info) = 'object'"
                    )),
                    psql(&format!("SELECT count(*) FROM {s}.test_strings_in_objects"))
                );
            }
            "array_data" => assert_eq!(
                rows(&format!(
                    "SELECT id, fruits[1], cardinality(fruits), pg_typeof(fruits) \
                     FROM {s}.test_array_data ORDER BY id"
                )),
                ["1|apple|3|text[]", "2|banana|2|text[]", "3|pear|1|text[]", "4|orange|4|text[]"]
            ),
            "schema_updates" => {
                assert_eq!(
                    rows(&format!(
                        "SELECT id, a1, a3, a4->>'value', a5[1], a6 FROM {s}.test_schema_updates ORDER BY id"
                    )),
                    [
                        "1|101||||",
                        "2|102|t|||",
                        "3|103|f|1|banana|",
                        "4|104|t|22|orange|",
                        "5|105|f|33|apple|985",
                        "6|106|t|444|banana|341"
                    ]
                );
            }
            "multiple_state_messages" => assert_eq!(
                psql(&format!(
                    "SELECT (SELECT string_agg(metric::text, ',' ORDER BY id) FROM {s}.test_multiple_state_messages_a) \
                     || ';' || (SELECT string_agg(metric::text, ',' ORDER BY id) FROM {s}.test_multiple_state_messages_b)"
                )),
                "100,200,300,400,500,600;110,220,330,440,550,660"
            ),
            "no_primary_keys_append" | "no_primary_keys" | "pk_updates" | "optional_attributes" => {
                let table = match name.as_str() {
                    "pk_updates" => "example_stream",
                    "optional_attributes" => "test_optional_attributes",
                    _ => "test_no_pk",
                };
                let records = String::from_utf8_lossy(&input)
                    .lines()
                    .filter(|l| l.contains("\"RECORD\""))
                    .count();
                assert_eq!(
                    psql(&format!("SELECT count(*) FROM {s}.{table}")),
                    records.to_string(),
                    "{name}: every record is a row"
                );
            }
            _ => {}
        }
        checked += 1;
    }
    assert_eq!(checked, files.len());

    // With sanitize_null_text_characters false a NUL is refused, naming stream and property.
    let schema = PgSchema::create();
    let input = std::fs::read(conformance_dir().join("encoded_string_data.singer")).unwrap();
    let strict = json!({"sanitize_null_text_characters": false});
    let out = target(&config(dir.path(), &schema.0, strict), &input);
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains("stream `test_strings`")
            && err.contains("property `info`")
            && err.contains("sanitize_null_text_characters"),
        "{err}"
    );
}

/// `n` keyed records `from..from+n` of stream `big`, with a STATE after every `every`.
fn big_stream(from: u64, to: u64, every: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(
        br#"{"type":"SCHEMA","stream":"big","key_properties":["id"],"schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"amount":{"type":"number"},"at":{"type":"string","format":"date-time"},"doc":{"type":"object"}}}}"#,
    );
    out.push(b'\n');
    for id in from..=to {
        writeln!(
            out,
            r#"{{"type":"RECORD","stream":"big","record":{{"id":{id},"name":"row {id} ✓","amount":{id}.25,"at":"2024-05-06T07:08:09+00:00","doc":{{"k":{id}}}}}}}"#
        )
        .unwrap();
        if id % every == 0 {
            writeln!(out, r#"{{"type":"STATE","value":{{"done":{id}}}}}"#).unwrap();
        }
    }
    out
}

#[test]
fn a_target_killed_mid_load_leaves_table_and_state_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = PgSchema::create();
    let s = schema.0.as_str();
    let cfg = config(
        dir.path(),
        s,
        json!({"batch_size_rows": 25000, "add_record_metadata": false}),
    );
    const TOTAL: u64 = 300_000;
    let input = big_stream(1, TOTAL, 10_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["plugin", "target-postgres", "--config"])
        .arg(&cfg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run smelt plugin target-postgres");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    // Feed the first 60% of the input from a thread (the pipe blocks when the target is
    // busy); the rest is written after two states were seen, then the target is killed
    // while it works through it.
    let cut = input.len() * 6 / 10;
    let (first, rest) = input.split_at(cut);
    let (first, rest) = (first.to_vec(), rest.to_vec());
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&first);
        // Wait (bounded) for the go-ahead, then write on until killed.
        let _ = rx.recv_timeout(std::time::Duration::from_secs(60));
        let _ = stdin.write_all(&rest);
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut printed: Vec<Value> = Vec::new();
    while printed.len() < 2 {
        match lines.next() {
            Some(Ok(l)) => printed.push(serde_json::from_str(&l).expect("a state line")),
            _ => break,
        }
    }
    assert_eq!(printed.len(), 2, "two states before the kill");
    let _ = tx.send(());
    child.kill().expect("kill the target");
    let _ = child.wait();
    // Anything it printed before dying counts as acknowledged.
    for l in lines.map_while(Result::ok) {
        printed.push(serde_json::from_str(&l).expect("a state line"));
    }
    let _ = writer.join();
    let last = printed.last().unwrap()["done"].as_u64().unwrap();
    let count: u64 = psql(&format!("SELECT count(*) FROM {s}.big"))
        .parse()
        .unwrap();
    let max: u64 = psql(&format!("SELECT coalesce(max(id), 0) FROM {s}.big"))
        .parse()
        .unwrap();
    assert!(count < TOTAL, "killed before the end ({count} rows)");
    assert_eq!(count % 25_000, 0, "only whole batches are visible: {count}");
    assert_eq!(
        count, max,
        "the committed rows are exactly the first {count}"
    );
    assert!(
        last <= count,
        "the last state ({last}) covers only committed rows ({count})"
    );

    // Resume as a tap would from that state: the rest arrives (some rows again).
    let out = target(&cfg, &big_stream(last + 1, TOTAL, 10_000));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(states(&out).last(), Some(&json!({"done": TOTAL})));
    assert_eq!(
        psql(&format!(
            "SELECT count(*), count(DISTINCT id), min(id), max(id), sum(amount) FROM {s}.big"
        )),
        format!(
            "{TOTAL}|{TOTAL}|1|{TOTAL}|{}.00",
            TOTAL * (TOTAL + 1) / 2 + TOTAL / 4
        )
    );
    assert_eq!(
        psql(&format!("SELECT name, at, doc FROM {s}.big WHERE id = 77")),
        "row 77 ✓|2024-05-06 07:08:09|{\"k\": 77}"
    );
}

#[test]
fn activate_version_marks_or_deletes_older_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |schema: &str, hard: bool, version: i64, ids: &[i64]| {
        let mut input = String::from(
            r#"{"type":"SCHEMA","stream":"public-v","key_properties":["id"],"schema":{"type":"object","properties":{"id":{"type":"integer"},"x":{"type":["string","null"]}}}}"#,
        );
        input.push('\n');
        for id in ids {
            input.push_str(&format!(
                r#"{{"type":"RECORD","stream":"public-v","record":{{"id":{id},"x":"v{version}"}},"version":{version},"time_extracted":"2024-01-01T00:00:00+01:00"}}"#
            ));
            input.push('\n');
        }
        input.push_str(&format!(
            r#"{{"type":"ACTIVATE_VERSION","stream":"public-v","version":{version}}}"#
        ));
        input.push('\n');
        let out = target(
            &config(dir.path(), schema, json!({"hard_delete": hard})),
            input.as_bytes(),
        );
        assert!(out.status.success(), "{}", text(&out));
    };
    let soft = PgSchema::create();
    run(&soft.0, false, 1, &[1, 2, 3]);
    run(&soft.0, false, 2, &[1, 2]);
    assert_eq!(
        rows(&format!(
            "SELECT id, x, _sdc_table_version, _sdc_deleted_at IS NOT NULL, _sdc_extracted_at \
             FROM {}.v ORDER BY id",
            soft.0
        )),
        [
            "1|v2|2|f|2023-12-31 23:00:00",
            "2|v2|2|f|2023-12-31 23:00:00",
            "3|v1|1|t|2023-12-31 23:00:00"
        ]
    );
    let hard = PgSchema::create();
    run(&hard.0, true, 1, &[1, 2, 3]);
    run(&hard.0, true, 2, &[1, 2]);
    assert_eq!(
        rows(&format!("SELECT id, x FROM {}.v ORDER BY id", hard.0)),
        ["1|v2", "2|v2"]
    );
}

#[test]
fn smelt_run_tap_csv_into_postgres_saves_state() {
    let schema = PgSchema::create();
    let p = TestProject::new(&format!(
        "version: 1
default_environment: dev
project_id: 7d0c1d8e-0000-4000-8000-0000000a0017
environments:
- name: dev
plugins:
  extractors:
  - name: tap-csv
    variant: smelt
    config:
      files:
      - entity: people
        path: people.csv
        keys: [id]
        replication_key: id
  loaders:
  - name: target-postgres
    variant: smelt
    config:
      sqlalchemy_url: {PG}
      default_target_schema: {}
",
        schema.0
    ));
    std::fs::write(p.path("people.csv"), "id,name\n1,Ada\n2,Grace\n").unwrap();
    let out = p.run(&["run", "tap-csv", "target-postgres"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        rows(&format!(
            "SELECT id, name FROM {}.people ORDER BY id",
            schema.0
        )),
        ["1|Ada", "2|Grace"]
    );
    let state = p
        .state("dev:tap-csv-to-target-postgres")
        .expect("state saved");
    assert!(state.to_string().contains("people"), "{state}");
    // Only the new row is read again; an update of a key replaces its row.
    std::fs::write(
        p.path("people.csv"),
        "id,name\n1,Ada\n2,Grace\n3,Katherine\n",
    )
    .unwrap();
    let out = p.run(&["run", "tap-csv", "target-postgres"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        rows(&format!(
            "SELECT id, name FROM {}.people ORDER BY id",
            schema.0
        )),
        ["1|Ada", "2|Grace", "3|Katherine"]
    );
}

#[test]
fn errors_name_the_record_and_never_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = PgSchema::create();
    let input = concat!(
        r#"{"type":"SCHEMA","stream":"t","key_properties":[],"schema":{"type":"object","properties":{"n":{"type":"integer"}}}}"#,
        "\n",
        r#"{"type":"RECORD","stream":"t","record":{"n":1}}"#,
        "\n",
        r#"{"type":"RECORD","stream":"t","record":{"n":"many"}}"#,
        "\n"
    );
    let out = target(&config(dir.path(), &schema.0, json!({})), input.as_bytes());
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains("stream `t`, record on input line 3, property `n` (column type bigint)")
            && err.contains("many"),
        "{err}"
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM pg_tables WHERE schemaname = '{}'",
            schema.0
        )),
        "0",
        "a failed load leaves no table behind"
    );
    let cfg = dir.path().join("bad.json");
    std::fs::write(
        &cfg,
        json!({"host": "127.0.0.1", "port": 1, "user": "u", "password": "s3cr3t-pw", "database": "d",
               "connect_timeout_seconds": 5})
        .to_string(),
    )
    .unwrap();
    let out = target(&cfg, b"");
    let err = text(&out);
    assert!(
        !out.status.success() && err.contains("could not connect"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t-pw"), "{err}");
}

#[test]
fn loads_the_same_tables_as_meltanolabs_target_postgres() {
    let exe = pypi_venv(
        "venv-meltanolabs-target-postgres",
        "meltanolabs-target-postgres==0.8.1",
        "target-postgres",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let input = concat!(
        r#"{"type":"SCHEMA","stream":"public-mixed","key_properties":["id"],"schema":{"type":"object","properties":{"id":{"type":"integer"},"small":{"type":"integer","minimum":0,"maximum":100},"amount":{"type":["number","null"]},"name":{"type":["string","null"]},"camelCase Name":{"type":["string","null"]},"at":{"type":["string","null"],"format":"date-time"},"day":{"type":"string","format":"date"},"clock":{"type":"string","format":"time"},"uid":{"type":"string","format":"uuid"},"flag":{"type":"boolean"},"doc":{"type":"object"},"tags":{"type":"array","items":{"type":"string"}},"nums":{"type":"array","items":{"type":"integer"}},"either":{"type":["integer","string","null"]},"alt":{"anyOf":[{"type":"string","format":"date-time"},{"type":"null"}]}}}}"#,
        "\n",
        r#"{"type":"RECORD","stream":"public-mixed","record":{"id":1,"small":5,"amount":12345678901234.5678,"name":"Ünïcødé ✓ \"q\" \\ tab\there","camelCase Name":"x","at":"2024-01-02T03:04:05.123456+02:00","day":"2024-02-29","clock":"23:59:59","uid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","flag":true,"doc":{"k":[1,2.5,null],"s":"é"},"tags":["a","b c","d\"e"],"nums":[1,2,3],"either":7,"alt":"2024-03-04T05:06:07Z"},"time_extracted":"2024-01-01T00:00:00Z"}"#,
        "\n",
        r#"{"type":"RECORD","stream":"public-mixed","record":{"id":2,"amount":null,"name":null,"at":"2024-06-30T23:59:59","day":"1999-12-31","flag":false,"doc":{},"tags":[],"nums":[],"either":"text"}}"#,
        "\n",
        r#"{"type":"RECORD","stream":"public-mixed","record":{"id":2,"small":6,"amount":-0.5,"name":"updated","flag":false,"doc":{"a":1},"tags":["z"],"nums":[9],"either":"8"}}"#,
        "\n",
        r#"{"type":"STATE","value":{"done":true}}"#,
        "\n"
    );
    let native = PgSchema::create();
    let python = PgSchema::create();
    let out = target(&config(dir.path(), &native.0, json!({})), input.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(states(&out), [json!({"done": true})]);
    let mut child = Command::new(&exe)
        .arg("--config")
        .arg(config(
            dir.path(),
            &python.0,
            json!({"sqlalchemy_url": PG.replace("postgresql://", "postgresql+psycopg://")}),
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run MeltanoLabs target-postgres");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "MeltanoLabs: {}", text(&out));

    let columns = |s: &str| {
        rows(&format!(
            "SELECT column_name, data_type, udt_name, is_nullable FROM information_schema.columns \
             WHERE table_schema = '{s}' AND table_name = 'mixed' ORDER BY ordinal_position"
        ))
    };
    assert_eq!(columns(&native.0), columns(&python.0));
    assert_eq!(
        psql(&format!(
            "SELECT string_agg(conname || ':' || contype::text, ',') FROM pg_constraint WHERE connamespace = '{}'::regnamespace",
            native.0
        )),
        "mixed_pkey:p"
    );
    // Contents without the _sdc_ columns that hold load times; MeltanoLabs stores an absent
    // jsonb value as JSON null, smelt as SQL NULL (documented), so that is compared alike.
    let contents = |s: &str| {
        rows(&format!(
            "SELECT id, small, amount, name, \"camelCase Name\", at, day, clock, uid, flag, \
             NULLIF(doc, 'null'::jsonb), tags, nums, either, alt, _sdc_extracted_at, \
             _sdc_deleted_at, _sdc_table_version FROM {s}.mixed ORDER BY id"
        ))
    };
    let ours = contents(&native.0);
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(ours, contents(&python.0));
}

/// A keyed stream of `n` records (`v` in each), ids from `ids`, on input lines 2….
fn keyed_records(ids: impl Iterator<Item = u64>, v: &str) -> String {
    let mut out = String::new();
    for id in ids {
        out.push_str(&format!(
            r#"{{"type":"RECORD","stream":"k","record":{{"id":{id},"v":"{v}","pad":"{}"}}}}"#,
            "x".repeat(40)
        ));
        out.push('\n');
    }
    out
}

#[test]
fn a_streamed_batch_switches_to_merging_at_a_repeated_key_and_names_a_bad_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = PgSchema::create();
    let s = schema.0.as_str();
    let cfg = config(dir.path(), s, json!({"add_record_metadata": false}));
    let head = r#"{"type":"SCHEMA","stream":"k","key_properties":["id"],"schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"},"pad":{"type":"string"}}}}"#;
    // 40,000 new keys (several MiB: streamed into the empty table as they are parsed), then
    // keys 1..=10 again, then 10,000 more new keys: one batch, one transaction.
    let input = format!(
        "{head}\n{}{}{}",
        keyed_records(1..=40_000, "a"),
        keyed_records(1..=10, "b"),
        keyed_records(40_001..=50_000, "a")
    );
    let out = target(&cfg, input.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        psql(&format!(
            "SELECT count(*), count(*) FILTER (WHERE v = 'b'), min(id) FILTER (WHERE v = 'b'), \
             max(id) FILTER (WHERE v = 'b'), max(id) FROM {s}.k"
        )),
        "50000|10|1|10|50000"
    );
    // A value PostgreSQL refuses deep inside a streamed batch is named by its input line.
    let bad = format!(
        "{head}\n{}{}",
        keyed_records(60_001..=90_000, "c"),
        r#"{"type":"RECORD","stream":"k","record":{"id":"not a number","v":"c"}}"#
    );
    let out = target(&cfg, bad.as_bytes());
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains("stream `k`, record on input line 30002, property `id` (column type bigint)"),
        "{err}"
    );
    assert_eq!(
        psql(&format!("SELECT count(*) FROM {s}.k WHERE id > 60000")),
        "0",
        "nothing of the failed batch is visible"
    );
}

#[test]
fn merges_on_key_properties_into_a_table_made_without_a_unique_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = PgSchema::create();
    let s = schema.0.as_str();
    psql(&format!(
        "CREATE TABLE {s}.k (id bigint, v text, extra text DEFAULT 'kept'); \
         INSERT INTO {s}.k (id, v) VALUES (1, 'old'), (2, 'old')"
    ));
    let cfg = config(dir.path(), s, json!({"add_record_metadata": false}));
    let head = r#"{"type":"SCHEMA","stream":"k","key_properties":["id"],"schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"},"pad":{"type":"string"}}}}"#;
    let input = format!(
        "{head}\n{}{}",
        keyed_records(2..=3, "new"),
        keyed_records(3..=4, "newer")
    );
    let out = target(&cfg, input.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        rows(&format!(
            "SELECT id, v, extra, length(pad) FROM {s}.k ORDER BY id"
        )),
        [
            "1|old|kept|",
            "2|new|kept|40",
            "3|newer|kept|40",
            "4|newer|kept|40"
        ],
        "updated in place, new keys inserted, the new column added"
    );
}
