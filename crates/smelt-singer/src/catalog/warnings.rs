//! Finds `select` and `metadata` rules that name a stream or property the catalog lacks.
//!
//! A typo in `select` silently selects nothing, so Meltano warns about rules that address a
//! stream or property by exact name when the catalog has no such thing. Rules whose stream part
//! is a pattern are skipped, and a property path is only checked up to its first pattern
//! element.

use std::collections::HashSet;
use std::fmt;

use serde_json::Value;

use super::pattern::has_wildcards;
use super::rules::MetadataRule;

/// A rule that addresses something the catalog does not have.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleWarning {
    /// No stream has this `tap_stream_id`.
    MissingStream {
        /// The stream id written in the rule.
        stream: String,
    },
    /// The stream exists but its schema has no such property.
    MissingProperty {
        /// The stream id written in the rule.
        stream: String,
        /// Dotted property path written in the rule, e.g. `geo.city`.
        property: String,
    },
}

impl fmt::Display for RuleWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleWarning::MissingStream { stream } => {
                write!(f, "Stream `{stream}` was not found in the catalog")
            }
            RuleWarning::MissingProperty { stream, property } => write!(
                f,
                "Property `{property}` was not found in the schema of stream `{stream}`"
            ),
        }
    }
}

/// Warnings for `rules` against a validated catalog, each reported once, in rule order.
pub(crate) fn find(catalog: &Value, rules: &[MetadataRule]) -> Vec<RuleWarning> {
    let streams: Vec<&Value> = catalog
        .get("streams")
        .and_then(Value::as_array)
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let mut seen = HashSet::new();
    let mut warnings = Vec::new();
    for rule in rules {
        let [stream_id] = rule.stream_patterns.as_slice() else {
            continue;
        };
        if rule.negated || has_wildcards(stream_id) {
            continue;
        }
        let stream = streams
            .iter()
            .find(|s| s.get("tap_stream_id").and_then(Value::as_str) == Some(stream_id));
        let warning = match stream {
            None => Some(RuleWarning::MissingStream {
                stream: stream_id.clone(),
            }),
            Some(stream) => missing_property(stream, stream_id, &rule.breadcrumb),
        };
        if let Some(warning) = warning {
            if seen.insert(warning.clone()) {
                warnings.push(warning);
            }
        }
    }
    warnings
}

fn missing_property(stream: &Value, stream_id: &str, breadcrumb: &[String]) -> Option<RuleWarning> {
    let literal: Vec<&String> = breadcrumb
        .iter()
        .take_while(|p| !has_wildcards(p))
        .collect();
    if literal.len() <= 1 {
        return None;
    }
    let empty = Value::Null;
    let mut node = stream.get("schema").unwrap_or(&empty);
    for part in literal {
        match node.get(part.as_str()) {
            Some(next) => node = next,
            None => {
                let property = breadcrumb
                    .chunks(2)
                    .filter_map(|pair| pair.get(1).map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(".");
                return Some(RuleWarning::MissingProperty {
                    stream: stream_id.to_string(),
                    property,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rules::select_rules;
    use serde_json::json;

    fn catalog() -> Value {
        json!({"streams": [{"tap_stream_id": "users", "schema": {"properties": {
            "id": {}, "geo": {"properties": {"city": {}}}
        }}}]})
    }

    #[test]
    fn warns_about_unknown_streams_and_properties_once() {
        let rules = select_rules(&[
            "users.id",
            "users.nmae",
            "users.geo.town",
            "usres",
            "usres.id",
        ]);
        let warnings = find(&catalog(), &rules);
        assert_eq!(
            warnings,
            vec![
                RuleWarning::MissingProperty {
                    stream: "users".into(),
                    property: "nmae".into()
                },
                RuleWarning::MissingProperty {
                    stream: "users".into(),
                    property: "geo.town".into()
                },
                RuleWarning::MissingStream {
                    stream: "usres".into()
                },
            ]
        );
        assert_eq!(
            warnings[2].to_string(),
            "Stream `usres` was not found in the catalog"
        );
        assert_eq!(
            warnings[0].to_string(),
            "Property `nmae` was not found in the schema of stream `users`"
        );
    }

    #[test]
    fn patterns_are_not_checked() {
        let rules = select_rules(&["*.*", "u*.id", "users.geo.*", "users.g?o", "!nothing.*"]);
        assert_eq!(
            find(&catalog(), &rules),
            vec![RuleWarning::MissingStream {
                stream: "nothing".into()
            }]
        );
    }
}
