//! smelt's native tap-postgres against the PostgreSQL on 127.0.0.1:5432: discovery, FULL_TABLE
//! and INCREMENTAL under `smelt run` with state in smelt's store, only selected columns read,
//! errors that name what failed, and discovery equal to MeltanoLabs tap-postgres 0.10.0's.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{psql, pypi_venv, read_jsonl, text, PgSchema, TestProject};
use serde_json::{json, Value};

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `smelt plugin tap-postgres ARGS` in `dir`.
fn tap(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["plugin", "tap-postgres"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run smelt plugin tap-postgres")
}

fn write_json(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).expect("write json");
    path.display().to_string()
}

fn messages(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A table of many column types (a primary key, nulls, unicode, big numerics), a view, and
/// a column holding a huge value that must never be read when deselected.
fn create_tables(schema: &str) {
    psql(&format!(
        "CREATE TABLE {schema}.items (
           id bigint PRIMARY KEY, name varchar(40), price numeric(30,10), ratio double precision,
           flag boolean, born date, seen timestamptz, naive timestamp, tags text[], doc jsonb,
           uid uuid, raw bytea, secret text, updated_at timestamptz NOT NULL);
         CREATE VIEW {schema}.items_v AS SELECT id, name FROM {schema}.items;
         INSERT INTO {schema}.items VALUES
           (1, 'Ünïcødé ✓ \"q\"', 12345678901234567890.0123456789, 'NaN', true, '2024-02-29',
            '2024-01-02 03:04:05.5+02', '2024-01-02 03:04:05', '{{a,\"b c\",NULL}}',
            '{{\"k\": [1, 2.5, null]}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff',
            repeat('SECRET', 1000), '2024-03-01 00:00:00+00'),
           (2, NULL, NULL, 1.5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            '2024-03-02 00:00:00+00'),
           (3, 'three', -0.5, -2e-5, false, '1999-12-31', '2024-06-30 23:59:59.999999+00',
            NULL, '{{}}', '\"s\"', NULL, NULL, 'x', '2024-03-03 00:00:00+00')"
    ));
}

fn config(schema: &str) -> Value {
    json!({"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "", "database": "test",
           "filter_schemas": [schema]})
}

