//! Splits an expression into Python tokens (names, numbers, strings, operators), each with its
//! 1-based char column for error messages.

use crate::error::ParseError;

/// One token of the expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    /// An f-string: literal text and `{expression[!conversion][:spec]}` pieces.
    FStr(Vec<FPiece>),
    Op(&'static str),
    End,
}

/// A piece of an f-string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FPiece {
    /// Text, with `{{` / `}}` already turned into braces.
    Lit(String),
    /// A replacement field: the expression's source, its column in the whole expression and
    /// the format spec after `:` (empty when none). A `!r`/`!s`/`!a` conversion is read and
    /// ignored, as simpleeval ignores it.
    Field {
        source: String,
        col: usize,
        spec: String,
    },
}

/// A token and the column where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub col: usize,
}

const OPS: [&str; 45] = [
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->", ":=",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "+", "-", "*", "/", "%", "<", ">", "(", ")",
    "[", "]", "{", "}", ",", ":", ".", "~", "&", "|", "^", "=", "@",
];

fn err(col: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column: col,
        message: message.into(),
    }
}

/// Tokenizes the whole expression.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c == ' ' || c == '\t' || c == '\x0c' || ((c == '\n' || c == '\r') && depth > 0) {
            i += 1;
            continue;
        }
        if c == '\\' && matches!(chars.get(i + 1), Some('\n' | '\r')) {
            i += 2;
            continue;
        }
        if c == '\n' || c == '\r' {
            // A newline outside brackets ends the expression; only blank space may follow.
            if chars[i..].iter().all(|c| c.is_whitespace()) {
                break;
            }
            return Err(err(col, "invalid syntax (more than one line)"));
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if let Some(&q @ ('\'' | '"')) = chars.get(i) {
                let lower = word.to_ascii_lowercase();
                if matches!(
                    lower.as_str(),
                    "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf"
                ) {
                    if lower.contains('b') {
                        return Err(err(col, "bytes literals are not supported"));
                    }
                    if lower.contains('f') {
                        let (text, next) = string(&chars, i, q, lower.contains('r'))?;
                        toks.push(Token {
                            tok: Tok::FStr(fstring_pieces(&text, col + word.len() + 1)?),
                            col,
                        });
                        i = next;
                        continue;
                    }
                    let (s, next) = string(&chars, i, q, lower.contains('r'))?;
                    toks.push(Token {
                        tok: Tok::Str(s),
                        col,
                    });
                    i = next;
                    continue;
                }
            }
            toks.push(Token {
                tok: Tok::Name(word),
                col,
            });
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let (tok, next) = number(&chars, i)?;
            toks.push(Token { tok, col });
            i = next;
            continue;
        }
        if c == '\'' || c == '"' {
            let (s, next) = string(&chars, i, c, false)?;
            toks.push(Token {
                tok: Tok::Str(s),
                col,
            });
            i = next;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
        let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
            return Err(err(col, format!("invalid character '{c}'")));
        };
        match *op {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth = depth.saturating_sub(1),
            _ => {}
        }
        toks.push(Token {
            tok: Tok::Op(op),
            col,
        });
        i += op.chars().count();
    }
    toks.push(Token {
        tok: Tok::End,
        col: chars.len() + 1,
    });
    Ok(toks)
}

fn number(chars: &[char], start: usize) -> Result<(Tok, usize), ParseError> {
    let col = start + 1;
    let mut i = start;
    let take = |i: &mut usize, ok: &dyn Fn(char) -> bool| {
        let s = *i;
        while *i < chars.len() && (ok(chars[*i]) || chars[*i] == '_') {
            *i += 1;
        }
        chars[s..*i]
            .iter()
            .filter(|c| **c != '_')
            .collect::<String>()
    };
    if chars[i] == '0' && matches!(chars.get(i + 1), Some('x' | 'X' | 'o' | 'O' | 'b' | 'B')) {
        let radix = match chars[i + 1] {
            'x' | 'X' => 16,
            'o' | 'O' => 8,
            _ => 2,
        };
        i += 2;
        let digits = take(&mut i, &|c| c.is_ascii_alphanumeric());
        let v =
            i64::from_str_radix(&digits, radix).map_err(|_| err(col, "invalid number literal"))?;
        return Ok((Tok::Int(v), i));
    }
    let int_part = take(&mut i, &|c| c.is_ascii_digit());
    let mut text = int_part.clone();
    let mut is_float = false;
    if chars.get(i) == Some(&'.') {
        is_float = true;
        i += 1;
        text.push('.');
        text.push_str(&take(&mut i, &|c| c.is_ascii_digit()));
    }
    if let Some('e' | 'E') = chars.get(i) {
        let mut j = i + 1;
        let mut exp = String::from("e");
        if let Some(&s @ ('+' | '-')) = chars.get(j) {
            exp.push(s);
            j += 1;
        }
        if chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            exp.push_str(&take(&mut j, &|c| c.is_ascii_digit()));
            text.push_str(&exp);
            i = j;
        }
    }
    if chars
        .get(i)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    {
        return Err(err(i + 1, "invalid decimal literal"));
    }
    if text.ends_with('.') {
        text.push('0');
    }
    if is_float {
        let f: f64 = text
            .parse()
            .map_err(|_| err(col, "invalid number literal"))?;
        return Ok((Tok::Float(f), i));
    }
    if int_part.len() > 1 && int_part.starts_with('0') && int_part.chars().any(|c| c != '0') {
        return Err(err(
            col,
            "leading zeros in decimal integer literals are not permitted",
        ));
    }
    let v: i64 = int_part
        .parse()
        .map_err(|_| err(col, "integer literal too large"))?;
    Ok((Tok::Int(v), i))
}

