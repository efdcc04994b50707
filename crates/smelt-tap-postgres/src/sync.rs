//! Sync: for each selected stream, SCHEMA, then RECORDs streamed from a binary
//! `COPY (SELECT …) TO STDOUT` (only the selected columns, rendered as JSON by the server),
//! with STATE every [`STATE_EVERY`] records and at the end of the stream.

use std::io::Write;

use serde_json::{json, Map, Value};
use smelt_pg::{BinaryRows, PgClient};
use smelt_plugin_sdk::catalog::Catalog;
use smelt_plugin_sdk::json_write::write_str;
use smelt_plugin_sdk::log;
use smelt_plugin_sdk::messages::{SchemaMessage, StateMessage};

use crate::config::Settings;
use crate::discover::{stream_schema, Column, Table};
use crate::types::{render_value, select_expr, Fixed};

/// Records between two STATE messages (the Singer SDK's `STATE_MSG_FREQUENCY`).
pub const STATE_EVERY: u64 = 10_000;

/// How a stream is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// Every row.
    FullTable,
    /// Rows whose replication key is at least the bookmark, in key order.
    Incremental {
        /// The replication key column.
        key: String,
    },
    /// Changes read from a logical replication slot (see [`crate::cdc`]); the records carry
    /// `_sdc_deleted_at` and `_sdc_lsn`, the replication key.
    LogBased,
}

/// One stream to sync.
#[derive(Debug)]
pub struct Plan {
    /// The stream ID.
    pub stream: String,
    /// The table, as the server describes it now.
    pub table: Table,
    /// The columns to read, in table order.
    pub columns: Vec<Column>,
    /// The SCHEMA message's schema (only the selected columns).
    pub schema: Value,
    /// The key properties.
    pub key_properties: Vec<String>,
    /// How to read it.
    pub method: Method,
}

/// The replication method and key of a catalog stream, as the Singer SDK settles them:
/// `replication-method` if given, else INCREMENTAL when a replication key is set, else
/// FULL_TABLE.
pub fn method(stream: &str, method: Option<&str>, key: Option<&str>) -> Result<Method, String> {
    match (method.filter(|m| !m.is_empty()), key) {
        (Some("FULL_TABLE"), _) | (None, None) => Ok(Method::FullTable),
        (Some("INCREMENTAL") | None, Some(key)) => Ok(Method::Incremental {
            key: key.to_string(),
        }),
        (Some("INCREMENTAL"), None) => Err(format!(
            "stream '{stream}': replication-method INCREMENTAL needs a replication-key in the \
             catalog metadata"
        )),
        (Some("LOG_BASED"), _) => Ok(Method::LogBased),
        (Some(other), _) => Err(format!(
            "stream '{stream}': unknown replication-method {other:?} (use FULL_TABLE, \
             INCREMENTAL or LOG_BASED)"
        )),
    }
}

