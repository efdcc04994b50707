//! One stream: its table, its columns and the COPY data (text, or binary when every column
//! has a binary encoder) of the records not yet loaded.
//!
//! Each RECORD is parsed once: its properties are matched to columns by name (the previous
//! record's order is tried first) and their JSON text is written straight into the batch
//! buffer in that format.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::binary;
use crate::encode::{self, EncodeError, NulPolicy};
use crate::table::TableSpec;
use crate::types::{ColumnType, Encoding};

/// The `_sdc_*` columns of `add_record_metadata`, in MeltanoLabs' order, with their types.
pub const METADATA: [(&str, &str); 7] = [
    ("_sdc_extracted_at", "timestamp without time zone"),
    ("_sdc_received_at", "timestamp without time zone"),
    ("_sdc_batched_at", "timestamp without time zone"),
    ("_sdc_deleted_at", "timestamp without time zone"),
    ("_sdc_sequence", "bigint"),
    ("_sdc_table_version", "bigint"),
    ("_sdc_sync_started_at", "bigint"),
];

/// Where a column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The record's property of the column's name (also `_sdc_deleted_at`).
    Property,
    /// The RECORD message's `time_extracted`.
    ExtractedAt,
    /// When the target read the record.
    ReceivedAt,
    /// When the record's batch began.
    BatchedAt,
    /// A number increasing with time (milliseconds since the epoch, as the SDK writes).
    Sequence,
    /// The RECORD message's `version`.
    TableVersion,
    /// When the run began (milliseconds since the epoch).
    SyncStartedAt,
}

/// One column the stream writes.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name, as in the stream (PostgreSQL gets it quoted, unchanged).
    pub name: String,
    /// Its type: the table's, when the column exists, else from the JSON schema.
    pub ty: ColumnType,
    /// Where its value comes from.
    pub source: Source,
}

/// Times the `_sdc_*` columns need, rendered once per millisecond.
#[derive(Debug, Default)]
pub struct Clock {
    millis: i64,
    micros: i64,
    text: String,
    /// When the run began, in milliseconds since the epoch.
    pub started_millis: i64,
}

impl Clock {
    /// A clock for a run starting now.
    pub fn start() -> Clock {
        let mut clock = Clock::default();
        let _ = clock.tick();
        clock.started_millis = clock.millis;
        clock
    }

    /// Read the time; the current millisecond, the time in microseconds since PostgreSQL's
    /// epoch and as text (both as of the millisecond's first reading).
    pub fn tick(&mut self) -> (i64, i64, &str) {
        let now = chrono::Utc::now();
        let millis = now.timestamp_millis();
        if millis != self.millis || self.text.is_empty() {
            self.millis = millis;
            self.micros = binary::pg_micros(&now.naive_utc());
            let mut text = Vec::with_capacity(32);
            encode::naive_into(&mut text, &now.naive_utc());
            self.text = String::from_utf8(text).unwrap_or_default();
        }
        (self.millis, self.micros, &self.text)
    }
}

/// A stream's state in the target.
#[derive(Debug)]
pub struct Stream {
    /// The stream name.
    pub name: String,
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub table: String,
    /// The columns written, in COPY order.
    pub columns: Vec<Column>,
    /// Key property column indexes (empty: append).
    pub keys: Vec<usize>,
    /// `required` property column indexes.
    required: Vec<usize>,
    /// Property name → column index.
    index: HashMap<String, usize>,
    /// COPY text of the batch's rows not yet handed to the loader.
    pub buf: Vec<u8>,
    /// Rows in the batch.
    pub rows: u64,
    /// Rows in `buf`.
    pub unsent_rows: u64,
    /// Where in `buf` (offset, rows before it) the first row whose key repeats in the batch
    /// begins, until handed over.
    pub repeat_at: Option<(usize, u64)>,
    /// Whether the loader has begun this stream's batch.
    pub started: bool,
    /// Input line of each row in the batch, for error messages.
    pub lines: Vec<u64>,
    /// Hashes of the keys seen in this batch (keyed streams). A collision only makes the
    /// batch take the staging path, which is correct for any batch.
    seen: HashSet<u64>,
    /// The hasher of `seen`'s keys.
    hash_keys: std::collections::hash_map::RandomState,
    /// Whether any column is an `_sdc_*` column the target fills (the clock is read then).
    timed: bool,
    /// Whether a key repeats within this batch (the merge must keep the last).
    pub duplicates: bool,
    /// Text of `_sdc_batched_at` for the batch.
    batched_at: String,
    /// `_sdc_batched_at` in microseconds since PostgreSQL's epoch.
    batched_at_micros: i64,
    /// Whether rows are written in binary COPY format (every column has a binary encoder).
    pub binary: bool,
    /// Whether the table was emptied for `load_method: overwrite` in this run.
    pub overwritten: bool,
    /// The SCHEMA message's `schema` and `key_properties` text, to notice a repeat.
    pub signature: String,
    /// Column slots of the record being written (ranges into its JSON text).
    slots: Vec<Option<(usize, usize)>>,
    /// Where the next property was found in the previous record.
    hint: Vec<usize>,
}

