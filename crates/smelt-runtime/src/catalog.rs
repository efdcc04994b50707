//! The catalog an extractor runs with, prepared the way Meltano prepares it.
//!
//! One place decides it for every command that starts a tap (`run`, `el`, `invoke`, `select`),
//! so they cannot drift apart:
//! - a tap without the `catalog` or `properties` capability gets no catalog;
//! - the `catalog` extra names a file that is used as is, except for `select_filter`;
//! - otherwise a tap with the `discover` capability is run with `--discover` (under the same
//!   signal and deadline rules as a run, see [`discover`]), or its cached discovery is reused
//!   (see [`cache`]), and the `select`/`metadata`/`schema`/`select_filter` rules are applied.
//!
//! The result is a JSON value; [`add_catalog_args`] writes it into the run's private directory
//! and passes it to the tap with `--catalog` or `--properties`.

mod cache;
mod discover;
mod listing;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use smelt_project::{Plugin, Project};
use smelt_singer::catalog::{
    apply_rules, apply_select_filter, rule_warnings, CatalogError, CatalogRules,
};

use crate::context::RunContext;
use crate::error::RunError;
use crate::launch::PreparedPlugin;
use crate::log::Logger;
use crate::rundir::RunDir;

pub use cache::{cache_dir, CACHE_KEY_FILE, CACHE_VERSION, CATALOG_FILE};
pub use discover::DISCOVERY_OUTPUT_LIMIT;
pub use listing::{list_selection, ListedProperty};

/// What catalog preparation needs from its caller. Kept this small so commands without a full
/// [`RunContext`] (`invoke`, `select`) can build one.
#[derive(Clone, Copy)]
pub struct CatalogContext<'a> {
    /// The loaded project (root for relative paths, `.meltano/` for the cache).
    pub project: &'a Project,
    /// Where the tap's stderr during discovery and rule warnings go.
    pub logger: &'a Logger,
    /// When discovery must give up (from `--timeout`); `None`: never.
    pub deadline: Option<Instant>,
    /// The timeout the deadline came from, for the error message.
    pub timeout: Option<Duration>,
}

impl<'a> CatalogContext<'a> {
    /// The context of a `smelt run`: its project, log and deadline.
    pub fn from_run(ctx: &'a RunContext<'a>) -> CatalogContext<'a> {
        CatalogContext {
            project: ctx.project,
            logger: &ctx.logger,
            deadline: ctx.deadline,
            timeout: ctx.options.timeout,
        }
    }
}

/// Choices a command makes about the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogOptions {
    /// Discover again even when the cached catalog is still valid (`--refresh-catalog`, and
    /// `--full-refresh` as in Meltano 3.8+).
    pub refresh: bool,
    /// `select_filter` patterns from the command line (`el --select/--exclude`), used instead of
    /// the extractor's `select_filter` extra when not empty.
    pub select_filter: Vec<String>,
}

/// The flag a tap takes its catalog with: `--catalog` (Singer) or `--properties` (legacy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogFlag {
    /// `--catalog`, for taps with the `catalog` capability.
    Catalog,
    /// `--properties`, for older taps with the `properties` capability.
    Properties,
}

impl CatalogFlag {
    /// The command-line flag itself.
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogFlag::Catalog => "--catalog",
            CatalogFlag::Properties => "--properties",
        }
    }

    /// The flag `tap` takes, or `None` when it takes no catalog at all.
    pub fn of(tap: &Plugin) -> Option<CatalogFlag> {
        if tap.has_capability("catalog") {
            Some(CatalogFlag::Catalog)
        } else if tap.has_capability("properties") {
            Some(CatalogFlag::Properties)
        } else {
            None
        }
    }
}

/// Where a prepared catalog came from, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogSource {
    /// The file named by the extractor's `catalog` extra.
    File(PathBuf),
    /// The tap's `--discover` output, just now.
    Discovered,
    /// A cached discovery whose key still matches.
    Cached,
}

