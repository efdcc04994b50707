//! Jobs (named task lists) and schedules.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Location, ProjectError};
use crate::node::{scalar_string, Node};

/// A named list of tasks (`jobs:`), each task a block string for `smelt run`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job name.
    pub name: String,
    /// Each task as one block string, e.g. `"tap-x mapping target-y"`.
    pub tasks: Vec<String>,
    /// Where the job is defined; the runtime uses it when a task names an unknown block.
    pub location: Location,
    /// `tasks` exactly as written (a string, or a list of strings and lists of strings):
    /// `job list --format json` prints it unchanged, as Meltano does.
    pub written_tasks: Value,
    /// How many of its extract-load sets `smelt run JOB` runs at once when `--jobs` is not
    /// given: `annotations: {smelt: {parallelism: N}}`. Annotations are Meltano's place for
    /// other tools' keys, so the project stays valid for Meltano.
    pub parallelism: Option<u16>,
}

/// `annotations.smelt.parallelism` of a job: a whole number from 1 to 256, if set.
fn job_parallelism(node: Node<'_>, name: &str) -> Result<Option<u16>, ProjectError> {
    let Some(annotations) = node.get("annotations") else {
        return Ok(None);
    };
    let Some(smelt) = annotations.node().get("smelt") else {
        return Ok(None);
    };
    let Some(value) = smelt.node().get("parallelism") else {
        return Ok(None);
    };
    let n = value.node();
    match n.value.as_u64().filter(|v| (1..=256).contains(v)) {
        Some(v) => Ok(Some(v as u16)),
        None => Err(n.wrong_shape(
            &format!("`annotations.smelt.parallelism` of job `{name}`"),
            "a whole number from 1 to 256",
            "write e.g. `parallelism: 3` (how many extract-load sets run at once)",
        )),
    }
}

impl Job {
    /// Reads one `jobs:` entry. `tasks` may be a string, a list of strings, or a list whose
    /// entries are themselves lists of strings (joined with spaces).
    pub(crate) fn from_node(node: Node<'_>) -> Result<Job, ProjectError> {
        node.object("each entry of `jobs`")?;
        let (location, name) = node.location_and_name("a job", "<job_name>")?;
        let Some(tasks_node) = node.get("tasks") else {
            return Err(ProjectError::invalid(
                Some(location),
                format!("job `{name}` has no `tasks`"),
                "add `tasks:` with one block string per task, e.g. `- tap-x target-y`",
            ));
        };
        let tasks_node = tasks_node.node();
        let shape_error = |n: Node<'_>| {
            n.wrong_shape(
                &format!("`tasks` of job `{name}`"),
                "a string, a list of strings, or a list of lists of strings",
                "write each task as `- tap-x target-y` (or `- [tap-x, target-y]`)",
            )
        };
        let mut tasks = Vec::new();
        if let Some(single) = scalar_string(tasks_node.value) {
            tasks.push(single);
        } else if tasks_node.value.is_array() {
            for item in tasks_node.items("tasks")? {
                let item_node = item.node();
                match item_node.value {
                    Value::Array(parts) => {
                        let mut words = Vec::new();
                        for part in parts {
                            words.push(scalar_string(part).ok_or_else(|| shape_error(item_node))?);
                        }
                        tasks.push(words.join(" "));
                    }
                    other => {
                        tasks.push(scalar_string(other).ok_or_else(|| shape_error(item_node))?)
                    }
                }
            }
        } else {
            return Err(shape_error(tasks_node));
        }
        let parallelism = job_parallelism(node, &name)?;
        Ok(Job {
            name,
            tasks,
            location,
            written_tasks: tasks_node.value.clone(),
            parallelism,
        })
    }
}

/// A schedule (`schedules:`): a job or an extractor/loader pair to run on an interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The schedule name.
    pub name: String,
    /// A cron expression or `@daily`-style preset.
    pub interval: Option<String>,
    /// The job to run (job schedules).
    pub job: Option<String>,
    /// The extractor (legacy ELT schedules).
    pub extractor: Option<String>,
    /// The loader (legacy ELT schedules).
    pub loader: Option<String>,
    /// Extra environment for the run.
    pub env: BTreeMap<String, String>,
    /// Where the schedule is defined.
    pub location: Location,
    /// Other keys (`transform`, `start_date`, ...), kept as written.
    pub extra: Map<String, Value>,
    /// `env` exactly as written (key order and value types kept), for `schedule list`.
    pub written_env: Map<String, Value>,
}

