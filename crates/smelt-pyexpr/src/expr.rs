//! A parsed expression, ready to evaluate once per record.

use crate::ast::Node;
use crate::error::{EvalError, ParseError};
use crate::names::Names;
use crate::value::Value;

/// A parsed expression: parse once per map, evaluate per record with no re-parsing.
#[derive(Debug)]
pub struct Expr {
    source: String,
    root: Node,
}

impl Expr {
    /// Parses `source` as a Python expression.
    pub fn parse(source: &str) -> Result<Expr, ParseError> {
        let root = crate::parser::parse(source)?;
        Ok(Expr {
            source: source.to_string(),
            root,
        })
    }

    /// The text the expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression with `names` (then the builtins) in scope.
    pub fn eval(&self, names: &dyn Names) -> Result<Value, EvalError> {
        let mut cx = crate::eval::Ctx::new(names);
        crate::eval::eval(&self.root, &mut cx)
    }
}
