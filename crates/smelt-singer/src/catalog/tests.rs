//! End-to-end checks of the public catalog API on small catalogs, mirroring Meltano's behaviour.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::*;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("test fixture must be an object, got {other}"),
    }
}

fn select(patterns: &[&str]) -> CatalogRules {
    CatalogRules {
        select: strings(patterns),
        ..CatalogRules::default()
    }
}

/// Meltano's `ListSelectedExecutor.selected_properties`: selected streams → selected properties.
fn selected(catalog: &Value) -> BTreeMap<String, BTreeSet<String>> {
    selection(catalog)
        .iter()
        .filter(|s| s.selection.is_selected())
        .map(|s| {
            let props = s
                .selected_properties()
                .into_iter()
                .map(str::to_string)
                .collect();
            (s.tap_stream_id.clone(), props)
        })
        .collect()
}

fn expect(pairs: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    pairs
        .iter()
        .map(|(stream, props)| {
            (
                stream.to_string(),
                props.iter().map(|p| p.to_string()).collect(),
            )
        })
        .collect()
}

/// Five identical streams; property `one` is automatic (Meltano's select_filter fixture).
fn five_streams() -> Value {
    let streams: Vec<Value> = ["one", "two", "three", "four", "five"]
        .iter()
        .map(|id| {
            json!({
                "tap_stream_id": id,
                "schema": {"type": "object", "properties": {
                    "one": {"type": "string"}, "two": {"type": "string"}, "three": {"type": "string"}
                }},
                "metadata": [
                    {"breadcrumb": [], "metadata": {"inclusion": "available"}},
                    {"breadcrumb": ["properties", "one"], "metadata": {"inclusion": "automatic"}},
                    {"breadcrumb": ["properties", "two"], "metadata": {"inclusion": "available"}},
                    {"breadcrumb": ["properties", "three"], "metadata": {"inclusion": "available"}}
                ]
            })
        })
        .collect();
    json!({ "streams": streams })
}

fn filtered(filter: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut catalog = five_streams();
    let rules = CatalogRules {
        select: strings(&["one.one", "three.three", "five.*"]),
        select_filter: strings(filter),
        ..CatalogRules::default()
    };
    apply_rules(&mut catalog, &rules).unwrap();
    selected(&catalog)
}

#[test]
fn select_filter_narrows_the_selection() {
    let all = [
        ("one", &["one"][..]),
        ("three", &["one", "three"][..]),
        ("five", &["one", "two", "three"][..]),
    ];
    assert_eq!(filtered(&[]), expect(&all));
    assert_eq!(filtered(&["three"]), expect(&[all[1]]));
    assert_eq!(filtered(&["!three"]), expect(&[all[0], all[2]]));
    assert_eq!(filtered(&["t*"]), expect(&[all[1]]));
    assert_eq!(filtered(&["!t*"]), expect(&[all[0], all[2]]));
    assert_eq!(filtered(&["three", "five"]), expect(&[all[1], all[2]]));
    assert_eq!(filtered(&["!three", "!five"]), expect(&[all[0]]));
    assert_eq!(filtered(&["*e", "!*ee"]), expect(&[all[0], all[2]]));
    assert_eq!(
        filtered(&["two"]),
        expect(&[]),
        "a filter cannot select what `select` did not"
    );
}

