//! Calling things: builtin functions, methods of values, module attributes. The evaluator
//! hands over evaluated arguments; errors come back without a column (the evaluator adds it).

use std::rc::Rc;

use indexmap::IndexSet;

use crate::builtins::{self, Builtin};
use crate::error::{FResult, Fail};
use crate::value::{Dict, Key, ObjKind, Value};
use crate::{datetime, faker, methods, pyjson};

/// Evaluated call arguments.
#[derive(Debug, Default)]
pub(crate) struct Args {
    pub pos: Vec<Value>,
    pub kw: Vec<(Rc<str>, Value)>,
}

impl Args {
    /// Positional arguments only.
    pub(crate) fn positional(pos: Vec<Value>) -> Args {
        Args {
            pos,
            kw: Vec::new(),
        }
    }

    /// Argument `i` by position, or by keyword `name`.
    pub(crate) fn get(&self, i: usize, name: &str) -> Option<&Value> {
        self.pos.get(i).or_else(|| self.kw(name))
    }

    /// Keyword argument `name`.
    pub(crate) fn kw(&self, name: &str) -> Option<&Value> {
        self.kw.iter().find(|(k, _)| &**k == name).map(|(_, v)| v)
    }

    /// Fails unless the call has between `min` and `max` positional arguments and only the
    /// listed keywords.
    pub(crate) fn check(
        &self,
        fname: &str,
        min: usize,
        max: usize,
        keywords: &[&str],
    ) -> FResult<()> {
        if let Some((k, _)) = self.kw.iter().find(|(k, _)| !keywords.contains(&&**k)) {
            return Err(Fail::type_err(format!(
                "{fname}() got an unexpected keyword argument '{k}'"
            )));
        }
        let given = self.pos.len()
            + self
                .kw
                .iter()
                .filter(|(k, _)| keywords.contains(&&**k))
                .count();
        if self.pos.len() > max {
            return Err(Fail::type_err(format!(
                "{fname}() takes at most {max} argument{} ({} given)",
                if max == 1 { "" } else { "s" },
                self.pos.len()
            )));
        }
        if given < min {
            return Err(Fail::type_err(format!(
                "{fname}() takes at least {min} argument{} ({given} given)",
                if min == 1 { "" } else { "s" }
            )));
        }
        Ok(())
    }
}

/// The items of an iterable: lists and tuples share their storage.
pub(crate) enum Items {
    Shared(Rc<Vec<Value>>),
    Owned(Vec<Value>),
}

impl Items {
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Value> {
        match self {
            Items::Shared(v) => v.iter(),
            Items::Owned(v) => v.iter(),
        }
    }
    pub(crate) fn len(&self) -> usize {
        match self {
            Items::Shared(v) => v.len(),
            Items::Owned(v) => v.len(),
        }
    }
    pub(crate) fn into_vec(self) -> Vec<Value> {
        match self {
            Items::Shared(v) => Rc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()),
            Items::Owned(v) => v,
        }
    }
}

/// `iter(v)`: what a `for` loop over `v` yields.
pub(crate) fn iterate(v: &Value) -> FResult<Items> {
    Ok(match v {
        Value::List(l) | Value::Tuple(l) => Items::Shared(l.clone()),
        Value::Str(s) => Items::Owned(
            s.chars()
                .map(|c| Value::Str(Rc::from(c.to_string())))
                .collect(),
        ),
        Value::Dict(d) => Items::Owned(d.iter().map(|(k, _)| k.clone()).collect()),
        Value::Object(o) => match &o.kind {
            ObjKind::Set(s) => Items::Owned(s.iter().map(|k| k.0.clone()).collect()),
            _ => return Err(not_iterable(v)),
        },
        _ => return Err(not_iterable(v)),
    })
}

fn not_iterable(v: &Value) -> Fail {
    Fail::type_err(format!("'{}' object is not iterable", v.type_name()))
}

fn no_attr(v: &Value, name: &str) -> Fail {
    match v {
        Value::Object(o)
            if matches!(
                o.kind,
                ObjKind::Builtin(Builtin::DatetimeModule | Builtin::JsonModule)
            ) =>
        {
            Fail::other(format!(
                "module '{}' has no attribute '{name}'",
                v.py_str()
                    .trim_start_matches("<module '")
                    .trim_end_matches("'>")
            ))
        }
        Value::Object(o) if matches!(o.kind, ObjKind::Builtin(_)) => Fail::other(format!(
            "type object '{}' has no attribute '{name}'",
            v.py_str()
        )),
        _ => Fail::other(format!(
            "'{}' object has no attribute '{name}'",
            v.type_name()
        )),
    }
}

