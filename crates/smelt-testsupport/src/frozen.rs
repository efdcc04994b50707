//! A TCP endpoint that accepts connections and then never answers, to prove that every wait
//! for a database or an object store is bounded (a hung server must not hang smelt).
//!
//! Two modes: [`FrozenProxy::silent`] accepts and never reads or writes a byte (a server
//! stuck before its greeting); [`FrozenProxy::forwarding`] relays to a real server until
//! [`FrozenProxy::freeze`] is called, then stops relaying in both directions while keeping
//! every connection open (a server that hangs mid-conversation).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::HarnessError;

/// How often the proxy's threads look at their stop and freeze flags.
const POLL: Duration = Duration::from_millis(20);

/// A frozen (or freezable) TCP proxy on `127.0.0.1:<random port>`; stopped when dropped, which
/// closes every connection it holds.
pub struct FrozenProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    stop: AtomicBool,
    frozen: AtomicBool,
    accepted: AtomicUsize,
    /// Connections held open (silent mode) and pump threads (forwarding mode).
    held: Mutex<Vec<TcpStream>>,
    pumps: Mutex<Vec<JoinHandle<()>>>,
}

impl FrozenProxy {
    /// Accept connections and never answer.
    pub fn silent() -> Result<FrozenProxy, HarnessError> {
        Self::start(None)
    }

    /// Relay every connection to `upstream` until [`FrozenProxy::freeze`].
    pub fn forwarding(upstream: SocketAddr) -> Result<FrozenProxy, HarnessError> {
        Self::start(Some(upstream))
    }

    fn start(upstream: Option<SocketAddr>) -> Result<FrozenProxy, HarnessError> {
        let fail = |what: &str, e: std::io::Error| {
            HarnessError::new(format!("frozen proxy: could not {what}: {e}"))
        };
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| fail("bind", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| fail("configure the listener", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| fail("read its address", e))?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            frozen: AtomicBool::new(upstream.is_none()),
            accepted: AtomicUsize::new(0),
            held: Mutex::new(Vec::new()),
            pumps: Mutex::new(Vec::new()),
        });
        let s = Arc::clone(&shared);
        let acceptor = thread::spawn(move || accept_loop(&listener, upstream, &s));
        Ok(FrozenProxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// Stop relaying, in both directions, on every connection now and later; connections stay
    /// open.
    pub fn freeze(&self) {
        self.shared.frozen.store(true, Ordering::SeqCst);
    }

    /// The address to point a client at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port to point a client at.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many connections were accepted so far (to check the client really got here).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FrozenProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
        let pumps = std::mem::take(&mut *lock(&self.shared.pumps));
        for p in pumps {
            let _ = p.join();
        }
        for s in lock(&self.shared.held).drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn accept_loop(listener: &TcpListener, upstream: Option<SocketAddr>, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(POLL);
                continue;
            }
            Err(_) => {
                thread::sleep(POLL);
                continue;
            }
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let _ = client.set_nonblocking(false);
        let Some(upstream) = upstream else {
            lock(&shared.held).push(client);
            continue;
        };
        let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else {
            lock(&shared.held).push(client);
            continue;
        };
        for (from, to) in [(&client, &server), (&server, &client)] {
            let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
                continue;
            };
            let s = Arc::clone(shared);
            lock(&shared.pumps).push(thread::spawn(move || pump(from, to, &s)));
        }
        let mut held = lock(&shared.held);
        held.push(client);
        held.push(server);
    }
}

/// Copy `from` → `to` until either closes or the proxy stops; once frozen, read nothing more
/// (so the sender's data sits unanswered) and write nothing more.
fn pump(mut from: TcpStream, mut to: TcpStream, shared: &Shared) {
    let _ = from.set_read_timeout(Some(POLL));
    let mut buf = [0u8; 16 * 1024];
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.frozen.load(Ordering::SeqCst) {
            thread::sleep(POLL);
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_proxy_accepts_and_never_answers() {
        let proxy = match FrozenProxy::silent() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let mut c = match TcpStream::connect(proxy.addr()) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert!(c.write_all(b"hello").is_ok());
        assert!(c.set_read_timeout(Some(Duration::from_millis(200))).is_ok());
        let mut buf = [0u8; 8];
        let read = c.read(&mut buf);
        assert!(
            read.as_ref()
                .is_err_and(|e| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
            "{read:?}"
        );
        for _ in 0..50 {
            if proxy.accepted() == 1 {
                break;
            }
            thread::sleep(POLL);
        }
        assert_eq!(proxy.accepted(), 1);
    }

    #[test]
    fn forwarding_proxy_relays_until_frozen() {
        let echo = match TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        let upstream = match echo.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        thread::spawn(move || {
            if let Ok((mut s, _)) = echo.accept() {
                let mut buf = [0u8; 64];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        });
        let proxy = match FrozenProxy::forwarding(upstream) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let mut c = match TcpStream::connect(proxy.addr()) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert!(c.set_read_timeout(Some(Duration::from_millis(500))).is_ok());
        let mut buf = [0u8; 4];
        assert!(c.write_all(b"ping").is_ok());
        assert!(c.read_exact(&mut buf).is_ok());
        assert_eq!(&buf, b"ping");
        proxy.freeze();
        thread::sleep(POLL * 3);
        assert!(c.write_all(b"pong").is_ok());
        assert!(c.read_exact(&mut buf).is_err(), "relayed after freeze");
    }
}
