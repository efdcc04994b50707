//! Methods of str, dict, list and tuple values.

use std::rc::Rc;

use crate::call::{iterate, Args};
use crate::error::{FResult, Fail};
use crate::ops::MAX_STRING_LENGTH;
use crate::value::{Dict, Value};

/// The str methods this engine knows.
pub(crate) const STR_METHODS: &[&str] = &[
    "upper",
    "lower",
    "strip",
    "lstrip",
    "rstrip",
    "split",
    "rsplit",
    "replace",
    "startswith",
    "endswith",
    "join",
    "find",
    "rfind",
    "index",
    "rindex",
    "count",
    "title",
    "capitalize",
    "casefold",
    "swapcase",
    "zfill",
    "center",
    "ljust",
    "rjust",
    "isdigit",
    "isalpha",
    "isalnum",
    "isnumeric",
    "isdecimal",
    "isspace",
    "islower",
    "isupper",
    "istitle",
    "format",
    "partition",
    "rpartition",
    "splitlines",
    "removeprefix",
    "removesuffix",
];
/// The dict methods this engine knows.
pub(crate) const DICT_METHODS: &[&str] = &["get", "keys", "values", "items", "copy"];
/// The list/tuple methods this engine knows.
pub(crate) const SEQ_METHODS: &[&str] = &["index", "count", "copy"];

fn s(v: impl Into<Rc<str>>) -> Value {
    Value::Str(v.into())
}

fn str_arg<'a>(v: Option<&'a Value>, fname: &str) -> FResult<Option<&'a str>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(x)) => Ok(Some(x)),
        Some(v) => Err(Fail::type_err(format!(
            "{fname} arg must be None or str, not {}",
            v.type_name()
        ))),
    }
}

fn need_str<'a>(v: Option<&'a Value>, fname: &str) -> FResult<&'a str> {
    match v {
        Some(Value::Str(x)) => Ok(x),
        Some(v) => Err(Fail::type_err(format!(
            "{fname}() argument must be str, not {}",
            v.type_name()
        ))),
        None => Err(Fail::type_err(format!(
            "{fname}() takes at least 1 argument (0 given)"
        ))),
    }
}

fn int_arg(v: Option<&Value>, default: i64) -> FResult<i64> {
    match v {
        None | Some(Value::None) => Ok(default),
        Some(Value::Int(i)) => Ok(*i),
        Some(Value::Bool(b)) => Ok(*b as i64),
        Some(v) => Err(Fail::type_err(format!(
            "'{}' object cannot be interpreted as an integer",
            v.type_name()
        ))),
    }
}

fn limit(out: String) -> FResult<Value> {
    if out.len() > MAX_STRING_LENGTH {
        return Err(Fail::other(
            "Sorry, I will not evaluate something this long.",
        ));
    }
    Ok(s(out))
}

fn pad(text: &str, width: i64, fill: Option<&Value>, how: &str) -> FResult<Value> {
    let fill = match fill {
        None => ' ',
        Some(Value::Str(f)) if f.chars().count() == 1 => f.chars().next().unwrap_or(' '),
        Some(_) => {
            return Err(Fail::type_err(
                "The fill character must be exactly one character long",
            ))
        }
    };
    let len = text.chars().count() as i64;
    if width <= len {
        return Ok(s(text));
    }
    if width as usize > MAX_STRING_LENGTH {
        return Err(Fail::other(
            "Sorry, I will not evaluate something this long.",
        ));
    }
    let total = (width - len) as usize;
    let (left, right) = match how {
        "ljust" => (0, total),
        "rjust" => (total, 0),
        // Python's center puts the extra char on the left when the width is odd... of the
        // string: left = total/2 + (total & width & 1).
        _ => {
            let left = total / 2 + (total & width as usize & 1);
            (left, total - left)
        }
    };
    let mut out = String::new();
    out.extend(std::iter::repeat_n(fill, left));
    out.push_str(text);
    out.extend(std::iter::repeat_n(fill, right));
    Ok(s(out))
}

