//! A tiny HTTP/1.1 client for the few unauthenticated setup calls the harness makes to an
//! emulator on 127.0.0.1 (create a bucket, upload or download an object), so the harness
//! needs no HTTP library.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::HarnessError;

/// Time limit for one setup request.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Status and body of a response.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text, for error messages.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Send one request to `127.0.0.1:port` and read the whole response.
pub(crate) fn request(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, HarnessError> {
    let fail = |what: &str, e: std::io::Error| {
        HarnessError::new(format!(
            "{method} http://127.0.0.1:{port}{target}: could not {what}: {e}"
        ))
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| fail("connect", e))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| fail("set timeouts", e))?;
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| fail("send the request", e))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| fail("read the response", e))?;
    parse_response(&raw).ok_or_else(|| {
        HarnessError::new(format!(
            "{method} http://127.0.0.1:{port}{target}: malformed response: {}",
            String::from_utf8_lossy(&raw[..raw.len().min(500)])
        ))
    })
}

/// Parse a complete HTTP/1.1 response (Content-Length, chunked, or read-to-close bodies).
fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        decode_chunked(rest)?
    } else {
        rest.to_vec()
    };
    Some(Response { status, body })
}

fn decode_chunked(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Percent-encode everything but unreserved characters (RFC 3986), for object names in URLs.
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_bodies() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
        assert!(r.is_some_and(|r| r.status == 200 && r.body == b"hi"));
    }

    #[test]
    fn parses_chunked_bodies() {
        let raw = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = parse_response(raw);
        assert!(r.is_some_and(|r| r.status == 404 && r.text() == "abcde"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_response(b"not http").is_none());
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_none());
    }

    #[test]
    fn encodes_object_names() {
        assert_eq!(
            encode_component("p/dev:a-to-b/state.json"),
            "p%2Fdev%3Aa-to-b%2Fstate.json"
        );
    }

    #[test]
    fn connection_refused_is_a_clear_error() {
        let port = match crate::process::free_port() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let err = request(port, "GET", "/", &[], b"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("could not connect"), "{err}");
        assert!(err.contains(&format!("127.0.0.1:{port}/")), "{err}");
    }
}
