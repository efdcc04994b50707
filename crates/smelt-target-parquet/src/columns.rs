//! From a stream's JSON schema to Parquet columns.
//!
//! Nested objects that declare `properties` are flattened into `parent__child` columns up to
//! `max_flatten_level` (the Singer SDK's flattening, which Automattic target-parquet always
//! applies); everything else is one column whose Parquet type follows the JSON schema type:
//!
//! | JSON schema                                   | Parquet                                 |
//! |:----------------------------------------------|:----------------------------------------|
//! | `integer`                                     | INT64                                   |
//! | `number`, or `integer` and `number`           | DOUBLE                                  |
//! | `boolean`                                     | BOOLEAN                                 |
//! | `string`                                      | BYTE_ARRAY, logical STRING              |
//! | `string` + `format: date-time`                | INT64, TIMESTAMP(MICROS, UTC-adjusted)  |
//! | `string` + `format: date`                     | INT32, DATE                             |
//! | `object` (unflattened), `array`               | BYTE_ARRAY, logical JSON (JSON text)    |
//! | no type, or several non-null types            | BYTE_ARRAY, logical STRING: strings as   |
//! |                                               | they are, other values as JSON text     |
//!
//! `null` in a type list, `anyOf`/`oneOf` alternatives and missing properties only make the
//! value nullable: every column is OPTIONAL.

use std::collections::HashMap;
use std::sync::Arc;

use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use parquet::schema::types::Type;
use serde_json::{Map, Value};
use smelt_plugin_sdk::json_type_name;

/// The Singer SDK's flattening separator.
pub const SEPARATOR: &str = "__";

/// How one column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// INT64.
    Int64,
    /// DOUBLE.
    Double,
    /// BOOLEAN.
    Boolean,
    /// UTF-8 text.
    Utf8,
    /// JSON text (logical type JSON).
    Json,
    /// UTF-8 text: strings as they are, any other value as JSON text.
    Mixed,
    /// Microseconds since the epoch, UTC.
    Timestamp,
    /// Days since the epoch.
    Date,
}

impl ColumnType {
    /// The Parquet leaf for a column of this type.
    fn parquet(self, name: &str) -> parquet::errors::Result<Type> {
        let (physical, logical) = match self {
            ColumnType::Int64 => (PhysicalType::INT64, None),
            ColumnType::Double => (PhysicalType::DOUBLE, None),
            ColumnType::Boolean => (PhysicalType::BOOLEAN, None),
            ColumnType::Utf8 | ColumnType::Mixed => {
                (PhysicalType::BYTE_ARRAY, Some(LogicalType::String))
            }
            ColumnType::Json => (PhysicalType::BYTE_ARRAY, Some(LogicalType::Json)),
            ColumnType::Timestamp => (
                PhysicalType::INT64,
                Some(LogicalType::Timestamp {
                    is_adjusted_to_u_t_c: true,
                    unit: TimeUnit::MICROS,
                }),
            ),
            ColumnType::Date => (PhysicalType::INT32, Some(LogicalType::Date)),
        };
        Type::primitive_type_builder(name, physical)
            .with_repetition(Repetition::OPTIONAL)
            .with_logical_type(logical)
            .build()
    }
}

/// One output column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column name (`a__b` when flattened).
    pub name: String,
    /// How values are stored.
    pub kind: ColumnType,
    /// A constant (`extra_fields`) instead of a record property.
    pub constant: Option<Value>,
}

/// Where a record property goes: a column, or (flattened) the properties of a nested object.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// The value is stored in this column.
    Column(usize),
    /// The value is an object whose properties are placed by this node.
    Nested(Node),
}

/// The placement of the properties of one object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// Property name → where it goes.
    pub children: HashMap<String, Slot>,
}

/// The columns of one stream, built from its SCHEMA message and the target's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Every column, in schema order (flattened properties, then `extra_fields`).
    pub columns: Vec<Column>,
    /// How to place a record's properties.
    pub root: Node,
    /// Top-level properties each record must have (`required` and `key_properties`).
    pub required: Vec<String>,
}

/// The non-null JSON types and string formats a property schema allows.
#[derive(Debug, Default)]
struct Allowed {
    types: Vec<String>,
    formats: Vec<Option<String>>,
    typeless: bool,
}

