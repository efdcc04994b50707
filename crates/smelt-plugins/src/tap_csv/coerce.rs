//! Turning CSV text into the JSON type a column's schema asks for.
//!
//! Discovered schemas make every column a string, so by default values pass through as
//! strings (an empty cell stays `""`, as MeltanoLabs tap-csv emits it). When a catalog
//! (e.g. Meltano's `schema:` extra) declares a column integer, number, boolean or nullable,
//! values that fit are written as that type: `"42"` → `42`, `"true"` → `true`, `""` → `null`.
//! Values that do not fit stay strings, so the target's validation reports them.

use serde_json::Value;

use smelt_plugin_sdk::json_write::write_str;

/// Which JSON types a column accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Coercion {
    string: bool,
    integer: bool,
    number: bool,
    boolean: bool,
    null: bool,
}

impl Coercion {
    /// A column that takes strings (and null): every value is written as a string.
    pub(crate) const STRING: Coercion = Coercion {
        string: true,
        integer: false,
        number: false,
        boolean: false,
        null: true,
    };

    /// Reads the accepted types from a property's JSON schema (`type`, or the types of its
    /// `anyOf` / `oneOf` branches). A schema that names no type is treated as a string.
    pub(crate) fn from_schema(property: &Value) -> Coercion {
        let mut coercion = Coercion {
            string: false,
            integer: false,
            number: false,
            boolean: false,
            null: false,
        };
        collect_types(property, &mut coercion, 0);
        if !(coercion.string || coercion.integer || coercion.number || coercion.boolean) {
            coercion.string = true;
        }
        coercion
    }

    /// Appends `raw` as JSON of the best matching type.
    pub(crate) fn write(&self, out: &mut Vec<u8>, raw: &str) {
        if self.string && !(self.integer || self.number || self.boolean) {
            write_str(out, raw);
            return;
        }
        if raw.is_empty() {
            if self.string || !self.null {
                out.extend_from_slice(b"\"\"");
            } else {
                out.extend_from_slice(b"null");
            }
            return;
        }
        if self.integer || self.number {
            if let Ok(n) = raw.parse::<i64>() {
                out.extend_from_slice(n.to_string().as_bytes());
                return;
            }
        }
        if self.number {
            if let Some(n) = raw
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && looks_numeric(raw))
            {
                if let Ok(text) = serde_json::to_string(&n) {
                    out.extend_from_slice(text.as_bytes());
                    return;
                }
            }
        }
        if self.boolean {
            if raw.eq_ignore_ascii_case("true") {
                out.extend_from_slice(b"true");
                return;
            }
            if raw.eq_ignore_ascii_case("false") {
                out.extend_from_slice(b"false");
                return;
            }
        }
        write_str(out, raw);
    }
}

fn looks_numeric(raw: &str) -> bool {
    raw.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
}

fn collect_types(schema: &Value, into: &mut Coercion, depth: usize) {
    if depth > 8 {
        return;
    }
    match schema.get("type") {
        Some(Value::String(t)) => add_type(t, into),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .for_each(|t| add_type(t, into)),
        _ => {}
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(combinator) {
            for branch in branches {
                collect_types(branch, into, depth + 1);
            }
        }
    }
}

fn add_type(name: &str, into: &mut Coercion) {
    match name {
        "string" => into.string = true,
        "integer" => into.integer = true,
        "number" => into.number = true,
        "boolean" => into.boolean = true,
        "null" => into.null = true,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(schema: Value, raw: &str) -> String {
        let mut out = Vec::new();
        Coercion::from_schema(&schema).write(&mut out, raw);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_stay_strings() {
        assert_eq!(render(json!({"type": ["string", "null"]}), ""), r#""""#);
        assert_eq!(render(json!({"type": "string"}), "42"), r#""42""#);
        assert_eq!(render(json!({}), "x\"y"), r#""x\"y""#);
        assert_eq!(
            Coercion::from_schema(&json!({"type": ["string", "null"]})),
            Coercion::STRING
        );
    }

    #[test]
    fn typed_columns_are_converted_when_they_fit() {
        assert_eq!(render(json!({"type": ["integer", "null"]}), "007"), "7");
        assert_eq!(render(json!({"type": ["integer", "null"]}), ""), "null");
        assert_eq!(render(json!({"type": "integer"}), ""), r#""""#);
        assert_eq!(render(json!({"type": "integer"}), "1.5"), r#""1.5""#);
        assert_eq!(render(json!({"type": "number"}), "1.5"), "1.5");
        assert_eq!(render(json!({"type": "number"}), "10"), "10");
        assert_eq!(render(json!({"type": "number"}), "inf"), r#""inf""#);
        assert_eq!(render(json!({"type": "boolean"}), "TRUE"), "true");
        assert_eq!(render(json!({"type": "boolean"}), "no"), r#""no""#);
        assert_eq!(
            render(
                json!({"anyOf": [{"type": "integer"}, {"type": "null"}]}),
                ""
            ),
            "null"
        );
        assert_eq!(render(json!({"type": ["integer", "string"]}), ""), r#""""#);
    }
}