/// `recv.name` (not called).
pub(crate) fn get_attr(recv: &Value, name: &str) -> FResult<Value> {
    if name.starts_with('_') || name.starts_with("func_") {
        return Err(Fail::other(format!(
            "Sorry, access to __attributes  or func_ attributes is not available. ({name})"
        )));
    }
    let bound = |ok: bool| -> FResult<Value> {
        if ok {
            Ok(Value::obj(ObjKind::Method(recv.clone(), Rc::from(name))))
        } else {
            Err(no_attr(recv, name))
        }
    };
    match recv {
        Value::Str(_) => bound(methods::STR_METHODS.contains(&name)),
        Value::Dict(d) => {
            if methods::DICT_METHODS.contains(&name) {
                return bound(true);
            }
            // simpleeval's ATTR_INDEX_FALLBACK: `d.key` reads `d['key']`.
            d.get_str(name).cloned().ok_or_else(|| no_attr(recv, name))
        }
        Value::List(_) | Value::Tuple(_) => bound(methods::SEQ_METHODS.contains(&name)),
        Value::Date(_) | Value::DateTime(_) => {
            datetime::get_attr(recv, name).unwrap_or_else(|| Err(no_attr(recv, name)))
        }
        Value::Object(o) => match &o.kind {
            ObjKind::Builtin(b) => builtins::module_attr(*b, name)
                .map(Builtin::value)
                .or_else(|| datetime::class_attr(*b, name))
                .map_or_else(|| Err(no_attr(recv, name)), Ok),
            ObjKind::Timedelta(_) | ObjKind::Timezone(_) => {
                datetime::get_attr(recv, name).unwrap_or_else(|| Err(no_attr(recv, name)))
            }
            ObjKind::Faker(_) => bound(true),
            _ => Err(no_attr(recv, name)),
        },
        _ => Err(no_attr(recv, name)),
    }
}

/// `recv.name(args)`, without building a bound method.
pub(crate) fn call_method(recv: &Value, name: &str, args: Args) -> FResult<Value> {
    match recv {
        Value::Str(s) if methods::STR_METHODS.contains(&name) => {
            methods::str_method(s, name, &args)
        }
        Value::Dict(d) if methods::DICT_METHODS.contains(&name) => {
            methods::dict_method(d, name, &args)
        }
        Value::List(l) | Value::Tuple(l) if methods::SEQ_METHODS.contains(&name) => {
            methods::seq_method(recv, l, name, &args)
        }
        Value::Date(_) | Value::DateTime(_) => match datetime::call_method(recv, name, &args) {
            Some(r) => r,
            None => call_value(&get_attr(recv, name)?, args),
        },
        Value::Object(o) => match &o.kind {
            ObjKind::Faker(state) => faker::call(state, name, &args),
            ObjKind::Timedelta(_) => match datetime::call_method(recv, name, &args) {
                Some(r) => r,
                None => call_value(&get_attr(recv, name)?, args),
            },
            ObjKind::Builtin(b) if datetime::is_class(*b) && !matches!(name, "utc") => {
                match datetime::class_method(*b, name, &args) {
                    Some(r) => r,
                    None => call_value(&get_attr(recv, name)?, args),
                }
            }
            _ => call_value(&get_attr(recv, name)?, args),
        },
        _ => call_value(&get_attr(recv, name)?, args),
    }
}

/// `f(args)`.
pub(crate) fn call_value(f: &Value, args: Args) -> FResult<Value> {
    match f {
        Value::Object(o) => match &o.kind {
            ObjKind::Builtin(b) => call_builtin(*b, args),
            ObjKind::Method(recv, name) => call_method(recv, name, args),
            _ => Err(Fail::type_err(format!(
                "'{}' object is not callable",
                f.type_name()
            ))),
        },
        _ => Err(Fail::type_err(format!(
            "'{}' object is not callable",
            f.type_name()
        ))),
    }
}

fn call_builtin(b: Builtin, args: Args) -> FResult<Value> {
    match b {
        Builtin::DatetimeClass
        | Builtin::DateClass
        | Builtin::TimedeltaClass
        | Builtin::TimezoneClass => datetime::construct(b, &args),
        Builtin::JsonDumps => pyjson::dumps(&args),
        Builtin::JsonLoads => pyjson::loads(&args),
        Builtin::DatetimeModule | Builtin::JsonModule => {
            Err(Fail::type_err("'module' object is not callable"))
        }
        _ => builtins::call(b, &args),
    }
}

/// `set(items)` with hashability checks.
pub(crate) fn make_set(items: impl Iterator<Item = Value>) -> FResult<Value> {
    let mut s = IndexSet::new();
    for v in items {
        if !v.is_hashable() {
            return Err(Fail::type_err(format!(
                "unhashable type: '{}'",
                v.type_name()
            )));
        }
        s.insert(Key(v));
    }
    Ok(Value::obj(ObjKind::Set(s)))
}

/// `dict(pairs)` / `dict(mapping)`.
pub(crate) fn make_dict(src: Option<&Value>, kw: &[(Rc<str>, Value)]) -> FResult<Value> {
    let mut d = match src {
        None => Dict::new(),
        Some(Value::Dict(d)) => (**d).clone(),
        Some(v) => {
            let mut d = Dict::new();
            for (i, pair) in iterate(v)?.iter().enumerate() {
                let kv = iterate(pair).map_err(|_| {
                    Fail::type_err(format!(
                        "cannot convert dictionary update sequence element #{i} to a sequence"
                    ))
                })?;
                if kv.len() != 2 {
                    return Err(Fail::value_err(format!(
                        "dictionary update sequence element #{i} has length {}; 2 is required",
                        kv.len()
                    )));
                }
                let mut it = kv.iter();
                let (k, v) = (
                    it.next().cloned().unwrap_or(Value::None),
                    it.next().cloned().unwrap_or(Value::None),
                );
                if !k.is_hashable() {
                    return Err(Fail::type_err(format!(
                        "unhashable type: '{}'",
                        k.type_name()
                    )));
                }
                d.insert(k, v);
            }
            d
        }
    };
    for (k, v) in kw {
        d.insert_str(k, v.clone());
    }
    Ok(Value::Dict(Rc::new(d)))
}