/// Python's `str.split()` with no separator: runs of whitespace, at most `max` splits.
fn split_ws(text: &str, max: i64, from_right: bool) -> Vec<Value> {
    let mut parts: Vec<&str> = Vec::new();
    if !from_right {
        let mut rest = text.trim_start();
        while !rest.is_empty() {
            if max >= 0 && parts.len() as i64 == max {
                parts.push(rest);
                break;
            }
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            parts.push(&rest[..end]);
            rest = rest[end..].trim_start();
        }
        parts.into_iter().map(s).collect()
    } else {
        let mut rest = text.trim_end();
        while !rest.is_empty() {
            if max >= 0 && parts.len() as i64 == max {
                parts.push(rest);
                break;
            }
            let start = rest.rfind(char::is_whitespace).map_or(0, |i| {
                i + rest[i..].chars().next().map_or(1, char::len_utf8)
            });
            parts.push(&rest[start..]);
            rest = rest[..start].trim_end();
        }
        parts.into_iter().rev().map(s).collect()
    }
}

fn char_to_byte(text: &str, ci: i64) -> usize {
    text.char_indices()
        .nth(ci.max(0) as usize)
        .map_or(text.len(), |(b, _)| b)
}

/// Python's (start, end) clamping for find/count/startswith, in bytes.
fn range_of(
    text: &str,
    start: Option<&Value>,
    end: Option<&Value>,
) -> FResult<Option<(usize, usize)>> {
    let n = text.chars().count() as i64;
    let norm = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) };
    let a = norm(int_arg(start, 0)?);
    let b = norm(int_arg(end, n)?);
    if a > b {
        return Ok(None);
    }
    Ok(Some((char_to_byte(text, a), char_to_byte(text, b))))
}

fn char_index(text: &str, byte: usize) -> i64 {
    text[..byte].chars().count() as i64
}

