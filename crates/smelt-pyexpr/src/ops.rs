//! Python's operators on values: arithmetic with int/float/Decimal promotion, sequence
//! concatenation, comparisons and membership, with simpleeval's size limits.
//!
//! Python ints are unbounded; here they are i64 and an overflowing result is the error
//! "integer too large" rather than a big integer.

use std::cmp::Ordering;
use std::rc::Rc;

use chrono::TimeDelta;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, MathematicalOps};

use crate::ast::{BinOp, CmpOp, UnOp};
use crate::error::{FResult, Fail};
use crate::value::{DateTimeValue, Dict, Key, Num, ObjKind, Value};

/// simpleeval's MAX_STRING_LENGTH.
pub(crate) const MAX_STRING_LENGTH: usize = 100_000;
/// simpleeval's MAX_POWER.
const MAX_POWER: i64 = 4_000_000;

fn too_large() -> Fail {
    Fail::other("integer too large (Python ints are unbounded; this engine stops at 64 bits)")
}

fn unsupported(op: BinOp, a: &Value, b: &Value) -> Fail {
    Fail::type_err(format!(
        "unsupported operand type(s) for {}: '{}' and '{}'",
        op.symbol(),
        a.type_name(),
        b.type_name()
    ))
}

pub(crate) fn timedelta_of(v: &Value) -> Option<TimeDelta> {
    match v {
        Value::Object(o) => match &o.kind {
            ObjKind::Timedelta(t) => Some(*t),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn td(t: TimeDelta) -> Value {
    Value::obj(ObjKind::Timedelta(t))
}

/// `a op b`.
pub(crate) fn binary(op: BinOp, a: &Value, b: &Value) -> FResult<Value> {
    if let (Some(x), Some(y)) = (Num::of(a), Num::of(b)) {
        if matches!(
            op,
            BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::Shl | BinOp::Shr
        ) {
            return bitwise(op, a, b, x, y);
        }
        return numeric(op, x, y).map_err(|f| {
            if f.message.is_empty() {
                unsupported(op, a, b)
            } else {
                f
            }
        });
    }
    match (op, a, b) {
        (BinOp::Add, Value::Str(x), Value::Str(y)) => {
            if x.len() + y.len() > MAX_STRING_LENGTH {
                return Err(Fail::other(
                    "Sorry, adding those two together would make something too long.",
                ));
            }
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Ok(Value::Str(Rc::from(s)))
        }
        (BinOp::Add, Value::List(x), Value::List(y)) => {
            Ok(Value::list(x.iter().chain(y.iter()).cloned().collect()))
        }
        (BinOp::Add, Value::Tuple(x), Value::Tuple(y)) => Ok(Value::Tuple(Rc::new(
            x.iter().chain(y.iter()).cloned().collect(),
        ))),
        (BinOp::Add, Value::Str(_), _) => Err(Fail::type_err(format!(
            "can only concatenate str (not \"{}\") to str",
            b.type_name()
        ))),
        (BinOp::Add, Value::List(_), _) => Err(Fail::type_err(format!(
            "can only concatenate list (not \"{}\") to list",
            b.type_name()
        ))),
        (
            BinOp::Mul,
            Value::Str(_) | Value::List(_) | Value::Tuple(_),
            Value::Int(_) | Value::Bool(_),
        ) => repeat(a, b),
        (
            BinOp::Mul,
            Value::Int(_) | Value::Bool(_),
            Value::Str(_) | Value::List(_) | Value::Tuple(_),
        ) => repeat(b, a),
        (BinOp::Mod, Value::Str(t), _) => {
            let s = crate::format::percent(t, b)?;
            if s.len() > MAX_STRING_LENGTH {
                return Err(Fail::other(
                    "Sorry, I will not evaluate something this long.",
                ));
            }
            Ok(Value::Str(Rc::from(s)))
        }
        (BinOp::BitOr, Value::Dict(x), Value::Dict(y)) => {
            let mut d: Dict = (**x).clone();
            for (k, v) in y.map.iter() {
                d.map.insert(k.clone(), v.clone());
            }
            Ok(Value::Dict(Rc::new(d)))
        }
        (BinOp::Add | BinOp::Sub, Value::DateTime(d), _) if timedelta_of(b).is_some() => {
            let t = timedelta_of(b).unwrap_or_default();
            let t = if op == BinOp::Sub { -t } else { t };
            let naive = d
                .naive
                .checked_add_signed(t)
                .ok_or_else(|| Fail::other("date value out of range"))?;
            Ok(Value::DateTime(DateTimeValue {
                naive,
                offset: d.offset,
            }))
        }
        (BinOp::Add, _, Value::DateTime(_) | Value::Date(_)) if timedelta_of(a).is_some() => {
            binary(op, b, a)
        }
        (BinOp::Add | BinOp::Sub, Value::Date(d), _) if timedelta_of(b).is_some() => {
            let t = timedelta_of(b).unwrap_or_default();
            let days = TimeDelta::days(t.num_days());
            let days = if op == BinOp::Sub { -days } else { days };
            d.checked_add_signed(days)
                .map(Value::Date)
                .ok_or_else(|| Fail::other("date value out of range"))
        }
        (BinOp::Sub, Value::DateTime(x), Value::DateTime(y)) => match (x.offset, y.offset) {
            (None, None) => Ok(td(x.naive - y.naive)),
            (Some(_), Some(_)) => Ok(td(x.utc_naive() - y.utc_naive())),
            _ => Err(Fail::type_err(
                "can't subtract offset-naive and offset-aware datetimes",
            )),
        },
        (BinOp::Sub, Value::Date(x), Value::Date(y)) => Ok(td(*x - *y)),
        (_, Value::Object(_), _) | (_, _, Value::Object(_)) => object_binary(op, a, b),
        _ => Err(unsupported(op, a, b)),
    }
}

fn object_binary(op: BinOp, a: &Value, b: &Value) -> FResult<Value> {
    if let (Some(x), Some(y)) = (timedelta_of(a), timedelta_of(b)) {
        return match op {
            BinOp::Add => Ok(td(x + y)),
            BinOp::Sub => Ok(td(x - y)),
            BinOp::Div => {
                let (p, q) = (x.num_microseconds(), y.num_microseconds());
                match (p, q) {
                    (Some(p), Some(q)) if q != 0 => Ok(Value::Float(p as f64 / q as f64)),
                    _ => Err(Fail::value_err("division by zero")),
                }
            }
            _ => Err(unsupported(op, a, b)),
        };
    }
    if let (Some(x), Value::Int(n)) = (timedelta_of(a), b) {
        if op == BinOp::Mul {
            return i32::try_from(*n)
                .ok()
                .and_then(|n| x.checked_mul(n))
                .map(td)
                .ok_or_else(too_large);
        }
    }
    if let (Value::Int(_), Some(_)) = (a, timedelta_of(b)) {
        if op == BinOp::Mul {
            return object_binary(op, b, a);
        }
    }
    if let (Value::Object(x), Value::Object(y)) = (a, b) {
        if let (ObjKind::Set(x), ObjKind::Set(y)) = (&x.kind, &y.kind) {
            let s: indexmap::IndexSet<Key> = match op {
                BinOp::BitOr => x.union(y).cloned().collect(),
                BinOp::BitAnd => x.intersection(y).cloned().collect(),
                BinOp::Sub => x.difference(y).cloned().collect(),
                BinOp::BitXor => x.symmetric_difference(y).cloned().collect(),
                _ => return Err(unsupported(op, a, b)),
            };
            return Ok(Value::obj(ObjKind::Set(s)));
        }
    }
    Err(unsupported(op, a, b))
}

fn repeat(seq: &Value, n: &Value) -> FResult<Value> {
    let n = match n {
        Value::Int(i) => *i,
        Value::Bool(b) => *b as i64,
        _ => 0,
    };
    let n = n.max(0) as usize;
    let len = match seq {
        Value::Str(s) => s.len(),
        Value::List(l) | Value::Tuple(l) => l.len(),
        _ => 0,
    };
    if len.saturating_mul(n) > MAX_STRING_LENGTH {
        return Err(Fail::other(
            "Sorry, I will not evaluate something that long.",
        ));
    }
    Ok(match seq {
        Value::Str(s) => Value::str(&s.repeat(n)),
        Value::List(l) => Value::list(l.iter().cloned().cycle().take(l.len() * n).collect()),
        Value::Tuple(l) => Value::Tuple(Rc::new(
            l.iter().cloned().cycle().take(l.len() * n).collect(),
        )),
        _ => Value::None,
    })
}

fn bitwise(op: BinOp, a: &Value, b: &Value, x: Num, y: Num) -> FResult<Value> {
    let (Num::Int(x), Num::Int(y)) = (x, y) else {
        return Err(unsupported(op, a, b));
    };
    let r = match op {
        BinOp::BitAnd => x & y,
        BinOp::BitOr => x | y,
        BinOp::BitXor => x ^ y,
        BinOp::Shl | BinOp::Shr if y < 0 => return Err(Fail::value_err("negative shift count")),
        BinOp::Shl => {
            if y > 10_000 {
                return Err(Fail::other(format!(
                    "Sorry! I don't want to evaluate {x} << {y}"
                )));
            }
            if y >= 63 || x.checked_shl(y as u32).map(|r| r >> y) != Some(x) {
                return Err(too_large());
            }
            x << y
        }
        _ => {
            if y > 10_000 {
                return Err(Fail::other(format!(
                    "Sorry! I don't want to evaluate {x} >> {y}"
                )));
            }
            x >> y.min(63)
        }
    };
    if matches!((a, b), (Value::Bool(_), Value::Bool(_)))
        && matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor)
    {
        return Ok(Value::Bool(r != 0));
    }
    Ok(Value::Int(r))
}

/// Arithmetic on numbers; an empty message means "unsupported operand types".
fn numeric(op: BinOp, x: Num, y: Num) -> FResult<Value> {
    match (x, y) {
        (Num::Int(a), Num::Int(b)) => int_op(op, a, b),
        (Num::Dec(_), Num::Float(_)) | (Num::Float(_), Num::Dec(_)) => Err(Fail::type_err("")),
        (Num::Dec(a), _) | (_, Num::Dec(a))
            if matches!((x, y), (Num::Dec(_), _) | (_, Num::Dec(_))) =>
        {
            let _ = a;
            let to_dec = |n: Num| match n {
                Num::Int(i) => Decimal::from(i),
                Num::Dec(d) => d,
                Num::Float(_) => Decimal::ZERO,
            };
            dec_op(op, to_dec(x), to_dec(y))
        }
        _ => float_op(op, x.to_f64(), y.to_f64()),
    }
}

fn int_op(op: BinOp, a: i64, b: i64) -> FResult<Value> {
    let r = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div => {
            if b == 0 {
                return Err(Fail::value_err("division by zero"));
            }
            return Ok(Value::Float(a as f64 / b as f64));
        }
        BinOp::FloorDiv | BinOp::Mod => {
            if b == 0 {
                return Err(Fail::value_err(if op == BinOp::Mod {
                    "integer modulo by zero"
                } else {
                    "integer division or modulo by zero"
                }));
            }
            let q = a.checked_div_euclid(b).ok_or_else(too_large)?;
            let r = a.rem_euclid(b);
            // Python floors toward negative infinity: the remainder takes the divisor's sign.
            let (q, r) = if r != 0 && b < 0 {
                (q + 1, r + b)
            } else {
                (q, r)
            };
            Some(if op == BinOp::Mod { r } else { q })
        }
        BinOp::Pow => {
            if a.unsigned_abs() > MAX_POWER as u64 || b.unsigned_abs() > MAX_POWER as u64 {
                return Err(Fail::other(format!(
                    "Sorry! I don't want to evaluate {a} ** {b}"
                )));
            }
            if b < 0 {
                if a == 0 {
                    return Err(Fail::value_err("0.0 cannot be raised to a negative power"));
                }
                return Ok(Value::Float((a as f64).powf(b as f64)));
            }
            u32::try_from(b).ok().and_then(|b| a.checked_pow(b))
        }
        _ => return Err(Fail::type_err("")),
    };
    r.map(Value::Int).ok_or_else(too_large)
}

fn float_op(op: BinOp, a: f64, b: f64) -> FResult<Value> {
    let r = match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => {
            if b == 0.0 {
                return Err(Fail::value_err("float division by zero"));
            }
            a / b
        }
        BinOp::FloorDiv => {
            if b == 0.0 {
                return Err(Fail::value_err("float floor division by zero"));
            }
            (a / b).floor()
        }
        BinOp::Mod => {
            if b == 0.0 {
                return Err(Fail::value_err("float modulo"));
            }
            let m = a % b;
            if m != 0.0 && (m < 0.0) != (b < 0.0) {
                m + b
            } else {
                m
            }
        }
        BinOp::Pow => {
            if a.abs() > MAX_POWER as f64 || b.abs() > MAX_POWER as f64 {
                return Err(Fail::other(format!(
                    "Sorry! I don't want to evaluate {} ** {}",
                    crate::float_fmt::py_float_repr(a),
                    crate::float_fmt::py_float_repr(b)
                )));
            }
            if a == 0.0 && b < 0.0 {
                return Err(Fail::value_err("0.0 cannot be raised to a negative power"));
            }
            if a < 0.0 && b.fract() != 0.0 {
                return Err(Fail::other("complex results are not supported"));
            }
            let r = a.powf(b);
            if r.is_infinite() && a.is_finite() {
                return Err(Fail::other("(34, 'Numerical result out of range')"));
            }
            r
        }
        _ => return Err(Fail::type_err("")),
    };
    Ok(Value::Float(r))
}

