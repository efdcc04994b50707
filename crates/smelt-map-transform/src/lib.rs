//! smelt-map-transform: the native `meltano-map-transformer` mapper.
//!
//! Stream maps are half of what `meltano run` pipelines are for: a mapper between tap and
//! target renames, filters, hashes, flattens and computes properties. This crate does what the
//! Singer SDK's stream maps (and so PyPI's `meltano-map-transform`) do, with the same config
//! (`stream_maps` with `__alias__`, `__filter__`, `__source__`, `__else__`,
//! `__key_properties__`, `null` / `"__NULL__"` drops and wildcard keys; `stream_map_config`;
//! `flattening_*`; `faker_config`), the same Python expressions (through `smelt-pyexpr`, parsed
//! once at start-up) and the same schema typing — with no Python.
//!
//! Deliberate differences from the standalone Python mapper: `time_extracted` is passed
//! through rather than re-stamped; BATCH messages are renamed for maps that leave records
//! untouched (and refused for maps that change them) instead of always refused; `fake` values
//! come from smelt's own seeded generator, not Python Faker.

mod config;
mod error;
mod flatten;
mod mapper;
mod names;
mod plugin;
mod raw;
mod record;
mod schema;
mod stream_map;

pub use config::{Flattening, MapperConfig};
pub use error::MapError;
pub use mapper::{map_stream, MapStats};
pub use plugin::PLUGIN;
