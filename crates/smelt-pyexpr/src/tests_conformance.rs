//! Every expression of tests/conformance/stream-maps/*/config.json, evaluated against the
//! records of input.singer the way the SDK names them, checked against expected.singer.

use std::path::PathBuf;

use crate::{write_json, Dict, EvalErrorKind, Expr, Names, Value};

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/stream-maps")
}

struct SdkNames<'a> {
    record: &'a Value,
    config: &'a Value,
    stream: &'a Value,
    original: &'a Value,
    this: Option<Value>,
}

impl Names for SdkNames<'_> {
    fn lookup(&self, name: &str) -> Option<Value> {
        match name {
            "_" | "record" => Some(self.record.clone()),
            "config" => Some(self.config.clone()),
            "__stream_name__" => Some(self.stream.clone()),
            "__original_stream_name__" => Some(self.original.clone()),
            "self" => self.this.clone(),
            _ => match self.record {
                Value::Dict(d) => d.get_str(name).cloned(),
                _ => None,
            },
        }
    }
}

fn json(v: &Value) -> serde_json::Value {
    let mut out = Vec::new();
    write_json(v, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn stream_matches(pattern: &str, stream: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) => stream.ends_with(suffix),
        None => pattern == stream,
    }
}

#[test]
fn conformance_expressions_give_expected_values() {
    let mut checked = 0;
    for entry in std::fs::read_dir(cases_dir()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir()
            || dir
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fake_")
        {
            continue;
        }
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        let map_config = config
            .get("stream_map_config")
            .map(Value::from)
            .unwrap_or(Value::Dict(Dict::new().into()));
        let input = std::fs::read_to_string(dir.join("input.singer")).unwrap();
        let expected = std::fs::read_to_string(dir.join("expected.singer")).unwrap();
        let expected: Vec<serde_json::Value> = expected
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|m: &serde_json::Value| m["type"] == "RECORD")
            .collect();
        let Some(maps) = config["stream_maps"].as_object() else {
            continue;
        };
        for (pattern, map) in maps {
            let Some(map) = map.as_object() else { continue };
            if map.contains_key("__source__") {
                continue;
            }
            let parsed: Vec<(&String, Result<Expr, _>)> = map
                .iter()
                .filter(|(k, _)| !k.starts_with("__"))
                .filter_map(|(k, v)| {
                    v.as_str()
                        .filter(|s| *s != "__NULL__")
                        .map(|s| (k, Expr::parse(s)))
                })
                .collect();
            let filter = map
                .get("__filter__")
                .and_then(|f| f.as_str())
                .map(Expr::parse);
            if let Some(Err(_)) = filter {
                // The w_error_filter case: invalid Python must be a parse error (and it is).
                continue;
            }
            let mut seen: std::collections::HashMap<String, usize> = Default::default();
            for line in input.lines() {
                let msg = crate::parse_json(line).unwrap();
                let Value::Dict(m) = &msg else { panic!() };
                if m.get_str("type").map(Value::py_str).as_deref() != Some("RECORD") {
                    continue;
                }
                let stream = m.get_str("stream").unwrap().py_str();
                if !stream_matches(pattern, &stream) {
                    continue;
                }
                let record = m.get_str("record").unwrap().clone();
                let original = Value::str(&stream);
                let alias = match map.get("__alias__").and_then(|a| a.as_str()) {
                    None => stream.clone(),
                    Some(a) => {
                        let names = SdkNames {
                            record: &record,
                            config: &map_config,
                            stream: &original,
                            original: &original,
                            this: None,
                        };
                        match Expr::parse(a).map(|e| e.eval(&names)) {
                            Ok(Ok(v)) => v.py_str(),
                            Ok(Err(e)) if matches!(e.kind, EvalErrorKind::NameNotDefined(_)) => {
                                a.to_string()
                            }
                            _ => a.to_string(),
                        }
                    }
                };
                let alias_v = Value::str(&alias);
                let names = SdkNames {
                    record: &record,
                    config: &map_config,
                    stream: &alias_v,
                    original: &original,
                    this: None,
                };
                if let Some(Ok(f)) = &filter {
                    if !f.eval(&names).unwrap().is_truthy() {
                        continue;
                    }
                }
                let n = seen.entry(alias.clone()).or_default();
                let want = expected
                    .iter()
                    .filter(|m| m["stream"] == alias.as_str())
                    .nth(*n)
                    .unwrap_or_else(|| panic!("{dir:?}: no expected record {n} for {alias}"));
                *n += 1;
                for (prop, expr) in &parsed {
                    let expr = expr
                        .as_ref()
                        .unwrap_or_else(|e| panic!("{dir:?} {prop}: {e}"));
                    let this = match &record {
                        Value::Dict(d) => d.get_str(prop).cloned(),
                        _ => None,
                    };
                    let names = SdkNames { this, ..names };
                    let got = expr
                        .eval(&names)
                        .unwrap_or_else(|e| panic!("{dir:?} {prop}: {e}"));
                    let got = json(&got);
                    let want_v = want["record"]
                        .get(prop.as_str())
                        .cloned()
                        .unwrap_or(serde_json::Value::Null);
                    assert_eq!(got, want_v, "{dir:?} {prop} = {}", expr.source());
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} values checked");
}

#[test]
fn invalid_filter_is_a_parse_error() {
    let e = Expr::parse("this should raise an er!ror").unwrap_err();
    // The lexer meets the stray `!` first.
    assert_eq!(e.column, 24);
}
