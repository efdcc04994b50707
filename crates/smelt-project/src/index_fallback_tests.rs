//! Plugins without a lock file get their Hub definition from the embedded plugin index, as
//! Meltano fetches it from the Hub; custom plugins and lock files are left alone.

use std::collections::BTreeMap;

use crate::*;

fn load(meltano_yml: &str, files: &[(&str, &str)]) -> Project {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(dir.path().join("meltano.yml"), meltano_yml)
        .unwrap_or_else(|e| panic!("write: {e}"));
    for (rel, text) in files {
        let path = dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("write: {e}"));
    }
    Project::load_with_env(
        dir.path(),
        &LoadOptions {
            environment: EnvironmentChoice::Default,
            native: &[],
        },
        BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("load failed: {e}"))
}

fn plugin<'a>(project: &'a Project, name: &str) -> &'a Plugin {
    project
        .find_plugin(name)
        .unwrap_or_else(|| panic!("plugin {name} not found"))
}

#[test]
fn dbt_transformer_without_lock_gets_the_hub_commands() {
    let p = load("plugins:\n  transformers:\n  - name: dbt\n", &[]);
    let dbt = plugin(&p, "dbt");
    let run = dbt.commands.get("run").map(|c| c.args.as_str());
    assert!(run.is_some_and(|a| a.starts_with("run")), "{run:?}");
    assert!(dbt
        .pip_url
        .as_deref()
        .is_some_and(|u| u.contains("dbt-core")));
    assert!(dbt.settings.iter().any(|s| s.name == "project_dir"));
}

#[test]
fn hub_extractor_without_lock_gets_capabilities_and_settings() {
    let p = load("plugins:\n  extractors:\n  - name: tap-github\n", &[]);
    let t = plugin(&p, "tap-github");
    assert!(t.has_capability("catalog"));
    assert!(t.has_capability("state"));
    assert!(t.settings.iter().any(|s| s.name == "repositories"));
    assert_eq!(t.namespace, "tap_github");
}

#[test]
fn named_variant_is_used_and_unknown_variant_gets_nothing() {
    let p = load(
        "plugins:\n  extractors:\n  - name: tap-github\n    variant: meltanolabs\n  - name: tap-postgres\n    variant: no-such-variant\n",
        &[],
    );
    assert!(plugin(&p, "tap-github").has_capability("catalog"));
    let pg = plugin(&p, "tap-postgres");
    assert!(pg.settings.is_empty());
    assert!(pg.capabilities.is_empty());
}

#[test]
fn custom_plugin_with_namespace_is_not_looked_up() {
    let p = load(
        "plugins:\n  extractors:\n  - name: tap-github\n    namespace: my_github\n    executable: ./my-tap\n",
        &[],
    );
    let t = plugin(&p, "tap-github");
    assert!(t.capabilities.is_empty(), "{:?}", t.capabilities);
    assert!(t.settings.is_empty());
    assert_eq!(t.pip_url, None);
}

#[test]
fn inheriting_from_a_hub_plugin_uses_its_definition_despite_a_namespace() {
    let p = load(
        "plugins:\n  extractors:\n  - name: tap-github-org\n    inherit_from: tap-github\n    namespace: org_ns\n",
        &[],
    );
    let t = plugin(&p, "tap-github-org");
    assert!(t.has_capability("catalog"));
    assert_eq!(t.namespace, "org_ns");
}

#[test]
fn a_lock_file_wins_over_the_index() {
    let p = load(
        "plugins:\n  transformers:\n  - name: dbt\n",
        &[(
            "plugins/transformers/dbt.lock",
            r#"{"namespace": "dbt_locked", "pip_url": "dbt-core==1.0", "commands": {"compile": "compile"}}"#,
        )],
    );
    let dbt = plugin(&p, "dbt");
    assert_eq!(dbt.pip_url.as_deref(), Some("dbt-core==1.0"));
    assert_eq!(dbt.namespace, "dbt_locked");
    assert!(!dbt.commands.contains_key("run"));
    assert!(dbt.settings.is_empty());
}
