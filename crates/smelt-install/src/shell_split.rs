//! Splits a `pip_url` into arguments the way Python's `shlex.split` (what Meltano uses) does in
//! POSIX mode: whitespace separates words, single quotes keep everything literally, double
//! quotes keep everything but `\"`, `\\`, `\$` and `` \` `` escapes, a backslash outside quotes
//! escapes the next character, and `#` starts a comment at the start of a word.

/// Why a `pip_url` could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError(pub String);

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `text` into words like a POSIX shell (no expansion).
pub fn split(text: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if !in_word => {
                // A comment runs to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(SplitError("a single quote is not closed".into())),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(SplitError("a double quote is not closed".into())),
                        },
                        Some(c) => word.push(c),
                        None => return Err(SplitError("a double quote is not closed".into())),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err(SplitError("it ends with a lone backslash".into())),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<String> {
        split(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn splits_on_whitespace() {
        assert_eq!(
            ok("  target-jsonl  pandas==2.0\tx\n"),
            ["target-jsonl", "pandas==2.0", "x"]
        );
        assert!(ok("   ").is_empty());
    }

    #[test]
    fn quotes_and_escapes_follow_posix_shlex() {
        assert_eq!(
            ok(r#"'git+https://x/a b.git' "dbt-core>=1.5,<2" a\ b"#),
            ["git+https://x/a b.git", "dbt-core>=1.5,<2", "a b"]
        );
        assert_eq!(ok(r#""a\"b\\c\d""#), [r#"a"b\c\d"#]);
        assert_eq!(ok("'it''s'"), ["its"]);
        assert_eq!(ok(r#"x"y z"w"#), ["xy zw"]);
        assert_eq!(ok("''"), [""]);
        assert_eq!(ok("pkg # a comment\nother"), ["pkg", "other"]);
        assert_eq!(ok("a#b"), ["a#b"]);
    }

    #[test]
    fn unclosed_quotes_are_errors() {
        assert!(split("'abc").is_err());
        assert!(split("\"abc").is_err());
        assert!(split("abc\\").is_err());
    }
}
