//! `smelt run` block grammar: a fixed small project (plugins, mappings, commands, nested and
//! looping jobs) loaded once from a temp dir, then `parse_blocks` on arbitrary arguments
//! (the input split on whitespace, as the shell would).
//!
//! Checks: no panic; a plan, when given, is well formed (every set has an extractor and a
//! loader, mappers are mappers).
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smelt_project::{EnvironmentChoice, LoadOptions, PluginType, Project};
use smelt_runtime::{parse_blocks, Block};

const MELTANO_YML: &str = r#"
version: 1
default_environment: dev
environments:
- name: dev
plugins:
  extractors:
  - name: tap-a
    pip_url: tap-a
  - name: tap-b
    inherit_from: tap-a
  loaders:
  - name: target-x
    pip_url: target-x
  - name: target-y
    inherit_from: target-x
  mappers:
  - name: meltano-map-transformer
    pip_url: meltano-map-transformer
    mappings:
    - name: hash-emails
      config: {stream_maps: {}}
    - name: drop-nulls
      config: {stream_maps: {}}
  utilities:
  - name: dbt
    pip_url: dbt-core
    commands:
      run: run
      test: {args: test}
      "a:b": x
jobs:
- name: load
  tasks:
  - tap-a target-x
  - tap-b hash-emails drop-nulls target-y
- name: all
  tasks:
  - load
  - dbt:run dbt:test
  - [tap-a, hash-emails, target-x]
- name: loop
  tasks:
  - tap-a target-x
  - loop2
- name: loop2
  tasks:
  - all
  - loop
"#;

fn project() -> &'static Project {
    static PROJECT: OnceLock<Project> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("smelt-fuzz-blocks")
            .tempdir()
            .expect("temp dir")
            .keep();
        std::fs::write(dir.join("meltano.yml"), MELTANO_YML).expect("write meltano.yml");
        let opts = LoadOptions {
            environment: EnvironmentChoice::Default,
            native: &[],
        };
        Project::load_with_env(&dir, &opts, BTreeMap::new())
            .unwrap_or_else(|e| panic!("the fixed fuzz project must load: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let project = project();
    let text = String::from_utf8_lossy(data);
    let names: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    if let Ok(blocks) = parse_blocks(project, &names) {
        assert!(!blocks.is_empty(), "an empty plan from {names:?}");
        for block in &blocks {
            if let Block::Elt(set) = block {
                assert_eq!(set.extractor.plugin_type, PluginType::Extractor);
                assert_eq!(set.loader.plugin_type, PluginType::Loader);
                for m in &set.mappers {
                    assert_eq!(m.plugin.plugin_type, PluginType::Mapper);
                }
            }
            let _ = block.to_string();
        }
    }
});
