//! Assembling RECORD lines for one stream into a reused buffer.
//!
//! The fixed parts (`{"type":"RECORD","stream":...,"record":{`, each `"column":` key and the
//! `time_extracted` tail) are escaped once per stream, so a row costs only its values.

use super::coerce::Coercion;
use smelt_plugin_sdk::json_write::write_str;

/// One emitted column: its position in the file's row (if the file has it), its escaped key
/// and how to write its value.
#[derive(Debug, Clone)]
pub(crate) struct OutputColumn {
    /// `"name":`, escaped.
    key: Vec<u8>,
    /// How to write the value.
    coercion: Coercion,
}

impl OutputColumn {
    /// Describes an emitted column.
    pub(crate) fn new(name: &str, coercion: Coercion) -> Self {
        let mut key = Vec::with_capacity(name.len() + 3);
        write_str(&mut key, name);
        key.push(b':');
        OutputColumn { key, coercion }
    }
}

/// Builds RECORD lines for one stream.
#[derive(Debug)]
pub(crate) struct RecordWriter {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
    line: Vec<u8>,
}

impl RecordWriter {
    /// Prepares the fixed parts for `stream`, stamped with `time_extracted`.
    pub(crate) fn new(stream: &str, time_extracted: &str) -> Self {
        let mut prefix = b"{\"type\":\"RECORD\",\"stream\":".to_vec();
        write_str(&mut prefix, stream);
        prefix.extend_from_slice(b",\"record\":{");
        let mut writer = RecordWriter {
            prefix,
            suffix: Vec::new(),
            line: Vec::with_capacity(4096),
        };
        writer.set_time_extracted(time_extracted);
        writer
    }

    /// Changes the `time_extracted` stamp of the following records.
    pub(crate) fn set_time_extracted(&mut self, time_extracted: &str) {
        self.suffix.clear();
        self.suffix.extend_from_slice(b"},\"time_extracted\":");
        write_str(&mut self.suffix, time_extracted);
        self.suffix.extend_from_slice(b"}\n");
    }

    /// Builds one line from `(column, value)` pairs, `None` meaning the file lacks the column.
    pub(crate) fn build<'a>(
        &mut self,
        values: impl Iterator<Item = (&'a OutputColumn, Option<&'a str>)>,
    ) -> &[u8] {
        self.line.clear();
        self.line.extend_from_slice(&self.prefix);
        let mut first = true;
        for (column, value) in values {
            if !first {
                self.line.push(b',');
            }
            first = false;
            self.line.extend_from_slice(&column.key);
            match value {
                Some(raw) => column.coercion.write(&mut self.line, raw),
                None => self.line.extend_from_slice(b"null"),
            }
        }
        self.line.extend_from_slice(&self.suffix);
        &self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn builds_valid_record_lines() {
        let columns = [
            OutputColumn::new("id", Coercion::STRING),
            OutputColumn::new("we\"ird", Coercion::STRING),
            OutputColumn::new("n", Coercion::from_schema(&json!({"type": "integer"}))),
        ];
        let mut writer = RecordWriter::new("my \"stream\"", "2024-01-01T00:00:00Z");
        let values = [Some("1"), Some("a\nb"), None];
        let line = writer.build(columns.iter().zip(values)).to_vec();
        assert_eq!(line.last(), Some(&b'\n'));
        let parsed: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(
            parsed,
            json!({"type": "RECORD", "stream": "my \"stream\"",
                   "record": {"id": "1", "we\"ird": "a\nb", "n": null},
                   "time_extracted": "2024-01-01T00:00:00Z"})
        );
        writer.set_time_extracted("later");
        let line = writer.build(columns.iter().zip([Some("2"), Some(""), Some("5")]));
        let parsed: Value = serde_json::from_slice(line).unwrap();
        assert_eq!(parsed["record"]["n"], 5);
        assert_eq!(parsed["time_extracted"], "later");
    }
}