impl Allowed {
    fn of(schema: &Value) -> Allowed {
        let mut allowed = Allowed::default();
        allowed.collect(schema);
        allowed.types.sort();
        allowed.types.dedup();
        allowed
    }

    fn collect(&mut self, schema: &Value) {
        let Value::Object(map) = schema else {
            self.typeless = true;
            return;
        };
        let format = map
            .get("format")
            .and_then(Value::as_str)
            .map(str::to_string);
        match map.get("type") {
            Some(Value::String(t)) => self.add(t, &format),
            Some(Value::Array(ts)) => {
                for t in ts.iter().filter_map(Value::as_str) {
                    self.add(t, &format);
                }
            }
            _ => {
                let alternatives = ["anyOf", "oneOf"]
                    .iter()
                    .find_map(|k| map.get(*k).and_then(Value::as_array));
                match alternatives {
                    Some(list) => list.iter().for_each(|s| self.collect(s)),
                    None => self.typeless = true,
                }
            }
        }
    }

    fn add(&mut self, t: &str, format: &Option<String>) {
        if t == "null" {
            return;
        }
        if t == "string" {
            self.formats.push(format.clone());
        }
        self.types.push(t.to_string());
    }

    /// The column type for a leaf (a property that is not flattened).
    fn column_type(&self) -> ColumnType {
        if self.typeless {
            return ColumnType::Mixed;
        }
        let types: Vec<&str> = self.types.iter().map(String::as_str).collect();
        match types.as_slice() {
            [] => ColumnType::Mixed,
            ["integer"] => ColumnType::Int64,
            ["number"] | ["integer", "number"] => ColumnType::Double,
            ["boolean"] => ColumnType::Boolean,
            ["array"] | ["object"] | ["array", "object"] => ColumnType::Json,
            ["string"] => {
                let first = self.formats.first().cloned().flatten();
                let same = self.formats.iter().all(|f| *f == first);
                match first.as_deref() {
                    Some("date-time") if same => ColumnType::Timestamp,
                    Some("date") if same => ColumnType::Date,
                    _ => ColumnType::Utf8,
                }
            }
            _ => ColumnType::Mixed,
        }
    }
}

/// The object schema's `properties`, if it declares any (as an object).
fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

struct Builder {
    columns: Vec<Column>,
    names: HashMap<String, usize>,
    max_level: usize,
}

impl Builder {
    fn add(&mut self, column: Column) -> Result<usize, String> {
        if self.names.contains_key(&column.name) {
            return Err(format!(
                "two properties become the same column `{}` (flattened names join nested \
                 properties with `{SEPARATOR}`); rename one in the tap or lower max_flatten_level",
                column.name
            ));
        }
        let index = self.columns.len();
        self.names.insert(column.name.clone(), index);
        self.columns.push(column);
        Ok(index)
    }

    fn node(
        &mut self,
        props: &Map<String, Value>,
        prefix: &str,
        level: usize,
    ) -> Result<Node, String> {
        let mut node = Node::default();
        for (key, schema) in props {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}{SEPARATOR}{key}")
            };
            let allowed = Allowed::of(schema);
            let nested = properties(schema)
                .filter(|_| level < self.max_level && allowed.types.iter().any(|t| t == "object"));
            let slot = match nested {
                Some(inner) => Slot::Nested(self.node(inner, &name, level + 1)?),
                None => Slot::Column(self.add(Column {
                    name,
                    kind: allowed.column_type(),
                    constant: None,
                })?),
            };
            node.children.insert(key.clone(), slot);
        }
        Ok(node)
    }
}

