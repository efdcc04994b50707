//! Shell-style wildcard patterns with the rules of Python's `fnmatch.fnmatchcase`.
//!
//! Meltano matches every stream id and property breadcrumb with `fnmatch`, so a pattern written
//! for Meltano must match the same names here: `*` matches any run of characters (dots
//! included, which is how `users.*` reaches nested properties), `?` one character, `[abc]` /
//! `[a-z]` / `[!abc]` a character class, and a `[` without a closing `]` is a plain character.
//! Matching is case-sensitive and a backslash has no special meaning.

/// One compiled piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// Matches exactly this character.
    Literal(char),
    /// `?`: matches any one character.
    AnyChar,
    /// `*`: matches any run of characters, including none.
    AnyRun,
    /// `[...]`: matches one character in (or, when negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    /// Whether this single-character token accepts `c` (`AnyRun` is handled by the matcher).
    fn accepts(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::AnyChar => true,
            Token::AnyRun => false,
            Token::Class { negated, ranges } => {
                let inside = ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
                inside != *negated
            }
        }
    }
}

/// A compiled `fnmatch` pattern; compile once, match many names (catalog rules, wildcard stream maps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Compiles `pattern`. Every string is a valid pattern, as in Python.
    pub fn new(pattern: &str) -> Self {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::with_capacity(chars.len());
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if tokens.last() != Some(&Token::AnyRun) {
                        tokens.push(Token::AnyRun);
                    }
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::AnyChar);
                    i += 1;
                }
                '[' => match class_end(&chars, i) {
                    Some(end) => {
                        tokens.push(parse_class(&chars[i + 1..end]));
                        i = end + 1;
                    }
                    None => {
                        tokens.push(Token::Literal('['));
                        i += 1;
                    }
                },
                c => {
                    tokens.push(Token::Literal(c));
                    i += 1;
                }
            }
        }
        Pattern { tokens }
    }

    /// Whether the whole of `text` matches the pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let tokens = &self.tokens;
        let (mut ti, mut pi) = (0, 0);
        // After a `*`: the token index following it and the text index it currently stops at.
        let mut backtrack: Option<(usize, usize)> = None;
        while ti < text.len() {
            match tokens.get(pi) {
                Some(Token::AnyRun) => {
                    backtrack = Some((pi + 1, ti));
                    pi += 1;
                }
                Some(token) if token.accepts(text[ti]) => {
                    pi += 1;
                    ti += 1;
                }
                _ => match backtrack {
                    Some((after_star, star_end)) => {
                        pi = after_star;
                        ti = star_end + 1;
                        backtrack = Some((after_star, star_end + 1));
                    }
                    None => return false,
                },
            }
        }
        tokens[pi.min(tokens.len())..]
            .iter()
            .all(|t| *t == Token::AnyRun)
    }
}

/// Whether `text` contains a character that makes it a pattern rather than a plain name.
pub(crate) fn has_wildcards(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Index of the `]` closing the class opened at `open`, following Python's rules: a `]` right
/// after `[` or `[!` is a member, not the end.
fn class_end(chars: &[char], open: usize) -> Option<usize> {
    let mut j = open + 1;
    if chars.get(j) == Some(&'!') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    (j..chars.len()).find(|&k| chars[k] == ']')
}

/// Builds a class token from the text between `[` and `]`.
fn parse_class(body: &[char]) -> Token {
    let (negated, members) = match body.split_first() {
        Some(('!', rest)) => (true, rest),
        _ => (false, body),
    };
    let mut ranges = Vec::new();
    let mut k = 0;
    while k < members.len() {
        let lo = members[k];
        if k + 2 < members.len() && members[k + 1] == '-' {
            // A reversed range such as `z-a` matches nothing, as in Python.
            ranges.push((lo, members[k + 2]));
            k += 3;
        } else {
            ranges.push((lo, lo));
            k += 1;
        }
    }
    Token::Class { negated, ranges }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern).matches(text)
    }

    #[test]
    fn literal_patterns_match_only_themselves() {
        assert!(m("users", "users"));
        assert!(!m("users", "user"));
        assert!(!m("users", "users2"));
        assert!(!m("Users", "users"), "matching is case-sensitive");
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn star_matches_any_run_including_dots() {
        assert!(m("*", ""));
        assert!(m("*", "anything.at.all"));
        assert!(m("properties.*", "properties.geo.properties.city"));
        assert!(m("u*s", "users"));
        assert!(m("u*s", "us"));
        assert!(!m("u*s", "user"));
        assert!(m("*e", "three"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("**x", "abx"));
    }

    #[test]
    fn question_mark_matches_one_character() {
        assert!(m("us?rs", "users"));
        assert!(!m("us?rs", "usrs"));
        assert!(m("?", "é"));
    }

    #[test]
    fn classes_ranges_and_negation() {
        assert!(m("[abc]x", "bx"));
        assert!(!m("[abc]x", "dx"));
        assert!(m("[a-c]", "b"));
        assert!(!m("[a-c]", "d"));
        assert!(m("[!a-c]", "d"));
        assert!(!m("[!a-c]", "a"));
        assert!(m("[a-]", "-"), "a trailing hyphen is a member");
        assert!(m("[-a]", "-"), "a leading hyphen is a member");
        assert!(m("[]]", "]"), "a ] right after [ is a member");
        assert!(m("[!]]", "a"));
        assert!(!m("[!]]", "]"));
        assert!(!m("[z-a]", "m"), "a reversed range matches nothing");
        assert!(m("[a-c-e]", "-"));
        assert!(m("[a-c-e]", "e"));
        assert!(!m("[a-c-e]", "d"));
    }

    #[test]
    fn unclosed_bracket_is_a_plain_character() {
        assert!(m("a[b", "a[b"));
        assert!(!m("a[b", "ab"));
        assert!(m("[!", "[!"));
    }

    #[test]
    fn backslash_is_a_plain_character() {
        assert!(m(r"a\.b", r"a\.b"));
        assert!(!m(r"a\.b", "a.b"));
    }

    #[test]
    fn wildcard_detection() {
        assert!(has_wildcards("created_*"));
        assert!(has_wildcards("a?"));
        assert!(has_wildcards("[ab]"));
        assert!(!has_wildcards("created_at"));
    }
}
