//! smelt-map-transform: the native `meltano-map-transformer` mapper.
