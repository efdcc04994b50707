//! smelt-pyexpr: Python expressions as Singer stream maps write them.
//!
//! The Singer SDK evaluates stream-map expressions with simpleeval (`EvalWithCompoundTypes`)
//! over Python values read from JSON. This crate reproduces that: [`Value`] models the Python
//! values (with JSON in/out in [`json`]), [`Expr`] parses once and evaluates per record.

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
pub use json::{parse_json, write_json, JsonError};
pub use names::{Chain, NameList, Names};
pub use value::{DateTimeValue, Dict, Key, Object, Value};

#[cfg(test)]
mod tests_conformance;
#[cfg(test)]
mod tests_fuzz;
#[cfg(test)]
mod tests_python;
