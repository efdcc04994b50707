//! smelt's native `target-postgres` (being built; see issue 11).

use std::io::{BufRead, Write};

use smelt_plugin_sdk::args::SingerArgs;
use smelt_plugin_sdk::registry::{Flags, NativePlugin};
use smelt_plugin_sdk::spec::{PluginKind, PluginSpec};

/// The plugin's description, capabilities and settings.
pub const SPEC: PluginSpec = PluginSpec {
    name: "target-postgres",
    kind: PluginKind::Loader,
    description: "Built into smelt.",
    capabilities: &["about"],
    settings: &[],
};

/// The registry entry.
pub static PLUGIN: NativePlugin = NativePlugin {
    spec: &SPEC,
    flags: Flags::TARGET,
    run: run_plugin,
};

fn run_plugin(
    _args: &SingerArgs,
    _input: &mut dyn BufRead,
    _output: &mut dyn Write,
) -> Result<(), String> {
    Err("target-postgres is not built yet".to_string())
}
