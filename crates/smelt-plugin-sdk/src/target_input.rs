//! A target's input loop, written once for every native target.
//!
//! [`run_input`] reads Singer lines, numbers them (blank lines count but are skipped), parses
//! each into a [`Message`] that borrows from the line, requires a `stream` where Singer does,
//! refuses BATCH (unless the target says otherwise), warns once per unknown message type and
//! hands everything else to the target's [`TargetHandler`]. A target therefore holds only what
//! it does with a SCHEMA, a RECORD and a STATE.
//!
//! The per-record cost is one `serde_json` pass over the line that keeps `record`, `schema`,
//! `key_properties` and `value` as raw JSON text, so a target can write a record out again, or
//! parse it into its own row format, without an intermediate `Value`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, Write};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::log;

/// One Singer message as a target reads it, borrowing from its input line.
///
/// It carries every field a target needs, including `time_extracted` and `version`, which
/// target-postgres' `_sdc_*` columns are made of; the rest of the line is skipped unparsed.
#[derive(Debug, Deserialize)]
pub struct Message<'a> {
    /// The `type` field, e.g. "RECORD".
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// The `stream` field of SCHEMA / RECORD / ACTIVATE_VERSION / BATCH messages.
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
    /// The `time_extracted` of a RECORD.
    #[serde(borrow, default)]
    pub time_extracted: Option<Cow<'a, str>>,
    /// The `version` of a RECORD or ACTIVATE_VERSION (an integer in Singer).
    #[serde(default)]
    pub version: Option<i64>,
}

impl Message<'_> {
    /// Parses one line (without its line ending).
    pub fn parse(line: &[u8]) -> Result<Message<'_>, serde_json::Error> {
        serde_json::from_slice(line)
    }
}

/// What a target does with each kind of Singer message. [`run_input`] calls these in input
/// order; `line` is the message's 1-based input line, for error messages.
///
/// Errors are the target's own type, so a target keeps its error enum (or `String`); the
/// loop's own failures ([`InputError`]) are converted into it.
pub trait TargetHandler {
    /// The target's error type.
    type Error: From<InputError>;

    /// The plugin's name (e.g. "target-jsonl"), for log lines and the BATCH refusal.
    fn name(&self) -> &str;

    /// A SCHEMA of `stream`.
    fn schema(
        &mut self,
        stream: &str,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), Self::Error>;

    /// A RECORD of `stream`: the hot path.
    fn record(
        &mut self,
        stream: &str,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), Self::Error>;

    /// A STATE (`message.value` may be missing; what that means is the target's choice).
    fn state(
        &mut self,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), Self::Error>;

    /// An ACTIVATE_VERSION of `stream`; ignored unless the target versions its tables.
    fn activate_version(
        &mut self,
        stream: &str,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), Self::Error> {
        let _ = (stream, message, line, out);
        Ok(())
    }

    /// A BATCH of `stream` (records in files): refused, naming what to change in the tap.
    fn batch(
        &mut self,
        stream: &str,
        message: &Message<'_>,
        line: u64,
        out: &mut dyn Write,
    ) -> Result<(), Self::Error> {
        let _ = (message, out);
        Err(InputError::BatchUnsupported {
            target: self.name().to_string(),
            stream: stream.to_string(),
            line,
        }
        .into())
    }

    /// Called after every message was handled, e.g. to commit when an interval has passed.
    fn after_message(&mut self, out: &mut dyn Write) -> Result<(), Self::Error> {
        let _ = out;
        Ok(())
    }
}

/// Why the input itself could not be read as Singer messages (the target's own failures are
/// its [`TargetHandler::Error`]). The text names the input line and leaves the plugin-name
/// prefix to the target.
#[derive(Debug)]
pub enum InputError {
    /// Reading stdin / `--input` failed.
    Read(io::Error),
    /// A line that is not a Singer message (not JSON, or no `type`).
    NotAMessage {
        /// 1-based input line.
        line: u64,
        /// What the JSON parser said.
        problem: String,
    },
    /// A message type that needs a `stream` came without one.
    NoStream {
        /// 1-based input line.
        line: u64,
        /// The message type, e.g. "RECORD".
        kind: String,
    },
    /// A BATCH message reached a target that reads only inline records.
    BatchUnsupported {
        /// The target's name.
        target: String,
        /// The stream of the BATCH.
        stream: String,
        /// 1-based input line.
        line: u64,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Read(e) => write!(f, "could not read the input: {e}"),
            InputError::NotAMessage { line, problem } => {
                write!(f, "input line {line} is not a Singer message: {problem}")
            }
            InputError::NoStream { line, kind } => {
                write!(f, "input line {line}: a {kind} message needs a `stream`")
            }
            InputError::BatchUnsupported {
                target,
                stream,
                line,
            } => write!(
                f,
                "{}: BATCH messages are not supported by {target}; turn off batch mode in the \
                 tap (e.g. remove its `batch_config`) so it sends RECORD messages",
                at_line(stream, *line)
            ),
        }
    }
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InputError::Read(e) => Some(e),
            _ => None,
        }
    }
}

