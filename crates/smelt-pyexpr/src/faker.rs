//! The `fake` object of stream maps (a small deterministic stand-in for Python's Faker).

use crate::value::Value;

/// The generator state behind a `fake` object.
#[derive(Debug)]
pub(crate) struct FakerState {
    pub(crate) state: u64,
}

/// The `fake` object of stream maps.
pub fn faker(_seed: Option<&Value>, _locale: Option<&str>) -> Value {
    Value::obj(crate::value::ObjKind::Faker(std::cell::RefCell::new(
        FakerState { state: 0 },
    )))
}