fn dec_op(op: BinOp, a: Decimal, b: Decimal) -> FResult<Value> {
    let overflow = || Fail::other("decimal result out of range");
    let r = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div | BinOp::FloorDiv | BinOp::Mod if b.is_zero() => {
            return Err(Fail::value_err("decimal division by zero"))
        }
        BinOp::Div => a.checked_div(b).map(|q| {
            // Python keeps the "ideal" exponent for exact quotients, else 28 significant digits.
            let ideal = (a.scale() as i64 - b.scale() as i64).max(0) as u32;
            let n = q.normalize();
            if n.scale() <= ideal {
                let mut n = n;
                n.rescale(ideal);
                n
            } else {
                context_round(q)
            }
        }),
        // Python's Decimal `//` truncates toward zero and `%` keeps the dividend's sign.
        BinOp::FloorDiv => a.checked_div(b).map(|d| d.trunc()),
        BinOp::Mod => a.checked_rem(b),
        BinOp::Pow => {
            if b.fract().is_zero() {
                let e = b.to_i64().ok_or_else(overflow)?;
                if e.unsigned_abs() > MAX_POWER as u64 {
                    return Err(Fail::other(format!(
                        "Sorry! I don't want to evaluate {a} ** {b}"
                    )));
                }
                a.checked_powi(e)
            } else {
                a.checked_powd(b)
            }
        }
        _ => return Err(Fail::type_err("")),
    };
    r.map(|d| Value::Decimal(zero_like_python(op, a, b, context_round(d))))
        .ok_or_else(overflow)
}

