//! The `fake` object of stream maps: a small deterministic stand-in for Python's Faker.
//! Python Faker's exact values cannot be reproduced; this gives plausible values of the same
//! shape, and the same seed always gives the same sequence.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::{NaiveDate, TimeDelta};

use crate::call::Args;
use crate::error::{FResult, Fail};
use crate::value::{DateTimeValue, ObjKind, Value};

/// The generator state behind a `fake` object (splitmix64).
#[derive(Debug)]
pub(crate) struct FakerState {
    state: u64,
}

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
];
const FREE_DOMAINS: &[&str] = &["gmail.com", "yahoo.com", "hotmail.com"];
const SAFE_DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];
const TLDS: &[&str] = &["com", "net", "org", "info", "biz"];
const COMPANY_SUFFIX: &[&str] = &["Inc", "LLC", "Ltd", "Group", "PLC"];
const STREET_SUFFIX: &[&str] = &["Street", "Avenue", "Road", "Lane", "Drive", "Court", "Way"];
const CITIES: &[&str] = &[
    "Springfield",
    "Riverside",
    "Franklin",
    "Greenville",
    "Bristol",
    "Clinton",
    "Fairview",
    "Salem",
    "Madison",
    "Georgetown",
];
const STATES: &[&str] = &["CA", "TX", "NY", "FL", "IL", "PA", "OH", "GA", "NC", "MI"];
const COUNTRIES: &[&str] = &[
    "France", "Japan", "Brazil", "Canada", "Kenya", "Norway", "India", "Mexico", "Spain", "Egypt",
];
const WORDS: &[&str] = &[
    "data", "stream", "river", "window", "garden", "simple", "quick", "model", "value", "market",
    "light", "story", "north", "table", "paper", "music", "friend", "energy", "future", "system",
];

fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn seed_of(v: &Value) -> u64 {
    match v {
        Value::Int(i) => *i as u64,
        other => fnv(&other.py_str()),
    }
}

impl FakerState {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in [lo, hi].
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (self.next() as u128 % span) as i128) as i64
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.int(0, list.len() as i64 - 1) as usize]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.int(0, 9) as u8))
            .collect()
    }

    fn user_name(&mut self) -> String {
        let f = self.pick(FIRST).to_lowercase();
        let l = self.pick(LAST).to_lowercase();
        match self.int(0, 2) {
            0 => format!("{f}{l}"),
            1 => format!("{f}.{l}"),
            _ => format!("{}{l}{}", &f[..1], self.int(1, 99)),
        }
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut s: Vec<String> = (0..words).map(|_| self.pick(WORDS).to_string()).collect();
        if let Some(first) = s.first_mut() {
            let mut c = first.chars();
            *first = c
                .next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default();
        }
        format!("{}.", s.join(" "))
    }

    fn credit_card(&mut self) -> String {
        let mut d: Vec<u32> = vec![4];
        for _ in 0..14 {
            d.push(self.int(0, 9) as u32);
        }
        // Luhn check digit over the 15 digits.
        let sum: u32 = d
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &x)| {
                if i % 2 == 0 {
                    let y = x * 2;
                    if y > 9 {
                        y - 9
                    } else {
                        y
                    }
                } else {
                    x
                }
            })
            .sum();
        d.push((10 - sum % 10) % 10);
        d.into_iter().map(|x| char::from(b'0' + x as u8)).collect()
    }
}

/// The `fake` object of stream maps, seeded from `seed` (any value; its str() is hashed) or
/// from the clock when None. `locale` is accepted for compatibility; values are en_US-like.
pub fn faker(seed: Option<&Value>, _locale: Option<&str>) -> Value {
    let state = match seed {
        Some(v) if !matches!(v, Value::None) => seed_of(v),
        _ => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    };
    Value::obj(ObjKind::Faker(RefCell::new(FakerState { state })))
}

fn s(text: String) -> FResult<Value> {
    Ok(Value::Str(Rc::from(text)))
}