/// The plans for the selected streams of `catalog` (all streams, all columns, FULL_TABLE
/// without one), in catalog (or discovery) order.
pub fn plans(
    tables: &[Table],
    catalog: Option<&Value>,
    settings: &Settings,
) -> Result<Vec<Plan>, String> {
    let Some(raw) = catalog else {
        return Ok(tables
            .iter()
            .map(|t| Plan {
                stream: t.stream_id(),
                table: t.clone(),
                columns: t.columns.clone(),
                schema: stream_schema(t, settings.options),
                key_properties: t.key.clone(),
                method: Method::FullTable,
            })
            .collect());
    };
    let parsed = Catalog::from_value(raw).map_err(|e| format!("the catalog: {e}"))?;
    let empty = Vec::new();
    let entries = raw
        .get("streams")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut plans = Vec::new();
    for entry in entries {
        let Some(id) = entry
            .get("tap_stream_id")
            .or_else(|| entry.get("stream"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let Some(cs) = parsed.stream(id) else {
            continue;
        };
        if !cs.stream_selected() {
            continue;
        }
        let Some(table) = tables.iter().find(|t| t.stream_id() == id) else {
            return Err(format!(
                "stream '{id}' is selected but its table or view no longer exists (or is \
                 outside filter_schemas); run discovery again (smelt select --refresh-catalog) \
                 or deselect it"
            ));
        };
        let method = method(
            id,
            cs.replication_method.as_deref(),
            cs.replication_key.as_deref(),
        )?;
        let rk = match &method {
            Method::Incremental { key } => Some(key.as_str()),
            Method::FullTable | Method::LogBased => None,
        };
        if method == Method::LogBased && table.is_view {
            return Err(format!(
                "stream '{id}': {}.{} is a view; LOG_BASED reads the changes of tables only \
                 (use FULL_TABLE or INCREMENTAL for views)",
                table.schema, table.name
            ));
        }
        if let Some(rk) = rk {
            if !table.columns.iter().any(|c| c.name == rk) {
                return Err(format!(
                    "stream '{id}': the replication key {rk:?} is not a column of {}.{}",
                    table.schema, table.name
                ));
            }
        }
        let key_properties: Vec<String> = match entry.get("key_properties") {
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => table.key.clone(),
        };
        let catalog_props = cs
            .schema
            .as_ref()
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object);
        if let Some(props) = catalog_props {
            for name in props.keys() {
                // A catalog written by MeltanoLabs' LOG_BASED run lists the `_sdc_` columns.
                let added = method == Method::LogBased && crate::cdc::is_sdc_column(name);
                if !added
                    && cs.property_selected(name)
                    && !table.columns.iter().any(|c| &c.name == name)
                {
                    return Err(format!(
                        "stream '{id}': column {name:?} is selected in the catalog but {}.{} \
                         has no such column (dropped or renamed?); run discovery again or \
                         deselect it",
                        table.schema, table.name
                    ));
                }
            }
        }
        let wanted = |name: &str| {
            cs.property_selected(name)
                || key_properties.iter().any(|k| k == name)
                || rk == Some(name)
        };
        let columns: Vec<Column> = table
            .columns
            .iter()
            .filter(|c| wanted(&c.name))
            .cloned()
            .collect();
        if columns.is_empty() {
            return Err(format!(
                "stream '{id}' is selected but none of its columns is"
            ));
        }
        let discovered = stream_schema(table, settings.options);
        let source = cs.schema.as_ref().unwrap_or(&discovered);
        let mut schema = source.clone();
        if let Some(Value::Object(props)) = schema.get_mut("properties") {
            props.retain(|name, _| columns.iter().any(|c| &c.name == name));
            for c in &columns {
                if !props.contains_key(&c.name) {
                    props.insert(c.name.clone(), discovered["properties"][&c.name].clone());
                }
            }
        }
        if method == Method::LogBased {
            crate::cdc::log_based_schema(&mut schema);
        }
        plans.push(Plan {
            stream: id.to_string(),
            table: table.clone(),
            columns,
            schema,
            key_properties,
            method,
        });
    }
    Ok(plans)
}

/// The `COPY` statement reading a plan's rows from `start` (the bookmark) on.
pub fn copy_sql(plan: &Plan, start: Option<&str>, settings: &Settings) -> Result<String, String> {
    let exprs: Vec<String> = plan
        .columns
        .iter()
        .map(|c| select_expr(&c.name, &c.kind, settings.options))
        .collect();
    let mut sql = format!(
        "COPY (SELECT {} FROM {}",
        exprs.join(", "),
        plan.table.sql_name()
    );
    let mut clauses = Vec::new();
    let mut order = None;
    if let Method::Incremental { key } = &plan.method {
        let column = plan
            .columns
            .iter()
            .find(|c| &c.name == key)
            .ok_or_else(|| {
                format!(
                    "stream '{}': replication key {key:?} is not read",
                    plan.stream
                )
            })?;
        let ident = smelt_pg::quote_ident(key);
        if let Some(start) = start {
            clauses.push(format!(
                "{ident} >= CAST({} AS {})",
                smelt_pg::quote_literal(start),
                column.sql_type
            ));
        }
        // Qualified: the select list's `"key"::text` is an output column named like the key,
        // which a bare name in ORDER BY would mean (sorting the text).
        order = Some(format!(
            " ORDER BY {}.{ident} ASC NULLS FIRST",
            plan.table.sql_name()
        ));
    }
    for clause in settings.where_clauses(&plan.stream)? {
        clauses.push(format!("({clause})"));
    }
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    if let Some(order) = order {
        sql.push_str(&order);
    }
    if let Some(n) = settings.max_record_count {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    sql.push_str(") TO STDOUT (FORMAT binary)");
    Ok(sql)
}

/// The bookmark of `stream` in `state` for replication key `key`, as text for a cast: the
/// Singer SDK's `bookmarks.<stream>.replication_key_value`. A bookmark kept for another key
/// is ignored (with a warning).
pub fn bookmark(state: &Value, stream: &str, key: &str) -> Option<String> {
    let entry = state.get("bookmarks")?.get(stream)?;
    let value = entry.get("replication_key_value")?;
    if let Some(old) = entry.get("replication_key").and_then(Value::as_str) {
        if old != key {
            log::warn(&format!(
                "tap-postgres: stream '{stream}': the state's bookmark is for replication key \
                 {old:?}, not {key:?}; reading the whole table"
            ));
            return None;
        }
    }
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A failed write to the output, as a message.
pub fn write_err(e: std::io::Error) -> String {
    format!("could not write the output: {e}")
}

/// Emit a STATE message with `state`.
pub fn emit_state<W: Write + ?Sized>(out: &mut W, state: &Value) -> Result<(), String> {
    serde_json::to_writer(&mut *out, &StateMessage::new(state))
        .map_err(|e| format!("could not write the output: {e}"))?;
    out.write_all(b"\n").map_err(write_err)
}

/// Set `bookmarks.<stream>` in `state` to `value`.
pub fn set_bookmark(state: &mut Value, stream: &str, value: Value) {
    if !state.is_object() {
        *state = json!({});
    }
    let Some(root) = state.as_object_mut() else {
        return;
    };
    let bookmarks = root
        .entry("bookmarks")
        .or_insert_with(|| Value::Object(Map::new()));
    if !bookmarks.is_object() {
        *bookmarks = Value::Object(Map::new());
    }
    if let Some(map) = bookmarks.as_object_mut() {
        map.insert(stream.to_string(), value);
    }
}

/// Writes one stream's RECORD lines from JSON text per field, without building JSON values:
/// the message's start, each field's `"name":` and the end are computed once.
pub struct RecordWriter {
    prefix: Vec<u8>,
    keys: Vec<Vec<u8>>,
    suffix: Vec<u8>,
    line: Vec<u8>,
    empty: bool,
}

impl RecordWriter {
    /// A writer for `stream` whose field `i` is named `names[i]`; `time_extracted` is now.
    pub fn new(stream: &str, names: &[&str]) -> RecordWriter {
        let mut prefix = Vec::new();
        prefix.extend_from_slice(b"{\"type\":\"RECORD\",\"stream\":");
        write_str(&mut prefix, stream);
        prefix.extend_from_slice(b",\"record\":{");
        let keys = names
            .iter()
            .map(|name| {
                let mut k = Vec::new();
                write_str(&mut k, name);
                k.push(b':');
                k
            })
            .collect();
        let extracted = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
            .to_string();
        RecordWriter {
            prefix,
            keys,
            suffix: format!("}},\"time_extracted\":\"{extracted}\"}}\n").into_bytes(),
            line: Vec::with_capacity(1024),
            empty: true,
        }
    }

    /// Start a record.
    pub fn start(&mut self) {
        self.line.clear();
        self.line.extend_from_slice(&self.prefix);
        self.empty = true;
    }

    /// Add field `i` with `json` (JSON text) as its value.
    pub fn field(&mut self, i: usize, json: &[u8]) {
        if !self.empty {
            self.line.push(b',');
        }
        self.empty = false;
        if let Some(key) = self.keys.get(i) {
            self.line.extend_from_slice(key);
        }
        self.line.extend_from_slice(json);
    }

    /// End the record and write it to `out`.
    pub fn finish<W: Write + ?Sized>(&mut self, out: &mut W) -> Result<(), String> {
        self.line.extend_from_slice(&self.suffix);
        out.write_all(&self.line).map_err(write_err)
    }
}

/// Write the SCHEMA message of `plan`.
pub fn write_schema<W: Write + ?Sized>(out: &mut W, plan: &Plan) -> Result<(), String> {
    let bookmark_props: Vec<String> = match &plan.method {
        Method::Incremental { key } => vec![key.clone()],
        Method::LogBased => vec![crate::cdc::LSN_COLUMN.to_string()],
        Method::FullTable => Vec::new(),
    };
    serde_json::to_writer(
        &mut *out,
        &SchemaMessage::new(
            &plan.stream,
            &plan.schema,
            &plan.key_properties,
            &bookmark_props,
        ),
    )
    .map_err(|e| format!("could not write the output: {e}"))?;
    out.write_all(b"\n").map_err(write_err)
}

/// Sync one FULL_TABLE or INCREMENTAL plan (SCHEMA, RECORDs, STATE), updating `state`;
/// returns the number of records.
pub fn sync_stream<W: Write + ?Sized>(
    client: &mut PgClient,
    plan: &Plan,
    settings: &Settings,
    state: &mut Value,
    out: &mut W,
    state_every: u64,
) -> Result<u64, String> {
    write_schema(out, plan)?;
    let count = read_rows(client, plan, settings, state, out, state_every)?;
    if !matches!(plan.method, Method::Incremental { .. }) {
        let has = state
            .get("bookmarks")
            .and_then(|b| b.get(&plan.stream))
            .is_some();
        if !has {
            set_bookmark(state, &plan.stream, json!({}));
        }
    }
    emit_state(out, state)?;
    Ok(count)
}

/// Read a plan's rows with one binary COPY and write them as RECORDs: the whole table, or
/// for INCREMENTAL the rows from the bookmark on (updating the bookmark in `state` and
/// emitting STATE every `state_every` records). LOG_BASED plans are read whole, as the first
/// run's snapshot, with null `_sdc_deleted_at` and `_sdc_lsn`. Returns the number of records.
pub fn read_rows<W: Write + ?Sized>(
    client: &mut PgClient,
    plan: &Plan,
    settings: &Settings,
    state: &mut Value,
    out: &mut W,
    state_every: u64,
) -> Result<u64, String> {
    let rk = match &plan.method {
        Method::Incremental { key } => Some(key.clone()),
        Method::FullTable | Method::LogBased => None,
    };
    let start = rk.as_deref().and_then(|k| bookmark(state, &plan.stream, k));
    let sql = copy_sql(plan, start.as_deref(), settings)?;
    log::info(&format!(
        "tap-postgres: stream '{}': reading {} ({}){}",
        plan.stream,
        plan.table.sql_name(),
        match &plan.method {
            Method::FullTable => "FULL_TABLE".to_string(),
            Method::Incremental { key } => format!("INCREMENTAL on {key}"),
            Method::LogBased => "LOG_BASED: the first run's snapshot".to_string(),
        },
        start
            .as_deref()
            .map(|s| format!(" from {s}"))
            .unwrap_or_default()
    ));
    let rk_index = rk
        .as_deref()
        .and_then(|k| plan.columns.iter().position(|c| c.name == k));
    let failed = |e: &dyn std::fmt::Display| {
        format!(
            "stream '{}': reading {} failed: {e}",
            plan.stream,
            plan.table.sql_name()
        )
    };
    let log_based = plan.method == Method::LogBased;
    let mut names: Vec<&str> = plan.columns.iter().map(|c| c.name.as_str()).collect();
    if log_based {
        names.extend(crate::cdc::SDC_COLUMNS);
    }
    let mut writer = RecordWriter::new(&plan.stream, &names);

    let copy = client.copy_out(&sql).map_err(|e| failed(&e))?;
    let mut rows = BinaryRows::new(copy);
    let mut fields = Vec::new();
    let mut scratch = Vec::new();
    let mut last_key: Option<Vec<u8>> = None;
    let mut count = 0u64;
    let bookmark_value = |last: &Option<Vec<u8>>, rk: &str| -> Result<Option<Value>, String> {
        match last {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice::<Value>(bytes)
                .map(|v| Some(json!({"replication_key": rk, "replication_key_value": v})))
                .map_err(|e| {
                    format!(
                        "stream '{}': replication key value is not JSON: {e}",
                        plan.stream
                    )
                }),
        }
    };
    loop {
        let row = match rows.next_row(&mut fields) {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => return Err(failed(&e)),
        };
        if fields.len() != plan.columns.len() {
            return Err(failed(&format!(
                "the server sent {} columns, expected {}",
                fields.len(),
                plan.columns.len()
            )));
        }
        writer.start();
        for (i, (field, column)) in fields.iter().zip(&plan.columns).enumerate() {
            let value = match field {
                None => Fixed::Null,
                Some(range) => render_value(
                    &column.kind,
                    settings.options,
                    &row[range.clone()],
                    &mut scratch,
                )
                .map_err(|e| failed(&format!("column '{}': {e}", column.name)))?,
            };
            let bytes: &[u8] = match &value {
                Fixed::Null => b"null",
                Fixed::Bytes(b) => b,
            };
            writer.field(i, bytes);
            if Some(i) == rk_index && !matches!(value, Fixed::Null) {
                let slot = last_key.get_or_insert_with(Vec::new);
                slot.clear();
                slot.extend_from_slice(bytes);
            }
        }
        if log_based {
            writer.field(plan.columns.len(), b"null");
            writer.field(plan.columns.len() + 1, b"null");
        }
        writer.finish(out)?;
        count += 1;
        if state_every > 0 && count.is_multiple_of(state_every) {
            if let Some(rk) = &rk {
                if let Some(b) = bookmark_value(&last_key, rk)? {
                    set_bookmark(state, &plan.stream, b);
                    emit_state(out, state)?;
                }
            }
        }
    }
    drop(rows);
    if let Some(rk) = &rk {
        if let Some(b) = bookmark_value(&last_key, rk)? {
            set_bookmark(state, &plan.stream, b);
        }
    }
    log::info(&format!(
        "tap-postgres: stream '{}': {count} record{}",
        plan.stream,
        if count == 1 { "" } else { "s" }
    ));
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Kind;

    #[test]
    fn methods_follow_the_sdk() {
        assert_eq!(method("s", None, None), Ok(Method::FullTable));
        assert_eq!(method("s", Some(""), None), Ok(Method::FullTable));
        assert_eq!(
            method("s", Some("FULL_TABLE"), Some("k")),
            Ok(Method::FullTable)
        );
        assert_eq!(
            method("s", None, Some("k")),
            Ok(Method::Incremental { key: "k".into() })
        );
        assert_eq!(method("s", Some("LOG_BASED"), None), Ok(Method::LogBased));
        for (m, needle) in [
            ("INCREMENTAL", "needs a replication-key"),
            ("CDC", "unknown replication-method"),
        ] {
            match method("s", Some(m), None) {
                Err(e) => assert!(e.contains(needle), "{e}"),
                Ok(m) => panic!("{m:?}"),
            }
        }
    }

    #[test]
    fn bookmarks_are_read_from_the_sdk_state_shape() {
        let state = json!({"bookmarks": {"s-t": {"replication_key": "k", "replication_key_value": "2024-01-01T00:00:00.000000+00:00"}, "s-n": {"replication_key": "n", "replication_key_value": 42}}});
        assert_eq!(
            bookmark(&state, "s-t", "k").as_deref(),
            Some("2024-01-01T00:00:00.000000+00:00")
        );
        assert_eq!(bookmark(&state, "s-n", "n").as_deref(), Some("42"));
        assert_eq!(bookmark(&state, "s-t", "other"), None);
        assert_eq!(bookmark(&state, "s-x", "k"), None);
    }

    #[test]
    fn copy_statement_filters_orders_and_limits() {
        let settings = crate::config::settings(
            &serde_json::from_value(json!({
                "host": "h",
                "max_record_count": 5,
                "stream_options": {"s-t": {"custom_where_clauses": ["a > 1"]}}
            }))
            .unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let column = |name: &str, kind: Kind, sql_type: &str| Column {
            name: name.into(),
            kind,
            sql_type: sql_type.into(),
        };
        let columns = vec![
            column("a", Kind::Integer, "integer"),
            column("u", Kind::Timestamp, "timestamp with time zone"),
        ];
        let plan = Plan {
            stream: "s-t".into(),
            table: Table {
                schema: "s".into(),
                name: "t".into(),
                is_view: false,
                columns: columns.clone(),
                key: vec![],
            },
            columns,
            schema: json!({}),
            key_properties: vec![],
            method: Method::Incremental { key: "u".into() },
        };
        let sql = copy_sql(&plan, Some("it's"), &settings).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sql,
            "COPY (SELECT \"a\"::text, \"u\"::text FROM \"s\".\"t\" WHERE \"u\" >= \
             CAST('it''s' AS timestamp with time zone) AND (a > 1) ORDER BY \"s\".\"t\".\"u\" ASC NULLS \
             FIRST LIMIT 5) TO STDOUT (FORMAT binary)"
        );
    }
}
