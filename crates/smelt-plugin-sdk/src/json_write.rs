//! Writing JSON strings straight into a byte buffer.
//!
//! Taps assemble millions of RECORD lines; escaping each value directly into a reused buffer
//! avoids building a `serde_json::Value` per row.

/// Appends `text` to `out` as a JSON string literal (with quotes), escaping as RFC 8259 requires.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    smelt_singer::json_value::write_json_string(out, text, false);
}

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
