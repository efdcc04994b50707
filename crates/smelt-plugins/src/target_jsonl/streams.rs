//! What target-jsonl knows about each stream from its latest SCHEMA: key properties and the
//! compiled record validator (compiled once per SCHEMA message, not per record).

use jsonschema::Draft;
use serde_json::Value;

/// The rules records of one stream must follow.
pub(crate) struct StreamSchema {
    /// Properties every record must contain.
    pub key_properties: Vec<String>,
    validator: Option<jsonschema::Validator>,
    /// The output file, once the first record opened it.
    pub sink: Option<usize>,
    /// The SCHEMA message parts these rules were built from.
    source: (Value, Option<Value>),
}

/// Compiles a stream schema. A schema naming its `$schema` gets that draft; otherwise draft 7
/// (what Singer SDK targets use), falling back to draft 4 for the older Singer taps whose
/// schemas use draft-4 keywords (e.g. boolean `exclusiveMaximum`).
fn compile(schema: &Value, names_its_draft: bool) -> Result<jsonschema::Validator, String> {
    let options = jsonschema::options().should_validate_formats(false);
    let problem = |e: jsonschema::ValidationError<'_>| {
        format!("SCHEMA message's schema is not valid JSON Schema: {e}")
    };
    if names_its_draft {
        return options.build(schema).map_err(problem);
    }
    match options.clone().with_draft(Draft::Draft7).build(schema) {
        Ok(validator) => Ok(validator),
        Err(draft7_error) => options
            .with_draft(Draft::Draft4)
            .build(schema)
            .map_err(|_| problem(draft7_error)),
    }
}

impl StreamSchema {
    /// Builds the rules from a SCHEMA message's `schema` and `key_properties`.
    ///
    /// The schema must be an object with a top-level `properties` object. `key_properties`
    /// may also sit inside the schema (some taps put it there). With `validate`, the schema is
    /// compiled as JSON Schema draft 7 (what Singer SDK targets use) unless it names its own
    /// `$schema`; format assertions are off. Errors are the problem in words.
    pub(crate) fn from_message(
        schema: Value,
        key_properties: Option<Value>,
        validate: bool,
    ) -> Result<Self, String> {
        let rules = Self::build(&schema, key_properties.as_ref(), validate)?;
        Ok(StreamSchema {
            source: (schema, key_properties),
            ..rules
        })
    }

    /// Whether these rules came from exactly this `schema` and `key_properties`.
    pub(crate) fn is_built_from(&self, schema: &Value, key_properties: Option<&Value>) -> bool {
        self.source.0 == *schema && self.source.1.as_ref() == key_properties
    }

