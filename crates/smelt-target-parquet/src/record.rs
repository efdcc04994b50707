//! Reading one RECORD's JSON straight into column cells.
//!
//! Building a `serde_json::Value` per record (an ordered map, a string per key and value) cost
//! more than everything else the target does. Instead the record is deserialized with the
//! stream's [`Node`] tree as the guide: each property is looked up once, its value converted
//! for its column on the spot, unknown properties skipped without being built. Values of
//! unusual shape (JSON columns, partition columns, mismatches) go through a `Value` and
//! [`convert`], so the error words are the same on every path.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use smelt_plugin_sdk::json_type_name;

use crate::columns::{ColumnType, Layout, Node, Slot};
use crate::convert::{convert, parse_date, parse_timestamp, Cell};

/// A record that could not be stored: which property (if one) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordProblem {
    /// The property (`a.b` for nested ones, the column name for flattened ones).
    pub property: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl RecordProblem {
    /// A problem with one property.
    pub fn at(property: impl Into<String>, problem: impl Into<String>) -> RecordProblem {
        RecordProblem {
            property: Some(property.into()),
            problem: problem.into(),
        }
    }
}

/// One record's values, by column; reused from record to record.
#[derive(Debug, Default)]
pub struct RecordCells {
    /// The converted value of each column (`None`: null or missing).
    pub cells: Vec<Option<Cell>>,
    /// The JSON value of each partition column (others stay `None`).
    pub partition_values: Vec<Option<Value>>,
    required_seen: Vec<bool>,
    problem: Option<RecordProblem>,
}

/// What the reader needs to know about the stream's columns.
pub struct RecordReader<'a> {
    /// The stream's columns.
    pub layout: &'a Layout,
    /// Whether each column is a partition column (its JSON value is kept).
    pub is_partition: &'a [bool],
}

impl RecordReader<'_> {
    /// Reads `json` (one record object) into `out`.
    pub fn read(&self, json: &str, out: &mut RecordCells) -> Result<(), RecordProblem> {
        let n = self.layout.columns.len();
        out.cells.clear();
        out.cells.resize(n, None);
        out.partition_values.clear();
        out.partition_values.resize(n, None);
        out.required_seen.clear();
        out.required_seen.resize(self.layout.required.len(), false);
        out.problem = None;
        let mut de = serde_json::Deserializer::from_str(json);
        let seed = ObjectSeed {
            reader: self,
            node: &self.layout.root,
            path: String::new(),
            out: &mut *out,
            top: true,
        };
        let parsed = seed.deserialize(&mut de).and_then(|()| de.end());
        if let Some(problem) = out.problem.take() {
            return Err(problem);
        }
        if let Err(e) = parsed {
            return Err(RecordProblem {
                property: None,
                problem: format!("the record is not valid JSON: {e}"),
            });
        }
        if let Some(missing) = out.required_seen.iter().position(|seen| !seen) {
            return Err(RecordProblem::at(
                self.layout.required[missing].clone(),
                "the property is required (schema `required` or `key_properties`) but missing",
            ));
        }
        for (i, column) in self.layout.columns.iter().enumerate() {
            if let Some(constant) = &column.constant {
                out.cells[i] = convert(column.kind, constant)
                    .map(Some)
                    .map_err(|p| RecordProblem::at(column.name.clone(), p))?;
                if self.is_partition[i] {
                    out.partition_values[i] = Some(constant.clone());
                }
            }
        }
        Ok(())
    }
}

/// Records the problem and aborts deserialization.
fn fail<E: serde::de::Error>(out: &mut RecordCells, problem: RecordProblem) -> E {
    out.problem = Some(problem);
    E::custom("record rejected")
}

