//! Adding, changing and removing `jobs:` and `schedules:` entries (`smelt job …`,
//! `smelt schedule …`), with Meltano's rules for what a job's tasks and a schedule's interval may
//! be. Edits go through the lossless [`YamlEditor`](crate::yaml_edit::YamlEditor), so comments
//! and layout elsewhere stay; an entry defined in an `include_paths` file is changed there.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config_write::edit_yaml_file;
use crate::error::{Location, ProjectError};
use crate::project::Project;
use crate::root::PROJECT_FILE;
use crate::yaml::parse_yaml;
use crate::yaml_edit::PathSeg;

/// Meltano's interval presets and the cron expression each stands for (`None`: not run on a
/// timer).
pub const INTERVAL_PRESETS: &[(&str, Option<&str>)] = &[
    ("@once", None),
    ("@manual", None),
    ("@none", None),
    ("@hourly", Some("0 * * * *")),
    ("@daily", Some("0 0 * * *")),
    ("@weekly", Some("0 0 * * 0")),
    ("@monthly", Some("0 0 1 * *")),
    ("@yearly", Some("0 0 1 1 *")),
    ("@annually", Some("0 0 1 1 *")),
    ("@midnight", Some("0 0 * * *")),
];

/// Meltano's `cron_interval` of an interval: a preset's expression (`None` for `@once`,
/// `@manual`, `@none`), anything else unchanged.
pub fn cron_interval(interval: &str) -> Option<String> {
    match INTERVAL_PRESETS.iter().find(|(name, _)| *name == interval) {
        Some((_, cron)) => cron.map(str::to_string),
        None => Some(interval.to_string()),
    }
}

/// Whether Meltano accepts `interval`: a preset, or a five-field cron expression whose fields
/// are `*`, numbers in range, ranges, steps, lists, month/weekday names, `?` (day fields) or
/// `L` (day of month). Same rules as Meltano's `is_valid_cron`.
pub fn is_valid_interval(interval: &str) -> bool {
    if INTERVAL_PRESETS.iter().any(|(name, _)| *name == interval) {
        return true;
    }
    let lower = interval.trim().to_lowercase();
    let expr = match INTERVAL_PRESETS.iter().find(|(name, _)| *name == lower) {
        Some((_, Some(cron))) => (*cron).to_string(),
        _ => lower,
    };
    let fields: Vec<&str> = expr.split_whitespace().collect();
    fields.len() == 5 && fields.iter().enumerate().all(|(i, f)| valid_field(f, i))
}

/// Inclusive ranges of minute, hour, day of month, month, day of week.
const FIELD_RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn valid_field(field: &str, index: usize) -> bool {
    match field {
        "*" => true,
        "?" => index == 2 || index == 4,
        "l" => index == 2,
        _ => field.split(',').any(|part| valid_part(part, index)),
    }
}

fn valid_part(part: &str, index: usize) -> bool {
    let (min, max) = FIELD_RANGES[index];
    if let Some((base, step)) = part.split_once('/') {
        let step_ok = !step.is_empty()
            && step.chars().all(|c| c.is_ascii_digit())
            && step.parse::<u64>().is_ok_and(|s| s > 0);
        return step_ok && !base.is_empty() && (base == "*" || valid_part(base, index));
    }
    if let Some((start, end)) = part.split_once('-') {
        let (Some(start), Some(mut end)) = (field_value(start, index), field_value(end, index))
        else {
            return false;
        };
        if start > end && index == 4 {
            return true;
        }
        if end == 7 && index == 4 {
            end = 0;
        }
        return (min..=max).contains(&start) && (min..=max).contains(&end);
    }
    match field_value(part, index) {
        Some(7) if index == 4 => true,
        Some(v) => (min..=max).contains(&v),
        None => false,
    }
}

fn field_value(text: &str, index: usize) -> Option<u32> {
    if text.is_empty() {
        return None;
    }
    if text.chars().all(|c| c.is_ascii_digit()) {
        // Too large to parse is out of range anyway.
        return Some(text.parse().unwrap_or(u32::MAX));
    }
    let position = |names: &[&str]| names.iter().position(|n| *n == text);
    match index {
        3 => position(&MONTHS).and_then(|i| u32::try_from(i + 1).ok()),
        4 => position(&WEEKDAYS).and_then(|i| u32::try_from(i).ok()),
        2 if text == "l" => Some(31),
        _ => None,
    }
}

