//! Checks the reader against `testdata/yaml`: every `NAME.yml` there comes with `NAME.json`,
//! how Meltano's reader (ruamel.yaml) reads it, written by `scripts/yaml-compare --regen`.
//! Where smelt deliberately reads a file differently, `NAME.smelt.json` holds what smelt must
//! read instead and why (see docs/decisions/0002-yaml-parsing.md).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{decode_utf8, parse_yaml};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/yaml")
}

/// One file against its expectation; `Err` says what differs.
fn check(dir: &Path, stem: &str) -> Result<(), String> {
    let read = |name: String| {
        std::fs::read(dir.join(&name)).map_err(|e| format!("cannot read {name}: {e}"))
    };
    let override_path = dir.join(format!("{stem}.smelt.json"));
    let (expected, exact_error) = if override_path.exists() {
        (read(format!("{stem}.smelt.json"))?, true)
    } else {
        (read(format!("{stem}.json"))?, false)
    };
    let expected: Value =
        serde_json::from_slice(&expected).map_err(|e| format!("bad expectation: {e}"))?;
    let shown = PathBuf::from(format!("{stem}.yml"));
    let got = decode_utf8(read(format!("{stem}.yml"))?, &shown)
        .and_then(|text| parse_yaml(&text, &shown));
    match (expected.get("value"), expected.get("error"), got) {
        (Some(want), _, Ok(doc)) => {
            // Compared as text: key order and 1 vs 1.0 matter.
            let (read, want) = (doc.value.to_string(), want.to_string());
            if read == want {
                Ok(())
            } else {
                Err(format!("read {read}\nwant {want}"))
            }
        }
        (Some(_), _, Err(e)) => Err(format!("ruamel reads it, smelt refuses it: {e}")),
        (None, Some(want), Err(e)) => {
            let want = want
                .as_str()
                .unwrap_or("")
                .replace("FILE", &format!("{stem}.yml"));
            if !exact_error || e.to_string().starts_with(&want) {
                Ok(())
            } else {
                Err(format!("error {e}\nwant  {want}"))
            }
        }
        (None, Some(_), Ok(doc)) => Err(format!("ruamel refuses it, smelt reads {}", doc.value)),
        (None, None, _) => Err("expectation has neither value nor error".to_string()),
    }
}

#[test]
fn corpus_reads_as_meltano_reads_it() {
    let dir = corpus_dir();
    let mut stems: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".yml").map(str::to_string)
        })
        .collect();
    stems.sort();
    assert!(stems.len() >= 100, "only {} corpus files", stems.len());
    let failures: Vec<String> = stems
        .iter()
        .filter_map(|stem| check(&dir, stem).err().map(|e| format!("{stem}.yml: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
