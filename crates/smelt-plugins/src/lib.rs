//! smelt-plugins: the Singer plugins built into the smelt binary, and THE registry of them.
//!
//! Each native plugin is a standard Singer program (`smelt plugin <name> --config c.json ...`),
//! so Meltano itself can run it too, and it is described to the project loader by a
//! [`smelt_project::NativeDefinition`] so `variant: smelt` plugins need no install. Both come
//! from the plugin's one entry in [`REGISTRY`]; the shared machinery is in `smelt-plugin-sdk`.
//!
//! - `tap-csv`: reads CSV files (file, directory or glob per entity) with discovery, catalog
//!   selection and incremental bookmarks.
//! - `target-jsonl`: appends each stream's records to a JSONL file and acknowledges states
//!   only after the records before them are flushed.
//! - `meltano-map-transformer`: the Singer SDK's stream maps (crate `smelt-map-transform`).
//! - `tap-postgres`: PostgreSQL tables and views, FULL_TABLE and INCREMENTAL, compatible with
//!   MeltanoLabs tap-postgres (crate `smelt-tap-postgres`).
//! - `target-postgres`: loads into PostgreSQL with COPY and a merge (crate
//!   `smelt-target-postgres`).
//! - `target-parquet`: one Parquet dataset per stream, local or in an object store (crate
//!   `smelt-target-parquet`).

mod tap_csv;
mod target_jsonl;

use std::ffi::OsString;

use smelt_plugin_sdk::NativePlugin;
use smelt_project::NativeDefinition;

/// Every native plugin, one entry each: adding a plugin means adding one line here.
pub static REGISTRY: &[&NativePlugin] = &[
    &tap_csv::PLUGIN,
    &target_jsonl::PLUGIN,
    &smelt_map_transform::PLUGIN,
    &smelt_tap_postgres::PLUGIN,
    &smelt_target_postgres::PLUGIN,
    &smelt_target_parquet::PLUGIN,
];

/// The definitions of every native plugin, for `LoadOptions.native` when loading a project
/// and for the plugin index.
pub fn native_definitions() -> Vec<NativeDefinition> {
    REGISTRY
        .iter()
        .map(|p| smelt_plugin_sdk::definition(p.spec))
        .collect()
}

/// The names of the native plugins (`tap-csv`, `target-jsonl`), for `smelt plugin` and for
/// telling users which `variant: smelt` plugins exist.
pub fn native_names() -> Vec<&'static str> {
    smelt_plugin_sdk::registry::names(REGISTRY)
}

/// Runs native plugin `name` with Singer-style args (without the program name), reading
/// stdin and writing stdout, logging to stderr. This is what `smelt plugin <name>` calls.
///
/// Returns the process exit code: 0 ok, 1 data or plugin error, 2 usage error (an unknown
/// name lists the native plugins). Never panics on input; an internal panic is caught and
/// reported as exit code 1.
pub fn run_native(name: &str, args: &[OsString]) -> i32 {
    smelt_plugin_sdk::run_native(REGISTRY, name, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use smelt_project::{PluginType, SettingKind};

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn names() {
        assert_eq!(
            native_names(),
            [
                "tap-csv",
                "target-jsonl",
                "meltano-map-transformer",
                "tap-postgres",
                "target-postgres",
                "target-parquet"
            ]
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        assert_eq!(run_native("tap-nope", &[]), 2);
        assert_eq!(run_native("tap-csv", &os(&["--bogus"])), 2);
        assert_eq!(run_native("tap-csv", &os(&["--input", "x"])), 2);
        assert_eq!(run_native("target-jsonl", &os(&["--discover"])), 2);
        assert_eq!(run_native("target-jsonl", &os(&["--state", "s.json"])), 2);
    }

    #[test]
    fn about_exits_0() {
        for name in native_names() {
            assert_eq!(run_native(name, &os(&["--about", "--format", "json"])), 0);
        }
    }

    #[test]
    fn plugin_errors_exit_1() {
        // tap-csv without config: nothing to read.
        assert_eq!(run_native("tap-csv", &[]), 1);
        assert_eq!(
            run_native("tap-csv", &os(&["--config", "/nonexistent/config.json"])),
            1
        );
        assert_eq!(
            run_native(
                "target-jsonl",
                &os(&["--input", "/nonexistent/input.singer"])
            ),
            1
        );
    }

    #[test]
    fn target_reads_input_file() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.singer");
        std::fs::write(
            &input,
            "{\"type\":\"SCHEMA\",\"stream\":\"s\",\"schema\":{\"properties\":{}}}\n{\"type\":\"RECORD\",\"stream\":\"s\",\"record\":{\"a\":1}}\n",
        )
        .unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            serde_json::json!({"destination_path": dir.path().join("out")}).to_string(),
        )
        .unwrap();
        let code = run_native(
            "target-jsonl",
            &[
                OsString::from("--config"),
                config.into_os_string(),
                OsString::from("--input"),
                input.into_os_string(),
            ],
        );
        assert_eq!(code, 0);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out/s.jsonl")).unwrap(),
            "{\"a\":1}\n"
        );
    }

    #[test]
    fn definitions_match_the_plugins() {
        let defs = native_definitions();
        assert_eq!(defs.len(), 6);
        let pg = &defs[3];
        assert_eq!(pg.name, "tap-postgres");
        assert!(matches!(pg.plugin_type, PluginType::Extractor));
        assert_eq!(pg.capabilities, ["catalog", "discover", "state", "about"]);
        let port = pg.settings.iter().find(|s| s.name == "port").unwrap();
        assert_eq!(port.value, Some(json!(5432)));
        let password = pg.settings.iter().find(|s| s.name == "password").unwrap();
        assert!(password.is_sensitive());
        let tap = &defs[0];
        assert_eq!(tap.name, "tap-csv");
        assert_eq!(tap.namespace, "tap_csv");
        assert!(matches!(tap.plugin_type, PluginType::Extractor));
        assert_eq!(tap.capabilities, ["catalog", "discover", "state"]);
        assert!(matches!(tap.settings[0].kind, SettingKind::Array));
        assert_eq!(tap.settings[0].name, "files");

        let target = &defs[1];
        assert_eq!(target.name, "target-jsonl");
        assert_eq!(target.namespace, "target_jsonl");
        assert!(matches!(target.plugin_type, PluginType::Loader));
        let destination = target
            .settings
            .iter()
            .find(|s| s.name == "destination_path")
            .unwrap();
        assert_eq!(destination.value, Some(json!("output")));
        let validate = target
            .settings
            .iter()
            .find(|s| s.name == "validate_records")
            .unwrap();
        assert_eq!(validate.value, Some(json!(true)));
        assert!(matches!(validate.kind, SettingKind::Boolean));

        let mapper = &defs[2];
        assert_eq!(mapper.name, "meltano-map-transformer");
        assert_eq!(mapper.namespace, "meltano_map_transformer");
        assert!(matches!(mapper.plugin_type, PluginType::Mapper));
        let maps = mapper
            .settings
            .iter()
            .find(|s| s.name == "stream_maps")
            .unwrap();
        assert!(matches!(maps.kind, SettingKind::Object));
    }
}