/// A SCHEMA message's content, read and checked.
pub struct SchemaSpec {
    /// `properties`, in order.
    pub properties: serde_json::Map<String, Value>,
    /// `key_properties`.
    pub keys: Vec<String>,
    /// `required`.
    pub required: Vec<String>,
}

impl SchemaSpec {
    /// Read a SCHEMA message's `schema` and `key_properties`; errors name the stream.
    pub fn parse(
        stream: &str,
        schema: Option<&RawValue>,
        keys: Option<&RawValue>,
    ) -> Result<SchemaSpec, String> {
        let schema: Value = match schema {
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| e.to_string())?,
            None => return Err(format!("the SCHEMA of stream `{stream}` has no `schema`")),
        };
        let properties = match schema.get("properties") {
            Some(Value::Object(p)) => p.clone(),
            _ => {
                return Err(format!(
                    "the schema of stream `{stream}` does not define `properties` (an object \
                     of column schemas), so there are no columns to create"
                ))
            }
        };
        let keys: Vec<String> = match keys {
            None => Vec::new(),
            Some(raw) => serde_json::from_str::<Option<Vec<String>>>(raw.get())
                .map_err(|_| {
                    format!(
                        "the `key_properties` of stream `{stream}` must be a list of property \
                         names, found {}",
                        raw.get()
                    )
                })?
                .unwrap_or_default(),
        };
        for key in &keys {
            if !properties.contains_key(key) {
                return Err(format!(
                    "key property `{key}` of stream `{stream}` is not among its schema's \
                     properties"
                ));
            }
        }
        let required = match schema.get("required") {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        Ok(SchemaSpec {
            properties,
            keys,
            required,
        })
    }
}

/// PostgreSQL's identifier limit (longer names are silently cut, which could merge columns).
pub const MAX_IDENTIFIER: usize = 63;

/// Refuse a name PostgreSQL cannot hold unchanged.
pub fn check_identifier(stream: &str, what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("stream `{stream}`: the {what} name is empty"));
    }
    if name.len() > MAX_IDENTIFIER {
        return Err(format!(
            "stream `{stream}`: the {what} name `{name}` is {} bytes long; PostgreSQL keeps only \
             {MAX_IDENTIFIER} (rename it, e.g. with a mapper)",
            name.len()
        ));
    }
    if name.contains('\0') {
        return Err(format!(
            "stream `{stream}`: the {what} name contains a NUL character"
        ));
    }
    Ok(())
}

