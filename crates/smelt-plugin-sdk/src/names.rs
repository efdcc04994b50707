//! Stream names turned into names a file system or an object store accepts.

/// A stream name made safe as one file or directory name (or object-key segment):
/// `[A-Za-z0-9_.-]` kept, anything else becomes `_`; an empty name, `.` and `..` become `_`.
/// Targets that write one file or directory per stream name it with this, so two targets
/// given the same stream write the same name.
pub fn stream_file_name(stream: &str) -> String {
    let cleaned: String = stream
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "_".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_become_underscores() {
        assert_eq!(
            stream_file_name("test:SpecialChars!in?attributes"),
            "test_SpecialChars_in_attributes"
        );
        assert_eq!(stream_file_name("public-users.v2_x"), "public-users.v2_x");
        assert_eq!(stream_file_name("a/b\\c d"), "a_b_c_d");
        assert_eq!(stream_file_name("ünï"), "_n_");
    }

    #[test]
    fn empty_and_dot_names_are_replaced() {
        for name in ["", ".", ".."] {
            assert_eq!(stream_file_name(name), "_");
        }
        assert_eq!(stream_file_name("..a"), "..a");
    }
}
