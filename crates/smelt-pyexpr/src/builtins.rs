//! The functions an expression can call by name when the names do not define it
//! (simpleeval's DEFAULT_FUNCTIONS, the SDK's md5/sha256 and the datetime/json modules).

/// A builtin function, module or class object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    Int,
    Float,
    Str,
    Bool,
    Len,
    List,
    Tuple,
    Dict,
    Set,
    Abs,
    Min,
    Max,
    Round,
    Sum,
    Sorted,
    Any,
    All,
    Range,
    Md5,
    Sha256,
    Rand,
    RandInt,
    /// The `datetime` module.
    DatetimeModule,
    /// `datetime.datetime`.
    DatetimeClass,
    /// `datetime.date`.
    DateClass,
    /// `datetime.timedelta`.
    TimedeltaClass,
    /// `datetime.timezone`.
    TimezoneClass,
    /// The `json` module.
    JsonModule,
    JsonDumps,
    JsonLoads,
}

impl Builtin {
    /// The builtin a bare name resolves to, if any.
    pub(crate) fn lookup(name: &str) -> Option<Builtin> {
        Some(match name {
            "int" => Builtin::Int,
            "float" => Builtin::Float,
            "str" => Builtin::Str,
            "bool" => Builtin::Bool,
            "len" => Builtin::Len,
            "list" => Builtin::List,
            "tuple" => Builtin::Tuple,
            "dict" => Builtin::Dict,
            "set" => Builtin::Set,
            "abs" => Builtin::Abs,
            "min" => Builtin::Min,
            "max" => Builtin::Max,
            "round" => Builtin::Round,
            "sum" => Builtin::Sum,
            "sorted" => Builtin::Sorted,
            "any" => Builtin::Any,
            "all" => Builtin::All,
            "range" => Builtin::Range,
            "md5" => Builtin::Md5,
            "sha256" => Builtin::Sha256,
            "rand" => Builtin::Rand,
            "randint" => Builtin::RandInt,
            "datetime" => Builtin::DatetimeModule,
            "json" => Builtin::JsonModule,
            _ => return None,
        })
    }

    /// Python's type of the object.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Builtin::DatetimeModule | Builtin::JsonModule => "module",
            Builtin::Int
            | Builtin::Float
            | Builtin::Str
            | Builtin::Bool
            | Builtin::List
            | Builtin::Tuple
            | Builtin::Dict
            | Builtin::Set
            | Builtin::Range
            | Builtin::DatetimeClass
            | Builtin::DateClass
            | Builtin::TimedeltaClass
            | Builtin::TimezoneClass => "type",
            _ => "builtin_function_or_method",
        }
    }

    /// The name Python shows for it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Builtin::Int => "int",
            Builtin::Float => "float",
            Builtin::Str => "str",
            Builtin::Bool => "bool",
            Builtin::Len => "len",
            Builtin::List => "list",
            Builtin::Tuple => "tuple",
            Builtin::Dict => "dict",
            Builtin::Set => "set",
            Builtin::Abs => "abs",
            Builtin::Min => "min",
            Builtin::Max => "max",
            Builtin::Round => "round",
            Builtin::Sum => "sum",
            Builtin::Sorted => "sorted",
            Builtin::Any => "any",
            Builtin::All => "all",
            Builtin::Range => "range",
            Builtin::Md5 => "md5",
            Builtin::Sha256 => "sha256",
            Builtin::Rand => "random",
            Builtin::RandInt => "randint",
            Builtin::DatetimeModule => "datetime",
            Builtin::DatetimeClass => "datetime.datetime",
            Builtin::DateClass => "datetime.date",
            Builtin::TimedeltaClass => "datetime.timedelta",
            Builtin::TimezoneClass => "datetime.timezone",
            Builtin::JsonModule => "json",
            Builtin::JsonDumps => "dumps",
            Builtin::JsonLoads => "loads",
        }
    }

    /// Python's repr of the object.
    pub(crate) fn repr(self) -> String {
        match self.type_name() {
            "module" => format!("<module '{}'>", self.name()),
            "type" => format!("<class '{}'>", self.name()),
            _ => format!("<built-in function {}>", self.name()),
        }
    }
}

use std::cell::Cell;
use std::cmp::Ordering;
use std::rc::Rc;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use sha2::Digest as _;

