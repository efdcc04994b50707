//! The values an expression computes with, shaped after Python's objects so that results print,
//! compare and serialize the way the Singer SDK's Python mapper would produce them.

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeDelta};
use indexmap::{IndexMap, IndexSet};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::builtins::Builtin;
use crate::faker::FakerState;

/// A Python value as a stream-map expression sees it.
#[derive(Clone, Debug)]
pub enum Value {
    /// Python `None` (JSON `null`).
    None,
    /// Python `bool`.
    Bool(bool),
    /// Python `int` within i64; arithmetic beyond it is an "integer too large" error.
    Int(i64),
    /// Python `float`.
    Float(f64),
    /// A JSON non-integer number (the SDK reads them as Python Decimal), kept with its scale so it
    /// is written back as written ("3.140" stays "3.140").
    Decimal(Decimal),
    /// Python `str`.
    Str(Rc<str>),
    /// Python `list` (JSON array).
    List(Rc<Vec<Value>>),
    /// Python `tuple` (written to JSON as an array).
    Tuple(Rc<Vec<Value>>),
    /// Python `dict` (JSON object), insertion-ordered.
    Dict(Rc<Dict>),
    /// `datetime.date`.
    Date(NaiveDate),
    /// `datetime.datetime`, naive or with a fixed UTC offset.
    DateTime(DateTimeValue),
    /// Anything else an expression can hold: builtin functions, modules, bound methods, sets,
    /// timedeltas, the faker object. Opaque to users of the crate.
    Object(Rc<Object>),
}

/// A `datetime.datetime`: wall-clock time plus an optional fixed offset (`tzinfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTimeValue {
    /// The local (wall-clock) date and time.
    pub naive: NaiveDateTime,
    /// The UTC offset, `None` for a naive datetime.
    pub offset: Option<FixedOffset>,
}

impl DateTimeValue {
    /// The instant in UTC, treating a naive value as UTC (used for ordering aware values).
    pub(crate) fn utc_naive(&self) -> NaiveDateTime {
        match self.offset {
            Some(o) => {
                let shift = TimeDelta::seconds(o.local_minus_utc() as i64);
                self.naive.checked_sub_signed(shift).unwrap_or(self.naive)
            }
            None => self.naive,
        }
    }
}

/// An opaque Python object (function, module, method, set, timedelta, faker...).
#[derive(Debug)]
pub struct Object {
    pub(crate) kind: ObjKind,
}

/// What an [`Object`] is; private to the crate so the set of kinds can grow.
#[derive(Debug)]
pub(crate) enum ObjKind {
    Builtin(Builtin),
    /// A method bound to its receiver, e.g. `'a'.upper` (calls go straight to the method).
    Method(Value, Rc<str>),
    Set(IndexSet<Key>),
    Timedelta(TimeDelta),
    Timezone(FixedOffset),
    Faker(RefCell<FakerState>),
}

impl Value {
    /// A `str` value from a Rust string.
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    pub(crate) fn obj(kind: ObjKind) -> Value {
        Value::Object(Rc::new(Object { kind }))
    }

    pub(crate) fn list(v: Vec<Value>) -> Value {
        Value::List(Rc::new(v))
    }