impl From<InputError> for String {
    fn from(e: InputError) -> String {
        e.to_string()
    }
}

/// The usual context of a target's data error: `stream 's' (input line 7)`.
pub fn at_line(stream: &str, line: u64) -> String {
    format!("stream '{stream}' (input line {line})")
}

/// What [`run_input`] saw besides the messages it handed on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InputSummary {
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Messages of unknown types (warned about once per type), by type.
    pub ignored: BTreeMap<String, u64>,
}

/// Reads Singer messages from `input` until its end and hands each to `handler`, which may
/// write to `out` (STATE acknowledgements). Stops at the first error.
pub fn run_input<H: TargetHandler>(
    input: &mut dyn BufRead,
    handler: &mut H,
    out: &mut dyn Write,
) -> Result<InputSummary, H::Error> {
    let mut summary = InputSummary::default();
    let mut line = Vec::with_capacity(64 * 1024);
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .map_err(InputError::Read)?
            == 0
        {
            return Ok(summary);
        }
        summary.lines += 1;
        let number = summary.lines;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let message = Message::parse(text).map_err(|e| InputError::NotAMessage {
            line: number,
            problem: e.to_string(),
        })?;
        let stream = || {
            message
                .stream
                .as_deref()
                .ok_or_else(|| InputError::NoStream {
                    line: number,
                    kind: message.kind.to_string(),
                })
        };
        match message.kind.as_ref() {
            "RECORD" => handler.record(stream()?, &message, number, out)?,
            "SCHEMA" => handler.schema(stream()?, &message, number, out)?,
            "STATE" => handler.state(&message, number, out)?,
            "ACTIVATE_VERSION" => handler.activate_version(stream()?, &message, number, out)?,
            "BATCH" => handler.batch(stream()?, &message, number, out)?,
            other => {
                let count = summary.ignored.entry(other.to_string()).or_insert(0);
                *count += 1;
                if *count == 1 {
                    log::warn(&format!(
                        "{}: input line {number}: unknown message type '{other}' ignored",
                        handler.name()
                    ));
                }
            }
        }
        handler.after_message(out)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes what it is handed, one line per call, so tests see order, lines and fields.
    #[derive(Default)]
    struct Recorder {
        seen: Vec<String>,
        after: u64,
        fail_on_line: Option<u64>,
    }

    impl Recorder {
        fn note(&mut self, what: String, line: u64) -> Result<(), String> {
            if self.fail_on_line == Some(line) {
                return Err(format!("{}: refused", at_line("s", line)));
            }
            self.seen.push(format!("{line}: {what}"));
            Ok(())
        }
    }

    impl TargetHandler for Recorder {
        type Error = String;

        fn name(&self) -> &str {
            "target-test"
        }

        fn schema(
            &mut self,
            stream: &str,
            m: &Message<'_>,
            line: u64,
            _: &mut dyn Write,
        ) -> Result<(), String> {
            let keys = m.key_properties.map_or("-", |r| r.get());
            self.note(format!("SCHEMA {stream} keys={keys}"), line)
        }

        fn record(
            &mut self,
            stream: &str,
            m: &Message<'_>,
            line: u64,
            _: &mut dyn Write,
        ) -> Result<(), String> {
            let record = m.record.map_or("-", |r| r.get());
            let time = m.time_extracted.as_deref().unwrap_or("-");
            self.note(
                format!("RECORD {stream} {record} t={time} v={:?}", m.version),
                line,
            )
        }

        fn state(&mut self, m: &Message<'_>, line: u64, out: &mut dyn Write) -> Result<(), String> {
            let value = m.value.map_or("-", |r| r.get());
            writeln!(out, "{value}").map_err(|e| e.to_string())?;
            self.note(format!("STATE {value}"), line)
        }

        fn activate_version(
            &mut self,
            stream: &str,
            m: &Message<'_>,
            line: u64,
            _: &mut dyn Write,
        ) -> Result<(), String> {
            self.note(format!("ACTIVATE_VERSION {stream} v={:?}", m.version), line)
        }

        fn after_message(&mut self, _: &mut dyn Write) -> Result<(), String> {
            self.after += 1;
            Ok(())
        }
    }

    fn run(input: &str, handler: &mut Recorder) -> Result<(InputSummary, String), String> {
        let mut out = Vec::new();
        let summary = run_input(&mut input.as_bytes(), handler, &mut out)?;
        Ok((summary, String::from_utf8(out).unwrap()))
    }

    #[test]
    fn messages_are_numbered_dispatched_and_kept_raw() {
        let input = concat!(
            r#"{"type": "SCHEMA", "stream": "s", "schema": {}, "key_properties": ["id"]}"#,
            "\n\n   \r\n",
            r#"  {"type": "RECORD", "stream": "s\u00e9", "record": {"id": [ 1 ]}, "time_extracted": "2024-01-01T00:00:00Z", "version": 7, "extra": {"x": 1}}"#,
            "\r\n",
            r#"{"type": "ACTIVATE_VERSION", "stream": "s", "version": 7}"#,
            "\n",
            r#"{"type": "STATE", "value": {"b": 1}}"#,
        );
        let mut handler = Recorder::default();
        let (summary, out) = run(input, &mut handler).unwrap();
        assert_eq!(
            handler.seen,
            [
                r#"1: SCHEMA s keys=["id"]"#,
                r#"4: RECORD sé {"id": [ 1 ]} t=2024-01-01T00:00:00Z v=Some(7)"#,
                "5: ACTIVATE_VERSION s v=Some(7)",
                r#"6: STATE {"b": 1}"#,
            ]
        );
        assert_eq!(out, "{\"b\": 1}\n");
        assert_eq!(handler.after, 4, "the hook runs after each handled message");
        assert_eq!(summary.lines, 6);
        assert!(summary.ignored.is_empty());
    }

    #[test]
    fn unknown_types_are_counted_and_skipped() {
        let input =
            "{\"type\": \"PING\"}\n{\"type\": \"PING\"}\n{\"type\": \"NOTE\", \"stream\": \"s\"}\n";
        let mut handler = Recorder::default();
        let (summary, _) = run(input, &mut handler).unwrap();
        assert!(handler.seen.is_empty());
        let expected: BTreeMap<String, u64> = [("NOTE".to_string(), 1), ("PING".to_string(), 2)]
            .into_iter()
            .collect();
        assert_eq!(summary.ignored, expected);
    }

    #[test]
    fn input_problems_name_the_line() {
        let cases = [
            (
                "\nnot json",
                "input line 2 is not a Singer message: expected ident",
            ),
            (
                r#"{"stream": "s"}"#,
                "input line 1 is not a Singer message: missing field `type`",
            ),
            (
                r#"{"type": "RECORD", "version": "x"}"#,
                "input line 1 is not a Singer message: invalid type: string \"x\"",
            ),
            (
                r#"{"type": "RECORD", "record": {}}"#,
                "input line 1: a RECORD message needs a `stream`",
            ),
            (
                r#"{"type": "SCHEMA", "schema": {}}"#,
                "input line 1: a SCHEMA message needs a `stream`",
            ),
            (
                r#"{"type": "ACTIVATE_VERSION"}"#,
                "input line 1: a ACTIVATE_VERSION message needs a `stream`",
            ),
            (
                "{\"type\": \"STATE\"}\n{\"type\": \"BATCH\", \"stream\": \"s\"}",
                "stream 's' (input line 2): BATCH messages are not supported by target-test; turn \
                 off batch mode in the tap",
            ),
        ];
        for (input, expected) in cases {
            let err = run(input, &mut Recorder::default()).unwrap_err();
            assert!(err.starts_with(expected), "{input:?}: {err}");
        }
    }

    #[test]
    fn the_first_handler_error_stops_the_input() {
        let input = "{\"type\": \"STATE\", \"value\": 1}\n{\"type\": \"STATE\", \"value\": 2}\n{\"type\": \"STATE\", \"value\": 3}\n";
        let mut handler = Recorder {
            fail_on_line: Some(2),
            ..Recorder::default()
        };
        let err = run(input, &mut handler).unwrap_err();
        assert_eq!(err, "stream 's' (input line 2): refused");
        assert_eq!(handler.seen, ["1: STATE 1"]);
        assert_eq!(handler.after, 1, "no hook after a failed message");
    }

    #[test]
    fn read_failures_are_reported() {
        struct Broken;
        impl io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut input = io::BufReader::new(Broken);
        let err = run_input(&mut input, &mut Recorder::default(), &mut Vec::new()).unwrap_err();
        assert_eq!(err, "could not read the input: disk on fire");
    }
}
