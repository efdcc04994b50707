//! LOG_BASED: the changes of the selected tables, read from a logical replication slot.
//!
//! One pass serves every LOG_BASED stream of a run, over an ordinary connection (see
//! `smelt_pg::replication` for why SQL and not the replication protocol):
//!
//! 1. Check the server (`wal_level = logical`, the REPLICATION privilege); make sure the
//!    publication holds the selected tables and the slot (`pgoutput`) exists, creating them
//!    when missing (the publication first: a slot cannot decode changes made before its
//!    publication existed).
//! 2. Advance the slot to the smallest LSN in the incoming state. That state was saved after
//!    the target committed an earlier run's records, so the WAL before it can be released;
//!    a run whose state was not saved leaves the slot where it was, and the next run reads
//!    the same changes again (at-least-once, never a lost change).
//! 3. Take the server's flushed WAL position as this run's end, so a run ends even while
//!    writes go on, and read `pg_logical_slot_peek_binary_changes` up to it with one binary
//!    COPY (bounded memory; every chunk under `statement_timeout_seconds`).
//! 4. Each insert, update and delete of a selected table becomes a RECORD of the selected
//!    columns plus `_sdc_deleted_at` (set on deletes, which carry the key columns only unless
//!    `REPLICA IDENTITY FULL`) and `_sdc_lsn`. Values arrive in PostgreSQL's text form; the
//!    server renders them, a batch per stream, with the same expressions FULL_TABLE uses, so
//!    both methods write a value the same way.
//! 5. STATE (MeltanoLabs' shape: `replication_key` `_sdc_lsn`, the LSN as an integer) is
//!    emitted at transaction ends every `state_every` records, and at the end with the
//!    run's end position.

use std::collections::HashMap;
use std::io::Write;

use serde_json::{json, Value};
use smelt_pg::replication::{decode, Lsn, Message, OldTuple, Value as Cell};
use smelt_pg::tokio_postgres::types::ToSql;
use smelt_pg::{quote_ident, quote_literal, BinaryRows, PgCalls, PgClient};
use smelt_plugin_sdk::log;

use crate::config::Settings;
use crate::sync::{emit_state, read_rows, set_bookmark, write_schema, Plan, RecordWriter};
use crate::types::{render_value, select_expr, Fixed};

/// The replication key of LOG_BASED streams: the change's WAL position.
pub const LSN_COLUMN: &str = "_sdc_lsn";
/// When a row was deleted (set on delete records only).
pub const DELETED_AT_COLUMN: &str = "_sdc_deleted_at";
/// The columns LOG_BASED records carry besides the table's, in record order.
pub const SDC_COLUMNS: [&str; 2] = [DELETED_AT_COLUMN, LSN_COLUMN];
/// Changes rendered per round trip.
const BATCH: usize = 2_000;

/// Whether `name` is one of the columns LOG_BASED adds.
pub fn is_sdc_column(name: &str) -> bool {
    SDC_COLUMNS.contains(&name)
}

/// Turn a stream's schema into its LOG_BASED form, as MeltanoLabs does: every property
/// nullable (a delete carries only the key), no `required`, and the two `_sdc_` columns.
pub fn log_based_schema(schema: &mut Value) {
    let Some(root) = schema.as_object_mut() else {
        return;
    };
    root.remove("required");
    let Some(Value::Object(props)) = root.get_mut("properties") else {
        return;
    };
    for prop in props.values_mut() {
        match prop.get_mut("type") {
            Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
                types.push(json!("null"));
            }
            Some(t @ Value::String(_)) if t != "null" => {
                *t = json!([t.clone(), "null"]);
            }
            _ => {}
        }
    }
    props.insert(
        DELETED_AT_COLUMN.into(),
        json!({"type": ["string", "null"]}),
    );
    props.insert(LSN_COLUMN.into(), json!({"type": ["integer", "null"]}));
}