/// Calls a method of the `fake` object.
pub(crate) fn call(state: &RefCell<FakerState>, name: &str, a: &Args) -> FResult<Value> {
    let mut f = state.borrow_mut();
    match name {
        "seed_instance" | "seed" => {
            f.state = a.pos.first().map_or(0, seed_of);
            Ok(Value::None)
        }
        "email" | "free_email" | "safe_email" | "company_email" => {
            let user = f.user_name();
            let domain = match name {
                "free_email" => f.pick(FREE_DOMAINS).to_string(),
                "safe_email" => f.pick(SAFE_DOMAINS).to_string(),
                _ => format!("{}.{}", f.pick(LAST).to_lowercase(), f.pick(TLDS)),
            };
            s(format!("{user}@{domain}"))
        }
        "name" => s(format!("{} {}", f.pick(FIRST), f.pick(LAST))),
        "first_name" => s(f.pick(FIRST).to_string()),
        "last_name" => s(f.pick(LAST).to_string()),
        "user_name" => s(f.user_name()),
        "company" => s(format!("{} {}", f.pick(LAST), f.pick(COMPANY_SUFFIX))),
        "phone_number" => s(format!("{}-{}-{}", f.digits(3), f.digits(3), f.digits(4))),
        "street_address" => s(format!(
            "{} {} {}",
            f.int(1, 9999),
            f.pick(LAST),
            f.pick(STREET_SUFFIX)
        )),
        "city" => s(f.pick(CITIES).to_string()),
        "state_abbr" => s(f.pick(STATES).to_string()),
        "country" => s(f.pick(COUNTRIES).to_string()),
        "postcode" | "zipcode" => s(f.digits(5)),
        "address" => s(format!(
            "{} {} {}\n{}, {} {}",
            f.int(1, 9999),
            f.pick(LAST),
            f.pick(STREET_SUFFIX),
            f.pick(CITIES),
            f.pick(STATES),
            f.digits(5)
        )),
        "credit_card_number" => s(f.credit_card()),
        "uuid4" => {
            let (hi, lo) = (f.next(), f.next());
            let hex = format!("{hi:016x}{lo:016x}");
            let v = (u8::from_str_radix(&hex[16..17], 16).unwrap_or(0) & 0x3) | 0x8;
            s(format!(
                "{}-{}-4{}-{:x}{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[13..16],
                v,
                &hex[17..20],
                &hex[20..32]
            ))
        }
        "word" => s(f.pick(WORDS).to_string()),
        "sentence" => {
            let n = f.int(4, 9) as usize;
            s(f.sentence(n))
        }
        "text" => {
            let n = f.int(2, 4);
            let parts: Vec<String> = (0..n)
                .map(|_| {
                    let w = f.int(4, 9) as usize;
                    f.sentence(w)
                })
                .collect();
            s(parts.join(" "))
        }
        "date" | "date_time" | "date_object" => {
            let base = NaiveDate::from_ymd_opt(1970, 1, 1)
                .unwrap_or_default()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default();
            let secs = f.int(0, 1_700_000_000);
            let dt = base + TimeDelta::seconds(secs);
            match name {
                "date" => s(dt.format("%Y-%m-%d").to_string()),
                "date_object" => Ok(Value::Date(dt.date())),
                _ => Ok(Value::DateTime(DateTimeValue {
                    naive: dt,
                    offset: None,
                })),
            }
        }
        "ipv4" => s(format!(
            "{}.{}.{}.{}",
            f.int(1, 223),
            f.int(0, 255),
            f.int(0, 255),
            f.int(1, 254)
        )),
        "url" => s(format!(
            "https://www.{}.{}/",
            f.pick(LAST).to_lowercase(),
            f.pick(TLDS)
        )),
        "random_int" => {
            let lo = match a.get(0, "min") {
                Some(Value::Int(i)) => *i,
                _ => 0,
            };
            let hi = match a.get(1, "max") {
                Some(Value::Int(i)) => *i,
                _ => 9999,
            };
            Ok(Value::Int(f.int(lo, hi)))
        }
        "pystr" => {
            let n = match a.get(1, "max_chars") {
                Some(Value::Int(i)) => (*i).clamp(0, 1000),
                _ => 20,
            };
            let text: String = (0..n)
                .map(|_| {
                    let k = f.int(0, 51) as u8;
                    char::from(if k < 26 { b'a' + k } else { b'A' + k - 26 })
                })
                .collect();
            s(text)
        }
        _ => Err(Fail::other(format!(
            "'Faker' object has no attribute '{name}'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Expr, NameList};

    fn run(fake: &Value, src: &str) -> Value {
        let names = [("fake", fake.clone()), ("email", Value::str("a@b.c"))];
        Expr::parse(src).unwrap().eval(&NameList(&names)).unwrap()
    }

    #[test]
    fn same_seed_same_values() {
        let a = faker(Some(&Value::Int(123456)), Some("en_US"));
        let b = faker(Some(&Value::Int(123456)), Some("en_US"));
        for m in [
            "email()",
            "name()",
            "credit_card_number()",
            "uuid4()",
            "date()",
            "pystr()",
            "address()",
        ] {
            assert_eq!(
                run(&a, &format!("fake.{m}")).py_str(),
                run(&b, &format!("fake.{m}")).py_str()
            );
        }
        let e1 = run(&a, "fake.seed_instance(email) or fake.email()").py_str();
        let e2 = run(&b, "fake.seed_instance(email) or fake.email()").py_str();
        assert_eq!(e1, e2);
        assert!(e1.contains('@'));
    }

    #[test]
    fn credit_card_is_luhn_valid() {
        let f = faker(Some(&Value::Int(1)), None);
        for _ in 0..20 {
            let cc = run(&f, "fake.credit_card_number()").py_str();
            assert!(cc.chars().all(|c| c.is_ascii_digit()) && cc.len() == 16);
            let sum: u32 = cc
                .chars()
                .rev()
                .enumerate()
                .map(|(i, c)| {
                    let x = c.to_digit(10).unwrap();
                    if i % 2 == 1 {
                        let y = x * 2;
                        if y > 9 {
                            y - 9
                        } else {
                            y
                        }
                    } else {
                        x
                    }
                })
                .sum();
            assert_eq!(sum % 10, 0, "{cc}");
        }
    }
}
