//! The tree-walking evaluator: one pass over the parsed [`Node`]s per record, with names
//! looked up in comprehension variables, then the caller's [`Names`], then the builtins.

use std::rc::Rc;

use indexmap::IndexSet;

use crate::ast::{CompFor, CompKind, FPart, Kind, Node, Target};
use crate::builtins::Builtin;
use crate::call::{self, Args};
use crate::error::{EvalError, EvalErrorKind, FResult, Fail};
use crate::names::Names;
use crate::ops;
use crate::value::{Dict, Key, ObjKind, Value};

/// simpleeval's MAX_COMPREHENSION_LENGTH (elements over one evaluation).
const MAX_COMPREHENSION_LENGTH: usize = 10_000;

/// State of one evaluation.
pub(crate) struct Ctx<'a> {
    names: &'a dyn Names,
    /// Comprehension variables, innermost last.
    locals: Vec<(Rc<str>, Value)>,
    comp_count: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(names: &'a dyn Names) -> Ctx<'a> {
        Ctx {
            names,
            locals: Vec::new(),
            comp_count: 0,
        }
    }

    fn lookup(&self, name: &str) -> Option<Value> {
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| &**n == name) {
            return Some(v.clone());
        }
        if let Some(v) = self.names.lookup(name) {
            return Some(v);
        }
        Builtin::lookup(name).map(Builtin::value)
    }
}

type EResult = Result<Value, EvalError>;

fn at<T>(node: &Node, r: FResult<T>) -> Result<T, EvalError> {
    r.map_err(|f| f.at(node.col as usize))
}

/// Evaluates `node`.
pub(crate) fn eval(node: &Node, cx: &mut Ctx) -> EResult {
    match &node.kind {
        Kind::Const(v) => Ok(v.clone()),
        Kind::Name(n) => cx.lookup(n).ok_or_else(|| EvalError {
            column: node.col as usize,
            message: format!("name '{n}' is not defined"),
            kind: EvalErrorKind::NameNotDefined(n.to_string()),
        }),
        Kind::List(items) => Ok(Value::list(eval_all(items, cx)?)),
        Kind::FString(parts) => {
            // simpleeval joins `str()` of each piece; a spec goes through `format()`.
            let mut out = String::new();
            for part in parts {
                match part {
                    FPart::Lit(text) => out.push_str(text),
                    FPart::Field(inner, spec) => {
                        let value = eval(inner, cx)?;
                        if spec.is_empty() {
                            out.push_str(&value.py_str());
                        } else {
                            out.push_str(&at(inner, crate::format::format_value(&value, spec))?);
                        }
                    }
                }
            }
            Ok(Value::str(&out))
        }
        Kind::Tuple(items) => Ok(Value::Tuple(Rc::new(eval_all(items, cx)?))),
        Kind::Set(_)
        | Kind::Dict(_)
        | Kind::Attr(..)
        | Kind::Subscript(..)
        | Kind::Slice(..)
        | Kind::Call(..) => eval_compound(node, cx),
        Kind::Unary(op, inner) => {
            let v = eval(inner, cx)?;
            at(node, ops::unary(*op, &v))
        }
        Kind::Bin(op, l, r) => {
            let a = eval(l, cx)?;
            let b = eval(r, cx)?;
            at(node, ops::binary(*op, &a, &b))
        }
        Kind::Cmp(first, rest) => {
            let mut left = eval(first, cx)?;
            for (op, n) in rest {
                let right = eval(n, cx)?;
                if !at(n, ops::compare(*op, &left, &right))? {
                    return Ok(Value::Bool(false));
                }
                left = right;
            }
            Ok(Value::Bool(true))
        }
        Kind::And(l, r) => {
            let a = eval(l, cx)?;
            if a.is_truthy() {
                eval(r, cx)
            } else {
                Ok(a)
            }
        }
        Kind::Or(l, r) => {
            let a = eval(l, cx)?;
            if a.is_truthy() {
                Ok(a)
            } else {
                eval(r, cx)
            }
        }
        Kind::IfElse { cond, then, other } => {
            if eval(cond, cx)?.is_truthy() {
                eval(then, cx)
            } else {
                eval(other, cx)
            }
        }
        Kind::Comp {
            kind,
            elt,
            value,
            fors,
        } => comprehension(node, *kind, elt, value.as_deref(), fors, cx),
    }
}

