//! smelt's native tap-postgres → target-postgres side by side with MeltanoLabs tap-postgres
//! 0.10.0 → target-postgres 0.8.1 (PyPI), both under `smelt run` in one project, reading the
//! same source table of varied types (NULLs, unicode, quotes, backslashes, tabs, newlines, COPY's
//! own escape sequences as data): the tables they create have the same columns and types and,
//! row by row, the same values, with the deliberate differences asserted one by one; both equal
//! the source. An INCREMENTAL second run moves exactly the changed rows (plus the row at the
//! bookmark, the Singer SDK's `>=` rule, the same for both taps) and leaves both destinations
//! equal to the source again.

mod common;

use std::collections::BTreeMap;

use common::{psql, pypi_venv, text, PgSchema, TestProject};

/// The source: one row of everything, one of NULLs, one of edge values, one of text that
/// spells COPY's escapes. Arrays hold no NULL elements: MeltanoLabs tap-postgres declares
/// array items non-nullable, so its target rejects such a record (smelt's tap declares them
/// nullable, a documented difference, see decision 0016).
fn create_source(s: &str) {
    psql(&format!(
        r#"CREATE TABLE {s}.things (
             id bigint PRIMARY KEY, small smallint, medium integer, big bigint,
             price numeric(12,2), ratio double precision, body text, code varchar(16),
             flag boolean, born date, naive timestamp, seen timestamptz, doc json, docb jsonb,
             uid uuid, ints int[], texts text[], updated_at timestamptz NOT NULL);
           INSERT INTO {s}.things VALUES
            (1, -32768, 2147483647, 9223372036854775807, 1234567890.12, 3.14159265358979,
             E'Ünïcødé ✓ "double" ''single'' back\\slash\ttab\nnewline\r\ncrlf', 'vc-16 ✓',
             true, '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.5+02',
             '{{"a": [1, 2.5, null], "b": "x\"y", "c": "tab\there"}}', '{{"k": {{"n": 1}}}}',
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{1,2,3}}', '{{a,"b c","q\"uote","back\\slash",""}}',
             '2024-03-01 00:00:00+00'),
            (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
             NULL, NULL, NULL, '2024-03-02 00:00:00+00'),
            (3, 0, -1, -9223372036854775808, -0.5, -2e-5, '', '', false, '1999-12-31',
             '1970-01-01 00:00:00', '2024-06-30 23:59:59.999999+00', '"s"', '[1, "two", {{}}]',
             '00000000-0000-0000-0000-000000000000', '{{}}', '{{}}', '2024-03-03 00:00:00+00'),
            (4, 1, 2, 3, 9999999999.99, 1.5e300, E'\\N', E'\\.', NULL, '2000-01-01',
             '2000-01-01 00:00:00.000001', '1900-06-01 12:00:00+00', '{{}}', '{{"\\N": "\\."}}',
             NULL, '{{-1}}', '{{"\\N","\\."}}', '2024-03-04 00:00:00+00'),
            (5, 5, 5, 5, 0, 0, E'line 1\n\\.\nline 3', 'tab	in', true, '2024-12-31',
             '2024-12-31 23:59:59', '2024-12-31 23:59:59+14', 'null', '"null"', NULL, NULL,
             '{{NULL-looking,"null"}}', '2024-03-05 00:00:00+00');"#
    ));
}

/// The connection part of every plugin's config (the MeltanoLabs plugins insist on a
/// password, which trust auth ignores).
const CONN: &str = "      host: 127.0.0.1
      port: 5432
      user: postgres
      password: unused-with-trust-auth
      database: test
";