impl Layout {
    /// Builds the layout of a stream from its SCHEMA message. Errors are the problem in words.
    pub fn from_schema(
        schema: &Value,
        key_properties: &[String],
        max_flatten_level: usize,
        extra_fields: &[crate::config::ExtraField],
    ) -> Result<Layout, String> {
        let Value::Object(map) = schema else {
            return Err(format!(
                "SCHEMA message's `schema` must be a JSON object, found {}",
                json_type_name(schema)
            ));
        };
        let props = match map.get("properties") {
            Some(Value::Object(props)) => props,
            Some(other) => {
                return Err(format!(
                    "SCHEMA message's schema has `properties` of type {}, expected an object",
                    json_type_name(other)
                ))
            }
            None => {
                return Err(
                    "SCHEMA message's schema has no top-level `properties`; the tap must \
                     describe the record's fields"
                        .to_string(),
                )
            }
        };
        let mut builder = Builder {
            columns: Vec::new(),
            names: HashMap::new(),
            max_level: max_flatten_level,
        };
        let root = builder.node(props, "", 0)?;
        for extra in extra_fields {
            builder.add(Column {
                name: extra.name.clone(),
                kind: extra.kind,
                constant: Some(extra.value.clone()),
            })?;
        }
        let mut required: Vec<String> = match map.get("required") {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        for key in key_properties {
            if !required.contains(key) {
                required.push(key.clone());
            }
        }
        Ok(Layout {
            columns: builder.columns,
            root,
            required,
        })
    }

    /// The index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The Parquet schema of a file holding the columns `included` (partition columns are
    /// left out: their values are in the directory names).
    pub fn parquet_schema(&self, included: &[usize]) -> Result<Arc<Type>, String> {
        let fields = included
            .iter()
            .map(|&i| {
                let column = &self.columns[i];
                column.kind.parquet(&column.name).map(Arc::new)
            })
            .collect::<parquet::errors::Result<Vec<_>>>()
            .map_err(|e| format!("could not build the Parquet schema: {e}"))?;
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map(Arc::new)
            .map_err(|e| format!("could not build the Parquet schema: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layout(schema: Value, level: usize) -> Layout {
        Layout::from_schema(&schema, &[], level, &[]).unwrap()
    }

    fn kinds(l: &Layout) -> Vec<(&str, ColumnType)> {
        l.columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect()
    }

    #[test]
    fn types_follow_the_json_schema() {
        let l = layout(
            json!({"properties": {
                "i": {"type": "integer"}, "n": {"type": ["null", "number"]},
                "in": {"type": ["integer", "number", "null"]}, "b": {"type": "boolean"},
                "s": {"type": "string"}, "ts": {"type": ["string", "null"], "format": "date-time"},
                "d": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
                "mixed_fmt": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string"}]},
                "a": {"type": "array", "items": {"type": "string"}}, "o": {"type": "object"},
                "any": {}, "si": {"type": ["string", "integer"]}
            }}),
            100,
        );
        use ColumnType::*;
        assert_eq!(
            kinds(&l),
            [
                ("i", Int64),
                ("n", Double),
                ("in", Double),
                ("b", Boolean),
                ("s", Utf8),
                ("ts", Timestamp),
                ("d", Date),
                ("mixed_fmt", Utf8),
                ("a", Json),
                ("o", Json),
                ("any", Mixed),
                ("si", Mixed)
            ]
        );
    }

    #[test]
    fn nested_objects_with_properties_are_flattened_up_to_the_level() {
        let schema = json!({"properties": {
            "id": {"type": "integer"},
            "o": {"type": ["object", "null"], "properties": {
                "x": {"type": "integer"},
                "deep": {"type": "object", "properties": {"y": {"type": "string"}}}}}}});
        let flat = layout(schema.clone(), 100);
        let names: Vec<&str> = flat.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "o__x", "o__deep__y"]);
        let one = layout(schema.clone(), 1);
        assert_eq!(
            kinds(&one),
            [
                ("id", ColumnType::Int64),
                ("o__x", ColumnType::Int64),
                ("o__deep", ColumnType::Json)
            ]
        );
        assert_eq!(layout(schema, 0).columns[1].kind, ColumnType::Json);
    }

    #[test]
    fn bad_schemas_and_clashes_are_reported() {
        let err = Layout::from_schema(&json!({"type": "object"}), &[], 1, &[]).unwrap_err();
        assert!(err.contains("no top-level `properties`"), "{err}");
        let err = Layout::from_schema(
            &json!({"properties": {"a__b": {}, "a": {"type": "object", "properties": {"b": {}}}}}),
            &[],
            5,
            &[],
        )
        .unwrap_err();
        assert!(err.contains("same column `a__b`"), "{err}");
    }

    #[test]
    fn required_includes_key_properties() {
        let l = Layout::from_schema(
            &json!({"properties": {"id": {}, "e": {}}, "required": ["e"]}),
            &["id".to_string()],
            1,
            &[],
        )
        .unwrap();
        assert_eq!(l.required, ["e", "id"]);
        let schema = l.parquet_schema(&[0, 1]).unwrap();
        assert_eq!(schema.get_fields().len(), 2);
    }
}
