//! smelt-pyexpr: Python expressions as Singer stream maps write them.
