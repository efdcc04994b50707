//! Writing a JSON value as YAML text for one place in the document.
//!
//! Block collections are written the way the document already indents (see
//! [`super::tree::Style`]); inside flow collections values are written in flow style. Output
//! uses `\n` line breaks; the splice turns them into the document's own.

use serde_json::Value;

use super::scalar::{self, Context};
use super::tree::Style;

/// Where a rendered value goes, which decides its first line and its indentation.
#[derive(Debug, Clone, Copy)]
pub(super) enum Place {
    /// After `key:`. Nested block mappings go at `map_col`, nested sequences' `-` at `seq_col`.
    MapValue { map_col: usize, seq_col: usize },
    /// After `-`; a block collection starts on the dash line with its lines at `content_col`.
    SeqItem { content_col: usize },
}

/// Whether a value is written over several lines (a non-empty mapping or list).
pub(super) fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

/// The text to write right after the `:` or `-` indicator: `" value"` for scalars and
/// empty collections, else the block collection, starting on a new line after a key.
pub(super) fn after_indicator(value: &Value, place: Place, style: Style) -> String {
    if !is_block(value) {
        return format!(" {}", scalar::scalar(value, Context::Block));
    }
    match place {
        Place::MapValue { map_col, seq_col } => {
            let col = if value.is_array() { seq_col } else { map_col };
            format!("\n{}{}", " ".repeat(col), block(value, col, style))
        }
        Place::SeqItem { content_col } => format!(" {}", block(value, content_col, style)),
    }
}

/// A non-empty collection as block lines at column `col`; the first line has no indentation
/// (the caller has placed it), the following ones are indented to `col`.
pub(super) fn block(value: &Value, col: usize, style: Style) -> String {
    let indent = format!("\n{}", " ".repeat(col));
    match value {
        Value::Object(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| {
                let place = Place::MapValue {
                    map_col: col + style.map_step,
                    seq_col: col + style.seq_offset,
                };
                format!(
                    "{}:{}",
                    scalar::key(k, Context::Block),
                    after_indicator(v, place, style)
                )
            })
            .collect::<Vec<_>>()
            .join(&indent),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| {
                let place = Place::SeqItem {
                    content_col: col + 2,
                };
                format!("-{}", after_indicator(v, place, style))
            })
            .collect::<Vec<_>>()
            .join(&indent),
        other => scalar::scalar(other, Context::Block),
    }
}

/// A value in flow style (`{a: 1, b: [x, y]}`), for places inside flow collections.
pub(super) fn flow(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let inner: Vec<String> = map.iter().map(|(k, v)| flow_entry(k, v)).collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", inner.join(", "))
        }
        other => scalar::scalar(other, Context::Flow),
    }
}

/// One `key: value` pair of a flow mapping.
pub(super) fn flow_entry(key: &str, value: &Value) -> String {
    format!("{}: {}", scalar::key(key, Context::Flow), flow(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MELTANO: Style = Style {
        map_step: 2,
        seq_offset: 0,
    };

    #[test]
    fn block_values_follow_the_style() {
        let v = json!({"name": "tap-x", "config": {"a": 1, "b": []}, "select": ["a.*", "b.*"]});
        let text = after_indicator(
            &v,
            Place::MapValue {
                map_col: 2,
                seq_col: 0,
            },
            MELTANO,
        );
        assert_eq!(
            text,
            "\n  name: tap-x\n  config:\n    a: 1\n    b: []\n  select:\n  - a.*\n  - b.*"
        );
        let items = json!([{"name": "x", "variant": "z"}, "plain", [1, 2]]);
        let text = after_indicator(&items, Place::SeqItem { content_col: 2 }, MELTANO);
        assert_eq!(
            text,
            " - name: x\n    variant: z\n  - plain\n  - - 1\n    - 2"
        );
    }

    #[test]
    fn scalars_and_empty_collections_stay_on_the_line() {
        let place = Place::MapValue {
            map_col: 2,
            seq_col: 2,
        };
        assert_eq!(after_indicator(&json!({}), place, MELTANO), " {}");
        assert_eq!(after_indicator(&json!([]), place, MELTANO), " []");
        assert_eq!(after_indicator(&json!("yes"), place, MELTANO), " 'yes'");
    }

    #[test]
    fn flow_values() {
        assert_eq!(
            flow(&json!({"a": [1, "x,y"], "b c": {}})),
            "{a: [1, 'x,y'], b c: {}}"
        );
    }
}