/// The LSN bookmark of `stream` (`replication_key_value`, an integer as MeltanoLabs writes
/// it; `X/Y` text is accepted too). A bookmark for another replication key is ignored.
pub fn lsn_bookmark(state: &Value, stream: &str) -> Result<Option<Lsn>, String> {
    let Some(entry) = state.get("bookmarks").and_then(|b| b.get(stream)) else {
        return Ok(None);
    };
    if let Some(key) = entry.get("replication_key").and_then(Value::as_str) {
        if key != LSN_COLUMN {
            log::warn(&format!(
                "tap-postgres: stream '{stream}': the state's bookmark is for replication key \
                 {key:?}, not {LSN_COLUMN}; reading changes as for a stream without one"
            ));
            return Ok(None);
        }
    }
    let bad = |v: &Value| {
        format!(
            "stream '{stream}': the state's replication_key_value {v} is not an LSN (an \
             integer, or text such as 16/B374D848)"
        )
    };
    match entry.get("replication_key_value") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|n| Some(Lsn(n)))
            .ok_or_else(|| bad(&json!(n))),
        Some(Value::String(s)) => match s.trim().parse::<u64>() {
            Ok(n) => Ok(Some(Lsn(n))),
            Err(_) => s.parse::<Lsn>().map(Some).map_err(|_| bad(&json!(s))),
        },
        Some(other) => Err(bad(other)),
    }
}

fn streams_of(plans: &[&Plan]) -> String {
    let names: Vec<String> = plans.iter().map(|p| format!("'{}'", p.stream)).collect();
    names.join(", ")
}

/// Refuse early, saying what to change, when the server does not write logical WAL. (The
/// REPLICATION privilege is not checked up front: managed services grant it through roles of
/// their own; a refusal is explained where it happens, see [`slot_error`].)
fn check_server(client: &mut PgClient, plans: &[&Plan], location: &str) -> Result<(), String> {
    let row = client
        .query_one("SELECT current_setting('wal_level')", &[])
        .map_err(|e| format!("{location}: could not read the server's settings: {e}"))?;
    let wal_level: String = row.get(0);
    if wal_level != "logical" {
        return Err(format!(
            "LOG_BASED stream(s) {} need logical replication, but {location} runs with \
             wal_level = {wal_level}; set wal_level = logical (ALTER SYSTEM SET wal_level = \
             logical, or in postgresql.conf), make sure max_replication_slots and \
             max_wal_senders are above 0, and restart PostgreSQL",
            streams_of(plans)
        ));
    }
    Ok(())
}

/// Make sure publication `name` exists and publishes every table of `plans`.
fn ensure_publication(client: &mut PgClient, name: &str, plans: &[&Plan]) -> Result<(), String> {
    let tables: Vec<String> = plans.iter().map(|p| p.table.sql_name()).collect();
    let row = client
        .query_opt(
            "SELECT puballtables, pubinsert AND pubupdate AND pubdelete FROM pg_publication \
             WHERE pubname = $1",
            &[&name],
        )
        .map_err(|e| format!("could not read publication {name:?}: {e}"))?;
    let Some(row) = row else {
        check_replica_identity(client, plans)?;
        let sql = format!(
            "CREATE PUBLICATION {} FOR TABLE {}",
            quote_ident(name),
            tables.join(", ")
        );
        client.batch_execute(&sql).map_err(|e| {
            format!(
                "could not create publication {name:?} for {}: {e}; create it as the tables' \
                 owner ({sql}) or name an existing one in publication_name",
                tables.join(", ")
            )
        })?;
        log::info(&format!(
            "tap-postgres: created publication {name:?} for {}",
            tables.join(", ")
        ));
        return Ok(());
    };
    let all: bool = row.get(0);
    let every_change: bool = row.get(1);
    if !every_change {
        log::warn(&format!(
            "tap-postgres: publication {name:?} does not publish every insert, update and \
             delete (see its publish option); those it omits are not read"
        ));
    }
    if all {
        return Ok(());
    }
    let published = client
        .query(
            "SELECT schemaname::text, tablename::text FROM pg_publication_tables \
             WHERE pubname = $1",
            &[&name],
        )
        .map_err(|e| format!("could not read the tables of publication {name:?}: {e}"))?;
    let missing_plans: Vec<&Plan> = plans
        .iter()
        .filter(|p| {
            !published.iter().any(|r| {
                r.get::<_, String>(0) == p.table.schema && r.get::<_, String>(1) == p.table.name
            })
        })
        .copied()
        .collect();
    if missing_plans.is_empty() {
        return Ok(());
    }
    check_replica_identity(client, &missing_plans)?;
    let missing: Vec<String> = missing_plans.iter().map(|p| p.table.sql_name()).collect();
    let sql = format!(
        "ALTER PUBLICATION {} ADD TABLE {}",
        quote_ident(name),
        missing.join(", ")
    );
    client.batch_execute(&sql).map_err(|e| {
        format!(
            "publication {name:?} does not publish {} and adding them failed: {e}; run \
             {sql} as the publication's owner",
            missing.join(", ")
        )
    })?;
    log::info(&format!(
        "tap-postgres: added {} to publication {name:?} (their changes are read from now on)",
        missing.join(", ")
    ));
    Ok(())
}

