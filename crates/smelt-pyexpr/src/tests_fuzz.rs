//! Random garbage and mutated expressions must give errors, never panics or stack overflows.

use crate::{parse_json, Dict, Expr, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "a",
    "s",
    "n",
    "d",
    "l",
    "1",
    "0",
    "-1",
    "2.5",
    "'x'",
    "\"é\"",
    "None",
    "True",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ".",
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "<",
    "<=",
    "==",
    "!=",
    "in",
    "not",
    "is",
    "and",
    "or",
    "if",
    "else",
    "for",
    "x",
    "upper()",
    "split",
    "json",
    "dumps",
    "datetime",
    "date",
    "fromisoformat",
    "int",
    "str",
    "float",
    "len",
    "range",
    "sorted",
    "md5",
    "~",
    "=",
    "!",
    "\\",
    "'",
    "\"",
    " ",
    "\n",
    "_",
    "lambda",
    "zfill",
    "replace",
    "strftime",
    "'%Y%z'",
    "999999999999",
    "1e308",
    "0x",
    "'2022-01-01T00:00:00Z'",
    "'ééé1'",
    "timedelta",
    "days",
    "get",
    "items",
    "[::-1]",
];

const SEEDS: &[&str] = &[
    "md5(config['hash_seed'] + owner_email)",
    "[x * 2 for x in range(5) if x % 2 == 0]",
    "{k: v for k, v in d.items() if k != 'b'}",
    "s[::-1].upper().split(' ')[0]",
    "datetime.datetime.fromisoformat(t).strftime('%Y-%m-%d')",
    "json.dumps(d, default=str, sort_keys=True)",
    "int(n) if n else -1",
    "sorted(l, reverse=True)[1:]",
    "'{}-{:>5}'.format(s, l[0])",
    "(datetime.datetime(2024,1,1) - datetime.timedelta(days=l[0])).isoformat()",
];

fn names() -> Dict {
    let rec = r#"{"a": 1, "s": "Hello World", "n": null, "d": {"a": 1, "b": [1.5, "x"]}, "l": [3, 1, 2], "t": "2022-01-01T10:00:00+01:00", "x": 2.5, "owner_email": "o@e.x", "config": {"hash_seed": "k"}}"#;
    match parse_json(rec) {
        Ok(Value::Dict(d)) => (*d).clone(),
        _ => Dict::new(),
    }
}

fn run(src: &str, names: &Dict) {
    if let Ok(e) = Expr::parse(src) {
        let _ = e.eval(names);
    }
}

#[test]
fn random_token_soup_never_panics() {
    let names = names();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..20_000 {
        let n = 1 + rng.below(12);
        let src: String = (0..n)
            .map(|_| PIECES[rng.below(PIECES.len())])
            .collect::<Vec<_>>()
            .join(if rng.below(2) == 0 { " " } else { "" });
        run(&src, &names);
    }
}

#[test]
fn mutated_expressions_never_panic() {
    let names = names();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let mut chars: Vec<char> = SEEDS[rng.below(SEEDS.len())].chars().collect();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(chars.len() + 1);
            match rng.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    for (k, c) in piece.chars().enumerate() {
                        chars.insert(at + k, c);
                    }
                }
                _ if at < chars.len() => chars[at] = char::from(32 + rng.below(95) as u8),
                _ => {}
            }
        }
        run(&chars.iter().collect::<String>(), &names);
    }
}

#[test]
fn random_bytes_as_json_never_panic() {
    let mut rng = Rng(12345);
    let alphabet = b"{}[]\",:0123456789.eE+-tfnulrasNI\\u \xc3\xa9";
    for _ in 0..20_000 {
        let n = rng.below(40);
        let bytes: Vec<u8> = (0..n)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(v) = parse_json(text) {
                let mut out = Vec::new();
                let _ = crate::write_json(&v, &mut out);
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let names = names();
    for src in [
        format!("{}1{}", "(".repeat(5000), ")".repeat(5000)),
        format!("{}1{}", "[".repeat(5000), "]".repeat(5000)),
        "not ".repeat(5000) + "1",
        "-".repeat(5000) + "1",
        vec!["1"; 5000].join("**"),
        vec!["a"; 5000].join("."),
        vec!["l"; 5000].join("[0]"),
        "1".to_string() + &"+1".repeat(5000),
    ] {
        run(&src, &names);
    }
    // The deepest accepted tree still evaluates on a small thread stack.
    let src = "1".to_string() + &"+1".repeat(290);
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || Expr::parse(&src).unwrap().eval(&()).unwrap().py_str())
        .unwrap();
    assert_eq!(handle.join().unwrap(), "291");
}
