//! Metadata rules: "set `key` to `value` on the metadata of matching streams/properties".
//!
//! Meltano turns the `select` extra, the `metadata` extra and `select_filter` into one ordered
//! list of such rules; later rules win. This module builds that list the way Meltano does:
//!
//! - `select` pattern `stream.prop.sub`: `selected: true` on the stream, on `prop` and on
//!   `prop.sub` (parents of a selected property are selected too); a pattern without a property
//!   (`stream`) means `stream.*`. `!` patterns set `selected: false` on the property only, or also
//!   on the stream when the property part is `*`. Exclusions come after all inclusions, so they
//!   win regardless of the order they were written in.
//! - `metadata` extra `{stream: {key: v, prop: {key: v, sub: {key: v}}}}`: a leaf is a rule whose
//!   last path element is the metadata key and whose middle elements are property names.
//! - `select_filter`: `selected: false` on streams matching none of the plain patterns and on
//!   streams matching any `!` pattern.
//!
//! A backslash escapes a dot that belongs to a name (`animals\.data.id` is property `id` of
//! stream `animals.data`).

use serde_json::{Map, Value};

use super::error::{kind_of, CatalogError};
use super::pattern::Pattern;

/// The metadata key that marks a stream or property as selected.
pub(crate) const SELECTED: &str = "selected";

/// One "set this metadata key" rule.
#[derive(Debug, Clone)]
pub(crate) struct MetadataRule {
    /// Stream id patterns as written; the rule addresses a stream matching any of them.
    pub(crate) stream_patterns: Vec<String>,
    compiled_streams: Vec<Pattern>,
    /// When true the rule addresses streams matching *none* of the patterns.
    pub(crate) negated: bool,
    /// Breadcrumb pattern elements, e.g. `["properties", "geo", "properties", "*"]`.
    pub(crate) breadcrumb: Vec<String>,
    compiled_breadcrumb: Pattern,
    /// Metadata key to set, e.g. `selected` or `replication-method`.
    pub(crate) key: String,
    /// Value to set.
    pub(crate) value: Value,
}

impl MetadataRule {
    /// A rule for the streams matching (or, when `negated`, not matching) `streams`.
    pub(crate) fn new(
        streams: Vec<String>,
        negated: bool,
        breadcrumb: Vec<String>,
        key: &str,
        value: Value,
    ) -> Self {
        let compiled_streams = streams.iter().map(|s| Pattern::new(s)).collect();
        let compiled_breadcrumb = Pattern::new(&breadcrumb.join("."));
        MetadataRule {
            stream_patterns: streams,
            compiled_streams,
            negated,
            breadcrumb,
            compiled_breadcrumb,
            key: key.to_string(),
            value,
        }
    }

    /// A `selected: <value>` rule for one stream pattern and property path.
    fn select(stream: &str, props: &[String], value: bool) -> Self {
        Self::new(
            vec![stream.to_string()],
            false,
            property_breadcrumb(props),
            SELECTED,
            Value::Bool(value),
        )
    }

    /// Whether the rule applies to the metadata entry of `tap_stream_id` whose breadcrumb,
    /// joined with dots, is `joined_breadcrumb` (empty for the stream itself). The breadcrumb is
    /// matched as one string, as Meltano does, so `*` also reaches nested properties.
    pub(crate) fn applies_to(&self, tap_stream_id: &str, joined_breadcrumb: &str) -> bool {
        let named = self
            .compiled_streams
            .iter()
            .any(|p| p.matches(tap_stream_id));
        named != self.negated && self.compiled_breadcrumb.matches(joined_breadcrumb)
    }
}

/// The breadcrumb of a property path: `["a", "b"]` → `["properties", "a", "properties", "b"]`.
pub(crate) fn property_breadcrumb(props: &[String]) -> Vec<String> {
    props
        .iter()
        .flat_map(|p| ["properties".to_string(), p.clone()])
        .collect()
}

/// Splits `text` at dots not preceded by a backslash and turns each `\.` into a plain dot.
pub(crate) fn split_unescaped(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut prev = None;
    for c in text.chars() {
        if c == '.' && prev != Some('\\') {
            parts.push(unescape(&current));
            current.clear();
        } else {
            current.push(c);
        }
        prev = Some(c);
    }
    parts.push(unescape(&current));
    parts
}

/// Turns `\.` into `.`.
fn unescape(text: &str) -> String {
    text.replace("\\.", ".")
}

/// A parsed `select` / `select_filter` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SelectPattern {
    negated: bool,
    stream: String,
    /// Property path; `None` for a stream-only pattern.
    props: Option<Vec<String>>,
}

impl SelectPattern {
    fn parse(raw: &str) -> Self {
        let (negated, rest) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let bytes = rest.as_bytes();
        let split =
            (0..bytes.len()).find(|&i| bytes[i] == b'.' && (i == 0 || bytes[i - 1] != b'\\'));
        match split {
            // `stream.` has an empty property part, which Meltano treats as stream-only.
            Some(i) if i + 1 < rest.len() => SelectPattern {
                negated,
                stream: unescape(&rest[..i]),
                props: Some(split_unescaped(&rest[i + 1..])),
            },
            Some(i) => SelectPattern {
                negated,
                stream: unescape(&rest[..i]),
                props: None,
            },
            None => SelectPattern {
                negated,
                stream: unescape(rest),
                props: None,
            },
        }
    }
}

