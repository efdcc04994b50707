//! Moves newline-framed bytes from a reader to a writer, showing each complete line to an observer.
//!
//! This is the relay's inner loop. It never re-serializes: it reads large chunks, finds line ends
//! with `memchr`, lets the observer peek at each line, and writes every run of complete lines
//! with one `write_all`. Memory is bounded by the read buffer, which grows only as far as the
//! longest line allowed (`max_line`, Meltano's `elt.buffer_size`); a blocking write to a slow
//! consumer stops reading, which is the backpressure the upstream process feels.

use std::io::{self, Read, Write};

/// Read size used when lines are short; large enough to amortize syscalls, small enough to stay
/// far inside the memory budget.
pub const CHUNK: usize = 256 * 1024;

/// Why a relay stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A line grew past the configured limit before its newline arrived.
    #[error("a message line is longer than {limit} bytes (the line limit)")]
    LineTooLong {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// Reading from the upstream failed.
    #[error("reading from upstream failed: {0}")]
    Read(#[source] io::Error),
    /// Writing to the downstream failed; `BrokenPipe` means the consumer exited.
    #[error("writing to downstream failed: {0}")]
    Write(#[source] io::Error),
}

/// Totals for one relay, for the run summary and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayTotals {
    /// Bytes forwarded.
    pub bytes: u64,
    /// Lines forwarded (a final line without newline counts).
    pub lines: u64,
}

/// Copies `src` to `dst` line by line until `src` ends, calling `on_line` for every line
/// (without its `\n`) before it is forwarded. A last line without a trailing newline is
/// forwarded with one added, so the consumer always sees whole lines.
pub fn relay_lines<R, W, F>(
    mut src: R,
    mut dst: W,
    max_line: usize,
    mut on_line: F,
) -> Result<RelayTotals, RelayError>
where
    R: Read,
    W: Write,
    F: FnMut(&[u8]),
{
    let max_line = max_line.max(1);
    let mut buf: Vec<u8> = vec![0; CHUNK.min(max_line + 1).max(4096)];
    let mut filled = 0usize; // bytes in buf[..filled]
    let mut totals = RelayTotals::default();
    loop {
        if filled == buf.len() {
            // Only a partial line is in the buffer and it fills it: grow, within the limit.
            if buf.len() > max_line {
                return Err(RelayError::LineTooLong { limit: max_line });
            }
            let new_len = (buf.len() * 2).min(max_line + 1);
            buf.resize(new_len, 0);
        }
        let n = match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(RelayError::Read(e)),
        };
        // Scan only the new bytes; the carried-over prefix has no newline in it.
        let scan_from = filled;
        filled += n;
        let mut line_start = 0usize;
        for nl in memchr::memchr_iter(b'\n', &buf[scan_from..filled]) {
            let end = scan_from + nl;
            if end - line_start > max_line {
                return Err(RelayError::LineTooLong { limit: max_line });
            }
            on_line(&buf[line_start..end]);
            totals.lines += 1;
            line_start = end + 1;
        }
        if line_start > 0 {
            dst.write_all(&buf[..line_start])
                .map_err(RelayError::Write)?;
            totals.bytes += line_start as u64;
            buf.copy_within(line_start..filled, 0);
            filled -= line_start;
        }
        if filled > max_line {
            return Err(RelayError::LineTooLong { limit: max_line });
        }
    }
    if filled > 0 {
        on_line(&buf[..filled]);
        totals.lines += 1;
        buf.truncate(filled);
        buf.push(b'\n');
        dst.write_all(&buf).map_err(RelayError::Write)?;
        totals.bytes += buf.len() as u64;
    }
    dst.flush().map_err(RelayError::Write)?;
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read, to exercise lines split across reads.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn run(
        data: &[u8],
        step: usize,
        max: usize,
    ) -> (Result<RelayTotals, RelayError>, Vec<u8>, Vec<Vec<u8>>) {
        let mut out = Vec::new();
        let mut lines = Vec::new();
        let r = relay_lines(Trickle { data, step }, &mut out, max, |l| {
            lines.push(l.to_vec())
        });
        (r, out, lines)
    }

    #[test]
    fn forwards_bytes_unchanged_across_any_read_size() {
        let data = b"{\"a\":1}\n\n{\"b\":\"x\\ny\"}\nlast\n";
        for step in [1, 2, 3, 7, 100] {
            let (r, out, lines) = run(data, step, 1024);
            assert_eq!(out, data, "step {step}");
            assert_eq!(lines.len(), 4);
            assert_eq!(lines[3], b"last");
            assert_eq!(
                r.unwrap(),
                RelayTotals {
                    bytes: data.len() as u64,
                    lines: 4
                }
            );
        }
    }

    #[test]
    fn final_line_without_newline_gets_one() {
        let (r, out, lines) = run(b"a\nb", 1, 10);
        assert_eq!(out, b"a\nb\n");
        assert_eq!(lines, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(r.unwrap().lines, 2);
    }

    #[test]
    fn line_limit_is_enforced_and_exact_limit_passes() {
        let (r, _, _) = run(b"12345\n123456\n", 3, 5);
        assert!(matches!(r, Err(RelayError::LineTooLong { limit: 5 })));
        let (r, out, _) = run(b"12345\n12345", 2, 5);
        assert!(r.is_ok());
        assert_eq!(out, b"12345\n12345\n");
        let (r, _, _) = run(b"123456", 6, 5);
        assert!(matches!(r, Err(RelayError::LineTooLong { .. })));
    }

    #[test]
    fn long_lines_grow_the_buffer_within_the_limit() {
        let mut data = vec![b'x'; CHUNK * 3];
        data.push(b'\n');
        let (r, out, lines) = run(&data, CHUNK, CHUNK * 4);
        assert!(r.is_ok());
        assert_eq!(out, data);
        assert_eq!(lines[0].len(), CHUNK * 3);
    }

    #[test]
    fn write_failure_is_reported() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let r = relay_lines(&b"a\n"[..], Closed, 10, |_| {});
        assert!(matches!(r, Err(RelayError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe));
    }
}
