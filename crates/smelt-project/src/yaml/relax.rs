//! Leniency for `[...]`, `{...}` and quoted values that continue on less-indented lines.
//!
//! Meltano's reader (`ruamel.yaml`) ignores indentation inside flow collections and inside
//! multi-line quoted values, so projects contain things like
//!
//! ```yaml
//!     select: [
//!       "users.*"
//!     ]
//! ```
//!
//! where the `]` sits at the key's column. The YAML 1.2 spec, and `saphyr-parser` with it,
//! require such lines to be indented more than the enclosing block. When a document fails to
//! parse, [`relax`] finds the lines that start inside a flow collection or a quoted value and
//! gives them enough leading spaces (tabs there become spaces too). Leading whitespace carries
//! no meaning on those lines, so the values do not change — and the caller keeps the relaxed
//! reading only if every changed line lies inside a flow collection or quoted scalar of the
//! new parse (see `Relaxed::changed`), so a wrong guess here can only fail to help.

use std::collections::HashMap;

/// The re-indented text and how to map its positions back to the original.
#[derive(Debug, Clone)]
pub(crate) struct Relaxed {
    /// The document with some lines re-indented; it has the same lines as the original.
    pub text: String,
    /// Changed lines by 1-based line number.
    pub shifts: HashMap<usize, LineShift>,
    /// Every changed line, to be checked against the new parse.
    pub changed: Vec<Changed>,
}

/// How a line's leading whitespace changed, in characters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineShift {
    /// Leading whitespace in the original.
    pub old: usize,
    /// Leading spaces in the relaxed text.
    pub new: usize,
}

impl LineShift {
    /// Maps a 0-based column of the relaxed text back to the original line.
    pub fn original_col(&self, col: usize) -> usize {
        if col >= self.new {
            col - self.new + self.old
        } else {
            col.min(self.old)
        }
    }
}

/// A changed line and the `[`, `{` or quote that opens the region it lies in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Changed {
    /// 1-based line number.
    pub line: usize,
    /// Character index (in the relaxed text) where the line starts.
    pub line_start: usize,
    /// Character index (in the relaxed text) of the opening bracket or quote.
    pub opener: usize,
}

#[derive(Default)]
struct State {
    flow_depth: usize,
    flow_col: usize,
    flow_opener: usize,
    quote: Option<char>,
    quote_col: usize,
    quote_opener: usize,
    /// Inside a `|`/`>` block scalar whose parent is indented this much.
    block_scalar: Option<isize>,
}

/// Re-indents lines that start inside flow collections or quoted values; `None` when no line
/// needs it.
pub(crate) fn relax(text: &str) -> Option<Relaxed> {
    let mut state = State::default();
    let mut out = String::with_capacity(text.len() + 64);
    let mut out_chars = 0usize;
    let mut shifts = HashMap::new();
    let mut changed = Vec::new();
    for (index, (line, end)) in lines(text).enumerate() {
        let line_no = index + 1;
        let chars: Vec<char> = line.chars().collect();
        let line_start = out_chars;
        let ws = chars
            .iter()
            .take_while(|c| **c == ' ' || **c == '\t')
            .count();
        let blank = ws == chars.len();
        let marker = is_document_marker(&chars);
        if let Some(parent) = state.block_scalar {
            let spaces = chars.iter().take_while(|c| **c == ' ').count();
            if blank || (!marker && spaces as isize > parent) {
                out.push_str(line);
                out.push_str(end);
                out_chars += chars.len() + end.chars().count();
                continue;
            }
            state.block_scalar = None;
        }
        let region = if state.flow_depth > 0 {
            Some((state.flow_col, state.flow_opener))
        } else if state.quote.is_some() {
            Some((state.quote_col, state.quote_opener))
        } else {
            None
        };
        let mut shift = None;
        if let Some((target, opener)) = region {
            let has_tab = chars[..ws].contains(&'\t');
            if !blank && !marker && (has_tab || ws < target) {
                let new = ws.max(target);
                shift = Some(LineShift { old: ws, new });
                shifts.insert(line_no, LineShift { old: ws, new });
                changed.push(Changed {
                    line: line_no,
                    line_start,
                    opener,
                });
            }
        }
        match shift {
            Some(s) => {
                out.extend(std::iter::repeat_n(' ', s.new));
                out.extend(&chars[ws..]);
                out_chars += s.new + chars.len() - ws;
            }
            None => {
                out.push_str(line);
                out_chars += chars.len();
            }
        }
        out.push_str(end);
        out_chars += end.chars().count();
        let to_new = |col: usize| match shift {
            Some(s) => line_start + col - s.old + s.new,
            None => line_start + col,
        };
        scan_line(&chars, ws, marker, &mut state, to_new);
    }
    if changed.is_empty() {
        return None;
    }
    Some(Relaxed {
        text: out,
        shifts,
        changed,
    })
}

/// `---` or `...` at column 0, followed by whitespace or the end of the line.
fn is_document_marker(chars: &[char]) -> bool {
    let starts = chars.starts_with(&['-', '-', '-']) || chars.starts_with(&['.', '.', '.']);
    starts && chars.get(3).is_none_or(|c| *c == ' ' || *c == '\t')
}

