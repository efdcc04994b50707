//! Recursive-descent parser from tokens to the [`Node`] tree, following Python's expression
//! grammar (precedence from `if-else` down to atoms). Statements, assignments, lambda and
//! f-strings are parsed into their literal text and fields (each field is an expression).

use std::rc::Rc;

use crate::ast::{BinOp, CmpOp, CompFor, CompKind, FPart, Kind, Node, Target, UnOp};
use crate::error::ParseError;
use crate::lexer::{tokenize, FPiece, Tok, Token};
use crate::value::Value;

/// Deepest recursion of the parser (nested brackets, unary chains).
const MAX_NESTING: usize = 64;
/// Deepest tree accepted (long operator chains), so evaluation cannot exhaust the stack.
const MAX_TREE_DEPTH: u32 = 300;

/// Python keywords that cannot be names.
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Parses a whole expression.
pub(crate) fn parse(src: &str) -> Result<Node, ParseError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        nesting: 0,
    };
    if matches!(p.peek(), Tok::End) {
        return Err(p.err("empty expression"));
    }
    let node = p.expr_list()?;
    match p.peek() {
        Tok::End => Ok(node),
        Tok::Op("=" | ":=") => Err(p.err("assignments are not allowed in expressions")),
        Tok::Op(op) if op.ends_with('=') && !matches!(*op, "==" | "!=" | "<=" | ">=") => {
            Err(p.err("assignments are not allowed in expressions"))
        }
        _ => Err(p.err("invalid syntax")),
    }
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    nesting: usize,
}

