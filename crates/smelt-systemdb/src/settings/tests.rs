//! Tests for stored settings on both engines: round trips, replacing, removing, namespaces,
//! corrupt rows, upgrading a version 1 database, and concurrent writers (threads and
//! processes).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;

use serde_json::json;

use super::*;
use crate::test_support::{child_db, each_engine, Kind, TestDb};
use crate::SCHEMA_VERSION;

const TAP: &str = "extractors.tap-x";
const CHILD_PREFIX_ENV: &str = "SMELT_SYSTEMDB_TEST_SETTINGS_CHILD_PREFIX";
const WRITES_PER_WORKER: usize = 25;
/// Processes in the cross-process test, the parent included.
const PROCESSES: usize = 6;

fn ok<T>(r: Result<T, DbError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// The settings of one namespace (empty if it has none).
fn namespace(db: &SystemDb, ns: &str) -> Map<String, Value> {
    ok(db.stored_settings()).remove(ns).unwrap_or_default()
}

fn row_count(f: &TestDb) -> Option<String> {
    f.query_text(&format!(
        "SELECT CAST(COUNT(*) AS TEXT) FROM {}",
        f.table("settings")
    ))
}

/// Store `WRITES_PER_WORKER` settings of its own plus one every worker writes.
fn store_many(db: &SystemDb, prefix: &str) {
    for n in 0..WRITES_PER_WORKER {
        ok(db.store_setting(TAP, &format!("{prefix}.n{n}"), &json!(n)));
        ok(db.store_setting(TAP, "shared", &json!(prefix)));
    }
}

/// Every worker's settings are there, and `shared` holds one worker's value.
fn assert_all_stored(db: &SystemDb, prefixes: &[String]) {
    let stored = namespace(db, TAP);
    assert_eq!(stored.len(), prefixes.len() * WRITES_PER_WORKER + 1);
    for prefix in prefixes {
        for n in 0..WRITES_PER_WORKER {
            assert_eq!(stored.get(&format!("{prefix}.n{n}")), Some(&json!(n)));
        }
    }
    let shared = stored.get("shared").and_then(Value::as_str).unwrap_or("");
    assert!(prefixes.iter().any(|p| p == shared), "shared = {shared:?}");
}

fn spawn_worker(f: &TestDb, prefix: &str) -> std::io::Result<std::process::Child> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "settings::tests::concurrent_settings_worker",
        "--test-threads=1",
    ])
    .env(CHILD_PREFIX_ENV, prefix)
    .stdout(Stdio::null());
    for (key, value) in f.child_env() {
        cmd.env(key, value);
    }
    cmd.spawn()
}

/// Child-process entry point for `concurrent_processes_store_everything`; run alone (no
/// database named in the environment) it checks a single worker on SQLite.
#[test]
fn concurrent_settings_worker() {
    match (child_db(), std::env::var(CHILD_PREFIX_ENV)) {
        (Some(db), Ok(prefix)) => store_many(&db, &prefix),
        _ => {
            let f = TestDb::new(Kind::Sqlite);
            let db = f.open();
            store_many(&db, "solo");
            assert_all_stored(&db, &["solo".to_string()]);
        }
    }
}

