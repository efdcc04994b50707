//! `str.format`: `{}`, `{0}`, `{name}`, `!r`/`!s` and the common format specs
//! (`[[fill]align][sign][0][width][,][.precision][type]`, types s d f e % x o b g).

use crate::call::Args;
use crate::error::{FResult, Fail};
use crate::float_fmt::py_float_repr;
use crate::value::{Num, Value};

/// Formats `template` with the call's arguments.
pub(crate) fn format(template: &str, a: &Args) -> FResult<String> {
    let mut out = String::new();
    let mut auto = 0usize;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(Fail::value_err("Single '}' encountered in format string")),
            '{' => {
                let mut field = String::new();
                let mut depth = 1;
                for c in chars.by_ref() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    field.push(c);
                }
                if depth != 0 {
                    return Err(Fail::value_err("expected '}' before end of string"));
                }
                let (head, spec) = field.split_once(':').unwrap_or((&field, ""));
                let (name, conv) = head.split_once('!').unwrap_or((head, ""));
                let value = if name.is_empty() {
                    let v = a.pos.get(auto).ok_or_else(|| {
                        Fail::value_err(format!(
                            "Replacement index {auto} out of range for positional args tuple"
                        ))
                    })?;
                    auto += 1;
                    v
                } else if let Ok(i) = name.parse::<usize>() {
                    a.pos.get(i).ok_or_else(|| {
                        Fail::value_err(format!(
                            "Replacement index {i} out of range for positional args tuple"
                        ))
                    })?
                } else {
                    a.kw(name)
                        .ok_or_else(|| Fail::value_err(format!("KeyError: '{name}'")))?
                };
                let converted;
                let value = match conv {
                    "" => value,
                    "r" => {
                        converted = Value::str(&value.py_repr());
                        &converted
                    }
                    "s" => {
                        converted = Value::str(&value.py_str());
                        &converted
                    }
                    _ => {
                        return Err(Fail::value_err(format!(
                            "Unknown conversion specifier {conv}"
                        )))
                    }
                };
                out.push_str(&format_value(value, spec)?);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `format(value, spec)`.
pub(crate) fn format_value(v: &Value, spec: &str) -> FResult<String> {
    if spec.is_empty() {
        return Ok(v.py_str());
    }
    let bad = || {
        Fail::value_err(format!(
            "Invalid format specifier '{spec}' for object of type '{}'",
            v.type_name()
        ))
    };
    let cs: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let (mut fill, mut align) = (' ', None);
    if cs.len() >= 2 && matches!(cs[1], '<' | '>' | '^' | '=') {
        fill = cs[0];
        align = Some(cs[1]);
        i = 2;
    } else if !cs.is_empty() && matches!(cs[0], '<' | '>' | '^' | '=') {
        align = Some(cs[0]);
        i = 1;
    }
    let mut sign = '-';
    if i < cs.len() && matches!(cs[i], '+' | '-' | ' ') {
        sign = cs[i];
        i += 1;
    }
    if i < cs.len() && cs[i] == '0' {
        if align.is_none() {
            fill = '0';
            align = Some('=');
        }
        i += 1;
    }
    let mut width = 0usize;
    while i < cs.len() && cs[i].is_ascii_digit() {
        width = width
            .saturating_mul(10)
            .saturating_add(cs[i] as usize - '0' as usize);
        i += 1;
    }
    if width > crate::ops::MAX_STRING_LENGTH {
        return Err(Fail::other(
            "Sorry, I will not evaluate something this long.",
        ));
    }
    let mut comma = false;
    if i < cs.len() && (cs[i] == ',' || cs[i] == '_') {
        comma = true;
        i += 1;
    }
    let mut precision = None;
    if i < cs.len() && cs[i] == '.' {
        i += 1;
        let mut p = 0usize;
        let start = i;
        while i < cs.len() && cs[i].is_ascii_digit() {
            p = p
                .saturating_mul(10)
                .saturating_add(cs[i] as usize - '0' as usize);
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        precision = Some(p.min(1000));
    }
    let ty = cs.get(i).copied();
    if i + usize::from(ty.is_some()) != cs.len() {
        return Err(bad());
    }
    let num = Num::of(v);
    let (neg, body) = match (ty, num, v) {
        (None | Some('s'), _, Value::Str(s)) => {
            let s: String = match precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            return Ok(pad(&s, "", fill, align.unwrap_or('<'), width));
        }
        (Some('s'), _, _) => return Err(bad()),
        (None | Some('d'), Some(Num::Int(n)), _) if precision.is_none() => {
            (n < 0, group(&n.unsigned_abs().to_string(), comma))
        }
        (Some('x' | 'X' | 'o' | 'b'), Some(Num::Int(n)), _) => {
            let a = n.unsigned_abs();
            let t = match ty {
                Some('x') => format!("{a:x}"),
                Some('X') => format!("{a:X}"),
                Some('o') => format!("{a:o}"),
                _ => format!("{a:b}"),
            };
            (n < 0, t)
        }
        (Some('f' | 'F' | 'e' | 'E' | '%' | 'g' | 'G'), Some(n), _)
        | (None, Some(n @ (Num::Float(_) | Num::Dec(_))), _) => {
            let f = n.to_f64();
            let p = precision.unwrap_or(6);
            let t = match ty {
                Some('f' | 'F') => format!("{:.*}", p, f.abs()),
                Some('%') => format!("{:.*}%", p, f.abs() * 100.0),
                Some('e' | 'E') => {
                    let t = format!("{:.*e}", p, f.abs());
                    let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
                    let e: i32 = e.parse().unwrap_or(0);
                    let t = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
                    if ty == Some('E') {
                        t.to_uppercase()
                    } else {
                        t
                    }
                }
                None if precision.is_none() => match n {
                    Num::Dec(d) => d.abs().to_string(),
                    _ => py_float_repr(f.abs()),
                },
                _ => {
                    let p = p.max(1);
                    let t = format!("{:.*e}", p - 1, f.abs());
                    let e: i32 = t
                        .split_once('e')
                        .and_then(|(_, e)| e.parse().ok())
                        .unwrap_or(0);
                    if e < -4 || e >= p as i32 {
                        let (m, _) = t.split_once('e').unwrap_or((&t, ""));
                        let m = if m.contains('.') {
                            m.trim_end_matches('0').trim_end_matches('.')
                        } else {
                            m
                        };
                        format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
                    } else {
                        let t = format!("{:.*}", (p as i32 - 1 - e).max(0) as usize, f.abs());
                        if t.contains('.') {
                            t.trim_end_matches('0').trim_end_matches('.').to_string()
                        } else {
                            t
                        }
                    }
                }
            };
            let t = if comma {
                let (int, frac) =
                    t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
                format!("{}{frac}", group(int, true))
            } else {
                t
            };
            (f.is_sign_negative() && f != 0.0, t)
        }
        (None, _, _) => return Ok(pad(&v.py_str(), "", fill, align.unwrap_or('<'), width)),
        _ => return Err(bad()),
    };
    let sign_text = match (neg, sign) {
        (true, _) => "-",
        (false, '+') => "+",
        (false, ' ') => " ",
        _ => "",
    };
    Ok(pad(&body, sign_text, fill, align.unwrap_or('>'), width))
}

fn group(digits: &str, comma: bool) -> String {
    if !comma {
        return digits.to_string();
    }
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pad(body: &str, sign: &str, fill: char, align: char, width: usize) -> String {
    let len = body.chars().count() + sign.chars().count();
    if len >= width {
        return format!("{sign}{body}");
    }
    let n = width - len;
    let fills = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
    match align {
        '<' => format!("{sign}{body}{}", fills(n)),
        '^' => format!("{}{sign}{body}{}", fills(n / 2), fills(n - n / 2)),
        '=' => format!("{sign}{}{body}", fills(n)),
        _ => format!("{}{sign}{body}", fills(n)),
    }
}

/// printf-style `template % args` (`%s %r %d %i %f %e %g %x %o %%`, flags `-+ 0`, width,
/// precision, and `%(name)s` with a dict).
pub(crate) fn percent(template: &str, args: &Value) -> FResult<String> {
    let positional: Vec<Value> = match args {
        Value::Tuple(t) => t.to_vec(),
        other => vec![other.clone()],
    };
    let mut next = 0usize;
    let mut out = String::new();
    let cs: Vec<char> = template.chars().collect();
    let mut i = 0;
    let incomplete = || Fail::value_err("incomplete format");
    while i < cs.len() {
        if cs[i] != '%' {
            out.push(cs[i]);
            i += 1;
            continue;
        }
        i += 1;
        let mut key = None;
        if cs.get(i) == Some(&'(') {
            let end = cs[i..]
                .iter()
                .position(|c| *c == ')')
                .ok_or_else(incomplete)?
                + i;
            key = Some(cs[i + 1..end].iter().collect::<String>());
            i = end + 1;
        }
        let mut flags = String::new();
        while let Some(&c @ ('-' | '+' | ' ' | '0' | '#')) = cs.get(i) {
            flags.push(c);
            i += 1;
        }
        let mut width = String::new();
        while let Some(&c) = cs.get(i).filter(|c| c.is_ascii_digit()) {
            width.push(c);
            i += 1;
        }
        let mut precision = None;
        if cs.get(i) == Some(&'.') {
            i += 1;
            let mut p = String::new();
            while let Some(&c) = cs.get(i).filter(|c| c.is_ascii_digit()) {
                p.push(c);
                i += 1;
            }
            precision = Some(if p.is_empty() { "0".to_string() } else { p });
        }
        let ty = *cs.get(i).ok_or_else(incomplete)?;
        i += 1;
        if ty == '%' {
            out.push('%');
            continue;
        }
        let value = match &key {
            Some(k) => match args {
                Value::Dict(d) => d
                    .get_str(k)
                    .cloned()
                    .ok_or_else(|| Fail::value_err(format!("KeyError: '{k}'")))?,
                _ => return Err(Fail::type_err("format requires a mapping")),
            },
            None => {
                let v = positional
                    .get(next)
                    .cloned()
                    .ok_or_else(|| Fail::type_err("not enough arguments for format string"))?;
                next += 1;
                v
            }
        };
        let align = if flags.contains('-') { "<" } else { ">" };
        let sign = if flags.contains('+') {
            "+"
        } else if flags.contains(' ') {
            " "
        } else {
            ""
        };
        let zero = if flags.contains('0') && !flags.contains('-') {
            "0"
        } else {
            ""
        };
        let prec = precision
            .as_ref()
            .map(|p| format!(".{p}"))
            .unwrap_or_default();
        let text = match ty {
            's' | 'r' | 'a' => {
                let s = if ty == 's' {
                    value.py_str()
                } else {
                    value.py_repr()
                };
                let s = match &precision {
                    Some(p) => s.chars().take(p.parse().unwrap_or(usize::MAX)).collect(),
                    None => s,
                };
                format_value(&Value::str(&s), &format!("{align}{width}"))?
            }
            'd' | 'i' | 'u' => {
                let n = match &value {
                    Value::Str(_) => {
                        return Err(Fail::type_err(format!(
                            "%{ty} format: a real number is required, not str"
                        )))
                    }
                    v => crate::builtins::to_int(v)?,
                };
                format_value(
                    &n,
                    &format!(
                        "{}{sign}{zero}{width}d",
                        if zero.is_empty() { align } else { "" }
                    ),
                )?
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' | 'x' | 'X' | 'o' => {
                let v = if matches!(ty, 'x' | 'X' | 'o') {
                    crate::builtins::to_int(&value)?
                } else {
                    Value::Float(crate::builtins::to_float(&value)?)
                };
                let prec = if matches!(ty, 'x' | 'X' | 'o') {
                    String::new()
                } else {
                    prec
                };
                format_value(
                    &v,
                    &format!(
                        "{}{sign}{zero}{width}{prec}{ty}",
                        if zero.is_empty() { align } else { "" }
                    ),
                )?
            }
            other => {
                return Err(Fail::value_err(format!(
                    "unsupported format character '{other}'"
                )))
            }
        };
        out.push_str(&text);
    }
    if key_free_leftover(args, next, &positional) {
        return Err(Fail::type_err(
            "not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

fn key_free_leftover(args: &Value, used: usize, positional: &[Value]) -> bool {
    !matches!(args, Value::Dict(_)) && used < positional.len()
}

#[cfg(test)]
mod tests {
    use crate::{Expr, Value};

    fn ev(src: &str) -> String {
        Expr::parse(src)
            .unwrap()
            .eval(&())
            .map(|v| v.py_str())
            .unwrap_or_else(|e| format!("ERROR: {}", e.message))
    }

    #[test]
    fn str_format_like_python() {
        // Verified with python3 (simpleeval itself forbids str.format; this engine allows it).
        assert_eq!(ev("'{} and {}'.format(1, 'b')"), "1 and b");
        assert_eq!(ev("'{0}{1}{0}'.format('a', 'b')"), "aba");
        assert_eq!(ev("'{name}!'.format(name='x')"), "x!");
        assert_eq!(
            ev("'{:>8.2f}|{:,}|{:05d}|{!r}'.format(3.14159, 1234567, 42, 'q')"),
            "    3.14|1,234,567|00042|'q'"
        );
        assert_eq!(ev("'{:g}'.format(1e-5)"), "1e-05");
        assert_eq!(
            ev("'{:^7}|{:*<4}|{:+.1%}|{:x}'.format('ab', 'c', 0.256, 255)"),
            "  ab   |c***|+25.6%|ff"
        );
        assert_eq!(ev("'{{}}{}'.format(1)"), "{}1");
        assert_eq!(
            ev("'{}'.format()"),
            "ERROR: Replacement index 0 out of range for positional args tuple"
        );
        assert!(ev("'{'.format(1)").starts_with("ERROR"));
        assert!(ev("'{:Q}'.format(1)").starts_with("ERROR"));
        let _ = Value::None;
    }
}
