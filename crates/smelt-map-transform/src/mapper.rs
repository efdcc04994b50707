//! The message loop: reads Singer messages, writes what the stream maps make of them, in input
//! order, one input message at a time.
//!
//! SCHEMA builds the stream's maps and writes one SCHEMA per kept map; RECORD, ACTIVATE_VERSION
//! and BATCH go through each map; STATE and unknown messages pass through unchanged. Lines are
//! split, not parsed: a record of a stream nothing changes is copied as bytes, and a mapped
//! record parses only the properties its expressions read.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

use crate::config::MapperConfig;
use crate::error::MapError;
use crate::raw::{as_str, split_message, split_object, Member};
use crate::record::{write_mapped, RecordError};
use crate::stream_map::{build_maps, MapKind, StreamMap};

/// The members of a Singer message the mapper reads; the rest are dropped, as the SDK does.
#[derive(Default)]
struct Envelope<'a> {
    kind: Option<&'a str>,
    stream: Option<&'a str>,
    record: Option<&'a str>,
    version: Option<&'a str>,
    time_extracted: Option<&'a str>,
    schema: Option<&'a str>,
    key_properties: Option<&'a str>,
    bookmark_properties: Option<&'a str>,
    encoding: Option<&'a str>,
    manifest: Option<&'a str>,
}

impl<'a> Envelope<'a> {
    fn from_members(members: &[Member<'a>]) -> Envelope<'a> {
        let mut e = Envelope::default();
        for (key, raw) in members {
            let raw = Some(*raw).filter(|r| *r != "null");
            match key.as_ref() {
                "type" => e.kind = raw,
                "stream" => e.stream = raw,
                "record" => e.record = raw,
                "version" => e.version = raw,
                "time_extracted" => e.time_extracted = raw,
                "schema" => e.schema = raw,
                "key_properties" => e.key_properties = raw,
                "bookmark_properties" => e.bookmark_properties = raw,
                "encoding" => e.encoding = raw,
                "manifest" => e.manifest = raw,
                _ => {}
            }
        }
        e
    }
}

/// A SCHEMA message as written.
#[derive(Serialize)]
struct SchemaOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    stream: &'a str,
    schema: &'a Map<String, Json>,
    key_properties: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    bookmark_properties: Option<&'a RawValue>,
}

/// Counts of what went through, for the closing log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MapStats {
    /// RECORD messages read.
    pub records_in: u64,
    /// RECORD messages written.
    pub records_out: u64,
}

/// Output is handed to the writer in blocks of about this size.
const FLUSH_AT: usize = 64 * 1024;

/// Maps every message from `input` to `output` with `config`.
pub fn map_stream(
    config: &MapperConfig,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> Result<MapStats, MapError> {
    let mut mapper = Mapper {
        config,
        streams: HashMap::new(),
        stats: MapStats::default(),
        out: Vec::with_capacity(FLUSH_AT + 4096),
    };
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = input.read_line(&mut line).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                MapError::Input {
                    line: number + 1,
                    message: "not valid UTF-8".to_string(),
                }
            } else {
                MapError::Read(e)
            }
        })?;
        if read == 0 {
            break;
        }
        number += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let mark = mapper.out.len();
        if let Err(e) = mapper.message(text) {
            // Nothing of a failed message is written.
            mapper.out.truncate(mark);
            output.write_all(&mapper.out).map_err(MapError::Write)?;
            let _ = output.flush();
            return Err(match e {
                Problem::Input(message) => MapError::Input {
                    line: number,
                    message,
                },
                Problem::Map(e) => e,
            });
        }
        if mapper.out.len() >= FLUSH_AT {
            output.write_all(&mapper.out).map_err(MapError::Write)?;
            mapper.out.clear();
        }
    }
    output.write_all(&mapper.out).map_err(MapError::Write)?;
    output.flush().map_err(MapError::Write)?;
    Ok(mapper.stats)
}

/// An input problem (reported with its line number) or a mapping failure.
enum Problem {
    Input(String),
    Map(MapError),
}

impl From<MapError> for Problem {
    fn from(e: MapError) -> Self {
        Problem::Map(e)
    }
}