/// Calls a str method.
pub(crate) fn str_method(text: &Rc<str>, name: &str, a: &Args) -> FResult<Value> {
    let t: &str = text;
    let b = |v: bool| Ok(Value::Bool(v));
    match name {
        "upper" => Ok(s(t.to_uppercase())),
        "lower" => Ok(s(t.to_lowercase())),
        "casefold" => Ok(s(t.to_lowercase())),
        "swapcase" => Ok(s(t
            .chars()
            .flat_map(|c| {
                if c.is_uppercase() {
                    c.to_lowercase().collect::<Vec<_>>()
                } else {
                    c.to_uppercase().collect()
                }
            })
            .collect::<String>())),
        "strip" | "lstrip" | "rstrip" => {
            a.check(name, 0, 1, &[])?;
            let chars = str_arg(a.pos.first(), name)?;
            let pat = |c: char| chars.map_or(c.is_whitespace(), |cs| cs.contains(c));
            Ok(s(match name {
                "strip" => t.trim_matches(pat),
                "lstrip" => t.trim_start_matches(pat),
                _ => t.trim_end_matches(pat),
            }))
        }
        "split" | "rsplit" => {
            a.check(name, 0, 2, &["sep", "maxsplit"])?;
            let sep = str_arg(a.get(0, "sep"), name)?;
            let max = int_arg(a.get(1, "maxsplit"), -1)?;
            let parts = match sep {
                None => split_ws(t, max, name == "rsplit"),
                Some("") => return Err(Fail::value_err("empty separator")),
                Some(sep) if max < 0 => t.split(sep).map(s).collect(),
                Some(sep) if name == "split" => t.splitn(max as usize + 1, sep).map(s).collect(),
                Some(sep) => {
                    let mut v: Vec<Value> = t.rsplitn(max as usize + 1, sep).map(s).collect();
                    v.reverse();
                    v
                }
            };
            Ok(Value::list(parts))
        }
        "splitlines" => {
            a.check(name, 0, 1, &["keepends"])?;
            let keep = a.get(0, "keepends").is_some_and(Value::is_truthy);
            let mut out = Vec::new();
            let mut start = 0;
            let bytes = t.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                let (is_break, len) = match bytes[i] {
                    b'\r' if bytes.get(i + 1) == Some(&b'\n') => (true, 2),
                    b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1e => (true, 1),
                    _ => (false, 1),
                };
                if is_break {
                    out.push(s(&t[start..if keep { i + len } else { i }]));
                    start = i + len;
                }
                i += len;
            }
            if start < t.len() {
                out.push(s(&t[start..]));
            }
            Ok(Value::list(out))
        }
        "replace" => {
            a.check(name, 2, 3, &[])?;
            let old = need_str(a.pos.first(), name)?;
            let new = need_str(a.pos.get(1), name)?;
            let count = int_arg(a.pos.get(2), -1)?;
            let out = if count < 0 {
                t.replace(old, new)
            } else {
                t.replacen(old, new, count as usize)
            };
            limit(out)
        }
        "startswith" | "endswith" => {
            a.check(name, 1, 3, &[])?;
            let Some((x, y)) = range_of(t, a.pos.get(1), a.pos.get(2))? else {
                return b(false);
            };
            let hay = &t[x..y];
            let test = |p: &str| {
                if name == "startswith" {
                    hay.starts_with(p)
                } else {
                    hay.ends_with(p)
                }
            };
            match &a.pos[0] {
                Value::Str(p) => b(test(p)),
                Value::Tuple(ps) => {
                    for p in ps.iter() {
                        if test(need_str(Some(p), name)?) {
                            return b(true);
                        }
                    }
                    b(false)
                }
                v => Err(Fail::type_err(format!(
                    "{name} first arg must be str or a tuple of str, not {}",
                    v.type_name()
                ))),
            }
        }
        "join" => {
            a.check(name, 1, 1, &[])?;
            let mut out = String::new();
            for (i, v) in iterate(&a.pos[0])?.iter().enumerate() {
                let Value::Str(p) = v else {
                    return Err(Fail::type_err(format!(
                        "sequence item {i}: expected str instance, {} found",
                        v.type_name()
                    )));
                };
                if i > 0 {
                    out.push_str(t);
                }
                out.push_str(p);
                if out.len() > MAX_STRING_LENGTH {
                    return Err(Fail::other(
                        "Sorry, I will not evaluate something this long.",
                    ));
                }
            }
            Ok(s(out))
        }
        "find" | "rfind" | "index" | "rindex" | "count" => {
            a.check(name, 1, 3, &[])?;
            let sub = need_str(a.pos.first(), name)?;
            let Some((x, y)) = range_of(t, a.pos.get(1), a.pos.get(2))? else {
                return if name == "count" {
                    Ok(Value::Int(0))
                } else {
                    not_found(name)
                };
            };
            let hay = &t[x..y];
            if name == "count" {
                let n = if sub.is_empty() {
                    hay.chars().count() + 1
                } else {
                    hay.matches(sub).count()
                };
                return Ok(Value::Int(n as i64));
            }
            let pos = if name.starts_with('r') {
                hay.rfind(sub)
            } else {
                hay.find(sub)
            };
            match pos {
                Some(p) => Ok(Value::Int(char_index(t, x + p))),
                None => not_found(name),
            }
        }
        "title" => {
            let mut out = String::with_capacity(t.len());
            let mut prev_cased = false;
            for c in t.chars() {
                if prev_cased {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                }
                prev_cased = c.is_alphabetic();
            }
            Ok(s(out))
        }
        "capitalize" => {
            let mut cs = t.chars();
            Ok(s(match cs.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(cs.flat_map(char::to_lowercase))
                    .collect::<String>(),
                None => String::new(),
            }))
        }
        "zfill" => {
            a.check(name, 1, 1, &[])?;
            let width = int_arg(a.pos.first(), 0)?;
            let len = t.chars().count() as i64;
            if width <= len {
                return Ok(s(t));
            }
            let (sign, rest) = match t.chars().next() {
                Some(c @ ('+' | '-')) => (Some(c), &t[1..]),
                _ => (None, t),
            };
            let mut out = String::new();
            out.extend(sign);
            out.extend(std::iter::repeat_n(
                '0',
                (width - len).min(MAX_STRING_LENGTH as i64 + 1) as usize,
            ));
            out.push_str(rest);
            limit(out)
        }
        "center" | "ljust" | "rjust" => {
            a.check(name, 1, 2, &[])?;
            pad(t, int_arg(a.pos.first(), 0)?, a.pos.get(1), name)
        }
        "isdigit" | "isnumeric" | "isdecimal" => {
            b(!t.is_empty() && t.chars().all(|c| c.is_numeric()))
        }
        "isalpha" => b(!t.is_empty() && t.chars().all(char::is_alphabetic)),
        "isalnum" => b(!t.is_empty() && t.chars().all(char::is_alphanumeric)),
        "isspace" => b(!t.is_empty() && t.chars().all(char::is_whitespace)),
        "islower" => b(t.chars().any(char::is_lowercase) && !t.chars().any(char::is_uppercase)),
        "isupper" => b(t.chars().any(char::is_uppercase) && !t.chars().any(char::is_lowercase)),
        "istitle" => {
            let title = str_method(text, "title", a)?;
            b(t.chars().any(char::is_alphabetic) && title.py_eq(&s(t)))
        }
        "format" => crate::format::format(t, a).and_then(limit),
        "partition" | "rpartition" => {
            a.check(name, 1, 1, &[])?;
            let sep = need_str(a.pos.first(), name)?;
            if sep.is_empty() {
                return Err(Fail::value_err("empty separator"));
            }
            let found = if name == "partition" {
                t.find(sep)
            } else {
                t.rfind(sep)
            };
            let parts = match found {
                Some(i) => [s(&t[..i]), s(sep), s(&t[i + sep.len()..])],
                None if name == "partition" => [s(t), s(""), s("")],
                None => [s(""), s(""), s(t)],
            };
            Ok(Value::Tuple(Rc::new(parts.to_vec())))
        }
        "removeprefix" => Ok(s(t
            .strip_prefix(need_str(a.pos.first(), name)?)
            .unwrap_or(t))),
        "removesuffix" => Ok(s(t
            .strip_suffix(need_str(a.pos.first(), name)?)
            .unwrap_or(t))),
        _ => Err(Fail::other(format!(
            "'str' object has no attribute '{name}'"
        ))),
    }
}

