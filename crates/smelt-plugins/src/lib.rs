//! smelt-plugins: the Singer plugins built into the smelt binary.
//!
//! Each native plugin is a standard Singer program (`smelt plugin <name> --config c.json ...`),
//! so Meltano itself can run it too, and it is described to the project loader by a
//! [`smelt_project::NativeDefinition`] so `variant: smelt` plugins need no install.
//!
//! - `tap-csv`: reads CSV files (file, directory or glob per entity) with discovery, catalog
//!   selection and incremental bookmarks.
//! - `target-jsonl`: appends each stream's records to a JSONL file and acknowledges states
//!   only after the records before them are flushed.

mod args;
mod definitions;
mod json_file;
mod json_write;
mod log;
mod messages;
mod spec;
mod tap_csv;
mod target_jsonl;

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::panic::AssertUnwindSafe;

use args::SingerArgs;
use spec::PluginSpec;

pub use definitions::native_definitions;

const IO_BUFFER: usize = 256 * 1024;

/// The native plugins, one variant each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NativePlugin {
    TapCsv,
    TargetJsonl,
}

const ALL: [NativePlugin; 2] = [NativePlugin::TapCsv, NativePlugin::TargetJsonl];

impl NativePlugin {
    fn spec(self) -> &'static PluginSpec {
        match self {
            NativePlugin::TapCsv => &tap_csv::SPEC,
            NativePlugin::TargetJsonl => &target_jsonl::SPEC,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|p| p.spec().name == name)
    }

    fn usage(self) -> String {
        let name = self.spec().name;
        match self {
            NativePlugin::TapCsv => format!(
                "usage: smelt plugin {name} [--config FILE]... [--catalog FILE | --properties FILE] \
                 [--state FILE] [--discover] [--about [--format json|text|markdown]]"
            ),
            NativePlugin::TargetJsonl => format!(
                "usage: smelt plugin {name} [--config FILE]... [--input FILE] \
                 [--about [--format json|text|markdown]]  (Singer messages on stdin)"
            ),
        }
    }

    /// Rejects flags that make no sense for this kind of plugin.
    fn check_flags(self, args: &SingerArgs) -> Result<(), String> {
        let unsupported: &[(&str, bool)] = match self {
            NativePlugin::TapCsv => &[("--input", args.input.is_some())],
            NativePlugin::TargetJsonl => &[
                ("--discover", args.discover),
                ("--catalog/--properties", args.catalog.is_some()),
                ("--state", args.state.is_some()),
            ],
        };
        match unsupported.iter().find(|(_, given)| *given) {
            Some((flag, _)) => Err(format!("{} does not take {flag}", self.spec().name)),
            None => Ok(()),
        }
    }

    /// Runs the plugin on the process's stdin / stdout.
    fn run_stdio(self, args: &SingerArgs) -> Result<(), String> {
        let stdout = std::io::stdout();
        let mut out = BufWriter::with_capacity(IO_BUFFER, stdout.lock());
        match self {
            NativePlugin::TapCsv => tap_csv::run(args, &mut out).map_err(|e| e.to_string()),
            NativePlugin::TargetJsonl => {
                let result = match &args.input {
                    Some(path) => {
                        let file = File::open(path).map_err(|e| {
                            format!(
                                "target-jsonl: could not open --input file '{}': {e}",
                                path.display()
                            )
                        })?;
                        target_jsonl::run(args, BufReader::with_capacity(IO_BUFFER, file), &mut out)
                    }
                    None => {
                        let stdin = std::io::stdin();
                        target_jsonl::run(
                            args,
                            BufReader::with_capacity(IO_BUFFER, stdin.lock()),
                            &mut out,
                        )
                    }
                };
                result.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }
}

/// The names of the native plugins (`tap-csv`, `target-jsonl`), for `smelt plugin` and for
/// telling users which `variant: smelt` plugins exist.
pub fn native_names() -> Vec<&'static str> {
    ALL.iter().map(|p| p.spec().name).collect()
}

/// Runs native plugin `name` with Singer-style args (without the program name), reading
/// stdin and writing stdout, logging to stderr. This is what `smelt plugin <name>` calls.
///
/// Returns the process exit code: 0 ok, 1 data or plugin error, 2 usage error. Never panics
/// on input; an internal panic is caught and reported as exit code 1.
pub fn run_native(name: &str, args: &[OsString]) -> i32 {
    let Some(plugin) = NativePlugin::from_name(name) else {
        log::log(
            log::Level::Error,
            &format!(
                "unknown native plugin '{name}'; native plugins are: {}",
                native_names().join(", ")
            ),
        );
        return 2;
    };
    let parsed = match args::parse(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            log::log(log::Level::Error, &format!("{name}: {e}"));
            print_usage(plugin);
            return 2;
        }
    };
    if parsed.help {
        let mut stdout = std::io::stdout().lock();
        let text = format!("{}\n\n{}\n", plugin.spec().description, plugin.usage());
        return match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => 0,
            Err(_) => 1,
        };
    }
    if let Err(message) = plugin.check_flags(&parsed) {
        log::log(log::Level::Error, &message);
        print_usage(plugin);
        return 2;
    }
    if parsed.about {
        let text = plugin.spec().render_about(parsed.format);
        let mut stdout = std::io::stdout().lock();
        return match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => 0,
            Err(e) => {
                log::log(
                    log::Level::Error,
                    &format!("{name}: could not write to stdout: {e}"),
                );
                1
            }
        };
    }
    match std::panic::catch_unwind(AssertUnwindSafe(|| plugin.run_stdio(&parsed))) {
        Ok(Ok(())) => 0,
        Ok(Err(message)) => {
            log::log(log::Level::Error, &message);
            1
        }
        Err(_) => {
            log::log(
                log::Level::Error,
                &format!("{name}: internal error (a bug in smelt; please report it with the input that caused it)"),
            );
            1
        }
    }
}

/// Prints the usage line on stderr (ignoring a closed stderr).
fn print_usage(plugin: NativePlugin) {
    let _ = writeln!(std::io::stderr().lock(), "{}", plugin.usage());
}

/// "an object", "a string", ... for error messages about JSON values.
pub(crate) fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn names() {
        assert_eq!(native_names(), ["tap-csv", "target-jsonl"]);
        assert_eq!(
            NativePlugin::from_name("tap-csv"),
            Some(NativePlugin::TapCsv)
        );
        assert_eq!(NativePlugin::from_name("tap-x"), None);
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
    fn json_type_names() {
        assert_eq!(json_type_name(&serde_json::json!([])), "an array");
        assert_eq!(json_type_name(&serde_json::json!(null)), "null");
    }
}
