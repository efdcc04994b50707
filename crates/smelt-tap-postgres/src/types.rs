//! PostgreSQL column types as JSON schema, as SQL that renders their values as JSON, and the
//! few fixes applied to that JSON — pure functions, tested without a server.
//!
//! The mapping is MeltanoLabs tap-postgres 0.10's (the Singer SDK's SQL-to-JSON-schema rules
//! plus its overrides), checked against its discovery output: every column but the key
//! properties is nullable (`["<type>", "null"]`, whatever `NOT NULL` says); `numeric` is a
//! plain `number` (no `multipleOf`); `varchar(n)`/`char(n)` carry `maxLength`; dates, times and
//! timestamps are strings with `format` (or plain strings under `dates_as_string`); `json` and
//! `jsonb` accept any JSON type (objects under `json_as_object`); arrays have `items` (nullable,
//! where MeltanoLabs writes non-null ones that reject arrays holding NULLs);
//! anything else (uuid, interval, money, inet, xml, bytea, enums…) is a string.
//!
//! Values are rendered by the server (`to_json(…)`), in MeltanoLabs' shapes: timestamps as
//! `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` in UTC (a timestamp without time zone is taken as UTC,
//! as the Singer SDK does), times as Python's `isoformat()` (`03:04:05`, `03:04:05.250000+02:00`),
//! `bytea` as hex digits, `json`/`jsonb` as the JSON value itself,
//! `numeric` as its exact digits, NaN and infinities of numeric and float columns as null.

use serde_json::{json, Map, Value};
use smelt_pg::quote_ident;

/// How a column's values are typed and rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// smallint, integer, bigint, oid.
    Integer,
    /// numeric/decimal, real, double precision (NaN and infinities become null).
    Number,
    /// boolean.
    Boolean,
    /// Text types; `max_length` for `varchar(n)` and `char(n)`.
    Text {
        /// The declared length, if any.
        max_length: Option<i32>,
    },
    /// date.
    Date,
    /// timestamp / timestamptz.
    Timestamp,
    /// time (`with_zone`: false) / timetz (true).
    Time {
        /// Whether the type carries a UTC offset.
        with_zone: bool,
    },
    /// json / jsonb.
    Json,
    /// bytea (hex digits).
    Bytea,
    /// An array of the element kind.
    Array(Box<Kind>),
    /// Anything else (uuid, interval, money, inet, xml, enums, …): the server's text, as a
    /// string.
    Other,
}

/// The settings that change the mapping.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `dates_as_string`: dates and timestamps as plain strings, in the server's text form.
    pub dates_as_string: bool,
    /// `json_as_object`: json/jsonb typed as objects in the schema.
    pub json_as_object: bool,
}

/// The kind of a type named `typname` (after resolving domains to their base type);
/// `elem` is the element type of an array type, `typmod` the column's type modifier.
pub fn classify(typname: &str, elem: Option<&str>, typmod: i32) -> Kind {
    if let Some(elem) = elem {
        return Kind::Array(Box::new(classify(elem, None, typmod)));
    }
    match typname {
        "int2" | "int4" | "int8" | "oid" => Kind::Integer,
        "numeric" | "float4" | "float8" => Kind::Number,
        "bool" => Kind::Boolean,
        "varchar" | "bpchar" => Kind::Text {
            max_length: (typmod > 4).then_some(typmod - 4),
        },
        "text" | "name" | "citext" | "char" => Kind::Text { max_length: None },
        "date" => Kind::Date,
        "timestamp" | "timestamptz" => Kind::Timestamp,
        "time" => Kind::Time { with_zone: false },
        "timetz" => Kind::Time { with_zone: true },
        "json" | "jsonb" => Kind::Json,
        "bytea" => Kind::Bytea,
        _ => Kind::Other,
    }
}