/// Refuse to publish a table without a replica identity (PostgreSQL would then fail every
/// UPDATE and DELETE on it, the publication publishing them, breaking the application) or a
/// partitioned table (its changes come under its partitions' names).
fn check_replica_identity(client: &mut PgClient, plans: &[&Plan]) -> Result<(), String> {
    for plan in plans {
        let row = client
            .query_one(
                "SELECT c.relreplident::text, EXISTS (SELECT 1 FROM pg_index i \
                 WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisreplident)), \
                 c.relkind::text FROM pg_class c WHERE c.oid = $1::text::regclass",
                &[&plan.table.sql_name()],
            )
            .map_err(|e| {
                format!(
                    "stream '{}': could not read the replica identity of {}: {e}",
                    plan.stream,
                    plan.table.sql_name()
                )
            })?;
        let identity: String = row.get(0);
        let has_index: bool = row.get(1);
        let relkind: String = row.get(2);
        if relkind == "p" {
            // pgoutput reports a partition's changes under the partition's name.
            return Err(format!(
                "stream '{}': {} is a partitioned table, which LOG_BASED does not read yet; \
                 select its partitions' streams instead",
                plan.stream,
                plan.table.sql_name()
            ));
        }
        let usable = identity == "f" || (identity != "n" && has_index);
        if !usable {
            return Err(format!(
                "stream '{}': {} has no replica identity (no primary key, or REPLICA IDENTITY \
                 NOTHING); published, every UPDATE and DELETE on it would fail, so smelt does \
                 not add it to a publication: add a primary key or run ALTER TABLE {} REPLICA \
                 IDENTITY FULL",
                plan.stream,
                plan.table.sql_name(),
                plan.table.sql_name()
            ));
        }
    }
    Ok(())
}

/// Make sure slot `name` exists, uses pgoutput in this database and is usable; returns its
/// confirmed position (where reading starts).
fn ensure_slot(client: &mut PgClient, name: &str, publication: &str) -> Result<Lsn, String> {
    let parse = |text: Option<String>| -> Result<Option<Lsn>, String> {
        text.map(|t| t.parse::<Lsn>()).transpose()
    };
    let row = client
        .query_opt(
            "SELECT plugin::text, database::text, confirmed_flush_lsn::text, \
             to_jsonb(s) ->> 'wal_status', current_database()::text \
             FROM pg_replication_slots s WHERE slot_name = $1",
            &[&name],
        )
        .map_err(|e| format!("could not read replication slot {name:?}: {e}"))?;
    let Some(row) = row else {
        let row = client
            .query_one(
                "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&name],
            )
            .map_err(|e| slot_error("create", &e, name, publication))?;
        let lsn = parse(row.get(0))?.unwrap_or_default();
        log::info(&format!(
            "tap-postgres: created replication slot {name:?} (pgoutput) at {lsn}; changes \
             from here on are read"
        ));
        return Ok(lsn);
    };
    let plugin: Option<String> = row.get(0);
    let database: Option<String> = row.get(1);
    let wal_status: Option<String> = row.get(3);
    let here: String = row.get(4);
    let drop_hint = format!(
        "set replication_slot_name to another name (smelt creates it), or drop this slot with \
         SELECT pg_drop_replication_slot({})",
        quote_literal(name)
    );
    if plugin.as_deref() != Some("pgoutput") {
        return Err(format!(
            "replication slot {name:?} is {}, but smelt reads pgoutput slots; {drop_hint}",
            match plugin {
                Some(p) => format!("a logical slot for the {p} plugin"),
                None => "a physical slot".to_string(),
            }
        ));
    }
    if database.as_deref() != Some(here.as_str()) {
        return Err(format!(
            "replication slot {name:?} belongs to database {:?}, not {here:?}; {drop_hint}",
            database.unwrap_or_default()
        ));
    }
    if wal_status.as_deref() == Some("lost") {
        return Err(format!(
            "replication slot {name:?} is invalid: the server removed WAL it still needed \
             (max_slot_wal_keep_size), so changes were lost; drop it with SELECT \
             pg_drop_replication_slot({}), then re-read the tables (auto_bootstrap_log_based, \
             or a FULL_TABLE run) before LOG_BASED runs again",
            quote_literal(name)
        ));
    }
    let confirmed = parse(row.get(2))?.ok_or_else(|| {
        format!("replication slot {name:?} has no confirmed position yet; {drop_hint}")
    })?;
    Ok(confirmed)
}

