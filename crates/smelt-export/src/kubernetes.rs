//! Kubernetes CronJob manifests (batch/v1), one per schedule, and a Dockerfile for the image.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use smelt_project::{Project, Schedule};

use crate::text::{dns_label, yaml_str};
use crate::{
    smelt_args, work_of, ExportError, ExportOptions, GeneratedFile, Rendered, Work, MARKER,
};

/// CronJob names may be at most 52 characters (the controller appends 11 to name its Jobs).
const MAX_CRONJOB_NAME: usize = 52;

/// Renders `cronjob-<name>.yaml` for every schedule with a recurring interval, then
/// `Dockerfile` and `Dockerfile.dockerignore`. Schedules that only run when triggered
/// (`@manual`, `@once`, no interval) or whose interval Kubernetes cannot express are listed in
/// [`Rendered::skipped`].
pub fn render_kubernetes(project: &Project, opts: &ExportOptions) -> Result<Rendered, ExportError> {
    let mut rendered = Rendered::default();
    let mut names = BTreeSet::new();
    for schedule in &project.schedules {
        let work = work_of(project, schedule)?;
        let cron = match k8s_cron(schedule.interval.as_deref()) {
            Ok(cron) => cron,
            Err(reason) => {
                rendered
                    .skipped
                    .push(format!("schedule `{}`: {reason}", schedule.name));
                continue;
            }
        };
        let name = dns_label(&format!("smelt-{}", schedule.name), MAX_CRONJOB_NAME)
            .unwrap_or_else(|| "smelt".to_string());
        if !names.insert(name.clone()) {
            return Err(ExportError::Invalid(format!(
                "{}: schedule `{}` would share the CronJob name `{name}` with another schedule; rename one of them",
                schedule.location, schedule.name
            )));
        }
        rendered.files.push(GeneratedFile {
            name: format!("cronjob-{name}.yaml"),
            contents: cronjob(schedule, &work, &name, &cron, opts),
        });
    }
    rendered.files.push(GeneratedFile {
        name: "Dockerfile".to_string(),
        contents: dockerfile(),
    });
    rendered.files.push(GeneratedFile {
        name: "Dockerfile.dockerignore".to_string(),
        contents: format!("{MARKER}\n# Never send credentials or local run artefacts into the image.\n.env\n.env.*\n.meltano\noutput\n.git\n"),
    });
    Ok(rendered)
}

