//! Prints how smelt reads YAML files, as JSON, for `scripts/yaml-compare`.
//!
//! Usage: `yaml_to_json FILE...` — one JSON line per file on stdout:
//! `{"file": ..., "value": ...}` when the file loads, `{"file": ..., "error": ...}` when not.

use std::path::Path;

use serde_json::json;

fn main() {
    let mut out = String::new();
    for arg in std::env::args().skip(1) {
        let path = Path::new(&arg);
        let line = match std::fs::read(path) {
            Err(e) => json!({"file": arg, "error": format!("could not read: {e}")}),
            Ok(bytes) => match String::from_utf8(bytes) {
                Err(e) => json!({"file": arg, "error": format!("not UTF-8: {e}")}),
                Ok(text) => match smelt_project::parse_yaml(&text, path) {
                    Ok(doc) => json!({"file": arg, "value": doc.value}),
                    Err(e) => json!({"file": arg, "error": e.to_string()}),
                },
            },
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    print!("{out}");
}