type PResult = Result<Node, ParseError>;
/// Positional and keyword arguments of a call.
type CallArgs = (Vec<Node>, Vec<(Rc<str>, Node)>);

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn col(&self) -> usize {
        self.toks[self.pos.min(self.toks.len() - 1)].col
    }

    fn err(&self, message: &str) -> ParseError {
        ParseError {
            column: self.col(),
            message: message.to_string(),
        }
    }

    fn bump(&mut self) {
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == kw)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let hit = self.is_op(op);
        if hit {
            self.bump();
        }
        hit
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.is_kw(kw);
        if hit {
            self.bump();
        }
        hit
    }

    fn expect_op(&mut self, op: &str) -> Result<(), ParseError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.err(&format!("invalid syntax: expected '{op}'")))
        }
    }

    fn mk(&self, col: usize, kind: Kind) -> PResult {
        let n = Node::new(col, kind);
        if n.depth > MAX_TREE_DEPTH {
            return Err(ParseError {
                column: col,
                message: "expression is too deeply nested".into(),
            });
        }
        Ok(n)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.err("expression is too deeply nested"));
        }
        Ok(())
    }

    /// Whether the next token can start an expression (for trailing commas).
    fn starts_expr(&self) -> bool {
        match self.peek() {
            Tok::End => false,
            Tok::Op(o) => matches!(*o, "(" | "[" | "{" | "-" | "+" | "~" | "..."),
            Tok::Name(n) => {
                !KEYWORDS.contains(&n.as_str())
                    || matches!(n.as_str(), "None" | "True" | "False" | "not" | "lambda")
            }
            _ => true,
        }
    }

    /// `test (',' test)* [',']`: a bare tuple when there is a comma.
    fn expr_list(&mut self) -> PResult {
        let col = self.col();
        let first = self.test()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if !self.starts_expr() {
                break;
            }
            items.push(self.test()?);
        }
        self.mk(col, Kind::Tuple(items))
    }

    /// `or_test ['if' or_test 'else' test]`
    fn test(&mut self) -> PResult {
        self.enter()?;
        if self.is_kw("lambda") {
            return Err(self.err("lambda is not supported"));
        }
        let col = self.col();
        let then = self.or_test()?;
        let node = if self.eat_kw("if") {
            let cond = self.or_test()?;
            if !self.eat_kw("else") {
                return Err(self.err("invalid syntax: expected 'else' after 'if' expression"));
            }
            let other = self.test()?;
            self.mk(
                col,
                Kind::IfElse {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    other: Box::new(other),
                },
            )?
        } else {
            then
        };
        self.nesting -= 1;
        Ok(node)
    }

    fn or_test(&mut self) -> PResult {
        let col = self.col();
        let mut left = self.and_test()?;
        while self.eat_kw("or") {
            let right = self.and_test()?;
            left = self.mk(col, Kind::Or(Box::new(left), Box::new(right)))?;
        }
        Ok(left)
    }

    fn and_test(&mut self) -> PResult {
        let col = self.col();
        let mut left = self.not_test()?;
        while self.eat_kw("and") {
            let right = self.not_test()?;
            left = self.mk(col, Kind::And(Box::new(left), Box::new(right)))?;
        }
        Ok(left)
    }

    fn not_test(&mut self) -> PResult {
        if self.is_kw("not") {
            let col = self.col();
            self.bump();
            self.enter()?;
            let inner = self.not_test()?;
            self.nesting -= 1;
            return self.mk(col, Kind::Unary(UnOp::Not, Box::new(inner)));
        }
        self.comparison()
    }

    fn cmp_op(&mut self) -> Option<CmpOp> {
        let op = match self.peek() {
            Tok::Op("==") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            Tok::Name(n) if n == "in" => CmpOp::In,
            Tok::Name(n) if n == "not" && matches!(self.peek_at(1), Tok::Name(m) if m == "in") => {
                self.bump();
                CmpOp::NotIn
            }
            Tok::Name(n) if n == "is" => {
                if matches!(self.peek_at(1), Tok::Name(m) if m == "not") {
                    self.bump();
                    CmpOp::IsNot
                } else {
                    CmpOp::Is
                }
            }
            _ => return None,
        };
        self.bump();
        Some(op)
    }

    fn comparison(&mut self) -> PResult {
        let col = self.col();
        let first = self.bitor()?;
        let mut rest = Vec::new();
        while let Some(op) = self.cmp_op() {
            rest.push((op, self.bitor()?));
        }
        if rest.is_empty() {
            Ok(first)
        } else {
            self.mk(col, Kind::Cmp(Box::new(first), rest))
        }
    }

    /// One left-associative binary level.
    fn binary(&mut self, ops: &[(&str, BinOp)], next: fn(&mut Parser) -> PResult) -> PResult {
        let col = self.col();
        let mut left = next(self)?;
        'outer: loop {
            for (sym, op) in ops {
                if self.eat_op(sym) {
                    let right = next(self)?;
                    left = self.mk(col, Kind::Bin(*op, Box::new(left), Box::new(right)))?;
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn bitor(&mut self) -> PResult {
        self.binary(&[("|", BinOp::BitOr)], Parser::bitxor)
    }
    fn bitxor(&mut self) -> PResult {
        self.binary(&[("^", BinOp::BitXor)], Parser::bitand)
    }
    fn bitand(&mut self) -> PResult {
        self.binary(&[("&", BinOp::BitAnd)], Parser::shift)
    }
    fn shift(&mut self) -> PResult {
        self.binary(&[("<<", BinOp::Shl), (">>", BinOp::Shr)], Parser::arith)
    }
    fn arith(&mut self) -> PResult {
        self.binary(&[("+", BinOp::Add), ("-", BinOp::Sub)], Parser::term)
    }
    fn term(&mut self) -> PResult {
        self.binary(
            &[
                ("*", BinOp::Mul),
                ("/", BinOp::Div),
                ("//", BinOp::FloorDiv),
                ("%", BinOp::Mod),
            ],
            Parser::factor,
        )
    }

    /// Unary `- + ~` bind looser than `**` (`-2**2 == -4`).
    fn factor(&mut self) -> PResult {
        let op = match self.peek() {
            Tok::Op("-") => UnOp::Neg,
            Tok::Op("+") => UnOp::Pos,
            Tok::Op("~") => UnOp::Invert,
            _ => return self.power(),
        };
        let col = self.col();
        self.bump();
        self.enter()?;
        let inner = self.factor()?;
        self.nesting -= 1;
        self.mk(col, Kind::Unary(op, Box::new(inner)))
    }

    /// `primary ['**' factor]` (right-associative).
    fn power(&mut self) -> PResult {
        let col = self.col();
        let base = self.primary()?;
        if self.eat_op("**") {
            self.enter()?;
            let exp = self.factor()?;
            self.nesting -= 1;
            return self.mk(col, Kind::Bin(BinOp::Pow, Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }

    /// An atom followed by calls, subscripts and attribute accesses.
    fn primary(&mut self) -> PResult {
        // Like Python's AST, a call/subscript/attribute starts where its primary starts.
        let col = self.col();
        let mut node = self.atom()?;
        loop {
            if self.eat_op(".") {
                let Tok::Name(name) = self.peek().clone() else {
                    return Err(self.err("invalid syntax: expected an attribute name"));
                };
                if KEYWORDS.contains(&name.as_str()) {
                    return Err(self.err("invalid syntax"));
                }
                self.bump();
                node = self.mk(col, Kind::Attr(Box::new(node), Rc::from(name)))?;
            } else if self.eat_op("(") {
                let (args, kwargs) = self.call_args()?;
                node = self.mk(col, Kind::Call(Box::new(node), args, kwargs))?;
            } else if self.eat_op("[") {
                let index = self.subscript()?;
                self.expect_op("]")?;
                node = self.mk(col, Kind::Subscript(Box::new(node), Box::new(index)))?;
            } else {
                return Ok(node);
            }
        }
    }

    fn call_args(&mut self) -> Result<CallArgs, ParseError> {
        let mut args = Vec::new();
        let mut kwargs: Vec<(Rc<str>, Node)> = Vec::new();
        loop {
            if self.eat_op(")") {
                return Ok((args, kwargs));
            }
            if self.is_op("*") || self.is_op("**") {
                return Err(self.err("argument unpacking (*args, **kwargs) is not supported"));
            }
            if let (Tok::Name(name), Tok::Op("=")) = (self.peek().clone(), self.peek_at(1).clone())
            {
                if KEYWORDS.contains(&name.as_str()) {
                    return Err(self.err("invalid syntax"));
                }
                if kwargs.iter().any(|(k, _)| **k == *name) {
                    return Err(self.err(&format!("keyword argument repeated: {name}")));
                }
                self.bump();
                self.bump();
                kwargs.push((Rc::from(name), self.test()?));
            } else {
                if !kwargs.is_empty() {
                    return Err(self.err("positional argument follows keyword argument"));
                }
                let col = self.col();
                let arg = self.test()?;
                if self.is_kw("for") {
                    let fors = self.comp_fors()?;
                    args.push(self.mk(
                        col,
                        Kind::Comp {
                            kind: CompKind::Gen,
                            elt: Box::new(arg),
                            value: None,
                            fors,
                        },
                    )?);
                    if !self.is_op(")") || args.len() > 1 {
                        return Err(self.err("generator expression must be parenthesized"));
                    }
                    continue;
                }
                args.push(arg);
            }
            if !self.eat_op(",") {
                self.expect_op(")")?;
                return Ok((args, kwargs));
            }
        }
    }

    /// The inside of `[...]` after a primary: an index, a slice or a tuple of indexes.
    fn subscript(&mut self) -> PResult {
        let col = self.col();
        let first = self.slice_item()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op("]") {
                break;
            }
            items.push(self.slice_item()?);
        }
        self.mk(col, Kind::Tuple(items))
    }

    fn slice_item(&mut self) -> PResult {
        let col = self.col();
        let lower = if self.is_op(":") {
            None
        } else {
            Some(Box::new(self.test()?))
        };
        if !self.eat_op(":") {
            return lower.map(|b| *b).ok_or_else(|| self.err("invalid syntax"));
        }
        let bound = |p: &mut Parser| -> Result<Option<Box<Node>>, ParseError> {
            if p.is_op(":") || p.is_op("]") || p.is_op(",") {
                Ok(None)
            } else {
                Ok(Some(Box::new(p.test()?)))
            }
        };
        let upper = bound(self)?;
        let step = if self.eat_op(":") { bound(self)? } else { None };
        self.mk(col, Kind::Slice(lower, upper, step))
    }

    fn comp_fors(&mut self) -> Result<Vec<CompFor>, ParseError> {
        let mut fors = Vec::new();
        while self.eat_kw("for") {
            let target = self.target_list()?;
            if !self.eat_kw("in") {
                return Err(self.err("invalid syntax: expected 'in'"));
            }
            let iter = self.or_test()?;
            let mut ifs = Vec::new();
            while self.eat_kw("if") {
                ifs.push(self.or_test()?);
            }
            fors.push(CompFor { target, iter, ifs });
        }
        Ok(fors)
    }

    fn target_list(&mut self) -> Result<Target, ParseError> {
        let first = self.target()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_kw("in") {
                break;
            }
            items.push(self.target()?);
        }
        Ok(Target::Tuple(items))
    }

    fn target(&mut self) -> Result<Target, ParseError> {
        if self.eat_op("(") || self.eat_op("[") {
            self.enter()?;
            let close = if matches!(self.toks[self.pos - 1].tok, Tok::Op("(")) {
                ")"
            } else {
                "]"
            };
            let t = self.target_list()?;
            self.nesting -= 1;
            self.expect_op(close)?;
            return Ok(t);
        }
        match self.peek().clone() {
            Tok::Name(n) if !KEYWORDS.contains(&n.as_str()) => {
                self.bump();
                Ok(Target::Name(Rc::from(n)))
            }
            _ => Err(self.err("invalid syntax: expected a name to assign in 'for'")),
        }
    }

    /// Adjacent string and f-string literals, concatenated as Python does.
    fn strings(&mut self, col: usize) -> PResult {
        let mut parts: Vec<FPart> = Vec::new();
        let mut text = String::new();
        let mut formatted = false;
        loop {
            match self.peek().clone() {
                Tok::Str(s) => text.push_str(&s),
                Tok::FStr(pieces) => {
                    formatted = true;
                    for piece in pieces {
                        match piece {
                            FPiece::Lit(s) => text.push_str(&s),
                            FPiece::Field { source, col, spec } => {
                                if !text.is_empty() {
                                    parts.push(FPart::Lit(Rc::from(std::mem::take(&mut text))));
                                }
                                let node = parse(source.trim()).map_err(|e| ParseError {
                                    column: col + e.column.saturating_sub(1),
                                    message: format!("f-string: {}", e.message),
                                })?;
                                parts.push(FPart::Field(node, Rc::from(spec)));
                            }
                        }
                    }
                }
                _ => break,
            }
            self.bump();
        }
        if !formatted {
            return self.mk(col, Kind::Const(Value::str(&text)));
        }
        if !text.is_empty() {
            parts.push(FPart::Lit(Rc::from(text)));
        }
        self.mk(col, Kind::FString(parts))
    }

    fn atom(&mut self) -> PResult {
        let col = self.col();
        match self.peek().clone() {
            Tok::Int(i) => {
                self.bump();
                self.mk(col, Kind::Const(Value::Int(i)))
            }
            Tok::Float(f) => {
                self.bump();
                self.mk(col, Kind::Const(Value::Float(f)))
            }
            Tok::Str(_) | Tok::FStr(_) => self.strings(col),
            Tok::Name(n) => {
                let kind = match n.as_str() {
                    "None" => Kind::Const(Value::None),
                    "True" => Kind::Const(Value::Bool(true)),
                    "False" => Kind::Const(Value::Bool(false)),
                    "lambda" => return Err(self.err("lambda is not supported")),
                    k if KEYWORDS.contains(&k) => return Err(self.err("invalid syntax")),
                    _ => Kind::Name(Rc::from(n.as_str())),
                };
                self.bump();
                self.mk(col, kind)
            }
            Tok::Op("(") => {
                self.bump();
                self.paren(col)
            }
            Tok::Op("[") => {
                self.bump();
                self.list_display(col)
            }
            Tok::Op("{") => {
                self.bump();
                self.brace_display(col)
            }
            Tok::End => Err(self.err("invalid syntax: unexpected end of expression")),
            _ => Err(self.err("invalid syntax")),
        }
    }

    fn paren(&mut self, col: usize) -> PResult {
        if self.eat_op(")") {
            return self.mk(col, Kind::Tuple(Vec::new()));
        }
        let first = self.test()?;
        if self.is_kw("for") {
            let fors = self.comp_fors()?;
            self.expect_op(")")?;
            return self.mk(
                col,
                Kind::Comp {
                    kind: CompKind::Gen,
                    elt: Box::new(first),
                    value: None,
                    fors,
                },
            );
        }
        if self.eat_op(")") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op(")") {
                break;
            }
            items.push(self.test()?);
        }
        self.expect_op(")")?;
        self.mk(col, Kind::Tuple(items))
    }

    fn list_display(&mut self, col: usize) -> PResult {
        if self.eat_op("]") {
            return self.mk(col, Kind::List(Vec::new()));
        }
        let first = self.test()?;
        self.items_or_comprehension(col, first, "]", CompKind::List, Kind::List)
    }

    /// The rest of a `[...]` or `{...}` display after its first element: a comprehension, or
    /// the comma-separated items up to `close`.
    fn items_or_comprehension(
        &mut self,
        col: usize,
        first: Node,
        close: &'static str,
        comp: CompKind,
        items: fn(Vec<Node>) -> Kind,
    ) -> PResult {
        if self.is_kw("for") {
            let fors = self.comp_fors()?;
            self.expect_op(close)?;
            return self.mk(
                col,
                Kind::Comp {
                    kind: comp,
                    elt: Box::new(first),
                    value: None,
                    fors,
                },
            );
        }
        let mut all = vec![first];
        while self.eat_op(",") {
            if self.is_op(close) {
                break;
            }
            all.push(self.test()?);
        }
        self.expect_op(close)?;
        self.mk(col, items(all))
    }

    fn brace_display(&mut self, col: usize) -> PResult {
        if self.eat_op("}") {
            return self.mk(col, Kind::Dict(Vec::new()));
        }
        if self.is_op("**") {
            return Err(self.err("dict unpacking (**) is not supported"));
        }
        let first = self.test()?;
        if self.eat_op(":") {
            let value = self.test()?;
            if self.is_kw("for") {
                let fors = self.comp_fors()?;
                self.expect_op("}")?;
                return self.mk(
                    col,
                    Kind::Comp {
                        kind: CompKind::Dict,
                        elt: Box::new(first),
                        value: Some(Box::new(value)),
                        fors,
                    },
                );
            }
            let mut items = vec![(first, value)];
            while self.eat_op(",") {
                if self.is_op("}") {
                    break;
                }
                let k = self.test()?;
                self.expect_op(":")?;
                items.push((k, self.test()?));
            }
            self.expect_op("}")?;
            return self.mk(col, Kind::Dict(items));
        }
        self.items_or_comprehension(col, first, "}", CompKind::Set, Kind::Set)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn accepts_python_expressions() {
        for src in [
            "a + b * c ** -d",
            "x if c else y",
            "a < b < c",
            "a not in b and c is not None",
            "[x for x in y if x for z in w]",
            "{k: v for k, v in d.items()}",
            "{1, 2}",
            "{}",
            "()",
            "(1,)",
            "1, 2",
            "s[::-1]",
            "a[1:2, 3]",
            "f(x for x in y)",
            "json.dumps(x, default=str)",
            "dict([(x[\"id\"], x[\"value\"]) for x in custom_fields]).get(1)",
            "'a' 'b'",
            "not not x",
            "[(a, b) for (a, b) in c]",
        ] {
            assert!(parse(src).is_ok(), "{src}: {:?}", parse(src).err());
        }
    }

    #[test]
    fn rejects_statements_and_garbage() {
        for src in [
            "this should raise an er!ror",
            "a = 1",
            "(a := 1)",
            "x += 1",
            "import os",
            "lambda x: x",
            "",
            "a +",
            "f(x for x in y, 1)",
            "f(a=1, 2)",
            "[1, 2",
            "a.b.",
            "def",
            "x if y",
        ] {
            assert!(parse(src).is_err(), "{src} should fail");
        }
        assert_eq!(parse("a b").unwrap_err().column, 3);
    }

    #[test]
    fn caps_nesting() {
        assert!(parse(&format!("{}1{}", "(".repeat(70), ")".repeat(70))).is_err());
        assert!(parse(&"-".repeat(1000)).is_err());
        assert!(parse(&vec!["1"; 1000].join("+")).is_err());
        assert!(parse(&format!("{}1{}", "[".repeat(50), "]".repeat(50))).is_ok());
    }
}
