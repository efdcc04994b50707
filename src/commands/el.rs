//! `smelt el EXTRACTOR LOADER` (and the deprecated `elt`): one extract-load pipeline on the
//! run engine, with Meltano's `el` flags (`--state-id`, `--select`/`--exclude`, `--catalog`,
//! `--state`, `--dump`, `--dry`).

use std::time::Duration;

use smelt_project::{Plugin, PluginType, Project};
use smelt_runtime::catalog::{extractor_catalog, CatalogContext, CatalogOptions};
use smelt_runtime::el::{ephemeral_state_id, extractor_state, ExtractorState};
use smelt_runtime::launch::{prepare, resolve_program};
use smelt_runtime::rundir::RunDir;
use smelt_runtime::{Block, EltSet, RunContext, RunOptions};
use smelt_state::pyjson::{dumps, PyJsonStyle};
use smelt_state::StateStrategy;

use super::invoke::{find_plugin, no_catalog, run_error};
use super::print_out;
use crate::cli::{Cli, ElArgs, ElDump, TransformMode};
use crate::project_context::{
    config_json, load_project, logger, open_systemdb, project_settings, run_context, CliError,
};

/// Runs (or dumps, or dry-runs) the pipeline and returns the exit code. `transform` is
/// `Some(..)` for `elt`, carrying its `--transform` value.
pub fn run(
    cli: &Cli,
    args: &ElArgs,
    transform: Option<Option<TransformMode>>,
) -> Result<i32, CliError> {
    if let Some(Some(mode @ (TransformMode::Run | TransformMode::Only))) = transform {
        let flag = if mode == TransformMode::Run {
            "run"
        } else {
            "only"
        };
        return Err(CliError::usage(format!(
            "`elt --transform {flag}` is not supported: run the transformer as its own block, e.g. `smelt run {} {} dbt:run`",
            args.extractor, args.loader
        )));
    }
    let logger = logger(cli)?;
    if transform.is_some() {
        logger.warn("the `elt` command is deprecated in favor of `el`");
    }
    let mut project = load_project(cli)?;
    let db = open_systemdb(&mut project)?;
    let settings = project_settings(&project)?;
    let project = project;
    let tap = with_overrides(
        find_typed(&project, PluginType::Extractor, &args.extractor)?,
        args,
    );
    let target = find_typed(&project, PluginType::Loader, &args.loader)?;
    if let Some(code) = crate::auto_install::prepare(&project, &[&tap, target], &args.install)? {
        return Ok(code);
    }
    let state_strategy = if args.merge_state {
        StateStrategy::Merge
    } else {
        args.state_strategy
    };
    if let Some(id) = &args.run_id {
        super::run::uuid_like(id)?;
    }
    let state_id = match &args.state_id {
        Some(id) => {
            smelt_state::validate_state_id(id)
                .map_err(|e| CliError::usage(format!("--state-id: {e}")))?;
            id.clone()
        }
        None => {
            let id = ephemeral_state_id(&tap.name, &target.name);
            logger.warn(&format!("no state ID provided: using the ephemeral state ID '{id}', so incremental state will not be reused between runs; pass --state-id <ID> to keep it (e.g. --state-id {}:{}-to-{} to share it with `smelt run`)",
                project.environment.as_deref().unwrap_or("dev"), tap.name, target.name));
            id
        }
    };
    if args.dry {
        return dry_run(&project, &tap, target, &state_id);
    }
    let timeout = args.timeout.map(Duration::from_secs);
    let options = RunOptions {
        full_refresh: args.full_refresh,
        state_strategy,
        force: args.force,
        run_id: args.run_id.clone(),
        timeout,
        refresh_catalog: args.refresh_catalog,
        state_id: Some(state_id.clone()),
        ..RunOptions::default()
    };
    let ctx = run_context(&project, logger, db, settings, options)?;
    if let Some(what) = args.dump {
        return dump(&ctx, &tap, target, what, args.unsafe_);
    }
    let blocks = [Block::Elt(EltSet {
        extractor: &tap,
        mappers: Vec::new(),
        loader: target,
    })];
    super::run::run_and_summarise(&ctx, &blocks)
}

