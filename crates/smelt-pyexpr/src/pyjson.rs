//! The `json` module: `json.dumps` exactly as Python's default encoder writes (`, ` and `: `
//! separators, ensure_ascii, float repr, `default=`, `sort_keys`, `indent`, `separators`) and
//! `json.loads`.

use std::rc::Rc;

use crate::call::{call_value, Args};
use crate::error::{FResult, Fail};
use crate::float_fmt::py_float_repr;
use crate::json::{key_text, parse_json, write_str};
use crate::value::{Dict, Value};

struct Opts<'a> {
    item_sep: String,
    key_sep: String,
    indent: Option<String>,
    sort_keys: bool,
    ascii: bool,
    allow_nan: bool,
    default: Option<&'a Value>,
}

/// `json.dumps(obj, **options)`.
pub(crate) fn dumps(a: &Args) -> FResult<Value> {
    let keys = [
        "obj",
        "skipkeys",
        "ensure_ascii",
        "check_circular",
        "allow_nan",
        "cls",
        "indent",
        "separators",
        "default",
        "sort_keys",
    ];
    a.check("dumps", 1, 1, &keys)?;
    let obj = a.get(0, "obj").unwrap_or(&Value::None);
    let indent = match a.kw("indent") {
        None | Some(Value::None) => None,
        Some(Value::Int(n)) => Some(" ".repeat((*n).clamp(0, 1000) as usize)),
        Some(Value::Str(s)) => Some(s.to_string()),
        Some(v) => {
            return Err(Fail::type_err(format!(
                "indent must be int or str, not {}",
                v.type_name()
            )))
        }
    };
    let (mut item_sep, mut key_sep) = (
        if indent.is_some() { "," } else { ", " }.to_string(),
        ": ".to_string(),
    );
    if let Some(seps) = a.kw("separators").filter(|v| !matches!(v, Value::None)) {
        match seps {
            Value::Tuple(t) | Value::List(t) if t.len() == 2 => match (&t[0], &t[1]) {
                (Value::Str(x), Value::Str(y)) => {
                    item_sep = x.to_string();
                    key_sep = y.to_string();
                }
                _ => return Err(Fail::type_err("separators must be a pair of strings")),
            },
            _ => {
                return Err(Fail::value_err(
                    "separators must be a (item_separator, key_separator) pair",
                ))
            }
        }
    }
    let opts = Opts {
        item_sep,
        key_sep,
        indent,
        sort_keys: a.kw("sort_keys").is_some_and(Value::is_truthy),
        ascii: a.kw("ensure_ascii").is_none_or(Value::is_truthy),
        allow_nan: a.kw("allow_nan").is_none_or(Value::is_truthy),
        default: a.kw("default").filter(|v| !matches!(v, Value::None)),
    };
    let mut out = Vec::new();
    encode(obj, &opts, 0, &mut out)?;
    if out.len() > crate::ops::MAX_STRING_LENGTH {
        return Err(Fail::other(
            "Sorry, I will not evaluate something this long.",
        ));
    }
    Ok(Value::Str(Rc::from(String::from_utf8_lossy(&out).as_ref())))
}

fn newline(o: &Opts, level: usize, out: &mut Vec<u8>) {
    if let Some(ind) = &o.indent {
        out.push(b'\n');
        for _ in 0..level {
            out.extend_from_slice(ind.as_bytes());
        }
    }
}

fn float_text(f: f64, o: &Opts) -> FResult<String> {
    if f.is_finite() {
        return Ok(py_float_repr(f));
    }
    if !o.allow_nan {
        return Err(Fail::value_err(format!(
            "Out of range float values are not JSON compliant: {}",
            py_float_repr(f)
        )));
    }
    Ok(if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
    .to_string())
}

fn encode(v: &Value, o: &Opts, level: usize, out: &mut Vec<u8>) -> FResult<()> {
    if level > 200 {
        return Err(Fail::other(
            "maximum recursion depth exceeded while encoding a JSON object",
        ));
    }
    match v {
        Value::None => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(float_text(*f, o)?.as_bytes()),
        Value::Str(s) => write_str(s, out, o.ascii),
        Value::List(l) | Value::Tuple(l) => {
            if l.is_empty() {
                out.extend_from_slice(b"[]");
                return Ok(());
            }
            out.push(b'[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(o.item_sep.as_bytes());
                }
                newline(o, level + 1, out);
                encode(x, o, level + 1, out)?;
            }
            newline(o, level, out);
            out.push(b']');
        }
        Value::Dict(d) => {
            if d.is_empty() {
                out.extend_from_slice(b"{}");
                return Ok(());
            }
            let mut entries: Vec<(String, &Value)> = Vec::with_capacity(d.len());
            for (k, v) in d.iter() {
                let key = match k {
                    Value::Float(f) => float_text(*f, o)?,
                    Value::Decimal(_) => {
                        return Err(Fail::type_err(
                            "keys must be str, int, float, bool or None, not Decimal",
                        ))
                    }
                    _ => key_text(k).map_err(|e| Fail::type_err(e.message))?,
                };
                entries.push((key, v));
            }
            if o.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(o.item_sep.as_bytes());
                }
                newline(o, level + 1, out);
                write_str(k, out, o.ascii);
                out.extend_from_slice(o.key_sep.as_bytes());
                encode(v, o, level + 1, out)?;
            }
            newline(o, level, out);
            out.push(b'}');
        }
        _ => match o.default {
            Some(f) => {
                let r = call_value(f, Args::positional(vec![v.clone()]))?;
                encode(&r, o, level + 1, out)?;
            }
            None => {
                let name = match v {
                    Value::Decimal(_) => "Decimal",
                    Value::Date(_) => "date",
                    Value::DateTime(_) => "datetime",
                    _ => v.type_name(),
                };
                return Err(Fail::type_err(format!(
                    "Object of type {name} is not JSON serializable"
                )));
            }
        },
    }
    Ok(())
}

/// `json.loads(s)`: like Python, non-integer numbers become float.
pub(crate) fn loads(a: &Args) -> FResult<Value> {
    a.check("loads", 1, 1, &["s"])?;
    let Some(Value::Str(s)) = a.get(0, "s") else {
        return Err(Fail::type_err(
            "the JSON object must be str, bytes or bytearray",
        ));
    };
    let v = parse_json(s).map_err(|e| Fail::value_err(format!("JSONDecodeError: {}", e)))?;
    Ok(floats(v))
}

fn floats(v: Value) -> Value {
    match v {
        Value::Decimal(d) => Value::Float(d.to_string().parse().unwrap_or(f64::NAN)),
        Value::List(l) => Value::list(l.iter().cloned().map(floats).collect()),
        Value::Dict(d) => {
            let mut out = Dict::with_capacity(d.len());
            for (k, v) in d.iter() {
                out.insert(k.clone(), floats(v.clone()));
            }
            Value::Dict(Rc::new(out))
        }
        v => v,
    }
}