struct Mapper<'c> {
    config: &'c MapperConfig,
    /// Input stream name -> its maps.
    streams: HashMap<String, StreamState>,
    stats: MapStats,
    out: Vec<u8>,
}

/// A stream's maps and the SCHEMA they were built from (a repeated identical SCHEMA keeps them).
struct StreamState {
    schema: Map<String, Json>,
    key_properties: Option<Vec<String>>,
    maps: Vec<StreamMap>,
}

impl Mapper<'_> {
    fn message(&mut self, text: &str) -> Result<(), Problem> {
        let (members, record) = split_message(text, "record")
            .map_err(|e| Problem::Input(format!("not a JSON Singer message: {e}")))?;
        let envelope = Envelope::from_members(&members);
        let kind = envelope
            .kind
            .and_then(as_str)
            .ok_or_else(|| Problem::Input("Singer message without a \"type\"".to_string()))?;
        match kind.as_ref() {
            "SCHEMA" => self.schema(&envelope),
            "RECORD" => self.record(text, &envelope, record),
            "ACTIVATE_VERSION" => self.activate_version(text, &envelope),
            "BATCH" => self.batch(text, &envelope),
            _ => {
                self.out.extend_from_slice(text.as_bytes());
                self.out.push(b'\n');
                Ok(())
            }
        }
    }

    fn schema(&mut self, envelope: &Envelope) -> Result<(), Problem> {
        let stream = stream_name(envelope, "SCHEMA")?;
        let schema = match envelope.schema.map(serde_json::from_str::<Json>) {
            Some(Ok(Json::Object(schema))) => schema,
            Some(Err(e)) => {
                return Err(Problem::Input(format!(
                    "SCHEMA for stream '{stream}': \"schema\" is not valid JSON: {e}"
                )))
            }
            _ => {
                return Err(Problem::Input(format!(
                    "SCHEMA for stream '{stream}' without a \"schema\" object"
                )))
            }
        };
        let key_properties = match envelope
            .key_properties
            .map(serde_json::from_str::<Vec<String>>)
        {
            None => Some(Vec::new()),
            Some(Ok(keys)) => Some(keys),
            Some(Err(_)) => {
                return Err(Problem::Input(format!(
                "SCHEMA for stream '{stream}': \"key_properties\" must be a list of property names"
            )))
            }
        };
        let bookmark_properties = match envelope.bookmark_properties {
            None => None,
            Some(raw) => Some(serde_json::from_str::<&RawValue>(raw).map_err(|e| {
                Problem::Input(format!(
                    "SCHEMA for stream '{stream}': bad \"bookmark_properties\": {e}"
                ))
            })?),
        };
        let unchanged = self
            .streams
            .get(stream.as_ref())
            .is_some_and(|s| s.schema == schema && s.key_properties == key_properties);
        if !unchanged {
            let maps = build_maps(self.config, &stream, &schema, &key_properties)?;
            self.streams.insert(
                stream.to_string(),
                StreamState {
                    schema,
                    key_properties,
                    maps,
                },
            );
        }
        for map in &self.streams[stream.as_ref()].maps {
            if matches!(map.kind, MapKind::Remove) {
                continue;
            }
            let message = SchemaOut {
                kind: "SCHEMA",
                stream: &map.alias,
                schema: &map.schema,
                key_properties: map.key_properties.as_deref().unwrap_or_default(),
                bookmark_properties,
            };
            serde_json::to_writer(&mut self.out, &message)
                .map_err(|e| Problem::Input(e.to_string()))?;
            self.out.push(b'\n');
        }
        Ok(())
    }

    fn record<'t>(
        &mut self,
        text: &'t str,
        envelope: &Envelope<'t>,
        mut members: Option<Vec<Member<'t>>>,
    ) -> Result<(), Problem> {
        let stream = stream_name(envelope, "RECORD")?;
        let raw = envelope.record.ok_or_else(|| {
            Problem::Input(format!("RECORD for stream '{stream}' without a \"record\""))
        })?;
        self.stats.records_in += 1;
        let state = maps_of(&self.streams, &stream, "RECORD")?;
        if let [only] = state.maps.as_slice() {
            if only.is_identity(&stream) {
                self.out.extend_from_slice(text.as_bytes());
                self.out.push(b'\n');
                self.stats.records_out += 1;
                return Ok(());
            }
        }
        for map in &state.maps {
            if matches!(map.kind, MapKind::Remove) {
                continue;
            }
            let out = &mut self.out;
            let mark = out.len();
            out.extend_from_slice(b"{\"type\":\"RECORD\",\"stream\":");
            out.extend_from_slice(map.alias_json.as_bytes());
            out.extend_from_slice(b",\"record\":");
            if map.keeps_records() {
                out.extend_from_slice(raw.as_bytes());
            } else {
                if members.is_none() {
                    members = Some(split_object(raw).map_err(|e| {
                        Problem::Input(format!(
                            "RECORD for stream '{stream}': \"record\" is not a JSON object: {e}"
                        ))
                    })?);
                }
                let fields = members.as_deref().unwrap_or_default();
                match write_mapped(self.config, map, raw, fields, out) {
                    Ok(true) => {}
                    Ok(false) => {
                        out.truncate(mark);
                        continue;
                    }
                    Err(RecordError::Map(e)) => return Err(Problem::Map(e)),
                    Err(RecordError::Input(message)) => {
                        return Err(Problem::Input(format!(
                            "RECORD for stream '{stream}': {message}"
                        )))
                    }
                }
            }
            if let Some(version) = envelope.version {
                out.extend_from_slice(b",\"version\":");
                out.extend_from_slice(version.as_bytes());
            }
            if let Some(time) = envelope.time_extracted {
                out.extend_from_slice(b",\"time_extracted\":");
                out.extend_from_slice(time.as_bytes());
            }
            out.extend_from_slice(b"}\n");
            self.stats.records_out += 1;
        }
        Ok(())
    }

    fn activate_version(&mut self, text: &str, envelope: &Envelope) -> Result<(), Problem> {
        let stream = stream_name(envelope, "ACTIVATE_VERSION")?;
        let version = envelope.version.ok_or_else(|| {
            Problem::Input(format!(
                "ACTIVATE_VERSION for stream '{stream}' without a \"version\""
            ))
        })?;
        let Some(state) = self.streams.get(stream.as_ref()) else {
            // No SCHEMA yet: nothing to rename it for; pass it on.
            self.out.extend_from_slice(text.as_bytes());
            self.out.push(b'\n');
            return Ok(());
        };
        for map in &state.maps {
            if matches!(map.kind, MapKind::Remove) {
                continue;
            }
            self.out
                .extend_from_slice(b"{\"type\":\"ACTIVATE_VERSION\",\"stream\":");
            self.out.extend_from_slice(map.alias_json.as_bytes());
            self.out.extend_from_slice(b",\"version\":");
            self.out.extend_from_slice(version.as_bytes());
            self.out.extend_from_slice(b"}\n");
        }
        Ok(())
    }

    fn batch(&mut self, text: &str, envelope: &Envelope) -> Result<(), Problem> {
        let stream = stream_name(envelope, "BATCH")?;
        let state = maps_of(&self.streams, &stream, "BATCH")?;
        for map in &state.maps {
            if matches!(map.kind, MapKind::Remove) {
                continue;
            }
            if !map.keeps_records() {
                return Err(Problem::Map(MapError::Schema {
                    stream: stream.to_string(),
                    message: format!(
                        "a BATCH message cannot go through map '{}', which changes records (only renaming, cloning and dropping streams work on BATCH files); turn batch output off in the tap",
                        map.alias
                    ),
                }));
            }
            if map.alias == stream {
                self.out.extend_from_slice(text.as_bytes());
                self.out.push(b'\n');
                continue;
            }
            let out = &mut self.out;
            out.extend_from_slice(b"{\"type\":\"BATCH\",\"stream\":");
            out.extend_from_slice(map.alias_json.as_bytes());
            for (name, value) in [
                ("encoding", envelope.encoding),
                ("manifest", envelope.manifest),
            ] {
                if let Some(value) = value {
                    out.extend_from_slice(b",\"");
                    out.extend_from_slice(name.as_bytes());
                    out.extend_from_slice(b"\":");
                    out.extend_from_slice(value.as_bytes());
                }
            }
            out.extend_from_slice(b"}\n");
        }
        Ok(())
    }
}