/// The properties of one object, placed by `node`.
struct ObjectSeed<'r, 'a> {
    reader: &'r RecordReader<'a>,
    node: &'r Node,
    path: String,
    out: &'r mut RecordCells,
    top: bool,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl ObjectSeed<'_, '_> {
    fn wrong<E: serde::de::Error>(self, found: &Value) -> Result<(), E> {
        let problem = if self.top {
            RecordProblem {
                property: None,
                problem: format!(
                    "`record` must be a JSON object, found {}",
                    json_type_name(found)
                ),
            }
        } else {
            RecordProblem::at(
                self.path.clone(),
                format!("expected an object, found {}", json_type_name(found)),
            )
        };
        Err(fail(self.out, problem))
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let layout = self.reader.layout;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if self.top {
                if let Some(i) = layout.required.iter().position(|r| *r == *key) {
                    self.out.required_seen[i] = true;
                }
            }
            match self.node.children.get(key.as_ref()) {
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
                Some(Slot::Column(i)) => {
                    let i = *i;
                    let column = &layout.columns[i];
                    let seed = CellSeed {
                        kind: column.kind,
                        keep_value: self.reader.is_partition[i],
                    };
                    match map.next_value_seed(seed)? {
                        Ok((cell, value)) => {
                            self.out.cells[i] = cell;
                            self.out.partition_values[i] = value;
                        }
                        Err(problem) => {
                            return Err(fail(
                                self.out,
                                RecordProblem::at(column.name.clone(), problem),
                            ))
                        }
                    }
                }
                Some(Slot::Nested(inner)) => {
                    let path = if self.path.is_empty() {
                        key.to_string()
                    } else {
                        format!("{}.{key}", self.path)
                    };
                    map.next_value_seed(ObjectSeed {
                        reader: self.reader,
                        node: inner,
                        path,
                        out: &mut *self.out,
                        top: false,
                    })?;
                }
            }
        }
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        if self.top {
            return self.wrong(&Value::Null);
        }
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.wrong(&Value::Bool(false))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.wrong(&Value::from(0))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.wrong(&Value::from(0))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.wrong(&Value::from(0))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.wrong(&Value::String(String::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.wrong(&Value::Array(Vec::new()))
    }
}

/// A converted cell (with the JSON value when kept), or why the value does not fit.
type CellResult = Result<(Option<Cell>, Option<Value>), String>;

/// One column's value, converted for its type.
struct CellSeed {
    kind: ColumnType,
    keep_value: bool,
}

impl CellSeed {
    fn via_value(&self, value: Value) -> CellResult {
        let cell = match &value {
            Value::Null => None,
            other => Some(convert(self.kind, other)?),
        };
        Ok((cell, self.keep_value.then_some(value)))
    }
}

impl<'de> DeserializeSeed<'de> for CellSeed {
    type Value = CellResult;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<CellResult, D::Error> {
        match self.kind {
            _ if self.keep_value => Value::deserialize(d).map(|v| self.via_value(v)),
            ColumnType::Json | ColumnType::Mixed => {
                Value::deserialize(d).map(|v| self.via_value(v))
            }
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for CellSeed {
    type Value = CellResult;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<CellResult, E> {
        Ok(Ok((None, None)))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<CellResult, E> {
        Ok(match self.kind {
            ColumnType::Boolean => Ok((Some(Cell::Boolean(v)), None)),
            _ => self.via_value(Value::Bool(v)),
        })
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<CellResult, E> {
        Ok(match self.kind {
            ColumnType::Int64 => Ok((Some(Cell::Int64(v)), None)),
            ColumnType::Double => Ok((Some(Cell::Double(v as f64)), None)),
            _ => self.via_value(Value::from(v)),
        })
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<CellResult, E> {
        Ok(match (self.kind, i64::try_from(v)) {
            (ColumnType::Int64, Ok(i)) => Ok((Some(Cell::Int64(i)), None)),
            (ColumnType::Double, _) => Ok((Some(Cell::Double(v as f64)), None)),
            _ => self.via_value(Value::from(v)),
        })
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<CellResult, E> {
        Ok(match self.kind {
            ColumnType::Double => Ok((Some(Cell::Double(v)), None)),
            _ => match serde_json::Number::from_f64(v) {
                Some(n) => self.via_value(Value::Number(n)),
                None => Err(format!("expected a finite number, found {v}")),
            },
        })
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CellResult, E> {
        let cell = match self.kind {
            ColumnType::Utf8 => Some(Cell::Bytes(v.as_bytes().to_vec())),
            ColumnType::Timestamp => parse_timestamp(v).map(Cell::Int64),
            ColumnType::Date => parse_date(v).map(Cell::Int32),
            _ => None,
        };
        Ok(match cell {
            Some(cell) => Ok((Some(cell), None)),
            None => self.via_value(Value::String(v.to_string())),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<CellResult, A::Error> {
        let value = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(self.via_value(value))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CellResult, A::Error> {
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(self.via_value(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layout(schema: Value, keys: &[&str]) -> Layout {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        Layout::from_schema(&schema, &keys, 10, &[]).unwrap()
    }

    fn read(layout: &Layout, json: &str) -> Result<Vec<Option<Cell>>, RecordProblem> {
        let partitions = vec![false; layout.columns.len()];
        let reader = RecordReader {
            layout,
            is_partition: &partitions,
        };
        let mut out = RecordCells::default();
        reader.read(json, &mut out).map(|()| out.cells)
    }

    /// The fast path gives what converting a parsed `Value` gives.
    #[test]
    fn same_cells_as_converting_values() {
        let l = layout(
            json!({"properties": {"i": {"type": "integer"}, "f": {"type": "number"},
                "b": {"type": "boolean"}, "s": {"type": "string"},
                "t": {"type": "string", "format": "date-time"}, "d": {"type": "string", "format": "date"},
                "j": {"type": "array"}, "m": {}, "o": {"type": "object", "properties": {"x": {"type": "integer"}}}}}),
            &[],
        );
        let record = json!({"i": 3, "f": 2, "b": true, "s": "é\"\\u0000", "t": "2024-05-01T12:00:00Z",
            "d": "2024-05-01", "j": [1, {"a": null}], "m": 1.5, "o": {"x": -4}, "extra": [1, 2]});
        let cells = read(&l, &record.to_string()).unwrap();
        let by_value: Vec<Option<Cell>> = ["i", "f", "b", "s", "t", "d", "j", "m"]
            .iter()
            .map(|k| {
                Some(convert(l.columns[l.column_index(k).unwrap()].kind, &record[*k]).unwrap())
            })
            .chain([Some(Cell::Int64(-4))])
            .collect();
        assert_eq!(cells, by_value);
        let cells = read(&l, r#"{"i": null, "o": null}"#).unwrap();
        assert!(cells.iter().all(Option::is_none));
    }

    #[test]
    fn problems_name_the_property() {
        let l = layout(
            json!({"properties": {"id": {"type": "integer"},
                "o": {"type": "object", "properties": {"t": {"type": "string", "format": "date-time"}}}}}),
            &["id"],
        );
        let err = read(&l, r#"{"id": "x"}"#).unwrap_err();
        assert_eq!(
            err,
            RecordProblem::at("id", "expected an integer, found the string \"x\"")
        );
        let err = read(&l, r#"{"id": 1.5}"#).unwrap_err();
        assert_eq!(
            err.problem,
            "expected an integer (64-bit), found the number 1.5"
        );
        let err = read(&l, r#"{"id": 1, "o": {"t": "later"}}"#).unwrap_err();
        assert_eq!(err.property.as_deref(), Some("o__t"));
        let err = read(&l, r#"{"id": 1, "o": [1]}"#).unwrap_err();
        assert_eq!(
            err,
            RecordProblem::at("o", "expected an object, found an array")
        );
        let err = read(&l, r#"{"o": null}"#).unwrap_err();
        assert_eq!(err.property.as_deref(), Some("id"));
        let err = read(&l, "[1]").unwrap_err();
        assert_eq!(
            err.problem,
            "`record` must be a JSON object, found an array"
        );
        let err = read(&l, r#"{"id": 1"#).unwrap_err();
        assert!(
            err.problem.starts_with("the record is not valid JSON"),
            "{err:?}"
        );
        let err = read(&l, r#"{"id": 99999999999999999999}"#).unwrap_err();
        assert!(err.problem.contains("expected an integer"), "{err:?}");
    }
}
