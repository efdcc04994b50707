//! COPY streaming against the PostgreSQL on 127.0.0.1:5432 (user postgres, database test).

use std::time::{Duration, Instant};

use smelt_pg::{BinaryRows, Bounds, PgCalls, PgClient, PgError};

fn connect(round_trip: Duration) -> PgClient {
    let config = smelt_pg::parse_uri("postgresql://postgres@127.0.0.1:5432/test", "smelt-pg test")
        .unwrap_or_else(|e| panic!("{e}"));
    let bounds = Bounds {
        connect: Some(Duration::from_secs(10)),
        round_trip: Some(round_trip),
        connect_setting: "test_connect_timeout",
        round_trip_setting: "test_round_trip_timeout",
    };
    PgClient::connect(&config, bounds)
        .unwrap_or_else(|e| panic!("PostgreSQL at 127.0.0.1:5432 is needed for these tests: {e}"))
}

#[test]
fn binary_copy_streams_every_row_and_leaves_the_connection_usable() {
    let mut client = connect(Duration::from_secs(30));
    let copy = client
        .copy_out(
            "COPY (SELECT g::text, CASE WHEN g % 2 = 0 THEN NULL ELSE 'é' END \
             FROM generate_series(1, 100000) g) TO STDOUT (FORMAT binary)",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rows = BinaryRows::new(copy);
    let mut fields = Vec::new();
    let mut n = 0u64;
    let mut nulls = 0u64;
    while let Some(row) = rows.next_row(&mut fields).unwrap_or_else(|e| panic!("{e}")) {
        n += 1;
        let first = fields[0].clone().map(|r| row[r].to_vec());
        assert_eq!(first, Some(n.to_string().into_bytes()));
        match fields[1].clone() {
            None => nulls += 1,
            Some(r) => assert_eq!(&row[r], "é".as_bytes()),
        }
    }
    assert_eq!((n, nulls), (100_000, 50_000));
    drop(rows);
    assert!(!client.is_closed());
    let row = client
        .query_one("SELECT 41 + 1", &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(row.get::<_, i32>(0), 42);
}

#[test]
fn a_stalled_copy_times_out_naming_the_setting() {
    let mut client = connect(Duration::from_millis(300));
    let started = Instant::now();
    // The server may answer CopyOutResponse at once and stall on the first row, or stall first.
    let err = match client.copy_out("COPY (SELECT pg_sleep(3)::text) TO STDOUT (FORMAT binary)") {
        Err(e) => e,
        Ok(mut copy) => match copy.next_chunk() {
            Err(e) => e,
            Ok(chunk) => panic!("expected a timeout, got {chunk:?}"),
        },
    };
    assert!(matches!(err, PgError::TimedOut { .. }), "{err}");
    assert!(err.to_string().contains("test_round_trip_timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(client.is_closed(), "a timed-out connection is not reused");
}