/// The message's stream name, which it must have.
fn stream_name<'e>(
    envelope: &Envelope<'e>,
    kind: &str,
) -> Result<std::borrow::Cow<'e, str>, Problem> {
    envelope
        .stream
        .and_then(as_str)
        .ok_or_else(|| Problem::Input(format!("{kind} message without a \"stream\" name")))
}

/// The maps of `stream`, which must have had its SCHEMA.
fn maps_of<'s>(
    streams: &'s HashMap<String, StreamState>,
    stream: &str,
    kind: &str,
) -> Result<&'s StreamState, Problem> {
    streams
        .get(stream)
        .ok_or_else(|| Problem::Input(format!("{kind} for stream '{stream}' before its SCHEMA")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(config: Json, input: &str) -> Result<String, MapError> {
        let config = MapperConfig::from_json(config.as_object().unwrap())?;
        let mut out = Vec::new();
        map_stream(&config, &mut input.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    const SCHEMA: &str = r#"{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":"string"},"n":{"type":["number","null"]}}},"key_properties":["id"]}"#;

    #[test]
    fn state_and_unknown_messages_pass_through_unchanged() {
        let input = format!("{SCHEMA}\n{{\"type\": \"STATE\", \"value\": {{\"a\": 1}}}}\n{{\"type\":\"CUSTOM\",\"x\":1}}\n");
        let out = run(json!({"stream_maps": {"s": {"__alias__": "t"}}}), &input).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], r#"{"type": "STATE", "value": {"a": 1}}"#);
        assert_eq!(lines[2], r#"{"type":"CUSTOM","x":1}"#);
    }

    #[test]
    fn computed_values_keep_python_semantics_and_untouched_values_their_text() {
        let input = format!(
            "{SCHEMA}\n{}\n",
            r#"{"type":"RECORD","stream":"s","record":{"id":1,"email":"A@x.io","n":10.50}}"#
        );
        let out = run(
            json!({"stream_maps": {"s": {"half": "id / 2", "twice": "n * 2", "low": "email.lower()"}}}),
            &input,
        )
        .unwrap();
        let record = out.lines().nth(1).unwrap();
        assert_eq!(
            record,
            r#"{"type":"RECORD","stream":"s","record":{"id":1,"email":"A@x.io","n":10.50,"half":0.5,"twice":21.00,"low":"a@x.io"}}"#
        );
    }

    #[test]
    fn errors_name_the_line_stream_property_and_column() {
        let record = r#"{"type":"RECORD","stream":"s","record":{"id":1,"email":"a"}}"#;
        let err = run(
            json!({"stream_maps": {"s": {"x": "email + 1"}}}),
            &format!("{SCHEMA}\n{record}\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("stream 's', property 'x': expression `email + 1` failed"),
            "{err}"
        );
        assert!(err.contains("column"), "{err}");

        let err = run(json!({"stream_maps": {}}), &format!("{record}\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "input line 1: RECORD for stream 's' before its SCHEMA");

        let err = run(json!({"stream_maps": {}}), "{\"type\":\"RECORD\",\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("input line 1: not a JSON Singer message"),
            "{err}"
        );

        let err = run(
            json!({"stream_maps": {"s": {"id": null}}}),
            &format!("{SCHEMA}\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("removes key property 'id'"), "{err}");

        let err = run(
            json!({"stream_maps": {"s": {"__key_properties__": ["nope"]}}}),
            &format!("{SCHEMA}\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("property 'nope' is not in the mapped schema"),
            "{err}"
        );
    }

    #[test]
    fn batch_is_renamed_for_a_rename_and_refused_for_a_computing_map() {
        let batch = r#"{"type":"BATCH","stream":"s","encoding":{"format":"jsonl"},"manifest":["file:///x"]}"#;
        let input = format!("{SCHEMA}\n{batch}\n");
        let out = run(json!({"stream_maps": {"s": {"__alias__": "t"}}}), &input).unwrap();
        assert_eq!(
            out.lines().nth(1).unwrap(),
            r#"{"type":"BATCH","stream":"t","encoding":{"format":"jsonl"},"manifest":["file:///x"]}"#
        );
        let err = run(json!({"stream_maps": {"s": {"h": "md5(email)"}}}), &input)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot go through map 's'"), "{err}");
    }

    #[test]
    fn a_changed_schema_rebuilds_the_maps() {
        let second = SCHEMA.replace(
            r#""n":{"type":["number","null"]}"#,
            r#""n":{"type":["number","null"]},"m":{"type":"string"}"#,
        );
        let out = run(
            json!({"stream_maps": {"s": {"c": "m"}}}),
            &format!("{SCHEMA}\n{second}\n"),
        )
        .unwrap();
        let schemas: Vec<Json> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            schemas[0]["schema"]["properties"]["c"],
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            schemas[1]["schema"]["properties"]["c"],
            json!({"type": ["string", "null"]})
        );
        assert!(schemas[1]["schema"]["properties"]["m"].is_object());
    }

    #[test]
    fn flattened_keys_that_repeat_keep_the_last_value_at_the_first_place() {
        let schema = r#"{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"a__b":{"type":"string"},"z":{"type":"integer"}}},"key_properties":[]}"#;
        let record =
            r#"{"type":"RECORD","stream":"s","record":{"a__b":"x","z":1,"a":{"b":"y","c":[1,2]}}}"#;
        let config =
            json!({"stream_maps": {}, "flattening_enabled": true, "flattening_max_depth": 2});
        let out = run(config, &format!("{schema}\n{record}\n")).unwrap();
        // What meltano-map-transform 0.12.3 writes for the same input.
        assert_eq!(
            out.lines().nth(1).unwrap(),
            r#"{"type":"RECORD","stream":"s","record":{"a__b":"y","z":1,"a__c":"[1,2]"}}"#
        );
    }

    #[test]
    fn names_that_need_escaping_are_escaped() {
        let record = r#"{"type":"RECORD","stream":"s","record":{"id":1,"a\"b":2,"email":"x"}}"#;
        let config = json!({"stream_maps": {"s": {"q\"uote": "id + 1", "email": null}}});
        let out = run(config.clone(), &format!("{SCHEMA}\n{record}\n")).unwrap();
        let line: Json = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
        assert_eq!(line["record"], json!({"id": 1, "a\"b": 2, "q\"uote": 2}));
        let mut flat = config;
        flat["flattening_enabled"] = json!(true);
        flat["flattening_max_depth"] = json!(1);
        let out = run(flat, &format!("{SCHEMA}\n{record}\n")).unwrap();
        let line: Json = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
        assert_eq!(line["record"], json!({"id": 1, "a\"b": 2, "q\"uote": 2}));
    }

    #[test]
    fn mangled_input_is_an_error_never_a_panic() {
        let lines = [
            SCHEMA,
            r#"{"type":"RECORD","stream":"s","record":{"id":1,"email":"a","n":{"x":[1,{"y":"}"}]}}}"#,
            r#"{"type":"STATE","value":{}}"#,
        ];
        let config = json!({"stream_maps": {"s": {"h": "md5(email)", "k": "str(n)"}}, "flattening_enabled": true, "flattening_max_depth": 3});
        let mut seed = 7u64;
        for _ in 0..3000 {
            let mut text: Vec<u8> = lines.join("\n").into_bytes();
            for _ in 0..3 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (seed >> 33) as usize % text.len();
                let byte = b"{}[]\":,\\ x1"[(seed >> 20) as usize % 11];
                match seed % 3 {
                    0 => text[at] = byte,
                    1 => text.insert(at, byte),
                    _ => {
                        text.remove(at);
                    }
                }
            }
            let input = String::from_utf8_lossy(&text).into_owned();
            let _ = run(config.clone(), &input);
        }
    }
}
