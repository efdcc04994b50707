//! `meltano.yml` reading on arbitrary text: the YAML reader, `$VAR` expansion of every string
//! with variables whose values are long (and hold references themselves), and, for documents
//! that parse, the project model and each plugin's settings resolution.
//!
//! Checks: no panic, and memory stays bounded (run with `-rss_limit_mb=512`): one expansion
//! brings in at most `MAX_EXPANSION` bytes however many references the text holds.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use smelt_project::{
    expand_str, expand_value, parse_yaml, EnvironmentChoice, LoadOptions, Project,
};

/// Bytes one expansion may bring in (`smelt_project::expand::MAX_EXPANSION`).
const MAX_EXPANSION: usize = 16 * 1024 * 1024;
/// A long value: 64 KiB of references, so expanding the expansion again would multiply it.
const LONG_LEN: usize = 64 * 1024;

fn long_value() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| "$BIG${BIG}x".repeat(LONG_LEN / 11))
}

/// Every upper-case name is set; names starting with `B` or `L` get the long value.
fn lookup(name: &str) -> Option<String> {
    match name.chars().next() {
        Some('B') | Some('L') => Some(long_value().to_string()),
        Some(c) if c.is_ascii_uppercase() => Some(format!("<{name}:$BIG>")),
        _ => None,
    }
}

fn project_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("smelt-fuzz-yaml")
            .tempdir()
            .expect("temp dir");
        dir.keep()
    })
}

fn process_env() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("BIG".to_string(), long_value().to_string());
    env.insert("LONG".to_string(), long_value().to_string());
    env.insert("REF".to_string(), "$BIG$LONG${BIG}".to_string());
    env.insert("MELTANO_ENVIRONMENT".to_string(), "dev".to_string());
    env
}

fn each_string(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| each_string(v, f)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            f(k);
            each_string(v, f)
        }),
        _ => {}
    }
}

fn string_bytes(value: &Value) -> usize {
    let mut n = 0;
    each_string(value, &mut |s| n += s.len());
    n
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let expanded = expand_str(text, &lookup);
    assert!(expanded.len() <= text.len() + MAX_EXPANSION);

    let Ok(doc) = parse_yaml(text, Path::new("meltano.yml")) else {
        return;
    };
    each_string(&doc.value, &mut |s| {
        let out = expand_str(s, &lookup);
        assert!(
            out.len() <= s.len() + MAX_EXPANSION,
            "expansion past its bound"
        );
    });
    let once = expand_value(&doc.value, &lookup);
    assert!(string_bytes(&once) <= string_bytes(&doc.value) + MAX_EXPANSION);
    let twice = expand_value(&once, &lookup);
    assert!(string_bytes(&twice) <= string_bytes(&once) + MAX_EXPANSION);
    drop((once, twice));

    // The project model. `include_paths` globs are left out: they would read the whole disk.
    if text.contains("include_paths") {
        return;
    }
    let dir = project_dir();
    std::fs::write(dir.join("meltano.yml"), text).expect("write meltano.yml");
    let opts = LoadOptions {
        environment: EnvironmentChoice::Default,
        native: &[],
    };
    let Ok(project) = Project::load_with_env(dir, &opts, process_env()) else {
        return;
    };
    let _ = project.state_id_suffix();
    for plugin in &project.plugins {
        let _ = project.plugin_extras(plugin);
        for mapping in std::iter::once(None).chain(plugin.mappings.iter().map(Some)) {
            if let Ok(config) = project.plugin_config(plugin, mapping) {
                let _ = project.plugin_env(plugin, &config);
            }
        }
    }
});
