//! Python's `repr(float)`: the shortest text that reads back as the same float, in Python's
//! layout (`1.0`, `1e+16`, `1e-05`, `inf`, `nan`). Rust's `{}` differs (`1`, `10000000000000000`).

/// Formats `f` exactly as Python's `repr(f)` (and `str(f)`) does.
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(24);
    if neg {
        out.push('-');
    }
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::py_float_repr as r;

    #[test]
    fn matches_python_repr() {
        // Verified with python3: repr(x)
        assert_eq!(r(1.0), "1.0");
        assert_eq!(r(1640995200.0), "1640995200.0");
        assert_eq!(r(1e16), "1e+16");
        assert_eq!(r(1e15), "1000000000000000.0");
        assert_eq!(r(0.0001), "0.0001");
        assert_eq!(r(0.00001), "1e-05");
        assert_eq!(r(1.5e-7), "1.5e-07");
        assert_eq!(r(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(r(-2.5), "-2.5");
        assert_eq!(r(1.2345e100), "1.2345e+100");
        assert_eq!(r(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(r(f64::NAN), "nan");
        assert_eq!(r(f64::NEG_INFINITY), "-inf");
        assert_eq!(r(-0.0), "-0.0");
    }
}
