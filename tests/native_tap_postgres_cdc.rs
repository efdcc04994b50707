//! smelt's native tap-postgres, LOG_BASED: change data capture through a logical replication
//! slot (pgoutput). The test starts a throwaway PostgreSQL cluster of its own (initdb in a
//! temporary directory, `wal_level = logical`, listening on 127.0.0.1 only, on a free port),
//! so the shared server is untouched; the cluster is stopped when the test ends or panics.
//! One test function walks through the steps on that cluster (starting it is the slow part).

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{text, TestProject};
use serde_json::{json, Value};

/// A PostgreSQL cluster of its own, stopped (`pg_ctl stop -m immediate`) when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// initdb and the server refuse to run as root: then they run as `postgres`.
    as_postgres: bool,
}

impl Cluster {
    fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries under /usr/lib/postgresql/*/bin are needed")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .max()
            .expect("no /usr/lib/postgresql/*/bin with initdb and pg_ctl");
        let dir = tempfile::tempdir().expect("temp dir");
        // Whether we are root (`id -u`, without unsafe libc calls).
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let out = Command::new("chown")
                .args(["postgres:postgres", &dir.path().display().to_string()])
                .output()
                .expect("chown");
            assert!(out.status.success(), "{}", text(&out));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let cluster = Cluster {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.data();
        let out = cluster
            .server_command("initdb")
            .args(["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .args(["--no-sync", "--locale=C"])
            .output()
            .expect("initdb");
        assert!(out.status.success(), "initdb: {}", text(&out));
        let options = format!(
            "-c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=4 \
             -c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off \
             -c shared_buffers=16MB",
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("log").display().to_string();
        let out = cluster
            .server_command("pg_ctl")
            .args([
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ])
            .output()
            .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start: {}\n{}",
            text(&out),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// A PostgreSQL server program, run as `postgres` when we are root.
    fn server_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    fn psql(&self, sql: &str) -> String {
        common::psql_at(
            &format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port),
            sql,
        )
    }

    fn config(&self, extra: Value) -> Value {
        let mut config = json!({"host": "127.0.0.1", "port": self.port, "user": "postgres",
                                "database": "postgres", "filter_schemas": ["cdc"]});
        if let (Some(c), Value::Object(e)) = (config.as_object_mut(), extra) {
            c.extend(e);
        }
        config
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .server_command("pg_ctl")
            .args([
                "-D",
                &self.data(),
                "-m",
                "immediate",
                "-w",
                "-t",
                "30",
                "stop",
            ])
            .output();
    }
}

fn write_json(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).expect("write json");
    path.display().to_string()
}

/// `smelt plugin tap-postgres` with this config, catalog and state (if any).
fn tap(dir: &Path, config: &Value, catalog: Option<&Value>, state: Option<&Value>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smelt"));
    cmd.args(["plugin", "tap-postgres", "--config"])
        .arg(write_json(dir, "config.json", config))
        .current_dir(dir);
    if let Some(catalog) = catalog {
        cmd.arg("--catalog")
            .arg(write_json(dir, "catalog.json", catalog));
    }
    if let Some(state) = state {
        cmd.arg("--state").arg(write_json(dir, "state.json", state));
    }
    cmd.output().expect("run smelt plugin tap-postgres")
}

/// The catalog `--discover` prints.
fn discover(dir: &Path, config: &Value) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["plugin", "tap-postgres", "--discover", "--config"])
        .arg(write_json(dir, "config.json", config))
        .output()
        .expect("run smelt plugin tap-postgres --discover");
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).expect("the catalog is JSON")
}