/// Reads `--tasks` as Meltano does: YAML (so `'[a b, c:d]'` and `'["a b", ["c d", e]]'` are
/// lists) that must be a string, or a list of strings and lists of strings. A single string
/// becomes a one-item list.
pub fn parse_tasks(job: &str, raw: &str) -> Result<Value, ProjectError> {
    let invalid = |why: String| {
        ProjectError::invalid(
            None,
            format!("Job '{job}' has invalid tasks. {why}"),
            "give --tasks one block string ('tap-x target-y') or a YAML list of them ('[\"tap-x target-y\", \"dbt:run\"]')",
        )
    };
    let doc = parse_yaml(raw, Path::new("--tasks"))
        .map_err(|e| invalid(format!("Failed to parse yaml '{raw}': {e}")))?;
    let is_text = |v: &Value| matches!(v, Value::String(_));
    let valid = match &doc.value {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(|item| match item {
            Value::Array(words) => words.iter().all(is_text),
            other => is_text(other),
        }),
        _ => false,
    };
    if !valid {
        return Err(invalid(format!(
            "Failed to validate task schema: {} is not a string or a list of strings and lists of strings",
            doc.value
        )));
    }
    Ok(match doc.value {
        Value::String(s) => Value::Array(vec![Value::String(s)]),
        other => other,
    })
}

/// The block words of each top-level task (Meltano's `flat_args_per_set`): `"tap target"`
/// gives `["tap", "target"]`; a nested list is flattened and split on spaces.
pub fn task_sets(tasks: &Value) -> Vec<Vec<String>> {
    fn split_into(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.extend(s.split(' ').map(str::to_string)),
            Value::Array(items) => items.iter().for_each(|i| split_into(i, out)),
            other => out.push(other.to_string()),
        }
    }
    match tasks {
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let mut words = Vec::new();
                split_into(item, &mut words);
                words
            })
            .collect(),
        other => {
            let mut words = Vec::new();
            split_into(other, &mut words);
            vec![words]
        }
    }
}

/// What a new schedule runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleTarget {
    /// A job (`--job`).
    Job(String),
    /// A legacy extractor/loader pair (`--extractor`, `--loader`, `--transform`).
    Elt {
        /// The extractor.
        extractor: String,
        /// The loader.
        loader: String,
        /// `skip`, `run` or `only`.
        transform: String,
    },
}

/// A `schedules:` entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    /// Its name.
    pub name: String,
    /// A preset or cron expression.
    pub interval: String,
    /// What it runs.
    pub target: ScheduleTarget,
}

impl NewSchedule {
    /// The entry with the keys in the order Meltano writes them: name, interval, then job or
    /// extractor, loader, transform.
    pub fn entry(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("interval".into(), Value::String(self.interval.clone()));
        match &self.target {
            ScheduleTarget::Job(job) => {
                m.insert("job".into(), Value::String(job.clone()));
            }
            ScheduleTarget::Elt {
                extractor,
                loader,
                transform,
            } => {
                m.insert("extractor".into(), Value::String(extractor.clone()));
                m.insert("loader".into(), Value::String(loader.clone()));
                m.insert("transform".into(), Value::String(transform.clone()));
            }
        }
        Value::Object(m)
    }
}

/// Changes to an existing schedule (`schedule set`); `None` leaves a key as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleChange {
    /// New interval.
    pub interval: Option<String>,
    /// New job (job schedules only).
    pub job: Option<String>,
    /// New extractor (ELT schedules only).
    pub extractor: Option<String>,
    /// New loader (ELT schedules only).
    pub loader: Option<String>,
    /// New transform (ELT schedules only).
    pub transform: Option<String>,
}

/// Which top-level list an entry is in.
#[derive(Clone, Copy)]
enum List {
    Jobs,
    Schedules,
}

impl List {
    fn key(self) -> &'static str {
        match self {
            List::Jobs => "jobs",
            List::Schedules => "schedules",
        }
    }
}

impl Project {
    /// Appends job `name` with `tasks` (as [`parse_tasks`] returns them) to `meltano.yml`.
    /// A job of that name anywhere in the project is an error and nothing is written.
    pub fn add_job(&self, name: &str, tasks: &Value) -> Result<(), ProjectError> {
        if let Some(existing) = self.find_job(name) {
            return Err(ProjectError::invalid(
                Some(existing.location.clone()),
                format!("Job '{name}' already exists."),
                "change it with `smelt job set`, or choose another name",
            ));
        }
        let mut entry = Map::new();
        entry.insert("name".into(), Value::String(name.to_string()));
        entry.insert("tasks".into(), tasks.clone());
        self.append_entry(List::Jobs, &Value::Object(entry))
    }