/// One project with both pairs: the native plugins under their own names (`variant: smelt`)
/// and the MeltanoLabs ones from PyPI as `tap-postgres-ml` / `target-postgres-ml`; the one
/// table is INCREMENTAL on `updated_at` for both taps.
fn project(src: &str, native_dst: &str, ml_dst: &str) -> TestProject {
    let tap_ml = pypi_venv(
        "venv-meltanolabs-tap-postgres",
        "meltanolabs-tap-postgres==0.10.0",
        "tap-postgres",
    );
    let target_ml = pypi_venv(
        "venv-meltanolabs-target-postgres",
        "meltanolabs-target-postgres==0.8.1",
        "target-postgres",
    );
    let tap_common = format!(
        "    config:
{CONN}      filter_schemas: [{src}]
    select:
    - {src}-things.*
    metadata:
      {src}-things:
        replication-method: INCREMENTAL
        replication-key: updated_at
"
    );
    TestProject::new(&format!(
        "version: 1
default_environment: dev
project_id: 7d0c1d8e-0000-4000-8000-0000000b0011
environments:
- name: dev
plugins:
  extractors:
  - name: tap-postgres
    variant: smelt
{tap_common}  - name: tap-postgres-ml
    namespace: tap_postgres
    executable: {tap_ml}
    capabilities: [catalog, discover, state, about]
{tap_common}  loaders:
  - name: target-postgres
    variant: smelt
    config:
{CONN}      default_target_schema: {native_dst}
  - name: target-postgres-ml
    namespace: target_postgres
    executable: {target_ml}
    config:
{CONN}      default_target_schema: {ml_dst}
",
        tap_ml = tap_ml.display(),
        target_ml = target_ml.display(),
    ))
}

/// `smelt run TAP TARGET`, returning how many records the summary says moved for `stream`.
fn run(p: &TestProject, tap: &str, target: &str, stream: &str) -> u64 {
    let out = p.run(&["run", tap, target]);
    assert!(out.status.success(), "{tap} → {target}: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix(stream)?;
            rest.trim().strip_suffix(" records")?.trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no record count for {stream} in: {}", text(&out)))
}

/// A destination table's columns in order: (name, data_type, udt_name) from information_schema.
fn columns(schema: &str) -> Vec<(String, String, String)> {
    let json = psql(&format!(
        "SELECT json_agg(json_build_array(column_name, data_type, udt_name) ORDER BY ordinal_position)
         FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = 'things'"
    ));
    let rows: Vec<(String, String, String)> =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    rows
}

/// Every row of `schema.things` ordered by id: column → value as PostgreSQL's text (None for
/// SQL NULL, so a JSON `null` is told apart). Columns named `_sdc_*` hold times: they are
/// reduced to whether they are set.
fn contents(schema: &str) -> Vec<BTreeMap<String, Option<String>>> {
    let fields = psql(&format!(
        "SELECT string_agg(CASE WHEN attname LIKE '\\_sdc\\_%'
                                THEN format('%L, CASE WHEN %I IS NULL THEN NULL ELSE ''set'' END',
                                            attname, attname)
                                ELSE format('%L, %I::text', attname, attname) END, ', '
                          ORDER BY attnum)
         FROM pg_attribute WHERE attrelid = '{schema}.things'::regclass AND attnum > 0
           AND NOT attisdropped"
    ));
    let json = psql(&format!(
        "SELECT coalesce(json_agg(json_build_object({fields}) ORDER BY id), '[]') FROM {schema}.things"
    ));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// Rows where `dst.things` differs from the source, each source value cast to the
/// destination column's type (in UTC), besides the `_sdc_*` columns: `(id, column)` pairs.
fn differences_from_source(src: &str, dst: &str) -> Vec<(i64, String)> {
    let cols = psql(&format!(
        "SELECT string_agg(format('(%L, s.%I::%s IS DISTINCT FROM d.%I)', attname, attname,
                                  format_type(atttypid, atttypmod), attname), ', ')
         FROM pg_attribute WHERE attrelid = '{dst}.things'::regclass AND attnum > 0
           AND NOT attisdropped AND attname NOT LIKE '\\_sdc\\_%'"
    ));
    let json = query_utc(&format!(
        "SELECT coalesce(json_agg(json_build_array(coalesce(s.id, d.id), c.name) ORDER BY coalesce(s.id, d.id), c.name), '[]')
         FROM {src}.things s FULL JOIN {dst}.things d ON s.id = d.id
         CROSS JOIN LATERAL (VALUES {cols}) AS c(name, differs)
         WHERE c.differs OR s.id IS NULL OR d.id IS NULL"
    ));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// One query in a session whose time zone is UTC (so `timestamptz::timestamp` is the UTC
