//! Singer message types as they appear on the wire.
//!
//! Taps write SCHEMA and STATE through the typed structs here (RECORDs are hot and are
//! assembled directly into a reused buffer by each tap). Targets read every line through
//! [`crate::target_input::Message`], which borrows from the line and keeps `record`, `schema`
//! and `value` as raw JSON.

use serde::Serialize;
use serde_json::Value;

/// A SCHEMA message written by a tap.
#[derive(Debug, Serialize)]
pub struct SchemaMessage<'a> {
    /// Always "SCHEMA".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The stream the schema describes.
    pub stream: &'a str,
    /// The JSON schema of the stream's records.
    pub schema: &'a Value,
    /// The stream's primary key columns.
    pub key_properties: &'a [String],
    /// The replication key, when the stream is incremental.
    pub bookmark_properties: &'a [String],
}

impl<'a> SchemaMessage<'a> {
    /// Builds a SCHEMA message.
    pub fn new(
        stream: &'a str,
        schema: &'a Value,
        key_properties: &'a [String],
        bookmark_properties: &'a [String],
    ) -> Self {
        SchemaMessage {
            kind: "SCHEMA",
            stream,
            schema,
            key_properties,
            bookmark_properties,
        }
    }
}

/// A STATE message written by a tap.
#[derive(Debug, Serialize)]
pub struct StateMessage<'a> {
    /// Always "STATE".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The bare Singer state.
    pub value: &'a Value,
}

impl<'a> StateMessage<'a> {
    /// Builds a STATE message.
    pub fn new(value: &'a Value) -> Self {
        StateMessage {
            kind: "STATE",
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tap_messages_serialize_in_singer_shape() {
        let schema = json!({"type": "object", "properties": {}});
        let keys = vec!["id".to_string()];
        let text = serde_json::to_string(&SchemaMessage::new("s", &schema, &keys, &[])).unwrap();
        assert_eq!(
            text,
            r#"{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{}},"key_properties":["id"],"bookmark_properties":[]}"#
        );
        let state = json!({"bookmarks": {}});
        let text = serde_json::to_string(&StateMessage::new(&state)).unwrap();
        assert_eq!(text, r#"{"type":"STATE","value":{"bookmarks":{}}}"#);
    }
}