/// A catalog ready to hand to a tap.
#[derive(Debug, Clone)]
pub struct CatalogOutcome {
    /// How the tap takes it.
    pub flag: CatalogFlag,
    /// The catalog with every rule applied.
    pub catalog: Value,
    /// Where it came from.
    pub source: CatalogSource,
}

/// The catalog `tap` should run with, or `None` when it takes none (no `catalog`/`properties`
/// capability, or no `catalog` extra and no `discover` capability).
///
/// `prepared` is the tap as [`crate::launch::prepare`] made it (its `--config` is used for
/// discovery). Discovery stops on SIGINT/SIGTERM and at `cx.deadline` with the same errors as
/// a run ([`RunError::Signalled`], [`RunError::Timeout`]).
pub fn extractor_catalog(
    cx: &CatalogContext,
    tap: &Plugin,
    prepared: &PreparedPlugin,
    opts: &CatalogOptions,
) -> Result<Option<CatalogOutcome>, RunError> {
    let Some(flag) = CatalogFlag::of(tap) else {
        return Ok(None);
    };
    let select_filter = if opts.select_filter.is_empty() {
        select_filter_extra(cx, tap)
    } else {
        opts.select_filter.clone()
    };
    if let Some(file) = &tap.catalog {
        // A user-supplied catalog is used as is, except for `select_filter` (as in Meltano).
        let path = cx.project.root.join(file);
        let mut catalog = read_catalog(&path, tap)?;
        apply_select_filter(&mut catalog, &select_filter).map_err(|e| catalog_error(tap, e))?;
        return Ok(Some(CatalogOutcome {
            flag,
            catalog,
            source: CatalogSource::File(path),
        }));
    }
    if !tap.has_capability("discover") {
        return Ok(None);
    }
    let rules = CatalogRules {
        select: select_rules(tap),
        metadata: tap.metadata.clone(),
        schema: tap.schema.clone(),
        select_filter,
    };
    let key = cache::key(tap, &prepared.config.values, &rules);
    let use_cache = !opts.refresh && cache::enabled(cx.project, tap, cx.logger);
    let cached = if use_cache {
        cache::load(cx.project, tap, &key, cx.logger)
    } else {
        None
    };
    let (mut catalog, source) = match cached {
        Some(catalog) => {
            cx.logger
                .debug(&format!("{}: using the cached catalog", tap.name));
            (catalog, CatalogSource::Cached)
        }
        None => {
            let bytes = discover::run_discovery(cx, prepared)?;
            let catalog = parse_discovered(&bytes, tap)?;
            (catalog, CatalogSource::Discovered)
        }
    };
    apply_rules(&mut catalog, &rules).map_err(|e| catalog_error(tap, e))?;
    if let Ok(warnings) = rule_warnings(&catalog, &rules) {
        for w in warnings {
            cx.logger.warn(&format!("{}: {w}", tap.name));
        }
    }
    if source == CatalogSource::Discovered {
        cache::store(cx.project, tap, &key, &catalog, cx.logger);
    }
    Ok(Some(CatalogOutcome {
        flag,
        catalog,
        source,
    }))
}

/// Prepares the catalog ([`extractor_catalog`]), writes it as a private file into `rundir` and
/// appends `--catalog <file>` or `--properties <file>` to the tap's arguments. Returns what was
/// prepared, or `None` when the tap takes no catalog (its arguments are then unchanged).
pub fn add_catalog_args(
    cx: &CatalogContext,
    tap: &Plugin,
    prepared: &mut PreparedPlugin,
    rundir: &RunDir,
    opts: &CatalogOptions,
) -> Result<Option<CatalogOutcome>, RunError> {
    let Some(outcome) = extractor_catalog(cx, tap, prepared, opts)? else {
        return Ok(None);
    };
    let path = write_catalog(&outcome.catalog, &prepared.name, rundir)?;
    prepared.spec.args.push(outcome.flag.as_str().into());
    prepared.spec.args.push(path.into_os_string());
    Ok(Some(outcome))
}