/// The extractor with the command line's `--catalog`, `--state` and `--select`/`--exclude`
/// in place of its `catalog`, `state` and `select_filter` extras, as Meltano's `el` does.
fn with_overrides(tap: &Plugin, args: &ElArgs) -> Plugin {
    let mut tap = tap.clone();
    if let Some(file) = &args.catalog {
        tap.catalog = Some(file.clone());
    }
    if let Some(file) = &args.state {
        tap.state = Some(file.clone());
    }
    let filter: Vec<serde_json::Value> = args
        .select
        .iter()
        .cloned()
        .chain(args.exclude.iter().map(|e| format!("!{e}")))
        .map(serde_json::Value::String)
        .collect();
    if !filter.is_empty() {
        tap.extra
            .insert("select_filter".into(), serde_json::Value::Array(filter));
    }
    tap
}

/// The extractor or loader named `name`, or a usage error naming those of that type.
fn find_typed<'p>(project: &'p Project, t: PluginType, name: &str) -> Result<&'p Plugin, CliError> {
    find_plugin(project, name, Some(t.label())).map_err(|e| CliError {
        code: 2,
        message: e.message,
    })
}

/// `--dry`: what would run, and nothing else.
fn dry_run(
    project: &Project,
    tap: &Plugin,
    target: &Plugin,
    state_id: &str,
) -> Result<i32, CliError> {
    let at = |p: &Plugin| match resolve_program(project, p, None) {
        Ok((program, args)) => {
            let mut s = program.display().to_string();
            for a in args {
                s.push(' ');
                s.push_str(&a.to_string_lossy());
            }
            s
        }
        Err(_) => "(executable not found)".to_string(),
    };
    print_out(&format!(
        "Dry run: nothing will be executed.\nState ID: {state_id}\n  extractor: {} at '{}'\n  loader: {} at '{}'",
        tap.name,
        at(tap),
        target.name,
        at(target)
    ))?;
    Ok(0)
}

/// `--dump catalog|state|extractor-config|loader-config`: the file the pipeline would give the
/// plugin, printed as Meltano writes it (`json.dumps(…, indent=2)`; secrets are redacted unless
/// `--unsafe`, where Meltano prints them; a state file from `--state` is printed as it is).
fn dump(
    ctx: &RunContext,
    tap: &Plugin,
    target: &Plugin,
    what: ElDump,
    unsafe_: bool,
) -> Result<i32, CliError> {
    let (project, options) = (ctx.project, &ctx.options);
    let config_of = |p: &Plugin| config_json(project, p, unsafe_);
    let value = match what {
        ElDump::ExtractorConfig => config_of(tap)?,
        ElDump::LoaderConfig => config_of(target)?,
        ElDump::Catalog => {
            let rundir = RunDir::create(&project.sys_dir, &format!("dump-{}", std::process::id()))
                .map_err(|e| CliError::fail(format!("creating a private run directory: {e}")))?;
            let prepared = prepare(project, tap, None, &tap.name, &rundir).map_err(run_error)?;
            let cx = CatalogContext::from_run(ctx);
            let opts = CatalogOptions {
                refresh: options.refresh_catalog || options.full_refresh,
                ..CatalogOptions::default()
            };
            match extractor_catalog(&cx, tap, &prepared, &opts).map_err(run_error)? {
                Some(outcome) => outcome.catalog,
                None => return Err(no_catalog(tap)),
            }
        }
        ElDump::State => {
            let id = options.state_id.as_deref().unwrap_or_default();
            match extractor_state(ctx, tap, id).map_err(run_error)? {
                Some(ExtractorState::Stored(v)) => v,
                Some(ExtractorState::File(path)) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        CliError::fail(format!("could not read state file {}: {e}", path.display()))
                    })?;
                    print_out(&text)?;
                    return Ok(0);
                }
                None => {
                    let why = if !tap.has_capability("state") {
                        format!(
                            "extractor {} does not advertise the `state` capability",
                            tap.name
                        )
                    } else if options.full_refresh {
                        "--full-refresh ignores stored state".to_string()
                    } else {
                        format!("state ID {id} has no state yet")
                    };
                    return Err(CliError::fail(format!(
                        "could not find state for this pipeline: {why}"
                    )));
                }
            }
        }
    };
    print_out(&dumps(&value, PyJsonStyle::Indent(2)))?;
    Ok(0)
}