/// The server's flushed WAL position.
fn flush_lsn(client: &mut PgClient) -> Result<Lsn, String> {
    let row = client
        .query_one("SELECT pg_current_wal_flush_lsn()::text", &[])
        .map_err(|e| format!("could not read the server's WAL position: {e}"))?;
    row.get::<_, String>(0).parse()
}

/// Explain a failure to create, advance or read the slot (`doing`: "create", "advance",
/// "read").
fn slot_error(doing: &str, e: &dyn std::fmt::Display, slot: &str, publication: &str) -> String {
    let text = e.to_string();
    let hint = if text.contains("replication role") || text.contains("use replication slots") {
        "; the user needs the REPLICATION privilege (ALTER ROLE <user> REPLICATION, as a \
         superuser; managed services grant it through a role of their own, such as \
         rds_replication)"
            .to_string()
    } else if text.contains("replication slots are in use") {
        "; raise max_replication_slots or drop an unused slot".to_string()
    } else if text.contains("is active for PID") {
        "; another reader (a second run of this pipeline?) is using the slot: run one at a \
         time, or give each its own replication_slot_name"
            .to_string()
    } else if text.contains("publication") && text.contains("does not exist") {
        format!(
            "; the slot's position is older than publication {publication:?}: drop the slot \
             (SELECT pg_drop_replication_slot({})) so smelt creates it after the publication",
            quote_literal(slot)
        )
    } else {
        String::new()
    };
    format!("could not {doing} replication slot {slot:?}: {text}{hint}")
}

/// Where the columns of a replicated table go.
struct Mapping {
    /// The index of the stream.
    stream: usize,
    /// For each column of the relation, the index of the plan column it fills.
    columns: Vec<Option<usize>>,
    /// For each column of the relation, whether it is part of the replica identity.
    key: Vec<bool>,
}

/// One change waiting to be rendered.
struct Change {
    stream: usize,
    /// Its row in the stream's batch.
    row: usize,
    /// Its `_sdc_lsn`: where its transaction's commit record starts (the same for every
    /// change of a transaction, and increasing in commit order, the order of the records).
    lsn: Lsn,
    deleted_at: Option<String>,
}

/// The text values of one stream's waiting changes, column by column, and which columns
/// each change carries (unchanged TOASTed values and a delete's non-key columns are absent).
#[derive(Default)]
struct Batch {
    columns: Vec<Vec<Option<String>>>,
    present: Vec<Vec<bool>>,
}

/// Renders one stream's text values as JSON, on the server, with FULL_TABLE's expressions.
struct Renderer {
    sql: String,
    writer: RecordWriter,
}

