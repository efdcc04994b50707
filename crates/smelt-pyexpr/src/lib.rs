//! smelt-pyexpr: Python expressions as Singer stream maps write them.
//!
//! The Singer SDK evaluates stream-map expressions with simpleeval (`EvalWithCompoundTypes`)
//! over Python values read from JSON. This crate reproduces that: [`Value`] models the Python
//! values (JSON in and out with [`parse_json`] / [`write_json`]), [`Expr`] parses once and
//! evaluates per record against a [`Names`] namespace, then the builtins.
//!
//! Where this engine knowingly differs from Python + simpleeval 1.0.7:
//! - ints are 64-bit: a result beyond i64 is the error "integer too large";
//! - `range()` returns a list (bounded to 100000 items) and generator expressions are
//!   evaluated eagerly into lists;
//! - sets iterate in insertion order (Python's order depends on hashes);
//! - a superset is accepted: `str.format`, set comprehensions and `len`/`min`/`max`/`sorted`/...
//!   work here although the SDK's simpleeval refuses them;
//! - unknown names say "name 'x' is not defined" (simpleeval: "'x' is not defined for
//!   expression ..."), unknown attributes say "'str' object has no attribute 'x'";
//! - JSON numbers in exponent form are kept as their value, not their text (`1.5E+2` is
//!   written back as `150`), and numbers beyond rust_decimal's 28 digits become floats;
//! - `Decimal` results keep rust_decimal's scale (`10.50 / 4` is `2.6250`, Python `2.625`);
//!   the value is the same;
//! - `str.casefold`/`title`/`capitalize` use Rust's Unicode case mappings (Python's special
//!   cases such as `ß` → `ss` in `casefold` are not applied), and `int()` reads ASCII digits only.
//!
//! f-strings work as in simpleeval: fields are `str()`-ed or formatted with their spec, and a
//! `!r`/`!s`/`!a` conversion is ignored.

#![warn(missing_docs)]

mod ast;
mod builtins;
mod call;
mod datetime;
mod error;
mod eval;
mod expr;
mod faker;
mod float_fmt;
mod format;
mod json;
mod lexer;
mod methods;
mod names;
mod ops;
mod parser;
mod pyjson;
mod repr;
mod value;

pub use error::{EvalError, EvalErrorKind, ParseError};
pub use expr::Expr;
pub use faker::faker;
pub use float_fmt::py_float_repr;
pub use json::{parse_json, write_json, write_json_ascii, JsonError};
pub use names::{Chain, NameList, Names};
pub use value::{DateTimeValue, Dict, Key, Object, Value};

#[cfg(test)]
mod tests_conformance;
#[cfg(test)]
mod tests_fuzz;
#[cfg(test)]
mod tests_python;
