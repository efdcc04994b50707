//! From a `meltano.yml` to loaded rows with nothing installed by hand: `smelt install` puts real
//! PyPI plugins (MeltanoLabs tap-postgres and target-postgres, target-jsonl,
//! meltano-map-transform, dbt-postgres) into Meltano's venv layout in parallel, an inheriting tap
//! runs its parent's executable from the parent's venv, runs install what is missing on their
//! own, and a `tap target dbt-postgres:run` pipeline builds a model in PostgreSQL.
//!
//! smelt's cache (the uv it bootstraps) and uv's package cache live under target/, so later
//! runs reuse them.

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{psql, read_jsonl, text, PgSchema, TestProject};

/// The shared install caches, and no network from dbt.
fn cache_env() -> Vec<(&'static str, String)> {
    let mut env = common::install_cache_env();
    env.push(("DO_NOT_TRACK", "1".to_string()));
    env.push(("DBT_SEND_ANONYMOUS_USAGE_STATS", "false".to_string()));
    env
}

fn smelt(p: &TestProject, args: &[&str]) -> Output {
    let env = cache_env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    p.run_env(args, &pairs)
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

fn venv_bin(p: &TestProject, plugin_type: &str, name: &str, exe: &str) -> PathBuf {
    p.path(&format!(".meltano/{plugin_type}/{name}/venv/bin/{exe}"))
}

const TAP_POSTGRES: &str = "meltanolabs-tap-postgres==0.10.0";
const TARGET_POSTGRES: &str = "meltanolabs-target-postgres==0.8.1";

fn pg_config(schema_key: &str, schema: &str) -> String {
    format!(
        "config:\n      host: 127.0.0.1\n      port: 5432\n      user: postgres\n      password: unused-with-trust-auth\n      database: test\n      {schema_key}: {schema}\n"
    )
}

#[test]
fn real_plugins_install_in_parallel_and_run_with_an_inheriting_tap_and_a_mapper() {
    let src = PgSchema::create();
    let dst = PgSchema::create();
    psql(&format!(
        "CREATE TABLE {s}.items (id int PRIMARY KEY, name text); \
         INSERT INTO {s}.items SELECT g, 'item' || g FROM generate_series(1, 30) g; \
         CREATE TABLE {s}.orders (id int PRIMARY KEY, amount numeric(10,2)); \
         INSERT INTO {s}.orders SELECT g, g * 2.5 FROM generate_series(1, 12) g;",
        s = src.0
    ));
    // Definitions (capabilities, settings) come from smelt's plugin index, as Meltano's come
    // from the Hub: the entries say only name, variant and pip_url, as `meltano add` writes.
    let p = TestProject::new(&format!(
        r#"version: 1
default_environment: dev
environments:
- name: dev
plugins:
  extractors:
  - name: tap-postgres
    variant: meltanolabs
    pip_url: {TAP_POSTGRES}
    {tap_config}    select:
    - {s}-items.*
  - name: tap-postgres-orders
    inherit_from: tap-postgres
    select:
    - {s}-orders.*
  loaders:
  - name: target-postgres
    variant: meltanolabs
    pip_url: {TARGET_POSTGRES}
    {target_config}  - name: target-jsonl
    variant: andyh1203
    pip_url: target-jsonl==0.1.4
    config:
      destination_path: jsonl-out
  mappers:
  - name: meltano-map-transformer
    variant: meltano
    pip_url: meltano-map-transform==0.12.3
    mappings:
    - name: hash-names
      config:
        stream_maps:
          {s}-items:
            name_md5: md5(record['name'])
            name: __NULL__
"#,
        s = src.0,
        tap_config = pg_config("filter_schemas", &format!("[{}]", src.0)),
        target_config = pg_config("default_target_schema", &dst.0),
    ));

    let out = ok(smelt(&p, &["install", "-p", "4"]));
    assert!(out.contains("tap-postgres"), "{out}");
    for (t, name, exe) in [
        ("extractors", "tap-postgres", "tap-postgres"),
        ("loaders", "target-postgres", "target-postgres"),
        ("loaders", "target-jsonl", "target-jsonl"),
        (
            "mappers",
            "meltano-map-transformer",
            "meltano-map-transform",
        ),
    ] {
        assert!(venv_bin(&p, t, name, exe).is_file(), "{name}: {out}");
    }
    // The inheriting tap has no pip_url of its own: it shares its parent's venv.
    assert!(
        !p.path(".meltano/extractors/tap-postgres-orders/venv")
            .exists(),
        "{out}"
    );

    ok(smelt(
        &p,
        &["run", "tap-postgres", "hash-names", "target-postgres"],
    ));
    let rows = psql(&format!(
        "SELECT count(*), count(DISTINCT name_md5), bool_and(name_md5 = md5('item' || id)) \
         FROM {}.items",
        dst.0
    ));
    assert_eq!(rows, "30|30|t");

    ok(smelt(&p, &["run", "tap-postgres-orders", "target-jsonl"]));
    let file = std::fs::read_dir(p.path("jsonl-out"))
        .expect("target-jsonl wrote its directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|f| f.display().to_string().contains("orders"))
        .expect("an orders file");
    let records = read_jsonl(&file);
    assert_eq!(records.len(), 12);
    assert_eq!(records[0]["amount"], serde_json::json!(2.5));

    // Nothing changed: the second install does nothing and says so.
    let again = ok(smelt(&p, &["install"]));
    assert!(!again.contains("Installed extractor"), "{again}");
}

#[test]
fn runs_install_what_is_missing_unless_told_not_to() {
    let p = TestProject::new(
        r#"version: 1
plugins:
  extractors:
  - name: tap-csv
    variant: smelt
    config:
      files:
      - {entity: people, path: people.csv, keys: [id]}
  loaders:
  - name: target-jsonl
    variant: andyh1203
    pip_url: target-jsonl==0.1.4
    config:
      destination_path: out
"#,
    );
    std::fs::write(p.path("people.csv"), "id,name\n1,ada\n2,grace\n").expect("csv");

    let refused = smelt(&p, &["run", "--no-install", "tap-csv", "target-jsonl"]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("target-jsonl"),
        "{}",
        text(&refused)
    );
    assert!(!p.path(".meltano/loaders/target-jsonl/venv").exists());

    ok(smelt(&p, &["run", "tap-csv", "target-jsonl"]));
    assert!(venv_bin(&p, "loaders", "target-jsonl", "target-jsonl").is_file());
    assert_eq!(read_jsonl(&p.path("out/people.jsonl")).len(), 2);

    // --only-install installs and runs nothing.
    std::fs::remove_dir_all(p.path("out")).expect("remove output");
    std::fs::remove_dir_all(p.path(".meltano/loaders")).expect("remove venv");
    ok(smelt(&p, &["invoke", "--only-install", "target-jsonl"]));
    assert!(venv_bin(&p, "loaders", "target-jsonl", "target-jsonl").is_file());
    assert!(!p.path("out").exists());
}

#[test]
fn tap_target_and_dbt_postgres_run_builds_a_model() {
    let dst = PgSchema::create();
    let p = TestProject::new(&format!(
        r#"version: 1
default_environment: dev
environments:
- name: dev
plugins:
  extractors:
  - name: tap-csv
    variant: smelt
    config:
      files:
      - {{entity: sales, path: sales.csv, keys: [id]}}
  loaders:
  - name: target-postgres
    variant: meltanolabs
    pip_url: {TARGET_POSTGRES}
    {target_config}  utilities:
  - name: dbt-postgres
    variant: dbt-labs
    pip_url: dbt-core~=1.10.0 dbt-postgres~=1.9.0 meltano-dbt-ext~=0.5.0
    config:
      host: 127.0.0.1
      port: 5432
      user: postgres
      password: unused-with-trust-auth
      dbname: test
      schema: {s}
      skip_pre_invoke: true
"#,
        s = dst.0,
        target_config = pg_config("default_target_schema", &dst.0),
    ));
    std::fs::write(
        p.path("sales.csv"),
        "id,region,amount\n1,north,10\n2,south,5\n3,north,7\n",
    )
    .expect("csv");
    let transform = p.path("transform");
    std::fs::create_dir_all(transform.join("models")).expect("models dir");
    std::fs::create_dir_all(transform.join("profiles/postgres")).expect("profiles dir");
    std::fs::write(
        transform.join("dbt_project.yml"),
        "name: smelt_test\nversion: '1.0'\nconfig-version: 2\nprofile: meltano\nmodel-paths: [models]\n",
    )
    .expect("dbt_project.yml");
    std::fs::write(
        transform.join("profiles/postgres/profiles.yml"),
        r#"meltano:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('DBT_POSTGRES_HOST') }}"
      port: "{{ env_var('DBT_POSTGRES_PORT') | int }}"
      user: "{{ env_var('DBT_POSTGRES_USER') }}"
      password: "{{ env_var('DBT_POSTGRES_PASSWORD') }}"
      dbname: "{{ env_var('DBT_POSTGRES_DBNAME') }}"
      schema: "{{ env_var('DBT_POSTGRES_SCHEMA') }}"
      threads: 2
"#,
    )
    .expect("profiles.yml");
    std::fs::write(
        transform.join("models/sales_by_region.sql"),
        format!(
            "{{{{ config(materialized='table') }}}}\nselect region, sum(amount::numeric) as total from {s}.sales group by region\n",
            s = dst.0
        ),
    )
    .expect("model");

    // No `smelt install` first: the run installs target-postgres and dbt-postgres itself.
    let out = ok(smelt(
        &p,
        &["run", "tap-csv", "target-postgres", "dbt-postgres:run"],
    ));
    assert!(
        venv_bin(&p, "utilities", "dbt-postgres", "dbt_invoker").is_file(),
        "{out}"
    );
    let totals = psql(&format!(
        "SELECT string_agg(region || '=' || total, ',' ORDER BY region) FROM {}.sales_by_region",
        dst.0
    ));
    assert_eq!(totals, "north=17,south=5");
}
