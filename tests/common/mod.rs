//! Shared helpers for integration tests: throwaway projects and running the real `smelt` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The fixture Singer plugins written for these tests.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plugins")
}

/// A project in a temporary directory.
pub struct TestProject {
    pub dir: tempfile::TempDir,
}

/// A pipeline project using the fixture tap, two mappings and the fixture target.
pub const FIXTURE_YML: &str = r#"version: 1
default_environment: dev
project_id: 7d0c1d8e-0000-4000-8000-000000000001
environments:
- name: dev
- name: prod
plugins:
  extractors:
  - name: tap-fixture
    executable: {FIXTURES}/tap-fixture
    capabilities: [state]
    settings:
    - {name: count, kind: integer}
    - {name: state_every, kind: integer}
    - {name: crash_after, kind: integer}
    - {name: sleep_ms, kind: integer}
    - {name: long_line, kind: integer}
    - {name: pid_file}
    - {name: env_dump}
    config:
      count: 10
      state_every: 5
  mappers:
  - name: mapper-fixture
    executable: {FIXTURES}/mapper-fixture
    mappings:
    - name: tag-a
      config:
        tag: a
    - name: tag-b
      config:
        tag: b
  loaders:
  - name: target-fixture
    executable: {FIXTURES}/target-fixture
    settings:
    - {name: path}
    - {name: crash_after, kind: integer}
    - {name: exit_after, kind: integer}
    config:
      path: out.jsonl
"#;

impl TestProject {
    /// Writes `yml` (with `{FIXTURES}` replaced) as meltano.yml in a fresh directory.
    pub fn new(yml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = yml.replace("{FIXTURES}", &fixtures().display().to_string());
        std::fs::write(dir.path().join("meltano.yml"), text).expect("write meltano.yml");
        TestProject { dir }
    }

    /// The standard fixture pipeline project.
    pub fn fixture() -> Self {
        Self::new(FIXTURE_YML)
    }

    /// A path inside the project.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A `smelt` command running in the project, with no MELTANO_* leaking in from outside.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_smelt"));
        cmd.args(args).current_dir(self.dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("MELTANO_") || k.starts_with("TAP_") || k.starts_with("TARGET_") {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    /// Runs smelt to completion with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        cmd.output().expect("run smelt")
    }

    /// Runs smelt to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// Starts smelt in the background with piped output.
    pub fn spawn_env(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().expect("spawn smelt")
    }

    /// The JSON lines the fixture target wrote.
    pub fn output_records(&self) -> Vec<serde_json::Value> {
        read_jsonl(&self.path("out.jsonl"))
    }

    /// The stored `{completed, partial}` document (`smelt state get --format raw ID`) parsed,
    /// or None when there is none.
    pub fn state(&self, id: &str) -> Option<serde_json::Value> {
        let out = self.run(&["state", "get", "--format", "raw", id]);
        if !out.status.success() {
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).expect("state get prints JSON"))
    }
}

/// Parses a JSON-lines file (missing file → empty).
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// stdout + stderr as text, for assertions and failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

/// Waits until `path` exists (up to `secs`), for pid files written by fixtures.
pub fn wait_for_file(path: &Path, secs: u64) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if std::fs::read_to_string(path)
            .map(|s| !s.is_empty())
            .unwrap_or(false)
        {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Asserts that smelt exited with `code` and that stderr contains every one of `needles`.
pub fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in stderr:\n{}", text(out));
    }
}

/// The PostgreSQL server every test may use (trust auth).
pub const PG: &str = "postgresql://postgres@127.0.0.1:5432/test";

/// A PostgreSQL schema of its own for one test, dropped when it goes out of scope.
pub struct PgSchema(pub String);

impl PgSchema {
    /// Creates a uniquely named schema.
    pub fn create() -> PgSchema {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("smelt_it_{}_{n}_{nanos}", std::process::id());
        psql(&format!("CREATE SCHEMA {name}"));
        PgSchema(name)
    }

