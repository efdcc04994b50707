//! Why catalog rules could not be applied, worded for the person who has to fix it.

/// Where a catalog problem should be fixed; appended to catalog errors.
const CATALOG_HINT: &str =
    "check the tap's --discover output, or the file named by the extractor's `catalog` extra";

/// A catalog or a rule set that cannot be used, with what is wrong, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The catalog is not an object with a `streams` list.
    #[error("the catalog has no \"streams\" list ({found}); a Singer catalog is a JSON object like {{\"streams\": [...]}}; {CATALOG_HINT}")]
    MissingStreams {
        /// What was found instead, e.g. `the top level is an array`.
        found: String,
    },
    /// An entry of `streams` is not a JSON object.
    #[error("catalog stream #{number} is {found}, not a JSON object; {CATALOG_HINT}")]
    StreamNotObject {
        /// 1-based position of the entry in `streams`.
        number: usize,
        /// What kind of JSON value was found.
        found: &'static str,
    },
    /// A stream has no string `tap_stream_id`, so no rule can address it.
    #[error("catalog stream #{number} has no tap_stream_id (every Singer stream needs a string \"tap_stream_id\"); {CATALOG_HINT}")]
    MissingTapStreamId {
        /// 1-based position of the stream in `streams`.
        number: usize,
    },
    /// A stream's `schema` or `metadata` does not have the shape the Singer spec requires.
    #[error("catalog stream `{stream}` (#{number}): {problem}; {CATALOG_HINT}")]
    InvalidStream {
        /// 1-based position of the stream in `streams`.
        number: usize,
        /// The stream's `tap_stream_id`.
        stream: String,
        /// What is wrong and where inside the stream.
        problem: String,
    },
    /// A `metadata` or `schema` extra in meltano.yml cannot be turned into rules.
    #[error("the `{extra}` extra of the extractor is invalid at `{path}`: {problem}; fix it in meltano.yml (or the environment variable that sets it)")]
    InvalidExtra {
        /// `metadata` or `schema`.
        extra: &'static str,
        /// Dotted path of the offending entry inside the extra.
        path: String,
        /// What is wrong and what shape is expected.
        problem: String,
    },
}

/// Names the kind of a JSON value for error messages ("an array", "a string", ...).
pub(crate) use crate::json_value::json_type_name as kind_of;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_where_and_what_to_do() {
        let err = CatalogError::MissingTapStreamId { number: 3 };
        let text = err.to_string();
        assert!(
            text.starts_with("catalog stream #3 has no tap_stream_id"),
            "{text}"
        );
        assert!(text.contains("--discover"), "{text}");

        let err = CatalogError::InvalidExtra {
            extra: "schema",
            path: "users.id".into(),
            problem: "expected a JSON schema object, found a string".into(),
        };
        let text = err.to_string();
        assert!(text.contains("`schema` extra"), "{text}");
        assert!(text.contains("`users.id`"), "{text}");
        assert!(text.contains("meltano.yml"), "{text}");
    }

    #[test]
    fn kinds_are_named() {
        assert_eq!(kind_of(&serde_json::Value::Null), "null");
        assert_eq!(kind_of(&serde_json::json!([])), "an array");
        assert_eq!(kind_of(&serde_json::json!("x")), "a string");
    }
}
