//! One relay hop: a producer's stdout into a consumer's stdin, counting records per stream.
//!
//! Bytes pass through untouched (see `smelt_singer::framer`); each line is classified without a
//! full parse so the run summary can say how many records each stream moved.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

use smelt_singer::classify::{classify, MessageKind};
use smelt_singer::framer::{relay_lines, RelayError, RelayTotals};

/// Records per stream seen on one hop, plus how many lines were not Singer messages.
#[derive(Debug, Default)]
pub struct StreamCounts {
    counts: HashMap<Box<[u8]>, u64>,
    last: Option<(Box<[u8]>, u64)>,
    /// Lines that were not JSON objects with a `type` (forwarded anyway).
    pub non_messages: u64,
    /// The first such line, shortened, for the warning.
    pub first_non_message: Option<String>,
    /// STATE messages seen.
    pub states: u64,
}

impl StreamCounts {
    /// Counts one line.
    #[inline]
    pub fn observe(&mut self, line: &[u8]) {
        match classify(line) {
            Ok(c) if c.kind == MessageKind::Record => {
                let stream = c.stream.unwrap_or(b"");
                match &mut self.last {
                    Some((name, n)) if &**name == stream => *n += 1,
                    slot => {
                        if let Some((name, n)) = slot.take() {
                            *self.counts.entry(name).or_insert(0) += n;
                        }
                        *slot = Some((stream.into(), 1));
                    }
                }
            }
            Ok(c) if c.kind == MessageKind::State => self.states += 1,
            Ok(_) => {}
            Err(smelt_singer::classify::NotAMessage::Blank) => {}
            Err(_) => {
                self.non_messages += 1;
                if self.first_non_message.is_none() {
                    let text = String::from_utf8_lossy(&line[..line.len().min(120)]);
                    self.first_non_message = Some(text.into_owned());
                }
            }
        }
    }

    /// Final per-stream totals with stream names decoded from their JSON spelling.
    pub fn finish(mut self) -> BTreeMap<String, u64> {
        if let Some((name, n)) = self.last.take() {
            *self.counts.entry(name).or_insert(0) += n;
        }
        self.counts
            .into_iter()
            .map(|(raw, n)| (decode_stream(&raw), n))
            .fold(BTreeMap::new(), |mut m, (k, n)| {
                *m.entry(k).or_insert(0) += n;
                m
            })
    }
}

/// Stream names are raw JSON string contents; decode escapes (rare) for display.
fn decode_stream(raw: &[u8]) -> String {
    if !raw.contains(&b'\\') {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice::<String>(&quoted)
        .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
}

/// The outcome of one hop.
#[derive(Debug)]
pub struct HopResult {
    /// Bytes and lines moved, or why the hop stopped.
    pub result: Result<RelayTotals, RelayError>,
    /// Per-stream counts and non-message lines.
    pub counts: StreamCounts,
}

/// Runs one hop to completion; the consumer's stdin is closed when this returns (by drop).
pub fn run_hop<R: Read, W: Write>(src: R, dst: W, max_line: usize) -> HopResult {
    let mut counts = StreamCounts::default();
    let result = relay_lines(src, dst, max_line, |line| counts.observe(line));
    HopResult { result, counts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_records_per_stream_and_flags_junk() {
        let input = concat!(
            "{\"type\":\"SCHEMA\",\"stream\":\"a\",\"schema\":{}}\n",
            "{\"type\":\"RECORD\",\"stream\":\"a\",\"record\":{}}\n",
            "{\"type\":\"RECORD\",\"stream\":\"a\",\"record\":{}}\n",
            "{\"type\":\"RECORD\",\"stream\":\"b\",\"record\":{}}\n",
            "print debugging\n",
            "{\"type\":\"RECORD\",\"stream\":\"a\",\"record\":{}}\n",
            "{\"type\":\"RECORD\",\"stream\":\"q\\\"x\",\"record\":{}}\n",
            "{\"type\":\"STATE\",\"value\":{}}\n",
        );
        let mut out = Vec::new();
        let hop = run_hop(input.as_bytes(), &mut out, 1000);
        assert_eq!(out, input.as_bytes());
        assert_eq!(hop.counts.non_messages, 1);
        assert_eq!(hop.counts.states, 1);
        assert_eq!(
            hop.counts.first_non_message.as_deref(),
            Some("print debugging")
        );
        let counts = hop.counts.finish();
        assert_eq!(counts.get("a"), Some(&3));
        assert_eq!(counts.get("b"), Some(&1));
        assert_eq!(counts.get("q\"x"), Some(&1));
    }
}