each_engine! {
    fn round_trip(f) {
        let db = f.open();
        assert!(ok(db.stored_settings()).is_empty());
        ok(db.store_setting("meltano", "send_anonymous_usage_stats", &json!(false)));
        ok(db.store_setting(TAP, "start_date", &json!("2024-01-01")));
        ok(db.store_setting(TAP, "auth.token", &json!("s3cret")));
        ok(db.store_setting(TAP, "streams", &json!({"b": [1, 2.5, null], "a": {"x": true}})));
        ok(db.store_setting(TAP, "nothing", &Value::Null));
        ok(db.store_setting(TAP, "unicode", &json!("zürich \u{0} ✓")));

        let expected = BTreeMap::from([
            (
                "extractors.tap-x".to_string(),
                map(json!({
                    // Flat dotted names, in byte order.
                    "auth.token": "s3cret",
                    "nothing": null,
                    "start_date": "2024-01-01",
                    "streams": {"b": [1, 2.5, null], "a": {"x": true}},
                    "unicode": "zürich \u{0} ✓",
                })),
            ),
            ("meltano".to_string(), map(json!({"send_anonymous_usage_stats": false}))),
        ]);
        let stored = ok(db.stored_settings());
        assert_eq!(stored, expected);
        let names: Vec<&String> = stored[TAP].keys().collect();
        assert_eq!(names, ["auth.token", "nothing", "start_date", "streams", "unicode"]);
        // Object values keep their key order.
        let inner: Vec<&String> = stored[TAP]["streams"]
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(inner, ["b", "a"]);

        // Survives reopening, and another handle sees it.
        drop(db);
        assert_eq!(ok(f.open().stored_settings()), expected);
    }

    fn replace_keeps_one_row(f) {
        let db = f.open();
        ok(db.store_setting(TAP, "user", &json!("ann")));
        ok(db.store_setting(TAP, "user", &json!({"name": "bob"})));
        assert_eq!(namespace(&db, TAP), map(json!({"user": {"name": "bob"}})));
        assert_eq!(row_count(f).as_deref(), Some("1"));
    }

    fn unstore_removes_one_setting(f) {
        let db = f.open();
        ok(db.store_setting(TAP, "user", &json!("ann")));
        ok(db.store_setting(TAP, "password", &json!("pw")));
        assert!(ok(db.unstore_setting(TAP, "password")));
        assert!(!ok(db.unstore_setting(TAP, "password")));
        assert!(!ok(db.unstore_setting("extractors.other", "user")));
        assert_eq!(namespace(&db, TAP), map(json!({"user": "ann"})));
        assert!(ok(db.unstore_setting(TAP, "user")));
        // A namespace without settings is not listed at all.
        assert!(ok(db.stored_settings()).is_empty());
    }

    fn clear_removes_a_whole_namespace(f) {
        let db = f.open();
        assert_eq!(ok(db.clear_settings(TAP)), 0);
        for name in ["a", "b.c", "d"] {
            ok(db.store_setting(TAP, name, &json!(1)));
        }
        ok(db.store_setting("meltano", "a", &json!(2)));
        assert_eq!(ok(db.clear_settings(TAP)), 3);
        assert_eq!(ok(db.clear_settings(TAP)), 0);
        let stored = ok(db.stored_settings());
        assert_eq!(stored.keys().collect::<Vec<_>>(), ["meltano"]);
        assert_eq!(stored["meltano"], map(json!({"a": 2})));
    }

    fn namespaces_are_isolated(f) {
        let db = f.open();
        // Same name in namespaces that share a prefix, or differ only in case.
        for (ns, v) in [(TAP, 1), ("extractors.tap-xy", 2), ("extractors.TAP-X", 3), ("meltano", 4)] {
            ok(db.store_setting(ns, "user", &json!(v)));
        }
        assert!(ok(db.unstore_setting("extractors.tap-xy", "user")));
        assert_eq!(ok(db.clear_settings("extractors.TAP-X")), 1);
        assert_eq!(ok(db.clear_settings("extractors")), 0);
        assert_eq!(ok(db.clear_settings("extractors.tap-%")), 0);
        let stored = ok(db.stored_settings());
        assert_eq!(stored.keys().collect::<Vec<_>>(), [TAP, "meltano"]);
        assert_eq!(stored[TAP], map(json!({"user": 1})));
        assert_eq!(stored["meltano"], map(json!({"user": 4})));
    }

    fn corrupt_value_is_an_error_naming_the_setting(f) {
        let db = f.open();
        ok(db.store_setting(TAP, "auth.token", &json!("x")));
        ok(db.store_setting("meltano", "fine", &json!(1)));
        f.exec(&format!(
            "UPDATE {} SET value = '{{oops' WHERE name = 'auth.token'",
            f.table("settings")
        ));
        match db.stored_settings() {
            Err(e @ DbError::Corrupt { .. }) => {
                let text = e.to_string();
                for needle in ["auth.token", TAP, db.location(), "not valid JSON"] {
                    assert!(text.contains(needle), "{needle} missing: {text}");
                }
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        // Storing it again repairs it.
        ok(db.store_setting(TAP, "auth.token", &json!("y")));
        assert_eq!(namespace(&db, TAP), map(json!({"auth.token": "y"})));
    }

    fn unusable_keys_are_refused(f) {
        let db = f.open();
        for (ns, name) in [("", "a"), (TAP, ""), ("bad\0ns", "a"), (TAP, "a\0b")] {
            match db.store_setting(ns, name, &json!(1)) {
                Err(e @ DbError::InvalidSetting { .. }) => {
                    assert!(e.to_string().contains("namespace") || e.to_string().contains("name"));
                }
                other => panic!("{ns:?}/{name:?}: expected InvalidSetting, got {other:?}"),
            }
            assert!(matches!(
                db.unstore_setting(ns, name),
                Err(DbError::InvalidSetting { .. })
            ));
        }
        assert!(matches!(db.clear_settings(""), Err(DbError::InvalidSetting { .. })));
        assert!(ok(db.stored_settings()).is_empty());
    }

    fn version_1_database_upgrades_in_place(f) {
        f.create_at_version(1);
        let count_versions = || {
            f.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM smelt_schema_version")
        };
        assert_eq!(count_versions().as_deref(), Some("1"));
        assert!(f.try_exec(&format!("SELECT * FROM {}", f.table("settings"))).is_err());
        // Data written by the older smelt.
        f.exec(&format!(
            "INSERT INTO {} (state_id, completed, partial, updated_at) \
             VALUES ('dev:a-to-b', '{{\"singer_state\": {{\"n\": 1}}}}', '{{}}', CURRENT_TIMESTAMP)",
            f.table("state")
        ));

        let db = f.open();
        assert_eq!(count_versions(), Some(SCHEMA_VERSION.to_string()));
        assert!(ok(db.stored_settings()).is_empty());
        ok(db.store_setting("meltano", "project_id", &json!("p")));
        assert_eq!(namespace(&db, "meltano"), map(json!({"project_id": "p"})));
        let state = db.state_backend().get("dev:a-to-b");
        assert_eq!(
            state.ok().flatten().and_then(|s| s.effective_singer_state()),
            Some(json!({"n": 1}))
        );
        // Opening again does not migrate twice.
        drop(f.open());
        assert_eq!(count_versions(), Some(SCHEMA_VERSION.to_string()));
    }

    fn concurrent_threads_store_everything(f) {
        drop(f.open());
        let prefixes: Vec<String> = (0..4).map(|w| format!("thread{w}")).collect();
        let workers: Vec<_> = prefixes
            .iter()
            .enumerate()
            .map(|(i, prefix)| {
                // Half the workers share one handle, half have their own connection.
                let db = if i % 2 == 0 { f.open() } else { Arc::new(ok(SystemDb::open_uri(f.uri(), &f.sqlite_path()))) };
                let prefix = prefix.clone();
                thread::spawn(move || store_many(&db, &prefix))
            })
            .collect();
        for w in workers {
            assert!(w.join().is_ok(), "worker panicked");
        }
        assert_all_stored(&f.open(), &prefixes);
    }

    fn concurrent_processes_store_everything(f) {
        // Start from a version 1 database: every process races to upgrade it, too.
        f.create_at_version(1);
        let prefixes: Vec<String> = (0..PROCESSES).map(|p| format!("proc{p}")).collect();
        let children: Vec<_> = prefixes[1..]
            .iter()
            .map(|prefix| spawn_worker(f, prefix))
            .collect();
        let db = f.open();
        store_many(&db, &prefixes[0]);
        for child in children {
            let status = match child {
                Ok(mut c) => c.wait(),
                Err(e) => panic!("spawn child: {e}"),
            };
            assert!(
                status.as_ref().is_ok_and(|s| s.success()),
                "child failed: {status:?}"
            );
        }
        assert_all_stored(&db, &prefixes);
    }
}