    /// A `database_uri` that puts smelt's tables in this schema.
    pub fn uri(&self) -> String {
        format!("{PG}?options=-csearch_path%3D{}", self.0)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        psql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
    }
}

/// Runs one SQL statement with psql against [`PG`], failing with how to start the server.
pub fn psql(sql: &str) -> String {
    psql_at(PG, sql)
}

/// Runs one SQL statement with psql against the server at `url` (no `.psqlrc`, stop on the
/// first error, unaligned tuples only) and returns its output; fails the test naming the
/// statement and, for [`PG`], how to start the server.
pub fn psql_at(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-X", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql])
        .output()
        .expect("psql is needed for the PostgreSQL tests (install the PostgreSQL client)");
    let hint = if url == PG {
        "if PostgreSQL at 127.0.0.1:5432 is down, start it with \
         `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
    } else {
        "the server is a test's own"
    };
    assert!(
        out.status.success(),
        "psql {sql:?} failed ({hint}): {}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A virtualenv under target/ holding the PyPI `requirement`, installed by `smelt install`
/// itself (uv, the shared caches of [`install_cache_env`]) into a small project of its own, so
/// it is created on first use and a no-op afterwards; returns `bin/<exe>`. Installs are
/// serialised within a test binary, and a failure says what to check.
pub fn pypi_venv(dir_name: &str, requirement: &str, exe: &str) -> PathBuf {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let project = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir_name);
    std::fs::create_dir_all(&project).expect("create the venv project");
    let yml = format!(
        "version: 1\nplugins:\n  utilities:\n  - name: pkg\n    namespace: pkg\n    pip_url: '{requirement}'\n"
    );
    std::fs::write(project.join("meltano.yml"), yml).expect("write meltano.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_smelt"))
        .args(["install"])
        .current_dir(&project)
        .envs(install_cache_env())
        .output()
        .expect("run smelt install");
    assert!(
        out.status.success(),
        "smelt install {requirement} failed (is PyPI reachable?): {}",
        text(&out)
    );
    project.join(".meltano/utilities/pkg/venv/bin").join(exe)
}

/// Copies a directory tree, leaving out `.meltano` and `output` (run artefacts).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == ".meltano" || name == "output" {
            continue;
        }
        let dest = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// A fresh copy of `examples/quickstart` (native tap-csv → target-jsonl).
pub fn quickstart() -> TestProject {
    let p = TestProject::new("");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart"),
        p.dir.path(),
    );
    p
}

// ---------------------------------------------------------------------------------------------
// State backends (the state_backends and fault_injection suites run on each).

