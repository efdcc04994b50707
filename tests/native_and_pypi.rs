//! The quickstart on native plugins, and a real Python Singer target from PyPI under `smelt run`.

mod common;

use std::path::PathBuf;

use common::{quickstart, read_jsonl, text};

#[test]
fn quickstart_moves_csv_rows_then_only_new_ones() {
    let p = quickstart();
    let first = p.run(&["run", "tap-csv", "target-jsonl"]);
    assert!(first.status.success(), "{}", text(&first));
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains("customers") && stdout.contains("orders"),
        "{stdout}"
    );
    assert!(stdout.contains("11 records"), "total in summary: {stdout}");
    assert!(
        stdout.contains("state: dev:tap-csv-to-target-jsonl"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("output: {}", p.path("output").display())),
        "{stdout}"
    );
    let customers = read_jsonl(&p.path("output/customers.jsonl"));
    assert_eq!(customers.len(), 5);
    assert_eq!(customers[0]["name"], "Ada Lovelace");
    assert_eq!(read_jsonl(&p.path("output/orders.jsonl")).len(), 6);

    let second = p.run(&["run", "tap-csv", "target-jsonl"]);
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(
        read_jsonl(&p.path("output/orders.jsonl")).len(),
        6,
        "nothing new moved"
    );

    let mut orders = std::fs::OpenOptions::new()
        .append(true)
        .open(p.path("data/orders.csv"))
        .unwrap();
    std::io::Write::write_all(&mut orders, b"1007,2,9.99,USD,2026-01-14T10:00:00Z\n").unwrap();
    let third = p.run(&["run", "tap-csv", "target-jsonl"]);
    assert!(third.status.success(), "{}", text(&third));
    let all = read_jsonl(&p.path("output/orders.jsonl"));
    assert_eq!(all.len(), 7, "only the new row moved");
    assert_eq!(all[6]["order_id"], "1007");
    assert_eq!(read_jsonl(&p.path("output/customers.jsonl")).len(), 5);
}

#[test]
fn native_plugin_runs_standalone() {
    let p = quickstart();
    std::fs::write(
        p.path("c.json"),
        r#"{"files": [{"entity": "customers", "path": "data/customers.csv", "keys": ["id"]}]}"#,
    )
    .unwrap();
    let out = p.run(&["plugin", "tap-csv", "--config", "c.json", "--discover"]);
    assert!(out.status.success(), "{}", text(&out));
    let catalog: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(catalog["streams"][0]["tap_stream_id"], "customers");
    let bad = p.run(&["plugin", "tap-nothing"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

/// A virtualenv with PyPI's `target-jsonl`, built once under target/.
fn pypi_target_jsonl() -> PathBuf {
    common::pypi_venv("venv-target-jsonl", "target-jsonl==0.1.4", "target-jsonl")
}

#[test]
fn pypi_target_jsonl_runs_under_smelt() {
    let exe = pypi_target_jsonl();
    let p = quickstart();
    let yml = std::fs::read_to_string(p.path("meltano.yml"))
        .unwrap()
        .replace(
            "  - name: target-jsonl\n    variant: smelt\n",
            &format!(
                "  - name: target-jsonl\n    variant: andyh1203\n    pip_url: target-jsonl\n    executable: {}\n",
                exe.display()
            ),
        )
        .replace("destination_path: output", "destination_path: output\n      do_timestamp_file: false");
    std::fs::write(p.path("meltano.yml"), yml).unwrap();
    std::fs::create_dir_all(p.path("output")).unwrap();
    let out = p.run(&["run", "tap-csv", "target-jsonl"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(read_jsonl(&p.path("output/customers.jsonl")).len(), 5);
    assert_eq!(read_jsonl(&p.path("output/orders.jsonl")).len(), 6);
    let state = p
        .state("dev:tap-csv-to-target-jsonl")
        .expect("state from the Python target");
    let bookmarks = &state["completed"]["singer_state"]["bookmarks"];
    assert_eq!(
        bookmarks["orders"]["replication_key_value"], "1006",
        "{state}"
    );
}

#[test]
fn select_rules_shape_the_discovered_catalog() {
    let p = quickstart();
    let yml = std::fs::read_to_string(p.path("meltano.yml"))
        .unwrap()
        .replace(
            "  - name: tap-csv\n    variant: smelt\n",
            "  - name: tap-csv\n    variant: smelt\n    select:\n    - customers.*\n    - '!customers.email'\n",
        );
    std::fs::write(p.path("meltano.yml"), yml).unwrap();
    let out = p.run(&["run", "tap-csv", "target-jsonl"]);
    assert!(out.status.success(), "{}", text(&out));
    let customers = read_jsonl(&p.path("output/customers.jsonl"));
    assert_eq!(customers.len(), 5);
    assert!(
        customers[0].get("email").is_none(),
        "deselected column: {}",
        customers[0]
    );
    assert_eq!(customers[0]["name"], "Ada Lovelace");
    assert!(
        !p.path("output/orders.jsonl").exists(),
        "orders was not selected"
    );
}