#[test]
fn discovers_then_syncs_full_table_and_incremental_under_smelt_run() {
    let schema = PgSchema::create();
    let s = &schema.0;
    create_tables(s);

    // Discovery, as a plain Singer program.
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_json(dir.path(), "config.json", &config(s));
    let catalog: Value =
        serde_json::from_str(&ok(&tap(dir.path(), &["--config", &cfg, "--discover"]))).unwrap();
    let streams = catalog["streams"].as_array().unwrap();
    let ids: Vec<&str> = streams
        .iter()
        .map(|s| s["tap_stream_id"].as_str().unwrap())
        .collect();
    let items_id = format!("{s}-items");
    let view_id = format!("{s}-items_v");
    assert_eq!(ids, [items_id.as_str(), view_id.as_str()]);
    let items = &streams[0];
    assert_eq!(items["stream"], items_id);
    assert_eq!(items["table_name"], "items");
    assert_eq!(items["key_properties"], json!(["id"]));
    assert_eq!(items["is_view"], json!(false));
    assert_eq!(streams[1]["is_view"], json!(true));
    let props = &items["schema"]["properties"];
    assert_eq!(props["id"], json!({"type": ["integer"]}));
    assert_eq!(
        props["name"],
        json!({"maxLength": 40, "type": ["string", "null"]})
    );
    assert_eq!(props["price"], json!({"type": ["number", "null"]}));
    assert_eq!(
        props["seen"],
        json!({"format": "date-time", "type": ["string", "null"]})
    );
    assert_eq!(
        props["born"],
        json!({"format": "date", "type": ["string", "null"]})
    );
    assert_eq!(
        props["tags"],
        json!({"items": {"type": ["string", "null"]}, "type": ["array", "null"]})
    );
    assert_eq!(props["updated_at"]["type"], json!(["string", "null"]));
    let root = items["metadata"].as_array().unwrap().last().unwrap();
    assert_eq!(root["breadcrumb"], json!([]));
    assert_eq!(root["metadata"]["schema-name"], json!(s));
    assert_eq!(root["metadata"]["table-key-properties"], json!(["id"]));

    // A project: native tap-postgres → native target-jsonl; items incremental on updated_at
    // without its secret column, the view full-table.
    let p = TestProject::new(&format!(
        "version: 1
default_environment: dev
project_id: 7d0c1d8e-0000-4000-8000-0000000a0016
environments:
- name: dev
plugins:
  extractors:
  - name: tap-postgres
    variant: smelt
    config:
      host: 127.0.0.1
      port: 5432
      user: postgres
      database: test
      filter_schemas: [{s}]
    select:
    - {items_id}.*
    - '!{items_id}.secret'
    - {view_id}.*
    metadata:
      {items_id}:
        replication-method: INCREMENTAL
        replication-key: updated_at
  loaders:
  - name: target-jsonl
    variant: smelt
"
    ));
    let first = p.run(&["run", "tap-postgres", "target-jsonl"]);
    assert!(first.status.success(), "{}", text(&first));
    let out = |name: &str| read_jsonl(&p.path(&format!("output/{name}.jsonl")));
    let rows = out(&items_id);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0]["id"], json!(1));
    assert_eq!(rows[0]["name"], json!("Ünïcødé ✓ \"q\""));
    let raw = std::fs::read_to_string(p.path(&format!("output/{items_id}.jsonl"))).unwrap();
    assert!(
        raw.contains("12345678901234567890.0123456789"),
        "numeric keeps every digit: {raw}"
    );
    assert!(!raw.contains("SECRET") && !raw.contains("secret"), "{raw}");
    assert_eq!(rows[0]["ratio"], Value::Null, "NaN becomes null");
    assert_eq!(rows[0]["born"], json!("2024-02-29"));
    assert_eq!(rows[0]["seen"], json!("2024-01-02T01:04:05.500000+00:00"));
    assert_eq!(rows[0]["naive"], json!("2024-01-02T03:04:05.000000+00:00"));
    assert_eq!(rows[0]["tags"], json!(["a", "b c", null]));
    assert_eq!(rows[0]["doc"], json!({"k": [1, 2.5, null]}));
    assert_eq!(
        rows[0]["uid"],
        json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    );
    assert_eq!(rows[0]["raw"], json!("00ff"));
    assert_eq!(rows[1]["name"], Value::Null);
    assert_eq!(rows[2]["doc"], json!("s"));
    assert_eq!(rows[2]["tags"], json!([]));
    assert_eq!(rows[2]["flag"], json!(false));
    assert_eq!(out(&view_id).len(), 3);

    let state_id = "dev:tap-postgres-to-target-jsonl";
    let stored = p.state(state_id).expect("state stored");
    let bookmark = &stored["completed"]["singer_state"]["bookmarks"][&items_id];
    assert_eq!(
        bookmark,
        &json!({"replication_key": "updated_at",
                "replication_key_value": "2024-03-03T00:00:00.000000+00:00"}),
        "{stored}"
    );

    // Change one row, add one: the next run reads rows with updated_at >= the bookmark, so
    // the bookmarked row again plus the two changed ones (the Singer SDK's rule).
    psql(&format!(
        "UPDATE {s}.items SET name = 'changed', updated_at = '2024-04-01+00' WHERE id = 1;
         INSERT INTO {s}.items (id, name, updated_at) VALUES (4, 'four', '2024-05-01+00')"
    ));
    std::fs::remove_dir_all(p.path("output")).unwrap();
    let second = p.run(&["run", "tap-postgres", "target-jsonl"]);
    assert!(second.status.success(), "{}", text(&second));
    let ids: Vec<i64> = out(&items_id)
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [3, 1, 4]);
    assert_eq!(out(&view_id).len(), 4, "the view is read in full each time");
    let stored = p.state(state_id).expect("state stored");
    assert_eq!(
        stored["completed"]["singer_state"]["bookmarks"][&items_id]["replication_key_value"],
        json!("2024-05-01T00:00:00.000000+00:00")
    );
}

