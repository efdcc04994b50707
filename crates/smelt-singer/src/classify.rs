//! Peeks at a Singer message's top-level `"type"` and `"stream"` without parsing the whole line.
//!
//! The relay must count records per stream at close to pipe speed, so it cannot afford a full JSON
//! parse of every record. This scanner walks only the top level of the object, skipping nested
//! values byte-wise (string-aware), and stops as soon as it knows the message type and, for
//! stream messages, the stream name. In practice `"type"` and `"stream"` come first, so a record
//! costs a few dozen bytes of scanning regardless of its size.

/// The kind of a Singer message, as far as the relay needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `RECORD`: one row of a stream.
    Record,
    /// `SCHEMA`: a stream's JSON schema.
    Schema,
    /// `STATE`: a bookmark the target echoes back once what came before it is durable.
    State,
    /// `ACTIVATE_VERSION`: full-table replication marker.
    ActivateVersion,
    /// `BATCH`: a batch-file message (Singer SDK extension).
    Batch,
    /// A JSON object with some other `"type"` value.
    Other,
}

/// What the classifier learned about one line. `stream` borrows the raw JSON string contents
/// (escapes left as written), which is enough to count by and cheap to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified<'a> {
    /// The message type.
    pub kind: MessageKind,
    /// The raw bytes of the top-level `"stream"` value, when present and a string.
    pub stream: Option<&'a [u8]>,
}

/// Why a line is not a Singer message (the relay forwards it anyway and reports it once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAMessage {
    /// The line is empty or only whitespace.
    Blank,
    /// The line is not a JSON object, or it is cut short.
    NotJsonObject,
    /// A JSON object without a string `"type"` member.
    NoType,
}

/// Classifies one line (without its trailing newline).
pub fn classify(line: &[u8]) -> Result<Classified<'_>, NotAMessage> {
    let mut s = Scanner { b: line, i: 0 };
    s.skip_ws();
    if s.i == line.len() {
        return Err(NotAMessage::Blank);
    }
    if !s.eat(b'{') {
        return Err(NotAMessage::NotJsonObject);
    }
    let mut kind: Option<MessageKind> = None;
    let mut stream: Option<&[u8]> = None;
    loop {
        s.skip_ws();
        if s.eat(b'}') {
            break;
        }
        let key = s.string().ok_or(NotAMessage::NotJsonObject)?;
        s.skip_ws();
        if !s.eat(b':') {
            return Err(NotAMessage::NotJsonObject);
        }
        s.skip_ws();
        match key {
            b"type" => match s.peek() {
                Some(b'"') => {
                    let v = s.string().ok_or(NotAMessage::NotJsonObject)?;
                    kind = Some(kind_of(v));
                }
                _ => s.skip_value().ok_or(NotAMessage::NotJsonObject)?,
            },
            b"stream" => match s.peek() {
                Some(b'"') => stream = Some(s.string().ok_or(NotAMessage::NotJsonObject)?),
                _ => s.skip_value().ok_or(NotAMessage::NotJsonObject)?,
            },
            _ => s.skip_value().ok_or(NotAMessage::NotJsonObject)?,
        }
        if let Some(k) = kind {
            if stream.is_some() || !has_stream(k) {
                return Ok(Classified { kind: k, stream });
            }
        }
        s.skip_ws();
        if s.eat(b',') {
            continue;
        }
        if s.eat(b'}') {
            break;
        }
        return Err(NotAMessage::NotJsonObject);
    }
    match kind {
        Some(kind) => Ok(Classified { kind, stream }),
        None => Err(NotAMessage::NoType),
    }
}

fn kind_of(v: &[u8]) -> MessageKind {
    match v {
        b"RECORD" => MessageKind::Record,
        b"SCHEMA" => MessageKind::Schema,
        b"STATE" => MessageKind::State,
        b"ACTIVATE_VERSION" => MessageKind::ActivateVersion,
        b"BATCH" => MessageKind::Batch,
        _ => MessageKind::Other,
    }
}

fn has_stream(k: MessageKind) -> bool {
    matches!(
        k,
        MessageKind::Record
            | MessageKind::Schema
            | MessageKind::ActivateVersion
            | MessageKind::Batch
    )
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.i += 1;
        }
    }

    /// Reads a JSON string and returns its raw contents (between the quotes).
    fn string(&mut self) -> Option<&'a [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        loop {
            let rel = memchr::memchr2(b'"', b'\\', &self.b[self.i..])?;
            self.i += rel;
            if self.b[self.i] == b'\\' {
                self.i += 2;
                if self.i > self.b.len() {
                    return None;
                }
            } else {
                let s = &self.b[start..self.i];
                self.i += 1;
                return Some(s);
            }
        }
    }

    /// Skips any JSON value, tracking nesting and strings but not validating scalars.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> (MessageKind, Option<String>) {
        let c = classify(line.as_bytes()).expect("classifies");
        (
            c.kind,
            c.stream.map(|s| String::from_utf8(s.to_vec()).unwrap()),
        )
    }

    #[test]
    fn record_with_type_first() {
        assert_eq!(
            ok(r#"{"type": "RECORD", "stream": "users", "record": {"id": 1}}"#),
            (MessageKind::Record, Some("users".into()))
        );
    }

    #[test]
    fn nested_type_key_is_not_the_message_type() {
        let line =
            r#"{"stream":"s","record":{"type":"SCHEMA","x":[1,{"stream":"no"}]},"type":"RECORD"}"#;
        assert_eq!(ok(line), (MessageKind::Record, Some("s".into())));
    }

    #[test]
    fn strings_with_braces_and_escaped_quotes_are_skipped() {
        let line = r#"{"record":{"a":"}\"{]","b":"\\"},"stream":"s\"q","type":"RECORD"}"#;
        assert_eq!(ok(line), (MessageKind::Record, Some(r#"s\"q"#.into())));
    }

    #[test]
    fn state_needs_no_stream() {
        assert_eq!(
            ok(r#"{"type":"STATE","value":{"bookmarks":{}}}"#),
            (MessageKind::State, None)
        );
    }

    #[test]
    fn scalars_and_other_types() {
        assert_eq!(
            ok(
                r#"{"version": 12, "ok": true, "n": null, "type": "ACTIVATE_VERSION", "stream": "a"}"#
            ),
            (MessageKind::ActivateVersion, Some("a".into()))
        );
        assert_eq!(ok(r#"{"type":"LOG"}"#), (MessageKind::Other, None));
    }

    #[test]
    fn not_messages() {
        assert_eq!(classify(b"   "), Err(NotAMessage::Blank));
        assert_eq!(classify(b"INFO hello"), Err(NotAMessage::NotJsonObject));
        assert_eq!(classify(br#"{"a":1}"#), Err(NotAMessage::NoType));
        assert_eq!(
            classify(br#"{"stream":"x","record":{"a":"#),
            Err(NotAMessage::NotJsonObject)
        );
        assert_eq!(
            classify(br#"{"type":"REC"#),
            Err(NotAMessage::NotJsonObject)
        );
        assert_eq!(classify(br#"{"a":"\"#), Err(NotAMessage::NotJsonObject));
    }

    #[test]
    fn schema_without_stream_still_classifies_at_end() {
        assert_eq!(
            ok(r#"{"type":"SCHEMA","schema":{}}"#),
            (MessageKind::Schema, None)
        );
    }
}