impl Renderer {
    fn new(plan: &Plan, settings: &Settings) -> Renderer {
        let n = plan.columns.len();
        let casts: Vec<String> = plan
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("CAST(u.v{i} AS {}) AS {}", c.sql_type, quote_ident(&c.name)))
            .collect();
        let arrays: Vec<String> = (1..=n).map(|i| format!("${i}::text[]")).collect();
        let aliases: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
        let exprs: Vec<String> = plan
            .columns
            .iter()
            .map(|c| select_expr(&c.name, &c.kind, settings.options))
            .collect();
        let sql = format!(
            "SELECT {} FROM (SELECT u.o AS \"smelt.ord\", {} FROM unnest({}) WITH ORDINALITY \
             AS u({}, o)) AS s ORDER BY s.\"smelt.ord\"",
            exprs.join(", "),
            casts.join(", "),
            arrays.join(", "),
            aliases.join(", ")
        );
        let mut names: Vec<&str> = plan.columns.iter().map(|c| c.name.as_str()).collect();
        names.extend(SDC_COLUMNS);
        Renderer {
            sql,
            writer: RecordWriter::new(&plan.stream, &names),
        }
    }
}

/// Collects changes and writes them as RECORDs, a batch at a time.
struct Emitter<'p> {
    plans: &'p [&'p Plan],
    settings: &'p Settings,
    renderers: Vec<Renderer>,
    batches: Vec<Batch>,
    changes: Vec<Change>,
    /// A second connection for rendering (the first is busy with the slot's COPY).
    render_client: Option<PgClient>,
    /// Records written.
    count: u64,
}

impl<'p> Emitter<'p> {
    fn new(plans: &'p [&'p Plan], settings: &'p Settings) -> Emitter<'p> {
        Emitter {
            plans,
            settings,
            renderers: plans.iter().map(|p| Renderer::new(p, settings)).collect(),
            batches: plans.iter().map(|_| Batch::default()).collect(),
            changes: Vec::new(),
            render_client: None,
            count: 0,
        }
    }

