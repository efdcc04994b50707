//! The relay's line framer and the message classifier over arbitrary bytes.
//!
//! Input: byte 0 picks the line limit (small, so "line too long" is reached often), byte 1 the
//! read size, the rest is what the tap writes. Checks: no panic; on success the output is the
//! input (plus one `\n` if the last line had none); every line seen is within the limit and is
//! what was forwarded; the classifier's stream name lies inside its line; a line that is a
//! valid JSON object is never called "not an object".
#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use smelt_singer::classify::{classify, NotAMessage};
use smelt_singer::framer::{relay_lines, RelayError};

/// Hands out at most `step` bytes per read, so lines are split across reads.
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

fuzz_target!(|input: &[u8]| {
    if input.len() < 2 {
        return;
    }
    let max_line = 1 + (input[0] as usize) * 4; // 1..=1021
    let step = match input[1] {
        0 => usize::MAX,
        s => s as usize,
    };
    let data = &input[2..];

    let mut out = Vec::new();
    let mut seen: Vec<u8> = Vec::new();
    let result = relay_lines(Trickle { data, step }, &mut out, max_line, |line| {
        assert!(
            line.len() <= max_line,
            "line of {} > {max_line}",
            line.len()
        );
        assert!(!line.contains(&b'\n'));
        seen.extend_from_slice(line);
        seen.push(b'\n');
        check_classify(line);
    });
    // What was forwarded is exactly the lines shown to the observer (plus, on error, nothing
    // beyond them).
    assert!(seen.starts_with(&out), "forwarded bytes were not all shown");
    match result {
        Ok(totals) => {
            let mut expected = data.to_vec();
            if !expected.is_empty() && !expected.ends_with(b"\n") {
                expected.push(b'\n');
            }
            assert_eq!(out, expected);
            assert_eq!(seen, expected);
            assert_eq!(totals.bytes, out.len() as u64);
        }
        Err(RelayError::LineTooLong { limit }) => {
            assert_eq!(limit, max_line);
            assert!(data.split(|b| *b == b'\n').any(|l| l.len() > max_line));
        }
        Err(e) => panic!("unexpected error from an in-memory relay: {e}"),
    }

    // The classifier on its own, on the whole input as one line.
    check_classify(data);
});

fn check_classify(line: &[u8]) {
    let result = classify(line);
    if let Ok(c) = &result {
        if let Some(stream) = c.stream {
            let range = line.as_ptr_range();
            let s = stream.as_ptr_range();
            assert!(
                range.start <= s.start && s.end <= range.end,
                "stream outside line"
            );
        }
    }
    if let Ok(serde_json::Value::Object(_)) = serde_json::from_slice::<serde_json::Value>(line) {
        assert!(
            !matches!(
                result,
                Err(NotAMessage::Blank) | Err(NotAMessage::NotJsonObject)
            ),
            "a valid JSON object classified as {result:?}"
        );
    }
}
