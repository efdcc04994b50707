//! Discovery: the tables and views of the selected schemas, read from `pg_catalog`, and the
//! Singer catalog MeltanoLabs tap-postgres writes for them.

use serde_json::{json, Map, Value};
use smelt_pg::{PgCalls, PgClient};

use crate::types::{classify, json_schema, Kind, Options};

/// One column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// How it is typed and rendered.
    pub kind: Kind,
    /// `format_type(…)`, e.g. `timestamp with time zone`, for casting bookmarks.
    pub sql_type: String,
}

/// One table or view.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Whether it is a view or a materialized view.
    pub is_view: bool,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order.
    pub key: Vec<String>,
}

impl Table {
    /// The stream ID: `<schema>-<table>` (the Singer SDK's, as MeltanoLabs uses it).
    pub fn stream_id(&self) -> String {
        format!("{}-{}", self.schema, self.name)
    }

    /// `"schema"."table"`.
    pub fn sql_name(&self) -> String {
        format!(
            "{}.{}",
            smelt_pg::quote_ident(&self.schema),
            smelt_pg::quote_ident(&self.name)
        )
    }
}

/// Tables (partitioned, partitions and foreign ones too), views and materialized views, their
/// columns and primary keys; per schema the tables first, then the views, each by name (what
/// MeltanoLabs lists, in its order).
const COLUMNS_SQL: &str = "
SELECT n.nspname::text, c.relname::text, (c.relkind IN ('v', 'm')), a.attname::text,
       bt.typname::text, et.typname::text, a.atttypmod,
       format_type(a.atttypid, a.atttypmod),
       (SELECT array_position(i.indkey::int2[], a.attnum)
          FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
       CASE WHEN bt.typtype = 'e' THEN
         (SELECT max(length(e.enumlabel)) FROM pg_enum e WHERE e.enumtypid = bt.oid) END
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
  LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
   AND (cardinality($1::text[]) = 0 OR n.nspname = ANY($1::text[]))
   AND ($2::text IS NULL OR (n.nspname = $2 AND c.relname = $3))
 ORDER BY n.nspname, (c.relkind IN ('v', 'm')), c.relname, a.attnum";

/// Read the tables of `schemas` (all but the system schemas when empty), or only
/// `schema.table` when `only` names one.
pub fn tables(
    client: &mut PgClient,
    schemas: &[String],
    only: Option<(&str, &str)>,
) -> Result<Vec<Table>, String> {
    let (one_schema, one_table) = match only {
        Some((s, t)) => (Some(s), Some(t)),
        None => (None, None),
    };
    let rows = client
        .query(COLUMNS_SQL, &[&schemas, &one_schema, &one_table])
        .map_err(|e| format!("could not read the tables from pg_catalog: {e}"))?;
    let mut tables: Vec<Table> = Vec::new();
    let mut keys: Vec<Vec<(i32, String)>> = Vec::new();
    for row in rows {
        let get = |e: smelt_pg::tokio_postgres::Error| {
            format!("unexpected pg_catalog row: {}", smelt_pg::describe(&e))
        };
        let schema: String = row.try_get(0).map_err(get)?;
        let name: String = row.try_get(1).map_err(get)?;
        let is_view: bool = row.try_get(2).map_err(get)?;
        let column: String = row.try_get(3).map_err(get)?;
        let typname: String = row.try_get(4).map_err(get)?;
        let elem: Option<String> = row.try_get(5).map_err(get)?;
        let typmod: i32 = row.try_get(6).map_err(get)?;
        let sql_type: String = row.try_get(7).map_err(get)?;
        let key_pos: Option<i32> = row.try_get(8).map_err(get)?;
        let enum_len: Option<i32> = row.try_get(9).map_err(get)?;
        let same = tables
            .last()
            .is_some_and(|t| t.schema == schema && t.name == name);
        if !same {
            tables.push(Table {
                schema,
                name,
                is_view,
                columns: Vec::new(),
                key: Vec::new(),
            });
            keys.push(Vec::new());
        }
        let (Some(table), Some(key)) = (tables.last_mut(), keys.last_mut()) else {
            continue;
        };
        if let Some(pos) = key_pos {
            key.push((pos, column.clone()));
        }
        table.columns.push(Column {
            // An enum is a string as long as its longest label (SQLAlchemy's `Enum`).
            kind: match enum_len {
                Some(n) => Kind::Text {
                    max_length: Some(n),
                },
                None => classify(&typname, elem.as_deref(), typmod),
            },
            name: column,
            sql_type,
        });
    }
    for (table, mut key) in tables.iter_mut().zip(keys) {
        key.sort();
        table.key = key.into_iter().map(|(_, c)| c).collect();
    }
    Ok(tables)
}

/// The stream's JSON schema: every column, nullable unless a key property.
pub fn stream_schema(table: &Table, options: Options) -> Value {
    let mut properties = Map::new();
    for column in &table.columns {
        let nullable = !table.key.contains(&column.name);
        properties.insert(
            column.name.clone(),
            json_schema(&column.kind, nullable, options),
        );
    }
    let mut schema = Map::new();
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("type".into(), json!("object"));
    if !table.key.is_empty() {
        schema.insert("required".into(), json!(table.key));
    }
    schema.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    Value::Object(schema)
}

/// The catalog entry of a table, shaped as MeltanoLabs tap-postgres 0.10 writes it (the
/// Singer SDK's): `replication_method` and `forced-replication-method` are empty strings, no
/// `valid-replication-keys` or `selected-by-default`; key columns are `automatic`, the others
/// `available`; the stream's own metadata comes last.
pub fn catalog_entry(table: &Table, options: Options) -> Value {
    let id = table.stream_id();
    let mut metadata: Vec<Value> = table
        .columns
        .iter()
        .map(|c| {
            let inclusion = if table.key.contains(&c.name) {
                "automatic"
            } else {
                "available"
            };
            json!({"breadcrumb": ["properties", c.name], "metadata": {"inclusion": inclusion}})
        })
        .collect();
    metadata.push(json!({
        "breadcrumb": [],
        "metadata": {
            "inclusion": "available",
            "table-key-properties": table.key,
            "forced-replication-method": "",
            "schema-name": table.schema,
        }
    }));
    json!({
        "tap_stream_id": id,
        "table_name": table.name,
        "replication_method": "",
        "key_properties": table.key,
        "schema": stream_schema(table, options),
        "is_view": table.is_view,
        "stream": id,
        "metadata": metadata,
    })
}

/// The whole catalog.
pub fn catalog(tables: &[Table], options: Options) -> Value {
    json!({"streams": tables.iter().map(|t| catalog_entry(t, options)).collect::<Vec<_>>()})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            schema: "s".into(),
            name: "t".into(),
            is_view: false,
            columns: vec![
                Column {
                    name: "id".into(),
                    kind: Kind::Integer,
                    sql_type: "bigint".into(),
                },
                Column {
                    name: "v".into(),
                    kind: Kind::Text {
                        max_length: Some(20),
                    },
                    sql_type: "character varying(20)".into(),
                },
            ],
            key: vec!["id".into()],
        }
    }

    #[test]
    fn entry_matches_meltanolabs_shape() {
        let entry = catalog_entry(&table(), Options::default());
        let expected = json!({
            "tap_stream_id": "s-t",
            "table_name": "t",
            "replication_method": "",
            "key_properties": ["id"],
            "schema": {
                "properties": {
                    "id": {"type": ["integer"]},
                    "v": {"maxLength": 20, "type": ["string", "null"]}
                },
                "type": "object",
                "required": ["id"],
                "$schema": "https://json-schema.org/draft/2020-12/schema"
            },
            "is_view": false,
            "stream": "s-t",
            "metadata": [
                {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
                {"breadcrumb": ["properties", "v"], "metadata": {"inclusion": "available"}},
                {"breadcrumb": [], "metadata": {
                    "inclusion": "available",
                    "table-key-properties": ["id"],
                    "forced-replication-method": "",
                    "schema-name": "s"
                }}
            ]
        });
        assert_eq!(entry.to_string(), expected.to_string());
    }

    #[test]
    fn keyless_tables_have_no_required_list() {
        let mut t = table();
        t.key.clear();
        t.is_view = true;
        let entry = catalog_entry(&t, Options::default());
        assert!(entry["schema"].get("required").is_none());
        assert_eq!(
            entry["schema"]["properties"]["id"]["type"],
            json!(["integer", "null"])
        );
        assert_eq!(entry["is_view"], json!(true));
    }
}