/// The JSON schema of a column of `kind` (`nullable`: every column but the key properties).
pub fn json_schema(kind: &Kind, nullable: bool, options: Options) -> Value {
    let types = |t: &str| {
        if nullable {
            json!([t, "null"])
        } else {
            json!([t])
        }
    };
    let mut schema = Map::new();
    match kind {
        Kind::Integer => {
            schema.insert("type".into(), types("integer"));
        }
        Kind::Number => {
            schema.insert("type".into(), types("number"));
        }
        Kind::Boolean => {
            schema.insert("type".into(), types("boolean"));
        }
        Kind::Text { max_length } => {
            if let Some(n) = max_length {
                schema.insert("maxLength".into(), json!(n));
            }
            schema.insert("type".into(), types("string"));
        }
        Kind::Date | Kind::Timestamp if options.dates_as_string => {
            schema.insert("type".into(), json!(["string", "null"]));
        }
        Kind::Date | Kind::Timestamp | Kind::Time { .. } => {
            let format = match kind {
                Kind::Date => "date",
                Kind::Timestamp => "date-time",
                _ => "time",
            };
            schema.insert("format".into(), json!(format));
            schema.insert("type".into(), types("string"));
        }
        Kind::Json if options.json_as_object => {
            schema.insert("type".into(), json!(["object", "null"]));
            schema.insert("additionalProperties".into(), json!(true));
        }
        Kind::Json => {
            let mut list = vec!["string", "number", "integer", "array", "object", "boolean"];
            if nullable {
                list.push("null");
            }
            schema.insert("type".into(), json!(list));
            schema.insert("additionalProperties".into(), json!(true));
        }
        Kind::Array(item) => {
            // Nullable items, unlike MeltanoLabs (`{"type": ["integer"]}`): PostgreSQL arrays
            // may hold NULLs, and a validating target rejects them under a non-null schema.
            schema.insert("items".into(), json_schema(item, true, options));
            schema.insert("type".into(), types("array"));
        }
        Kind::Bytea | Kind::Other => {
            schema.insert("type".into(), types("string"));
        }
    }
    Value::Object(schema)
}

/// The SQL expression (of type `text`) that renders column `name` of `kind` as JSON text.
/// Sessions run with `TimeZone = 'UTC'`, so timestamps with time zone render in UTC.
pub fn select_expr(name: &str, kind: &Kind, options: Options) -> String {
    let col = quote_ident(name);
    match kind {
        // The value itself is JSON (newlines in it are fixed by `fix_value`).
        Kind::Json => format!("{col}::text"),
        Kind::Date | Kind::Timestamp if options.dates_as_string => {
            format!("to_json({col}::text)::text")
        }
        Kind::Timestamp => {
            format!("to_json(to_char({col}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'))::text")
        }
        Kind::Bytea => format!("to_json(encode({col}, 'hex'))::text"),
        // Python's `time.isoformat()`: fractions only when there are any, six digits; the
        // offset as `+HH:MM`.
        Kind::Time { with_zone } => {
            let time = if *with_zone {
                format!("{col}::time")
            } else {
                col.clone()
            };
            let clock = format!(
                "to_char({time}, CASE WHEN extract(microseconds FROM {time})::bigint % 1000000 = 0 \
                 THEN 'HH24:MI:SS' ELSE 'HH24:MI:SS.US' END)"
            );
            if *with_zone {
                format!(
                    "to_json({clock} || CASE WHEN extract(timezone FROM {col}) < 0 THEN '-' \
                     ELSE '+' END || to_char(make_interval(secs => abs(extract(timezone FROM \
                     {col}))), 'HH24:MI'))::text"
                )
            } else {
                format!("to_json({clock})::text")
            }
        }
        _ => format!("to_json({col})::text"),
    }
}

/// What to write for a rendered value: the server's JSON, or a fixed copy of it.
pub enum Fixed<'a> {
    /// Write these bytes.
    Bytes(&'a [u8]),
    /// Write `null`.
    Null,
    /// Write this owned copy.
    Owned(Vec<u8>),
}