    /// Python truthiness (`bool(x)`).
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Decimal(d) => !d.is_zero(),
            Value::Str(s) => !s.is_empty(),
            Value::List(l) | Value::Tuple(l) => !l.is_empty(),
            Value::Dict(d) => !d.is_empty(),
            Value::Date(_) | Value::DateTime(_) => true,
            Value::Object(o) => match &o.kind {
                ObjKind::Set(s) => !s.is_empty(),
                ObjKind::Timedelta(t) => !t.is_zero(),
                _ => true,
            },
        }
    }

    /// Python's type name, as error messages show it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Decimal(_) => "decimal.Decimal",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Date(_) => "datetime.date",
            Value::DateTime(_) => "datetime.datetime",
            Value::Object(o) => match &o.kind {
                ObjKind::Builtin(b) => b.type_name(),
                ObjKind::Method(..) => "builtin_function_or_method",
                ObjKind::Set(_) => "set",
                ObjKind::Timedelta(_) => "datetime.timedelta",
                ObjKind::Timezone(_) => "datetime.timezone",
                ObjKind::Faker(_) => "Faker",
            },
        }
    }

    /// Python `str(x)`.
    pub fn py_str(&self) -> String {
        crate::repr::py_str(self)
    }

    /// Python `repr(x)`.
    pub fn py_repr(&self) -> String {
        crate::repr::py_repr(self)
    }

    /// Python `==`: numbers compare by value across int/float/Decimal/bool, other kinds by
    /// content; different kinds are simply unequal.
    pub fn py_eq(&self, other: &Value) -> bool {
        use Value as V;
        if let (Some(a), Some(b)) = (Num::of(self), Num::of(other)) {
            return a.eq(b);
        }
        match (self, other) {
            (V::None, V::None) => true,
            (V::Str(a), V::Str(b)) => a == b,
            (V::List(a), V::List(b)) | (V::Tuple(a), V::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.py_eq(y))
            }
            (V::Dict(a), V::Dict(b)) => {
                a.len() == b.len()
                    && a.map
                        .iter()
                        .all(|(k, v)| b.map.get(k).is_some_and(|w| v.py_eq(w)))
            }
            (V::Date(a), V::Date(b)) => a == b,
            (V::DateTime(a), V::DateTime(b)) => match (a.offset, b.offset) {
                (None, None) => a.naive == b.naive,
                (Some(_), Some(_)) => a.utc_naive() == b.utc_naive(),
                _ => false,
            },
            (V::Object(a), V::Object(b)) => match (&a.kind, &b.kind) {
                (ObjKind::Set(x), ObjKind::Set(y)) => {
                    x.len() == y.len() && x.iter().all(|k| y.contains(k))
                }
                (ObjKind::Timedelta(x), ObjKind::Timedelta(y)) => x == y,
                (ObjKind::Timezone(x), ObjKind::Timezone(y)) => x == y,
                (ObjKind::Builtin(x), ObjKind::Builtin(y)) => x == y,
                _ => Rc::ptr_eq(a, b),
            },
            _ => false,
        }
    }

    /// Whether Python could use this value as a dict key or set member.
    pub(crate) fn is_hashable(&self) -> bool {
        match self {
            Value::List(_) | Value::Dict(_) => false,
            Value::Tuple(t) => t.iter().all(Value::is_hashable),
            Value::Object(o) => !matches!(o.kind, ObjKind::Set(_)),
            _ => true,
        }
    }
}

/// A number seen through Python's numeric tower (bool is an int).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
    Dec(Decimal),
}

impl Num {
    pub(crate) fn of(v: &Value) -> Option<Num> {
        match v {
            Value::Bool(b) => Some(Num::Int(*b as i64)),
            Value::Int(i) => Some(Num::Int(*i)),
            Value::Float(f) => Some(Num::Float(*f)),
            Value::Decimal(d) => Some(Num::Dec(*d)),
            _ => None,
        }
    }

    pub(crate) fn to_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
            Num::Dec(d) => d.to_f64().unwrap_or(f64::NAN),
        }
    }

    /// Python's exact comparison between numbers (None when unordered, i.e. NaN).
    pub(crate) fn cmp(self, other: Num) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (Num::Dec(a), Num::Dec(b)) => Some(a.cmp(&b)),
            (Num::Int(a), Num::Dec(b)) => Some(Decimal::from(a).cmp(&b)),
            (Num::Dec(a), Num::Int(b)) => Some(a.cmp(&Decimal::from(b))),
            (Num::Int(a), Num::Float(b)) => int_float_cmp(a, b),
            (Num::Float(a), Num::Int(b)) => int_float_cmp(b, a).map(|o| o.reverse()),
            (Num::Dec(d), Num::Float(f)) => dec_float_cmp(d, f),
            (Num::Float(f), Num::Dec(d)) => dec_float_cmp(d, f).map(|o| o.reverse()),
            (a, b) => a.to_f64().partial_cmp(&b.to_f64()),
        }
    }

    pub(crate) fn eq(self, other: Num) -> bool {
        self.cmp(other) == Some(std::cmp::Ordering::Equal)
    }
}

/// Decimal against float by exact value, as Python does (`Decimal('3.14') != 3.14`).
fn dec_float_cmp(d: Decimal, f: f64) -> Option<std::cmp::Ordering> {
    let by_f64 = d.to_f64()?.partial_cmp(&f)?;
    if by_f64 != std::cmp::Ordering::Equal {
        return Some(by_f64);
    }
    match Decimal::from_f64_retain(f) {
        Some(exact) => Some(d.cmp(&exact)),
        None => Some(by_f64),
    }
}

fn int_float_cmp(a: i64, b: f64) -> Option<std::cmp::Ordering> {
    if b.is_nan() {
        return None;
    }
    if b.fract() == 0.0 && b.abs() < 9.2e18 {
        return Some(a.cmp(&(b as i64)));
    }
    (a as f64).partial_cmp(&b)
}

/// A dict key or set member: a hashable [`Value`] with Python's equality (`1 == 1.0 == True`).
#[derive(Clone, Debug)]
pub struct Key(pub(crate) Value);

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.0.py_eq(&other.0)
    }
}
impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(&self.0, state)
    }
}