/// The messages of a successful run.
fn messages(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(messages: &'a [Value], kind: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["type"] == kind).collect()
}

/// The records, as (stream, record without `_sdc_deleted_at`'s time, deleted?).
fn changes(messages: &[Value]) -> Vec<(String, Value, bool)> {
    of_type(messages, "RECORD")
        .into_iter()
        .map(|m| {
            let mut r = m["record"].clone();
            let deleted = !r["_sdc_deleted_at"].is_null();
            if let Some(o) = r.as_object_mut() {
                o.remove("_sdc_deleted_at");
                o.remove("_sdc_lsn");
            }
            (m["stream"].as_str().unwrap_or("").to_string(), r, deleted)
        })
        .collect()
}

/// The last STATE's value.
fn last_state(messages: &[Value]) -> Value {
    of_type(messages, "STATE")
        .last()
        .map(|m| m["value"].clone())
        .expect("a STATE message")
}

fn lsn_of(state: &Value, stream: &str) -> u64 {
    let b = &state["bookmarks"][stream];
    assert_eq!(b["replication_key"], json!("_sdc_lsn"), "{state}");
    b["replication_key_value"].as_u64().expect("an integer LSN")
}

/// The discovered catalog with `streams` selected, LOG_BASED (or `method`), and `deselect`
/// columns deselected.
fn catalog(discovered: &Value, streams: &[&str], method: &str, deselect: &[&str]) -> Value {
    let mut catalog = discovered.clone();
    for entry in catalog["streams"].as_array_mut().expect("streams") {
        let id = entry["tap_stream_id"].as_str().unwrap_or("").to_string();
        // MeltanoLabs reads the method from the entry's top level.
        entry["replication_method"] = json!(method);
        for m in entry["metadata"].as_array_mut().expect("metadata") {
            let crumb = m["breadcrumb"].clone();
            if crumb == json!([]) {
                m["metadata"]["selected"] = json!(streams.contains(&id.as_str()));
                m["metadata"]["replication-method"] = json!(method);
            } else {
                let name = crumb[1].as_str().unwrap_or("");
                m["metadata"]["selected"] = json!(!deselect.contains(&name));
            }
        }
    }
    catalog
}

#[test]
fn log_based_reads_exactly_the_changes_from_a_slot() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    cluster.psql(
        "CREATE SCHEMA cdc;
         CREATE TABLE cdc.items (id int PRIMARY KEY, name varchar(40), price numeric(20,4),
           ratio float8, flag boolean, born date, seen timestamptz, naive timestamp, at time,
           tags text[], doc jsonb, uid uuid, raw bytea, secret text, big text);
         CREATE TABLE cdc.other (id int PRIMARY KEY, v text);
         CREATE TABLE cdc.late (id int PRIMARY KEY);
         CREATE TABLE cdc.nokey (a int);
         CREATE TABLE cdc.parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
         INSERT INTO cdc.items (id, name, secret) VALUES (1, 'one', 'hidden'), (2, 'two', 'x');
         INSERT INTO cdc.items (id, big)
           SELECT 5, string_agg(md5(i::text), '') FROM generate_series(1, 3000) i;
         INSERT INTO cdc.other VALUES (1, 'before')",
    );
    let config = cluster.config(json!({}));
    let discovered = discover(d, &config);
    let cat = catalog(
        &discovered,
        &["cdc-items", "cdc-other"],
        "LOG_BASED",
        &["secret"],
    );

    // First run, no state: as MeltanoLabs' default, changes from the slot's position on;
    // the slot and the publication are created, no record is read, the state holds an LSN.
    let first = messages(&tap(d, &config, Some(&cat), None));
    let schemas = of_type(&first, "SCHEMA");
    assert_eq!(schemas.len(), 2, "{first:?}");
    let items_schema = &schemas[0]["schema"];
    assert_eq!(
        items_schema["properties"]["id"]["type"],
        json!(["integer", "null"])
    );
    assert_eq!(
        items_schema["properties"]["_sdc_deleted_at"],
        json!({"type": ["string", "null"]})
    );
    assert_eq!(
        items_schema["properties"]["_sdc_lsn"],
        json!({"type": ["integer", "null"]})
    );
    assert!(items_schema.get("required").is_none(), "{items_schema}");
    assert!(items_schema["properties"].get("secret").is_none());
    assert_eq!(schemas[0]["key_properties"], json!(["id"]));
    assert_eq!(schemas[0]["bookmark_properties"], json!(["_sdc_lsn"]));
    assert!(of_type(&first, "RECORD").is_empty(), "{first:?}");
    let state1 = last_state(&first);
    let lsn1 = lsn_of(&state1, "cdc-items");
    assert_eq!(lsn_of(&state1, "cdc-other"), lsn1);
    assert_eq!(
        cluster.psql("SELECT plugin FROM pg_replication_slots WHERE slot_name = 'tappostgres'"),
        "pgoutput"
    );
    assert_eq!(
        cluster.psql(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables \
             WHERE pubname = 'tappostgres'"
        ),
        "items,other"
    );

    // Inserts, an update, a delete, and one transaction touching both tables.
    cluster.psql(
        "INSERT INTO cdc.items VALUES (3, 'Ünïcødé \"q\"', 12345678.5, 'NaN', true,
           '2024-02-29', '2024-01-02 03:04:05.5+02', '2024-01-02 03:04:05', '03:04:05.25',
           '{a,\"b c\",NULL}', '{\"k\": [1, 2.5, null]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
           '\\x00ff', 'never read');
         UPDATE cdc.items SET name = 'ONE' WHERE id = 1;
         DELETE FROM cdc.items WHERE id = 2;
         UPDATE cdc.items SET name = 'five' WHERE id = 5;
         BEGIN; INSERT INTO cdc.items (id, name) VALUES (4, 'four');
                UPDATE cdc.other SET v = 'after' WHERE id = 1; COMMIT",
    );
    let second = messages(&tap(d, &config, Some(&cat), Some(&state1)));
    let got = changes(&second);
    let streams: Vec<(&str, i64, bool)> = got
        .iter()
        .map(|(s, r, del)| (s.as_str(), r["id"].as_i64().unwrap_or(-1), *del))
        .collect();
    assert_eq!(
        streams,
        [
            ("cdc-items", 3, false),
            ("cdc-items", 1, false),
            ("cdc-items", 2, true),
            ("cdc-items", 5, false),
            ("cdc-items", 4, false),
            ("cdc-other", 1, false)
        ],
        "{second:?}"
    );
    // The delete carries the key (REPLICA IDENTITY DEFAULT) and when it was seen.
    assert_eq!(got[2].1, json!({"id": 2}));
    let deleted = of_type(&second, "RECORD")[2]["record"]["_sdc_deleted_at"].clone();
    assert!(
        deleted
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20),
        "{deleted}"
    );
    // The big TOASTed value the update did not touch is not sent: left out, not nulled.
    assert_eq!(got[3].1["name"], json!("five"));
    assert!(got[3].1.get("big").is_none(), "{:?}", got[3]);
    assert!(got[3].1.get("price").is_some());
    assert_eq!(got[5].1, json!({"id": 1, "v": "after"}));
    for r in of_type(&second, "RECORD") {
        assert!(
            r["record"]["_sdc_lsn"].as_u64().is_some_and(|l| l >= lsn1),
            "{r}"
        );
        assert!(r["record"].get("secret").is_none(), "deselected: {r}");
    }
    // Values exactly as FULL_TABLE writes them.
    let full = messages(&tap(
        d,
        &config,
        Some(&catalog(
            &discovered,
            &["cdc-items"],
            "FULL_TABLE",
            &["secret"],
        )),
        None,
    ));
    let full_3 = of_type(&full, "RECORD")
        .into_iter()
        .find(|m| m["record"]["id"] == 3)
        .map(|m| m["record"].clone())
        .expect("row 3");
    assert_eq!(got[0].1, full_3);
    assert_eq!(full_3["seen"], json!("2024-01-02T01:04:05.500000+00:00"));
    assert_eq!(full_3["tags"], json!(["a", "b c", null]));
    assert_eq!(full_3["ratio"], Value::Null);
    let state2 = last_state(&second);
    let lsn2 = lsn_of(&state2, "cdc-items");
    assert!(lsn2 > lsn1);

    // The state of that run was not saved (the target failed): the next run, from the
    // older state, reads the same changes again.
    let again = messages(&tap(d, &config, Some(&cat), Some(&state1)));
    assert_eq!(changes(&again), got);

    // From the saved state: nothing changed, no record; the slot moved to the state's LSN.
    let quiet = messages(&tap(d, &config, Some(&cat), Some(&state2)));
    assert!(of_type(&quiet, "RECORD").is_empty(), "{quiet:?}");
    let confirmed = cluster.psql(
        "SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots \
         WHERE slot_name = 'tappostgres'",
    );
    assert_eq!(confirmed.parse::<u64>().ok(), Some(lsn2));
    let state3 = last_state(&quiet);

    // Only the selected streams' changes: `other`, and `late`, newly selected, which the
    // tap adds to its publication.
    cluster.psql(
        "INSERT INTO cdc.other VALUES (2, 'new'); UPDATE cdc.items SET name = 'x' WHERE id = 3",
    );
    let out = tap(
        d,
        &config,
        Some(&catalog(
            &discovered,
            &["cdc-other", "cdc-late"],
            "LOG_BASED",
            &[],
        )),
        Some(&state3),
    );
    assert_eq!(
        changes(&messages(&out)),
        [("cdc-other".to_string(), json!({"id": 2, "v": "new"}), false)],
        "{}",
        text(&out)
    );
    assert_eq!(
        cluster.psql(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables \
             WHERE pubname = 'tappostgres'"
        ),
        "items,late,other"
    );
    let only_other = catalog(&discovered, &["cdc-other"], "LOG_BASED", &[]);

    // auto_bootstrap_log_based: a stream without a bookmark is first read whole (with null
    // `_sdc_` columns), then only changes after that snapshot.
    let boot_config = cluster.config(json!({"auto_bootstrap_log_based": true,
                                            "replication_slot_name": "boot"}));
    let boot = messages(&tap(d, &boot_config, Some(&only_other), None));
    let rows = of_type(&boot, "RECORD");
    assert_eq!(rows.len(), 2, "{boot:?}");
    assert_eq!(rows[0]["record"]["_sdc_lsn"], Value::Null);
    let boot_state = last_state(&boot);
    // Under REPLICA IDENTITY FULL a delete carries the whole (selected) row.
    cluster.psql("ALTER TABLE cdc.other REPLICA IDENTITY FULL");
    cluster.psql("DELETE FROM cdc.other WHERE id = 2");
    let after = messages(&tap(d, &boot_config, Some(&only_other), Some(&boot_state)));
    assert_eq!(
        changes(&after),
        [("cdc-other".to_string(), json!({"id": 2, "v": "new"}), true)]
    );

    // A table without a replica identity is not published (its UPDATEs and DELETEs would
    // fail from then on): a clear error, and the table stays writable.
    let out = tap(
        d,
        &config,
        Some(&catalog(&discovered, &["cdc-nokey"], "LOG_BASED", &[])),
        None,
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cdc-nokey") && text(&out).contains("REPLICA IDENTITY FULL"),
        "{}",
        text(&out)
    );
    cluster.psql("INSERT INTO cdc.nokey VALUES (1); UPDATE cdc.nokey SET a = 2");
    let out = tap(
        d,
        &config,
        Some(&catalog(&discovered, &["cdc-parted"], "LOG_BASED", &[])),
        None,
    );
    assert!(
        !out.status.success() && text(&out).contains("partitioned table"),
        "{}",
        text(&out)
    );

    // Clear errors: a user without the REPLICATION privilege; a slot of another plugin.
    cluster.psql("CREATE ROLE plain LOGIN; GRANT USAGE ON SCHEMA cdc TO plain");
    let out = tap(
        d,
        &cluster.config(json!({"user": "plain"})),
        Some(&cat),
        Some(&state3),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("REPLICATION privilege"),
        "{}",
        text(&out)
    );
    cluster.psql("SELECT 1 FROM pg_create_logical_replication_slot('td', 'test_decoding')");
    let out = tap(
        d,
        &cluster.config(json!({"replication_slot_name": "td"})),
        Some(&cat),
        None,
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("test_decoding") && text(&out).contains("pgoutput"),
        "{}",
        text(&out)
    );

    smelt_run_keeps_the_lsn_between_runs(&cluster);
    meltanolabs_reads_the_same_changes(&cluster, &discovered_after(&cluster, d), d);
}

