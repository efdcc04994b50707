//! Each emulator installs, starts on a random 127.0.0.1 port, answers its setup calls, and is
//! gone after drop.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use smelt_testsupport::{Azurite, FakeGcs, Moto};

fn port_closed(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err()
}

#[test]
fn moto_starts_creates_buckets_and_stops() {
    let moto = match Moto::start() {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    if let Err(e) = moto.create_bucket("harness-bucket") {
        panic!("{e}");
    }
    // Creating an invalid bucket is refused with moto's reason.
    let err = moto.create_bucket("x").err().map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(|e| e.contains("\"x\"")),
        "{err:?}"
    );
    let port = moto.port();
    drop(moto);
    assert!(port_closed(port));
}

#[test]
fn azurite_starts_creates_containers_and_stops() {
    let azurite = match Azurite::start() {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    };
    assert!(azurite
        .blob_endpoint()
        .ends_with(&format!(":{}/devstoreaccount1", azurite.port())));
    assert!(azurite
        .connection_string()
        .contains("AccountName=devstoreaccount1;"));
    if let Err(e) = azurite.create_container("harness") {
        panic!("{e}");
    }
    // Idempotent, like the SDK's createIfNotExists.
    if let Err(e) = azurite.create_container("harness") {
        panic!("{e}");
    }
    let port = azurite.port();
    drop(azurite);
    assert!(port_closed(port));
}

#[test]
fn fake_gcs_starts_stores_objects_and_stops() {
    let gcs = match FakeGcs::start() {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = gcs.create_bucket("harness") {
        panic!("{e}");
    }
    let name = "prefix/dev:tap-to-target/state.json";
    assert_eq!(gcs.download("harness", name).ok(), Some(None));
    if let Err(e) = gcs.upload("harness", name, b"{\"completed\": {}}") {
        panic!("{e}");
    }
    assert_eq!(
        gcs.download("harness", name).ok().flatten().as_deref(),
        Some(&b"{\"completed\": {}}"[..])
    );
    assert!(gcs.credentials_json().contains(gcs.endpoint()));
    let port = gcs.port();
    drop(gcs);
    assert!(port_closed(port));
}