/// time the targets store), its output as text.
fn query_utc(sql: &str) -> String {
    common::psql_at(&format!("{}?options=-cTimeZone%3DUTC", common::PG), sql)
}

/// When each row of `schema.things` was last written by its target (`_sdc_received_at`).
fn received_at(schema: &str) -> BTreeMap<i64, String> {
    let json = psql(&format!(
        "SELECT json_object_agg(id, _sdc_received_at::text) FROM {schema}.things"
    ));
    let rows: BTreeMap<String, String> =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    rows.into_iter()
        .map(|(id, at)| (id.parse().expect("an id"), at))
        .collect()
}

/// The ids whose row was written again between two [`received_at`] snapshots, or is new.
fn rewritten(before: &BTreeMap<i64, String>, after: &BTreeMap<i64, String>) -> Vec<i64> {
    after
        .iter()
        .filter(|(id, at)| before.get(id) != Some(at))
        .map(|(id, _)| *id)
        .collect()
}

/// The bookmark a pipeline's stored state holds for `stream`.
fn bookmark(p: &TestProject, state_id: &str, stream: &str) -> serde_json::Value {
    let state = p
        .state(state_id)
        .unwrap_or_else(|| panic!("no state {state_id}"));
    state["completed"]["singer_state"]["bookmarks"][stream].clone()
}

/// The json and jsonb columns of the source table.
const JSON_COLUMNS: [&str; 2] = ["doc", "docb"];

/// The double precision column of the source table.
const DOUBLE_COLUMN: &str = "ratio";

/// How often each known difference between the two destinations showed.
#[derive(Debug, PartialEq, Eq)]
struct Differences {
    /// A null in a json/jsonb column (the taps emit SQL NULL and JSON `null` alike as null):
    /// SQL NULL natively, the JSON value `null` with MeltanoLabs.
    json_nulls: usize,
    /// A whole double (`0`, `1`): the native tap writes `0` (PostgreSQL's shortest form),
    /// MeltanoLabs' `0.0` (Python's float repr), so the `numeric` column's scale differs.
    whole_doubles: usize,
}

/// Columns and contents of the two destinations: equal, row by row, but for the known
/// differences, each checked to be exactly that, and counted.
fn compare_tables(native: &str, ml: &str, rows: usize) -> Differences {
    let (a, b) = (columns(native), columns(ml));
    assert!(
        b.iter().any(|(c, ..)| c == "_sdc_batched_at"),
        "the reference adds its metadata columns: {b:?}"
    );
    assert_eq!(a, b, "native (left) and MeltanoLabs (right) columns");
    let (a_rows, b_rows) = (contents(native), contents(ml));
    assert_eq!(a_rows.len(), rows);
    assert_eq!(b_rows.len(), rows);
    let mut seen = Differences {
        json_nulls: 0,
        whole_doubles: 0,
    };
    for (ra, rb) in a_rows.iter().zip(&b_rows) {
        let mut rb = rb.clone();
        for column in JSON_COLUMNS {
            if rb[column].as_deref() == Some("null") && ra[column].is_none() {
                rb.insert(column.to_string(), None);
                seen.json_nulls += 1;
            }
        }
        if let (Some(x), Some(y)) = (&ra[DOUBLE_COLUMN], &rb[DOUBLE_COLUMN]) {
            if format!("{x}.0") == *y {
                rb.insert(DOUBLE_COLUMN.to_string(), Some(x.clone()));
                seen.whole_doubles += 1;
            }
        }
        assert_eq!(
            ra, &rb,
            "row {:?}: native (left), MeltanoLabs (right)",
            ra["id"]
        );
    }
    seen
}