    /// Queue one change: `values` are the relation's columns (for a delete, its old tuple,
    /// of which only the key columns count when `key_only`).
    fn add<W: Write + ?Sized>(
        &mut self,
        mapping: &Mapping,
        values: &[Cell<'_>],
        key_only: bool,
        lsn: Lsn,
        deleted_at: Option<String>,
        out: &mut W,
    ) -> Result<(), String> {
        let width = self.plans[mapping.stream].columns.len();
        let batch = &mut self.batches[mapping.stream];
        if batch.columns.len() != width {
            batch.columns = vec![Vec::new(); width];
        }
        let row = batch.present.len();
        for column in &mut batch.columns {
            column.push(None);
        }
        let mut present = vec![false; width];
        for (j, value) in values.iter().enumerate() {
            let Some(Some(i)) = mapping.columns.get(j) else {
                continue;
            };
            if key_only && !mapping.key.get(j).copied().unwrap_or(false) {
                continue;
            }
            match value {
                // Not sent: leaving the column out keeps the target's value.
                Cell::UnchangedToast => {}
                Cell::Null => present[*i] = true,
                Cell::Text(t) => {
                    present[*i] = true;
                    batch.columns[*i][row] = Some((*t).to_string());
                }
            }
        }
        batch.present.push(present);
        self.changes.push(Change {
            stream: mapping.stream,
            row,
            lsn,
            deleted_at,
        });
        if self.changes.len() >= BATCH {
            self.flush(out)?;
        }
        Ok(())
    }

    /// Render the queued changes (one query per stream) and write them in order.
    fn flush<W: Write + ?Sized>(&mut self, out: &mut W) -> Result<(), String> {
        if self.changes.is_empty() {
            return Ok(());
        }
        if self.render_client.is_none() {
            self.render_client = Some(self.settings.connect()?);
        }
        let Some(client) = self.render_client.as_mut() else {
            return Ok(());
        };
        let mut rendered: Vec<Vec<Vec<Option<String>>>> = Vec::with_capacity(self.plans.len());
        for ((plan, batch), renderer) in self.plans.iter().zip(&self.batches).zip(&self.renderers) {
            if batch.present.is_empty() {
                rendered.push(Vec::new());
                continue;
            }
            let params: Vec<&(dyn ToSql + Sync)> = batch
                .columns
                .iter()
                .map(|c| c as &(dyn ToSql + Sync))
                .collect();
            let failed = |e: &dyn std::fmt::Display| {
                format!(
                    "stream '{}': could not convert {} changed rows of {} to JSON: {e}",
                    plan.stream,
                    batch.present.len(),
                    plan.table.sql_name()
                )
            };
            let rows = client
                .query(&renderer.sql, &params)
                .map_err(|e| failed(&e))?;
            if rows.len() != batch.present.len() {
                return Err(failed(&format!(
                    "{} rows came back for {}",
                    rows.len(),
                    batch.present.len()
                )));
            }
            let mut values = Vec::with_capacity(rows.len());
            for row in rows {
                let mut one = Vec::with_capacity(plan.columns.len());
                for i in 0..plan.columns.len() {
                    one.push(
                        row.try_get::<_, Option<String>>(i)
                            .map_err(|e| failed(&smelt_pg::describe(&e)))?,
                    );
                }
                values.push(one);
            }
            rendered.push(values);
        }
        let options = self.settings.options;
        let mut scratch = Vec::new();
        for change in self.changes.drain(..) {
            let plan = self.plans[change.stream];
            let writer = &mut self.renderers[change.stream].writer;
            let values = &rendered[change.stream][change.row];
            let present = &self.batches[change.stream].present[change.row];
            writer.start();
            for (i, column) in plan.columns.iter().enumerate() {
                if !present[i] {
                    continue;
                }
                let value = match &values[i] {
                    None => Fixed::Null,
                    Some(text) => {
                        render_value(&column.kind, options, text.as_bytes(), &mut scratch).map_err(
                            |e| {
                                format!(
                                    "stream '{}': column '{}' of a changed row: {e}",
                                    plan.stream, column.name
                                )
                            },
                        )?
                    }
                };
                writer.field(
                    i,
                    match &value {
                        Fixed::Null => b"null",
                        Fixed::Bytes(b) => b,
                    },
                );
            }
            let n = plan.columns.len();
            match &change.deleted_at {
                Some(at) => writer.field(n, format!("\"{at}\"").as_bytes()),
                None => writer.field(n, b"null"),
            }
            writer.field(n + 1, change.lsn.0.to_string().as_bytes());
            writer.finish(out)?;
            self.count += 1;
        }
        for batch in &mut self.batches {
            batch.columns.clear();
            batch.present.clear();
        }
        Ok(())
    }
}

/// Sync the LOG_BASED `plans`: SCHEMA for each, then their changes from the slot (and, with
/// `auto_bootstrap_log_based`, a snapshot of streams without a bookmark first), with STATE.
pub fn sync<W: Write + ?Sized>(
    client: &mut PgClient,
    plans: &[&Plan],
    settings: &Settings,
    state: &mut Value,
    out: &mut W,
    state_every: u64,
) -> Result<(), String> {
    let slot = settings.log_based.slot.as_str();
    let publication = settings.log_based.publication.as_str();
    check_server(client, plans, &settings.connection.location)?;
    ensure_publication(client, publication, plans)?;
    let mut confirmed = ensure_slot(client, slot, publication)?;

    let mut starts: Vec<Option<Lsn>> = Vec::with_capacity(plans.len());
    for plan in plans {
        starts.push(lsn_bookmark(state, &plan.stream)?);
    }
    if let Some(saved) = starts.iter().flatten().min().copied() {
        if saved > confirmed {
            let row = client
                .query_one(
                    "SELECT end_lsn::text FROM pg_replication_slot_advance($1, $2::text::pg_lsn)",
                    &[&slot, &saved.to_string()],
                )
                .map_err(|e| slot_error("advance", &e, slot, publication))?;
            let moved: Lsn = row.get::<_, String>(0).parse()?;
            log::info(&format!(
                "tap-postgres: replication slot {slot:?} advanced from {confirmed} to {moved}, \
                 the state's position (its changes were saved by an earlier run)"
            ));
            confirmed = moved;
        } else if saved < confirmed {
            log::warn(&format!(
                "tap-postgres: the state's position {saved} is behind replication slot \
                 {slot:?}'s confirmed position {confirmed}: another reader of the slot consumed \
                 the changes in between, which are not read again"
            ));
        }
    }

    for plan in plans {
        write_schema(out, plan)?;
    }

    if settings.log_based.bootstrap && starts.iter().any(Option::is_none) {
        // The position before the snapshot: a change made during the read is read again
        // from the slot (at-least-once), none is missed.
        let snapshot = flush_lsn(client)?;
        for (plan, start) in plans.iter().zip(starts.iter_mut()) {
            if start.is_none() {
                read_rows(client, plan, settings, state, out, 0)?;
                *start = Some(snapshot);
                set_bookmark(state, &plan.stream, lsn_state(snapshot));
            }
        }
        emit_state(out, state)?;
    }

    let end = flush_lsn(client)?;
    let mut last = confirmed;
    if end > confirmed {
        log::info(&format!(
            "tap-postgres: reading the changes of {} from replication slot {slot:?} \
             (publication {publication:?}), {confirmed} to {end}",
            streams_of(plans)
        ));
        last = read_changes(
            client,
            plans,
            settings,
            &starts,
            end,
            state,
            out,
            state_every,
        )?;
    }
    let done = end.max(last).max(confirmed);
    for (plan, start) in plans.iter().zip(&starts) {
        let at = start.map_or(done, |s| s.max(done));
        set_bookmark(state, &plan.stream, lsn_state(at));
    }
    emit_state(out, state)
}

/// A LOG_BASED bookmark.
fn lsn_state(lsn: Lsn) -> Value {
    json!({"replication_key": LSN_COLUMN, "replication_key_value": lsn.0})
}

/// Read the slot's changes up to `end` and write them; returns the end of the last
/// transaction read.
#[allow(clippy::too_many_arguments)]
fn read_changes<W: Write + ?Sized>(
    client: &mut PgClient,
    plans: &[&Plan],
    settings: &Settings,
    starts: &[Option<Lsn>],
    end: Lsn,
    state: &mut Value,
    out: &mut W,
    state_every: u64,
) -> Result<Lsn, String> {
    let slot = settings.log_based.slot.as_str();
    let publication = settings.log_based.publication.as_str();
    let sql = format!(
        "COPY (SELECT lsn, data FROM pg_logical_slot_peek_binary_changes({}, {}::pg_lsn, NULL, \
         'proto_version', '1', 'publication_names', {})) TO STDOUT (FORMAT binary)",
        quote_literal(slot),
        quote_literal(&end.to_string()),
        quote_literal(&quote_ident(publication))
    );
    let mut emitter = Emitter::new(plans, settings);
    let mut relations: HashMap<u32, Option<Mapping>> = HashMap::new();
    let copy = client
        .copy_out(&sql)
        .map_err(|e| slot_error("read", &e, slot, publication))?;
    let mut rows = BinaryRows::new(copy);
    let mut fields = Vec::new();
    let mut commit_at = Lsn(0);
    let mut last_end = Lsn(0);
    let mut stated = 0u64;
    let mut truncated = vec![false; plans.len()];
    loop {
        let row = match rows.next_row(&mut fields) {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => return Err(slot_error("read", &e, slot, publication)),
        };
        let (Some(Some(at)), Some(Some(data))) = (fields.first(), fields.get(1)) else {
            return Err(format!(
                "replication slot {slot:?}: the server sent a change without lsn or data"
            ));
        };
        let lsn = <[u8; 8]>::try_from(&row[at.clone()])
            .map(|b| Lsn(u64::from_be_bytes(b)))
            .map_err(|_| format!("replication slot {slot:?}: an LSN is not 8 bytes"))?;
        let message = decode(&row[data.clone()]).map_err(|e| {
            format!("replication slot {slot:?}: could not decode the change at {lsn}: {e}")
        })?;
        // Whether the current transaction is new to a stream: the slot's own rule (a
        // transaction whose commit starts before the position is skipped), per stream.
        let wanted = |stream: usize| commit_at >= starts[stream].unwrap_or_default();
        match message {
            Message::Begin { final_lsn, .. } => commit_at = final_lsn,
            Message::Commit { end_lsn, .. } => {
                last_end = end_lsn;
                if state_every > 0 && emitter.count - stated >= state_every {
                    emitter.flush(out)?;
                    stated = emitter.count;
                    for (plan, start) in plans.iter().zip(starts) {
                        let at = start.map_or(end_lsn, |s| s.max(end_lsn));
                        set_bookmark(state, &plan.stream, lsn_state(at));
                    }
                    emit_state(out, state)?;
                }
            }
            Message::Relation(rel) => {
                let mapping = plans
                    .iter()
                    .position(|p| p.table.schema == rel.namespace && p.table.name == rel.name)
                    .map(|stream| Mapping {
                        stream,
                        columns: rel
                            .columns
                            .iter()
                            .map(|c| plans[stream].columns.iter().position(|p| p.name == c.name))
                            .collect(),
                        key: rel.columns.iter().map(|c| c.is_key).collect(),
                    });
                relations.insert(rel.oid, mapping);
            }
            Message::Insert { relation, new } | Message::Update { relation, new, .. } => {
                if let Some(Some(m)) = relations.get(&relation) {
                    if wanted(m.stream) {
                        emitter.add(m, &new, false, commit_at, None, out)?;
                    }
                }
            }
            Message::Delete { relation, old } => {
                if let Some(Some(m)) = relations.get(&relation) {
                    if wanted(m.stream) {
                        let key_only = matches!(old, OldTuple::Key(_));
                        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
                        emitter.add(m, old.values(), key_only, commit_at, Some(now), out)?;
                    }
                }
            }
            Message::Truncate {
                relations: oids, ..
            } => {
                for oid in oids {
                    if let Some(Some(m)) = relations.get(&oid) {
                        if wanted(m.stream) && !truncated[m.stream] {
                            truncated[m.stream] = true;
                            log::warn(&format!(
                                "tap-postgres: stream '{}': {} was truncated at {lsn}; a \
                                 TRUNCATE is not a row change and is not replicated (read the \
                                 table with FULL_TABLE to catch up the target)",
                                plans[m.stream].stream,
                                plans[m.stream].table.sql_name()
                            ));
                        }
                    }
                }
            }
            Message::Origin { .. } | Message::Type { .. } | Message::Message { .. } => {}
        }
    }
    drop(rows);
    emitter.flush(out)?;
    log::info(&format!(
        "tap-postgres: {} change record{} from replication slot {slot:?}",
        emitter.count,
        if emitter.count == 1 { "" } else { "s" }
    ));
    Ok(last_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_based_schemas_are_nullable_with_the_sdc_columns() {
        let mut schema = json!({
            "properties": {"id": {"type": ["integer"]}, "v": {"type": ["string", "null"]},
                           "n": {"type": "number"}},
            "type": "object",
            "required": ["id"]
        });
        log_based_schema(&mut schema);
        assert_eq!(
            schema,
            json!({
                "properties": {
                    "id": {"type": ["integer", "null"]},
                    "v": {"type": ["string", "null"]},
                    "n": {"type": ["number", "null"]},
                    "_sdc_deleted_at": {"type": ["string", "null"]},
                    "_sdc_lsn": {"type": ["integer", "null"]}
                },
                "type": "object"
            })
        );
    }

    #[test]
    fn lsn_bookmarks_in_meltanolabs_shape() {
        let state = json!({"bookmarks": {
            "a": {"replication_key": "_sdc_lsn", "replication_key_value": 22794224},
            "b": {"replication_key": "_sdc_lsn", "replication_key_value": "0/15BCFF0"},
            "c": {"replication_key": "updated_at", "replication_key_value": "2024-01-01"},
            "d": {"replication_key": "_sdc_lsn", "replication_key_value": -1}
        }});
        assert_eq!(lsn_bookmark(&state, "a"), Ok(Some(Lsn(22794224))));
        assert_eq!(lsn_bookmark(&state, "b"), Ok(Some(Lsn(0x15B_CFF0))));
        assert_eq!(lsn_bookmark(&state, "c"), Ok(None));
        assert_eq!(lsn_bookmark(&state, "x"), Ok(None));
        match lsn_bookmark(&state, "d") {
            Err(e) => assert!(e.contains("stream 'd'") && e.contains("not an LSN"), "{e}"),
            Ok(v) => panic!("{v:?}"),
        }
    }
}