    fn build(
        schema: &Value,
        key_properties: Option<&Value>,
        validate: bool,
    ) -> Result<Self, String> {
        let Value::Object(map) = schema else {
            return Err(format!(
                "SCHEMA message's `schema` must be a JSON object, found {}",
                smelt_plugin_sdk::json_type_name(schema)
            ));
        };
        match map.get("properties") {
            Some(Value::Object(_)) => {}
            Some(other) => {
                return Err(format!(
                    "SCHEMA message's schema has `properties` of type {}, expected an object",
                    smelt_plugin_sdk::json_type_name(other)
                ))
            }
            None => {
                return Err(
                    "SCHEMA message's schema has no top-level `properties`; the tap must describe \
                     the record's fields"
                        .to_string(),
                )
            }
        }
        let keys_value = match key_properties {
            Some(Value::Null) | None => map.get("key_properties"),
            Some(keys) => Some(keys),
        };
        let key_properties = match keys_value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(keys)) => keys
                .iter()
                .map(|k| k.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| "`key_properties` must be a list of property names".to_string())?,
            Some(other) => {
                return Err(format!(
                    "`key_properties` must be a list of property names, found {}",
                    smelt_plugin_sdk::json_type_name(other)
                ))
            }
        };
        let validator = if validate {
            Some(compile(schema, map.contains_key("$schema"))?)
        } else {
            None
        };
        Ok(StreamSchema {
            key_properties,
            validator,
            sink: None,
            source: (Value::Null, None),
        })
    }

    /// Whether records must be parsed to be checked.
    pub(crate) fn checks_records(&self) -> bool {
        self.validator.is_some() || !self.key_properties.is_empty()
    }

    /// Checks one parsed record: an object, with every key property, matching the schema.
    pub(crate) fn check(&self, record: &Value) -> Result<(), String> {
        let Value::Object(map) = record else {
            return Err(format!(
                "`record` must be a JSON object, found {}",
                smelt_plugin_sdk::json_type_name(record)
            ));
        };
        for key in &self.key_properties {
            if !map.contains_key(key) {
                return Err(format!(
                    "record is missing key property '{key}' (key properties: {})",
                    self.key_properties.join(", ")
                ));
            }
        }
        if let Some(validator) = &self.validator {
            let problems: Vec<String> = validator
                .iter_errors(record)
                .take(3)
                .map(|e| {
                    let at = e.instance_path().to_string();
                    if at.is_empty() {
                        e.to_string()
                    } else {
                        format!("{e} (at {at})")
                    }
                })
                .collect();
            if !problems.is_empty() {
                return Err(format!(
                    "record does not match the stream's schema: {}; fix the tap or set \
                     validate_records: false",
                    problems.join("; ")
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_needs_properties() {
        let err = StreamSchema::from_message(json!({"type": "object"}), None, true)
            .err()
            .unwrap();
        assert!(err.contains("no top-level `properties`"), "{err}");
        assert!(StreamSchema::from_message(json!([]), None, true).is_err());
        assert!(StreamSchema::from_message(json!({"properties": 1}), None, true).is_err());
    }

    #[test]
    fn key_properties_from_message_or_schema() {
        let schema = json!({"properties": {"id": {}}, "key_properties": ["email"]});
        let s = StreamSchema::from_message(schema.clone(), None, false).unwrap();
        assert_eq!(s.key_properties, ["email"]);
        let s = StreamSchema::from_message(schema.clone(), Some(json!(["id"])), false).unwrap();
        assert_eq!(s.key_properties, ["id"]);
        assert!(StreamSchema::from_message(schema.clone(), Some(json!("id")), false).is_err());
        assert!(StreamSchema::from_message(schema.clone(), Some(json!([1])), false).is_err());
        let s = StreamSchema::from_message(schema.clone(), None, false).unwrap();
        assert!(s.is_built_from(&schema, None));
        assert!(!s.is_built_from(&schema, Some(&json!(["id"]))));
        assert!(!s.is_built_from(&json!({"properties": {}}), None));
    }

    #[test]
    fn records_are_checked() {
        let schema = json!({"type": "object", "required": ["id"],
            "properties": {"id": {"type": "integer"}, "when": {"type": "string", "format": "date-time"}}});
        let s = StreamSchema::from_message(schema.clone(), Some(json!(["id"])), true).unwrap();
        assert!(s.checks_records());
        assert!(
            s.check(&json!({"id": 1, "when": "not a date"})).is_ok(),
            "formats are not asserted"
        );
        let err = s.check(&json!({"when": "x"})).unwrap_err();
        assert!(err.contains("missing key property 'id'"), "{err}");
        let err = s.check(&json!({"id": "one"})).unwrap_err();
        assert!(
            err.contains("does not match") && err.contains("/id"),
            "{err}"
        );
        assert!(s.check(&json!([1])).is_err());

        let lax = StreamSchema::from_message(schema.clone(), Some(json!([])), false).unwrap();
        assert!(!lax.checks_records());
    }

    #[test]
    fn draft4_style_schemas_compile() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "number", "maximum": 3, "exclusiveMaximum": true}}});
        // Draft 7 rejects boolean exclusiveMaximum; such schemas fall back to draft 4.
        let s = StreamSchema::from_message(schema.clone(), None, true).unwrap();
        assert!(s.check(&json!({"n": 3})).is_err());
        assert!(s.check(&json!({"n": 2})).is_ok());
        let mut with_draft = schema.clone();
        with_draft["$schema"] = json!("http://json-schema.org/draft-04/schema#");
        let s = StreamSchema::from_message(with_draft.clone(), None, true).unwrap();
        assert!(s.check(&json!({"n": 3})).is_err());
        let broken = json!({"properties": {"n": {"type": 5}}});
        let err = StreamSchema::from_message(broken, None, true)
            .err()
            .unwrap();
        assert!(err.contains("not valid JSON Schema"), "{err}");
    }
}