use crate::call::{iterate, make_dict, make_set, Args};
use crate::error::{FResult, Fail};
use crate::ops::{self, py_cmp, MAX_STRING_LENGTH};
use crate::value::{Num, Value};

/// Longest list `range()` may build (simpleeval has no range; this keeps it bounded).
const MAX_RANGE: i64 = 100_000;

thread_local! {
    /// One shared object per builtin, so looking a builtin up does not allocate.
    static OBJECTS: std::cell::RefCell<Vec<Option<Value>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Builtin {
    /// The builtin as a value (shared per thread: cloning is an Rc increment).
    pub(crate) fn value(self) -> Value {
        OBJECTS.with(|cell| {
            let mut objects = cell.borrow_mut();
            let i = self as usize;
            if objects.len() <= i {
                objects.resize(i + 1, None);
            }
            objects[i]
                .get_or_insert_with(|| Value::obj(crate::value::ObjKind::Builtin(self)))
                .clone()
        })
    }
}

/// A member of the `datetime` or `json` module.
pub(crate) fn module_attr(b: Builtin, name: &str) -> Option<Builtin> {
    match (b, name) {
        (Builtin::DatetimeModule, "datetime") => Some(Builtin::DatetimeClass),
        (Builtin::DatetimeModule, "date") => Some(Builtin::DateClass),
        (Builtin::DatetimeModule, "timedelta") => Some(Builtin::TimedeltaClass),
        (Builtin::DatetimeModule, "timezone") => Some(Builtin::TimezoneClass),
        (Builtin::JsonModule, "dumps") => Some(Builtin::JsonDumps),
        (Builtin::JsonModule, "loads") => Some(Builtin::JsonLoads),
        _ => None,
    }
}

fn one<'a>(args: &'a Args, fname: &str) -> FResult<&'a Value> {
    args.check(fname, 1, 1, &[])?;
    Ok(&args.pos[0])
}