#[test]
fn reads_only_selected_columns_resumes_from_state_and_names_failures() {
    let schema = PgSchema::create();
    let s = &schema.0;
    create_tables(s);
    psql(&format!(
        "CREATE TABLE {s}.big AS SELECT g AS id, g % 7 AS k, now() AS at FROM generate_series(1, 25000) g"
    ));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_json(dir.path(), "config.json", &config(s));
    let mut catalog: Value =
        serde_json::from_str(&ok(&tap(dir.path(), &["--config", &cfg, "--discover"]))).unwrap();
    let items_id = format!("{s}-items");
    let big_id = format!("{s}-big");
    for stream in catalog["streams"].as_array_mut().unwrap() {
        let id = stream["tap_stream_id"].as_str().unwrap().to_string();
        for entry in stream["metadata"].as_array_mut().unwrap() {
            let crumb = entry["breadcrumb"].clone();
            let md = entry["metadata"].as_object_mut().unwrap();
            if crumb == json!([]) {
                md.insert("selected".into(), json!(id == items_id || id == big_id));
                if id == items_id {
                    md.insert("replication-key".into(), json!("updated_at"));
                } else if id == big_id {
                    md.insert("replication-key".into(), json!("id"));
                }
            } else if crumb == json!(["properties", "secret"]) {
                md.insert("selected".into(), json!(false));
            }
        }
    }
    let cat = write_json(dir.path(), "catalog.json", &catalog);

    // A role that may read every column of items but `secret`: the sync succeeds only if the
    // SELECT never names the deselected column.
    let role = format!("{s}_ro");
    psql(&format!(
        "CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA {s} TO {role};
         GRANT SELECT (id, name, price, ratio, flag, born, seen, naive, tags, doc, uid, raw,
                       updated_at) ON {s}.items TO {role};
         GRANT SELECT ON {s}.big TO {role}"
    ));
    struct DropRole(String);
    impl Drop for DropRole {
        fn drop(&mut self) {
            psql(&format!(
                "DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}",
                self.0
            ));
        }
    }
    let _role = DropRole(role.clone());
    let mut ro_config = config(s);
    ro_config["user"] = json!(role);
    let ro = write_json(dir.path(), "ro.json", &ro_config);
    let state = write_json(
        dir.path(),
        "state.json",
        &json!({"bookmarks": {
            items_id.clone(): {"replication_key": "updated_at",
                               "replication_key_value": "2024-03-02T00:00:00.000000+00:00"},
            big_id.clone(): {"replication_key": "id", "replication_key_value": 5001}
        }}),
    );
    let out = ok(&tap(
        dir.path(),
        &["--config", &ro, "--catalog", &cat, "--state", &state],
    ));
    let msgs = messages(&out);
    let records = |id: &str| -> Vec<&Value> {
        msgs.iter()
            .filter(|m| m["type"] == "RECORD" && m["stream"] == id)
            .map(|m| &m["record"])
            .collect()
    };
    let items: Vec<i64> = records(&items_id)
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        items,
        [2, 3],
        "rows from the bookmark on (>=), in key order"
    );
    assert!(records(&items_id).iter().all(|r| r.get("secret").is_none()));
    let schema_msg = msgs
        .iter()
        .find(|m| m["type"] == "SCHEMA" && m["stream"] == items_id.as_str())
        .unwrap();
    assert!(schema_msg["schema"]["properties"].get("secret").is_none());
    assert_eq!(schema_msg["bookmark_properties"], json!(["updated_at"]));
    assert_eq!(records(&big_id).len(), 20000);
    // STATE every 10,000 records, then at the end; each resumes where the stream stood.
    let big_states: Vec<Value> = msgs
        .iter()
        .take_while(|m| !(m["type"] == "SCHEMA" && m["stream"] == items_id.as_str()))
        .filter(|m| m["type"] == "STATE")
        .map(|m| m["value"]["bookmarks"][&big_id]["replication_key_value"].clone())
        .collect();
    assert_eq!(big_states, [json!(15000), json!(25000), json!(25000)]);

    // The same catalog with `secret` selected fails on the privilege: proof the column is read
    // only when selected. The error names the stream.
    let mut with_secret = catalog.clone();
    for stream in with_secret["streams"].as_array_mut().unwrap() {
        for entry in stream["metadata"].as_array_mut().unwrap() {
            if entry["breadcrumb"] == json!(["properties", "secret"]) {
                entry["metadata"]["selected"] = json!(true);
            }
        }
    }
    let cat2 = write_json(dir.path(), "catalog2.json", &with_secret);
    let failed = tap(dir.path(), &["--config", &ro, "--catalog", &cat2]);
    assert!(!failed.status.success());
    let err = text(&failed);
    assert!(
        err.contains(&items_id) && err.contains("permission denied"),
        "{err}"
    );

    // A table that vanished since discovery.
    psql(&format!("DROP TABLE {s}.big"));
    let failed = tap(dir.path(), &["--config", &cfg, "--catalog", &cat]);
    assert!(!failed.status.success());
    let err = text(&failed);
    assert!(
        err.contains(&big_id) && err.contains("no longer exists"),
        "{err}"
    );

    // Nothing listening: the error names host and port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let mut bad = config(s);
    bad["port"] = json!(port);
    let bad = write_json(dir.path(), "bad.json", &bad);
    let failed = tap(dir.path(), &["--config", &bad, "--discover"]);
    assert!(!failed.status.success());
    let err = text(&failed);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("refused"), "{err}");
}

