//! The two ways an expression fails: it is not valid (parse) or it fails on a record (eval).

/// An expression that is not valid Python, or uses syntax stream maps do not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct ParseError {
    /// 1-based column, in chars.
    pub column: usize,
    /// What is wrong, in Python's words where possible.
    pub message: String,
}

/// Why an evaluation failed; the mapper treats an unknown name specially (an alias naming an
/// unknown name falls back to its literal text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalErrorKind {
    /// A name that is neither in the names nor a builtin (carries the name).
    NameNotDefined(String),
    /// Python's TypeError.
    Type,
    /// Python's ValueError (and other value problems: KeyError, IndexError, ZeroDivisionError).
    Value,
    /// Anything else (limits, unsupported features).
    Other,
}

/// An expression that failed on the values it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct EvalError {
    /// 1-based column of the sub-expression that failed.
    pub column: usize,
    /// What failed, in Python's words ("name 'foo' is not defined").
    pub message: String,
    /// The class of failure.
    pub kind: EvalErrorKind,
}

/// An evaluation failure before its column is known; the evaluator adds the column of the node
/// being evaluated. Builtins and methods return this.
#[derive(Debug, Clone)]
pub(crate) struct Fail {
    pub kind: EvalErrorKind,
    pub message: String,
}

impl Fail {
    pub(crate) fn type_err(message: impl Into<String>) -> Fail {
        Fail {
            kind: EvalErrorKind::Type,
            message: message.into(),
        }
    }
    pub(crate) fn value_err(message: impl Into<String>) -> Fail {
        Fail {
            kind: EvalErrorKind::Value,
            message: message.into(),
        }
    }
    pub(crate) fn other(message: impl Into<String>) -> Fail {
        Fail {
            kind: EvalErrorKind::Other,
            message: message.into(),
        }
    }
    pub(crate) fn at(self, column: usize) -> EvalError {
        EvalError {
            column,
            message: self.message,
            kind: self.kind,
        }
    }
}

/// Result of builtins, methods and operators.
pub(crate) type FResult<T> = Result<T, Fail>;
