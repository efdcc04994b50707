//! The project's `.env` file, read with the rules of python-dotenv (what Meltano uses).
//!
//! `KEY=value` lines, optional `export ` prefix, `#` comments (inline comments need a space
//! before `#`), single quotes (literal), double quotes (escapes like `\n`), multi-line quoted
//! values, and `${VAR}` / `${VAR:-default}` interpolation in unquoted and double-quoted values
//! (from earlier lines first, then the process environment). Lines that cannot be parsed are
//! skipped and reported as warnings, as python-dotenv does.

use std::collections::BTreeMap;

/// Parsed `.env` content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DotEnv {
    /// Variables in the file (later lines win).
    pub vars: BTreeMap<String, String>,
    /// One message per line that could not be parsed, with its line number.
    pub warnings: Vec<String>,
}

/// Parses `.env` text. `process_env` is consulted for `${VAR}` references the file itself does
/// not define.
pub fn parse_dotenv(text: &str, process_env: &dyn Fn(&str) -> Option<String>) -> DotEnv {
    let chars: Vec<char> = text.trim_start_matches('\u{feff}').chars().collect();
    let mut parser = Cursor {
        chars: &chars,
        pos: 0,
        line: 1,
    };
    let mut out = DotEnv::default();
    let mut budget = crate::expand::MAX_EXPANSION;
    while !parser.at_end() {
        let start_line = parser.line;
        match parser.entry() {
            Ok(Some((key, raw, interpolate))) => {
                let value = if interpolate {
                    let (value, capped) =
                        interpolate_value(&raw, &out.vars, process_env, &mut budget);
                    if let Some(name) = capped {
                        out.warnings.push(format!(
                            ".env line {start_line}: `${{{name}}}` was left as written: the \
                             file's references already brought in {} MiB, the most smelt \
                             expands",
                            crate::expand::MAX_EXPANSION / (1024 * 1024)
                        ));
                    }
                    value
                } else {
                    raw
                };
                out.vars.insert(key, value);
            }
            Ok(None) => {}
            Err(reason) => {
                out.warnings.push(format!(
                    ".env line {start_line}: {reason}; the line was ignored"
                ));
                parser.skip_line();
            }
        }
    }
    out
}

struct Cursor<'a> {
    chars: &'a [char],
    pos: usize,
    line: usize,
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.pos += 1;
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn rest_starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(offset, c)| self.chars.get(self.pos + offset) == Some(&c))
    }

    /// One line (or multi-line entry). `Ok(None)` for blank and comment lines.
    fn entry(&mut self) -> Result<Option<(String, String, bool)>, String> {
        self.skip_blanks();
        match self.peek() {
            None => return Ok(None),
            Some('\n') => {
                self.bump();
                return Ok(None);
            }
            Some('#') => {
                self.skip_line();
                return Ok(None);
            }
            _ => {}
        }
        if self.rest_starts_with("export ") || self.rest_starts_with("export\t") {
            self.pos += "export".len();
            self.skip_blanks();
        }
        let key = self.key()?;
        self.skip_blanks();
        match self.peek() {
            Some('=') => {
                self.bump();
            }
            None | Some('\n') | Some('#') => {
                // A bare key has no value; python-dotenv yields None and Meltano drops it.
                self.skip_line();
                return Ok(None);
            }
            Some(c) => return Err(format!("expected `=` after `{key}`, found `{c}`")),
        }
        self.skip_blanks();
        let (value, interpolate) = match self.peek() {
            Some('\'') => (self.quoted('\'')?, false),
            Some('"') => (self.quoted('"')?, true),
            _ => (self.unquoted(), true),
        };
        // After a quoted value only blanks and a comment may follow.
        self.skip_blanks();
        match self.peek() {
            None => {}
            Some('\n') => {
                self.bump();
            }
            Some('#') => self.skip_line(),
            Some(c) => return Err(format!("unexpected `{c}` after the value of `{key}`")),
        }
        Ok(Some((key, value, interpolate)))
    }

    fn key(&mut self) -> Result<String, String> {
        if let Some(q @ ('\'' | '"')) = self.peek() {
            return self.quoted(q);
        }
        let mut key = String::new();
        while let Some(c) = self.peek() {
            if c == '=' || c == '\n' || c == '#' || c.is_whitespace() {
                break;
            }
            key.push(c);
            self.pos += 1;
        }
        if key.is_empty() {
            return Err("expected a variable name".to_string());
        }
        Ok(key)
    }

    fn quoted(&mut self, quote: char) -> Result<String, String> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(format!("missing closing {quote}")),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => {
                    let next = self
                        .bump()
                        .ok_or_else(|| format!("missing closing {quote}"))?;
                    if quote == '\'' {
                        // Single quotes only decode `\\` and `\'`.
                        match next {
                            '\\' | '\'' => out.push(next),
                            other => {
                                out.push('\\');
                                out.push(other);
                            }
                        }
                    } else {
                        match next {
                            'n' => out.push('\n'),
                            't' => out.push('\t'),
                            'r' => out.push('\r'),
                            '\\' => out.push('\\'),
                            '"' => out.push('"'),
                            '\'' => out.push('\''),
                            other => {
                                out.push('\\');
                                out.push(other);
                            }
                        }
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn unquoted(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            if c == '#' && out.ends_with([' ', '\t']) {
                break;
            }
            out.push(c);
            self.pos += 1;
        }
        out.trim_end().to_string()
    }
}

