//! Byte-position helpers over the source text: lines, comments and splices.
//!
//! Every edit is a [`Splice`] of one byte range; these helpers find the ranges (a line, the
//! rest of a line, the comment at its end) without ever touching bytes outside them.

/// One replacement of a byte range of the source text.
///
/// `text` uses `\n` line breaks; [`Splice::apply`] turns them into the document's own line
/// ending so CRLF files stay CRLF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Splice {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Splice {
    pub fn new(start: usize, end: usize, text: impl Into<String>) -> Splice {
        Splice {
            start,
            end,
            text: text.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Splice {
        Splice::new(at, at, text)
    }

    /// The source with this splice applied, line breaks of `text` written as `newline`;
    /// `None` if the range does not fall on character boundaries (an internal mistake that
    /// must surface as an error, never as a panic).
    pub fn apply(&self, source: &str, newline: &str) -> Option<String> {
        let inserted = if newline == "\n" {
            self.text.clone()
        } else {
            self.text.replace('\n', newline)
        };
        let head = source.get(..self.start)?;
        let tail = source.get(self.end..)?;
        if self.start > self.end {
            return None;
        }
        Some(format!("{head}{inserted}{tail}"))
    }
}

/// The line ending the document uses: `\r\n` when its first line ends that way, else `\n`.
pub(super) fn newline_of(source: &str) -> &'static str {
    match source.find('\n') {
        Some(i) if i > 0 && source.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

fn find_newline(source: &str, from: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    let from = from.min(bytes.len());
    bytes[from..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|i| from + i)
}

/// Start of the line holding `pos`.
pub(super) fn line_start(source: &str, pos: usize) -> usize {
    let pos = pos.min(source.len());
    source.as_bytes()[..pos]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1)
}

/// End of the content of the line holding `pos` (before its `\r\n` or `\n`, or the end of text).
pub(super) fn line_content_end(source: &str, pos: usize) -> usize {
    let pos = pos.min(source.len());
    let end = find_newline(source, pos).unwrap_or(source.len());
    if end > pos && source.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// Start of the line after the one holding `pos`, or the end of the text.
pub(super) fn next_line_start(source: &str, pos: usize) -> usize {
    find_newline(source, pos).map_or(source.len(), |i| i + 1)
}

/// Start of the line after the one holding the last byte of a node ending at `end`
/// (exclusive), or the end of the text when that is the last line.
pub(super) fn line_after(source: &str, end: usize) -> usize {
    next_line_start(source, end.saturating_sub(1))
}

/// Whether only spaces and tabs precede `pos` on its line.
pub(super) fn starts_line(source: &str, pos: usize) -> bool {
    let pos = pos.min(source.len());
    source.as_bytes()[line_start(source, pos)..pos]
        .iter()
        .all(|b| *b == b' ' || *b == b'\t')
}

/// Whether no line break lies between `a` and `b`.
pub(super) fn same_line(source: &str, a: usize, b: usize) -> bool {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let hi = hi.min(source.len());
    !source.as_bytes()[lo.min(hi)..hi].contains(&b'\n')
}

/// Column (in bytes, which equals characters for indentation) of `pos` within its line.
pub(super) fn column(source: &str, pos: usize) -> usize {
    pos.min(source.len()) - line_start(source, pos)
}

/// The first position at or after `pos` that is not a space, tab or line break.
pub(super) fn skip_blank(source: &str, pos: usize) -> usize {
    let bytes = source.as_bytes();
    let pos = pos.min(bytes.len());
    bytes[pos..]
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(bytes.len(), |i| pos + i)
}

/// The end of a quoted scalar that starts (perhaps after a tag or anchor) at `start`: just
/// after its closing quote. The parser's span runs on to the end of the line.
pub(super) fn quoted_end(source: &str, start: usize, double: bool) -> Option<usize> {
    let bytes = source.as_bytes();
    let quote = if double { b'"' } else { b'\'' };
    let open = start + bytes.get(start..)?.iter().position(|b| *b == quote)?;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if double => i += 2,
            b'\'' if !double && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The comment ending the line that holds `pos`, found after `pos`, with the blanks before
/// it (`"  # note"`), always starting with a blank. Empty when the rest of the line has none.
pub(super) fn trailing_comment(source: &str, pos: usize) -> String {
    let pos = pos.min(source.len());
    let end = line_content_end(source, pos);
    let bytes = source.as_bytes();
    for i in pos..end {
        if bytes[i] == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t')) {
            let mut ws = i;
            while ws > pos && matches!(bytes[ws - 1], b' ' | b'\t') {
                ws -= 1;
            }
            let found = &source[ws..end];
            return if ws == i {
                format!(" {found}")
            } else {
                found.to_string()
            };
        }
    }
    String::new()
}

/// Whether the line starting at `start` holds only a comment; returns its indentation.
pub(super) fn comment_line_indent(source: &str, start: usize) -> Option<usize> {
    let end = line_content_end(source, start);
    let line = source.get(start..end)?;
    let body = line.trim_start_matches([' ', '\t']);
    body.starts_with('#').then(|| line.len() - body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let s = "a: 1\r\n  b: 2 # c\nlast";
        assert_eq!(newline_of(s), "\r\n");
        assert_eq!(newline_of("x\ny"), "\n");
        assert_eq!(line_start(s, 9), 6);
        assert_eq!(line_content_end(s, 0), 4);
        assert_eq!(line_after(s, 4), 6);
        assert_eq!(line_after(s, 20), s.len());
        assert!(starts_line(s, 8));
        assert!(!starts_line(s, 11));
        assert_eq!(column(s, 8), 2);
        assert_eq!(trailing_comment(s, 12), " # c");
        assert_eq!(trailing_comment(s, 0), "");
        assert_eq!(comment_line_indent("  # x\n", 0), Some(2));
        assert_eq!(comment_line_indent("  x # y\n", 0), None);
        assert_eq!(quoted_end("a: 'it''s'  # c", 3, false), Some(10));
        assert_eq!(quoted_end("\"a\\\"b\" # c", 0, true), Some(6));
        assert_eq!(line_after("é\nx", 2), 3);
    }

    #[test]
    fn splices_use_the_document_line_ending() {
        let s = Splice::insert(4, "x\ny\n");
        assert_eq!(
            s.apply("ab\r\ncd", "\r\n").as_deref(),
            Some("ab\r\nx\r\ny\r\ncd")
        );
        assert_eq!(Splice::insert(1, "x").apply("é", "\n"), None);
    }
}
