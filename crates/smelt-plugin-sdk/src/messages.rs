//! Singer message types as they appear on the wire.
//!
//! Taps write SCHEMA and STATE through the typed structs here (RECORDs are hot and are
//! assembled directly into a reused buffer by each tap). Targets read every line through
//! [`Envelope`], which borrows from the line and keeps `record`, `schema` and `value` as raw
//! JSON so a record can be written out again without being re-serialized.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
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

/// The kinds of Singer message a target can receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageType {
    /// Describes a stream.
    Schema,
    /// One row of a stream.
    Record,
    /// A checkpoint to acknowledge once everything before it is stored.
    State,
    /// Table versioning (full-table replication); targets may ignore it.
    ActivateVersion,
    /// A pointer to batch files instead of inline records.
    Batch,
    /// Anything else, kept for the error message.
    Other(String),
}

impl MessageType {
    fn from_name(name: &str) -> Self {
        match name {
            "SCHEMA" => MessageType::Schema,
            "RECORD" => MessageType::Record,
            "STATE" => MessageType::State,
            "ACTIVATE_VERSION" => MessageType::ActivateVersion,
            "BATCH" => MessageType::Batch,
            other => MessageType::Other(other.to_string()),
        }
    }
}

/// One Singer message as read by a target, borrowing from its input line.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// The `type` field, e.g. "RECORD".
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// The `stream` field of SCHEMA / RECORD / BATCH messages.
    #[serde(borrow, default)]
    pub stream: Option<Cow<'a, str>>,
    /// The `record` of a RECORD, untouched.
    #[serde(borrow, default)]
    pub record: Option<&'a RawValue>,
    /// The `schema` of a SCHEMA, untouched.
    #[serde(borrow, default)]
    pub schema: Option<&'a RawValue>,
    /// The `key_properties` of a SCHEMA, untouched.
    #[serde(borrow, default)]
    pub key_properties: Option<&'a RawValue>,
    /// The `value` of a STATE, untouched.
    #[serde(borrow, default)]
    pub value: Option<&'a RawValue>,
}

impl Envelope<'_> {
    /// Parses one line (without its newline).
    pub fn parse(line: &[u8]) -> Result<Envelope<'_>, serde_json::Error> {
        serde_json::from_slice(line)
    }

    /// The message kind.
    pub fn message_type(&self) -> MessageType {
        MessageType::from_name(&self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_keeps_raw_record_bytes() {
        let line =
            br#"{"type": "RECORD", "stream": "s\u00e9", "record": {"a": [ 1, 2 ]}, "extra": 1}"#;
        let env = Envelope::parse(line).unwrap();
        assert_eq!(env.message_type(), MessageType::Record);
        assert_eq!(env.stream.as_deref(), Some("sé"));
        assert_eq!(env.record.unwrap().get(), r#"{"a": [ 1, 2 ]}"#);
        assert!(env.schema.is_none() && env.value.is_none());
    }

    #[test]
    fn envelope_types() {
        for (name, expected) in [
            ("SCHEMA", MessageType::Schema),
            ("STATE", MessageType::State),
            ("ACTIVATE_VERSION", MessageType::ActivateVersion),
            ("BATCH", MessageType::Batch),
            ("PING", MessageType::Other("PING".to_string())),
        ] {
            let line = format!(r#"{{"type": "{name}"}}"#);
            assert_eq!(
                Envelope::parse(line.as_bytes()).unwrap().message_type(),
                expected
            );
        }
        assert!(Envelope::parse(br#"{"stream": "x"}"#).is_err());
        assert!(Envelope::parse(b"not json").is_err());
    }

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
