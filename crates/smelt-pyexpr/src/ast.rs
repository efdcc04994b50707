//! The parsed form of an expression: a tree of nodes that the evaluator walks per record.

use std::rc::Rc;

use crate::value::Value;

/// A node with the 1-based column of its source text and the depth of its subtree.
#[derive(Debug)]
pub(crate) struct Node {
    pub col: u32,
    pub depth: u32,
    pub kind: Kind,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Pos,
    Not,
    Invert,
}

/// Binary arithmetic/bitwise operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
}

impl BinOp {
    /// The operator as Python prints it in TypeErrors.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "** or pow()",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
}

/// What a comprehension builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompKind {
    List,
    Set,
    Dict,
    /// A generator expression, evaluated eagerly into a list.
    Gen,
}

/// A `for` target: a name or a (nested) tuple of names.
#[derive(Debug)]
pub(crate) enum Target {
    Name(Rc<str>),
    Tuple(Vec<Target>),
}

/// One `for target in iter if cond...` clause.
#[derive(Debug)]
pub(crate) struct CompFor {
    pub target: Target,
    pub iter: Node,
    pub ifs: Vec<Node>,
}

/// The node kinds.
#[derive(Debug)]
pub(crate) enum Kind {
    Const(Value),
    Name(Rc<str>),
    List(Vec<Node>),
    Tuple(Vec<Node>),
    Set(Vec<Node>),
    Dict(Vec<(Node, Node)>),
    Attr(Box<Node>, Rc<str>),
    Subscript(Box<Node>, Box<Node>),
    Slice(Option<Box<Node>>, Option<Box<Node>>, Option<Box<Node>>),
    Call(Box<Node>, Vec<Node>, Vec<(Rc<str>, Node)>),
    Unary(UnOp, Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    Cmp(Box<Node>, Vec<(CmpOp, Node)>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    IfElse {
        cond: Box<Node>,
        then: Box<Node>,
        other: Box<Node>,
    },
    /// An f-string: literal text and (expression, format spec) fields, joined with `str()`.
    FString(Vec<FPart>),
    Comp {
        kind: CompKind,
        elt: Box<Node>,
        value: Option<Box<Node>>,
        fors: Vec<CompFor>,
    },
}

/// A piece of a parsed f-string.
#[derive(Debug)]
pub(crate) enum FPart {
    /// Literal text.
    Lit(Rc<str>),
    /// An expression and its format spec (empty: plain `str()`).
    Field(Node, Rc<str>),
}

impl Node {
    /// Builds a node, recording its subtree depth (the parser caps it).
    pub fn new(col: usize, kind: Kind) -> Node {
        let depth = 1 + max_child_depth(&kind);
        Node {
            col: col as u32,
            depth,
            kind,
        }
    }
}

fn d(n: &Node) -> u32 {
    n.depth
}

fn max_child_depth(kind: &Kind) -> u32 {
    let opt = |n: &Option<Box<Node>>| n.as_deref().map_or(0, d);
    match kind {
        Kind::Const(_) | Kind::Name(_) => 0,
        Kind::List(v) | Kind::Tuple(v) | Kind::Set(v) => v.iter().map(d).max().unwrap_or(0),
        Kind::Dict(v) => v.iter().map(|(k, x)| d(k).max(d(x))).max().unwrap_or(0),
        Kind::Attr(n, _) | Kind::Unary(_, n) => d(n),
        Kind::Subscript(a, b) | Kind::Bin(_, a, b) | Kind::And(a, b) | Kind::Or(a, b) => {
            d(a).max(d(b))
        }
        Kind::Slice(a, b, c) => opt(a).max(opt(b)).max(opt(c)),
        Kind::Call(f, args, kw) => d(f)
            .max(args.iter().map(d).max().unwrap_or(0))
            .max(kw.iter().map(|(_, n)| d(n)).max().unwrap_or(0)),
        Kind::Cmp(a, rest) => d(a).max(rest.iter().map(|(_, n)| d(n)).max().unwrap_or(0)),
        Kind::IfElse { cond, then, other } => d(cond).max(d(then)).max(d(other)),
        Kind::FString(parts) => parts
            .iter()
            .map(|p| match p {
                FPart::Lit(_) => 0,
                FPart::Field(n, _) => d(n),
            })
            .max()
            .unwrap_or(0),
        Kind::Comp {
            elt, value, fors, ..
        } => {
            let f = fors
                .iter()
                .map(|f| d(&f.iter).max(f.ifs.iter().map(d).max().unwrap_or(0)))
                .max()
                .unwrap_or(0);
            d(elt).max(opt(value)).max(f)
        }
    }
}