/// Rules for a list of `select` patterns: all inclusions first, then all exclusions.
pub(crate) fn select_rules<S: AsRef<str>>(patterns: &[S]) -> Vec<MetadataRule> {
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    let all = vec!["*".to_string()];
    for raw in patterns {
        let pattern = SelectPattern::parse(raw.as_ref());
        let selected = !pattern.negated;
        let rules = if selected { &mut include } else { &mut exclude };
        match &pattern.props {
            None => {
                rules.push(MetadataRule::select(&pattern.stream, &[], selected));
                rules.push(MetadataRule::select(&pattern.stream, &all, selected));
            }
            Some(props) => {
                let whole_stream = props.len() == 1 && props[0] == "*";
                if selected || whole_stream {
                    rules.push(MetadataRule::select(&pattern.stream, &[], selected));
                }
                rules.push(MetadataRule::select(&pattern.stream, props, selected));
                if selected {
                    for depth in 1..props.len() {
                        rules.push(MetadataRule::select(&pattern.stream, &props[..depth], true));
                    }
                }
            }
        }
    }
    include.extend(exclude);
    include
}

/// Rules for `select_filter` patterns (only the stream part of each pattern counts).
pub(crate) fn select_filter_rules<S: AsRef<str>>(patterns: &[S]) -> Vec<MetadataRule> {
    let mut keep = Vec::new();
    let mut drop = Vec::new();
    for raw in patterns {
        let pattern = SelectPattern::parse(raw.as_ref());
        if pattern.negated {
            drop.push(pattern.stream);
        } else {
            keep.push(pattern.stream);
        }
    }
    let mut rules = Vec::new();
    if !keep.is_empty() {
        rules.push(MetadataRule::new(
            keep,
            true,
            Vec::new(),
            SELECTED,
            Value::Bool(false),
        ));
    }
    if !drop.is_empty() {
        rules.push(MetadataRule::new(
            drop,
            false,
            Vec::new(),
            SELECTED,
            Value::Bool(false),
        ));
    }
    rules
}

/// Rules for the `metadata` extra. Keys may also be dotted paths (`users.id`), as Meltano
/// accepts; an empty mapping sets nothing.
pub(crate) fn metadata_extra_rules(
    extra: &Map<String, Value>,
) -> Result<Vec<MetadataRule>, CatalogError> {
    let mut leaves = Vec::new();
    flatten(extra, &mut Vec::new(), &mut leaves);
    let mut rules = Vec::with_capacity(leaves.len());
    for (path, value) in leaves {
        match path.as_slice() {
            [stream, props @ .., key] => rules.push(MetadataRule::new(
                vec![stream.clone()],
                false,
                property_breadcrumb(props),
                key,
                value.clone(),
            )),
            _ => {
                return Err(CatalogError::InvalidExtra {
                    extra: "metadata",
                    path: path.join("."),
                    problem: format!(
                        "found {} where a mapping of metadata keys was expected; write \
                         `<stream>: {{<key>: <value>}}` or `<stream>: {{<property>: {{<key>: <value>}}}}`",
                        kind_of(value)
                    ),
                })
            }
        }
    }
    Ok(rules)
}