impl Stream {
    /// A stream writing `spec`'s properties (plus the `_sdc_*` columns when `metadata`) into
    /// `schema`.`table`, whose existing columns (name → type) are `existing`.
    pub fn new(
        name: &str,
        schema: String,
        table: String,
        spec: &SchemaSpec,
        existing: &HashMap<String, String>,
        metadata: bool,
    ) -> Result<Stream, String> {
        check_identifier(name, "schema", &schema)?;
        check_identifier(name, "table", &table)?;
        let column_type = |col: &str, json: Option<&Value>| match existing.get(col) {
            Some(sql) => ColumnType::from_catalog(sql),
            None => match json {
                Some(j) => ColumnType::from_schema(j),
                None => ColumnType::from_catalog(
                    METADATA
                        .iter()
                        .find(|(n, _)| *n == col)
                        .map_or("text", |(_, t)| t),
                ),
            },
        };
        let mut columns = Vec::new();
        for (prop, json) in &spec.properties {
            check_identifier(name, "column", prop)?;
            columns.push(Column {
                name: prop.clone(),
                ty: column_type(prop, Some(json)),
                source: Source::Property,
            });
        }
        if metadata {
            for (col, _) in METADATA {
                if spec.properties.contains_key(col) {
                    continue;
                }
                let source = match col {
                    "_sdc_extracted_at" => Source::ExtractedAt,
                    "_sdc_received_at" => Source::ReceivedAt,
                    "_sdc_batched_at" => Source::BatchedAt,
                    "_sdc_deleted_at" => Source::Property,
                    "_sdc_sequence" => Source::Sequence,
                    "_sdc_table_version" => Source::TableVersion,
                    _ => Source::SyncStartedAt,
                };
                columns.push(Column {
                    name: col.to_string(),
                    ty: column_type(col, None),
                    source,
                });
            }
        }
        let index: HashMap<String, usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.source == Source::Property)
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        let position = |n: &String| index[n];
        let keys = spec.keys.iter().map(position).collect();
        let required = spec
            .required
            .iter()
            .filter(|n| index.contains_key(*n))
            .map(position)
            .collect();
        let n = columns.len();
        let timed = columns.iter().any(|c| c.source != Source::Property);
        let columns_binary = columns.iter().all(|c| c.ty.binary.is_some());
        Ok(Stream {
            name: name.to_string(),
            schema,
            table,
            columns,
            keys,
            required,
            index,
            buf: Vec::new(),
            rows: 0,
            unsent_rows: 0,
            repeat_at: None,
            started: false,
            lines: Vec::new(),
            seen: HashSet::new(),
            hash_keys: std::collections::hash_map::RandomState::new(),
            timed,
            duplicates: false,
            batched_at: String::new(),
            batched_at_micros: 0,
            binary: columns_binary,
            overwritten: false,
            signature: String::new(),
            slots: vec![None; n],
            hint: (0..n).collect(),
        })
    }

    /// The table as the loader needs it.
    pub fn spec(&self) -> TableSpec {
        TableSpec {
            stream: self.name.clone(),
            schema: self.schema.clone(),
            table: self.table.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.sql.clone()))
                .collect(),
            keys: self
                .keys
                .iter()
                .map(|&k| self.columns[k].name.clone())
                .collect(),
            binary: self.binary,
        }
    }

    /// Forget the loaded batch (after its transaction committed).
    pub fn clear_batch(&mut self) {
        self.buf.clear();
        self.rows = 0;
        self.unsent_rows = 0;
        self.repeat_at = None;
        self.started = false;
        self.lines.clear();
        self.seen.clear();
        self.duplicates = false;
    }

    /// Append one RECORD's row. `line` is its input line (for messages).
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        record: &RawValue,
        time_extracted: Option<&str>,
        version: Option<i64>,
        line: u64,
        clock: &mut Clock,
        nul: NulPolicy,
        validate: bool,
    ) -> Result<(), String> {
        let text = record.get();
        let at = |what: String| {
            format!(
                "stream `{}`, record on input line {line}: {what}",
                self.name
            )
        };
        if !text.starts_with('{') {
            return Err(at(format!("the record is not a JSON object: {text:.80}")));
        }
        self.slots.iter_mut().for_each(|s| *s = None);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        SlotSeed {
            base: text.as_ptr() as usize,
            index: &self.index,
            columns: &self.columns,
            slots: &mut self.slots,
            hint: &mut self.hint,
            next: 0,
        }
        .deserialize(&mut deserializer)
        .map_err(|e| at(format!("the record is not valid JSON: {e}")))?;
        let slot = |i: usize| self.slots[i].map(|(a, b)| &text[a..b]);
        for &k in &self.keys {
            if slot(k).is_none_or(|v| v == "null") {
                return Err(at(format!(
                    "key property `{}` is missing or null",
                    self.columns[k].name
                )));
            }
        }
        if validate {
            for &r in &self.required {
                if slot(r).is_none() {
                    return Err(at(format!(
                        "required property `{}` is missing (the schema lists it in \
                         `required`; set validate_records to false to load it as NULL)",
                        self.columns[r].name
                    )));
                }
            }
        }
        if !self.keys.is_empty() {
            use std::hash::{BuildHasher, Hasher};
            let mut hasher = self.hash_keys.build_hasher();
            for &k in &self.keys {
                hasher.write(slot(k).unwrap_or("").as_bytes());
                hasher.write_u8(0);
            }
            if !self.seen.insert(hasher.finish()) && !self.duplicates {
                self.duplicates = true;
                self.repeat_at = Some((self.buf.len(), self.unsent_rows));
            }
        }
        let started = clock.started_millis;
        let (millis, micros, now) = if self.timed { clock.tick() } else { (0, 0, "") };
        if self.rows == 0 {
            self.batched_at = now.to_string();
            self.batched_at_micros = micros;
        }
        let row_start = self.buf.len();
        if self.binary {
            let row = BinaryRow {
                time_extracted,
                version,
                millis,
                micros,
                now,
                started,
                nul,
            };
            let written = binary_row(
                &mut self.buf,
                &self.columns,
                &self.slots,
                text,
                (self.batched_at_micros, &self.batched_at),
                &row,
            );
            if let Err((column, e)) = written {
                self.buf.truncate(row_start);
                let column = &self.columns[column];
                let name = &column.name;
                // Worded as when the server refuses a text COPY value.
                return Err(match e {
                    EncodeError::Invalid(why) => format!(
                        "stream `{}`, record on input line {line}, property `{name}` (column \
                         type {}): PostgreSQL would refuse the value: {why}",
                        self.name, column.ty.sql
                    ),
                    e => at(format!("property `{name}`: {e}")),
                });
            }
            self.rows += 1;
            self.unsent_rows += 1;
            self.lines.push(line);
            return Ok(());
        }
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                self.buf.push(b'\t');
            }
            let out = &mut self.buf;
            match column.source {
                Source::Property => {
                    let raw = self.slots[i].map(|(a, b)| &text[a..b]);
                    if let Err(e) = encode::value(out, raw, column.ty.encoding, nul) {
                        self.buf.truncate(row_start);
                        return Err(at(format!("property `{}`: {e}", column.name)));
                    }
                }
                Source::ExtractedAt => match time_extracted {
                    Some(t) if column.ty.encoding == Encoding::Timestamp => {
                        encode::timestamp_into(out, t)
                    }
                    Some(t) => encode::escape_into(out, t.as_bytes()),
                    None => out.extend_from_slice(encode::NULL),
                },
                Source::ReceivedAt => out.extend_from_slice(now.as_bytes()),
                Source::BatchedAt => out.extend_from_slice(self.batched_at.as_bytes()),
                Source::Sequence => push_int(out, millis),
                Source::TableVersion => match version {
                    Some(v) => push_int(out, v),
                    None => out.extend_from_slice(encode::NULL),
                },
                Source::SyncStartedAt => push_int(out, started),
            }
        }
        self.rows += 1;
        self.unsent_rows += 1;
        self.buf.push(b'\n');
        self.lines.push(line);
        Ok(())
    }
}