/// A zero result with the exponent and sign Python's `decimal` gives it (rust_decimal returns
/// a plain `0`): `0.0 * 2` is `0.0`, `-0.0 * 2` is `-0.0`, `0.000 / 4` is `0.000`, and a sum of
/// zeros keeps the finer scale. These show in `str()` and in the written number.
fn zero_like_python(op: BinOp, a: Decimal, b: Decimal, d: Decimal) -> Decimal {
    if !d.is_zero() {
        return d;
    }
    let (sa, sb) = (a.scale(), b.scale());
    let (na, nb) = (a.is_sign_negative(), b.is_sign_negative());
    let (scale, negative) = match op {
        BinOp::Add => (sa.max(sb), a.is_zero() && b.is_zero() && na && nb),
        BinOp::Sub => (sa.max(sb), a.is_zero() && b.is_zero() && na && !nb),
        BinOp::Mul => ((sa + sb).min(28), na != nb),
        BinOp::Div if a.is_zero() => (sa.saturating_sub(sb), na != nb),
        _ => return d,
    };
    let mut zero = Decimal::new(0, scale);
    zero.set_sign_negative(negative);
    zero
}

/// Rounds to Python's default decimal context: 28 significant digits, half-even.
fn context_round(d: Decimal) -> Decimal {
    let mut digits = 0u32;
    let mut m = d.mantissa().unsigned_abs();
    while m > 0 {
        digits += 1;
        m /= 10;
    }
    if digits <= 28 || d.scale() == 0 {
        return d;
    }
    let excess = (digits - 28).min(d.scale());
    d.round_dp_with_strategy(
        d.scale() - excess,
        rust_decimal::RoundingStrategy::MidpointNearestEven,
    )
}