/// Collects `(path, value)` for every leaf of a nested mapping; each key is split at unescaped
/// dots. Empty mappings are not leaves: they contribute nothing.
fn flatten<'a>(
    map: &'a Map<String, Value>,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, &'a Value)>,
) {
    for (key, value) in map {
        let depth = prefix.len();
        prefix.extend(split_unescaped(key));
        match value {
            Value::Object(inner) if inner.is_empty() => {}
            Value::Object(inner) => flatten(inner, prefix, out),
            leaf => out.push((prefix.clone(), leaf)),
        }
        prefix.truncate(depth);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strs(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// `(streams, negated, breadcrumb, key, value)` of a rule, for comparing with Meltano.
    type Shape = (Vec<String>, bool, Vec<String>, String, Value);

    fn shape(rules: &[MetadataRule]) -> Vec<Shape> {
        rules
            .iter()
            .map(|r| {
                (
                    r.stream_patterns.clone(),
                    r.negated,
                    r.breadcrumb.clone(),
                    r.key.clone(),
                    r.value.clone(),
                )
            })
            .collect()
    }

    fn sel(stream: &str, bc: &[&str], value: bool) -> Shape {
        (
            strs(&[stream]),
            false,
            strs(bc),
            SELECTED.into(),
            Value::Bool(value),
        )
    }

    #[test]
    fn split_unescaped_honours_backslash_dots() {
        assert_eq!(split_unescaped("a.b.c"), strs(&["a", "b", "c"]));
        assert_eq!(
            split_unescaped(r"animals\.data.id"),
            strs(&["animals.data", "id"])
        );
        assert_eq!(split_unescaped("plain"), strs(&["plain"]));
    }

    #[test]
    fn stream_only_pattern_behaves_like_stream_star() {
        assert_eq!(
            shape(&select_rules(&["users"])),
            shape(&select_rules(&["users.*"]))
        );
        assert_eq!(
            shape(&select_rules(&["users"])),
            vec![
                sel("users", &[], true),
                sel("users", &["properties", "*"], true)
            ]
        );
    }

    #[test]
    fn nested_property_selects_its_parents() {
        assert_eq!(
            shape(&select_rules(&["s.geo.point.lat"])),
            vec![
                sel("s", &[], true),
                sel(
                    "s",
                    &[
                        "properties",
                        "geo",
                        "properties",
                        "point",
                        "properties",
                        "lat"
                    ],
                    true
                ),
                sel("s", &["properties", "geo"], true),
                sel("s", &["properties", "geo", "properties", "point"], true),
            ]
        );
    }

    #[test]
    fn exclusions_come_after_inclusions_and_touch_the_stream_only_for_star() {
        let rules = select_rules(&["!users.id", "users.*", "!orders.*", "!logs"]);
        assert_eq!(
            shape(&rules),
            vec![
                sel("users", &[], true),
                sel("users", &["properties", "*"], true),
                sel("users", &["properties", "id"], false),
                sel("orders", &[], false),
                sel("orders", &["properties", "*"], false),
                sel("logs", &[], false),
                sel("logs", &["properties", "*"], false),
            ]
        );
    }

    #[test]
    fn escaped_stream_dots_and_trailing_dot() {
        assert_eq!(
            shape(&select_rules(&[r"animals\.data.id"])),
            vec![
                sel("animals.data", &[], true),
                sel("animals.data", &["properties", "id"], true)
            ]
        );
        assert_eq!(
            shape(&select_rules(&["users."])),
            shape(&select_rules(&["users"]))
        );
    }

    #[test]
    fn select_filter_builds_one_keep_and_one_drop_rule() {
        let rules = select_filter_rules(&["users", "!admins", "orders.id", "!logs"]);
        assert_eq!(
            shape(&rules),
            vec![
                (
                    strs(&["users", "orders"]),
                    true,
                    vec![],
                    SELECTED.into(),
                    json!(false)
                ),
                (
                    strs(&["admins", "logs"]),
                    false,
                    vec![],
                    SELECTED.into(),
                    json!(false)
                ),
            ]
        );
        assert!(rules[0].applies_to("other", ""));
        assert!(!rules[0].applies_to("users", ""));
        assert!(
            !rules[0].applies_to("other", "properties.id"),
            "stream level only"
        );
        assert!(rules[1].applies_to("admins", ""));
        assert!(select_filter_rules::<&str>(&[]).is_empty());
    }

    #[test]
    fn metadata_extra_stream_and_property_keys() {
        let extra = json!({
            "users": {
                "replication-method": "INCREMENTAL",
                "created_at": {"is-replication-key": true},
                "geo": {"city": {"custom": "x"}}
            },
            "orders.id": {"inclusion": "automatic"},
            "empty": {}
        });
        let Value::Object(extra) = extra else {
            unreachable!()
        };
        let rules = metadata_extra_rules(&extra).unwrap();
        assert_eq!(
            shape(&rules),
            vec![
                (
                    strs(&["users"]),
                    false,
                    vec![],
                    "replication-method".into(),
                    json!("INCREMENTAL")
                ),
                (
                    strs(&["users"]),
                    false,
                    strs(&["properties", "created_at"]),
                    "is-replication-key".into(),
                    json!(true)
                ),
                (
                    strs(&["users"]),
                    false,
                    strs(&["properties", "geo", "properties", "city"]),
                    "custom".into(),
                    json!("x")
                ),
                (
                    strs(&["orders"]),
                    false,
                    strs(&["properties", "id"]),
                    "inclusion".into(),
                    json!("automatic")
                ),
            ]
        );
    }

    #[test]
    fn metadata_extra_without_a_key_is_an_error() {
        let Value::Object(extra) = json!({"users": "INCREMENTAL"}) else {
            unreachable!()
        };
        let err = metadata_extra_rules(&extra).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`metadata` extra"), "{text}");
        assert!(text.contains("at `users`"), "{text}");
        assert!(text.contains("found a string"), "{text}");
    }

    #[test]
    fn applies_to_uses_wildcards_on_stream_and_joined_breadcrumb() {
        let rule = MetadataRule::select("u*", &strs(&["*"]), true);
        assert!(rule.applies_to("users", "properties.id"));
        assert!(rule.applies_to("users", "properties.geo.properties.city"));
        assert!(!rule.applies_to("users", ""));
        assert!(!rule.applies_to("orders", "properties.id"));
        let negated = MetadataRule::new(strs(&["a", "b"]), true, vec![], SELECTED, json!(false));
        assert!(negated.applies_to("c", ""));
        assert!(!negated.applies_to("b", ""));
    }
}
