//! Reads `<record JSON>\t<expression>` lines and prints `repr(result)` or the error, one per
//! line: a way to compare this engine with Python's simpleeval on the same inputs.

use std::io::BufRead;

use smelt_pyexpr::{parse_json, Dict, Expr, Value};

fn main() {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines().map_while(Result::ok) {
        let (rec, src) = line.split_once('\t').unwrap_or(("{}", &line));
        let names = match parse_json(rec) {
            Ok(Value::Dict(d)) => (*d).clone(),
            _ => Dict::new(),
        };
        let out = match Expr::parse(src) {
            Err(e) => format!("PARSE ERROR: {e}"),
            Ok(expr) => match expr.eval(&names) {
                Ok(v) => v.py_repr(),
                Err(e) => format!("ERROR: {}", e.message),
            },
        };
        println!("{out}");
    }
}