    /// Replaces the `tasks` of job `name` where it is defined.
    pub fn set_job_tasks(&self, name: &str, tasks: &Value) -> Result<(), ProjectError> {
        let Some(job) = self.find_job(name) else {
            return Err(job_not_found(name));
        };
        let (shown, mut path) = self.entry_path(List::Jobs, name, &job.location);
        path.push(PathSeg::Key("tasks".into()));
        edit_yaml_file(&self.root.join(&shown), &shown, |editor| {
            editor.set(&path, tasks).map(|()| true)
        })
        .map(|_| ())
    }

    /// Removes job `name` from the file that defines it; returns that file as shown to users.
    pub fn remove_job(&self, name: &str) -> Result<PathBuf, ProjectError> {
        let Some(job) = self.find_job(name) else {
            return Err(job_not_found(name));
        };
        self.remove_entry(List::Jobs, name, &job.location)
    }

    /// Appends a schedule to `meltano.yml` after checking, as Meltano does, that the interval
    /// is a preset or a valid cron expression and the name is new; smelt also requires the job
    /// (or the extractor and loader) to exist, so the schedule can run.
    pub fn add_schedule(&self, schedule: &NewSchedule) -> Result<(), ProjectError> {
        check_interval(&schedule.interval)?;
        if let Some(existing) = self.find_schedule(&schedule.name) {
            return Err(ProjectError::invalid(
                Some(existing.location.clone()),
                format!("Schedule '{}' already exists.", schedule.name),
                "change it with `smelt schedule set`, or choose another name",
            ));
        }
        match &schedule.target {
            ScheduleTarget::Job(job) => self.check_job(job)?,
            ScheduleTarget::Elt {
                extractor,
                loader,
                transform,
            } => {
                self.check_plugin(crate::PluginType::Extractor, extractor)?;
                self.check_plugin(crate::PluginType::Loader, loader)?;
                check_transform(transform)?;
            }
        }
        self.append_entry(List::Schedules, &schedule.entry())
    }

    /// Changes schedule `name` in place (only the keys given). A job schedule takes no
    /// extractor/loader/transform and an ELT schedule no job, as in Meltano.
    pub fn set_schedule(&self, name: &str, change: &ScheduleChange) -> Result<(), ProjectError> {
        let Some(schedule) = self.find_schedule(name) else {
            return Err(schedule_not_found(name));
        };
        let is_job = schedule.job.as_deref().is_some_and(|j| !j.is_empty());
        let elt_keys =
            change.extractor.is_some() || change.loader.is_some() || change.transform.is_some();
        if (is_job && elt_keys) || (!is_job && change.job.is_some()) {
            return Err(ProjectError::invalid(
                Some(schedule.location.clone()),
                "Cannot mix --job with --extractor/--loader/--transform",
                if is_job {
                    format!("schedule '{name}' runs a job: change it with --job or --interval")
                } else {
                    format!("schedule '{name}' runs an extractor and a loader: change it with --extractor, --loader, --transform or --interval")
                },
            ));
        }
        if let Some(interval) = &change.interval {
            check_interval(interval)?;
        }
        if let Some(job) = &change.job {
            self.check_job(job)?;
        }
        if let Some(extractor) = &change.extractor {
            self.check_plugin(crate::PluginType::Extractor, extractor)?;
        }
        if let Some(loader) = &change.loader {
            self.check_plugin(crate::PluginType::Loader, loader)?;
        }
        if let Some(transform) = &change.transform {
            check_transform(transform)?;
        }
        let updates = [
            ("interval", &change.interval),
            ("job", &change.job),
            ("extractor", &change.extractor),
            ("loader", &change.loader),
            ("transform", &change.transform),
        ];
        let (shown, path) = self.entry_path(List::Schedules, name, &schedule.location);
        edit_yaml_file(&self.root.join(&shown), &shown, |editor| {
            let mut changed = false;
            for (key, value) in updates {
                if let Some(value) = value {
                    let mut key_path = path.clone();
                    key_path.push(PathSeg::Key(key.into()));
                    editor.set(&key_path, &Value::String(value.clone()))?;
                    changed = true;
                }
            }
            Ok(changed)
        })
        .map(|_| ())
    }

    /// Removes schedule `name` from the file that defines it; returns that file as shown.
    pub fn remove_schedule(&self, name: &str) -> Result<PathBuf, ProjectError> {
        let Some(schedule) = self.find_schedule(name) else {
            return Err(schedule_not_found(name));
        };
        self.remove_entry(List::Schedules, name, &schedule.location)
    }

