//! 8 separate processes each merge their own stream's bookmark into one state ID 50 times,
//! against S3 (moto) and Azure Blob (Azurite); afterwards every stream's last bookmark must be
//! present. This binary has its own `main`: run by `cargo test` it coordinates, and it starts
//! copies of itself (with `SMELT_TEST_WORKER_*` set) as the writers.

mod common;
mod suite;

use std::process::{Command, ExitCode};
use std::time::Instant;

use smelt_state::StateBackend;
use smelt_state_objstore::{from_uri, ObjectStoreSettings};

use suite::LockSettings;

const WRITERS: usize = 8;
const ROUNDS: u64 = 50;
const STATE_ID: &str = "dev:tap-processes-to-target";

const WORKER_URI: &str = "SMELT_TEST_WORKER_URI";
const WORKER_S3_ENDPOINT: &str = "SMELT_TEST_WORKER_S3_ENDPOINT";
const WORKER_AZURE: &str = "SMELT_TEST_WORKER_AZURE_CONNECTION_STRING";
const WORKER_STREAM: &str = "SMELT_TEST_WORKER_STREAM";

const TESTS: [&str; 2] = [
    "s3_eight_processes_lose_nothing",
    "azure_eight_processes_lose_nothing",
];

fn main() -> ExitCode {
    if let Ok(uri) = std::env::var(WORKER_URI) {
        return worker(&uri);
    }
    // Honour the libtest options tools rely on: name filters, --list, --ignored.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            for name in TESTS {
                println!("{name}: test");
            }
        }
        return ExitCode::SUCCESS;
    }
    let ignored_only = args.iter().any(|a| a == "--ignored");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<&str> = TESTS
        .iter()
        .copied()
        .filter(|_| !ignored_only)
        .filter(|t| filters.is_empty() || filters.iter().any(|f| t.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let outcomes: Vec<(&str, Result<(), String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = selected
            .iter()
            .map(|&name| (name, scope.spawn(move || run_test(name))))
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| {
                let outcome = h.join().unwrap_or_else(|panic| {
                    Err(panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panicked".to_string()))
                });
                (name, outcome)
            })
            .collect()
    });
    let mut failed = 0;
    for (name, outcome) in &outcomes {
        match outcome {
            Ok(()) => println!("test {name} ... ok"),
            Err(message) => {
                failed += 1;
                println!("test {name} ... FAILED\n{message}");
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {failed} failed; 0 ignored; 0 measured; {} filtered out\n",
        if failed == 0 { "ok" } else { "FAILED" },
        outcomes.len() - failed,
        TESTS.len() - selected.len()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run_test(name: &str) -> Result<(), String> {
    match name {
        "s3_eight_processes_lose_nothing" => {
            let s3 = common::S3::start("smelt-processes");
            let check = s3.backend(LockSettings::fast());
            run_writers(
                &s3.uri(),
                &[(WORKER_S3_ENDPOINT, s3.moto.endpoint().to_string())],
                check.as_ref(),
            )
        }
        "azure_eight_processes_lose_nothing" => {
            let azure = common::Azure::start("smelt-processes");
            let check = azure.backend(LockSettings::fast());
            run_writers(
                &azure.uri(),
                &[(WORKER_AZURE, azure.azurite.connection_string())],
                check.as_ref(),
            )
        }
        other => Err(format!("unknown test {other}")),
    }
}

/// Start the writer processes, wait for all, then check every stream's last bookmark.
fn run_writers(uri: &str, env: &[(&str, String)], check: &dyn StateBackend) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this test binary: {e}"))?;
    let started = Instant::now();
    let mut children = Vec::new();
    for n in 0..WRITERS {
        let mut command = Command::new(&exe);
        command
            .env(WORKER_URI, uri)
            .env(WORKER_STREAM, format!("stream_{n}"));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .map_err(|e| format!("could not start writer process {n}: {e}"))?;
        children.push(child);
    }
    let mut errors = Vec::new();
    for (n, child) in children.into_iter().enumerate() {
        match child.wait_with_output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => errors.push(format!(
                "writer {n} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => errors.push(format!("writer {n}: {e}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let stored = check
        .get(STATE_ID)
        .map_err(|e| format!("reading the merged state: {e}"))?
        .unwrap_or_default();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        suite::assert_streams_complete(&stored, WRITERS, ROUNDS)
    }))
    .map_err(|_| format!("bookmarks were lost: {:?}", stored.effective_singer_state()))?;
    eprintln!(
        "  {WRITERS} processes x {ROUNDS} merges on {uri}: {:.1?}",
        started.elapsed()
    );
    Ok(())
}

/// One writer process: merge this process's stream `ROUNDS` times.
fn worker(uri: &str) -> ExitCode {
    let lock = LockSettings::contended();
    let mut settings = ObjectStoreSettings {
        lock_timeout: lock.timeout,
        lock_retry: lock.retry,
        ..ObjectStoreSettings::default()
    };
    if let Ok(endpoint) = std::env::var(WORKER_S3_ENDPOINT) {
        settings = ObjectStoreSettings {
            lock_timeout: lock.timeout,
            lock_retry: lock.retry,
            ..common::s3_settings(&endpoint)
        };
    }
    if let Ok(connection) = std::env::var(WORKER_AZURE) {
        settings.azure_connection_string = Some(connection);
    }
    let stream = std::env::var(WORKER_STREAM).unwrap_or_default();
    let backend = match from_uri(uri, &settings) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("from_uri: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A failed merge panics with its error, which fails this process (exit code 101).
    suite::merge_stream(&backend, STATE_ID, &stream, ROUNDS);
    ExitCode::SUCCESS
}