/// The node kinds that need more stack for locals, kept out of [`eval`] so that deep operator
/// chains use small frames.
#[inline(never)]
fn eval_compound(node: &Node, cx: &mut Ctx) -> EResult {
    match &node.kind {
        Kind::Set(items) => {
            let mut s = IndexSet::with_capacity(items.len());
            for it in items {
                let v = eval(it, cx)?;
                at(it, hashable(&v))?;
                s.insert(Key(v));
            }
            Ok(Value::obj(ObjKind::Set(s)))
        }
        Kind::Dict(items) => {
            let mut d = Dict::with_capacity(items.len());
            for (k, v) in items {
                let key = eval(k, cx)?;
                at(k, hashable(&key))?;
                d.insert(key, eval(v, cx)?);
            }
            Ok(Value::Dict(Rc::new(d)))
        }
        Kind::Attr(recv, name) => {
            let r = eval(recv, cx)?;
            at(node, call::get_attr(&r, name))
        }
        Kind::Subscript(container, index) => {
            let c = eval(container, cx)?;
            if let Kind::Slice(lo, hi, step) = &index.kind {
                let mut bound = |b: &Option<Box<Node>>| -> Result<Option<Value>, EvalError> {
                    b.as_deref().map(|n| eval(n, cx)).transpose()
                };
                let (lo, hi, step) = (bound(lo)?, bound(hi)?, bound(step)?);
                return at(node, slice(&c, lo, hi, step));
            }
            let i = eval(index, cx)?;
            at(node, subscript(&c, &i))
        }
        Kind::Slice(..) => Err(EvalError {
            column: node.col as usize,
            message: "invalid syntax".into(),
            kind: EvalErrorKind::Other,
        }),
        Kind::Call(func, args, kwargs) => {
            let a = Args {
                pos: eval_all(args, cx)?,
                kw: Vec::new(),
            };
            let mut a = a;
            for (k, v) in kwargs {
                a.kw.push((k.clone(), eval(v, cx)?));
            }
            if let Kind::Attr(recv, name) = &func.kind {
                let r = eval(recv, cx)?;
                return at(node, call::call_method(&r, name, a));
            }
            let f = eval(func, cx)?;
            at(node, call::call_value(&f, a))
        }
        _ => Err(EvalError {
            column: node.col as usize,
            message: "invalid syntax".into(),
            kind: EvalErrorKind::Other,
        }),
    }
}

fn eval_all(items: &[Node], cx: &mut Ctx) -> Result<Vec<Value>, EvalError> {
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        out.push(eval(it, cx)?);
    }
    Ok(out)
}

fn hashable(v: &Value) -> FResult<()> {
    if v.is_hashable() {
        Ok(())
    } else {
        Err(Fail::type_err(format!(
            "unhashable type: '{}'",
            v.type_name()
        )))
    }
}

/// What a comprehension is collecting into.
enum Acc {
    List(Vec<Value>),
    Set(IndexSet<Key>),
    Dict(Dict),
}

fn comprehension(
    node: &Node,
    kind: CompKind,
    elt: &Node,
    value: Option<&Node>,
    fors: &[CompFor],
    cx: &mut Ctx,
) -> EResult {
    let mut acc = match kind {
        CompKind::List | CompKind::Gen => Acc::List(Vec::new()),
        CompKind::Set => Acc::Set(IndexSet::new()),
        CompKind::Dict => Acc::Dict(Dict::new()),
    };
    let mark = cx.locals.len();
    let r = comp_level(node, elt, value, fors, cx, &mut acc);
    cx.locals.truncate(mark);
    r?;
    Ok(match acc {
        Acc::List(v) => Value::list(v),
        Acc::Set(s) => Value::obj(ObjKind::Set(s)),
        Acc::Dict(d) => Value::Dict(Rc::new(d)),
    })
}

fn comp_level(
    node: &Node,
    elt: &Node,
    value: Option<&Node>,
    fors: &[CompFor],
    cx: &mut Ctx,
    acc: &mut Acc,
) -> Result<(), EvalError> {
    let Some((first, rest)) = fors.split_first() else {
        match acc {
            Acc::List(v) => v.push(eval(elt, cx)?),
            Acc::Set(s) => {
                let v = eval(elt, cx)?;
                at(elt, hashable(&v))?;
                s.insert(Key(v));
            }
            Acc::Dict(d) => {
                let k = eval(elt, cx)?;
                at(elt, hashable(&k))?;
                let v = match value {
                    Some(n) => eval(n, cx)?,
                    None => Value::None,
                };
                d.insert(k, v);
            }
        }
        return Ok(());
    };
    let iterable = eval(&first.iter, cx)?;
    let items = at(&first.iter, call::iterate(&iterable))?;
    let mark = cx.locals.len();
    for item in items.iter() {
        cx.comp_count += 1;
        if cx.comp_count > MAX_COMPREHENSION_LENGTH {
            return Err(
                Fail::other("Comprehension generates too many elements").at(node.col as usize)
            );
        }
        cx.locals.truncate(mark);
        at(
            &first.iter,
            bind(&first.target, item.clone(), &mut cx.locals),
        )?;
        let mut keep = true;
        for cond in &first.ifs {
            if !eval(cond, cx)?.is_truthy() {
                keep = false;
                break;
            }
        }
        if keep {
            comp_level(node, elt, value, rest, cx, acc)?;
        }
    }
    cx.locals.truncate(mark);
    Ok(())
}