/// What a binary row needs besides the record.
struct BinaryRow<'a> {
    time_extracted: Option<&'a str>,
    version: Option<i64>,
    millis: i64,
    micros: i64,
    now: &'a str,
    started: i64,
    nul: NulPolicy,
}

/// Append a record (`text`, its column `slots` filled) as a binary COPY row; on failure the
/// column's index and why (the caller drops the partial row).
fn binary_row(
    out: &mut Vec<u8>,
    columns: &[Column],
    slots: &[Option<(usize, usize)>],
    text: &str,
    (batched_micros, batched_text): (i64, &str),
    row: &BinaryRow<'_>,
) -> Result<(), (usize, EncodeError)> {
    binary::row_start(out, columns.len());
    for (i, column) in columns.iter().enumerate() {
        let kind = column.ty.binary.unwrap_or(binary::Binary::Text);
        let written = match column.source {
            Source::Property => {
                let raw = slots[i].map(|(a, b)| &text[a..b]);
                binary::value(out, raw, kind, row.nul)
            }
            Source::ExtractedAt => match row.time_extracted {
                Some(t) => binary::str_value(out, kind, t),
                None => {
                    binary::null(out);
                    Ok(())
                }
            },
            Source::ReceivedAt => binary::time_value(out, kind, row.micros, row.now),
            Source::BatchedAt => binary::time_value(out, kind, batched_micros, batched_text),
            Source::Sequence => binary::int_value(out, kind, row.millis),
            Source::TableVersion => match row.version {
                Some(v) => binary::int_value(out, kind, v),
                None => {
                    binary::null(out);
                    Ok(())
                }
            },
            Source::SyncStartedAt => binary::int_value(out, kind, row.started),
        };
        written.map_err(|e| (i, e))?;
    }
    Ok(())
}

/// Append a whole number's digits (no allocation: this runs for every record).
fn push_int(out: &mut Vec<u8>, n: i64) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

/// Fills a stream's column slots from one record object.
struct SlotSeed<'s> {
    base: usize,
    index: &'s HashMap<String, usize>,
    columns: &'s [Column],
    slots: &'s mut [Option<(usize, usize)>],
    hint: &'s mut [usize],
    next: usize,
}

/// A property name, borrowed unless it had escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> DeserializeSeed<'de> for SlotSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SlotSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            // Records of a stream usually list their properties in the same order.
            let column = match self.hint.get(self.next).copied() {
                Some(g)
                    if self.columns[g].source == Source::Property
                        && self.columns[g].name == key.as_ref() =>
                {
                    Some(g)
                }
                _ => self.index.get(key.as_ref()).copied(),
            };
            if let Some(c) = column {
                let start = value.get().as_ptr() as usize - self.base;
                self.slots[c] = Some((start, start + value.get().len()));
                if let Some(h) = self.hint.get_mut(self.next) {
                    *h = c;
                }
                self.next += 1;
            }
        }
        Ok(())
    }
}
