//! Catalog preparation (discovery under the supervisor, the catalog cache) and `smelt select`,
//! through the real binary with the `tap-discovery` fixture.

mod common;

use std::time::{Duration, Instant};

use common::{alive, read_jsonl, text, wait_for_file, TestProject};

/// A project with the discovering fixture tap (installed from a package, so it is cached) and
/// the fixture target.
const YML: &str = r#"version: 1
default_environment: dev
project_id: 7d0c1d8e-0000-4000-8000-000000000002
environments:
- name: dev
- name: prod
plugins:
  extractors:
  - name: tap-discovery
    pip_url: tap-discovery==1.0
    executable: {FIXTURES}/tap-discovery
    capabilities: [catalog, discover, state]
    settings:
    - {name: discover_log}
    - {name: discover_hang, kind: boolean}
    - {name: discover_fail, kind: boolean}
    - {name: discover_tag}
    - {name: catalog_file}
    - {name: catalog_dump}
    - {name: pid_file}
    config:
      discover_log: discover.log
      catalog_dump: catalog_dump.json
  loaders:
  - name: target-fixture
    executable: {FIXTURES}/target-fixture
    settings:
    - {name: path}
    config:
      path: out.jsonl
"#;

fn project() -> TestProject {
    TestProject::new(YML)
}

/// Replaces the first `from` in meltano.yml.
fn edit_yml(p: &TestProject, from: &str, to: &str) {
    let yml = std::fs::read_to_string(p.path("meltano.yml")).unwrap();
    assert!(yml.contains(from), "meltano.yml has no {from:?}:\n{yml}");
    std::fs::write(p.path("meltano.yml"), yml.replacen(from, to, 1)).unwrap();
}

