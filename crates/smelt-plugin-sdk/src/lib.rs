//! smelt-plugin-sdk: what every native Singer plugin of smelt is built on.
