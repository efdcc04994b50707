//! Where an expression finds its variables (the record's properties, `config`, `_`...).

use crate::value::{Dict, Value};

/// Where an expression looks up a name before the builtins (simpleeval: names first, then
/// functions). Implementations should not allocate: values are Rc-cheap to clone.
pub trait Names {
    /// The value bound to `name`, if any.
    fn lookup(&self, name: &str) -> Option<Value>;
}

/// A dict's string keys are names (a record used directly as the namespace).
impl Names for Dict {
    fn lookup(&self, name: &str) -> Option<Value> {
        self.get_str(name).cloned()
    }
}

/// No names at all: only builtins resolve.
impl Names for () {
    fn lookup(&self, _name: &str) -> Option<Value> {
        None
    }
}

/// A few fixed names, searched in order (small, allocation-free namespaces for tests and
/// aliases).
pub struct NameList<'a>(pub &'a [(&'a str, Value)]);

impl Names for NameList<'_> {
    fn lookup(&self, name: &str) -> Option<Value> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Names of `first`, then of `second` (e.g. the SDK's extra names over the record's).
pub struct Chain<'a>(pub &'a dyn Names, pub &'a dyn Names);

impl Names for Chain<'_> {
    fn lookup(&self, name: &str) -> Option<Value> {
        self.0.lookup(name).or_else(|| self.1.lookup(name))
    }
}