/// `op a`.
pub(crate) fn unary(op: UnOp, a: &Value) -> FResult<Value> {
    let bad = |sym: &str| {
        Fail::type_err(format!(
            "bad operand type for unary {sym}: '{}'",
            a.type_name()
        ))
    };
    match op {
        UnOp::Not => Ok(Value::Bool(!a.is_truthy())),
        UnOp::Neg => match Num::of(a) {
            Some(Num::Int(i)) => i.checked_neg().map(Value::Int).ok_or_else(too_large),
            Some(Num::Float(f)) => Ok(Value::Float(-f)),
            // Python: `-Decimal('0.0')` and `-Decimal('-0.0')` are both `Decimal('0.0')`.
            Some(Num::Dec(d)) if d.is_zero() => Ok(Value::Decimal(d.abs())),
            Some(Num::Dec(d)) => Ok(Value::Decimal(-d)),
            None => timedelta_of(a).map(|t| td(-t)).ok_or_else(|| bad("-")),
        },
        UnOp::Pos => match Num::of(a) {
            Some(Num::Int(i)) => Ok(Value::Int(i)),
            Some(_) => Ok(a.clone()),
            None => timedelta_of(a).map(td).ok_or_else(|| bad("+")),
        },
        UnOp::Invert => match a {
            Value::Int(i) => Ok(Value::Int(!i)),
            Value::Bool(b) => Ok(Value::Int(!(*b as i64))),
            _ => Err(bad("~")),
        },
    }
}

