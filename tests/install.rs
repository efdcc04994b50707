//! `smelt install` against real PyPI packages: parallel installs into Meltano's venv layout,
//! no-op reinstalls, a changed pip_url reinstalling only that plugin, a broken pip_url failing
//! only its plugin, shared venvs for equal pip_urls, and `--clean`.
//!
//! smelt's cache (the bootstrapped uv) and uv's package cache live under the target directory
//! so repeated runs reuse them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{text, TestProject};

fn install(p: &TestProject, args: &[&str]) -> Output {
    let mut all = vec!["install"];
    all.extend_from_slice(args);
    let env = common::install_cache_env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    p.run_env(&all, &pairs)
}

fn exe(p: &TestProject, plugin_type: &str, name: &str, program: &str) -> PathBuf {
    p.path(&format!(".meltano/{plugin_type}/{name}/venv/bin/{program}"))
}

const THREE: &str = r#"version: 1
plugins:
  extractors:
  - name: tap-csv
    variant: smelt
  loaders:
  - name: target-jsonl
    pip_url: target-jsonl
  - name: target-csv
    pip_url: target-csv
  mappers:
  - name: meltano-map-transformer
    pip_url: meltano-map-transform
"#;

#[test]
fn installs_in_parallel_then_does_nothing_then_reinstalls_only_what_changed() {
    let p = TestProject::new(THREE);
    let out = install(&p, &["-p", "3"]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    for line in [
        "Installed loader 'target-jsonl'",
        "Installed loader 'target-csv'",
        "Installed mapper 'meltano-map-transformer'",
        "Skipped installing extractor 'tap-csv'. Plugin is built into smelt.",
        "Installed 3/4 plugins",
    ] {
        assert!(log.contains(line), "missing {line:?} in:\n{log}");
    }
    assert!(exe(&p, "loaders", "target-jsonl", "target-jsonl").is_file());
    assert!(exe(&p, "loaders", "target-csv", "target-csv").is_file());
    assert!(exe(
        &p,
        "mappers",
        "meltano-map-transformer",
        "meltano-map-transform"
    )
    .is_file());
    let meltano_fp = p.path(".meltano/loaders/target-jsonl/venv/.meltano_plugin_fingerprint");
    assert_eq!(
        std::fs::read_to_string(&meltano_fp).expect("Meltano's fingerprint"),
        // hashlib.sha256(b"target-jsonl").hexdigest(), what Meltano 4 computes.
        "87ecca35f1adbbc28ebbddd9fb8c652bffbe7053a142548c14d65885d6e20fc1"
    );

    // Nothing changed: nothing is installed, every plugin says so.
    let marker = p.path(".meltano/loaders/target-csv/venv/untouched");
    std::fs::write(&marker, "x").expect("marker");
    let out = install(&p, &[]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Installed 0/4 plugins"), "{log}");
    assert!(log.contains("Skipped installing 4/4 plugins"), "{log}");
    assert!(!log.contains("Installing loader"), "{log}");
    assert!(marker.exists(), "an unchanged venv was recreated");

    // One pip_url changes: only that plugin is reinstalled.
    let yml = THREE.replace("pip_url: target-jsonl", "pip_url: 'target-jsonl>=0.1'");
    std::fs::write(p.path("meltano.yml"), yml).expect("write meltano.yml");
    let out = install(&p, &[]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Installed loader 'target-jsonl'"), "{log}");
    assert!(
        log.contains("Skipped installing loader 'target-csv'. Requirements have not changed."),
        "{log}"
    );
    assert!(log.contains("Installed 1/4 plugins"), "{log}");
    assert!(marker.exists(), "the unchanged plugin was reinstalled");

    // --force reinstalls a plugin whose requirements did not change; --clean deletes first.
    let out = install(&p, &["--force", "target-csv"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Installed loader 'target-csv'"),
        "{}",
        text(&out)
    );
    std::fs::write(&marker, "x").expect("marker");
    let out = install(&p, &["--clean", "loaders", "target-csv"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!marker.exists(), "--clean kept the old venv");
    assert!(exe(&p, "loaders", "target-csv", "target-csv").is_file());
}

#[test]
fn a_broken_pip_url_fails_only_its_plugin_and_equal_pip_urls_share_a_venv() {
    let p = TestProject::new(
        r#"version: 1
plugins:
  loaders:
  - name: target-jsonl
    pip_url: target-jsonl
  - name: target-jsonl-copy
    pip_url: target-jsonl
  - name: target-broken
    pip_url: this-package-does-not-exist-smelt-xyz
"#,
    );
    let out = install(&p, &[]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("Installation failed for loader 'target-broken'"),
        "{log}"
    );
    // The installer's own words are shown.
    assert!(
        log.contains("this-package-does-not-exist-smelt-xyz"),
        "{log}"
    );
    assert!(
        log.contains("Failed to install 1/3 plugins: target-broken"),
        "{log}"
    );
    assert!(exe(&p, "loaders", "target-jsonl", "target-jsonl").is_file());
    // The copy's venv is a relative link to the first one's.
    let copy = p.path(".meltano/loaders/target-jsonl-copy/venv");
    let link = std::fs::read_link(&copy).expect("the copy's venv is a symlink");
    assert_eq!(link, Path::new("../target-jsonl/venv"));
    assert!(exe(&p, "loaders", "target-jsonl-copy", "target-jsonl").is_file());
    // A failed install never looks done.
    assert!(!p
        .path(".meltano/loaders/target-broken/venv/.smelt_fingerprint")
        .exists());
}

#[test]
fn unknown_plugins_are_named_with_the_projects_plugins() {
    let p = TestProject::new(THREE);
    let out = install(&p, &["tap-nope"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("no plugin named `tap-nope`"), "{log}");
    assert!(log.contains("target-jsonl (loader)"), "{log}");
    assert!(
        !p.path(".meltano/loaders").exists(),
        "nothing may be installed"
    );
}

#[test]
fn a_token_in_a_pip_url_never_reaches_the_output_or_the_venv() {
    // Port 9 (discard) on 127.0.0.1 refuses at once: the install fails quickly and the
    // installer's error names the URL it could not fetch.
    let p = TestProject::new(
        r#"version: 1
plugins:
  extractors:
  - name: tap-private
    namespace: tap_private
    pip_url: git+https://${PRIVATE_TAP_TOKEN}@127.0.0.1:9/org/tap-private.git
"#,
    );
    std::fs::write(
        p.path(".env"),
        "PRIVATE_TAP_TOKEN=ghp_smeltsecret0123456789\n",
    )
    .expect(".env");
    let out = install(&p, &[]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("tap-private"), "{log}");
    assert!(!log.contains("ghp_smeltsecret0123456789"), "{log}");
    // Whatever the installer left behind holds no fingerprint with the token either.
    let fingerprint = p.path(".meltano/extractors/tap-private/venv/.smelt_fingerprint");
    let stored = std::fs::read_to_string(&fingerprint).unwrap_or_default();
    assert!(!stored.contains("ghp_smeltsecret"), "{stored}");
}