#[test]
fn native_postgres_pair_loads_what_meltanolabs_loads_and_moves_only_changes() {
    let src = PgSchema::create();
    let native = PgSchema::create();
    let ml = PgSchema::create();
    create_source(&src.0);
    let p = project(&src.0, &native.0, &ml.0);
    let stream = format!("{}-things", src.0);

    // First run: the whole table.
    assert_eq!(run(&p, "tap-postgres", "target-postgres", &stream), 5);
    assert_eq!(run(&p, "tap-postgres-ml", "target-postgres-ml", &stream), 5);

    // Same columns and types in the same order, the same values row by row, and both equal
    // the source, value by value, in the destination's types.
    // Rows 2 (doc, docb: SQL NULL) and 5 (doc: JSON null) hold the json nulls.
    assert_eq!(
        compare_tables(&native.0, &ml.0, 5),
        Differences {
            json_nulls: 3,
            whole_doubles: 1
        }
    );
    // Both equal the source, value by value in the destination's types, but for the json
    // nulls: JSON null (row 5) becomes SQL NULL natively, SQL NULL (row 2) JSON null with
    // MeltanoLabs.
    let at = |cells: &[(i64, &str)]| -> Vec<(i64, String)> {
        cells.iter().map(|&(id, c)| (id, c.to_string())).collect()
    };
    assert_eq!(
        differences_from_source(&src.0, &native.0),
        at(&[(5, "doc")])
    );
    assert_eq!(
        differences_from_source(&src.0, &ml.0),
        at(&[(2, "doc"), (2, "docb")])
    );
    let native_state = "dev:tap-postgres-to-target-postgres";
    let ml_state = "dev:tap-postgres-ml-to-target-postgres-ml";
    let mark = serde_json::json!({"replication_key": "updated_at",
                                  "replication_key_value": "2024-03-05T00:00:00.000000+00:00"});
    assert_eq!(bookmark(&p, native_state, &stream), mark);
    assert_eq!(bookmark(&p, ml_state, &stream), mark);

    // INCREMENTAL: rows 1 and 3 change with their key bumped, 6 and 7 are new, and row 2
    // changes without its key moving (INCREMENTAL cannot see that; both leave it stale).
    let (before_a, before_b) = (received_at(&native.0), received_at(&ml.0));
    psql(&format!(
        "UPDATE {s}.things SET body = 'changed ' || id, ints = '{{7,8}}',
                               updated_at = '2024-04-01 00:00:00+00' WHERE id IN (1, 3);
         UPDATE {s}.things SET body = 'unseen change' WHERE id = 2;
         INSERT INTO {s}.things (id, body, seen, doc, updated_at) VALUES
           (6, 'new ✓', '2025-01-01 00:00:00+05', '{{\"n\": 6}}', '2024-05-01 00:00:00+00'),
           (7, E'new\\ttab', NULL, NULL, '2024-05-01 00:00:00+00')",
        s = src.0
    ));
    // Both taps read `updated_at >= bookmark`: the four changed rows and row 5, which holds
    // the bookmark (the Singer SDK's rule, so a run stopped between rows of one key value
    // loses nothing).
    assert_eq!(run(&p, "tap-postgres", "target-postgres", &stream), 5);
    assert_eq!(run(&p, "tap-postgres-ml", "target-postgres-ml", &stream), 5);
    assert_eq!(
        rewritten(&before_a, &received_at(&native.0)),
        [1, 3, 5, 6, 7],
        "rows the native pair wrote in the second run"
    );
    assert_eq!(
        rewritten(&before_b, &received_at(&ml.0)),
        [1, 3, 5, 6, 7],
        "rows the MeltanoLabs pair wrote in the second run"
    );
    assert_eq!(
        compare_tables(&native.0, &ml.0, 7),
        Differences {
            json_nulls: 6,
            whole_doubles: 1
        }
    );
    // Row 2's unseen change is stale in both; the json nulls as before (rows 6 and 7 are new).
    assert_eq!(
        differences_from_source(&src.0, &native.0),
        at(&[(2, "body"), (5, "doc")])
    );
    assert_eq!(
        differences_from_source(&src.0, &ml.0),
        at(&[
            (2, "body"),
            (2, "doc"),
            (2, "docb"),
            (6, "docb"),
            (7, "doc"),
            (7, "docb")
        ])
    );
    let mark = serde_json::json!({"replication_key": "updated_at",
                                  "replication_key_value": "2024-05-01T00:00:00.000000+00:00"});
    assert_eq!(bookmark(&p, native_state, &stream), mark);
    assert_eq!(bookmark(&p, ml_state, &stream), mark);
}
