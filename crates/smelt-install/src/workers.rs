//! Runs a plan: reports what needs nothing, finds uv (bootstrapping it if needed) only when
//! some unit has work, then installs the units on up to `jobs` worker threads while the
//! calling thread prints progress.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use smelt_project::{Plugin, Project, VenvBackend};

use crate::exec::Bounds;
use crate::plan::{plan, Need, Plan, VenvSettings};
use crate::report::{describe, Reporter};
use crate::venv::{remove, Installer};
use crate::{python, uv, InstallOptions, Outcome, Status};

enum Event {
    Started(usize),
    Done(usize, Result<(), String>, f64),
}

/// See the module docs.
pub fn install(
    project: &Project,
    plugins: &[&Plugin],
    settings: &VenvSettings,
    opts: &InstallOptions,
) -> Vec<Outcome> {
    if opts.clean {
        let described = plan(project, plugins, settings, true);
        for unit in &described.units {
            for m in &unit.members {
                let _ = remove(&m.venv);
            }
        }
    }
    let plan = plan(project, plugins, settings, opts.force || opts.clean);
    let rows = plugins
        .iter()
        .map(|p| describe(p.plugin_type, &p.name))
        .collect();
    let mut reporter = Reporter::new(opts.progress, rows);
    let mut outcomes: Vec<Outcome> = plugins
        .iter()
        .map(|p| Outcome {
            plugin: p.name.clone(),
            plugin_type: p.plugin_type,
            status: Status::UpToDate,
            seconds: 0.0,
        })
        .collect();
    let mut settle = |reporter: &mut Reporter, i: usize, status: Status, seconds: f64| {
        reporter.finished(i, &status, seconds);
        outcomes[i].status = status;
        outcomes[i].seconds = seconds;
    };
    for (i, need) in plan.needs.iter().enumerate() {
        match need {
            Need::Nothing(why) => {
                settle(&mut reporter, i, Status::NothingToInstall(why.clone()), 0.0)
            }
            Need::Invalid(why) => settle(&mut reporter, i, Status::Failed(why.clone()), 0.0),
            Need::Unit(u) if !plan.units[*u].needs_work() => {
                settle(&mut reporter, i, Status::UpToDate, 0.0)
            }
            Need::Unit(_) => {}
        }
    }
    let work: Vec<usize> = (0..plan.units.len())
        .filter(|&u| plan.units[u].needs_work())
        .collect();
    if work.is_empty() {
        reporter.finish();
        return outcomes;
    }
    let bounds = Bounds {
        timeout: opts.timeout,
        interrupted: opts.interrupted,
    };
    let installer = match installer(project, settings, opts, bounds, &mut reporter) {
        Ok(i) => i,
        Err(why) => {
            for &u in &work {
                for m in &plan.units[u].members {
                    settle(&mut reporter, m.index, Status::Failed(why.clone()), 0.0);
                }
            }
            reporter.finish();
            return outcomes;
        }
    };
    let (tx, rx) = mpsc::channel::<Event>();
    let queue = Mutex::new(work.iter().copied().collect::<VecDeque<usize>>());
    let workers = opts.jobs.max(1).min(work.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (queue, installer, plan) = (&queue, &installer, &plan);
            scope.spawn(move || work_loop(queue, installer, plan, opts, tx));
        }
        drop(tx);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Event::Started(u)) => {
                    for m in &plan.units[u].members {
                        reporter.started(m.index);
                    }
                }
                Ok(Event::Done(u, result, seconds)) => {
                    let unit = &plan.units[u];
                    for m in &unit.members {
                        let status = match &result {
                            Err(why) => Status::Failed(why.clone()),
                            Ok(()) if unit.current && m.current => Status::UpToDate,
                            Ok(()) => Status::Installed,
                        };
                        settle(&mut reporter, m.index, status, seconds);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => reporter.draw(),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    reporter.finish();
    outcomes
}

fn work_loop(
    queue: &Mutex<VecDeque<usize>>,
    installer: &Installer,
    plan: &Plan,
    opts: &InstallOptions,
    tx: mpsc::Sender<Event>,
) {
    loop {
        let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
        let Some(u) = next else { return };
        if (opts.interrupted)().is_some() {
            let _ = tx.send(Event::Done(u, Err("interrupted".to_string()), 0.0));
            continue;
        }
        let _ = tx.send(Event::Started(u));
        let started = Instant::now();
        let result = installer.install(&plan.units[u]);
        let _ = tx.send(Event::Done(u, result, started.elapsed().as_secs_f64()));
    }
}

/// The installer for this call: uv found or bootstrapped for the uv backend (falling back to
/// `python -m venv` + pip, with a warning, when uv cannot be had), pip for `virtualenv`.
fn installer(
    project: &Project,
    settings: &VenvSettings,
    opts: &InstallOptions,
    bounds: Bounds,
    reporter: &mut Reporter,
) -> Result<Installer, String> {
    let env = project.process_env();
    let mut backend = settings.backend;
    let mut uv_path: Option<PathBuf> = None;
    if backend == VenvBackend::Uv {
        match uv::find_uv(env)? {
            Some((p, _)) => uv_path = Some(p),
            None => match bootstrap(project, bounds, reporter) {
                Ok(p) => uv_path = Some(p),
                Err(why) => {
                    reporter.note(&format!(
                        "warning: uv is not available ({why}); falling back to `python -m venv` + pip, which is slower"
                    ));
                    backend = VenvBackend::Virtualenv;
                }
            },
        }
    }
    Ok(Installer {
        backend,
        uv: uv_path,
        uv_version: std::sync::OnceLock::new(),
        bounds,
        cwd: project.root.clone(),
        env: project
            .dotenv()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        path_env: env.clone(),
        ignore_requires_python: opts.force && settings.backend == VenvBackend::Virtualenv,
    })
}

fn bootstrap(
    project: &Project,
    bounds: Bounds,
    reporter: &mut Reporter,
) -> Result<PathBuf, String> {
    let env = project.process_env();
    let cache =
        uv::cache_dir(env).ok_or("none of SMELT_CACHE_DIR, XDG_CACHE_HOME or HOME is set")?;
    let python = python::find_on_path("python3", env).ok_or("python3 is not on PATH")?;
    reporter.note(&format!(
        "bootstrapping uv into {} (once; set SMELT_UV or put uv on PATH to skip)",
        cache.join("uv").display()
    ));
    uv::bootstrap(&cache, &python, bounds)
}
