//! smelt-plugin-sdk: what every native Singer plugin of smelt is built on.
//!
//! A native plugin is a standard Singer program that runs inside the `smelt` binary
//! (`smelt plugin <name> ...`). Everything that is the same for all of them lives here, so a
//! plugin crate holds only its data path:
//!
//! - [`args`]: Singer command-line arguments ([`SingerArgs`]).
//! - [`spec`]: the static description ([`PluginSpec`]) that `--about`, usage and the project
//!   definition ([`definition`]) are derived from.
//! - [`registry`]: the registry entry ([`NativePlugin`]) and [`run_native`], which handles
//!   `--help`, `--about`, flag checks, input/output, errors and exit codes for every plugin.
//! - [`json_file`]: reading config, catalog and state files ([`load_config`]).
//! - [`settings`]: typed values out of that config ([`settings::bool_setting`],
//!   [`settings::string_setting`], [`settings::u64_setting`], …), errors naming the key.
//! - [`target_input`]: a target's input loop, shared by every native target.
//! - [`catalog`]: the `--catalog` a tap is handed and which streams/properties it selects.
//! - [`messages`], [`json_write`]: Singer messages in and out.
//! - [`log`]: log lines on stderr.

pub mod args;
pub mod catalog;
pub mod definition;
pub mod json_file;
pub mod json_write;
pub mod log;
pub mod messages;
/// Stream names as file and directory names.
pub mod names;
pub mod registry;
pub mod settings;
pub mod spec;
/// A target's input: Singer lines read, numbered and dispatched by message type.
pub mod target_input;

pub use args::{AboutFormat, ArgsError, SingerArgs};
pub use definition::definition;
pub use json_file::{json_type_name, load_config, read_json, read_json_object, JsonFileError};
pub use registry::{run_native, Flags, NativePlugin, RunFn};
pub use spec::{DefaultValue, PluginKind, PluginSpec, SettingSpec, SettingType};