/// Splits into (line, line break) pairs; breaks are `\r\n`, `\n` or a lone `\r`, as in YAML.
fn lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, end, next) = match rest.find(['\n', '\r']) {
            None => (rest, "", ""),
            Some(i) => {
                let brk = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                (&rest[..i], &rest[i..i + brk], &rest[i + brk..])
            }
        };
        rest = next;
        Some((line, end))
    })
}

fn is_blank(c: Option<&char>) -> bool {
    c.is_none_or(|c| *c == ' ' || *c == '\t')
}

/// Follows one line through block context, flow collections, quotes and comments.
fn scan_line(
    chars: &[char],
    ws: usize,
    marker: bool,
    state: &mut State,
    to_new: impl Fn(usize) -> usize,
) {
    let mut i = ws;
    let mut prev = ' ';
    let mut node_start = true;
    let mut token_col: Option<usize> = None;
    let mut structure_col: isize = -1;
    if marker {
        *state = State::default();
        i = 3;
    }
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1);
        if let Some(q) = state.quote {
            if q == '"' && c == '\\' {
                i += 2;
                continue;
            }
            if c == q {
                if q == '\'' && next == Some(&'\'') {
                    i += 2;
                    continue;
                }
                state.quote = None;
                node_start = false;
            }
            prev = c;
            i += 1;
            continue;
        }
        if c == ' ' || c == '\t' {
            prev = c;
            i += 1;
            continue;
        }
        if c == '#' && (prev == ' ' || prev == '\t') {
            return; // a comment runs to the end of the line
        }
        if state.flow_depth > 0 {
            match c {
                '[' | '{' => state.flow_depth += 1,
                ']' | '}' => {
                    state.flow_depth -= 1;
                    node_start = false;
                }
                '"' | '\'' if matches!(prev, ' ' | '\t' | '[' | '{' | ',' | ':') => {
                    state.quote = Some(c);
                }
                _ => {}
            }
            prev = c;
            i += 1;
            continue;
        }
        if node_start {
            match c {
                '[' | '{' => {
                    state.flow_depth = 1;
                    state.flow_col = i;
                    state.flow_opener = to_new(i);
                    token_col = Some(i);
                    node_start = false;
                }
                '"' | '\'' => {
                    state.quote = Some(c);
                    state.quote_col = i;
                    state.quote_opener = to_new(i);
                    token_col = Some(i);
                    node_start = false;
                }
                '|' | '>' => {
                    let parent = if structure_col >= 0 {
                        structure_col
                    } else {
                        ws as isize - 1
                    };
                    state.block_scalar = Some(parent);
                    return;
                }
                '-' | '?' | ':' if is_blank(next) => {
                    if c != ':' {
                        structure_col = i as isize;
                    }
                }
                '&' | '!' | '*' => {
                    // An anchor, tag or alias: skip the name.
                    while i + 1 < chars.len() && !is_blank(chars.get(i + 1)) {
                        i += 1;
                    }
                    if c == '*' {
                        token_col = Some(i);
                        node_start = false;
                    }
                }
                _ => {
                    token_col = Some(i);
                    node_start = false;
                }
            }
            prev = c;
            i += 1;
            continue;
        }
        if c == ':' && is_blank(next) {
            structure_col = token_col.unwrap_or(ws) as isize;
            token_col = None;
            node_start = true;
        }
        prev = c;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relaxed(text: &str) -> String {
        relax(text)
            .map(|r| r.text)
            .unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn closing_bracket_at_the_key_column_is_indented() {
        let text = "a:\n  b: [\n    x,\n  ]\n  c: 1\n";
        assert_eq!(relaxed(text), "a:\n  b: [\n     x,\n     ]\n  c: 1\n");
    }

    #[test]
    fn nested_flow_and_quotes_follow_the_outermost_bracket() {
        let text = "k: {a: [1,\n2], b: \"x\ny\"\n}\nnext: 1\n";
        let r = relax(text).expect("changed");
        assert_eq!(r.text, "k: {a: [1,\n   2], b: \"x\n   y\"\n   }\nnext: 1\n");
        assert_eq!(r.changed.len(), 3);
        assert!(r.changed.iter().all(|c| c.opener == 3));
        assert_eq!(r.shifts[&2].original_col(3), 0);
        assert_eq!(r.shifts[&2].original_col(5), 2);
    }

    #[test]
    fn block_quoted_values_and_tabs() {
        assert_eq!(
            relaxed("a:\n  b: \"one\ntwo\"\n"),
            "a:\n  b: \"one\n     two\"\n"
        );
        assert_eq!(relaxed("a: [\n\tx\n]\n"), "a: [\n   x\n   ]\n");
    }

    #[test]
    fn leaves_block_scalars_comments_and_plain_text_alone() {
        for text in [
            "a: |\n  [x,\nb: 1\n",
            "a: x # [\nb: 1\n",
            "a: it's [x\nb: 1\n",
            "- a: |\n    {\n- b\n",
            "a: 'it''s' # [\nb: 1\n",
            "a: \"q\\\" [\"\nb: 1\n",
        ] {
            assert!(relax(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn document_markers_and_crlf() {
        assert!(relax("a: [x,\n---\n]\n").is_none());
        assert_eq!(relaxed("a: [x,\r\ny]\r\n"), "a: [x,\r\n   y]\r\n");
    }
}
