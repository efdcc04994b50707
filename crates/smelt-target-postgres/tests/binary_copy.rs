//! The binary COPY encoders against the PostgreSQL on 127.0.0.1:5432 (user postgres, database
//! test): each value loaded in binary must read back (`::text`) exactly as the text path's COPY
//! stores it, and a value the binary encoder refuses must be one text COPY refuses too.

use std::time::Duration;

use bytes::Bytes;
use serde_json::value::RawValue;
use smelt_pg::copy_in::copy_in;
use smelt_pg::{Bounds, PgCalls, PgClient};
use smelt_target_postgres::binary::{self, Binary};
use smelt_target_postgres::encode::{self, NulPolicy};
use smelt_target_postgres::types::ColumnType;

const NUL: NulPolicy = NulPolicy { sanitize: true };

fn connect() -> PgClient {
    let config = smelt_pg::parse_uri("postgresql://postgres@127.0.0.1:5432/test", "binary test")
        .unwrap_or_else(|e| panic!("{e}"));
    let bounds = Bounds {
        connect: Some(Duration::from_secs(10)),
        round_trip: Some(Duration::from_secs(30)),
        connect_setting: "test_connect_timeout",
        round_trip_setting: "test_round_trip_timeout",
    };
    PgClient::connect(&config, bounds)
        .unwrap_or_else(|e| panic!("PostgreSQL at 127.0.0.1:5432 is needed for these tests: {e}"))
}

fn raw(json: &str) -> Box<RawValue> {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// COPY `rows` (already encoded) into a new temp table `name (i integer, v sql)`.
fn load(
    client: &mut PgClient,
    name: &str,
    sql: &str,
    data: Vec<u8>,
    binary: bool,
) -> Result<(), String> {
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {name}; CREATE TEMP TABLE {name} (i integer, v {sql})"
        ))
        .map_err(|e| e.to_string())?;
    let format = if binary { " (FORMAT binary)" } else { "" };
    let mut copy = copy_in(client, &format!("COPY {name} (i, v) FROM STDIN{format}"))
        .map_err(|e| e.to_string())?;
    copy.send(Bytes::from(data)).map_err(|e| e.to_string())?;
    copy.finish().map(|_| ()).map_err(|e| e.to_string())
}

fn text_rows(values: &[&str], sql: &str) -> Vec<u8> {
    let encoding = ColumnType::from_catalog(sql).encoding;
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        out.extend_from_slice(format!("{i}\t").as_bytes());
        encode::value(&mut out, Some(raw(v).get()), encoding, NUL)
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        out.push(b'\n');
    }
    out
}

fn binary_rows(values: &[&str], kind: Binary) -> Result<Vec<u8>, String> {
    let mut out = binary::HEADER.to_vec();
    for (i, v) in values.iter().enumerate() {
        binary::row_start(&mut out, 2);
        binary::int_value(&mut out, Binary::Int4, i as i64).map_err(|e| e.to_string())?;
        binary::value(&mut out, Some(raw(v).get()), kind, NUL).map_err(|e| format!("{v}: {e}"))?;
    }
    out.extend_from_slice(binary::TRAILER);
    Ok(out)
}

/// Load `values` both ways into columns of type `sql` and compare what is stored.
fn same_as_text(client: &mut PgClient, sql: &str, values: &[&str]) {
    let kind = ColumnType::from_catalog(sql)
        .binary
        .unwrap_or_else(|| panic!("{sql} has no binary encoder"));
    load(client, "via_text", sql, text_rows(values, sql), false)
        .unwrap_or_else(|e| panic!("{sql} text: {e}"));
    let data = binary_rows(values, kind).unwrap_or_else(|e| panic!("{sql}: {e}"));
    load(client, "via_binary", sql, data, true).unwrap_or_else(|e| panic!("{sql} binary: {e}"));
    let rows = client
        .query(
            "SELECT t.v::text, b.v::text FROM via_text t JOIN via_binary b USING (i) ORDER BY i",
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), values.len(), "{sql}");
    for (row, v) in rows.iter().zip(values) {
        let (t, b): (Option<String>, Option<String>) = (row.get(0), row.get(1));
        assert!(t.is_some(), "{sql} {v}: stored NULL");
        assert_eq!(t, b, "{sql}: {v}");
    }
}

/// A value the binary encoder refuses is refused by text COPY as well.
fn refused_by_both(client: &mut PgClient, sql: &str, value: &str) {
    let kind = ColumnType::from_catalog(sql)
        .binary
        .unwrap_or_else(|| panic!("{sql}"));
    let err = binary_rows(&[value], kind).expect_err(value);
    let text = load(client, "via_text", sql, text_rows(&[value], sql), false);
    assert!(
        text.is_err(),
        "{sql}: text COPY accepts {value}, binary said {err}"
    );
}