/// The 5-field cron expression for `interval`, or why it has none.
///
/// Kubernetes accepts the `@hourly`-style macros too, but writing them out keeps the manifest
/// readable by every cron tool and avoids macros Kubernetes lacks.
pub(crate) fn k8s_cron(interval: Option<&str>) -> Result<String, String> {
    let interval = interval.map(str::trim).unwrap_or_default();
    let fixed = match interval {
        "" | "@manual" | "@once" => {
            return Err(format!(
                "interval `{}` runs only when triggered, which a CronJob cannot express; run it with `kubectl create job --from=…` or `smelt schedule run`",
                if interval.is_empty() { "(none)" } else { interval }
            ))
        }
        "@hourly" => "0 * * * *",
        "@daily" | "@midnight" => "0 0 * * *",
        "@weekly" => "0 0 * * 0",
        "@monthly" => "0 0 1 * *",
        "@yearly" | "@annually" => "0 0 1 1 *",
        other if other.starts_with('@') => {
            return Err(format!(
                "interval `{other}` is not a cron preset Kubernetes understands"
            ))
        }
        other => {
            let fields = other.split_whitespace().count();
            if fields != 5 {
                return Err(format!(
                    "cron expression `{other}` has {fields} fields; Kubernetes needs 5 (minute hour day month weekday)"
                ));
            }
            return Ok(other.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    };
    Ok(fixed.to_string())
}

/// One CronJob manifest.
fn cronjob(
    schedule: &Schedule,
    work: &Work<'_>,
    name: &str,
    cron: &str,
    opts: &ExportOptions,
) -> String {
    let (what, args) = match work {
        Work::Job(job) => {
            // `smelt run <job>` runs the job's tasks in order, in one pod.
            let mut args: Vec<String> = opts
                .environment
                .iter()
                .map(|e| format!("--environment={e}"))
                .collect();
            args.push("run".to_string());
            args.push(job.name.clone());
            (format!("job `{}`", job.name), args)
        }
        Work::Elt => (
            format!(
                "extractor `{}` → loader `{}`",
                schedule.extractor.as_deref().unwrap_or_default(),
                schedule.loader.as_deref().unwrap_or_default()
            ),
            smelt_args(opts, None, schedule),
        ),
    };
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{MARKER}");
    let _ = writeln!(
        w,
        "# smelt schedule `{}`: {what}, interval {}.",
        schedule.name,
        schedule.interval.as_deref().unwrap_or_default()
    );
    let _ = writeln!(w, "# Pods keep nothing between runs: keep state in object storage (state_backend.uri:\n# s3://, gs://, azure://) or Postgres (database_uri: postgresql://), never in the pod.\n# Only one run of a schedule at a time (concurrencyPolicy: Forbid); smelt's state-ID claim\n# also refuses a second run of the same state ID.");
    if let Some(secret) = &opts.secret {
        let _ = writeln!(w, "# Credentials come from the Secret `{secret}`, e.g.\n#   kubectl create secret generic {secret} --from-env-file=.env");
    }
    let _ = writeln!(w, "apiVersion: batch/v1\nkind: CronJob\nmetadata:");
    let _ = writeln!(
        w,
        "  name: {name}\n  namespace: {}",
        yaml_str(&opts.namespace)
    );
    let _ = writeln!(
        w,
        "  labels:\n    app.kubernetes.io/name: smelt\n    app.kubernetes.io/managed-by: smelt"
    );
    let _ = writeln!(
        w,
        "  annotations:\n    smelt.dev/schedule: {}",
        yaml_str(&schedule.name)
    );
    let _ = writeln!(w, "spec:\n  schedule: {}", yaml_str(cron));
    let _ = writeln!(
        w,
        "  concurrencyPolicy: Forbid\n  successfulJobsHistoryLimit: 3\n  failedJobsHistoryLimit: 3"
    );
    let _ = writeln!(
        w,
        "  jobTemplate:\n    spec:\n      backoffLimit: {}",
        opts.retries
    );
    let _ = writeln!(w, "      template:\n        metadata:\n          labels:\n            app.kubernetes.io/name: smelt");
    let _ = writeln!(w, "        spec:\n          restartPolicy: Never\n          containers:\n            - name: smelt");
    let _ = writeln!(w, "              image: {}", yaml_str(&opts.image));
    let _ = writeln!(w, "              command: [{}]", yaml_str(&opts.smelt_bin));
    let quoted: Vec<String> = args.iter().map(|a| yaml_str(a)).collect();
    let _ = writeln!(w, "              args: [{}]", quoted.join(", "));
    if !schedule.env.is_empty() {
        let _ = writeln!(w, "              env:");
        for (k, v) in &schedule.env {
            let _ = writeln!(
                w,
                "                - name: {}\n                  value: {}",
                yaml_str(k),
                yaml_str(v)
            );
        }
    }
    if let Some(secret) = &opts.secret {
        let _ = writeln!(
            w,
            "              envFrom:\n                - secretRef:\n                    name: {}",
            yaml_str(secret)
        );
    }
    let _ = writeln!(w, "              resources:\n                requests:");
    let _ = writeln!(
        w,
        "                  cpu: {}\n                  memory: {}",
        yaml_str(&opts.cpu),
        yaml_str(&opts.memory)
    );
    out
}

/// The Dockerfile for a smelt image holding the project with its plugins installed.
fn dockerfile() -> String {
    format!(
        r#"{MARKER}
# An image with smelt and this project, its Python plugins installed at build time. Build it
# from the project directory, naming smelt's source tree as a build context (BuildKit):
#   docker build --build-context smelt-src=/path/to/smelt \
#     -f orchestrate/kubernetes/Dockerfile -t my-registry/smelt-project:TAG .
# .env is never copied in (Dockerfile.dockerignore, and removed below in case): credentials
# come from a Secret at run time. Keep state in object storage or Postgres, not in the image.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY --from=smelt-src Cargo.toml Cargo.lock ./
COPY --from=smelt-src src ./src
COPY --from=smelt-src crates ./crates
RUN cargo build --locked --release --bin smelt

FROM python:3.12-slim-bookworm
COPY --from=build /src/target/release/smelt /usr/local/bin/smelt
ENV SMELT_CACHE_DIR=/opt/smelt-cache
WORKDIR /project
COPY . /project
RUN rm -f /project/.env \
 && smelt install \
 && useradd --uid 10001 --no-create-home smelt \
 && mkdir -p /opt/smelt-cache \
 && chown -R smelt /project /opt/smelt-cache
USER 10001
ENTRYPOINT ["smelt"]
CMD ["--help"]
"#
    )
}
