//! Editor tests: every edit must (1) read back as the old document with exactly that change,
//! (2) leave every line outside one contiguous hunk byte-identical, with the hunk being what
//! the test expects, and (3) keep every comment that was not on a removed line.

use std::path::Path;

use serde_json::{json, Value};

use super::{PathSeg, YamlEditor};
use crate::error::ProjectError;
use crate::yaml::parse_yaml;

const FIXTURE: &str = include_str!("../../testdata/edit/meltano.yml");

/// Strings that must survive a write and a read unchanged.
pub(super) const TRICKY: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "true",
    "True",
    "1.0",
    "1",
    "-1",
    "+1",
    "null",
    "Null",
    "~",
    "",
    " x",
    "x ",
    " ",
    "a: b",
    "a:",
    "#x",
    "a #b",
    "a#b",
    "- x",
    "-x",
    "x\ny",
    "x\n",
    "@x",
    "`x",
    "*x",
    "&x",
    "!x",
    "%x",
    "{x}",
    "[x]",
    "a,b",
    "0x1F",
    "0o17",
    "1e3",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    ".5",
    "'q'",
    "\"q\"",
    "it's",
    "back\\slash",
    "é ü 日本 ☕",
    "tab\there",
    "\t",
    "\r",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\u{feff}x",
    "a\u{a0}",
    "---",
    "...",
    "<<",
    "=",
    "2020-01-01",
    "?x",
    "? x",
    "|x",
    ">x",
    "x:y",
    "http://h:1/p?a=1#f",
    "plain text",
    "users.*",
    "!users.*",
    "${VAR}",
    "$VAR",
    "01234",
];

fn key(k: &str) -> PathSeg {
    PathSeg::Key(k.to_string())
}

/// `a.b.0.c`: numeric segments are indices (tests only; real keys may be numeric).
fn path(spec: &str) -> Vec<PathSeg> {
    if spec.is_empty() {
        return Vec::new();
    }
    spec.split('.')
        .map(|seg| match seg.parse::<usize>() {
            Ok(i) => PathSeg::Index(i),
            Err(_) => key(seg),
        })
        .collect()
}

fn parse(text: &str) -> Value {
    match parse_yaml(text, Path::new("meltano.yml")) {
        Ok(doc) => doc.value,
        Err(e) => panic!("result does not parse: {e}\n---\n{text}"),
    }
}