/// The catalog discovered now (after tables were added).
fn discovered_after(cluster: &Cluster, dir: &Path) -> Value {
    cluster.psql("CREATE TABLE IF NOT EXISTS cdc.cmp (id int PRIMARY KEY, name text, n int)");
    discover(dir, &cluster.config(json!({})))
}

/// MeltanoLabs tap-postgres 0.10.0 (wal2json) and smelt (pgoutput), each on its own slot,
/// declare the same LOG_BASED schema and emit the same changes. Needs the wal2json plugin in
/// the cluster's PostgreSQL; without it this step says so and is skipped.
fn meltanolabs_reads_the_same_changes(cluster: &Cluster, discovered: &Value, d: &Path) {
    let lib = cluster.bin.with_file_name("lib").join("wal2json.so");
    if !lib.exists() {
        eprintln!(
            "{} is missing (install postgresql-<version>-wal2json): the comparison with \
             MeltanoLabs tap-postgres is skipped",
            lib.display()
        );
        return;
    }
    let ml = common::pypi_venv(
        "venv-meltanolabs-tap-postgres",
        "meltanolabs-tap-postgres==0.10.0",
        "tap-postgres",
    );
    // Some builds only load output plugins that are listed.
    if cluster.psql("SELECT count(*) FROM pg_settings WHERE name = 'output_plugin_libraries'")
        == "1"
    {
        cluster
            .psql("ALTER SYSTEM SET output_plugin_libraries = pgoutput, test_decoding, wal2json");
        cluster.psql("SELECT pg_reload_conf()");
    }
    // MeltanoLabs expects its slot to exist.
    cluster.psql("SELECT 1 FROM pg_create_logical_replication_slot('ml', 'wal2json')");
    let cat = catalog(discovered, &["cdc-cmp"], "LOG_BASED", &[]);
    let smelt_config = cluster.config(json!({"replication_slot_name": "cmp"}));
    let ml_config = cluster.config(json!({"replication_slot_name": "ml", "password": "",
                                          "replication_idle_exit_seconds": 1}));
    let run_ml = |state: Option<&Value>| {
        let mut cmd = Command::new(&ml);
        cmd.arg("--config")
            .arg(write_json(d, "ml-config.json", &ml_config))
            .arg("--catalog")
            .arg(write_json(d, "ml-catalog.json", &cat));
        if let Some(state) = state {
            cmd.arg("--state")
                .arg(write_json(d, "ml-state.json", state));
        }
        messages(&cmd.output().expect("run MeltanoLabs tap-postgres"))
    };
    let smelt_first = messages(&tap(d, &smelt_config, Some(&cat), None));
    let ml_first = run_ml(None);
    assert_eq!(
        of_type(&smelt_first, "SCHEMA")[0]["schema"],
        of_type(&ml_first, "SCHEMA")[0]["schema"]
    );
    assert!(of_type(&ml_first, "RECORD").is_empty());
    cluster.psql(
        "INSERT INTO cdc.cmp VALUES (1, 'a', 1), (2, 'b', NULL);
         UPDATE cdc.cmp SET name = 'A' WHERE id = 1;
         DELETE FROM cdc.cmp WHERE id = 2;
         BEGIN; INSERT INTO cdc.cmp VALUES (3, 'c', 3); UPDATE cdc.cmp SET n = 10; COMMIT",
    );
    let smelt_second = messages(&tap(
        d,
        &smelt_config,
        Some(&cat),
        Some(&last_state(&smelt_first)),
    ));
    let ml_second = run_ml(Some(&last_state(&ml_first)));
    assert_eq!(changes(&smelt_second), changes(&ml_second));
    assert_eq!(changes(&smelt_second).len(), 7, "{smelt_second:?}");
    // The state: the LSN as an integer (MeltanoLabs 0.10.0 writes a null replication_key).
    let ml_state = last_state(&ml_second);
    assert!(ml_state["bookmarks"]["cdc-cmp"]["replication_key_value"].is_u64());
    lsn_of(&last_state(&smelt_second), "cdc-cmp");
}

