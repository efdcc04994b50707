//! Names of what the target writes: the stream's directory, hive-style partition directories
//! (`col=value/`) and file names that are unique per run.

use serde_json::Value;

/// pyarrow's and Hive's directory name for a null partition value.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Percent-encodes everything but `[A-Za-z0-9_.~-]` (and a leading `.`, so no segment is
/// hidden or `..`), as pyarrow's `segment_encoding="uri"` does for hive partitions.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, b) in text.bytes().enumerate() {
        let keep =
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'~') || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text of a partition value: strings as they are, numbers and booleans as JSON writes
/// them, null as [`NULL_PARTITION`].
pub fn partition_value(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => NULL_PARTITION.to_string(),
        Some(Value::String(s)) if s.is_empty() => NULL_PARTITION.to_string(),
        Some(Value::String(s)) => encode(s),
        Some(other) => encode(&other.to_string()),
    }
}

/// One `column=value` directory name.
pub fn partition_segment(column: &str, value: Option<&Value>) -> String {
    format!("{}={}", encode(column), partition_value(value))
}

/// A token unique to this run (time and process), so files of two runs never collide.
pub fn run_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 40) ^ ((nanos >> 64) as u64);
    // SplitMix64's finaliser spreads the bits.
    let mut z = mixed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    format!("{:010x}", (z ^ (z >> 31)) & 0xFF_FFFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partition_segments() {
        assert_eq!(
            partition_segment("country", Some(&json!("FR"))),
            "country=FR"
        );
        assert_eq!(partition_segment("n", Some(&json!(3))), "n=3");
        assert_eq!(partition_segment("b", Some(&json!(true))), "b=true");
        assert_eq!(partition_segment("c", Some(&json!("a/b c"))), "c=a%2Fb%20c");
        assert_eq!(partition_segment("c", Some(&json!(".."))), "c=%2E.");
        assert_eq!(partition_segment("c", None), "c=__HIVE_DEFAULT_PARTITION__");
        assert_eq!(
            partition_segment("c", Some(&json!(null))),
            "c=__HIVE_DEFAULT_PARTITION__"
        );
    }

    #[test]
    fn run_tokens_differ() {
        let a = run_token();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_ne!(a, run_token());
        assert_eq!(a.len(), 10);
    }
}
