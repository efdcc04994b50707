//! Checks that a catalog has the shape the rule engine relies on, before anything is changed.
//!
//! Validating first means a bad catalog is reported as a whole and never left half-edited.
//! Only what the rules touch is checked: `streams` is a list of objects with a string
//! `tap_stream_id`; `schema` (if present) is an object whose `properties` (if present) is an
//! object; `metadata` (if present) is a list of objects, each with a `breadcrumb` list of
//! strings and, if present, a `metadata` object. Everything else is passed through untouched.

use serde_json::{Map, Value};

use super::error::{kind_of, CatalogError};

/// The streams of a catalog, or why there are none.
pub(crate) fn streams(catalog: &Value) -> Result<&Vec<Value>, CatalogError> {
    let found = match catalog {
        Value::Object(map) => match map.get("streams") {
            Some(Value::Array(streams)) => return Ok(streams),
            Some(other) => format!("\"streams\" is {}", kind_of(other)),
            None => "there is no \"streams\" key".to_string(),
        },
        other => format!("the top level is {}", kind_of(other)),
    };
    Err(CatalogError::MissingStreams { found })
}

/// Checks the whole catalog; see the module docs for what is required.
pub(crate) fn validate(catalog: &Value) -> Result<(), CatalogError> {
    for (index, stream) in streams(catalog)?.iter().enumerate() {
        let number = index + 1;
        let Value::Object(stream) = stream else {
            return Err(CatalogError::StreamNotObject {
                number,
                found: kind_of(stream),
            });
        };
        let Some(Value::String(id)) = stream.get("tap_stream_id") else {
            return Err(CatalogError::MissingTapStreamId { number });
        };
        let invalid = |problem: String| CatalogError::InvalidStream {
            number,
            stream: id.clone(),
            problem,
        };
        check_schema(stream).map_err(invalid)?;
        check_metadata(stream).map_err(invalid)?;
    }
    Ok(())
}

fn check_schema(stream: &Map<String, Value>) -> Result<(), String> {
    match stream.get("schema") {
        None => Ok(()),
        Some(Value::Object(schema)) => match schema.get("properties") {
            None | Some(Value::Object(_)) => Ok(()),
            Some(other) => Err(format!(
                "\"schema.properties\" is {}, but it must be an object mapping property names to schemas",
                kind_of(other)
            )),
        },
        Some(other) => Err(format!(
            "\"schema\" is {}, but it must be a JSON schema object",
            kind_of(other)
        )),
    }
}

fn check_metadata(stream: &Map<String, Value>) -> Result<(), String> {
    let entries = match stream.get("metadata") {
        None => return Ok(()),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            return Err(format!(
                "\"metadata\" is {}, but it must be a list of {{\"breadcrumb\": [...], \"metadata\": {{...}}}} entries",
                kind_of(other)
            ))
        }
    };
    for (index, entry) in entries.iter().enumerate() {
        let Value::Object(entry) = entry else {
            return Err(format!(
                "metadata[{index}] is {}, but it must be an object with \"breadcrumb\" and \"metadata\"",
                kind_of(entry)
            ));
        };
        match entry.get("breadcrumb") {
            Some(Value::Array(parts)) if parts.iter().all(Value::is_string) => {}
            Some(_) => {
                return Err(format!(
                    "metadata[{index}].breadcrumb must be a list of strings such as [\"properties\", \"id\"]"
                ))
            }
            None => return Err(format!("metadata[{index}] has no \"breadcrumb\"")),
        }
        match entry.get("metadata") {
            None | Some(Value::Object(_)) => {}
            Some(other) => {
                return Err(format!(
                    "metadata[{index}].metadata is {}, but it must be an object",
                    kind_of(other)
                ))
            }
        }
    }
    Ok(())
}

/// The breadcrumb of a metadata entry, if it is a list of strings.
pub(crate) fn breadcrumb_of(entry: &Value) -> Option<Vec<String>> {
    let parts = entry.get("breadcrumb")?.as_array()?;
    parts
        .iter()
        .map(|p| p.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(catalog: Value) -> String {
        validate(&catalog).unwrap_err().to_string()
    }

    #[test]
    fn accepts_minimal_and_full_streams() {
        validate(&json!({"streams": []})).unwrap();
        validate(&json!({"streams": [{"tap_stream_id": "a"}]})).unwrap();
        validate(&json!({"streams": [{
            "tap_stream_id": "a",
            "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "metadata": [{"breadcrumb": [], "metadata": {}}, {"breadcrumb": ["properties", "id"]}]
        }]}))
        .unwrap();
    }

    #[test]
    fn reports_missing_streams() {
        assert!(err(json!([])).contains("the top level is an array"));
        assert!(err(json!({})).contains("there is no \"streams\" key"));
        assert!(err(json!({"streams": {}})).contains("\"streams\" is an object"));
    }

    #[test]
    fn reports_stream_position_for_missing_id() {
        let text = err(json!({"streams": [
            {"tap_stream_id": "a"}, {"tap_stream_id": "b"}, {"stream": "c"}
        ]}));
        assert!(
            text.starts_with("catalog stream #3 has no tap_stream_id"),
            "{text}"
        );
        let text = err(json!({"streams": [{"tap_stream_id": 5}]}));
        assert!(
            text.starts_with("catalog stream #1 has no tap_stream_id"),
            "{text}"
        );
        let text = err(json!({"streams": ["x"]}));
        assert!(text.contains("#1 is a string"), "{text}");
    }

    #[test]
    fn reports_bad_schema_and_metadata_with_the_stream_name() {
        let text = err(json!({"streams": [{"tap_stream_id": "users", "schema": []}]}));
        assert!(
            text.contains("`users`") && text.contains("\"schema\" is an array"),
            "{text}"
        );
        let text =
            err(json!({"streams": [{"tap_stream_id": "users", "schema": {"properties": []}}]}));
        assert!(text.contains("schema.properties"), "{text}");
        let text = err(json!({"streams": [{"tap_stream_id": "users", "metadata": {}}]}));
        assert!(text.contains("\"metadata\" is an object"), "{text}");
        let text =
            err(json!({"streams": [{"tap_stream_id": "users", "metadata": [{"metadata": {}}]}]}));
        assert!(text.contains("metadata[0] has no \"breadcrumb\""), "{text}");
        let text = err(
            json!({"streams": [{"tap_stream_id": "users", "metadata": [{"breadcrumb": [1]}]}]}),
        );
        assert!(text.contains("list of strings"), "{text}");
        let text = err(
            json!({"streams": [{"tap_stream_id": "u", "metadata": [{"breadcrumb": [], "metadata": 1}]}]}),
        );
        assert!(text.contains("metadata[0].metadata is a number"), "{text}");
    }

    #[test]
    fn breadcrumbs_are_read_only_when_all_strings() {
        assert_eq!(
            breadcrumb_of(&json!({"breadcrumb": ["properties", "id"]})),
            Some(vec!["properties".to_string(), "id".to_string()])
        );
        assert_eq!(breadcrumb_of(&json!({"breadcrumb": [1]})), None);
        assert_eq!(breadcrumb_of(&json!({})), None);
    }
}