    fn check_job(&self, job: &str) -> Result<(), ProjectError> {
        if self.find_job(job).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = self.jobs.iter().map(|j| j.name.as_str()).collect();
        Err(ProjectError::invalid(
            None,
            format!("Job '{job}' was not found."),
            if known.is_empty() {
                "add it first with `smelt job add NAME --tasks '…'`".to_string()
            } else {
                format!("the project's jobs are: {}", known.join(", "))
            },
        ))
    }

    fn check_plugin(&self, plugin_type: crate::PluginType, name: &str) -> Result<(), ProjectError> {
        if self
            .plugins
            .iter()
            .any(|p| p.plugin_type == plugin_type && p.name == name)
        {
            return Ok(());
        }
        let known: Vec<&str> = self
            .plugins
            .iter()
            .filter(|p| p.plugin_type == plugin_type)
            .map(|p| p.name.as_str())
            .collect();
        Err(ProjectError::invalid(
            None,
            format!("{} '{name}' is not in the project", plugin_type.label()),
            if known.is_empty() {
                format!(
                    "add one with `smelt add --plugin-type {} NAME`",
                    plugin_type.label()
                )
            } else {
                format!("its {}s are: {}", plugin_type.label(), known.join(", "))
            },
        ))
    }

    /// The file defining the entry `name` of `list` (as shown) and its path in that file:
    /// `<list>.<index among that file's entries>`.
    fn entry_path(&self, list: List, name: &str, location: &Location) -> (PathBuf, Vec<PathSeg>) {
        let same_file_before = |locations: Vec<(&str, &Location)>| {
            locations
                .into_iter()
                .take_while(|(n, _)| *n != name)
                .filter(|(_, l)| l.file == location.file)
                .count()
        };
        let index = match list {
            List::Jobs => same_file_before(
                self.jobs
                    .iter()
                    .map(|j| (j.name.as_str(), &j.location))
                    .collect(),
            ),
            List::Schedules => same_file_before(
                self.schedules
                    .iter()
                    .map(|s| (s.name.as_str(), &s.location))
                    .collect(),
            ),
        };
        let path = vec![PathSeg::Key(list.key().into()), PathSeg::Index(index)];
        (PathBuf::from(&location.file), path)
    }

    fn append_entry(&self, list: List, entry: &Value) -> Result<(), ProjectError> {
        let path = [PathSeg::Key(list.key().into())];
        edit_yaml_file(
            &self.root.join(PROJECT_FILE),
            Path::new(PROJECT_FILE),
            |editor| editor.push(&path, entry).map(|()| true),
        )
        .map(|_| ())
    }

    fn remove_entry(
        &self,
        list: List,
        name: &str,
        location: &Location,
    ) -> Result<PathBuf, ProjectError> {
        let (shown, path) = self.entry_path(list, name, location);
        let removed = edit_yaml_file(&self.root.join(&shown), &shown, |editor| {
            editor.remove(&path)
        })?;
        if !removed {
            return Err(ProjectError::invalid(
                Some(location.clone()),
                format!("the entry of `{name}` was not found"),
                "check that the file was not changed meanwhile",
            ));
        }
        Ok(shown)
    }
}

fn check_interval(interval: &str) -> Result<(), ProjectError> {
    if is_valid_interval(interval) {
        return Ok(());
    }
    let presets: Vec<&str> = INTERVAL_PRESETS.iter().map(|(n, _)| *n).collect();
    Err(ProjectError::invalid(
        None,
        format!("Invalid Cron expression or alias: '{interval}'"),
        format!(
            "use a five-field cron expression ('*/15 * * * *') or one of {}",
            presets.join(", ")
        ),
    ))
}

fn check_transform(transform: &str) -> Result<(), ProjectError> {
    if ["skip", "only", "run"].contains(&transform) {
        return Ok(());
    }
    Err(ProjectError::invalid(
        None,
        format!("invalid transform '{transform}'"),
        "use skip, only or run",
    ))
}

fn job_not_found(name: &str) -> ProjectError {
    ProjectError::invalid(
        None,
        format!("Job '{name}' was not found."),
        "list the jobs with `smelt job list`",
    )
}

fn schedule_not_found(name: &str) -> ProjectError {
    ProjectError::invalid(
        None,
        format!("Schedule '{name}' was not found."),
        "list the schedules with `smelt schedule list`",
    )
}

#[cfg(test)]
#[path = "schedule_edit_tests.rs"]
mod tests;
