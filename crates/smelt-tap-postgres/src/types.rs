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
//! Values are rendered in MeltanoLabs' shapes: timestamps as
//! `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` in UTC (a timestamp without time zone is taken as UTC,
//! as the Singer SDK does), times as Python's `isoformat()` (`03:04:05`, `03:04:05.250000+02:00`),
//! `bytea` as hex digits, `json`/`jsonb` as the JSON value itself,
//! `numeric` as its exact digits, NaN and infinities of numeric and float columns as null.
//! The common scalar kinds (integers, numbers, booleans, text, dates, timestamps) are read as
//! their text output and turned into JSON here, byte for byte what the server's `to_json`
//! expressions gave, which cost the server more time than the whole copy; the rest is rendered
//! by the server (decision 0016).

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
    /// Text types (text, varchar, name, citext, "char", enums); `max_length` for `varchar(n)`.
    Text {
        /// The declared length, if any.
        max_length: Option<i32>,
    },
    /// `char(n)`: a string, rendered by the server because its cast to text drops the padding.
    Char {
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
        "varchar" => Kind::Text {
            max_length: (typmod > 4).then_some(typmod - 4),
        },
        "bpchar" => Kind::Char {
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
        Kind::Text { max_length } | Kind::Char { max_length } => {
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

/// Whether values of `kind` are read as the type's text output and rendered by
/// [`render_value`] rather than by the server.
fn rendered_here(kind: &Kind, options: Options) -> bool {
    match kind {
        Kind::Integer | Kind::Number | Kind::Boolean | Kind::Text { .. } => true,
        Kind::Date | Kind::Timestamp => !options.dates_as_string,
        _ => false,
    }
}

/// The SQL expression (of type `text`) that reads column `name` of `kind`: the value's text
/// for the kinds [`render_value`] turns into JSON, else an expression rendering it as JSON
/// text. Sessions run with `TimeZone = 'UTC'` and `DateStyle = 'ISO, YMD'` (smelt-pg's
/// session setup), so timestamps read as `YYYY-MM-DD HH:MM:SS[.f]+00` in UTC.
pub fn select_expr(name: &str, kind: &Kind, options: Options) -> String {
    let col = quote_ident(name);
    if rendered_here(kind, options) {
        return format!("{col}::text");
    }
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

/// What to write for a value read with [`select_expr`].
#[derive(Debug, PartialEq, Eq)]
pub enum Fixed<'a> {
    /// Write these bytes (the value read, or the JSON made of it in the scratch buffer).
    Bytes(&'a [u8]),
    /// Write `null`.
    Null,
}

/// The JSON for a value of `kind` read with [`select_expr`]; `scratch` holds what is built.
///
/// Values read as text become what the server's `to_json` expressions gave: integers and
/// numbers as they are, except NaN and infinities, which become null (as MeltanoLabs emits
/// them); `true`/`false`; strings escaped as `to_json` escapes them (`"`, `\`, control
/// characters; not `/` nor non-ASCII); dates as strings; timestamps as
/// `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (the era dropped, infinities null, as `to_char` does).
/// Values rendered by the server are JSON already; line breaks in `json` values (only ever
/// whitespace there) become spaces, so a record stays on one line. Text that is not what the
/// server sends for the kind is an error saying what was read.
pub fn render_value<'a>(
    kind: &Kind,
    options: Options,
    raw: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Result<Fixed<'a>, String> {
    if !rendered_here(kind, options) {
        if *kind == Kind::Json && raw.iter().any(|b| *b == b'\n' || *b == b'\r') {
            scratch.clear();
            scratch.extend(
                raw.iter()
                    .map(|b| if *b == b'\n' || *b == b'\r' { b' ' } else { *b }),
            );
            return Ok(Fixed::Bytes(scratch));
        }
        return Ok(Fixed::Bytes(raw));
    }
    let text = std::str::from_utf8(raw).map_err(|_| "a value is not UTF-8".to_string())?;
    let unexpected = || format!("unexpected {} text {text:?}", kind_name(kind));
    match kind {
        Kind::Integer => Ok(Fixed::Bytes(raw)),
        Kind::Number => match raw {
            [b'N' | b'I', ..] | [b'-', b'I', ..] => Ok(Fixed::Null),
            _ => Ok(Fixed::Bytes(raw)),
        },
        Kind::Boolean => match text {
            "true" => Ok(Fixed::Bytes(b"true")),
            "false" => Ok(Fixed::Bytes(b"false")),
            _ => Err(unexpected()),
        },
        Kind::Timestamp => {
            scratch.clear();
            if write_timestamp(text, scratch).ok_or_else(unexpected)? {
                Ok(Fixed::Bytes(scratch))
            } else {
                Ok(Fixed::Null)
            }
        }
        _ => {
            scratch.clear();
            smelt_plugin_sdk::json_write::write_str(scratch, text);
            Ok(Fixed::Bytes(scratch))
        }
    }
}

/// The kind's name in error messages.
fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Boolean => "boolean",
        Kind::Timestamp => "timestamp",
        _ => "value",
    }
}

/// Writes the JSON for a timestamp's ISO text (`YYYY-MM-DD HH:MM:SS[.f][+00][ BC]`) as
/// `to_char(…, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')` gave it: `Some(false)` for the
/// infinities (null), `None` for text of another shape.
fn write_timestamp(text: &str, out: &mut Vec<u8>) -> Option<bool> {
    let text = text.strip_suffix(" BC").unwrap_or(text);
    if text == "infinity" || text == "-infinity" {
        return Some(false);
    }
    let (date, rest) = text.split_once(' ')?;
    let clock = rest.get(..8)?;
    let mut tail = &rest[8..];
    let mut fraction = "";
    if let Some(after) = tail.strip_prefix('.') {
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        (fraction, tail) = after.split_at(digits);
    }
    let shaped = date.len() >= 10
        && date.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && clock.bytes().enumerate().all(|(i, b)| match i {
            2 | 5 => b == b':',
            _ => b.is_ascii_digit(),
        })
        && fraction.len() <= 6
        && (tail.is_empty() || tail == "+00");
    if !shaped {
        return None;
    }
    out.push(b'"');
    out.extend_from_slice(date.as_bytes());
    out.push(b'T');
    out.extend_from_slice(clock.as_bytes());
    out.push(b'.');
    out.extend_from_slice(fraction.as_bytes());
    out.extend(std::iter::repeat_n(b'0', 6 - fraction.len()));
    out.extend_from_slice(b"+00:00\"");
    Some(true)
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
            "\"a\"\"b\"::text"
        );
        assert_eq!(
            select_expr(
                "c",
                &Kind::Char {
                    max_length: Some(3)
                },
                PLAIN
            ),
            "to_json(\"c\")::text"
        );
        assert_eq!(select_expr("j", &Kind::Json, PLAIN), "\"j\"::text");
        assert_eq!(select_expr("t", &Kind::Timestamp, PLAIN), "\"t\"::text");
        assert!(select_expr("t", &Kind::Time { with_zone: true }, PLAIN)
            .contains("extract(timezone FROM \"t\")"));
        assert_eq!(
            select_expr("b", &Kind::Bytea, PLAIN),
            "to_json(encode(\"b\", 'hex'))::text"
        );
    }

    /// What `render_value` makes of `raw` for `kind`, as text.
    fn render(kind: &Kind, options: Options, raw: &str) -> String {
        let mut scratch = Vec::new();
        match render_value(kind, options, raw.as_bytes(), &mut scratch).unwrap() {
            Fixed::Bytes(b) => String::from_utf8(b.to_vec()).unwrap(),
            Fixed::Null => "null".to_string(),
        }
    }

    /// Expected values are what PostgreSQL 15's `to_json` expressions gave for these values.
    #[test]
    fn scalars_render_as_the_servers_to_json() {
        let cases: &[(Kind, &str, &str)] = &[
            (
                Kind::Integer,
                "-9223372036854775808",
                "-9223372036854775808",
            ),
            (Kind::Integer, "4294967295", "4294967295"),
            (Kind::Number, "-12.50", "-12.50"),
            (Kind::Number, "1e+15", "1e+15"),
            (Kind::Number, "-0", "-0"),
            (Kind::Number, "1.5e-05", "1.5e-05"),
            (
                Kind::Number,
                "10000000000000000000000000000000000000000.000001",
                "10000000000000000000000000000000000000000.000001",
            ),
            (Kind::Number, "NaN", "null"),
            (Kind::Number, "Infinity", "null"),
            (Kind::Number, "-Infinity", "null"),
            (Kind::Boolean, "true", "true"),
            (Kind::Boolean, "false", "false"),
            (Kind::Text { max_length: None }, "", "\"\""),
            (
                Kind::Text { max_length: None },
                "a/b \"q\" \\ \n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}",
                "\"a/b \\\"q\\\" \\\\ \\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}\"",
            ),
            (
                Kind::Text {
                    max_length: Some(20),
                },
                "Zoë Ångström 简单 😀 \u{2028}",
                "\"Zoë Ångström 简单 😀 \u{2028}\"",
            ),
            (Kind::Date, "2024-02-29", "\"2024-02-29\""),
            (Kind::Date, "0044-03-15 BC", "\"0044-03-15 BC\""),
            (Kind::Date, "infinity", "\"infinity\""),
            (
                Kind::Timestamp,
                "2024-01-01 00:00:37+00",
                "\"2024-01-01T00:00:37.000000+00:00\"",
            ),
            (
                Kind::Timestamp,
                "2024-01-01 00:00:37.001+00",
                "\"2024-01-01T00:00:37.001000+00:00\"",
            ),
            (
                Kind::Timestamp,
                "2024-01-01 23:59:59.999999",
                "\"2024-01-01T23:59:59.999999+00:00\"",
            ),
            (
                Kind::Timestamp,
                "0044-03-15 01:02:03.5+00 BC",
                "\"0044-03-15T01:02:03.500000+00:00\"",
            ),
            (
                Kind::Timestamp,
                "294276-12-31 23:59:59.999999+00",
                "\"294276-12-31T23:59:59.999999+00:00\"",
            ),
            (Kind::Timestamp, "infinity", "null"),
            (Kind::Timestamp, "-infinity", "null"),
        ];
        for (kind, raw, expected) in cases {
            assert_eq!(&render(kind, PLAIN, raw), expected, "{kind:?} {raw:?}");
        }
    }

    #[test]
    fn server_rendered_values_pass_through_or_are_fixed() {
        assert_eq!(render(&Kind::Json, PLAIN, "{\"a\":\n 1}"), "{\"a\":  1}");
        assert_eq!(render(&Kind::Other, PLAIN, "\"x\""), "\"x\"");
        assert_eq!(
            render(&Kind::Char { max_length: None }, PLAIN, "\"a  \""),
            "\"a  \""
        );
        let strings = Options {
            dates_as_string: true,
            json_as_object: false,
        };
        assert_eq!(
            render(&Kind::Timestamp, strings, "\"2024-01-01 00:00:00+00\""),
            "\"2024-01-01 00:00:00+00\""
        );
    }

    #[test]
    fn unexpected_text_is_an_error_naming_it() {
        for (kind, raw) in [
            (Kind::Boolean, "t"),
            (Kind::Timestamp, "2024-01-01T00:00:00"),
            (Kind::Timestamp, "2024-01-01 00:00:00+02"),
            (Kind::Timestamp, "2024-01-01 00:00:00.1234567"),
            (Kind::Timestamp, "Mon Jan 01 00:00:00 2024 UTC"),
        ] {
            let mut scratch = Vec::new();
            let err = render_value(&kind, PLAIN, raw.as_bytes(), &mut scratch).unwrap_err();
            assert!(err.contains(raw), "{err}");
        }
        let mut scratch = Vec::new();
        assert!(render_value(&Kind::Integer, PLAIN, b"\xff", &mut scratch).is_err());
    }
}
