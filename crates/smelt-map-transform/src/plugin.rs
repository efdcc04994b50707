//! The mapper as a registered native plugin: its `--about` description and its Singer entry
//! point (`smelt plugin meltano-map-transformer --config c.json`).

use std::io::{BufRead, Write};
use std::time::Instant;

use smelt_plugin_sdk::log::{log, Level};
use smelt_plugin_sdk::{
    load_config, Flags, NativePlugin, PluginKind, PluginSpec, SettingSpec, SettingType, SingerArgs,
};

use crate::config::MapperConfig;
use crate::mapper::map_stream;

/// The registry entry of the native `meltano-map-transformer`.
pub static PLUGIN: NativePlugin = NativePlugin {
    spec: &SPEC,
    flags: Flags::MAPPER,
    run,
};

/// The mapper's settings have no defaults.
const fn setting(name: &'static str, kind: SettingType, description: &'static str) -> SettingSpec {
    smelt_plugin_sdk::spec::setting(name, kind, None, description)
}

/// Name, type and settings: those of the Meltano Hub's `meltano-map-transformer`, so a
/// project can switch `variant:` without touching its config.
static SPEC: PluginSpec = PluginSpec {
    name: "meltano-map-transformer",
    kind: PluginKind::Mapper,
    description: "Stream maps between a tap and a target: rename, filter, drop, hash, compute and \
                  flatten properties with Singer SDK stream-map expressions (built into smelt).",
    capabilities: &["about", "stream-maps", "schema-flattening"],
    settings: &[
        setting(
            "stream_maps",
            SettingType::Object,
            "Stream maps: per stream, `__alias__`, `__filter__`, `__source__`, `__else__`, \
             `__key_properties__` and property expressions (null drops).",
        ),
        setting(
            "stream_map_config",
            SettingType::Object,
            "Values for map expressions, as `config['key']`.",
        ),
        setting(
            "flattening_enabled",
            SettingType::Boolean,
            "Flatten nested properties into `parent__child` columns.",
        ),
        setting(
            "flattening_max_depth",
            SettingType::Integer,
            "How many levels of nested objects to flatten.",
        ),
        setting(
            "flattening_separator",
            SettingType::String,
            "What joins flattened names (default `__`).",
        ),
        setting(
            "flattening_max_key_length",
            SettingType::Integer,
            "Longest flattened name before parts are abbreviated (default 255).",
        ),
        setting(
            "faker_config",
            SettingType::Object,
            "`seed` and `locale` of the `fake` generator.",
        ),
    ],
};

/// Reads the config, then maps stdin (or --input) to stdout.
fn run(args: &SingerArgs, input: &mut dyn BufRead, output: &mut dyn Write) -> Result<(), String> {
    let started = Instant::now();
    let config = load_config(args).map_err(|e| e.to_string())?;
    let config = MapperConfig::from_json(&config).map_err(|e| e.to_string())?;
    let stats = map_stream(&config, input, output).map_err(|e| e.to_string())?;
    log(
        Level::Info,
        &format!(
            "meltano-map-transformer: {} records in, {} out in {:.2}s",
            stats.records_in,
            stats.records_out,
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(())
}
