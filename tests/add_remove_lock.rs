//! `smelt add`, `remove`, `lock`, `list` and `plugin list` against the real binary: exact
//! meltano.yml text (comments and order kept), lock files, included files, Meltano's output
//! shapes. Nothing is installed (`--no-install`); the installer has its own tests.

mod common;

use common::{assert_fails, text, TestProject};

const YML: &str = "# Our project.\nversion: 1\nproject_id: 7d0c1d8e-0000-4000-8000-00000000a001\nplugins:\n  extractors:\n  # the CSV files\n  - name: tap-csv\n    variant: smelt\n  loaders: []\n";

fn ok(p: &TestProject, args: &[&str]) -> String {
    let out = p.run(args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(p: &TestProject, rel: &str) -> String {
    std::fs::read_to_string(p.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn index_lock(plugin_type: &str, name: &str) -> serde_json::Value {
    let entry = smelt_index_entry(plugin_type, name);
    serde_json::from_str(&entry).unwrap_or_else(|e| panic!("{e}"))
}

/// The Hub definition of the default variant, read from the index data file itself.
fn smelt_index_entry(plugin_type: &str, name: &str) -> String {
    let data = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/smelt-index/data/plugins.idx"),
    )
    .unwrap_or_else(|e| panic!("index: {e}"));
    data.lines()
        .map(|l| l.splitn(5, '\t').collect::<Vec<_>>())
        .find(|f| f.len() == 5 && f[0] == plugin_type && f[1] == name && f[3] == "1")
        .map(|f| f[4].to_string())
        .unwrap_or_else(|| panic!("{name} not in the index"))
}

#[test]
fn add_hub_plugin_writes_entry_and_lock_keeping_comments() {
    let p = TestProject::new(YML);
    let out = ok(&p, &["add", "target-jsonl", "--no-install"]);
    let lock = index_lock("loaders", "target-jsonl");
    let variant = lock["variant"].as_str().unwrap_or_default().to_string();
    let pip_url = lock["pip_url"].as_str().unwrap_or_default().to_string();
    assert!(
        out.starts_with(&format!(
            "Added loader 'target-jsonl' to your project\nVariant:\t{variant} (default)\n"
        )),
        "{out}"
    );
    assert!(out.contains("To learn more about loader 'target-jsonl', visit https://hub.meltano.com/loaders/target-jsonl--"), "{out}");
    // smelt has a native target-jsonl: the output says how to use it instead.
    assert!(
        out.contains("Built in:\tsmelt has a native loader 'target-jsonl' that needs no Python (`smelt add target-jsonl --variant smelt`)"),
        "{out}"
    );
    assert_eq!(
        read(&p, "meltano.yml"),
        format!("# Our project.\nversion: 1\nproject_id: 7d0c1d8e-0000-4000-8000-00000000a001\nplugins:\n  extractors:\n  # the CSV files\n  - name: tap-csv\n    variant: smelt\n  loaders:\n  - name: target-jsonl\n    variant: {variant}\n    pip_url: {pip_url}\n")
    );
    let written = read(&p, &format!("plugins/loaders/target-jsonl--{variant}.lock"));
    assert!(
        written.ends_with("}\n") && written.starts_with("{\n  \"plugin_type\": \"loaders\",\n"),
        "{written}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&written).unwrap_or_default();
    assert_eq!(parsed, lock);
    // A second add of the same plugin is refused and changes nothing.
    let before = read(&p, "meltano.yml");
    let again = p.run(&[
        "add",
        "--plugin-type",
        "loader",
        "target-jsonl",
        "--no-install",
    ]);
    assert_fails(
        &again,
        1,
        &["Loader 'target-jsonl' already exists in your Meltano project"],
    );
    assert_eq!(read(&p, "meltano.yml"), before);
}

#[test]
fn add_as_inherit_custom_and_native_variants() {
    let p = TestProject::new(YML);
    // Meltano 3's positional type, and the built-in variant (no lock file).
    ok(
        &p,
        &[
            "add",
            "loader",
            "target-jsonl",
            "--variant",
            "smelt",
            "--no-install",
        ],
    );
    // --as inherits from a project plugin: name and inherit_from only.
    let out = ok(&p, &["add", "tap-csv", "--as", "tap-csv-2", "--no-install"]);
    assert!(
        out.starts_with("Added extractor 'tap-csv-2' to your project\nInherit from:\ttap-csv\n"),
        "{out}"
    );
    // --inherit-from a Hub plugin that is not in the project: variant and pip_url repeated.
    ok(
        &p,
        &[
            "add",
            "tap-gh",
            "--inherit-from",
            "tap-github",
            "--plugin-type",
            "extractor",
            "--no-install",
        ],
    );
    let gh = index_lock("extractors", "tap-github");
    let gh_variant = gh["variant"].as_str().unwrap_or_default().to_string();
    // --custom with flags and with derived defaults.
    ok(
        &p,
        &[
            "add",
            "tap-mine",
            "--custom",
            "--pip-url",
            "git+https://example.com/tap-mine",
            "--executable",
            "tap-mine-bin",
            "--no-install",
        ],
    );
    ok(
        &p,
        &[
            "add",
            "--plugin-type",
            "utility",
            "my-tool",
            "--custom",
            "--no-install",
        ],
    );
    assert_eq!(
        read(&p, "meltano.yml"),
        format!(
            "# Our project.\nversion: 1\nproject_id: 7d0c1d8e-0000-4000-8000-00000000a001\nplugins:\n  extractors:\n  # the CSV files\n  - name: tap-csv\n    variant: smelt\n  - name: tap-csv-2\n    inherit_from: tap-csv\n  - name: tap-gh\n    inherit_from: tap-github\n    variant: {gh_variant}\n    pip_url: {}\n  - name: tap-mine\n    namespace: tap_mine\n    pip_url: git+https://example.com/tap-mine\n    executable: tap-mine-bin\n  loaders:\n  - name: target-jsonl\n    variant: smelt\n  utilities:\n  - name: my-tool\n    namespace: my_tool\n    pip_url: my-tool\n    executable: my-tool\n",
            gh["pip_url"].as_str().unwrap_or_default()
        )
    );
    // The inheriting plugin wrote its base's lock file; natives and custom ones none.
    assert!(p
        .path(&format!("plugins/extractors/tap-github--{gh_variant}.lock"))
        .is_file());
    assert!(!p.path("plugins/loaders").exists());
    assert!(!p.path("plugins/utilities").exists());
    // The project still loads and lists all of them.
    let json: serde_json::Value =
        serde_json::from_str(&ok(&p, &["list", "--format", "json"])).unwrap_or_default();
    let names: Vec<&str> = json
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "tap-csv",
            "tap-csv-2",
            "tap-gh",
            "tap-mine",
            "target-jsonl",
            "my-tool"
        ]
    );
}

#[test]
fn unknown_names_suggest_close_ones() {
    let p = TestProject::new(YML);
    let out = p.run(&["add", "tap-gitub", "--no-install"]);
    assert_fails(
        &out,
        1,
        &[
            "'tap-gitub' is not known to smelt's plugin index",
            "did you mean 'tap-github'",
        ],
    );
    let out = p.run(&["add", "tap-github", "--variant", "nope", "--no-install"]);
    assert_fails(&out, 1, &["has no variant 'nope'", "meltanolabs"]);
    assert_eq!(read(&p, "meltano.yml"), YML);
}

#[test]
fn remove_deletes_entry_dir_and_locks_in_the_defining_file() {
    let yml = "include_paths:\n- extra/*.yml\nplugins:\n  extractors:\n  - name: tap-csv\n    variant: smelt\n";
    let p = TestProject::new(yml);
    let sub = "# more plugins\nplugins:\n  loaders:\n  - name: target-a\n    namespace: target_a\n    executable: /bin/true\n  - name: target-b # keep\n    namespace: target_b\n    executable: /bin/true\n";
    std::fs::create_dir_all(p.path("extra")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(p.path("extra/loaders.yml"), sub).unwrap_or_else(|e| panic!("{e}"));
    for f in [
        "target-a--x.lock",
        "target-a.lock",
        "target-a-other--x.lock",
    ] {
        std::fs::create_dir_all(p.path("plugins/loaders")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p.path(&format!("plugins/loaders/{f}")), "{}\n")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::create_dir_all(p.path(".meltano/loaders/target-a/venv"))
        .unwrap_or_else(|e| panic!("{e}"));
    ok(
        &p,
        &["config", "set", "--store", "db", "target-a", "token", "x"],
    );
    let out = ok(&p, &["remove", "target-a", "tap-csv"]);
    assert_eq!(
        out,
        "Removing loader 'target-a'...\nReset loader 'target-a' plugin settings in the system database\nRemoved loader 'target-a' from extra/loaders.yml\nRemoved loader 'target-a' from .meltano/loaders\nRemoved loader 'target-a' from plugins/loaders/target-a--x.lock, plugins/loaders/target-a.lock\n\
         Removing extractor 'tap-csv'...\nCould not find extractor 'tap-csv' in the system database to remove\nRemoved extractor 'tap-csv' from meltano.yml\nCould not find extractor 'tap-csv' in .meltano/extractors to remove\nCould not find extractor 'tap-csv' in plugins/extractors/tap-csv*.lock to remove\nFully removed 1/2 plugins\n"
    );
    assert_eq!(
        read(&p, "extra/loaders.yml"),
        "# more plugins\nplugins:\n  loaders:\n  - name: target-b # keep\n    namespace: target_b\n    executable: /bin/true\n"
    );
    assert!(read(&p, "meltano.yml").contains("  extractors: []\n"));
    assert!(!p.path(".meltano/loaders/target-a").exists());
    assert!(p.path("plugins/loaders/target-a-other--x.lock").exists());
    assert!(!p.path("plugins/loaders/target-a.lock").exists());
    // Unknown names: nothing is removed, exit 1.
    let out = p.run(&["remove", "target-b", "nope"]);
    assert_fails(&out, 1, &["no plugin called 'nope'"]);
    assert!(read(&p, "extra/loaders.yml").contains("target-b"));
}

#[test]
fn lock_writes_missing_files_and_update_overwrites() {
    let yml = "plugins:\n  extractors:\n  - name: tap-github\n  - name: tap-csv\n    variant: smelt\n  - name: tap-own\n    namespace: tap_own\n  - name: tap-child\n    inherit_from: tap-github\n";
    let p = TestProject::new(yml);
    let gh = index_lock("extractors", "tap-github");
    let variant = gh["variant"].as_str().unwrap_or_default().to_string();
    let path = format!("plugins/extractors/tap-github--{variant}.lock");
    let out = p.run(&["lock"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.starts_with("Locking 4 plugin(s)...\n"), "{stdout}");
    assert!(
        stdout.contains("Locked definition for extractor tap-github\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Extractor tap-csv is built into smelt"),
        "{stdout}"
    );
    assert!(
        stderr.contains("Extractor tap-own is a custom plugin"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Extractor tap-child is an inherited plugin"),
        "{stderr}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&read(&p, &path)).unwrap_or_default();
    assert_eq!(parsed, gh);
    std::fs::write(p.path(&path), "{}\n").unwrap_or_else(|e| panic!("{e}"));
    let out = ok(&p, &["lock", "tap-github"]);
    assert_eq!(
        out,
        format!("Locking 1 plugin(s)...\nLockfile exists for extractor tap-github at {path}\n")
    );
    assert_eq!(read(&p, &path), "{}\n");
    let out = ok(&p, &["lock", "--update", "tap-github"]);
    assert_eq!(
        out,
        "Locking 1 plugin(s)...\nLocked definition for extractor tap-github\n"
    );
    assert_ne!(read(&p, &path), "{}\n");
    assert_fails(
        &p.run(&["lock", "nope"]),
        1,
        &["No matching plugin(s) found"],
    );
    let p2 = TestProject::new(
        "plugins:\n  extractors:\n  - name: tap-unheard-of\n    variant: x\n    pip_url: y\n",
    );
    assert_fails(
        &p2.run(&["lock"]),
        1,
        &["no definition for: extractor tap-unheard-of (variant x)"],
    );
}

#[test]
fn list_and_plugin_list() {
    let yml = "plugins:\n  extractors:\n  - name: tap-foo\n    namespace: tap_foo\n    variant: acme\n    pip_url: cowsay==6.1\n    executable: /bin/true\n  - name: tap-foo-child\n    inherit_from: tap-foo\n  loaders:\n  - name: target-jsonl\n    variant: smelt\n";
    let p = TestProject::new(yml);
    // Meltano 4.4.1's `meltano plugin list` output for this project, byte for byte.
    let expected = concat!(
        "                                                                 \n",
        " TYPE        NAME            VARIANT       INHERIT FROM   CUSTOM \n",
        " \u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500} \n",
        " extractor   tap-foo         acme                           \u{2713}    \n",
        " extractor   tap-foo-child   (inherited)   tap-foo               \n",
        " loader      target-jsonl    smelt                               \n",
        "                                                                 \n",
    );
    assert_eq!(ok(&p, &["plugin", "list"]), expected);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&p, &["plugin", "list", "--format", "json"])).unwrap_or_default();
    assert_eq!(
        json[1],
        serde_json::json!({"type": "extractor", "name": "tap-foo-child", "variant": "acme", "inherit_from": "tap-foo", "custom": false, "update": false, "pip_url": "cowsay==6.1"})
    );
    assert_eq!(json[0]["custom"], true);
    // smelt list: installed state and where the executable is.
    let out = ok(&p, &["list"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TYPE", "NAME", "VARIANT", "INSTALLED", "EXECUTABLE"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["extractor", "tap-foo", "acme", "no", "/bin/true"]
    );
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["loader", "target-jsonl", "smelt", "yes", "built", "in"]
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&p, &["list", "--format", "json"])).unwrap_or_default();
    assert_eq!(json[2]["installed"], true);
    assert_eq!(json[0]["executable"], "/bin/true");
    // `smelt plugin NAME` still runs native plugins.
    let about = ok(&p, &["plugin", "tap-csv", "--about"]);
    assert!(about.contains("tap-csv"), "{about}");
    // Empty project.
    let empty = TestProject::new("plugins: {}\n");
    assert_eq!(
        ok(&empty, &["plugin", "list"]),
        "No plugins are defined in this project.\nAdd one with 'meltano add'.\n"
    );
}