fn geo_catalog() -> Value {
    let bc = |parts: &[&str]| json!({"breadcrumb": parts, "metadata": {"inclusion": "available"}});
    let mut metadata = vec![
        json!({"breadcrumb": [], "metadata": {"inclusion": "available"}}),
        json!({"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}}),
        bc(&["properties", "name"]),
        bc(&["properties", "geo"]),
        bc(&["properties", "geo", "properties", "city"]),
    ];
    for (parent, children) in [
        ("state", ["name", "code"]),
        ("country", ["name", "code"]),
        ("point", ["lat", "lon"]),
    ] {
        metadata.push(bc(&["properties", "geo", "properties", parent]));
        for child in children {
            metadata.push(bc(&[
                "properties",
                "geo",
                "properties",
                parent,
                "properties",
                child,
            ]));
        }
    }
    json!({"streams": [{"tap_stream_id": "MyStream", "stream": "my_stream", "metadata": metadata}]})
}

fn geo_selected(patterns: &[&str]) -> BTreeSet<String> {
    let mut catalog = geo_catalog();
    apply_rules(&mut catalog, &select(patterns)).unwrap();
    selected(&catalog).remove("MyStream").unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn nested_properties_follow_meltano_wildcards_and_parents() {
    let all_geo = [
        "geo",
        "geo.city",
        "geo.state",
        "geo.state.name",
        "geo.state.code",
        "geo.country",
        "geo.country.name",
        "geo.country.code",
        "geo.point",
        "geo.point.lat",
        "geo.point.lon",
    ];
    let mut everything = set(&all_geo);
    everything.extend(set(&["id", "name"]));
    assert_eq!(geo_selected(&["MyStream.*"]), everything);
    assert_eq!(
        geo_selected(&["MyStream"]),
        everything,
        "stream-only means stream.*"
    );

    let mut geo = set(&all_geo);
    geo.insert("id".into());
    assert_eq!(geo_selected(&["MyStream.geo.*"]), geo);
    assert_eq!(geo_selected(&["MyStream.geo.*.*"]), geo);
    assert_eq!(
        geo_selected(&["MyStream.geo.city"]),
        set(&["id", "geo", "geo.city"])
    );
    assert_eq!(
        geo_selected(&["MyStream.geo.point.*"]),
        set(&["id", "geo", "geo.point", "geo.point.lat", "geo.point.lon"])
    );
    let mut without_names = geo.clone();
    without_names.remove("geo.state.name");
    without_names.remove("geo.country.name");
    assert_eq!(
        geo_selected(&["MyStream.geo.*", "!MyStream.geo.*.name"]),
        without_names
    );
}

/// A legacy-style catalog with automatic, available, unsupported and nested properties.
fn entities() -> Value {
    json!({"streams": [{
        "tap_stream_id": "UniqueEntitiesName",
        "stream": "entities",
        "schema": {"type": "object", "properties": {
            "id": {"type": "number"},
            "code": {"type": ["string", "null"]},
            "name": {"type": ["string", "null"]},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
            "balance": {"type": ["number", "null"]},
            "unsupported": {"type": "null"},
            "payload": {"type": "object", "properties": {
                "content": {"type": ["string", "null"]},
                "hash": {"type": "string"}
            }}
        }},
        "metadata": [
            {"breadcrumb": [], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
            {"breadcrumb": ["properties", "code"], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "created_at"], "metadata": {"inclusion": "automatic"}},
            {"breadcrumb": ["properties", "balance"], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "unsupported"], "metadata": {"inclusion": "unsupported"}},
            {"breadcrumb": ["properties", "payload"], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "payload", "properties", "content"], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "payload", "properties", "hash"], "metadata": {"inclusion": "available"}}
        ]
    }]})
}

fn entities_selected(patterns: &[&str]) -> BTreeSet<String> {
    let mut catalog = entities();
    apply_rules(&mut catalog, &select(patterns)).unwrap();
    selected(&catalog)
        .remove("UniqueEntitiesName")
        .unwrap_or_default()
}

