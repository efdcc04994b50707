//! smelt-pyexpr: Python expressions as Singer stream maps write them.
//!
//! The Singer SDK evaluates stream-map expressions with simpleeval (`EvalWithCompoundTypes`)
//! over Python values read from JSON. This crate reproduces that: [`Value`] models the Python
//! values (with JSON in/out in [`json`]), [`Expr`] parses once and evaluates per record.

// Interim: the evaluator that reads these is being written.
#![allow(dead_code)]

mod ast;
mod builtins;
mod error;
mod expr;
mod faker;
mod float_fmt;
mod json;
mod lexer;
mod names;
mod parser;
mod repr;
mod value;

pub use error::{EvalError, EvalErrorKind, ParseError};
pub use expr::Expr;
pub use faker::faker;
pub use float_fmt::py_float_repr;
pub use json::{parse_json, write_json, JsonError};
pub use names::{Chain, NameList, Names};
pub use value::{DateTimeValue, Dict, Key, Object, Value};
