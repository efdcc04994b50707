//! The JSON schema of a mapped stream, built the way the Singer SDK builds it: the type of a
//! computed property is guessed from the expression's text, and is always nullable.

use serde_json::{json, Map, Value as Json};

/// The JSON Schema dialect the SDK stamps on a schema it builds from scratch (`__else__: null`).
const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// A schema with no properties, as the SDK's `PropertiesList().to_dict()` writes it.
pub(crate) fn empty_object_schema() -> Map<String, Json> {
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Json::Object(Map::new()));
    schema.insert("$schema".into(), json!(DIALECT));
    schema
}

/// The schema of a property computed by `expression`, nullable.
///
/// `existing` is the schema the property already has (same name in the mapped schema, or the
/// source property the expression names); `record_schema` is what the whole-record name
/// `record` stands for.
pub(crate) fn property_schema(
    expression: &str,
    existing: Option<&Json>,
    record_schema: &Map<String, Json>,
) -> Json {
    let expr = expression;
    let base = if expr == "record" {
        Json::Object(record_schema.clone())
    } else if expr.starts_with("float(") {
        json!({"type": ["number"]})
    } else if expr.starts_with("int(") {
        json!({"type": ["integer"]})
    } else if expr.starts_with("str(") || expr.starts_with("json.dumps(") {
        json!({"type": ["string"]})
    } else if expr.starts_with("bool(") {
        json!({"type": ["boolean"]})
    } else if expr.starts_with("datetime.date.")
        || expr.starts_with("datetime.date(")
        || expr.ends_with(".date()")
    {
        json!({"type": ["string"], "format": "date"})
    } else if expr.starts_with("datetime.datetime.") || expr.starts_with("datetime.datetime(") {
        json!({"type": ["string"], "format": "date-time"})
    } else if expr.len() >= 2 && expr.starts_with('\'') && expr.ends_with('\'') {
        json!({"type": ["string"]})
    } else {
        match existing {
            Some(schema) if is_non_empty(schema) => schema.clone(),
            _ => json!({"type": ["string"]}),
        }
    };
    with_null(base)
}

/// Whether a property schema counts as present (Python truthiness of a dict).
fn is_non_empty(schema: &Json) -> bool {
    match schema {
        Json::Object(m) => !m.is_empty(),
        Json::Null => false,
        _ => true,
    }
}

/// Adds `null` to a property schema's types, as the SDK's `append_type` does (`anyOf` /
/// `oneOf` get a null alternative; a schema without `type` is left alone).
pub(crate) fn with_null(mut schema: Json) -> Json {
    let Json::Object(map) = &mut schema else {
        return schema;
    };
    if let Some(any_of) = map.get_mut("anyOf") {
        match any_of {
            Json::Array(items) => {
                if !items.contains(&json!("null")) {
                    items.push(json!("null"));
                }
            }
            other => {
                if *other != json!("null") {
                    *other = json!([other.clone(), "null"]);
                }
            }
        }
        return schema;
    }
    if let Some(Json::Array(items)) = map.get_mut("oneOf") {
        items.push(json!({"type": "null"}));
        return schema;
    }
    if let Some(types) = map.get_mut("type") {
        let mut list = match &*types {
            Json::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        if !list.contains(&json!("null")) {
            list.push(json!("null"));
        }
        *types = Json::Array(list);
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_the_expression_prefix() {
        let record = empty_object_schema();
        let t = |e: &str| property_schema(e, None, &record);
        assert_eq!(t("md5(email)"), json!({"type": ["string", "null"]}));
        assert_eq!(t("int(count-1)"), json!({"type": ["integer", "null"]}));
        assert_eq!(t("float(x)"), json!({"type": ["number", "null"]}));
        assert_eq!(t("bool(x)"), json!({"type": ["boolean", "null"]}));
        assert_eq!(t("json.dumps(x)"), json!({"type": ["string", "null"]}));
        assert_eq!(
            t("x.date()"),
            json!({"type": ["string", "null"], "format": "date"})
        );
        assert_eq!(
            t("datetime.datetime.fromisoformat(x)"),
            json!({"type": ["string", "null"], "format": "date-time"})
        );
        assert_eq!(t("'[masked]'"), json!({"type": ["string", "null"]}));
        assert_eq!(t("record")["type"], json!(["object", "null"]));
    }

    #[test]
    fn an_existing_schema_is_kept_and_made_nullable() {
        let record = empty_object_schema();
        let existing = json!({"type": "integer"});
        assert_eq!(
            property_schema("count", Some(&existing), &record),
            json!({"type": ["integer", "null"]})
        );
        assert_eq!(
            property_schema("count", Some(&json!({})), &record),
            json!({"type": ["string", "null"]})
        );
    }

    #[test]
    fn null_is_appended_like_append_type() {
        assert_eq!(
            with_null(json!({"type": ["string", "null"]})),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            with_null(json!({"anyOf": [{"type": "string"}]})),
            json!({"anyOf": [{"type": "string"}, "null"]})
        );
        assert_eq!(
            with_null(json!({"oneOf": [{"type": "string"}]})),
            json!({"oneOf": [{"type": "string"}, {"type": "null"}]})
        );
        assert_eq!(with_null(json!({"format": "x"})), json!({"format": "x"}));
    }
}