/// Discovery equals MeltanoLabs tap-postgres 0.10.0's for the same tables (its venv is the
/// one tests/pypi_postgres.rs installs).
#[test]
fn discovery_matches_meltanolabs_tap_postgres() {
    let ml = pypi_venv(
        "venv-meltanolabs-tap-postgres",
        "meltanolabs-tap-postgres==0.10.0",
        "tap-postgres",
    );
    let schema = PgSchema::create();
    let s = &schema.0;
    create_tables(s);
    psql(&format!(
        "CREATE TYPE {s}.mood AS ENUM ('ok', 'happy');
         CREATE TABLE {s}.more (a smallint, b integer NOT NULL, c real, d char(3), e time,
           f timetz, g interval, h json, i int4[], j money, k inet, l numeric, m text UNIQUE,
           n {s}.mood);
         CREATE MATERIALIZED VIEW {s}.mv AS SELECT 1 AS a;
         INSERT INTO {s}.more VALUES
           (1, 2, 1.5, 'ab', '03:04:05', '03:04:05.25-05:30', '1 day', '{{\"x\": [1, \"y\"]}}',
            '{{1,2}}', 12.5, '10.0.0.1', 12345.678, 'text é', 'ok'),
           (NULL, 0, 'Infinity', NULL, '23:59:59.000001', '00:00:00+00', NULL, 'null', '{{}}',
            NULL, NULL, 'NaN', NULL, NULL)"
    ));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_json(dir.path(), "config.json", &config(s));
    let ours = ok(&tap(dir.path(), &["--config", &cfg, "--discover"]));
    let theirs = Command::new(&ml)
        .args(["--config", &cfg, "--discover"])
        .current_dir(dir.path())
        .output()
        .expect("run MeltanoLabs tap-postgres");
    let theirs = ok(&theirs);
    let ours: Value = serde_json::from_str(&ours).unwrap();
    let mut theirs: Value = serde_json::from_str(&theirs).unwrap();
    // The one intended difference: smelt's array items are nullable.
    for stream in theirs["streams"].as_array_mut().unwrap() {
        for prop in stream["schema"]["properties"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            if let Some(Value::Array(types)) = prop.get_mut("items").and_then(|i| i.get_mut("type"))
            {
                types.push(json!("null"));
            }
        }
    }
    assert_eq!(ours, theirs);
    // Key order too, so catalogs diff cleanly when switching variant.
    assert_eq!(ours.to_string(), theirs.to_string());

    // The same records from the same catalog (`more` selected), but for `interval` (g),
    // which MeltanoLabs renders as a date-time after 1970-01-01.
    let more_id = format!("{s}-more");
    for stream in theirs["streams"].as_array_mut().unwrap() {
        let selected = stream["tap_stream_id"] == more_id.as_str();
        for entry in stream["metadata"].as_array_mut().unwrap() {
            if entry["breadcrumb"] == json!([]) {
                entry["metadata"]["selected"] = json!(selected);
            }
        }
    }
    let cat = write_json(dir.path(), "catalog.json", &theirs);
    let records = |out: &str| -> Vec<Value> {
        messages(out)
            .into_iter()
            .filter(|m| m["type"] == "RECORD")
            .map(|mut m| {
                m["record"].as_object_mut().unwrap().remove("g");
                m["record"].take()
            })
            .collect()
    };
    let ours = records(&ok(&tap(
        dir.path(),
        &["--config", &cfg, "--catalog", &cat],
    )));
    let theirs = Command::new(&ml)
        .args(["--config", &cfg, "--catalog", &cat])
        .current_dir(dir.path())
        .output()
        .expect("run MeltanoLabs tap-postgres");
    let theirs = records(&ok(&theirs));
    assert_eq!(ours.len(), 2);
    assert_eq!(ours, theirs);
}