/// `smelt run tap-postgres target-jsonl` with LOG_BASED metadata: smelt stores the state and
/// the second run moves exactly the changed rows.
fn smelt_run_keeps_the_lsn_between_runs(cluster: &Cluster) {
    let p = TestProject::new(&format!(
        "version: 1
default_environment: dev
project_id: 7d0c1d8e-0000-4000-8000-0000000a0019
environments:
- name: dev
plugins:
  extractors:
  - name: tap-postgres
    variant: smelt
    config:
      host: 127.0.0.1
      port: {}
      user: postgres
      database: postgres
      filter_schemas: [cdc]
      replication_slot_name: smelt_run
    select:
    - cdc-items.id
    - cdc-items.name
    metadata:
      cdc-items:
        replication-method: LOG_BASED
  loaders:
  - name: target-jsonl
    variant: smelt
",
        cluster.port
    ));
    let run = || {
        let out = p.run(&["run", "tap-postgres", "target-jsonl"]);
        assert!(out.status.success(), "{}", text(&out));
        let rows = common::read_jsonl(&p.path("output/cdc-items.jsonl"));
        let _ = std::fs::remove_dir_all(p.path("output"));
        rows
    };
    assert!(run().is_empty(), "the first run only creates the slot");
    cluster.psql(
        "INSERT INTO cdc.items (id, name) VALUES (10, 'ten');
         UPDATE cdc.items SET price = 1 WHERE id = 10",
    );
    let rows = run();
    let ids: Vec<(Value, Value)> = rows
        .iter()
        .map(|r| (r["id"].clone(), r["name"].clone()))
        .collect();
    assert_eq!(ids, [(json!(10), json!("ten")), (json!(10), json!("ten"))]);
    assert!(rows.iter().all(|r| r.get("price").is_none()));
    let stored = p
        .state("dev:tap-postgres-to-target-jsonl")
        .expect("state stored");
    let bookmark = &stored["completed"]["singer_state"]["bookmarks"]["cdc-items"];
    assert_eq!(bookmark["replication_key"], json!("_sdc_lsn"), "{stored}");
    assert!(run().is_empty(), "nothing changed since the stored state");
}

