//! Column types: JSON schema → PostgreSQL type, as MeltanoLabs target-postgres 0.8.1 (with the
//! Singer SDK's `JSONSchemaToSQL`) chooses them, and how a column's values are written into
//! COPY text, decided from the column's actual type (a table made by someone else may differ).

use serde_json::Value;

use crate::binary::Binary;

/// How values of a column are written into COPY text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The value's text: strings unescaped, numbers as written, booleans `true`/`false`,
    /// objects and arrays as JSON text.
    Scalar,
    /// `json`/`jsonb`: the value's JSON text, strings included (quoted).
    Json,
    /// `timestamp without time zone`: an ISO 8601 value with an offset is converted to UTC
    /// first (PostgreSQL would drop the offset), as MeltanoLabs does with a UTC session.
    Timestamp,
    /// A PostgreSQL array: a JSON array becomes an array literal `{…}`.
    Array,
}

/// A column's SQL type and how its values are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    /// The type as `format_type` spells it (`bigint`, `text[]`, `timestamp without time zone`).
    pub sql: String,
    /// How values are written.
    pub encoding: Encoding,
    /// How values are written in binary COPY (`None`: only in text).
    pub binary: Option<Binary>,
}

impl ColumnType {
    /// The type of an existing column, from `format_type(atttypid, atttypmod)`.
    pub fn from_catalog(sql: &str) -> ColumnType {
        let encoding = if sql.ends_with("[]") {
            Encoding::Array
        } else if sql == "jsonb" || sql == "json" {
            Encoding::Json
        } else if sql.starts_with("timestamp") && sql.ends_with("without time zone") {
            Encoding::Timestamp
        } else {
            Encoding::Scalar
        };
        ColumnType {
            sql: sql.to_string(),
            encoding,
            binary: Binary::of(sql),
        }
    }

    /// The type a new column gets for a JSON schema property.
    pub fn from_schema(schema: &Value) -> ColumnType {
        ColumnType::from_catalog(&to_sql_type(schema))
    }
}

/// The SDK's `to_sql_type`: the property's own type, else the first non-null `anyOf`
/// alternative that has one, else `text`.
fn to_sql_type(schema: &Value) -> String {
    if let Some(t) = single(schema) {
        return t;
    }
    if let Some(Value::Array(alternatives)) = schema.get("anyOf") {
        for sub in alternatives {
            if sub.get("type").and_then(Value::as_str) == Some("null") {
                continue;
            }
            if let Some(t) = single(sub) {
                return t;
            }
        }
    }
    "text".to_string()
}

/// The type of one schema object, when it names one.
fn single(schema: &Value) -> Option<String> {
    if let Some(t @ ("smallint" | "integer" | "bigint")) =
        schema.get("x-sql-datatype").and_then(Value::as_str)
    {
        return Some(t.to_string());
    }
    match schema.get("type") {
        Some(Value::String(t)) => handler(t, schema),
        Some(Value::Array(types)) => {
            let non_null: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            match non_null.as_slice() {
                [] => None,
                [one] => handler(one, schema),
                many => Some(best_of(many)),
            }
        }
        _ => None,
    }
}

/// One JSON type's SQL type (MeltanoLabs' handlers over the SDK's defaults).
fn handler(json_type: &str, schema: &Value) -> Option<String> {
    Some(match json_type {
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "timestamp without time zone",
            Some("date") => "date",
            Some("time") => "time without time zone",
            Some("uuid") => "uuid",
            Some("x-singer.decimal") => "numeric",
            _ => "text",
        }
        .to_string(),
        "integer" => integer(schema).to_string(),
        "number" => "numeric".to_string(),
        "boolean" => "boolean".to_string(),
        "object" => "jsonb".to_string(),
        "array" => array(schema),
        _ => return None,
    })
}