/// Fix the server's JSON for `kind`: NaN and infinities of number columns (`"NaN"`,
/// `"Infinity"`) become null, as MeltanoLabs emits them; line breaks in `json` values (only
/// ever whitespace there) become spaces, so a record stays on one line.
pub fn fix_value<'a>(kind: &Kind, raw: &'a [u8]) -> Fixed<'a> {
    match kind {
        Kind::Number if raw.first() == Some(&b'"') => Fixed::Null,
        Kind::Json if raw.iter().any(|b| *b == b'\n' || *b == b'\r') => Fixed::Owned(
            raw.iter()
                .map(|b| if *b == b'\n' || *b == b'\r' { b' ' } else { *b })
                .collect(),
        ),
        _ => Fixed::Bytes(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Options = Options {
        dates_as_string: false,
        json_as_object: false,
    };

    /// (typname, element, typmod, nullable) → schema, as MeltanoLabs tap-postgres 0.10.0
    /// discovered them (captured from its output for a table of these columns).
    #[test]
    fn schemas_match_meltanolabs() {
        let cases: &[(&str, Option<&str>, i32, bool, Value)] = &[
            ("int8", None, -1, false, json!({"type": ["integer"]})),
            ("int2", None, -1, true, json!({"type": ["integer", "null"]})),
            (
                "numeric",
                None,
                786439,
                true,
                json!({"type": ["number", "null"]}),
            ),
            (
                "float4",
                None,
                -1,
                true,
                json!({"type": ["number", "null"]}),
            ),
            ("bool", None, -1, true, json!({"type": ["boolean", "null"]})),
            ("text", None, -1, true, json!({"type": ["string", "null"]})),
            (
                "varchar",
                None,
                24,
                true,
                json!({"maxLength": 20, "type": ["string", "null"]}),
            ),
            (
                "bpchar",
                None,
                7,
                true,
                json!({"maxLength": 3, "type": ["string", "null"]}),
            ),
            ("uuid", None, -1, true, json!({"type": ["string", "null"]})),
            (
                "date",
                None,
                -1,
                true,
                json!({"format": "date", "type": ["string", "null"]}),
            ),
            (
                "timestamp",
                None,
                -1,
                true,
                json!({"format": "date-time", "type": ["string", "null"]}),
            ),
            (
                "timestamptz",
                None,
                -1,
                true,
                json!({"format": "date-time", "type": ["string", "null"]}),
            ),
            (
                "time",
                None,
                -1,
                true,
                json!({"format": "time", "type": ["string", "null"]}),
            ),
            (
                "timetz",
                None,
                -1,
                true,
                json!({"format": "time", "type": ["string", "null"]}),
            ),
            (
                "interval",
                None,
                -1,
                true,
                json!({"type": ["string", "null"]}),
            ),
            (
                "json",
                None,
                -1,
                true,
                json!({"type": ["string", "number", "integer", "array", "object", "boolean", "null"], "additionalProperties": true}),
            ),
            (
                "jsonb",
                None,
                -1,
                true,
                json!({"type": ["string", "number", "integer", "array", "object", "boolean", "null"], "additionalProperties": true}),
            ),
            // MeltanoLabs writes non-null items; smelt allows the NULLs arrays may hold.
            (
                "_int4",
                Some("int4"),
                -1,
                true,
                json!({"items": {"type": ["integer", "null"]}, "type": ["array", "null"]}),
            ),
            (
                "_text",
                Some("text"),
                -1,
                true,
                json!({"items": {"type": ["string", "null"]}, "type": ["array", "null"]}),
            ),
            ("bytea", None, -1, true, json!({"type": ["string", "null"]})),
            ("money", None, -1, true, json!({"type": ["string", "null"]})),
            ("xml", None, -1, true, json!({"type": ["string", "null"]})),
        ];
        for (typname, elem, typmod, nullable, expected) in cases {
            let kind = classify(typname, *elem, *typmod);
            let got = json_schema(&kind, *nullable, PLAIN);
            assert_eq!(&got, expected, "{typname}");
            // Key order too (MeltanoLabs writes maxLength/format/items before type).
            assert_eq!(got.to_string(), expected.to_string(), "{typname}");
        }
    }

    #[test]
    fn options_change_dates_and_json() {
        let options = Options {
            dates_as_string: true,
            json_as_object: true,
        };
        for typname in ["date", "timestamp", "timestamptz"] {
            let kind = classify(typname, None, -1);
            assert_eq!(
                json_schema(&kind, true, options),
                json!({"type": ["string", "null"]})
            );
            assert_eq!(
                select_expr("d", &kind, options),
                "to_json(\"d\"::text)::text"
            );
        }
        assert_eq!(
            json_schema(&Kind::Json, true, options),
            json!({"type": ["object", "null"], "additionalProperties": true})
        );
    }

    #[test]
    fn select_expressions_quote_and_render() {
        assert_eq!(
            select_expr("a\"b", &Kind::Integer, PLAIN),
            "to_json(\"a\"\"b\")::text"
        );
        assert_eq!(select_expr("j", &Kind::Json, PLAIN), "\"j\"::text");
        assert_eq!(
            select_expr("t", &Kind::Timestamp, PLAIN),
            "to_json(to_char(\"t\", 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'))::text"
        );
        assert!(select_expr("t", &Kind::Time { with_zone: true }, PLAIN)
            .contains("extract(timezone FROM \"t\")"));
        assert_eq!(
            select_expr("b", &Kind::Bytea, PLAIN),
            "to_json(encode(\"b\", 'hex'))::text"
        );
    }

    #[test]
    fn values_are_fixed_where_meltanolabs_differs_from_to_json() {
        let text = |f: Fixed<'_>| match f {
            Fixed::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Fixed::Owned(b) => String::from_utf8_lossy(&b).into_owned(),
            Fixed::Null => "null".to_string(),
        };
        assert_eq!(text(fix_value(&Kind::Number, b"\"NaN\"")), "null");
        assert_eq!(text(fix_value(&Kind::Number, b"\"-Infinity\"")), "null");
        assert_eq!(text(fix_value(&Kind::Number, b"1.5e+300")), "1.5e+300");
        assert_eq!(text(fix_value(&Kind::Json, b"{\"a\":\n 1}")), "{\"a\":  1}");
        assert_eq!(text(fix_value(&Kind::Other, b"\"x\"")), "\"x\"");
    }
}