/// Calls one of the plain builtin functions.
pub(crate) fn call(b: Builtin, args: &Args) -> FResult<Value> {
    match b {
        Builtin::Int => {
            args.check("int", 0, 2, &["base"])?;
            match (args.pos.first(), args.get(1, "base")) {
                (None, _) => Ok(Value::Int(0)),
                (Some(Value::Str(s)), base) => {
                    let base = match base {
                        None => 10,
                        Some(Value::Int(b)) if *b == 0 || (2..=36).contains(b) => *b as u32,
                        Some(_) => {
                            return Err(Fail::value_err("int() base must be >= 2 and <= 36, or 0"))
                        }
                    };
                    parse_int(s, base)
                }
                (Some(v), None) => to_int(v),
                (Some(_), Some(_)) => Err(Fail::type_err(
                    "int() can't convert non-string with explicit base",
                )),
            }
        }
        Builtin::Float => {
            args.check("float", 0, 1, &[])?;
            match args.pos.first() {
                None => Ok(Value::Float(0.0)),
                Some(v) => to_float(v).map(Value::Float),
            }
        }
        Builtin::Str => {
            args.check("str", 0, 1, &[])?;
            let s = args.pos.first().map(Value::py_str).unwrap_or_default();
            if s.len() > MAX_STRING_LENGTH {
                return Err(Fail::other(
                    "Sorry, I will not evaluate something this long.",
                ));
            }
            Ok(Value::Str(Rc::from(s)))
        }
        Builtin::Bool => {
            args.check("bool", 0, 1, &[])?;
            Ok(Value::Bool(args.pos.first().is_some_and(Value::is_truthy)))
        }
        Builtin::Len => {
            let v = one(args, "len")?;
            let n = match v {
                Value::Str(s) => s.chars().count(),
                Value::List(l) | Value::Tuple(l) => l.len(),
                Value::Dict(d) => d.len(),
                Value::Object(o) => match &o.kind {
                    crate::value::ObjKind::Set(s) => s.len(),
                    _ => {
                        return Err(Fail::type_err(format!(
                            "object of type '{}' has no len()",
                            v.type_name()
                        )))
                    }
                },
                _ => {
                    return Err(Fail::type_err(format!(
                        "object of type '{}' has no len()",
                        v.type_name()
                    )))
                }
            };
            Ok(Value::Int(n as i64))
        }
        Builtin::List => {
            args.check("list", 0, 1, &[])?;
            Ok(Value::list(match args.pos.first() {
                Some(v) => iterate(v)?.into_vec(),
                None => Vec::new(),
            }))
        }
        Builtin::Tuple => {
            args.check("tuple", 0, 1, &[])?;
            Ok(Value::Tuple(Rc::new(match args.pos.first() {
                Some(v) => iterate(v)?.into_vec(),
                None => Vec::new(),
            })))
        }
        Builtin::Set => {
            args.check("set", 0, 1, &[])?;
            match args.pos.first() {
                Some(v) => make_set(iterate(v)?.into_vec().into_iter()),
                None => make_set(std::iter::empty()),
            }
        }
        Builtin::Dict => {
            if args.pos.len() > 1 {
                return Err(Fail::type_err(format!(
                    "dict expected at most 1 argument, got {}",
                    args.pos.len()
                )));
            }
            make_dict(args.pos.first(), &args.kw)
        }
        Builtin::Abs => match Num::of(one(args, "abs")?) {
            Some(Num::Int(i)) => i
                .checked_abs()
                .map(Value::Int)
                .ok_or_else(|| Fail::other("integer too large")),
            Some(Num::Float(f)) => Ok(Value::Float(f.abs())),
            Some(Num::Dec(d)) => Ok(Value::Decimal(d.abs())),
            None => Err(Fail::type_err(format!(
                "bad operand type for abs(): '{}'",
                args.pos[0].type_name()
            ))),
        },
        Builtin::Min | Builtin::Max => min_max(b, args),
        Builtin::Round => round(args),
        Builtin::Sum => {
            args.check("sum", 1, 2, &["start"])?;
            let mut acc = args.get(1, "start").cloned().unwrap_or(Value::Int(0));
            if let Value::Str(_) = acc {
                return Err(Fail::type_err(
                    "sum() can't sum strings [use ''.join(seq) instead]",
                ));
            }
            for v in iterate(&args.pos[0])?.iter() {
                acc = ops::binary(crate::ast::BinOp::Add, &acc, v)?;
            }
            Ok(acc)
        }
        Builtin::Sorted => {
            args.check("sorted", 1, 1, &["reverse", "key"])?;
            let items = iterate(&args.pos[0])?.into_vec();
            let keys = match args.kw("key") {
                Some(Value::None) | None => items.clone(),
                Some(f) => items
                    .iter()
                    .map(|v| crate::call::call_value(f, Args::positional(vec![v.clone()])))
                    .collect::<FResult<Vec<_>>>()?,
            };
            let mut idx: Vec<usize> = (0..items.len()).collect();
            let mut err = None;
            idx.sort_by(|&a, &b| match py_cmp(&keys[a], &keys[b], "<") {
                Ok(o) => o.unwrap_or(Ordering::Equal),
                Err(e) => {
                    err.get_or_insert(e);
                    Ordering::Equal
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            if args.kw("reverse").is_some_and(Value::is_truthy) {
                // Python's reverse sort is stable too: reverse, stable-sort, reverse.
                idx.reverse();
                idx.sort_by(|&a, &b| {
                    py_cmp(&keys[b], &keys[a], "<")
                        .ok()
                        .flatten()
                        .unwrap_or(Ordering::Equal)
                });
            }
            Ok(Value::list(
                idx.into_iter().map(|i| items[i].clone()).collect(),
            ))
        }
        Builtin::Any => Ok(Value::Bool(
            iterate(one(args, "any")?)?.iter().any(Value::is_truthy),
        )),
        Builtin::All => Ok(Value::Bool(
            iterate(one(args, "all")?)?.iter().all(Value::is_truthy),
        )),
        Builtin::Range => {
            args.check("range", 1, 3, &[])?;
            let ints = args
                .pos
                .iter()
                .map(|v| match v {
                    Value::Int(i) => Ok(*i),
                    Value::Bool(b) => Ok(*b as i64),
                    _ => Err(Fail::type_err(format!(
                        "'{}' object cannot be interpreted as an integer",
                        v.type_name()
                    ))),
                })
                .collect::<FResult<Vec<i64>>>()?;
            let (start, stop, step) = match ints[..] {
                [stop] => (0, stop, 1),
                [start, stop] => (start, stop, 1),
                [start, stop, step] => (start, stop, step),
                _ => (0, 0, 1),
            };
            if step == 0 {
                return Err(Fail::value_err("range() arg 3 must not be zero"));
            }
            let len = if step > 0 {
                (stop as i128 - start as i128).max(0) / step as i128
            } else {
                (start as i128 - stop as i128).max(0) / -(step as i128)
            };
            if len > MAX_RANGE as i128 {
                return Err(Fail::other(
                    "Sorry, I will not evaluate something that long.",
                ));
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i < stop) || (step < 0 && i > stop) {
                out.push(Value::Int(i));
                match i.checked_add(step) {
                    Some(n) => i = n,
                    None => break,
                }
            }
            Ok(Value::list(out))
        }
        Builtin::Md5 | Builtin::Sha256 => {
            let fname = if b == Builtin::Md5 { "md5" } else { "sha256" };
            let v = one(args, fname)?;
            let Value::Str(s) = v else {
                return Err(Fail::other(format!(
                    "'{}' object has no attribute 'encode'",
                    v.type_name()
                )));
            };
            let hex = if b == Builtin::Md5 {
                hex_lower(&md5::Md5::digest(s.as_bytes()))
            } else {
                hex_lower(&sha2::Sha256::digest(s.as_bytes()))
            };
            Ok(Value::Str(Rc::from(hex)))
        }
        Builtin::Rand => {
            args.check("random", 0, 0, &[])?;
            Ok(Value::Float(random()))
        }
        Builtin::RandInt => {
            let top = to_float(one(args, "random_int")?)?;
            Ok(Value::Int((random() * top) as i64))
        }
        _ => Err(Fail::type_err(format!(
            "'{}' object is not callable",
            b.type_name()
        ))),
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15)
            | 1,
    );
}

/// A uniform float in [0, 1) (Python's `random.random`, not reproducible).
fn random() -> f64 {
    RNG.with(|c| {
        let mut x = c.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// `int(s, base)` with Python's syntax: surrounding whitespace, a sign, `_` between digits.
pub(crate) fn parse_int(s: &str, base: u32) -> FResult<Value> {
    let bad = || {
        Fail::value_err(format!(
            "invalid literal for int() with base {base}: {}",
            Value::str(s).py_repr()
        ))
    };
    let t = s.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (base, body) = {
        let lower = body.get(..2).map(str::to_ascii_lowercase);
        match (base, lower.as_deref()) {
            (16 | 0, Some("0x")) => (16, &body[2..]),
            (8 | 0, Some("0o")) => (8, &body[2..]),
            (2 | 0, Some("0b")) => (2, &body[2..]),
            (0, _) => (10, body),
            (b, _) => (b, body),
        }
    };
    let body = body
        .strip_prefix('_')
        .filter(|_| base != 10)
        .unwrap_or(body);
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return Err(bad());
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    if !digits.chars().all(|c| c.is_digit(base)) {
        return Err(bad());
    }
    let mut text = String::with_capacity(digits.len() + 1);
    if neg {
        text.push('-');
    }
    text.push_str(&digits);
    i64::from_str_radix(&text, base)
        .map(Value::Int)
        .map_err(|_| Fail::other("integer too large"))
}

/// `int(x)` for non-strings.
pub(crate) fn to_int(v: &Value) -> FResult<Value> {
    match v {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Float(f) => {
            if f.is_nan() {
                Err(Fail::value_err("cannot convert float NaN to integer"))
            } else if f.is_infinite() {
                Err(Fail::other("cannot convert float infinity to integer"))
            } else if f.abs() >= 9.223_372_036_854_776e18 {
                Err(Fail::other("integer too large"))
            } else {
                Ok(Value::Int(f.trunc() as i64))
            }
        }
        Value::Decimal(d) => d
            .trunc()
            .to_i64()
            .map(Value::Int)
            .ok_or_else(|| Fail::other("integer too large")),
        Value::Str(s) => parse_int(s, 10),
        _ => Err(Fail::type_err(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            v.type_name()
        ))),
    }
}

/// `float(x)`.
pub(crate) fn to_float(v: &Value) -> FResult<f64> {
    match v {
        Value::Str(s) => {
            let t = s.trim();
            let lower = t.to_ascii_lowercase();
            let unsigned = lower.trim_start_matches(['+', '-']);
            let neg = lower.starts_with('-');
            let special = match unsigned {
                "nan" => Some(f64::NAN),
                "inf" | "infinity" => Some(f64::INFINITY),
                _ => None,
            };
            if let Some(f) = special {
                if lower.len() - unsigned.len() <= 1 {
                    return Ok(if neg { -f } else { f });
                }
            }
            let ok_underscores = !t.contains("__") && !t.starts_with('_') && !t.ends_with('_');
            let clean: String = t.chars().filter(|c| *c != '_').collect();
            let valid = ok_underscores
                && !clean.is_empty()
                && clean
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                && clean.chars().any(|c| c.is_ascii_digit());
            match clean.parse::<f64>() {
                Ok(f) if valid => Ok(f),
                _ => Err(Fail::value_err(format!(
                    "could not convert string to float: {}",
                    Value::str(s).py_repr()
                ))),
            }
        }
        _ => match Num::of(v) {
            Some(n) => Ok(n.to_f64()),
            None => Err(Fail::type_err(format!(
                "float() argument must be a string or a real number, not '{}'",
                v.type_name()
            ))),
        },
    }
}

fn min_max(b: Builtin, args: &Args) -> FResult<Value> {
    let fname = if b == Builtin::Min { "min" } else { "max" };
    args.check(fname, 1, usize::MAX, &["default", "key"])?;
    let items = if args.pos.len() == 1 {
        iterate(&args.pos[0])?.into_vec()
    } else {
        args.pos.clone()
    };
    let key = args.kw("key").filter(|k| !matches!(k, Value::None));
    let mut best: Option<(Value, Value)> = None;
    for v in items {
        let k = match key {
            Some(f) => crate::call::call_value(f, Args::positional(vec![v.clone()]))?,
            None => v.clone(),
        };
        let better = match &best {
            None => true,
            Some((bk, _)) => {
                let o = py_cmp(&k, bk, if b == Builtin::Min { "<" } else { ">" })?;
                if b == Builtin::Min {
                    o == Some(Ordering::Less)
                } else {
                    o == Some(Ordering::Greater)
                }
            }
        };
        if better {
            best = Some((k, v));
        }
    }
    match (best, args.kw("default")) {
        (Some((_, v)), _) => Ok(v),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(Fail::value_err(format!(
            "{fname}() arg is an empty sequence"
        ))),
    }
}

fn round(args: &Args) -> FResult<Value> {
    args.check("round", 1, 2, &["ndigits"])?;
    let nd = match args.get(1, "ndigits") {
        None | Some(Value::None) => None,
        Some(Value::Int(n)) => Some(*n),
        Some(v) => {
            return Err(Fail::type_err(format!(
                "'{}' object cannot be interpreted as an integer",
                v.type_name()
            )))
        }
    };
    match (Num::of(&args.pos[0]), nd) {
        (Some(Num::Int(i)), None) => Ok(Value::Int(i)),
        (Some(Num::Int(i)), Some(n)) if n >= 0 => Ok(Value::Int(i)),
        (Some(Num::Int(i)), Some(n)) => {
            let p = 10f64.powi((-n).min(300) as i32);
            Ok(Value::Int(((i as f64 / p).round_ties_even() * p) as i64))
        }
        (Some(Num::Float(f)), None) => to_int(&Value::Float(f.round_ties_even())),
        (Some(Num::Float(f)), Some(n)) => {
            if !f.is_finite() {
                return Ok(Value::Float(f));
            }
            // Round the exact binary value, as Python does (round(2.675, 2) == 2.67).
            let r = match Decimal::from_f64_retain(f) {
                Some(d) if (0..=28).contains(&n) => d
                    .round_dp_with_strategy(n as u32, RoundingStrategy::MidpointNearestEven)
                    .to_f64()
                    .unwrap_or(f),
                _ => {
                    let p = 10f64.powi(n.clamp(-308, 308) as i32);
                    (f * p).round_ties_even() / p
                }
            };
            Ok(Value::Float(r))
        }
        (Some(Num::Dec(d)), None) => to_int(&Value::Decimal(
            d.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven),
        )),
        (Some(Num::Dec(d)), Some(n)) if n >= 0 => {
            let r =
                d.round_dp_with_strategy(n.min(28) as u32, RoundingStrategy::MidpointNearestEven);
            let mut r = r;
            r.rescale(n.min(28) as u32);
            Ok(Value::Decimal(r))
        }
        (Some(Num::Dec(d)), Some(_)) => Ok(Value::Decimal(d)),
        (None, _) => Err(Fail::type_err(format!(
            "type {} doesn't define __round__ method",
            args.pos[0].type_name()
        ))),
    }
}

/// Lower-case hex of a digest, as Python's `hexdigest()` (byte table: this runs per record).
fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text
}