fn hash_value<H: Hasher>(v: &Value, state: &mut H) {
    if let Some(n) = Num::of(v) {
        // Equal numbers must hash alike: integral values hash as integers.
        let f = n.to_f64();
        match n {
            Num::Int(i) => i.hash(state),
            Num::Dec(d) if d.fract().is_zero() => match d.to_i64() {
                Some(i) => i.hash(state),
                None => f.to_bits().hash(state),
            },
            _ if f.fract() == 0.0 && f.abs() < 9.2e18 => (f as i64).hash(state),
            _ => f.to_bits().hash(state),
        }
        return;
    }
    match v {
        Value::Str(s) => (**s).hash(state),
        Value::Tuple(t) => {
            state.write_u8(7);
            for x in t.iter() {
                hash_value(x, state);
            }
        }
        Value::Date(d) => d.hash(state),
        Value::DateTime(d) => d.utc_naive().hash(state),
        _ => state.write_u8(0),
    }
}

/// Looks up a `str` key without building a [`Value`]: hashes like `Value::Str`.
#[derive(Hash)]
struct StrKey<'a>(&'a str);

impl indexmap::Equivalent<Key> for StrKey<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        matches!(&key.0, Value::Str(s) if &**s == self.0)
    }
}

/// A fast non-cryptographic hasher (FxHash) for dict keys: records are small maps with short
/// keys, where SipHash dominated the parse time. Not DoS-resistant; input comes from taps.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64)
    }
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// The hasher builder of [`Dict`] and sets.
pub(crate) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// A Python dict: insertion-ordered, keys compared with Python equality.
#[derive(Clone, Debug, Default)]
pub struct Dict {
    pub(crate) map: IndexMap<Key, Value, FxBuild>,
}

impl Dict {
    /// An empty dict.
    pub fn new() -> Dict {
        Dict::default()
    }

    /// An empty dict with room for `n` entries (records have known sizes).
    pub fn with_capacity(n: usize) -> Dict {
        Dict {
            map: IndexMap::with_capacity_and_hasher(n, FxBuild::default()),
        }
    }

    /// The value under a string key, without allocating.
    pub fn get_str(&self, key: &str) -> Option<&Value> {
        self.map.get(&StrKey(key))
    }

    /// Whether a string key is present.
    pub fn contains_str(&self, key: &str) -> bool {
        self.map.contains_key(&StrKey(key))
    }

    /// Sets a string key: keeps its position if present, appends otherwise (Python dict).
    pub fn insert_str(&mut self, key: &str, value: Value) {
        if let Some(slot) = self.map.get_mut(&StrKey(key)) {
            *slot = value;
        } else {
            self.map.insert(Key(Value::str(key)), value);
        }
    }

    /// Python `pop`: removes a string key; later keys keep their order.
    pub fn remove_str(&mut self, key: &str) -> Option<Value> {
        self.map.shift_remove(&StrKey(key))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the dict has no entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entries in insertion order; keys as Values (JSON gives Str keys).
    pub fn iter(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.map.iter().map(|(k, v)| (&k.0, v))
    }

    /// Sets any hashable key (the caller checked hashability).
    pub(crate) fn insert(&mut self, key: Value, value: Value) {
        self.map.insert(Key(key), value);
    }

    /// The value under any key.
    pub(crate) fn get(&self, key: &Value) -> Option<&Value> {
        match key {
            Value::Str(s) => self.get_str(s),
            _ => self.map.get(&Key(key.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_keys_unify_like_python() {
        // python3: {1: 'a', 1.0: 'b', True: 'c'} == {1: 'c'}
        let mut d = Dict::new();
        d.insert(Value::Int(1), Value::str("a"));
        d.insert(Value::Float(1.0), Value::str("b"));
        d.insert(Value::Bool(true), Value::str("c"));
        assert_eq!(d.len(), 1);
        assert_eq!(d.get(&Value::Int(1)).unwrap().py_str(), "c");
    }

    #[test]
    fn str_keys_keep_order_and_pop_shifts() {
        let mut d = Dict::new();
        d.insert_str("a", Value::Int(1));
        d.insert_str("b", Value::Int(2));
        d.insert_str("c", Value::Int(3));
        d.insert_str("a", Value::Int(9));
        assert_eq!(d.remove_str("b").unwrap().py_str(), "2");
        let keys: Vec<String> = d.iter().map(|(k, _)| k.py_str()).collect();
        assert_eq!(keys, ["a", "c"]);
        assert!(d.contains_str("a") && !d.contains_str("b"));
        assert_eq!(d.get_str("a").unwrap().py_str(), "9");
    }

    #[test]
    fn truthiness_and_equality() {
        assert!(!Value::str("").is_truthy());
        assert!(!Value::Decimal(Decimal::new(0, 2)).is_truthy());
        assert!(Value::Int(1).py_eq(&Value::Float(1.0)));
        assert!(Value::Decimal(Decimal::new(10, 1)).py_eq(&Value::Int(1)));
        assert!(!Value::Int(1).py_eq(&Value::str("1")));
        assert_eq!(Value::None.type_name(), "NoneType");
    }
}