/// Python ordering for `<`, sorting, min and max; TypeError across incompatible types.
pub(crate) fn py_cmp(a: &Value, b: &Value, sym: &str) -> FResult<Option<Ordering>> {
    if let (Some(x), Some(y)) = (Num::of(a), Num::of(b)) {
        return Ok(x.cmp(y));
    }
    let err = || {
        Fail::type_err(format!(
            "'{sym}' not supported between instances of '{}' and '{}'",
            a.type_name(),
            b.type_name()
        ))
    };
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(Some(x.cmp(y))),
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                if !p.py_eq(q) {
                    return py_cmp(p, q, sym);
                }
            }
            Ok(Some(x.len().cmp(&y.len())))
        }
        (Value::Date(x), Value::Date(y)) => Ok(Some(x.cmp(y))),
        (Value::DateTime(x), Value::DateTime(y)) => match (x.offset, y.offset) {
            (None, None) => Ok(Some(x.naive.cmp(&y.naive))),
            (Some(_), Some(_)) => Ok(Some(x.utc_naive().cmp(&y.utc_naive()))),
            _ => Err(Fail::type_err(
                "can't compare offset-naive and offset-aware datetimes",
            )),
        },
        _ => match (timedelta_of(a), timedelta_of(b)) {
            (Some(x), Some(y)) => Ok(Some(x.cmp(&y))),
            _ => Err(err()),
        },
    }
}