/// Replaces `${NAME}` and `${NAME:-default}`.
/// Expands `${VAR}` references in `raw`. `budget` is how many bytes references may still
/// bring in for the whole file (so lines building on each other, `A1=${A0}${A0}`, cannot
/// double without bound); a reference past it stays as written and its name is returned.
fn interpolate_value(
    raw: &str,
    earlier: &BTreeMap<String, String>,
    process_env: &dyn Fn(&str) -> Option<String>,
    budget: &mut usize,
) -> (String, Option<String>) {
    let mut capped = None;
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return (out, capped);
        };
        let inner = &after[..end];
        let (name, default) = match inner.find(":-") {
            Some(i) => (&inner[..i], Some(&inner[i + 2..])),
            None => (inner, None),
        };
        let value = earlier
            .get(name)
            .cloned()
            .or_else(|| process_env(name))
            .filter(|v| !v.is_empty() || default.is_none())
            .or_else(|| default.map(str::to_string))
            .unwrap_or_default();
        if value.len() > *budget {
            out.push_str(&rest[start..start + 2 + end + 1]);
            capped.get_or_insert_with(|| name.to_string());
        } else {
            *budget -= value.len();
            out.push_str(&value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    (out, capped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> DotEnv {
        parse_dotenv(text, &|name| {
            (name == "HOME_DIR").then(|| "/home/me".to_string())
        })
    }

    #[test]
    fn doubling_lines_are_capped_with_a_warning_naming_the_line() {
        let mut text = format!("A0={}\n", "x".repeat(1024));
        for i in 1..40 {
            text.push_str(&format!("A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
        }
        let env = parse(&text);
        let total: usize = env.vars.values().map(String::len).sum();
        assert!(total < 3 * crate::expand::MAX_EXPANSION, "{total}");
        assert!(
            env.warnings[0].starts_with(".env line 15: `${A13}` was left as written"),
            "{:?}",
            env.warnings[0]
        );
        assert_eq!(env.vars["A13"].len(), 1024 << 13);
        assert_eq!(env.vars["A14"], "${A13}${A13}");
    }

    #[test]
    fn basic_forms() {
        let env = parse(
            "# comment\n\nA=1\nexport B = two words \nC='single $X \\n'\nD=\"line\\nbreak\"\nE=val # comment\nF=a#b\nG=\nH\n",
        );
        let get = |k: &str| env.vars.get(k).cloned();
        assert_eq!(get("A").as_deref(), Some("1"));
        assert_eq!(get("B").as_deref(), Some("two words"));
        assert_eq!(get("C").as_deref(), Some("single $X \\n"));
        assert_eq!(get("D").as_deref(), Some("line\nbreak"));
        assert_eq!(get("E").as_deref(), Some("val"));
        assert_eq!(get("F").as_deref(), Some("a#b"));
        assert_eq!(get("G").as_deref(), Some(""));
        assert_eq!(get("H"), None);
        assert!(env.warnings.is_empty(), "{:?}", env.warnings);
    }

    #[test]
    fn multiline_and_interpolation() {
        let env = parse("KEY=\"first\nsecond\"\nBASE=/data\nP=${BASE}/x\nQ=${HOME_DIR}/y\nR=${NOPE:-dflt}\nS='${BASE}'\nT=${NOPE}z\n");
        let get = |k: &str| env.vars.get(k).cloned().unwrap_or_default();
        assert_eq!(get("KEY"), "first\nsecond");
        assert_eq!(get("P"), "/data/x");
        assert_eq!(get("Q"), "/home/me/y");
        assert_eq!(get("R"), "dflt");
        assert_eq!(get("S"), "${BASE}");
        assert_eq!(get("T"), "z");
    }

    #[test]
    fn bad_lines_are_skipped_with_a_warning() {
        let env = parse("A=1\nB='unterminated\n");
        assert_eq!(env.vars.get("A").map(String::as_str), Some("1"));
        assert_eq!(env.warnings.len(), 1);
        assert!(env.warnings[0].contains("line 2"), "{:?}", env.warnings);
        let env = parse("A=\"x\" y\nC=3\n");
        assert_eq!(env.vars.get("C").map(String::as_str), Some("3"));
        assert_eq!(env.warnings.len(), 1);
    }

    #[test]
    fn crlf_line_endings() {
        let env = parse("A=1\r\nB='2'\r\n");
        assert_eq!(env.vars.get("A").map(String::as_str), Some("1"));
        assert_eq!(env.vars.get("B").map(String::as_str), Some("2"));
    }
}