/// Every `# comment` of a text (from the `#` to the end of its line).
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let bytes = line.as_bytes();
        let mut quote = None;
        for (i, b) in bytes.iter().enumerate() {
            match (quote, *b) {
                (None, b'\'' | b'"') if i == 0 || matches!(bytes[i - 1], b' ' | b'[' | b',') => {
                    quote = Some(*b)
                }
                (Some(q), b) if b == q => quote = None,
                (None, b'#') if i == 0 || matches!(bytes[i - 1], b' ' | b'\t') => {
                    out.push(line[i..].trim_end().to_string());
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

/// What an edit changed: the lines (without line breaks) of the one differing hunk.
#[derive(Debug)]
struct Outcome {
    old: Vec<String>,
    new: Vec<String>,
    text: String,
}

fn hunk(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let a: Vec<&str> = before.split_inclusive('\n').collect();
    let b: Vec<&str> = after.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let strip = |l: &&str| l.trim_end_matches('\n').trim_end_matches('\r').to_string();
    (
        a[prefix..a.len() - suffix].iter().map(strip).collect(),
        b[prefix..b.len() - suffix].iter().map(strip).collect(),
    )
}

/// Applies `edit` to `src`, checks the three properties and returns the hunk.
fn check(
    src: &str,
    edit: impl FnOnce(&mut YamlEditor) -> Result<(), ProjectError>,
    change: impl FnOnce(&mut Value),
    lost_comments: &[&str],
) -> Outcome {
    let before = parse(src);
    let mut editor = YamlEditor::new(src, "meltano.yml");
    if let Err(e) = edit(&mut editor) {
        panic!("edit failed: {e}");
    }
    let text = editor.into_text();
    let after = parse(&text);
    let mut expected = before;
    change(&mut expected);
    assert_eq!(after, expected, "\n---\n{text}");
    // Same key order too: new keys go last.
    assert_eq!(
        serde_json::to_string(&after).ok(),
        serde_json::to_string(&expected).ok()
    );
    let kept = comments(&text);
    for comment in comments(src) {
        if !lost_comments.contains(&comment.as_str()) {
            assert!(kept.contains(&comment), "lost {comment:?}\n---\n{text}");
        }
    }
    if src.contains("\r\n") {
        assert_eq!(
            text.matches('\n').count(),
            text.matches("\r\n").count(),
            "line endings changed\n{text:?}"
        );
    }
    let (old, new) = hunk(src, &text);
    Outcome { old, new, text }
}

fn set(src: &str, at: &str, value: Value) -> Outcome {
    set_losing(src, at, value, &[])
}

/// `set`, where the replaced value held the `lost` comments.
fn set_losing(src: &str, at: &str, value: Value, lost: &[&str]) -> Outcome {
    let p = path(at);
    let v = value.clone();
    check(
        src,
        |e| e.set(&p, &v),
        |doc| assert!(super::expect::set(doc, &path(at), &value)),
        lost,
    )
}

fn err_text<T: std::fmt::Debug>(result: Result<T, ProjectError>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------- set

#[test]
fn replacing_a_scalar_keeps_its_comment_and_alignment() {
    let o = set(
        FIXTURE,
        "plugins.extractors.0.config.start_date",
        json!("2025-01-01"),
    );
    assert_eq!(o.old, ["      start_date: '2024-01-01'   # keep quoted"]);
    assert_eq!(o.new, ["      start_date: '2025-01-01'   # keep quoted"]);
    let o = set(FIXTURE, "version", json!(2));
    assert_eq!(o.new, ["version: 2"]);
}

#[test]
fn new_keys_go_after_the_nested_block_and_its_comments() {
    let o = set(FIXTURE, "plugins.extractors.0.config.token", json!("abc"));
    assert_eq!(o.old, Vec::<String>::new());
    assert_eq!(o.new, ["      token: abc"]);
    assert!(o
        .text
        .contains("      # more repos later\n      token: abc\n    select:\n"));
    // A new plugin key goes after `select`'s items, before the blank line.
    let o = set(FIXTURE, "plugins.extractors.0.load_schema", json!("raw"));
    assert!(o
        .text
        .contains("    - '!issues.body'\n    load_schema: raw\n\n  - name: tap-postgres"));
    // A new top-level key goes after the last one, before the final comment.
    let o = set(FIXTURE, "send_anonymous_usage_stats", json!(false));
    assert!(o.text.ends_with(
        "schedules: []\nsend_anonymous_usage_stats: false\n# trailing comment at the end of the file\n"
    ));
}

#[test]
fn empty_flow_mapping_and_nulls_become_block_mappings() {
    let o = set(FIXTURE, "plugins.extractors.1.config.host", json!("db"));
    assert_eq!(o.old, ["    config: {}"]);
    assert_eq!(o.new, ["    config:", "      host: db"]);
    let o = set(
        FIXTURE,
        "plugins.extractors.2.config.files",
        json!(["a.csv"]),
    );
    assert!(o.old.is_empty());
    assert_eq!(o.new, ["      files:", "      - a.csv"]);
    assert!(o
        .text
        .contains("    config:\n      files:\n      - a.csv\n    settings:"));
    let o = set(FIXTURE, "plugins.utilities.0.config.target", json!("dev"));
    assert_eq!(o.old, ["    config: ~"]);
    assert_eq!(o.new, ["    config:", "      target: dev"]);
}

#[test]
fn missing_intermediate_mappings_are_created() {
    let o = set(
        FIXTURE,
        "plugins.extractors.1.metadata.public-orders.replication-key",
        json!("updated_at"),
    );
    assert_eq!(
        o.new,
        [
            "      public-orders:",
            "        replication-key: updated_at"
        ]
    );
    let o = set(FIXTURE, "state_backend.uri", json!("s3://bucket/state"));
    assert_eq!(o.new, ["state_backend:", "  uri: s3://bucket/state"]);
}

#[test]
fn keys_are_literal_and_quoted_when_needed() {
    let p = vec![
        key("plugins"),
        key("extractors"),
        PathSeg::Index(0),
        key("config"),
        key("auth.token"),
    ];
    let o = check(
        FIXTURE,
        |e| e.set(&p, &json!("t")),
        |doc| doc["plugins"]["extractors"][0]["config"]["auth.token"] = json!("t"),
        &[],
    );
    assert_eq!(o.new, ["      auth.token: t"]);
    let p = vec![key("env"), key("yes")];
    let o = check(
        FIXTURE,
        |e| e.set(&p, &json!(1)),
        |doc| doc["env"] = json!({"yes": 1}),
        &[],
    );
    assert_eq!(o.new, ["env:", "  'yes': 1"]);
}

#[test]
fn replacing_collections_and_scalars_with_each_other() {
    let o = set_losing(
        FIXTURE,
        "plugins.loaders.0.config",
        json!({"x": 1}),
        &["# relative path"],
    );
    assert_eq!(
        o.old,
        [
            "        destination_path: output   # relative path",
            "        do_timestamp_file: false"
        ]
    );
    assert_eq!(o.new, ["        x: 1"]);
    let o = set(FIXTURE, "default_environment", json!({"a": [1, 2]}));
    assert_eq!(o.old, ["default_environment: dev  # used by CI"]);
    assert_eq!(
        o.new,
        [
            "default_environment:  # used by CI",
            "  a:",
            "  - 1",
            "  - 2"
        ]
    );
    let o = set(FIXTURE, "plugins.extractors.0.select", json!("all"));
    assert_eq!(
        o.old,
        ["    select:", "    - issues.*", "    - '!issues.body'"]
    );
    assert_eq!(o.new, ["    select: all"]);
    let o = set(FIXTURE, "plugins.extractors.1.select", json!(["a", "b"]));
    assert_eq!(o.old, ["    select: [public-users.*, public-orders.*]"]);
    assert_eq!(o.new, ["    select:", "    - a", "    - b"]);
    let o = set(FIXTURE, "plugins.extractors.0.select.1", json!("pulls.*"));
    assert_eq!(o.new, ["    - pulls.*"]);
    let o = set(
        FIXTURE,
        "plugins.extractors.1.select.0",
        json!({"a": "b,c"}),
    );
    assert_eq!(o.new, ["    select: [{a: 'b,c'}, public-orders.*]"]);
}

#[test]
fn replacing_list_items_and_block_scalars() {
    let o = set(
        FIXTURE,
        "plugins.extractors.2",
        json!({"name": "tap-csv", "variant": "meltanolabs"}),
    );
    assert_eq!(o.new, ["    variant: meltanolabs"]);
    assert_eq!(o.old.len(), 7);
    assert_eq!(o.old[0], "    config:");
    let o = set(
        FIXTURE,
        "plugins.extractors.2.settings.0.description",
        json!("Files."),
    );
    assert_eq!(
        o.old,
        [
            "      description: |",
            "        The files to read,",
            "        one per entry."
        ]
    );
    assert_eq!(o.new, ["      description: Files."]);
    let o = set(FIXTURE, "jobs.0.tasks.1", json!(["a", "b"]));
    assert_eq!(o.new, ["  - - a", "    - b"]);
}

#[test]
fn merge_keys_get_an_override_and_anchors_are_protected() {
    let o = set(FIXTURE, "plugins.loaders.1.config.batch_size", json!(10));
    assert_eq!(o.new, ["        batch_size: 10"]);
    let text =
        err_text(YamlEditor::new(FIXTURE, "meltano.yml").set(&path("x-defaults"), &json!(1)));
    assert!(text.contains("anchor"), "{text}");
    let text = err_text(
        YamlEditor::new(FIXTURE, "meltano.yml").set(&path("x-defaults.batch_size"), &json!(1)),
    );
    assert!(text.contains("without changing other values"), "{text}");
    let through = vec![
        key("plugins"),
        key("loaders"),
        PathSeg::Index(1),
        key("config"),
        key("<<"),
        key("batch_size"),
    ];
    let text = err_text(YamlEditor::new(FIXTURE, "meltano.yml").set(&through, &json!(1)));
    assert!(text.contains("is an alias"), "{text}");
    assert!(text.starts_with("meltano.yml:54:13: "), "{text}");
}

#[test]
fn flow_collections_are_edited_in_flow_style() {
    let src = "config: {a: 1, b: [x, y]}  # flow\nnext: 1\n";
    let o = set(src, "config.c", json!({"d": true}));
    assert_eq!(o.new, ["config: {a: 1, b: [x, y], c: {d: true}}  # flow"]);
    let o = set(src, "config.a", json!("1"));
    assert_eq!(o.new, ["config: {a: '1', b: [x, y]}  # flow"]);
    let o = set(src, "config.b.1", json!("z"));
    assert_eq!(o.new, ["config: {a: 1, b: [x, z]}  # flow"]);
    let src = "select: [\n  a.*,\n  b.*,\n]\nx: {}\nl: [{}]\n";
    let o = check(
        src,
        |e| e.push(&path("select"), &json!("c.*")),
        |doc| doc["select"] = json!(["a.*", "b.*", "c.*"]),
        &[],
    );
    assert!(o.old.is_empty());
    assert_eq!(o.new, ["  c.*,"]);
    assert!(o.text.starts_with("select: [\n  a.*,\n  b.*,\n  c.*,\n]\n"));
    let o = set(src, "l.0.k", json!(1));
    assert_eq!(o.new, ["l: [{k: 1}]"]);
}

#[test]
fn comments_on_the_key_line_stay_there() {
    let src = "config:  # settings\n  a: 1  # one\n  # more\nnext: 1\n";
    let o = set_losing(src, "config", json!(5), &["# one", "# more"]);
    assert_eq!(o.text, "config: 5  # settings\nnext: 1\n");
    let o = set_losing(src, "config", json!({"b": 2}), &["# one", "# more"]);
    assert_eq!(o.text, "config:  # settings\n  b: 2\nnext: 1\n");
    let src = "config:  # nothing yet\nnext: null  # n\n";
    let o = set(src, "config.a", json!(1));
    assert_eq!(o.text, "config:  # nothing yet\n  a: 1\nnext: null  # n\n");
    let o = set(src, "next.a", json!(1));
    assert_eq!(o.text, "config:  # nothing yet\nnext:  # n\n  a: 1\n");
    let o = set(src, "next", json!("x"));
    assert_eq!(o.new, ["next: x  # n"]);
}

#[test]
fn values_on_their_own_line_and_multi_line_scalars() {
    let src = "a:\n  plain value\nb: first\n  second  # c\nc: \"x\n  y\"\nl:\n-\n- 'q'  # q\n";
    let o = set(src, "a", json!("new"));
    assert_eq!(o.old, ["a:", "  plain value"]);
    assert_eq!(o.new, ["a: new"]);
    let o = set(src, "b", json!(1));
    assert_eq!(o.old, ["b: first", "  second  # c"]);
    assert_eq!(o.new, ["b: 1  # c"]);
    let o = set(src, "c", json!({"k": "v"}));
    assert_eq!(o.new, ["c:", "  k: v"]);
    let o = set(src, "l.0", json!({"k": "v", "w": 1}));
    assert_eq!(o.new, ["- k: v", "  w: 1"]);
    let o = set(src, "l.1", json!("r"));
    assert_eq!(o.new, ["- r  # q"]);
}

#[test]
fn flow_collections_over_several_lines() {
    let src = "config: {\n  a: 1,\n  b: 2\n}\nnext: [x,\n  y]\n";
    let o = set(src, "config.c", json!(3));
    assert_eq!(
        o.text,
        "config: {\n  a: 1,\n  b: 2,\n  c: 3\n}\nnext: [x,\n  y]\n"
    );
    let o = set(src, "config.a", json!([1]));
    assert_eq!(o.new, ["  a: [1],"]);
    let o = remove(src, "config.a", &[]);
    assert_eq!(o.text, "config: {\n  b: 2\n}\nnext: [x,\n  y]\n");
    let o = push(src, "next", json!("z"));
    assert_eq!(
        o.text,
        "config: {\n  a: 1,\n  b: 2\n}\nnext: [x,\n  y,\n  z]\n"
    );
    let o = push("l: [ ]\nk: 1\n", "l", json!("a"));
    assert_eq!(o.text, "l:\n- a\nk: 1\n");
    let o = push("l: [[ ]]\n", "l.0", json!("a"));
    assert_eq!(o.text, "l: [[a]]\n");
}

#[test]
fn document_markers() {
    let src = "---\na: 1\n...\n";
    let o = set(src, "b", json!(2));
    assert_eq!(o.text, "---\na: 1\nb: 2\n...\n");
    let o = set("--- {}  # c\n", "a", json!(1));
    assert_eq!(o.text, "---\na: 1  # c\n");
    let o = set("--- {a: 1}\n", "a", json!(2));
    assert_eq!(o.text, "--- {a: 2}\n");
}

#[test]
fn empty_and_minimal_documents() {
    let o = set("", "a.b", json!(1));
    assert_eq!(o.text, "a:\n  b: 1\n");
    let o = set("# just a comment\n", "a", json!("x"));
    assert_eq!(o.text, "# just a comment\na: x\n");
    let o = set("---\n", "a", json!([1]));
    assert_eq!(o.text, "---\na:\n- 1\n");
    let o = set("a: 1", "b", json!(2));
    assert_eq!(o.text, "a: 1\nb: 2\n");
    let o = set("{}\n", "a", json!(1));
    assert_eq!(o.text, "a: 1\n");
    let o = set("--- # doc\na: 1\n", "a", json!(2));
    assert_eq!(o.text, "--- # doc\na: 2\n");
}

#[test]
fn indentation_follows_the_document() {
    let src = "plugins:\n    extractors:\n        -   name: tap-x\n            config:\n                a: 1\n";
    let o = set(src, "plugins.extractors.0.config.b", json!({"c": [1]}));
    assert_eq!(
        o.new,
        [
            "                b:",
            "                    c:",
            "                        - 1"
        ]
    );
    let o = check(
        src,
        |e| {
            e.push(
                &path("plugins.extractors"),
                &json!({"name": "tap-y", "select": ["a"]}),
            )
        },
        |doc| {
            let item = json!({"name": "tap-y", "select": ["a"]});
            assert!(super::expect::push(doc, &path("plugins.extractors"), &item));
        },
        &[],
    );
    assert_eq!(
        o.new,
        [
            "        - name: tap-y",
            "          select:",
            "              - a"
        ]
    );
}

// ---------------------------------------------------------------- remove

fn remove(src: &str, at: &str, lost: &[&str]) -> Outcome {
    let p = path(at);
    check(
        src,
        |e| e.remove(&p).map(|removed| assert!(removed)),
        |doc| assert!(super::expect::remove(doc, &path(at))),
        lost,
    )
}

#[test]
fn removing_a_key_takes_its_lines_and_comment() {
    let o = remove(
        FIXTURE,
        "plugins.loaders.0.config.destination_path",
        &["# relative path"],
    );
    assert_eq!(
        o.old,
        ["        destination_path: output   # relative path"]
    );
    assert!(o.new.is_empty());
    let o = remove(
        FIXTURE,
        "plugins.extractors.0.config",
        &["# keep quoted", "# more repos later"],
    );
    assert_eq!(o.old.len(), 6);
    assert!(o.new.is_empty());
    let o = remove(FIXTURE, "plugins.extractors.2.settings.0.description", &[]);
    assert_eq!(o.old.len(), 3);
}

#[test]
fn removing_the_last_key_leaves_an_empty_mapping() {
    let o = remove(FIXTURE, "environments.1.env.TAP_GITHUB_AUTH_TOKEN", &[]);
    assert_eq!(
        o.old,
        ["  env:", "    TAP_GITHUB_AUTH_TOKEN: ${GITHUB_TOKEN}"]
    );
    assert_eq!(o.new, ["  env: {}"]);
    let o = remove(
        FIXTURE,
        "plugins.extractors.1.metadata.public-users.replication-method",
        &["# needs a key"],
    );
    assert_eq!(o.new, ["      public-users: {}"]);
    let o = remove("a: 1  # only\n", "a", &["# only"]);
    assert_eq!(o.text, "{}\n");
}

#[test]
fn removing_list_items() {
    let o = remove(FIXTURE, "plugins.extractors.2", &[]);
    assert_eq!(o.old.len(), 8);
    assert_eq!(o.old[0], "  - name: tap-csv");
    assert!(o.text.contains("  # - name: tap-old\n\n\n  loaders:"));
    let o = remove(FIXTURE, "plugins.extractors.0.config.repositories.1", &[]);
    assert_eq!(o.old, ["      - org/repo-b"]);
    let o = remove(FIXTURE, "plugins.extractors.1.select.0", &[]);
    assert_eq!(o.new, ["    select: [public-orders.*]"]);
    let o = remove(FIXTURE, "plugins.extractors.1.select.1", &[]);
    assert_eq!(o.new, ["    select: [public-users.*]"]);
    let o = remove("l: [a]\n", "l.0", &[]);
    assert_eq!(o.text, "l: []\n");
    let o = remove("l:\n- a  # x\n", "l.0", &["# x"]);
    assert_eq!(o.text, "l: []\n");
}

#[test]
fn removing_the_first_key_of_a_compact_entry() {
    let o = remove(FIXTURE, "plugins.extractors.0.name", &["# the main source"]);
    assert_eq!(
        o.old,
        [
            "  - name: tap-github   # the main source",
            "    variant: meltanolabs"
        ]
    );
    assert_eq!(o.new, ["  - variant: meltanolabs"]);
    let src = "l:\n- a: 1\n  # about b\n  b: 2\n";
    let o = remove(src, "l.0.a", &[]);
    assert_eq!(o.text, "l:\n- # about b\n  b: 2\n");
    let src = "l:\n- - x\n  - y\n";
    let o = remove(src, "l.0.0", &[]);
    assert_eq!(o.text, "l:\n- - y\n");
}

#[test]
fn removing_flow_entries() {
    let src = "c: {a: 1, b: 2, c: 3}\n";
    assert_eq!(remove(src, "c.a", &[]).text, "c: {b: 2, c: 3}\n");
    assert_eq!(remove(src, "c.b", &[]).text, "c: {a: 1, c: 3}\n");
    assert_eq!(remove(src, "c.c", &[]).text, "c: {a: 1, b: 2}\n");
    assert_eq!(remove("c: {a: 1}\n", "c.a", &[]).text, "c: {}\n");
}

#[test]
fn absent_keys_are_not_an_error() {
    let mut editor = YamlEditor::new(FIXTURE, "meltano.yml");
    assert!(!editor
        .remove(&path("plugins.extractors.0.nope"))
        .unwrap_or(true));
    assert!(!editor
        .remove(&path("plugins.utilities.0.config.x"))
        .unwrap_or(true));
    assert!(!editor.remove(&path("nope.deeper")).unwrap_or(true));
    assert_eq!(editor.text(), FIXTURE);
}

// ---------------------------------------------------------------- push / remove_items

fn push(src: &str, at: &str, value: Value) -> Outcome {
    let p = path(at);
    let v = value.clone();
    check(
        src,
        |e| e.push(&p, &v),
        |doc| assert!(super::expect::push(doc, &path(at), &value)),
        &[],
    )
}

fn remove_items(src: &str, at: &str, value: Value, count: usize) -> Outcome {
    let p = path(at);
    let v = value.clone();
    check(
        src,
        |e| e.remove_items(&p, &v).map(|n| assert_eq!(n, count)),
        |doc| assert!(super::expect::remove_items(doc, &path(at), &value)),
        &[],
    )
}

#[test]
fn pushing_into_lists() {
    let o = push(FIXTURE, "plugins.extractors.0.select", json!("pulls.*"));
    assert_eq!(o.new, ["    - pulls.*"]);
    assert!(o.text.contains("    - '!issues.body'\n    - pulls.*\n\n"));
    let o = push(FIXTURE, "plugins.extractors.1.select", json!("!x.*"));
    assert_eq!(
        o.new,
        ["    select: [public-users.*, public-orders.*, '!x.*']"]
    );
    let o = push(FIXTURE, "plugins.loaders.1.select", json!("a.*"));
    assert_eq!(o.new, ["      select:", "      - a.*"]);
    let o = push(
        FIXTURE,
        "schedules",
        json!({"name": "s", "interval": "@daily"}),
    );
    assert_eq!(o.old, ["schedules: []"]);
    assert_eq!(o.new, ["schedules:", "- name: s", "  interval: '@daily'"]);
    let o = push(
        FIXTURE,
        "plugins.extractors.0.config.repositories",
        json!("org/c"),
    );
    assert!(o
        .text
        .contains("      - org/repo-b\n      - org/c\n      # more repos later\n    select:"));
    let o = push(FIXTURE, "plugins.utilities.0.config", json!(1));
    assert_eq!(o.new, ["    config:", "    - 1"]);
}

#[test]
fn adding_an_environment_and_a_loader() {
    let env = json!({"name": "staging", "config": {"plugins": {}}});
    let o = push(FIXTURE, "environments", env);
    assert_eq!(o.new, ["- name: staging", "  config:", "    plugins: {}"]);
    assert!(o.text.contains("${GITHUB_TOKEN}\n- name: staging\n"));
    let loader = json!({"name": "target-csv", "variant": "hotgluexyz", "config": {"dir": "out"}});
    let o = push(FIXTURE, "plugins.loaders", loader);
    assert_eq!(
        o.new,
        [
            "    - name: target-csv",
            "      variant: hotgluexyz",
            "      config:",
            "        dir: out"
        ]
    );
}

#[test]
fn removing_matching_items() {
    let o = remove_items(FIXTURE, "plugins.extractors.0.select", json!("issues.*"), 1);
    assert_eq!(o.old, ["    - issues.*"]);
    let src = "select:\n- a  # one\n- b\n- a\n";
    let o = check(
        src,
        |e| {
            e.remove_items(&path("select"), &json!("a"))
                .map(|n| assert_eq!(n, 2))
        },
        |doc| doc["select"] = json!(["b"]),
        &["# one"],
    );
    assert_eq!(o.text, "select:\n- b\n");
    let o = remove_items("s: [a, b, a]\n", "s", json!("a"), 2);
    assert_eq!(o.text, "s: [b]\n");
    let o = remove_items("s:\n- a\n- a\n", "s", json!("a"), 2);
    assert_eq!(o.text, "s: []\n");
    let o = remove_items(FIXTURE, "plugins.extractors.0.select", json!("zzz"), 0);
    assert!(o.old.is_empty() && o.new.is_empty());
    let mut editor = YamlEditor::new(FIXTURE, "meltano.yml");
    assert_eq!(
        editor.remove_items(&path("nope"), &json!("a")).ok(),
        Some(0)
    );
    assert_eq!(
        editor
            .remove_items(&path("plugins.utilities.0.config"), &json!("a"))
            .ok(),
        Some(0)
    );
}

// ---------------------------------------------------------------- errors

#[test]
fn errors_point_at_the_node() {
    let mut editor = YamlEditor::new(FIXTURE, "meltano.yml");
    let text = err_text(editor.set(&path("version.x"), &json!(1)));
    assert!(text.starts_with("meltano.yml:3:10: "), "{text}");
    assert!(text.contains("holds a single value"), "{text}");
    let text = err_text(editor.set(&path("plugins.extractors.9.name"), &json!(1)));
    assert!(text.contains("index 9 is out of range"), "{text}");
    assert!(text.starts_with("meltano.yml:13:"), "{text}");
    let text = err_text(editor.set(&path("plugins.extractors.name"), &json!(1)));
    assert!(text.contains("is a list"), "{text}");
    let text = err_text(editor.push(&path("plugins"), &json!(1)));
    assert!(text.contains("not a list"), "{text}");
    let text = err_text(editor.remove_items(&path("plugins"), &json!(1)));
    assert!(text.contains("not a list"), "{text}");
    let text = err_text(editor.set(&path("jobs.0.tasks.5"), &json!(1)));
    assert!(text.contains("out of range"), "{text}");
    assert_eq!(editor.text(), FIXTURE);

    let mut broken = YamlEditor::new("a: [1\n", "meltano.yml");
    let err = broken.set(&path("a"), &json!(1)).err();
    assert!(matches!(err, Some(ProjectError::Yaml { .. })), "{err:?}");
}

#[test]
fn layouts_only_the_lenient_reader_accepts_are_refused_cleanly() {
    // Meltano's reader allows the `]` at the key's column; the strict parser does not.
    let src = "plugins:\n  extractors:\n  - name: tap-x\n    select: [\n      \"a.*\"\n    ]\n";
    let mut editor = YamlEditor::new(src, "meltano.yml");
    let text = err_text(editor.set(&path("plugins.extractors.0.config.a"), &json!(1)));
    assert!(text.starts_with("meltano.yml:"), "{text}");
    if parse_yaml(src, Path::new("meltano.yml")).is_ok() {
        assert!(
            text.contains("cannot edit this file automatically"),
            "{text}"
        );
    }
    assert_eq!(editor.text(), src);
}

// ---------------------------------------------------------------- line endings, markers

#[test]
fn crlf_documents_stay_crlf() {
    let src = FIXTURE.replace('\n', "\r\n");
    let o = set(&src, "plugins.extractors.1.config.host", json!("db"));
    assert_eq!(o.new, ["    config:", "      host: db"]);
    let o = set(&src, "default_environment", json!({"a": 1}));
    assert_eq!(o.new, ["default_environment:  # used by CI", "  a: 1"]);
    let o = remove(&src, "plugins.extractors.2", &[]);
    assert_eq!(o.old.len(), 8);
    let o = push(&src, "plugins.extractors.0.select", json!("x"));
    assert_eq!(o.new, ["    - x"]);
    remove(&src, "plugins.extractors.0.name", &["# the main source"]);
    remove_items(&src, "plugins.extractors.0.select", json!("issues.*"), 1);
    let o = set("a: 1", "b", json!(2));
    assert_eq!(o.text, "a: 1\nb: 2\n");
    let o = set("a: 1\r\n", "b", json!({"c": 2}));
    assert_eq!(o.text, "a: 1\r\nb:\r\n  c: 2\r\n");
}

#[test]
fn byte_order_mark_and_non_ascii_text() {
    let src = "\u{feff}# ünïcode ☕\nnäme: «x» # ö\nconfig:\n  ключ: значение\n";
    let o = set(src, "config.ключ", json!("新しい"));
    assert_eq!(o.new, ["  ключ: 新しい"]);
    let o = set(src, "config.b", json!(1));
    assert_eq!(o.new, ["  b: 1"]);
    let o = remove(src, "näme", &["# ö"]);
    assert!(o.text.starts_with("\u{feff}# ünïcode ☕\nconfig:"));
}

// ---------------------------------------------------------------- round trips

/// A small project for the round-trip tables (the full fixture is slow to parse thousands of
/// times in debug builds).
const MINI: &str = "plugins:\n  extractors:\n  - name: tap-x  # c\n    config:\n      start_date: '2024'   # keep\n    select:\n    - a.*\n  - name: tap-y\n    config: {}\n    select: [a.*]\n";

#[test]
fn tricky_strings_round_trip_as_values_keys_and_items() {
    for s in TRICKY {
        let v = json!(s);
        let o = set(MINI, "plugins.extractors.0.config.start_date", v.clone());
        assert_eq!(o.new.len(), 1, "{s:?}: {:?}", o.new);
        assert!(o.new[0].ends_with("   # keep"), "{:?}", o.new);
        set(MINI, "plugins.extractors.1.config.x", v.clone());
        set(MINI, "plugins.extractors.0.config.new", v.clone());
        set("c: {a: 1}\n", "c.a", v.clone());
        set("c: {a: 1}\n", "c.b", json!({ *s: [s] }));
        push(MINI, "plugins.extractors.1.select", v.clone());
        push(MINI, "plugins.extractors.0.select", v.clone());
        let p = vec![key("plugins"), key("extractors"), PathSeg::Index(0), key(s)];
        check(
            MINI,
            |e| e.set(&p, &json!({ *s: s })),
            |doc| doc["plugins"]["extractors"][0][*s] = json!({ *s: s }),
            &[],
        );
    }
}

#[test]
fn numbers_bools_nulls_and_nesting_round_trip() {
    let values = [
        json!(null),
        json!(true),
        json!(0),
        json!(-12),
        json!(u64::MAX),
        json!(1.5),
        json!(-0.25),
        json!(1e300),
        json!(3.0),
        json!({}),
        json!([]),
        json!([[]]),
        json!([{}]),
        json!({"a": {"b": {"c": [1, [2, {"d": null}]]}}}),
        json!([[1, [2, 3]], {"k": [{"x": "y"}]}]),
    ];
    for v in values {
        set(MINI, "plugins.extractors.0.config.start_date", v.clone());
        set(MINI, "plugins.extractors.1.config", v.clone());
        set(MINI, "plugins.extractors.0.select.0", v.clone());
        set(MINI, "c", v.clone());
        push(MINI, "plugins.extractors.0.select", v.clone());
        push(MINI, "plugins.extractors.1.select", v.clone());
        set("", "a", v.clone());
    }
}

/// Every key and item of the fixture can be replaced and removed, with only the expected
/// change, or the edit is refused because an anchor or alias shares it.
#[test]
fn every_node_of_the_fixture_can_be_edited() {
    fn walk(value: &Value, prefix: &mut Vec<PathSeg>, out: &mut Vec<Vec<PathSeg>>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    prefix.push(key(k));
                    out.push(prefix.clone());
                    walk(v, prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    prefix.push(PathSeg::Index(i));
                    out.push(prefix.clone());
                    walk(v, prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
    }
    for src in [FIXTURE.to_string(), FIXTURE.replace('\n', "\r\n")] {
        let mut paths = Vec::new();
        walk(&parse(&src), &mut Vec::new(), &mut paths);
        assert!(paths.len() > 60);
        let mut refused = 0;
        for p in &paths {
            let shared = p.iter().any(|s| *s == key("x-defaults"))
                || p.windows(2).any(|w| w[1] == key("batch_size"));
            let values = if src.contains('\r') {
                vec![json!({"k": ["v"]})]
            } else {
                vec![json!("new value"), json!({"k": ["v"]})]
            };
            for value in values {
                let mut editor = YamlEditor::new(src.clone(), "meltano.yml");
                match editor.set(p, &value) {
                    Ok(()) => {
                        let mut expected = parse(&src);
                        assert!(super::expect::set(&mut expected, p, &value));
                        assert_eq!(parse(editor.text()), expected, "set {p:?}");
                    }
                    Err(e) if shared => {
                        refused += 1;
                        assert!(
                            e.to_string().contains("anch")
                                || e.to_string().contains("alias")
                                || e.to_string().contains("merge"),
                            "{p:?}: {e}"
                        );
                    }
                    Err(e) => panic!("set {p:?} failed: {e}"),
                }
            }
            let mut editor = YamlEditor::new(src.clone(), "meltano.yml");
            match editor.remove(p) {
                Ok(removed) => {
                    assert!(removed, "{p:?}");
                    let mut expected = parse(&src);
                    assert!(super::expect::remove(&mut expected, p));
                    assert_eq!(parse(editor.text()), expected, "remove {p:?}");
                    for comment in comments(&src) {
                        let before = src.matches(&comment).count();
                        assert!(
                            editor.text().matches(&comment).count() + 1 >= before,
                            "remove {p:?} lost {comment}"
                        );
                    }
                }
                Err(e) if shared => {
                    refused += 1;
                    assert!(
                        e.to_string().contains("anch")
                            || e.to_string().contains("alias")
                            || e.to_string().contains("merge"),
                        "{p:?}: {e}"
                    );
                }
                Err(e) => panic!("remove {p:?} failed: {e}"),
            }
        }
        assert!(refused > 0);
    }
}