/// One place state can live, as the suite needs to configure it.
pub struct Backend {
    /// Shown in failure messages.
    pub name: &'static str,
    /// Top-level meltano.yml lines (e.g. a `state_backend:` mapping or a `database_uri:`);
    /// `{ROOT}` is replaced by the project directory.
    pub yml: String,
    /// Extra environment for every smelt process (credentials, endpoints).
    pub env: Vec<(String, String)>,
    /// Kept alive for the whole test (an emulator process, a temporary bucket, ...).
    pub guard: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Backend {
    pub fn new(name: &'static str, yml: &str) -> Backend {
        Backend {
            name,
            yml: yml.to_string(),
            env: Vec::new(),
            guard: None,
        }
    }

    /// A project with `yml` (`{FIXTURES}` replaced) followed by this backend's lines and
    /// `extra` top-level lines (`{ROOT}` is the project directory in both).
    pub fn project(&self, yml: &str, extra: &str) -> TestProject {
        let p = TestProject::new(yml);
        let root = p.dir.path().display().to_string();
        let text = format!(
            "{}{}{}",
            yml.replace("{FIXTURES}", &fixtures().display().to_string()),
            self.yml.replace("{ROOT}", &root),
            extra.replace("{ROOT}", &root),
        );
        std::fs::write(p.path("meltano.yml"), text).expect("write meltano.yml");
        p
    }

    /// A `smelt` command in `p` with this backend's environment and stdin closed.
    pub fn command(&self, p: &TestProject, args: &[&str]) -> Command {
        let mut cmd = p.command(args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null());
        cmd
    }
}

/// The default backend: the project's SQLite system database.
pub fn systemdb() -> Backend {
    Backend::new("systemdb", "")
}

/// A local directory in Meltano's layout.
pub fn file_dir() -> Backend {
    Backend::new("file", "state_backend:\n  uri: file://{ROOT}/state\n")
}

/// The system database on the real PostgreSQL server, in a schema of its own.
pub fn postgres() -> Backend {
    let schema = PgSchema::create();
    Backend {
        yml: format!("database_uri: {}\n", schema.uri()),
        guard: Some(Box::new(schema)),
        ..Backend::new("postgres", "")
    }
}

/// S3 through moto (installed and started by smelt-testsupport), credentials in meltano.yml.
pub fn s3() -> Backend {
    let moto = smelt_testsupport::Moto::start().unwrap_or_else(|e| panic!("{e}"));
    moto.create_bucket("smelt-state")
        .unwrap_or_else(|e| panic!("{e}"));
    Backend {
        yml: format!(
            "state_backend:\n  uri: s3://smelt-state/meltano/state\n  s3:\n    aws_access_key_id: testing\n    aws_secret_access_key: testing\n    endpoint_url: {}\n",
            moto.endpoint()
        ),
        env: vec![("AWS_REGION".into(), "us-east-1".into())],
        guard: Some(Box::new(moto)),
        ..Backend::new("s3", "")
    }
}

/// Azure Blob through azurite, with the connection string from the standard variable.
pub fn azure() -> Backend {
    let azurite = smelt_testsupport::Azurite::start().unwrap_or_else(|e| panic!("{e}"));
    azurite
        .create_container("smelt-state")
        .unwrap_or_else(|e| panic!("{e}"));
    Backend {
        yml: "state_backend:\n  uri: azure://smelt-state/meltano/state\n".into(),
        env: vec![(
            "AZURE_STORAGE_CONNECTION_STRING".into(),
            azurite.connection_string(),
        )],
        guard: Some(Box::new(azurite)),
        ..Backend::new("azure", "")
    }
}

// ---------------------------------------------------------------------------------------------
// Processes.

/// The parent pid of `pid`, from /proc.
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A child of `parent` whose command line mentions `needle`.
pub fn wait_for_child(parent: i32, needle: &str) -> Option<i32> {
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end {
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if parent_of(pid) != Some(parent) {
                continue;
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(needle) {
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Where smelt's cache (the uv it bootstraps) and uv's package cache live for tests that
/// install real PyPI packages: one place under target/, shared by every test binary, so uv is
/// bootstrapped once and packages are downloaded once per clone.
pub fn install_cache_env() -> Vec<(&'static str, String)> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    vec![
        (
            "SMELT_CACHE_DIR",
            tmp.join("smelt-cache").display().to_string(),
        ),
        ("UV_CACHE_DIR", tmp.join("uv-cache").display().to_string()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Singer output compared as JSON, numbers as written.

/// The prefix of a number token turned into a string by [`json_numbers_as_text`].
pub const NUMBER_MARK: &str = "\u{0}number:";

/// Parses one JSON text with every number token outside strings replaced by a string holding
/// the token's text (prefixed by [`NUMBER_MARK`]), so parsed values compare numbers as written:
/// `1640995200.0` != `1640995200`, and `0.3` != `0.30000000000000004`. Object key order is
/// not significant in the result's equality.
pub fn json_numbers_as_text(line: &str) -> Result<serde_json::Value, serde_json::Error> {
    let mut out = String::with_capacity(line.len() + 32);
    let mut chars = line.chars().peekable();
    let (mut in_string, mut escaped) = (false, false);
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '-' || c.is_ascii_digit() {
            let mut token = String::from(c);
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-') {
                    token.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push_str("\"\\u0000number:");
            out.push_str(&token);
            out.push('"');
        } else {
            out.push(c);
        }
    }
    serde_json::from_str(&out)
}
