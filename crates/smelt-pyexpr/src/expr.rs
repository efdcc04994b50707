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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EvalErrorKind;
    use crate::names::{Chain, NameList};

    #[test]
    fn unknown_name_is_reported_with_its_column() {
        let e = Expr::parse("1 + aliased.stream")
            .unwrap()
            .eval(&())
            .unwrap_err();
        assert_eq!(e.kind, EvalErrorKind::NameNotDefined("aliased".into()));
        assert_eq!(e.column, 5);
        assert_eq!(e.to_string(), "name 'aliased' is not defined at column 5");
    }

    #[test]
    fn errors_name_the_failing_subexpression() {
        let e = Expr::parse("'a' + (n['x'])").unwrap();
        let names = [("n", Value::None)];
        let err = e.eval(&NameList(&names)).unwrap_err();
        assert_eq!(err.message, "'NoneType' object is not subscriptable");
        assert_eq!(err.column, 8);
        assert_eq!(err.kind, EvalErrorKind::Type);
        let err = Expr::parse("1 + 'a'").unwrap().eval(&()).unwrap_err();
        assert_eq!(
            err.message,
            "unsupported operand type(s) for +: 'int' and 'str'"
        );
    }

    #[test]
    fn names_come_before_builtins() {
        let names = [("str", Value::Int(5)), ("x", Value::str("a"))];
        let e = Expr::parse("str + len(x)").unwrap();
        assert_eq!(e.eval(&NameList(&names)).unwrap().py_str(), "6");
        let first = [("x", Value::Int(1))];
        let second = [("x", Value::Int(2)), ("y", Value::Int(3))];
        let (a, b) = (NameList(&first), NameList(&second));
        let v = Expr::parse("x + y").unwrap().eval(&Chain(&a, &b)).unwrap();
        assert_eq!(v.py_str(), "4");
        assert_eq!(Expr::parse("x").unwrap().source(), "x");
    }

    #[test]
    fn comprehension_targets_follow_simpleeval_zip() {
        // simpleeval: [a for a, b in [(1, 2, 3)]] == [1]
        let v = Expr::parse("[a for a, b in [(1, 2, 3)]]")
            .unwrap()
            .eval(&())
            .unwrap();
        assert_eq!(v.py_repr(), "[1]");
        // Comprehension variables do not leak.
        let e = Expr::parse("[x for x in [1]] and x")
            .unwrap()
            .eval(&())
            .unwrap_err();
        assert_eq!(e.kind, EvalErrorKind::NameNotDefined("x".into()));
    }

    #[test]
    fn comprehension_length_is_bounded_like_simpleeval() {
        let e = Expr::parse("[1 for a in range(200) for b in range(100)]")
            .unwrap()
            .eval(&())
            .unwrap_err();
        assert_eq!(e.message, "Comprehension generates too many elements");
    }
}