#[test]
fn empty_select_means_everything_except_unsupported() {
    let mut catalog = entities();
    apply_rules(&mut catalog, &CatalogRules::default()).unwrap();
    let stream = &selection(&catalog)[0];
    assert_eq!(stream.selection, SelectionType::Selected);
    for property in &stream.properties {
        let md = catalog["streams"][0]["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["breadcrumb"] == json!(property.breadcrumb))
            .unwrap();
        let expected = property.path != "unsupported";
        assert_eq!(
            md["metadata"]["selected"],
            json!(expected),
            "{}",
            property.path
        );
    }
    assert_eq!(
        catalog["streams"][0]["selected"],
        json!(true),
        "legacy stream-level key"
    );
}

#[test]
fn selected_properties_plus_automatic_ones() {
    assert_eq!(
        entities_selected(&[
            "UniqueEntitiesName.code",
            "UniqueEntitiesName.name",
            "*.payload.content"
        ]),
        set(&[
            "id",
            "code",
            "name",
            "created_at",
            "payload",
            "payload.content"
        ])
    );
}

#[test]
fn exclusions_win_whatever_their_position() {
    let expected = set(&["id", "balance", "created_at", "payload", "payload.content"]);
    assert_eq!(
        entities_selected(&[
            "*.*",
            "!UniqueEntitiesName.code",
            "!UniqueEntitiesName.name",
            "!*.*.hash",
        ]),
        expected
    );
    assert_eq!(
        entities_selected(&[
            "!UniqueEntitiesName.code",
            "!*.*.hash",
            "!UniqueEntitiesName.name",
            "*.*",
        ]),
        expected,
        "an exclusion written before the inclusion still wins"
    );
    assert_eq!(
        entities_selected(&["*.*", "!UniqueEntitiesName.*"]),
        BTreeSet::new()
    );
    assert_eq!(
        entities_selected(&["*.*", "!UniqueEntities*"]),
        BTreeSet::new()
    );
}

#[test]
fn wildcards_in_stream_and_property_patterns() {
    assert_eq!(
        entities_selected(&["Unique*.c?de"]),
        set(&["id", "created_at", "code"])
    );
    assert_eq!(
        entities_selected(&["*.[bn]a*"]),
        set(&["id", "created_at", "name", "balance"])
    );
    assert_eq!(entities_selected(&["Other.*"]), BTreeSet::new());
}

#[test]
fn unsupported_properties_are_never_selected() {
    assert!(!entities_selected(&["UniqueEntitiesName.unsupported"]).contains("unsupported"));
}

#[test]
fn previous_selected_values_are_reset() {
    let mut catalog = entities();
    apply_rules(&mut catalog, &select(&["*.*"])).unwrap();
    apply_rules(&mut catalog, &select(&["UniqueEntitiesName.code"])).unwrap();
    assert_eq!(
        selected(&catalog).remove("UniqueEntitiesName").unwrap(),
        set(&["id", "created_at", "code"])
    );
    let metadata = catalog["streams"][0]["metadata"].as_array().unwrap();
    let balance = metadata
        .iter()
        .find(|e| e["breadcrumb"] == json!(["properties", "balance"]))
        .unwrap();
    assert_eq!(balance["metadata"]["selected"], json!(false));
}

#[test]
fn escaped_dots_address_dotted_stream_names() {
    let mut catalog = json!({"streams": [
        {"tap_stream_id": "animals.data", "schema": {"properties": {"id": {}, "verified": {}, "name": {}}},
         "metadata": [
            {"breadcrumb": [], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "verified"], "metadata": {"inclusion": "available"}},
            {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "available"}}
         ]}
    ]});
    apply_rules(
        &mut catalog,
        &select(&[r"animals\.data.id", r"animals\.data.verified"]),
    )
    .unwrap();
    assert_eq!(
        selected(&catalog),
        expect(&[("animals.data", &["id", "verified"])])
    );
}

