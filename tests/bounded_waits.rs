//! Every wait is bounded: a system database or state backend that accepts connections but
//! never answers (a frozen TCP proxy) fails smelt within the configured bound, with an error
//! naming what was waited for and the setting that bounds it; `--timeout` and SIGTERM still end
//! smelt promptly while it waits.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use common::{assert_fails, text, TestProject};
use smelt_testsupport::FrozenProxy;

/// Sends SIGTERM to `child` and waits at most `limit` for it to end (killing it and failing
/// the test otherwise).
fn sigterm_and_wait(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    // SAFETY: sends a signal to the child we spawned.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if started.elapsed() < limit => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => {
                let _ = child.kill();
                panic!("smelt did not end within {limit:?} after SIGTERM: {other:?}");
            }
        }
    }
}

fn frozen() -> FrozenProxy {
    match FrozenProxy::silent() {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn state_list_on_a_frozen_database_fails_within_the_connect_bound() {
    let proxy = frozen();
    let p = TestProject::fixture();
    let uri = format!("postgresql://postgres:pw@127.0.0.1:{}/test", proxy.port());
    let started = Instant::now();
    let out = p.run_env(
        &["state", "list"],
        &[
            ("MELTANO_DATABASE_URI", &uri),
            ("MELTANO_DATABASE_CONNECT_TIMEOUT_SECONDS", "1"),
            ("MELTANO_DATABASE_MAX_RETRIES", "1"),
            ("MELTANO_DATABASE_RETRY_TIMEOUT", "0"),
        ],
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "{took:?}\n{}", text(&out));
    let target = format!("postgresql://postgres@127.0.0.1:{}/test", proxy.port());
    assert_fails(
        &out,
        1,
        &[
            &target,
            "did not answer within 1.0s",
            "database_connect_timeout_seconds",
            "2 attempts",
        ],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(":pw@"));
    assert_eq!(proxy.accepted(), 2);
}

#[test]
fn state_list_on_a_frozen_s3_endpoint_fails_within_the_backend_timeout() {
    let proxy = frozen();
    let p = TestProject::fixture();
    let endpoint = format!("http://127.0.0.1:{}", proxy.port());
    let started = Instant::now();
    let out = p.run_env(
        &["state", "list"],
        &[
            ("MELTANO_STATE_BACKEND_URI", "s3://frozen-bucket/state"),
            ("MELTANO_STATE_BACKEND_S3_ENDPOINT_URL", &endpoint),
            ("MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID", "testing"),
            ("MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY", "testing"),
            ("MELTANO_STATE_BACKEND_S3_REGION", "us-east-1"),
            ("MELTANO_STATE_BACKEND_TIMEOUT_SECONDS", "1"),
        ],
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}\n{}", text(&out));
    assert_fails(
        &out,
        1,
        &[
            "s3://frozen-bucket",
            "did not answer within 1.0s",
            "state_backend.timeout_seconds",
        ],
    );
    assert!(proxy.accepted() >= 1);
}

#[test]
fn run_timeout_ends_a_wait_on_a_frozen_database() {
    let proxy = frozen();
    let p = TestProject::fixture();
    let uri = format!("postgresql://postgres@127.0.0.1:{}/test", proxy.port());
    let started = Instant::now();
    let out = p.run_env(
        &["run", "--timeout", "2", "tap-fixture", "target-fixture"],
        &[
            ("MELTANO_DATABASE_URI", &uri),
            ("MELTANO_DATABASE_CONNECT_TIMEOUT_SECONDS", "600"),
        ],
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "{took:?}\n{}", text(&out));
    assert_fails(&out, 1, &["timed out after 2 seconds", "system database"]);
}

#[test]
fn sigterm_ends_a_wait_on_a_frozen_database() {
    let proxy = frozen();
    let p = TestProject::fixture();
    let uri = format!("postgresql://postgres@127.0.0.1:{}/test", proxy.port());
    let mut child = p.spawn_env(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("MELTANO_DATABASE_URI", &uri),
            ("MELTANO_DATABASE_CONNECT_TIMEOUT_SECONDS", "600"),
        ],
    );
    // Wait until smelt is blocked on the frozen server.
    let until = Instant::now() + Duration::from_secs(10);
    while proxy.accepted() == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(proxy.accepted(), 1, "smelt never connected");
    let status = sigterm_and_wait(&mut child, Duration::from_secs(5));
    // Ended by the signal itself, or exiting 143 as for a signal.
    assert!(
        status.signal() == Some(libc::SIGTERM) || status.code() == Some(143),
        "{status:?}"
    );
}

#[test]
fn sigterm_ends_a_run_whose_state_backend_froze_mid_run() {
    // State on S3 (moto) through a proxy that freezes once the run is under way; the backend's
    // own timeout is long, so only smelt's exit deadline after the signal can end it.
    let moto = smelt_testsupport::Moto::start().unwrap_or_else(|e| panic!("{e}"));
    moto.create_bucket("frozen-later")
        .unwrap_or_else(|e| panic!("{e}"));
    let upstream: std::net::SocketAddr = format!("127.0.0.1:{}", moto.port()).parse().unwrap();
    let proxy = FrozenProxy::forwarding(upstream).unwrap_or_else(|e| panic!("{e}"));
    let p = TestProject::fixture();
    let endpoint = format!("http://127.0.0.1:{}", proxy.port());
    let mut child = p.spawn_env(
        &["run", "tap-fixture", "target-fixture"],
        &[
            ("MELTANO_STATE_BACKEND_URI", "s3://frozen-later/state"),
            ("MELTANO_STATE_BACKEND_S3_ENDPOINT_URL", &endpoint),
            ("MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID", "testing"),
            ("MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY", "testing"),
            ("MELTANO_STATE_BACKEND_S3_REGION", "us-east-1"),
            ("MELTANO_STATE_BACKEND_TIMEOUT_SECONDS", "600"),
            ("TAP_FIXTURE_COUNT", "400"),
            ("TAP_FIXTURE_SLEEP_MS", "50"),
            ("TAP_FIXTURE_STATE_EVERY", "5"),
        ],
    );
    // Let the run claim its state ID and save a few acknowledgements, then freeze S3.
    std::thread::sleep(Duration::from_secs(3));
    proxy.freeze();
    std::thread::sleep(Duration::from_secs(1));
    let status = sigterm_and_wait(&mut child, Duration::from_secs(25));
    assert_eq!(status.code(), Some(143), "{status:?}");
}