impl Schedule {
    /// Reads one `schedules:` entry.
    pub(crate) fn from_node(node: Node<'_>) -> Result<Schedule, ProjectError> {
        let map = node
            .object("each entry of `schedules`")?
            .cloned()
            .unwrap_or_default();
        let (location, name) = node.location_and_name("a schedule", "<schedule_name>")?;
        let written_env = map
            .get("env")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let known = ["name", "interval", "job", "extractor", "loader", "env"];
        let extra = map
            .into_iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .collect();
        Ok(Schedule {
            name,
            interval: node.opt_string("interval")?,
            job: node.opt_string("job")?,
            extractor: node.opt_string("extractor")?,
            loader: node.opt_string("loader")?,
            env: node.opt_string_map("env")?.unwrap_or_default(),
            location,
            extra,
            written_env,
        })
    }
}

impl Schedule {
    /// The cron expression the interval stands for, as Meltano's `cron_interval`: a preset
    /// (`@daily`) becomes its expression, `@once`/`@manual`/`@none` become `None`, anything
    /// else is returned as written.
    pub fn cron_interval(&self) -> Option<String> {
        self.interval
            .as_deref()
            .filter(|i| !i.is_empty())
            .and_then(crate::schedule_edit::cron_interval)
    }

    /// An ELT schedule's `transform` (`skip`, `run` or `only`); `skip` when not written.
    pub fn transform(&self) -> String {
        self.extra
            .get("transform")
            .and_then(scalar_string)
            .unwrap_or_else(|| "skip".to_string())
    }

    /// The arguments Meltano passes to `elt` for an ELT schedule: extractor, loader,
    /// `--transform=…` and `--state-id=<schedule name>`. Empty for a job schedule.
    pub fn elt_args(&self) -> Vec<String> {
        match (&self.job, &self.extractor, &self.loader) {
            (None, Some(extractor), Some(loader)) => vec![
                extractor.clone(),
                loader.clone(),
                format!("--transform={}", self.transform()),
                format!("--state-id={}", self.name),
            ],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_yaml;
    use std::path::Path;

    fn job(text: &str) -> Result<Job, ProjectError> {
        let doc = parse_yaml(text, Path::new("meltano.yml")).unwrap_or_else(|e| panic!("{e}"));
        Job::from_node(Node {
            value: &doc.value,
            pointer: "",
            map: &doc.source_map,
        })
    }

    #[test]
    fn task_shapes() {
        let j = job("name: j\ntasks: tap-x target-y\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(j.tasks, vec!["tap-x target-y"]);
        let j =
            job("name: j\ntasks:\n- tap-x target-y\n- dbt:run\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(j.tasks, vec!["tap-x target-y", "dbt:run"]);
        let j = job("name: j\ntasks:\n- [tap-x, m1, target-y]\n- dbt:run\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(j.tasks, vec!["tap-x m1 target-y", "dbt:run"]);
        assert_eq!(j.location, Location::new("meltano.yml", 1, 1));
    }

    #[test]
    fn bad_tasks_are_located() {
        let err = job("name: j\ntasks:\n- a: b\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("meltano.yml:3:3: `tasks` of job `j` must be"),
            "{err}"
        );
        let err = job("name: j\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("has no `tasks`"), "{err}");
    }

    #[test]
    fn schedules_keep_extra_keys() {
        let doc = parse_yaml(
            "name: daily\ninterval: '@daily'\nextractor: tap-x\nloader: target-y\ntransform: skip\nenv:\n  A: 1\n",
            Path::new("meltano.yml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let s = Schedule::from_node(Node {
            value: &doc.value,
            pointer: "",
            map: &doc.source_map,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.interval.as_deref(), Some("@daily"));
        assert_eq!(s.env.get("A").map(String::as_str), Some("1"));
        assert_eq!(
            s.extra.get("transform"),
            Some(&Value::String("skip".into()))
        );
    }
}