#[test]
fn metadata_extra_sets_stream_and_property_keys() {
    let mut catalog = entities();
    let rules = CatalogRules {
        metadata: object(json!({
            "UniqueEntitiesName": {
                "replication-method": "INCREMENTAL",
                "replication-key": "created_at",
                "created_at": {"is-replication-key": true},
                "payload": {"hash": {"custom-metadata": "custom-value"}}
            },
            "Unique*": {"code": {"inclusion": "automatic"}}
        })),
        ..select(&["UniqueEntitiesName.name"])
    };
    apply_rules(&mut catalog, &rules).unwrap();
    let stream = &catalog["streams"][0];
    assert_eq!(stream["replication_method"], "INCREMENTAL");
    assert_eq!(stream["replication_key"], "created_at");
    let md = |bc: Value| -> Value {
        stream["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["breadcrumb"] == bc)
            .map(|e| e["metadata"].clone())
            .unwrap()
    };
    assert_eq!(md(json!([]))["replication-method"], "INCREMENTAL");
    assert_eq!(md(json!([]))["replication-key"], "created_at");
    assert_eq!(
        md(json!(["properties", "created_at"]))["is-replication-key"],
        true
    );
    assert_eq!(
        md(json!(["properties", "payload", "properties", "hash"]))["custom-metadata"],
        "custom-value"
    );
    assert_eq!(
        selected(&catalog).remove("UniqueEntitiesName").unwrap(),
        set(&["id", "created_at", "name", "code"]),
        "metadata rules come after select, so `inclusion: automatic` there wins"
    );
}

#[test]
fn metadata_extra_can_override_selection() {
    let mut catalog = entities();
    let rules = CatalogRules {
        metadata: object(json!({"UniqueEntitiesName": {"balance": {"selected": false}}})),
        ..select(&["*.*"])
    };
    apply_rules(&mut catalog, &rules).unwrap();
    assert!(!selected(&catalog)["UniqueEntitiesName"].contains("balance"));
}

#[test]
fn schema_extra_adds_properties_that_then_get_metadata() {
    let mut catalog = json!({"streams": [{"tap_stream_id": "dynamo_table"}]});
    let rules = CatalogRules {
        schema: object(json!({"dynamo_table": {
            "id": {"type": "string"},
            "created_at": {"type": ["string", "null"], "format": "date-time"}
        }})),
        ..CatalogRules::default()
    };
    apply_rules(&mut catalog, &rules).unwrap();
    let stream = &catalog["streams"][0];
    assert_eq!(
        stream["schema"],
        json!({"type": "object", "properties": {
            "id": {"type": "string"},
            "created_at": {"type": ["string", "null"], "format": "date-time"}
        }})
    );
    assert_eq!(
        stream["metadata"],
        json!([
            {"breadcrumb": [], "metadata": {"inclusion": "available", "selected": true}},
            {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic", "selected": true}},
            {"breadcrumb": ["properties", "created_at"], "metadata": {"inclusion": "automatic", "selected": true}}
        ])
    );
}

#[test]
fn catalog_without_metadata_gets_entries_in_schema_order() {
    let mut catalog = json!({"streams": [{"tap_stream_id": "s", "schema": {"properties": {
        "b": {}, "a": {"properties": {"x": {}}}
    }}}]});
    apply_rules(&mut catalog, &select(&["s.b"])).unwrap();
    let list = selection(&catalog);
    let paths: Vec<(&str, SelectionType)> = list[0]
        .properties
        .iter()
        .map(|p| (p.path.as_str(), p.selection))
        .collect();
    assert_eq!(
        paths,
        [
            ("b", SelectionType::Automatic),
            ("a", SelectionType::Automatic),
            ("a.x", SelectionType::Excluded)
        ]
    );
}

#[test]
fn invalid_catalog_is_reported_and_left_unchanged() {
    let original = json!({"streams": [
        {"tap_stream_id": "a", "schema": {"properties": {"id": {}}}},
        {"tap_stream_id": "b"},
        {"stream": "c"}
    ]});
    let mut catalog = original.clone();
    let err = apply_rules(&mut catalog, &CatalogRules::default()).unwrap_err();
    assert_eq!(err, CatalogError::MissingTapStreamId { number: 3 });
    assert!(err
        .to_string()
        .starts_with("catalog stream #3 has no tap_stream_id"));
    assert_eq!(catalog, original);

    let mut not_a_catalog = json!("nope");
    let err = apply_rules(&mut not_a_catalog, &CatalogRules::default()).unwrap_err();
    assert!(
        err.to_string().contains("the top level is a string"),
        "{err}"
    );
}

#[test]
fn invalid_extras_are_reported_before_touching_the_catalog() {
    let original = entities();
    let mut catalog = original.clone();
    let rules = CatalogRules {
        metadata: object(json!({"UniqueEntitiesName": 5})),
        ..CatalogRules::default()
    };
    let err = apply_rules(&mut catalog, &rules).unwrap_err();
    assert!(
        matches!(
            err,
            CatalogError::InvalidExtra {
                extra: "metadata",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(catalog, original);
}

#[test]
fn user_catalog_gets_only_the_select_filter() {
    let mut given = five_streams();
    for stream in given["streams"].as_array_mut().unwrap() {
        stream["metadata"][0]["metadata"]["selected"] = json!(true);
    }
    let mut catalog = given.clone();
    apply_select_filter(&mut catalog, &strings(&["!t*"])).unwrap();
    let streams: Vec<(String, SelectionType)> = selection(&catalog)
        .into_iter()
        .map(|s| (s.tap_stream_id, s.selection))
        .collect();
    assert_eq!(
        streams,
        [
            ("one".to_string(), SelectionType::Selected),
            ("two".to_string(), SelectionType::Excluded),
            ("three".to_string(), SelectionType::Excluded),
            ("four".to_string(), SelectionType::Selected),
            ("five".to_string(), SelectionType::Selected),
        ]
    );
    assert_eq!(catalog["streams"][1]["selected"], json!(false));
    assert_eq!(
        catalog["streams"][0].get("selected"),
        None,
        "kept streams are untouched"
    );

    assert_eq!(
        catalog["streams"][3]["metadata"][1]["metadata"],
        given["streams"][3]["metadata"][1]["metadata"],
        "property selections are preserved"
    );

    let mut untouched = given.clone();
    apply_select_filter(&mut untouched, &[]).unwrap();
    assert_eq!(untouched, given);
}

#[test]
fn warnings_name_missing_streams_and_properties() {
    let mut catalog = entities();
    let rules = CatalogRules {
        metadata: object(json!({"Missing": {"replication-method": "FULL_TABLE"}})),
        ..select(&["UniqueEntitiesName.nmae", "UniqueEntitiesName.code", "*.*"])
    };
    apply_rules(&mut catalog, &rules).unwrap();
    let warnings = rule_warnings(&catalog, &rules).unwrap();
    assert_eq!(
        warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "Property `nmae` was not found in the schema of stream `UniqueEntitiesName`",
            "Stream `Missing` was not found in the catalog",
        ]
    );
}
