//! Rough throughput of the hot path: parse a record, evaluate a few expressions, write JSON.
//! Run with `cargo run --release -p smelt-pyexpr --example pyexpr_bench`.

use std::time::Instant;

use smelt_pyexpr::{parse_json, write_json, Dict, Expr, Value};

fn main() {
    let line = r#"{"email":"alice@example.com","count":21,"user":{"id":1,"sub":{"num":1,"custom_obj":"obj-hello"},"some_numbers":[3.14,2.718]},"joined_at":"2022-01-01T00:00:00Z","description":"Lorem ipsum dolor sit amet, consectetur adipiscing elit","tags":["a","b","c"]}"#;
    let exprs: Vec<Expr> = [
        "md5(email)",
        "count < 20",
        "email.split('@')[1]",
        "int(count - 1)",
        "user['sub']['custom_obj'].upper()",
    ]
    .iter()
    .map(|s| Expr::parse(s).expect("valid"))
    .collect();
    let n = 1_000_000;
    let start = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..n {
        let v = parse_json(line).expect("valid JSON");
        bytes += line.len();
        let mut out = Vec::with_capacity(line.len() + 64);
        write_json(&v, &mut out).expect("writable");
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "parse+write: {:.0} records/s, {:.0} MB/s",
        n as f64 / t,
        bytes as f64 / t / 1e6
    );
    let v = parse_json(line).expect("valid JSON");
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(parse_json(line).expect("valid JSON"));
    }
    println!(
        "parse only: {:.0} MB/s",
        (n * line.len()) as f64 / start.elapsed().as_secs_f64() / 1e6
    );
    let start = Instant::now();
    for _ in 0..n {
        let mut out = Vec::with_capacity(line.len() + 64);
        write_json(&v, &mut out).expect("writable");
        std::hint::black_box(out);
    }
    println!(
        "write only: {:.0} MB/s",
        (n * line.len()) as f64 / start.elapsed().as_secs_f64() / 1e6
    );
    let rec = match parse_json(line) {
        Ok(Value::Dict(d)) => (*d).clone(),
        _ => Dict::new(),
    };
    for e in &exprs {
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(e.eval(&rec).expect("evaluates"));
        }
        println!(
            "{:<40} {:.0} evals/s",
            e.source(),
            n as f64 / start.elapsed().as_secs_f64()
        );
    }
}
