//! Where a stream's rows go (schema and table from the stream name, as MeltanoLabs names them)
//! and making that table: schema, table with its primary key, and missing columns.

use std::collections::HashMap;

use smelt_pg::{quote_ident, PgCalls};

/// What the loader needs to know about a stream's table: enough to create it, add columns,
/// and COPY and merge into it (sent to the loading thread).
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// The stream name, for messages.
    pub stream: String,
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub table: String,
    /// Columns written, in COPY order: name and SQL type.
    pub columns: Vec<(String, String)>,
    /// Key property columns (empty: append).
    pub keys: Vec<String>,
    /// Whether the rows are in binary COPY format (else text).
    pub binary: bool,
}

/// `(schema, table)` of a stream: the table is the last `-`-separated part of the name; the
/// schema is `default_target_schema`, else the part before the table when the name has two
/// or three parts (`public-users`, `db-public-users`), else `fallback` (the session's
/// current schema).
pub fn names(stream: &str, default_schema: Option<&str>, fallback: &str) -> (String, String) {
    let parts: Vec<&str> = stream.split('-').collect();
    let table = parts.last().copied().unwrap_or(stream).to_string();
    let schema = match default_schema {
        Some(s) => s.to_string(),
        None if parts.len() == 2 || parts.len() == 3 => parts[parts.len() - 2].to_string(),
        None => fallback.to_string(),
    };
    (schema, table)
}

/// `"schema"."table"`.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(table))
}

/// The columns of `schema.table` (name → `format_type`), or `None` when there is no such
/// table.
pub fn describe(
    db: &mut impl PgCalls,
    schema: &str,
    table: &str,
) -> Result<Option<HashMap<String, String>>, String> {
    let rows = db
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 \
                  AND NOT a.attisdropped \
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
            &[&schema, &table],
        )
        .map_err(|e| {
            format!(
                "could not read the columns of {}: {e}",
                qualified(schema, table)
            )
        })?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.iter()
            .filter_map(|r| {
                Some((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                ))
            })
            .collect(),
    ))
}

/// Make sure the stream's table exists with all its columns (inside the load's transaction,
/// so a failed or killed load leaves no half-made table). New tables get a primary key on the
/// key properties, as MeltanoLabs makes them; an existing column keeps its type.
pub fn ensure(db: &mut impl PgCalls, spec: &TableSpec) -> Result<(), String> {
    let target = qualified(&spec.schema, &spec.table);
    let fail = |what: &str, e: smelt_pg::PgError| {
        format!("stream `{}`: could not {what} {target}: {e}", spec.stream)
    };
    match describe(db, &spec.schema, &spec.table)? {
        None => {
            let exists = db
                .query_opt(
                    "SELECT 1 FROM pg_namespace WHERE nspname = $1",
                    &[&spec.schema],
                )
                .map_err(|e| fail("look for the schema of", e))?;
            if exists.is_none() {
                db.batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {}",
                    quote_ident(&spec.schema)
                ))
                .map_err(|e| fail("create the schema of", e))?;
            }
            let mut ddl = format!("CREATE TABLE {target} (");
            for (i, (name, sql)) in spec.columns.iter().enumerate() {
                if i > 0 {
                    ddl.push_str(", ");
                }
                ddl.push_str(&format!("{} {sql}", quote_ident(name)));
            }
            if !spec.keys.is_empty() {
                let keys: Vec<String> = spec.keys.iter().map(|k| quote_ident(k)).collect();
                ddl.push_str(&format!(", PRIMARY KEY ({})", keys.join(", ")));
            }
            ddl.push(')');
            db.batch_execute(&ddl).map_err(|e| fail("create", e))?;
        }
        Some(existing) => {
            let missing: Vec<String> = spec
                .columns
                .iter()
                .filter(|(name, _)| !existing.contains_key(name))
                .map(|(name, sql)| format!("ADD COLUMN {} {sql}", quote_ident(name)))
                .collect();
            if !missing.is_empty() {
                db.batch_execute(&format!("ALTER TABLE {target} {}", missing.join(", ")))
                    .map_err(|e| fail("add columns to", e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_meltanolabs() {
        assert_eq!(
            names("public-users", None, "cur"),
            ("public".to_string(), "users".to_string())
        );
        assert_eq!(
            names("db-sales-orders", None, "cur"),
            ("sales".to_string(), "orders".to_string())
        );
        assert_eq!(
            names("users", None, "cur"),
            ("cur".to_string(), "users".to_string())
        );
        assert_eq!(
            names("public-users", Some("melty"), "cur"),
            ("melty".to_string(), "users".to_string())
        );
        assert_eq!(
            names("a-b-c-d", None, "cur"),
            ("cur".to_string(), "d".to_string())
        );
    }
}