/// Against the shared server (wal_level = replica): a LOG_BASED stream fails before anything
/// is created, saying what to set.
#[test]
fn log_based_against_a_server_without_logical_wal_says_what_to_set() {
    let wal_level = common::psql("SHOW wal_level");
    if wal_level == "logical" {
        eprintln!("the shared server runs with wal_level = logical; nothing to check");
        return;
    }
    let schema = common::PgSchema::create();
    let s = &schema.0;
    common::psql(&format!("CREATE TABLE {s}.t (id int PRIMARY KEY)"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = json!({"host": "127.0.0.1", "port": 5432, "user": "postgres",
                        "database": "test", "filter_schemas": [s]});
    let discovered = discover(dir.path(), &config);
    let stream = format!("{s}-t");
    let cat = catalog(&discovered, &[&stream], "LOG_BASED", &[]);
    let out = tap(dir.path(), &config, Some(&cat), None);
    assert!(!out.status.success());
    let message = text(&out);
    assert!(
        message.contains(&format!("wal_level = {wal_level}"))
            && message.contains("wal_level = logical")
            && message.contains(&stream),
        "{message}"
    );
    assert_eq!(
        common::psql("SELECT count(*) FROM pg_publication WHERE pubname = 'tappostgres'"),
        "0"
    );
}
