//! Adding and removing `plugins:` entries keeps every other byte; lock files are found by exact
//! name only.

use std::collections::BTreeMap;
use std::path::Path;

use crate::*;

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write: {e}"));
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn load(dir: &Path) -> Project {
    Project::load_with_env(
        dir,
        &LoadOptions {
            environment: EnvironmentChoice::NoEnvironment,
            native: &[],
        },
        BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("load failed: {e}"))
}

#[test]
fn new_entry_keys_follow_meltanos_order_and_skip_empty_ones() {
    let p = NewPlugin {
        plugin_type: PluginType::Extractor,
        name: "tap-a".into(),
        inherit_from: Some("tap-b".into()),
        executable: Some("tap-b".into()),
        variant: Some("v".into()),
        pip_url: Some("pkg".into()),
        ..NewPlugin::default()
    };
    let keys: Vec<String> = p
        .entry()
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        ["name", "inherit_from", "variant", "pip_url", "executable"]
    );
}

#[test]
fn add_appends_to_the_type_list_keeping_comments() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let yml = "# my project\nversion: 1\nplugins:\n  extractors:\n  - name: tap-x # first\n    variant: a\n";
    write(dir.path(), "meltano.yml", yml);
    let new = NewPlugin {
        plugin_type: PluginType::Extractor,
        name: "tap-y".into(),
        variant: Some("b".into()),
        pip_url: Some("tap-y==1".into()),
        ..NewPlugin::default()
    };
    add_plugin_entry(dir.path(), &new).unwrap_or_else(|e| panic!("add: {e}"));
    assert_eq!(
        read(dir.path(), "meltano.yml"),
        format!("{yml}  - name: tap-y\n    variant: b\n    pip_url: tap-y==1\n")
    );
    let loader = NewPlugin {
        plugin_type: PluginType::Loader,
        name: "target-z".into(),
        ..NewPlugin::default()
    };
    add_plugin_entry(dir.path(), &loader).unwrap_or_else(|e| panic!("add: {e}"));
    let text = read(dir.path(), "meltano.yml");
    assert!(text.starts_with("# my project\n"), "{text}");
    assert!(text.contains("  loaders:\n  - name: target-z\n"), "{text}");
    assert_eq!(load(dir.path()).plugins.len(), 3);
}

#[test]
fn remove_edits_the_file_that_defines_the_plugin() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    write(
        dir.path(),
        "meltano.yml",
        "include_paths:\n- sub/*.yml\nplugins:\n  extractors:\n  - name: tap-main\n    namespace: tap_main\n",
    );
    let sub = "plugins:\n  extractors:\n  # keep me\n  - name: tap-one\n    namespace: tap_one\n  - name: tap-two\n    namespace: tap_two\n";
    write(dir.path(), "sub/more.yml", sub);
    let project = load(dir.path());
    let two = project
        .find_plugin("tap-two")
        .unwrap_or_else(|| panic!("tap-two"));
    let (shown, path) = project.plugin_entry_path(two);
    assert_eq!(shown, Path::new("sub/more.yml"));
    assert_eq!(path.last(), Some(&PathSeg::Index(1)));
    let file = project
        .remove_plugin_entry(two)
        .unwrap_or_else(|e| panic!("remove: {e}"));
    assert_eq!(file, Path::new("sub/more.yml"));
    assert_eq!(
        read(dir.path(), "sub/more.yml"),
        "plugins:\n  extractors:\n  # keep me\n  - name: tap-one\n    namespace: tap_one\n"
    );
    let project = load(dir.path());
    let names: Vec<&str> = project.plugins.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"tap-main") && names.contains(&"tap-one"));
}

#[test]
fn custom_means_own_namespace_and_no_parent() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    write(
        dir.path(),
        "meltano.yml",
        "plugins:\n  extractors:\n  - name: tap-c\n    namespace: tap_c\n  - name: tap-d\n    inherit_from: tap-c\n",
    );
    let project = load(dir.path());
    let custom: Vec<bool> = project
        .plugins
        .iter()
        .map(|p| project.is_custom_plugin(p))
        .collect();
    assert_eq!(custom, [true, false]);
}

#[test]
fn lock_files_are_matched_by_exact_name() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for f in [
        "tap-x--a.lock",
        "tap-x.lock",
        "tap-x-extra--a.lock",
        "tap-x--.lock",
        "tap-x--b.txt",
    ] {
        write(dir.path(), &format!("plugins/extractors/{f}"), "{}");
    }
    let found = existing_lock_files(dir.path(), PluginType::Extractor, "tap-x");
    let names: Vec<String> = found
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, ["tap-x--a.lock", "tap-x.lock"]);
    let path = lock_file_path(dir.path(), PluginType::Loader, "target-y", "v");
    write_lock_file(&path, "{}\n").unwrap_or_else(|e| panic!("write: {e}"));
    assert_eq!(read(dir.path(), "plugins/loaders/target-y--v.lock"), "{}\n");
}
