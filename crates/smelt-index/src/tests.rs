use super::*;

#[test]
fn every_line_is_an_entry_whose_definition_is_a_json_object_naming_it() {
    let mut count = 0;
    for line in DATA
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let entry = parse_line(line).unwrap_or_else(|| panic!("malformed line: {line:.80}"));
        let value = entry.definition_value();
        assert_eq!(value["plugin_type"], entry.plugin_type, "{line:.80}");
        assert_eq!(value["name"], entry.name, "{line:.80}");
        assert_eq!(value["variant"], entry.variant, "{line:.80}");
        count += 1;
    }
    assert_eq!(entries().count(), count);
    assert!(count >= 100, "only {count} entries");
}

#[test]
fn each_plugin_has_exactly_one_default_variant() {
    for entry in entries() {
        let defaults = variants(entry.plugin_type, entry.name)
            .iter()
            .filter(|e| e.is_default)
            .count();
        assert_eq!(defaults, 1, "{} {}", entry.plugin_type, entry.name);
    }
}

#[test]
fn the_required_plugins_are_present() {
    for (t, n) in [
        ("utilities", "dbt-postgres"),
        ("utilities", "sqlfluff"),
        ("transformers", "dbt"),
        ("extractors", "tap-postgres"),
        ("loaders", "target-jsonl"),
        ("mappers", "meltano-map-transformer"),
        ("extractors", "tap-smoke-test"),
    ] {
        assert!(find(t, n, None).is_some(), "{t} {n}");
    }
    let counts = |t: &str| entries().filter(|e| e.plugin_type == t).count();
    assert!(counts("extractors") >= 45);
    assert!(counts("loaders") >= 25);
    assert!(counts("utilities") >= 15);
}

#[test]
fn find_picks_the_default_variant_or_the_named_one() {
    let default = find("extractors", "tap-github", None).expect("tap-github");
    assert!(default.is_default);
    assert_eq!(default.variant, "meltanolabs");
    assert_eq!(
        find("extractors", "tap-github", Some("default")),
        Some(default)
    );
    let named = find("extractors", "tap-github", Some("meltanolabs")).expect("variant");
    assert_eq!(named, default);
    assert_eq!(
        find("extractors", "tap-github", Some("no-such-variant")),
        None
    );
    assert_eq!(find("loaders", "tap-github", None), None);
    assert_eq!(find("extractors", "tap-git", None), None);
}

#[test]
fn find_by_name_crosses_types() {
    let types: Vec<&str> = find_by_name("dbt-postgres")
        .iter()
        .map(|e| e.plugin_type)
        .collect();
    assert!(types.contains(&"utilities"), "{types:?}");
    assert!(types.contains(&"transformers"), "{types:?}");
    assert!(find_by_name("tap-nothing-like-this").is_empty());
}

#[test]
fn dbt_definition_has_its_commands() {
    let dbt = find("transformers", "dbt", None).expect("dbt");
    let value = dbt.definition_value();
    assert!(value["commands"]["run"]["args"]
        .as_str()
        .is_some_and(|a| a.starts_with("run")));
}

#[test]
fn lock_json_is_pythons_indent_2_with_ascii_escapes() {
    let entry = find("extractors", "tap-csv", None).expect("tap-csv");
    let text = entry.lock_json();
    assert!(
        text.starts_with("{\n  \"plugin_type\": \"extractors\",\n  \"name\": \"tap-csv\",\n"),
        "{text:.200}"
    );
    assert!(text.ends_with("}\n"));
    let reparsed: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(reparsed, entry.definition_value());

    let with_unicode = entries()
        .find(|e| !e.definition.is_ascii())
        .expect("an entry with non-ASCII text");
    let text = with_unicode.lock_json();
    assert!(text.is_ascii());
    assert!(text.contains("\\u"));
    let reparsed: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(reparsed, with_unicode.definition_value());
}

#[test]
fn suggestions_rank_typos_and_fragments() {
    assert_eq!(
        suggest(Some("extractors"), "tap-githb", 3).first(),
        Some(&"tap-github")
    );
    let postgres = suggest(None, "postgres", 10);
    assert!(postgres.contains(&"tap-postgres"), "{postgres:?}");
    assert!(postgres.contains(&"target-postgres"), "{postgres:?}");
    let loaders = suggest(Some("loaders"), "postgres", 10);
    assert!(!loaders.contains(&"tap-postgres"), "{loaders:?}");
    assert_eq!(suggest(None, "postgres", 2).len(), 2);
    let unique = suggest(None, "dbt-postgre", 10);
    assert_eq!(unique.iter().filter(|n| **n == "dbt-postgres").count(), 1);
    assert!(suggest(None, "zzzzzzzzzzzz", 5).is_empty());
}