fn bind(target: &Target, v: Value, locals: &mut Vec<(Rc<str>, Value)>) -> FResult<()> {
    match target {
        Target::Name(n) => {
            locals.push((n.clone(), v));
            Ok(())
        }
        Target::Tuple(ts) => {
            // simpleeval pairs targets and values with zip(): extra values are ignored and
            // missing ones leave the name unbound.
            let items = call::iterate(&v)?;
            for (t, x) in ts.iter().zip(items.iter()) {
                bind(t, x.clone(), locals)?;
            }
            Ok(())
        }
    }
}

fn int_index(i: &Value, what: &str) -> FResult<i64> {
    match i {
        Value::Int(n) => Ok(*n),
        Value::Bool(b) => Ok(*b as i64),
        _ => Err(Fail::type_err(format!(
            "{what} indices must be integers or slices, not {}",
            i.type_name()
        ))),
    }
}

fn norm_index(n: i64, len: usize, what: &str) -> FResult<usize> {
    let len = len as i64;
    let k = if n < 0 { n + len } else { n };
    if k < 0 || k >= len {
        return Err(Fail::value_err(format!("{what} index out of range")));
    }
    Ok(k as usize)
}

/// `c[i]`.
pub(crate) fn subscript(c: &Value, i: &Value) -> FResult<Value> {
    match c {
        Value::List(l) => Ok(l[norm_index(int_index(i, "list")?, l.len(), "list")?].clone()),
        Value::Tuple(l) => Ok(l[norm_index(int_index(i, "tuple")?, l.len(), "tuple")?].clone()),
        Value::Str(s) => {
            let n = match i {
                Value::Int(_) | Value::Bool(_) => int_index(i, "string")?,
                _ => {
                    return Err(Fail::type_err(format!(
                        "string indices must be integers, not '{}'",
                        i.type_name()
                    )))
                }
            };
            if n >= 0 && s.is_ascii() {
                let k = norm_index(n, s.len(), "string")?;
                return Ok(Value::str(&s[k..k + 1]));
            }
            let count = s.chars().count();
            let k = norm_index(n, count, "string")?;
            Ok(Value::str(
                &s.chars().nth(k).map(String::from).unwrap_or_default(),
            ))
        }
        Value::Dict(d) => {
            hashable(i)?;
            d.get(i)
                .cloned()
                .ok_or_else(|| Fail::value_err(format!("KeyError: {}", i.py_repr())))
        }
        _ => Err(Fail::type_err(format!(
            "'{}' object is not subscriptable",
            c.type_name()
        ))),
    }
}

fn slice_bound(v: Option<Value>) -> FResult<Option<i64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => int_index(&v, "slice").map(Some).map_err(|_| {
            Fail::type_err("slice indices must be integers or None or have an __index__ method")
        }),
    }
}

/// The positions `seq[lo:hi:step]` selects, as Python's `slice.indices`.
fn slice_positions(
    len: usize,
    lo: Option<i64>,
    hi: Option<i64>,
    step: Option<i64>,
) -> FResult<Vec<usize>> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Fail::value_err("slice step cannot be zero"));
    }
    let len = len as i64;
    let clamp = |v: i64, lo_lim: i64, hi_lim: i64| {
        let v = if v < 0 { v + len } else { v };
        v.clamp(lo_lim, hi_lim)
    };
    let mut out = Vec::new();
    if step > 0 {
        let start = lo.map_or(0, |v| clamp(v, 0, len));
        let stop = hi.map_or(len, |v| clamp(v, 0, len));
        let mut i = start;
        while i < stop {
            out.push(i as usize);
            i += step;
        }
    } else {
        let start = lo.map_or(len - 1, |v| clamp(v, -1, len - 1));
        let stop = hi.map_or(-1, |v| clamp(v, -1, len - 1));
        let mut i = start;
        while i > stop {
            out.push(i as usize);
            i += step;
        }
    }
    Ok(out)
}

/// `c[lo:hi:step]`.
fn slice(c: &Value, lo: Option<Value>, hi: Option<Value>, step: Option<Value>) -> FResult<Value> {
    let (lo, hi, step) = (slice_bound(lo)?, slice_bound(hi)?, slice_bound(step)?);
    match c {
        Value::List(l) | Value::Tuple(l) => {
            let items = slice_positions(l.len(), lo, hi, step)?
                .into_iter()
                .map(|i| l[i].clone())
                .collect();
            Ok(if matches!(c, Value::List(_)) {
                Value::list(items)
            } else {
                Value::Tuple(Rc::new(items))
            })
        }
        Value::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            let out: String = slice_positions(chars.len(), lo, hi, step)?
                .into_iter()
                .map(|i| chars[i])
                .collect();
            Ok(Value::str(&out))
        }
        _ => Err(Fail::type_err(format!(
            "'{}' object is not subscriptable",
            c.type_name()
        ))),
    }
}
