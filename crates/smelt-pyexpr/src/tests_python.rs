//! Expressions checked against Python: each expected text is what simpleeval 1.0.7
//! (`EvalWithCompoundTypes`, with the SDK's functions) printed as `repr(result)` or
//! `ERROR: message` for the record below.

use crate::{parse_json, Dict, Expr, Value};

const RECORD: &str = r#"{"email":"alice@example.com","count":21,"user":{"id":1,"sub":{"num":1,"custom_obj":"obj-hello"},"some_numbers":[3.14,2.718]},"joined_at":"2022-01-01T00:00:00Z","name":"tap-something","custom_fields":[{"id":1,"value":"x"},{"id":2,"value":"3"}],"s":"Hello, World","n":null,"f":2.5,"create_date":"2019-01-01"}"#;

/// (expression, Python's repr of the result or "ERROR: message").
const CASES: &[(&str, &str)] = &[
    (r#"md5(email)"#, r#"'c160f8cc69a4f0bf2b0362752353d060'"#),
    (
        r#"sha256(email)"#,
        r#"'ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976'"#,
    ),
    (r#"int(count-1)"#, r#"20"#),
    (r#"count < 20"#, r#"False"#),
    (r#"bool(count < 20)"#, r#"False"#),
    (r#"email.upper()"#, r#"'ALICE@EXAMPLE.COM'"#),
    (r#"email.split('@')[1]"#, r#"'example.com'"#),
    (r#"'tap-' in name or 'target-' in name"#, r#"True"#),
    (
        r#"json.dumps(user, default=str)"#,
        r#"'{"id": 1, "sub": {"num": 1, "custom_obj": "obj-hello"}, "some_numbers": ["3.14", "2.718"]}'"#,
    ),
    (
        r#"json.dumps(user)"#,
        r#"ERROR: Object of type Decimal is not JSON serializable"#,
    ),
    (r#"int('0')"#, r#"0"#),
    (r#"str('[masked]')"#, r#"'[masked]'"#),
    (
        r#"dict([(x["id"], x["value"]) for x in custom_fields]).get(1)"#,
        r#"'x'"#,
    ),
    (
        r#"int(dict([(x["id"], x["value"]) for x in custom_fields]).get(2)) if dict([(x["id"], x["value"]) for x in custom_fields]).get(2) else None"#,
        r#"3"#,
    ),
    (
        r#"bool(dict([(x["id"], x["value"]) for x in custom_fields]).get(3)) if dict([(x["id"], x["value"]) for x in custom_fields]).get(3) else None"#,
        r#"None"#,
    ),
    (r#"7 / 2"#, r#"3.5"#),
    (r#"7 // 2"#, r#"3"#),
    (r#"-7 // 2"#, r#"-4"#),
    (r#"-7 % 3"#, r#"2"#),
    (r#"7 % -3"#, r#"-2"#),
    (r#"2 ** 10"#, r#"1024"#),
    (r#"2 ** -1"#, r#"0.5"#),
    (r#"-2 ** 2"#, r#"-4"#),
    (r#"1 + 2.5"#, r#"3.5"#),
    (r#"user['some_numbers'][0] + 1"#, r#"Decimal('4.14')"#),
    (
        r#"user['some_numbers'][0] + 1.5"#,
        r#"ERROR: unsupported operand type(s) for +: 'decimal.Decimal' and 'float'"#,
    ),
    (r#"user['some_numbers'][0] * 2"#, r#"Decimal('6.28')"#),
    (
        r#"user['some_numbers'][0] / 3"#,
        r#"Decimal('1.046666666666666666666666667')"#,
    ),
    (
        r#"'a' + 1"#,
        r#"ERROR: can only concatenate str (not "int") to str"#,
    ),
    (
        r#"None['x']"#,
        r#"ERROR: 'NoneType' object is not subscriptable"#,
    ),
    (r#"user['nope']"#, r#"ERROR: KeyError: 'nope'"#),
    (r#"[1,2,3][5]"#, r#"ERROR: list index out of range"#),
    (r#"s[::-1]"#, r#"'dlroW ,olleH'"#),
    (r#"s[1:5]"#, r#"'ello'"#),
    (r#"s[-3:]"#, r#"'rld'"#),
    (r#"s[::2]"#, r#"'Hlo ol'"#),
    (r#"[1,2,3,4][1:3]"#, r#"[2, 3]"#),
    (r#"1 < 2 < 3"#, r#"True"#),
    (r#"3 > 2 > 2"#, r#"False"#),
    (
        r#"1 < 'a'"#,
        r#"ERROR: '<' not supported between instances of 'int' and 'str'"#,
    ),
    (r#"1 == 'a'"#, r#"False"#),
    (r#"1 == 1.0"#, r#"True"#),
    (r#"None is None"#, r#"True"#),
    (r#"n is not None"#, r#"False"#),
    (r#"n or 'default'"#, r#"'default'"#),
    (r#"0 and 1"#, r#"0"#),
    (r#"'' or [] or 0"#, r#"0"#),
    (r#"{1: 'a', 'b': [1, 2]}"#, r#"{1: 'a', 'b': [1, 2]}"#),
    (r#"{1, 2, 2}"#, r#"{1, 2}"#),
    (r#"(1,)"#, r#"(1,)"#),
    (r#"()"#, r#"()"#),
    (r#"[x * 2 for x in range(5) if x % 2 == 0]"#, r#"[0, 4, 8]"#),
    (
        r#"{k: v for k, v in user.items() if k != 'sub'}"#,
        r#"{'id': 1, 'some_numbers': [Decimal('3.14'), Decimal('2.718')]}"#,
    ),
    (r#"''.join(c for c in s if c.isalpha())"#, r#"'HelloWorld'"#),
    (r#"[a + b for a, b in [(1, 2), (3, 4)]]"#, r#"[3, 7]"#),
    (
        r#"[(x, y) for x in range(3) for y in range(x)]"#,
        r#"[(1, 0), (2, 0), (2, 1)]"#,
    ),
    (r#"s.lower().replace('l', 'L', 2)"#, r#"'heLLo, world'"#),
    (r#"s.split()"#, r#"['Hello,', 'World']"#),
    (r#"'a,b,,c'.split(',')"#, r#"['a', 'b', '', 'c']"#),
    (r#"'  x  '.strip()"#, r#"'x'"#),
    (r#"'xxhixx'.strip('x')"#, r#"'hi'"#),
    (r#"s.startswith(('He', 'x'))"#, r#"True"#),
    (r#"s.find('o')"#, r#"4"#),
    (r#"s.rfind('o')"#, r#"8"#),
    (r#"s.count('l')"#, r#"3"#),
    (r#"s.title()"#, r#"'Hello, World'"#),
    (r#"'hello world'.capitalize()"#, r#"'Hello world'"#),
    (r#"'42'.zfill(5)"#, r#"'00042'"#),
    (r#"'-42'.zfill(5)"#, r#"'-0042'"#),
    (r#"'ab'.center(7, '*')"#, r#"'***ab**'"#),
    (r#"'ab'.ljust(5) + '|'"#, r#"'ab   |'"#),
    (r#"'a=b=c'.partition('=')"#, r#"('a', '=', 'b=c')"#),
    (r#"'a=b=c'.rpartition('=')"#, r#"('a=b', '=', 'c')"#),
    (r#"'x\ny\r\nz'.splitlines()"#, r#"['x', 'y', 'z']"#),
    (r#"'prefix_x'.removeprefix('prefix_')"#, r#"'x'"#),
    (r#"int(' 42 ')"#, r#"42"#),
    (r#"int('1_000')"#, r#"1000"#),
    (r#"int('-0x1f', 16)"#, r#"-31"#),
    (r#"int(3.9)"#, r#"3"#),
    (r#"int(-3.9)"#, r#"-3"#),
    (
        r#"int('abc')"#,
        r#"ERROR: invalid literal for int() with base 10: 'abc'"#,
    ),
    (r#"float('nan')"#, r#"nan"#),
    (r#"float(' -inf ')"#, r#"-inf"#),
    (r#"float('1e3')"#, r#"1000.0"#),
    (
        r#"float('x')"#,
        r#"ERROR: could not convert string to float: 'x'"#,
    ),
    (r#"str(1.0)"#, r#"'1.0'"#),
    (r#"str(True)"#, r#"'True'"#),
    (r#"str(None)"#, r#"'None'"#),
    (r#"str({'a': 1})"#, r#""{'a': 1}""#),
    (
        r#"str(user)"#,
        r#""{'id': 1, 'sub': {'num': 1, 'custom_obj': 'obj-hello'}, 'some_numbers': [Decimal('3.14'), Decimal('2.718')]}""#,
    ),
    (r#"str(1e16)"#, r#"'1e+16'"#),
    (r#"str(0.1 + 0.2)"#, r#"'0.30000000000000004'"#),
    (r#"round(2.5)"#, r#"2"#),
    (r#"round(3.5)"#, r#"4"#),
    (r#"round(2.675, 2)"#, r#"2.67"#),
    (r#"round(user['some_numbers'][0], 1)"#, r#"Decimal('3.1')"#),
    (r#"abs(-3)"#, r#"3"#),
    (r#"min(3, 1, 2)"#, r#"1"#),
    (r#"max([1, 5, 3])"#, r#"5"#),
    (r#"sum([1, 2, 3])"#, r#"6"#),
    (r#"sorted([3, 1, 2], reverse=True)"#, r#"[3, 2, 1]"#),
    (r#"sorted(['b', 'a'])"#, r#"['a', 'b']"#),
    (r#"len(s)"#, r#"12"#),
    (r#"len(user)"#, r#"3"#),
    (r#"any([0, 1])"#, r#"True"#),
    (r#"all([])"#, r#"True"#),
    (r#"list('abc')"#, r#"['a', 'b', 'c']"#),
    (r#"tuple([1, 2])"#, r#"(1, 2)"#),
    (r#"set([1, 1, 2])"#, r#"{1, 2}"#),
    (r#"dict(a=1, b=2)"#, r#"{'a': 1, 'b': 2}"#),
    (r#"user.get('id')"#, r#"1"#),
    (r#"user.get('zz', 'dflt')"#, r#"'dflt'"#),
    (r#"list(user.keys())"#, r#"['id', 'sub', 'some_numbers']"#),
    (r#"user.id"#, r#"1"#),
    (r#"[1, 2] + [3]"#, r#"[1, 2, 3]"#),
    (r#"[0] * 3"#, r#"[0, 0, 0]"#),
    (r#"'ab' * 3"#, r#"'ababab'"#),
    (r#"(1, 2) + (3,)"#, r#"(1, 2, 3)"#),
    (r#"True + True"#, r#"2"#),
    (r#"1 if count > 20 else 2"#, r#"1"#),
    (r#"not count"#, r#"False"#),
    (r#"~5"#, r#"-6"#),
    (
        r#"2 ** 4000001"#,
        r#"ERROR: Sorry! I don't want to evaluate 2 ** 4000001"#,
    ),
    (
        r#"'x' * 200000"#,
        r#"ERROR: Sorry, I will not evaluate something that long."#,
    ),
    (
        r#"datetime.datetime(2024, 1, 2, 3, 4, 5)"#,
        r#"datetime.datetime(2024, 1, 2, 3, 4, 5)"#,
    ),
    (
        r#"datetime.date(2024, 1, 2) + datetime.timedelta(days=30)"#,
        r#"datetime.date(2024, 2, 1)"#,
    ),
    (
        r#"datetime.datetime(2024, 1, 2) - datetime.datetime(2023, 1, 1)"#,
        r#"datetime.timedelta(days=366)"#,
    ),
    (
        r#"(datetime.datetime(2024, 1, 2) - datetime.datetime(2023, 1, 1)).total_seconds()"#,
        r#"31622400.0"#,
    ),
    (
        r#"(datetime.datetime(2024, 1, 2) - datetime.datetime(2023, 1, 1)).days"#,
        r#"366"#,
    ),
    (
        r#"datetime.datetime.strptime('2024-03-04 05:06', '%Y-%m-%d %H:%M')"#,
        r#"datetime.datetime(2024, 3, 4, 5, 6)"#,
    ),
    (
        r#"datetime.datetime(2024, 3, 4).strftime('%Y/%m/%d %A')"#,
        r#"'2024/03/04 Monday'"#,
    ),
    (
        r#"datetime.datetime.fromtimestamp(0, datetime.timezone.utc)"#,
        r#"datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)"#,
    ),
    (r#"datetime.timezone.utc"#, r#"datetime.timezone.utc"#),
    (
        r#"str(datetime.timedelta(hours=25))"#,
        r#"'1 day, 1:00:00'"#,
    ),
    (
        r#"json.dumps({'a': [1, 2.5, None, True], 'é': 'ü'})"#,
        r#"'{"a": [1, 2.5, null, true], "\\u00e9": "\\u00fc"}'"#,
    ),
    (
        r#"json.dumps({'b': 1, 'a': 2}, sort_keys=True, indent=2)"#,
        r#"'{\n  "a": 2,\n  "b": 1\n}'"#,
    ),
    (r#"json.dumps([1, 2], separators=(',', ':'))"#, r#"'[1,2]'"#),
    (r#"json.loads('{"a": [1, 2.5]}')"#, r#"{'a': [1, 2.5]}"#),
    (
        r#"json.dumps(datetime.date(2020, 1, 1), default=str)"#,
        r#"'"2020-01-01"'"#,
    ),
    (
        r#"user.__class__"#,
        r#"ERROR: Sorry, access to __attributes  or func_ attributes is not available. (__class__)"#,
    ),
    (r#"len(5)"#, r#"ERROR: object of type 'int' has no len()"#),
    (r#"[1, 2].index(2)"#, r#"1"#),
    (r#"(1, 2, 1).count(1)"#, r#"2"#),
    (r#"'a' < 'b'"#, r#"True"#),
    (r#"[1, 2] < [1, 3]"#, r#"True"#),
    (r#"1 in [1, 2]"#, r#"True"#),
    (r#"'x' in {'x': 1}"#, r#"True"#),
    (r#"3 not in (1, 2)"#, r#"True"#),
    (r#"{'a': 1} == {'a': 1}"#, r#"True"#),
    (
        r#"1 in 5"#,
        r#"ERROR: argument of type 'int' is not iterable"#,
    ),
];

fn record() -> Dict {
    match parse_json(RECORD) {
        Ok(Value::Dict(d)) => (*d).clone(),
        _ => Dict::new(),
    }
}

#[test]
fn matches_simpleeval() {
    let names = record();
    let mut failures = Vec::new();
    for (src, want) in CASES {
        let got = match Expr::parse(src) {
            Err(e) => format!("PARSE ERROR: {e}"),
            Ok(x) => match x.eval(&names) {
                Ok(v) => v.py_repr(),
                Err(e) => format!("ERROR: {}", e.message),
            },
        };
        if got != *want {
            failures.push(format!("{src}\n  want {want}\n  got  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