/// Splits an f-string's text (escapes already applied) into literal text and replacement
/// fields. `col` is the column of the text's first character, for error messages.
fn fstring_pieces(text: &str, col: usize) -> Result<Vec<FPiece>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '}' {
            if chars.get(i + 1) == Some(&'}') {
                lit.push('}');
                i += 2;
                continue;
            }
            return Err(err(col + i, "f-string: single '}' is not allowed"));
        }
        if c != '{' {
            lit.push(c);
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&'{') {
            lit.push('{');
            i += 2;
            continue;
        }
        // A field: up to the matching `}`, outside nested brackets and strings.
        let start = i + 1;
        let (mut depth, mut quote, mut j) = (0usize, None::<char>, start);
        let (mut conversion_at, mut spec_at) = (None, None);
        while j < chars.len() {
            let d = chars[j];
            match quote {
                Some(q) if d == q => quote = None,
                Some(_) => {}
                None => match d {
                    '\'' | '"' => quote = Some(d),
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' => depth = depth.saturating_sub(1),
                    '}' if depth > 0 => depth -= 1,
                    '}' => break,
                    '!' if depth == 0 && spec_at.is_none() && chars.get(j + 1) != Some(&'=') => {
                        conversion_at.get_or_insert(j);
                    }
                    ':' if depth == 0 && spec_at.is_none() => spec_at = Some(j),
                    _ => {}
                },
            }
            j += 1;
        }
        if j >= chars.len() {
            return Err(err(col + i, "f-string: expecting '}'"));
        }
        let source_end = conversion_at.or(spec_at).unwrap_or(j);
        let source: String = chars[start..source_end].iter().collect();
        if source.trim().is_empty() {
            return Err(err(col + i, "f-string: empty expression not allowed"));
        }
        if let Some(at) = conversion_at {
            let conversion: String = chars[at + 1..spec_at.unwrap_or(j)].iter().collect();
            if !matches!(conversion.as_str(), "r" | "s" | "a") {
                return Err(err(
                    col + at,
                    "f-string: invalid conversion character: expected 's', 'r', or 'a'",
                ));
            }
        }
        let spec: String = spec_at
            .map(|at| chars[at + 1..j].iter().collect())
            .unwrap_or_default();
        if !lit.is_empty() {
            pieces.push(FPiece::Lit(std::mem::take(&mut lit)));
        }
        pieces.push(FPiece::Field {
            source,
            col: col + start,
            spec,
        });
        i = j + 1;
    }
    if !lit.is_empty() {
        pieces.push(FPiece::Lit(lit));
    }
    Ok(pieces)
}

/// Reads a string literal starting at its opening quote; returns the text and the next index.
fn string(chars: &[char], start: usize, q: char, raw: bool) -> Result<(String, usize), ParseError> {
    let col = start + 1;
    let triple = chars.get(start + 1) == Some(&q) && chars.get(start + 2) == Some(&q);
    let mut i = start + if triple { 3 } else { 1 };
    let mut out = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(err(col, "unterminated string literal"));
        };
        if c == q {
            if !triple {
                return Ok((out, i + 1));
            }
            if chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q) {
                return Ok((out, i + 3));
            }
        }
        if (c == '\n' || c == '\r') && !triple {
            return Err(err(col, "unterminated string literal"));
        }
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = chars.get(i + 1) else {
            return Err(err(col, "unterminated string literal"));
        };
        if raw {
            out.push('\\');
            out.push(e);
            i += 2;
            continue;
        }
        i += 2;
        match e {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                let mut n = 1;
                while n < 3 && chars.get(i).is_some_and(|c| c.is_digit(8)) {
                    v = v * 8 + chars[i].to_digit(8).unwrap_or(0);
                    i += 1;
                    n += 1;
                }
                out.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars
                    .get(i..i + n)
                    .map(|s| s.iter().collect())
                    .unwrap_or_default();
                let v = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == n)
                    .and_then(char::from_u32)
                    .ok_or_else(|| err(i - 1, format!("truncated \\{e} escape")))?;
                out.push(v);
                i += n;
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_and_strings() {
        assert_eq!(
            toks("1_000 0x1F 1.5e3 .5 1."),
            [
                Tok::Int(1000),
                Tok::Int(31),
                Tok::Float(1500.0),
                Tok::Float(0.5),
                Tok::Float(1.0),
                Tok::End
            ]
        );
        assert_eq!(
            toks(r#"'a\n' "b\x41" r'\d' '''x'y'''"#),
            [
                Tok::Str("a\n".into()),
                Tok::Str("bA".into()),
                Tok::Str("\\d".into()),
                Tok::Str("x'y".into()),
                Tok::End
            ]
        );
        assert_eq!(
            toks("a**-b"),
            [
                Tok::Name("a".into()),
                Tok::Op("**"),
                Tok::Op("-"),
                Tok::Name("b".into()),
                Tok::End
            ]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(tokenize("er!ror").unwrap_err().column, 3);
        assert!(tokenize("'abc").is_err());
        assert!(tokenize("012").is_err());
        assert!(tokenize("1abc").is_err());
        assert!(tokenize("a\nb").is_err());
        assert!(tokenize("$").is_err());
    }
}