/// `smallint`, `integer` or `bigint` by the schema's `minimum`/`maximum`.
fn integer(schema: &Value) -> &'static str {
    let min = schema
        .get("minimum")
        .and_then(Value::as_f64)
        .unwrap_or(f64::NEG_INFINITY);
    let max = schema
        .get("maximum")
        .and_then(Value::as_f64)
        .unwrap_or(f64::INFINITY);
    if min >= -32768.0 && max < 32768.0 {
        "smallint"
    } else if min >= -2147483648.0 && max < 2147483648.0 {
        "integer"
    } else {
        "bigint"
    }
}

/// Arrays: typed `items` give a PostgreSQL array of the items' type (by `type` alone),
/// untyped items `jsonb[]`, no items `jsonb`.
fn array(schema: &Value) -> String {
    match schema.get("items") {
        Some(Value::String(t)) => format!("{}[]", to_sql_type(&serde_json::json!({ "type": t }))),
        Some(Value::Object(items)) => match items.get("type") {
            None => "jsonb[]".to_string(),
            Some(t) => format!("{}[]", to_sql_type(&serde_json::json!({ "type": t }))),
        },
        Some(Value::Array(_)) => "jsonb[]".to_string(),
        _ => "jsonb".to_string(),
    }
}

/// A union of several JSON types: the first of MeltanoLabs' precedence list among their types.
fn best_of(types: &[&str]) -> String {
    const ORDER: [&str; 11] = [
        "jsonb",
        "uuid",
        "text",
        "timestamp without time zone",
        "date",
        "time without time zone",
        "numeric",
        "bigint",
        "integer",
        "smallint",
        "boolean",
    ];
    let candidates: Vec<String> = types
        .iter()
        .filter_map(|t| single(&serde_json::json!({ "type": t })))
        .collect();
    if let Some(array) = candidates.iter().find(|t| t.ends_with("[]")) {
        return array.clone();
    }
    ORDER
        .iter()
        .find(|t| candidates.iter().any(|c| c == *t))
        .map_or_else(|| "text".to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sql(schema: Value) -> String {
        ColumnType::from_schema(&schema).sql
    }

    #[test]
    fn maps_like_meltanolabs() {
        assert_eq!(sql(json!({"type": "integer"})), "bigint");
        assert_eq!(
            sql(json!({"type": "integer", "minimum": 0, "maximum": 100})),
            "smallint"
        );
        assert_eq!(sql(json!({"type": ["number", "null"]})), "numeric");
        assert_eq!(sql(json!({"type": "string", "maxLength": 10})), "text");
        assert_eq!(
            sql(json!({"type": ["string", "null"], "format": "date-time"})),
            "timestamp without time zone"
        );
        assert_eq!(sql(json!({"type": "string", "format": "uuid"})), "uuid");
        assert_eq!(sql(json!({"type": "object"})), "jsonb");
        assert_eq!(
            sql(json!({"type": "array", "items": {"type": "integer"}})),
            "bigint[]"
        );
        assert_eq!(
            sql(json!({"type": "array", "items": {"type": "object"}})),
            "jsonb[]"
        );
        assert_eq!(sql(json!({"type": "array"})), "jsonb");
        assert_eq!(
            sql(json!({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]})),
            "timestamp without time zone"
        );
        assert_eq!(sql(json!({"type": ["integer", "string", "null"]})), "text");
        assert_eq!(sql(json!({"type": ["integer", "number"]})), "numeric");
        assert_eq!(sql(json!({"type": ["array", "string"]})), "jsonb");
        assert_eq!(sql(json!({})), "text");
        assert_eq!(sql(json!({"type": "null"})), "text");
    }

    #[test]
    fn encoding_follows_the_actual_column_type() {
        assert_eq!(ColumnType::from_catalog("text[]").encoding, Encoding::Array);
        assert_eq!(ColumnType::from_catalog("json").encoding, Encoding::Json);
        assert_eq!(
            ColumnType::from_catalog("timestamp(3) without time zone").encoding,
            Encoding::Timestamp
        );
        assert_eq!(
            ColumnType::from_catalog("timestamp with time zone").encoding,
            Encoding::Scalar
        );
    }
}