fn not_found(name: &str) -> FResult<Value> {
    if name.contains("index") {
        Err(Fail::value_err("substring not found"))
    } else {
        Ok(Value::Int(-1))
    }
}

/// Calls a dict method.
pub(crate) fn dict_method(d: &Rc<Dict>, name: &str, a: &Args) -> FResult<Value> {
    match name {
        "get" => {
            a.check("get", 1, 2, &[])?;
            let k = &a.pos[0];
            if !k.is_hashable() {
                return Err(Fail::type_err(format!(
                    "unhashable type: '{}'",
                    k.type_name()
                )));
            }
            Ok(d.get(k)
                .cloned()
                .unwrap_or_else(|| a.pos.get(1).cloned().unwrap_or(Value::None)))
        }
        "keys" => Ok(Value::list(d.iter().map(|(k, _)| k.clone()).collect())),
        "values" => Ok(Value::list(d.iter().map(|(_, v)| v.clone()).collect())),
        "items" => Ok(Value::list(
            d.iter()
                .map(|(k, v)| Value::Tuple(Rc::new(vec![k.clone(), v.clone()])))
                .collect(),
        )),
        "copy" => Ok(Value::Dict(Rc::new((**d).clone()))),
        _ => Err(Fail::other(format!(
            "'dict' object has no attribute '{name}'"
        ))),
    }
}

/// Calls a list/tuple method.
pub(crate) fn seq_method(
    recv: &Value,
    items: &Rc<Vec<Value>>,
    name: &str,
    a: &Args,
) -> FResult<Value> {
    match name {
        "count" => {
            a.check("count", 1, 1, &[])?;
            Ok(Value::Int(
                items.iter().filter(|x| x.py_eq(&a.pos[0])).count() as i64,
            ))
        }
        "index" => {
            a.check("index", 1, 3, &[])?;
            let n = items.len() as i64;
            let norm = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) };
            let (lo, hi) = (
                norm(int_arg(a.pos.get(1), 0)?),
                norm(int_arg(a.pos.get(2), n)?),
            );
            (lo..hi)
                .find(|&i| items[i as usize].py_eq(&a.pos[0]))
                .map(Value::Int)
                .ok_or_else(|| {
                    Fail::value_err(format!(
                        "{} is not in {}",
                        a.pos[0].py_repr(),
                        recv.type_name()
                    ))
                })
        }
        "copy" if matches!(recv, Value::List(_)) => Ok(Value::list((**items).clone())),
        _ => Err(Fail::other(format!(
            "'{}' object has no attribute '{name}'",
            recv.type_name()
        ))),
    }
}
