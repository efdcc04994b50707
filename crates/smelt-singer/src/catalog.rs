//! Meltano's catalog rules: an extractor's `select`, `metadata`, `schema` and `select_filter`
//! extras applied to the tap's discovered Singer catalog before the tap runs.
//!
//! The order is Meltano's: `schema` rules first; then metadata rules in this order — every
//! `selected` value reset to false (`!*.*`), the `select` patterns (inclusions, then
//! exclusions), the `metadata` extra, and last `select_filter`. Later rules win, so an
//! exclusion beats an inclusion and `select_filter` can only narrow what `select` chose.
//! Patterns are shell wildcards matched like Python's `fnmatch`.
//!
//! Where Meltano misbehaves, this module does the sensible thing instead (see
//! `docs/compatibility.md`): property names need not be `\w+` to get metadata, schema wildcards
//! never create literal `*` properties, a wildcard schema payload is not re-matched against
//! itself, escaped dots work in property paths, entries created for schema-only properties
//! always receive the rules, and a created stream-level entry is `inclusion: available` (not
//! `automatic`) so the stream can still be deselected.

mod error;
mod metadata;
mod pattern;
mod rules;
mod schema;
mod selection;
mod shape;
mod warnings;

use serde_json::{Map, Value};

pub use error::CatalogError;
/// Python `fnmatch` wildcard patterns, shared with the stream-maps mapper (wildcard stream keys).
pub use pattern::Pattern;
pub use selection::{PropertySelection, SelectionType, StreamSelection};
pub use warnings::RuleWarning;

/// The select/metadata/schema rules of one extractor, as written in meltano.yml.
///
/// Kept as plain data so the project crate can fill it from resolved settings (`select`,
/// `metadata`, `schema`, `select_filter` extras, or their `_`-prefixed setting names).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogRules {
    /// `select` patterns such as `users.id`, `users`, `!users.password`, `*.*`. Empty means
    /// Meltano's default, `*.*`.
    pub select: Vec<String>,
    /// `metadata` extra: `{<stream>: {<key>: <value>, <property>: {<key>: <value>}}}`.
    pub metadata: Map<String, Value>,
    /// `schema` extra: `{<stream>: {<property>: <JSON schema>}}`.
    pub schema: Map<String, Value>,
    /// `select_filter` stream patterns (`--select` / `--exclude`); `!` excludes.
    pub select_filter: Vec<String>,
}

/// The `select` rule Meltano uses when an extractor has none.
const DEFAULT_SELECT: &str = "*.*";

/// Applies the rules to a Singer catalog (the tap's --discover output), in place, as Meltano does.
///
/// Nothing is changed when an error is returned: the rules and the catalog's shape are checked
/// before the first edit. When the user supplies the catalog (the `catalog` extra), Meltano
/// applies only `select_filter`; use [`apply_select_filter`] for that case.
pub fn apply_rules(catalog: &mut Value, rules: &CatalogRules) -> Result<(), CatalogError> {
    let schema_rules = schema::schema_extra_rules(&rules.schema)?;
    let metadata_rules = metadata_rules(rules)?;
    shape::validate(catalog)?;
    schema::apply_schema_rules(catalog, &schema_rules);
    metadata::apply_metadata_rules(catalog, &metadata_rules);
    Ok(())
}

/// Applies only `select_filter` patterns, as Meltano does for a catalog the user provided.
///
/// An empty pattern list leaves the catalog untouched.
pub fn apply_select_filter(catalog: &mut Value, patterns: &[String]) -> Result<(), CatalogError> {
    shape::validate(catalog)?;
    let filter = rules::select_filter_rules(patterns);
    if !filter.is_empty() {
        metadata::apply_metadata_rules(catalog, &filter);
    }
    Ok(())
}

/// Lists streams/properties and whether each is selected (for a later `smelt select --list`).
///
/// Streams come in catalog order and properties in metadata order, each property with its own
/// selection (combine it with the stream's via [`StreamSelection::effective`]). Entries the
/// listing cannot read — a stream without a string `tap_stream_id`, a metadata entry without a
/// breadcrumb — are left out; [`apply_rules`] reports those as errors.
pub fn selection(catalog: &Value) -> Vec<StreamSelection> {
    selection::list(catalog)
}

/// `select` and `metadata` rules that name a stream or property the catalog lacks — usually a
/// typo that would otherwise select nothing. Call it on the catalog after [`apply_rules`] (so
/// properties added by the `schema` extra count) and show each warning to the user.
pub fn rule_warnings(
    catalog: &Value,
    rules: &CatalogRules,
) -> Result<Vec<RuleWarning>, CatalogError> {
    let mut checked = rules::select_rules(&rules.select);
    checked.extend(rules::metadata_extra_rules(&rules.metadata)?);
    shape::validate(catalog)?;
    Ok(warnings::find(catalog, &checked))
}

/// All metadata rules of an extractor, in Meltano's order.
fn metadata_rules(rules: &CatalogRules) -> Result<Vec<rules::MetadataRule>, CatalogError> {
    let mut all = rules::select_rules(&["!*.*"]);
    if rules.select.is_empty() {
        all.extend(rules::select_rules(&[DEFAULT_SELECT]));
    } else {
        all.extend(rules::select_rules(&rules.select));
    }
    all.extend(rules::metadata_extra_rules(&rules.metadata)?);
    all.extend(rules::select_filter_rules(&rules.select_filter));
    Ok(all)
}

#[cfg(test)]
mod tests;