/// How many times the tap ran `--discover`.
fn discoveries(p: &TestProject) -> usize {
    std::fs::read_to_string(p.path("discover.log"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// The catalog the tap received in its last sync run.
fn received_catalog(p: &TestProject) -> serde_json::Value {
    let dump: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("catalog_dump.json")).unwrap())
            .unwrap();
    dump["catalog"].clone()
}

fn run_ok(p: &TestProject, args: &[&str]) {
    let out = p.run(args);
    assert!(out.status.success(), "{}", text(&out));
}

// ---------------------------------------------------------------------------------------------
// Discovery under the supervisor

fn pids(p: &TestProject) -> Vec<i32> {
    std::fs::read_to_string(p.path("tap.pid"))
        .unwrap()
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect()
}

fn hanging(p: &TestProject) -> [(&'static str, String); 2] {
    [
        ("TAP_DISCOVERY_DISCOVER_HANG", "true".to_string()),
        (
            "TAP_DISCOVERY_PID_FILE",
            p.path("tap.pid").display().to_string(),
        ),
    ]
}

#[test]
fn timeout_ends_a_hanging_discovery() {
    let p = project();
    let env = hanging(&p);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let started = Instant::now();
    let out = p.run_env(
        &["run", "--timeout", "2", "tap-discovery", "target-fixture"],
        &env,
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    common::assert_fails(&out, 1, &["timed out after 2 seconds"]);
    std::thread::sleep(Duration::from_millis(200));
    for pid in pids(&p) {
        assert!(!alive(pid), "process {pid} of the tap survived");
    }
}

fn signal_during_discovery(signal: i32, expected: i32) {
    let p = project();
    let env = hanging(&p);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let child = p.spawn_env(&["run", "tap-discovery", "target-fixture"], &env);
    assert!(
        wait_for_file(&p.path("tap.pid"), 20),
        "discovery never started"
    );
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signalling the smelt child this test started.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(expected), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted by signal"),
        "{}",
        text(&out)
    );
    std::thread::sleep(Duration::from_millis(200));
    for pid in pids(&p) {
        assert!(!alive(pid), "process {pid} of the tap survived");
    }
    // The run was recorded as failed: the next one is not refused as a duplicate.
    let again = p.run(&["run", "tap-discovery", "target-fixture"]);
    assert!(again.status.success(), "{}", text(&again));
}

#[test]
fn sigint_during_discovery_exits_130_and_leaves_nothing_running() {
    signal_during_discovery(libc::SIGINT, 130);
}

#[test]
fn sigterm_during_discovery_exits_143() {
    signal_during_discovery(libc::SIGTERM, 143);
}

#[test]
fn failed_discovery_names_the_tap() {
    let p = project();
    let out = p.run_env(
        &["run", "tap-discovery", "target-fixture"],
        &[("TAP_DISCOVERY_DISCOVER_FAIL", "true")],
    );
    common::assert_fails(
        &out,
        1,
        &[
            "Extractor tap-discovery failed (exit 5) during catalog discovery",
            "fixture tap discovery failed",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// The catalog cache

#[test]
fn discovered_catalog_is_cached_and_reused() {
    let p = project();
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 1);
    let dir = p.path(".meltano/run/tap-discovery");
    for f in ["tap.properties.json", "tap.properties.cache_key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 1, "the second run used the cache");
    // Selection rules are applied to the cached catalog too.
    edit_yml(
        &p,
        "    capabilities: [catalog, discover, state]\n",
        "    capabilities: [catalog, discover, state]\n    select: [orders.*]\n",
    );
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 1, "select changes do not need discovery");
    let streams: Vec<String> = received_catalog(&p)["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["selected"] == true)
        .map(|s| s["tap_stream_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(streams, ["orders"]);
}

#[test]
fn cache_is_refreshed_when_config_or_metadata_change() {
    let p = project();
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    edit_yml(
        &p,
        "      discover_log: discover.log\n",
        "      discover_log: discover.log\n      discover_tag: two\n",
    );
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 2, "config change");
    let users = &received_catalog(&p)["streams"][0]["metadata"][0]["metadata"];
    assert_eq!(users["fixture-tag"], "two", "{users}");
    // A config value from the environment counts too.
    let out = p.run_env(
        &["run", "tap-discovery", "target-fixture"],
        &[("TAP_DISCOVERY_DISCOVER_TAG", "three")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(discoveries(&p), 3, "config from the environment");
    edit_yml(
        &p,
        "    capabilities: [catalog, discover, state]\n",
        "    capabilities: [catalog, discover, state]\n    metadata:\n      users:\n        replication-method: FULL_TABLE\n",
    );
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 4, "metadata rules change");
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 4);
}

#[test]
fn refresh_catalog_and_full_refresh_force_discovery() {
    let p = project();
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    run_ok(
        &p,
        &[
            "run",
            "--refresh-catalog",
            "tap-discovery",
            "target-fixture",
        ],
    );
    assert_eq!(discoveries(&p), 2);
    run_ok(
        &p,
        &["run", "--full-refresh", "tap-discovery", "target-fixture"],
    );
    assert_eq!(discoveries(&p), 3);
    let out = p.run_env(
        &["run", "tap-discovery", "target-fixture"],
        &[("MELTANO_RUN_REFRESH_CATALOG", "true")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(discoveries(&p), 4);
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 4);
}

#[test]
fn use_cached_catalog_false_and_unpackaged_taps_always_discover() {
    let p = project();
    edit_yml(
        &p,
        "    pip_url: tap-discovery==1.0\n",
        "    pip_url: tap-discovery==1.0\n    use_cached_catalog: false\n",
    );
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 2);

    // No pip_url: a local script that may change at any time (Meltano does not cache it).
    let p = project();
    edit_yml(&p, "    pip_url: tap-discovery==1.0\n", "");
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 2);

    // An upgrade (new pip_url) refreshes the catalog.
    let p = project();
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    edit_yml(&p, "tap-discovery==1.0", "tap-discovery==1.1");
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 2);
}

#[test]
fn catalog_extra_is_used_without_discovery_and_select_filter_applies() {
    let p = project();
    let catalog = serde_json::json!({"streams": [
        {"tap_stream_id": "users", "schema": {"properties": {"id": {}}},
         "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]},
        {"tap_stream_id": "orders", "schema": {"properties": {"id": {}}},
         "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]}
    ]});
    std::fs::write(p.path("my-catalog.json"), catalog.to_string()).unwrap();
    edit_yml(
        &p,
        "    pip_url: tap-discovery==1.0\n",
        "    pip_url: tap-discovery==1.0\n    catalog: my-catalog.json\n    select_filter: [orders]\n",
    );
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert_eq!(discoveries(&p), 0);
    let got = received_catalog(&p);
    assert_eq!(got["streams"][0]["selected"], false, "{got}");
    assert_eq!(
        got["streams"][1]["metadata"][0]["metadata"]["selected"],
        true
    );
    assert_eq!(read_jsonl(&p.path("out.jsonl")).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// `smelt select --list`

/// Adds a `select:` list to the extractor in meltano.yml.
fn set_select(p: &TestProject, patterns: &[&str]) {
    let list: String = patterns.iter().map(|s| format!("    - '{s}'\n")).collect();
    edit_yml(
        p,
        "    capabilities: [catalog, discover, state]\n",
        &format!("    capabilities: [catalog, discover, state]\n    select:\n{list}"),
    );
}

fn stdout_of(p: &TestProject, args: &[&str]) -> String {
    let out = p.run(args);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

const LEGEND: &str = "Legend:\n\tselected\n\texcluded\n\tautomatic\n\tunsupported\n\n";

#[test]
fn list_matches_meltano_output() {
    let p = project();
    set_select(
        &p,
        &["users.*", "!users.email", "orders.legacy", "users.geo.city"],
    );
    // `meltano select tap-discovery --list` (Meltano 4.4) prints the same, except that it
    // shows the property `a.b` as `users.a`.
    let expected = format!(
        "{LEGEND}Enabled patterns:\n\tusers.*\n\t!users.email\n\torders.legacy\n\tusers.geo.city\n\n\
         Selected properties:\n\
         \t[automatic  ] orders.id\n\
         \t[selected   ] users.a\\.b\n\
         \t[selected   ] users.geo\n\
         \t[selected   ] users.geo.city\n\
         \t[selected   ] users.geo.zip\n\
         \t[automatic  ] users.id\n\
         \t[selected   ] users.name\n"
    );
    assert_eq!(
        stdout_of(&p, &["select", "tap-discovery", "--list"]),
        expected
    );
    let all = stdout_of(&p, &["select", "tap-discovery", "--list", "--all"]);
    assert!(
        all.ends_with(
            "Selected properties:\n\
             \t[excluded   ] audit_log.id\n\
             \t[excluded   ] orders.amount\n\
             \t[automatic  ] orders.id\n\
             \t[unsupported] orders.legacy\n\
             \t[selected   ] users.a\\.b\n\
             \t[excluded   ] users.email\n\
             \t[selected   ] users.geo\n\
             \t[selected   ] users.geo.city\n\
             \t[selected   ] users.geo.zip\n\
             \t[automatic  ] users.id\n\
             \t[selected   ] users.name\n"
        ),
        "{all}"
    );
    assert_eq!(discoveries(&p), 1, "the second listing used the cache");
}

#[test]
fn list_wildcards_exclusions_and_escaped_dots() {
    let p = project();
    set_select(
        &p,
        &[
            "u*.geo.*",
            "users.a\\.b",
            "!users.geo.zip",
            "orders.*",
            "!audit_log",
        ],
    );
    let all = stdout_of(&p, &["select", "tap-discovery", "--list", "--all"]);
    // Meltano 4.4 prints the same lines, except `[excluded   ] users.a` for the property
    // `a.b`: it cannot select a property whose name has a dot.
    assert!(
        all.ends_with(
            "Selected properties:\n\
             \t[excluded   ] audit_log.id\n\
             \t[selected   ] orders.amount\n\
             \t[automatic  ] orders.id\n\
             \t[unsupported] orders.legacy\n\
             \t[selected   ] users.a\\.b\n\
             \t[excluded   ] users.email\n\
             \t[selected   ] users.geo\n\
             \t[selected   ] users.geo.city\n\
             \t[excluded   ] users.geo.zip\n\
             \t[automatic  ] users.id\n\
             \t[excluded   ] users.name\n"
        ),
        "{all}"
    );
    // What the listing says is what a run sends the tap.
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    let records = read_jsonl(&p.path("out.jsonl"));
    assert_eq!(
        records,
        vec![
            serde_json::json!({"id": 1, "geo": 1, "a.b": 1}),
            serde_json::json!({"id": 1, "amount": 1}),
        ]
    );
}

#[test]
fn list_as_json() {
    let p = project();
    set_select(&p, &["orders.*", "!orders.amount"]);
    let out = stdout_of(&p, &["select", "tap-discovery", "--json"]);
    let expected = r#"{
  "enabled_patterns": [
    "orders.*",
    "!orders.amount"
  ],
  "streams": [
    {
      "stream": "orders",
      "property": "id",
      "selection": "automatic"
    }
  ]
}
"#;
    assert_eq!(out, expected);
    let all: serde_json::Value = serde_json::from_str(&stdout_of(
        &p,
        &["select", "tap-discovery", "--json", "--all"],
    ))
    .unwrap();
    assert_eq!(all["streams"].as_array().unwrap().len(), 11, "{all}");
    assert_eq!(all["streams"][1]["selection"], "excluded");
}

#[test]
fn list_uses_the_default_select_and_refreshes_on_request() {
    let p = project();
    let out = stdout_of(&p, &["select", "tap-discovery", "--list"]);
    assert!(out.contains("Enabled patterns:\n\t*.*\n"), "{out}");
    assert!(out.contains("\t[automatic  ] audit_log.id\n"), "{out}");
    stdout_of(
        &p,
        &["select", "tap-discovery", "--list", "--refresh-catalog"],
    );
    assert_eq!(discoveries(&p), 2);
}

#[test]
fn list_ignores_the_default_environment_but_not_an_explicit_one() {
    let p = project();
    edit_yml(
        &p,
        "- name: prod\n",
        "- name: prod\n  config:\n    plugins:\n      extractors:\n      - name: tap-discovery\n        select: [audit_log.*]\n",
    );
    let out = p.run(&["select", "tap-discovery", "--list"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Enabled patterns:\n\t*.*\n"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("The default environment 'dev' will be ignored for `smelt select`"),
        "{}",
        text(&out)
    );
    let prod = stdout_of(
        &p,
        &["--environment", "prod", "select", "tap-discovery", "--list"],
    );
    assert!(
        prod.contains("Enabled patterns:\n\taudit_log.*\n\nSelected properties:\n\t[automatic  ] audit_log.id\n"),
        "{prod}"
    );
    let out = p.run_env(
        &["select", "tap-discovery", "--list"],
        &[("MELTANO_ENVIRONMENT", "prod")],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\taudit_log.*\n"),
        "{}",
        text(&out)
    );
}

#[test]
fn list_explains_taps_without_discovery_and_unknown_extractors() {
    let p = project();
    edit_yml(
        &p,
        "    capabilities: [catalog, discover, state]\n",
        "    capabilities: [state]\n",
    );
    let out = p.run(&["select", "tap-discovery", "--list"]);
    common::assert_fails(
        &out,
        1,
        &[
            "Cannot list the selected properties: Could not find catalog",
            "`discover` capability",
        ],
    );
    let out = p.run(&["select", "tap-nope", "--list"]);
    common::assert_fails(
        &out,
        1,
        &["extractor 'tap-nope' is not defined", "tap-discovery"],
    );
    let out = p.run(&["select", "target-fixture", "--list"]);
    common::assert_fails(&out, 1, &["target-fixture is a loader, not an extractor"]);
}

#[test]
fn interrupted_listing_exits_130() {
    let p = project();
    let env = hanging(&p);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let child = p.spawn_env(&["select", "tap-discovery", "--list"], &env);
    assert!(
        wait_for_file(&p.path("tap.pid"), 20),
        "discovery never started"
    );
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signalling the smelt child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    std::thread::sleep(Duration::from_millis(200));
    for pid in pids(&p) {
        assert!(!alive(pid), "process {pid} of the tap survived");
    }
}

// ---------------------------------------------------------------------------------------------
// `smelt select` writing meltano.yml

fn yml(p: &TestProject) -> String {
    std::fs::read_to_string(p.path("meltano.yml")).unwrap()
}

/// The fixture project's extractor block with a comment to keep, as written before any edit.
const TAP_HEAD: &str = "  - name: tap-discovery  # the tap under test\n";

fn commented_project() -> TestProject {
    let p = project();
    edit_yml(&p, "  - name: tap-discovery\n", TAP_HEAD);
    p
}

#[test]
fn add_exclude_remove_and_clear_keep_comments() {
    let p = commented_project();
    run_ok(&p, &["select", "tap-discovery", "users", "id"]);
    run_ok(&p, &["select", "tap-discovery", "users", "geo.*"]);
    run_ok(&p, &["select", "tap-discovery", "orders", "--exclude"]);
    // Adding a pattern twice keeps one copy (Meltano appends a duplicate).
    run_ok(&p, &["select", "tap-discovery", "users", "id"]);
    let text = yml(&p);
    assert!(text.contains(TAP_HEAD), "{text}");
    assert!(
        text.contains(
            "      catalog_dump: catalog_dump.json\n    select:\n    - users.id\n    - users.geo.*\n    - '!orders.*'\n  loaders:\n"
        ),
        "{text}"
    );
    let listing = stdout_of(&p, &["select", "tap-discovery", "--list"]);
    assert!(
        listing.contains(
            "Enabled patterns:\n\tusers.id\n\tusers.geo.*\n\t!orders.*\n\nSelected properties:\n\t[selected   ] users.geo\n\t[selected   ] users.geo.city\n\t[selected   ] users.geo.zip\n\t[automatic  ] users.id\n"
        ),
        "{listing}"
    );

    run_ok(&p, &["select", "tap-discovery", "users", "geo.*", "--rm"]);
    run_ok(
        &p,
        &["select", "tap-discovery", "orders", "--exclude", "--remove"],
    );
    let text = yml(&p);
    assert!(
        text.contains("    select:\n    - users.id\n  loaders:\n"),
        "{text}"
    );
    let out = p.run(&["select", "tap-discovery", "orders", "--rm"]);
    common::assert_fails(
        &out,
        1,
        &[
            "`orders.*` is not in the `select` list of tap-discovery in meltano.yml",
            "it holds: users.id",
        ],
    );
    assert_eq!(yml(&p), text, "a failed removal writes nothing");

    run_ok(&p, &["select", "tap-discovery", "--clear"]);
    let text = yml(&p);
    assert!(!text.contains("select:"), "{text}");
    assert!(text.contains(TAP_HEAD), "{text}");
    // Without `select` the default `*.*` applies again.
    let listing = stdout_of(&p, &["select", "tap-discovery", "--list"]);
    assert!(listing.contains("Enabled patterns:\n\t*.*\n"), "{listing}");
}

#[test]
fn an_empty_select_list_selects_nothing() {
    let p = project();
    run_ok(&p, &["select", "tap-discovery", "users", "id"]);
    run_ok(&p, &["select", "tap-discovery", "users", "id", "--rm"]);
    assert!(yml(&p).contains("    select: []\n"), "{}", yml(&p));
    let listing = stdout_of(&p, &["select", "tap-discovery", "--list"]);
    assert!(
        listing.ends_with("Enabled patterns:\n\nSelected properties:\n"),
        "{listing}"
    );
    run_ok(&p, &["run", "tap-discovery", "target-fixture"]);
    assert!(read_jsonl(&p.path("out.jsonl")).is_empty());
}

#[test]
fn with_an_environment_the_environment_block_is_edited() {
    let p = commented_project();
    run_ok(
        &p,
        &[
            "--environment",
            "prod",
            "select",
            "tap-discovery",
            "audit_log",
        ],
    );
    run_ok(
        &p,
        &[
            "--environment",
            "prod",
            "select",
            "tap-discovery",
            "users",
            "--exclude",
        ],
    );
    let text = yml(&p);
    assert!(
        text.contains(
            "- name: prod\n  config:\n    plugins:\n      extractors:\n      - name: tap-discovery\n        select:\n        - audit_log.*\n        - '!users.*'\nplugins:\n"
        ),
        "{text}"
    );
    assert!(!text.contains("    select:\n    - audit_log"), "{text}");
    // The environment's list replaces the extractor's own while it is active.
    let prod = stdout_of(
        &p,
        &["--environment", "prod", "select", "tap-discovery", "--list"],
    );
    assert!(
        prod.ends_with("Selected properties:\n\t[automatic  ] audit_log.id\n"),
        "{prod}"
    );
    // The default environment is ignored: this edits the extractor itself.
    run_ok(&p, &["select", "tap-discovery", "orders"]);
    let text = yml(&p);
    assert!(
        text.contains("    select:\n    - orders.*\n  loaders:\n"),
        "{text}"
    );
    run_ok(
        &p,
        &[
            "--environment",
            "prod",
            "select",
            "tap-discovery",
            "--clear",
        ],
    );
    let text = yml(&p);
    assert!(
        text.contains("      extractors:\n      - name: tap-discovery\nplugins:\n"),
        "{text}"
    );
    assert!(text.contains("    select:\n    - orders.*\n"), "{text}");
}

#[test]
fn an_extractor_defined_in_an_included_file_is_edited_there() {
    let p = project();
    let text = yml(&p);
    let start = text.find("  extractors:\n").unwrap();
    let end = text.find("  loaders:\n").unwrap();
    let block = text[start..end].to_string();
    std::fs::write(
        p.path("extractors.meltano.yml"),
        format!("# extractors live here\nplugins:\n{block}"),
    )
    .unwrap();
    std::fs::write(
        p.path("meltano.yml"),
        format!(
            "include_paths:\n- ./extractors.meltano.yml\n{}{}",
            &text[..start],
            &text[end..]
        ),
    )
    .unwrap();
    let before = yml(&p);
    run_ok(&p, &["select", "tap-discovery", "orders", "amount"]);
    assert_eq!(yml(&p), before);
    let included = std::fs::read_to_string(p.path("extractors.meltano.yml")).unwrap();
    assert!(
        included.starts_with("# extractors live here\n"),
        "{included}"
    );
    assert!(
        included.ends_with("    select:\n    - orders.amount\n"),
        "{included}"
    );
}