/// Writes `catalog` as `<rundir>/<plugin>/catalog.json` (0600) and returns its path.
pub fn write_catalog(catalog: &Value, plugin: &str, rundir: &RunDir) -> Result<PathBuf, RunError> {
    let bytes =
        serde_json::to_vec(catalog).map_err(|e| RunError::io("serialising catalog", e.into()))?;
    rundir
        .write_file(plugin, "catalog.json", &bytes)
        .map_err(|e| RunError::io(format!("writing the catalog of {plugin}"), e))
}

/// A catalog the rules cannot work with, worded as a failure to start the tap.
fn catalog_error(tap: &Plugin, e: CatalogError) -> RunError {
    RunError::Launch {
        label: "extractor".into(),
        plugin: tap.name.clone(),
        message: format!("its catalog cannot be used: {e}"),
        hint: "run the tap with --discover to inspect its catalog, or fix the file named by `catalog:`".into(),
    }
}

/// Reads the file named by the `catalog` extra.
fn read_catalog(path: &Path, tap: &Plugin) -> Result<Value, RunError> {
    let bytes = std::fs::read(path).map_err(|e| RunError::Launch {
        label: "extractor".into(),
        plugin: tap.name.clone(),
        message: format!("cannot read its catalog file {}: {e}", path.display()),
        hint: "fix the path in the extractor's `catalog` extra (relative to the project root)"
            .into(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| RunError::Launch {
        label: "extractor".into(),
        plugin: tap.name.clone(),
        message: format!("catalog {} is not valid JSON: {e}", path.display()),
        hint: "fix the file named by the extractor's `catalog` extra".into(),
    })
}

/// Parses what `--discover` printed.
fn parse_discovered(bytes: &[u8], tap: &Plugin) -> Result<Value, RunError> {
    serde_json::from_slice(bytes).map_err(|e| RunError::Launch {
        label: "extractor".into(),
        plugin: tap.name.clone(),
        message: format!("its --discover output is not a JSON catalog: {e}"),
        hint: "run the tap with --discover yourself to see what it prints".into(),
    })
}

/// The extractor's `select` patterns for the rule engine. An explicitly empty list selects
/// nothing, as in Meltano (the engine itself reads an empty list as the default `*.*`, which
/// the project model already fills in when `select` is not set at all).
fn select_rules(tap: &Plugin) -> Vec<String> {
    if tap.select.is_empty() {
        vec!["!*.*".to_string()]
    } else {
        tap.select.clone()
    }
}

/// An extractor extra such as `select_filter` or `use_cached_catalog`: from
/// `<NAME>__<EXTRA>` / `<NAMESPACE>__<EXTRA>` in the environment or `.env` (as text), else from
/// meltano.yml. Returns where it came from, for messages.
pub(crate) fn extra_value(project: &Project, tap: &Plugin, key: &str) -> Option<(String, Value)> {
    let extra = format!("_{key}");
    for prefix in [tap.name.as_str(), tap.namespace.as_str()] {
        let var = smelt_project::env_var_name(&[prefix, &extra]);
        if let Some(v) = project
            .process_env()
            .get(&var)
            .or_else(|| project.dotenv().get(&var))
        {
            return Some((
                format!("environment variable {var}"),
                Value::String(v.clone()),
            ));
        }
    }
    tap.extra
        .get(key)
        .filter(|v| !v.is_null())
        .map(|v| (format!("`{key}` of {}", tap.name), v.clone()))
}

/// The `select_filter` extra: a list in meltano.yml, a JSON list in an environment variable.
fn select_filter_extra(cx: &CatalogContext, tap: &Plugin) -> Vec<String> {
    let Some((origin, value)) = extra_value(cx.project, tap, "select_filter") else {
        return Vec::new();
    };
    let value = match value {
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        other => other,
    };
    match value.as_array() {
        Some(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => {
            cx.logger.warn(&format!(
                "{}: {origin} is not a list of stream patterns; it is ignored",
                tap.name
            ));
            Vec::new()
        }
    }
}