#[test]
fn binary_values_are_stored_as_text_copy_stores_them() {
    let mut c = connect();
    same_as_text(
        &mut c,
        "smallint",
        &["0", "-32768", "32767", r#""12""#, r#"" 7 ""#],
    );
    same_as_text(&mut c, "integer", &["-2147483648", "2147483647", "1"]);
    same_as_text(
        &mut c,
        "bigint",
        &[
            "-9223372036854775808",
            "9223372036854775807",
            "0",
            r#""+5""#,
        ],
    );
    same_as_text(
        &mut c,
        "boolean",
        &[
            "true", "false", r#""yes""#, r#""f""#, r#""on""#, r#""1""#, r#""OFF""#,
        ],
    );
    same_as_text(
        &mut c,
        "text",
        &[
            r#""a\tb\\c\nd\u00e9""#,
            "12.50",
            r#"{"k": [1, "x\\y"]}"#,
            r#""""#,
            r#""a\u0000b""#,
            "true",
        ],
    );
    same_as_text(&mut c, "character varying(20)", &[r#""short""#, "3"]);
    same_as_text(
        &mut c,
        "jsonb",
        &[
            r#"{"a": 1, "b": [true, null, "\u00e9"]}"#,
            r#""s""#,
            "3.50",
            "[]",
            r#"{"n": "\u0000"}"#,
        ],
    );
    same_as_text(
        &mut c,
        "timestamp without time zone",
        &[
            r#""2024-01-02T03:04:05Z""#,
            r#""2024-01-02T03:04:05.123456+02:00""#,
            r#""2024-01-02 03:04:05""#,
            r#""2024-01-02T03:04:05""#,
            r#""1999-12-31T23:59:59.5-01:30""#,
            r#""1970-01-01T00:00:00.000001+00:00""#,
            r#""2024-01-02T03:04:05.25z""#,
            r#""1900-03-01T00:00:00Z""#,
            r#""2024-01-02T03:04:05+00""#,
            r#""2024-01-02T03:04:05.5+0000""#,
            r#""2024-01-02T03:04:05+0530""#,
            r#""2024-01-02 03:04:05-07""#,
            r#""2024-01-02""#,
            r#""2024-01-02T03:04:05.123456789Z""#,
            r#""2024-01-02T03:04:05.9999995+01:00""#,
            r#""2024-01-02T03:04:05.0000005""#,
            r#""2024-01-02T03:04:05.0000015""#,
        ],
    );
    same_as_text(
        &mut c,
        "timestamp(3) without time zone",
        &[
            r#""2024-01-02T03:04:05.123456Z""#,
            r#""2024-01-02T03:04:05.9995""#,
        ],
    );
    same_as_text(
        &mut c,
        "date",
        &[
            r#""1999-12-31""#,
            r#""1900-02-28""#,
            r#""2000-01-01""#,
            r#""2024-02-29""#,
            r#""0001-01-01""#,
        ],
    );
    same_as_text(
        &mut c,
        "numeric",
        &[
            "-12.50",
            "0",
            "0.00",
            "-0.0",
            "1e-7",
            "123456789.123456789",
            "1.5e300",
            "1E+5",
            "-0.0001",
            "12345678901234567890",
            r#""NaN""#,
            r#""3.14""#,
            "1e-20",
            "9999.9999",
            "0.5e1",
            "10000",
            "1.10e-3",
            "-7.000",
            r#"" 42 ""#,
        ],
    );
    same_as_text(
        &mut c,
        "numeric(12,2)",
        &[
            "12.345", "-0.005", "1e3", "123.455", "0", "-99.999", "0.001",
        ],
    );
}

#[test]
fn values_binary_refuses_are_refused_by_text_copy_too() {
    let mut c = connect();
    refused_by_both(&mut c, "smallint", "32768");
    refused_by_both(&mut c, "integer", "2147483648");
    refused_by_both(&mut c, "bigint", "9223372036854775808");
    refused_by_both(&mut c, "bigint", "1.5");
    refused_by_both(&mut c, "bigint", r#""x""#);
    refused_by_both(&mut c, "boolean", r#""maybe""#);
    refused_by_both(&mut c, "timestamp without time zone", r#""not a time""#);
    refused_by_both(&mut c, "date", r#""2024-02-30""#);
    refused_by_both(&mut c, "numeric", r#""1.2.3""#);
    // The column's typmod is applied by the server in binary too.
    let data = binary_rows(&["1e20"], Binary::Numeric).unwrap_or_else(|e| panic!("{e}"));
    let binary = load(&mut c, "via_binary", "numeric(12,2)", data, true);
    assert!(binary.is_err_and(|e| e.contains("numeric field overflow")));
}
