//! Writing JSON strings straight into a byte buffer.
//!
//! Taps assemble millions of RECORD lines; escaping each value directly into a reused buffer
//! avoids building a `serde_json::Value` per row.

/// Appends `text` to `out` as a JSON string literal (with quotes), escaping as RFC 8259 requires.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0x0f)]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_serde_json() {
        let samples = [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            "lines\nand\rtabs\t",
            "controls \u{0} \u{1} \u{8} \u{c} \u{1f}",
            "unicode απλή 简单 é \u{2028}",
        ];
        for sample in samples {
            let mut out = Vec::new();
            write_str(&mut out, sample);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, sample);
        }
        let mut out = Vec::new();
        write_str(&mut out, "a\u{1}b");
        assert_eq!(out, br#""a\u0001b""#);
    }
}