/// `item in container`.
pub(crate) fn contains(container: &Value, item: &Value) -> FResult<bool> {
    match container {
        Value::Str(s) => match item {
            Value::Str(i) => Ok(s.contains(&**i)),
            _ => Err(Fail::type_err(format!(
                "'in <string>' requires string as left operand, not {}",
                item.type_name()
            ))),
        },
        Value::List(l) | Value::Tuple(l) => Ok(l.iter().any(|x| x.py_eq(item))),
        Value::Dict(d) => {
            if !item.is_hashable() {
                return Err(Fail::type_err(format!(
                    "unhashable type: '{}'",
                    item.type_name()
                )));
            }
            Ok(d.get(item).is_some())
        }
        Value::Object(o) => match &o.kind {
            ObjKind::Set(s) => Ok(item.is_hashable() && s.contains(&Key(item.clone()))),
            _ => Err(Fail::type_err(format!(
                "argument of type '{}' is not iterable",
                container.type_name()
            ))),
        },
        _ => Err(Fail::type_err(format!(
            "argument of type '{}' is not iterable",
            container.type_name()
        ))),
    }
}

/// `a is b`: identity, approximated as value identity for None/bools/ints and pointer
/// identity for shared objects.
fn is(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => Rc::ptr_eq(x, y) || x == y,
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => Rc::ptr_eq(x, y),
        (Value::Dict(x), Value::Dict(y)) => Rc::ptr_eq(x, y),
        (Value::Object(x), Value::Object(y)) => {
            Rc::ptr_eq(x, y)
                || matches!((&x.kind, &y.kind), (ObjKind::Builtin(p), ObjKind::Builtin(q)) if p == q)
        }
        _ => false,
    }
}

/// One comparison `a op b`.
pub(crate) fn compare(op: CmpOp, a: &Value, b: &Value) -> FResult<bool> {
    let ord = |sym| py_cmp(a, b, sym);
    Ok(match op {
        CmpOp::Eq => a.py_eq(b),
        CmpOp::Ne => !a.py_eq(b),
        CmpOp::Lt => ord("<")? == Some(Ordering::Less),
        CmpOp::Le => matches!(ord("<=")?, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord(">")? == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord(">=")?, Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::In => contains(b, a)?,
        CmpOp::NotIn => !contains(b, a)?,
        CmpOp::Is => is(a, b),
        CmpOp::IsNot => !is(a, b),
    })
}

#[cfg(test)]
mod zero_tests {
    use crate::{parse_json, Dict, Expr, Value};

    /// Each expected text is what CPython's `decimal` gives (`str()` of the result).
    #[test]
    fn decimal_zeros_keep_python_exponent_and_sign() {
        let record = parse_json(r#"{"z1":0.0,"zn":-0.0,"z3":0.000,"x":1.5,"t":0.10}"#).unwrap();
        let Value::Dict(record) = record else {
            panic!()
        };
        let names: &Dict = &record;
        for (expr, expected) in [
            ("str(z1 * 2)", "0.0"),
            ("str(zn * 2)", "-0.0"),
            ("str(z3 * 3)", "0.000"),
            ("str(-z1)", "0.0"),
            ("str(-zn)", "0.0"),
            ("str(zn / 4)", "-0.0"),
            ("str(z3 / 2)", "0.000"),
            ("str(z1 + 0)", "0.0"),
            ("str(x - x)", "0.0"),
            ("str(t * z1)", "0.000"),
        ] {
            let got = Expr::parse(expr).unwrap().eval(names).unwrap();
            assert_eq!(got.py_str(), expected, "{expr}");
        }
    }
}
