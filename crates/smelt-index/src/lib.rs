//! The offline plugin index: Meltano Hub definitions of the most-used plugins, embedded in the
//! binary so that smelt can resolve a plugin without a lock file and without the network (Meltano
//! fetches the same definitions from hub.meltano.com), and so that `add`/`lock` can write Meltano
//! lock files offline.
//!
//! The data (`data/plugins.idx`, written by `scripts/gen-plugin-index`) has one plugin variant per
//! line: `type \t name \t variant \t is_default \t compact JSON`. Lookups scan the lines and
//! compare the leading fields; only the JSON of a match is ever parsed, so a lookup costs a scan
//! of a few hundred kilobytes, not a parse of them.

use std::cmp::Ordering;

mod suggest;

/// The generated index, one plugin variant per line (`#` lines are comments).
const DATA: &str = include_str!("../data/plugins.idx");

/// One plugin variant of the index: the Hub's definition of it, in Meltano lock-file shape.
///
/// It exists so that callers can filter on type, name and variant without parsing JSON, and
/// parse [`Entry::definition`] only for the variant they use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Plugin type, plural as in `meltano.yml` (`extractors`, `loaders`, `utilities`, …).
    pub plugin_type: &'static str,
    /// Plugin name (`tap-github`).
    pub name: &'static str,
    /// Variant name (`meltanolabs`).
    pub variant: &'static str,
    /// Whether this is the Hub's default variant of the plugin, the one `meltano add` picks.
    pub is_default: bool,
    /// The definition as compact JSON, keys in the order Meltano writes them to a lock file.
    pub definition: &'static str,
}

impl Entry {
    /// The definition parsed, for callers that read its keys (settings, commands, …).
    pub fn definition_value(&self) -> serde_json::Value {
        // The data is generated and embedded; `every_definition_is_a_json_object` checks that
        // each line parses, so this cannot fail at run time.
        serde_json::from_str(self.definition)
            .unwrap_or_else(|e| panic!("plugin index entry {}: {e}", self.name))
    }

    /// The text of the lock file Meltano would write for this variant
    /// (`plugins/<type>/<name>--<variant>.lock`): Python's `json.dump(…, indent=2)` (two-space
    /// indent, `": "`, non-ASCII escaped as `\uXXXX`) followed by a newline, so that `smelt lock`
    /// and `meltano lock` produce byte-identical files.
    pub fn lock_json(&self) -> String {
        let pretty = serde_json::to_string_pretty(&self.definition_value())
            .unwrap_or_else(|e| panic!("plugin index entry {}: {e}", self.name));
        let mut out = String::with_capacity(pretty.len() + 1);
        for c in pretty.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                // Non-ASCII characters only occur inside JSON strings, where `\u` escapes
                // (surrogate pairs above the BMP) mean the same thing.
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out.push('\n');
        out
    }
}

/// Splits one data line into an entry; `None` for comments, blank lines and malformed lines.
fn parse_line(line: &'static str) -> Option<Entry> {
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.splitn(5, '\t');
    let plugin_type = fields.next()?;
    let name = fields.next()?;
    let variant = fields.next()?;
    let is_default = fields.next()? == "1";
    let definition = fields.next()?;
    Some(Entry {
        plugin_type,
        name,
        variant,
        is_default,
        definition,
    })
}

/// Every plugin variant in the index, in file order (by type, then name, then variant).
pub fn entries() -> impl Iterator<Item = Entry> {
    DATA.lines().filter_map(parse_line)
}

/// The entries with this type and name, reading the type field first so that lines of other
/// types cost one comparison.
fn matching(plugin_type: &str, name: &str) -> impl Iterator<Item = Entry> + 'static {
    let type_prefix = format!("{plugin_type}\t{name}\t");
    DATA.lines()
        .filter(move |line| line.starts_with(&type_prefix))
        .filter_map(parse_line)
}

/// The definition Meltano would fetch from the Hub for a plugin: the named variant, or with
/// `variant` `None` (or Meltano's aliases `default`/`original`) the Hub's default variant, else
/// the only or first one. `None` when the index does not hold it.
pub fn find(plugin_type: &str, name: &str, variant: Option<&str>) -> Option<Entry> {
    match variant.filter(|v| !matches!(*v, "" | "default" | "original")) {
        Some(v) => matching(plugin_type, name).find(|e| e.variant == v),
        None => {
            let mut first = None;
            for entry in matching(plugin_type, name) {
                if entry.is_default {
                    return Some(entry);
                }
                first.get_or_insert(entry);
            }
            first
        }
    }
}

/// All variants of one plugin that the index holds, for listing choices and for "variant not
/// found" messages.
pub fn variants(plugin_type: &str, name: &str) -> Vec<Entry> {
    matching(plugin_type, name).collect()
}

/// Every entry with this name, of any type: `add` without a type uses it to learn the type
/// (Meltano guesses from `tap-`/`target-` prefixes; the index knows, also for `dbt-postgres`,
/// which is both a utility and a transformer).
pub fn find_by_name(name: &str) -> Vec<Entry> {
    entries().filter(|e| e.name == name).collect()
}

/// Known plugin names closest to `name` (of one type, or of any), best first, at most `limit`:
/// for "unknown plugin, did you mean …" messages. A name that contains `name` (or is contained in
/// it) counts as close, as does one a few edits away.
pub fn suggest(plugin_type: Option<&str>, name: &str, limit: usize) -> Vec<&'static str> {
    let wanted = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &'static str)> = Vec::new();
    for entry in entries() {
        if plugin_type.is_some_and(|t| t != entry.plugin_type)
            || scored.iter().any(|(_, n)| *n == entry.name)
        {
            continue;
        }
        if let Some(score) = suggest::closeness(&wanted, entry.name) {
            scored.push((score, entry.name));
        }
    }
    scored.sort_by(|a, b| match a.0.cmp(&b.0) {
        Ordering::Equal => a.1.cmp(b.1),
        other => other,
    });
    scored.into_iter().take(limit).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests;
