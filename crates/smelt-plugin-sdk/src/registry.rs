//! The registry entry of a native plugin and the one way every native plugin is run.
//!
//! A registry is a plain slice of [`NativePlugin`] entries. Each entry holds the plugin's
//! [`PluginSpec`], the Singer flags it accepts and its run function; `--help`, `--about`, the
//! usage text, flag checks, input/output setup, error reporting and exit codes are all derived
//! here, so a plugin only implements its data path.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::panic::AssertUnwindSafe;

use crate::args::{self, SingerArgs};
use crate::log;
use crate::spec::PluginSpec;

/// Buffer size for the plugin's input and output streams.
const IO_BUFFER: usize = 256 * 1024;

/// The Singer flags a plugin accepts beyond `--config`, `--about`, `--format` and `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// `--discover`.
    pub discover: bool,
    /// `--catalog FILE` (and its legacy spelling `--properties FILE`).
    pub catalog: bool,
    /// `--state FILE`.
    pub state: bool,
    /// `--input FILE`: read Singer messages from a file instead of stdin.
    pub input: bool,
}

impl Flags {
    /// A tap: discovers, takes a catalog and a state.
    pub const TAP: Flags = Flags {
        discover: true,
        catalog: true,
        state: true,
        input: false,
    };
    /// A target: reads Singer messages.
    pub const TARGET: Flags = Flags {
        discover: false,
        catalog: false,
        state: false,
        input: true,
    };
    /// A mapper: reads Singer messages (and writes them).
    pub const MAPPER: Flags = Flags {
        discover: false,
        catalog: false,
        state: false,
        input: true,
    };

    /// Each optional flag's usage text, whether this plugin takes it, and whether `args` has it.
    fn table(self, args: &SingerArgs) -> [(&'static str, &'static str, bool, bool); 4] {
        [
            (
                "--catalog/--properties",
                "[--catalog FILE | --properties FILE]",
                self.catalog,
                args.catalog.is_some(),
            ),
            (
                "--state",
                "[--state FILE]",
                self.state,
                args.state.is_some(),
            ),
            ("--discover", "[--discover]", self.discover, args.discover),
            (
                "--input",
                "[--input FILE]",
                self.input,
                args.input.is_some(),
            ),
        ]
    }
}

/// One native plugin: its description and how to run it.
#[derive(Debug, Clone, Copy)]
pub struct NativePlugin {
    /// What the plugin is: drives `--about`, usage and the project definition.
    pub spec: &'static PluginSpec,
    /// The Singer flags it accepts beyond --config/--about/--format/--help.
    pub flags: Flags,
    /// Runs the plugin: `input` is stdin or the --input file (the SDK opens it), `output` is
    /// buffered stdout. Errors are printed by the SDK as one ERROR log line and exit code 1.
    pub run: RunFn,
}

/// The run function of a [`NativePlugin`].
pub type RunFn =
    fn(args: &SingerArgs, input: &mut dyn BufRead, output: &mut dyn Write) -> Result<(), String>;

impl NativePlugin {
    /// The plugin's name, as used after `smelt plugin`.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// The one-line usage, derived from the flags the plugin accepts.
    pub fn usage(&self) -> String {
        let mut text = format!("usage: smelt plugin {} [--config FILE]...", self.name());
        for (_, usage, accepted, _) in self.flags.table(&SingerArgs::default()) {
            if accepted {
                text.push(' ');
                text.push_str(usage);
            }
        }
        text.push_str(" [--about [--format json|text|markdown]]");
        if self.flags.input {
            text.push_str("  (Singer messages on stdin)");
        }
        text
    }

    /// Rejects flags this plugin does not take.
    fn check_flags(&self, args: &SingerArgs) -> Result<(), String> {
        match self
            .flags
            .table(args)
            .into_iter()
            .find(|(_, _, accepted, given)| *given && !accepted)
        {
            Some((flag, ..)) => Err(format!("{} does not take {flag}", self.name())),
            None => Ok(()),
        }
    }

    /// Runs the plugin on `--input` or stdin and on buffered stdout, flushing at the end.
    fn run_stdio(&self, args: &SingerArgs) -> Result<(), String> {
        let stdout = std::io::stdout();
        let mut output = BufWriter::with_capacity(IO_BUFFER, stdout.lock());
        match &args.input {
            Some(path) => {
                let file = File::open(path).map_err(|e| {
                    format!(
                        "{}: could not open --input file '{}': {e}",
                        self.name(),
                        path.display()
                    )
                })?;
                let mut input = BufReader::with_capacity(IO_BUFFER, file);
                (self.run)(args, &mut input, &mut output)?;
            }
            None => {
                let stdin = std::io::stdin();
                let mut input = BufReader::with_capacity(IO_BUFFER, stdin.lock());
                (self.run)(args, &mut input, &mut output)?;
            }
        }
        output
            .flush()
            .map_err(|e| format!("{}: could not write to stdout: {e}", self.name()))
    }
}

/// The entry named `name`, if the registry has one.
pub fn find<'a>(registry: &[&'a NativePlugin], name: &str) -> Option<&'a NativePlugin> {
    registry.iter().copied().find(|p| p.name() == name)
}

/// The names in the registry, in registry order.
pub fn names(registry: &[&NativePlugin]) -> Vec<&'static str> {
    registry.iter().map(|p| p.name()).collect()
}

/// Runs plugin `name` from `registry` with Singer args: usage errors exit 2, plugin errors 1,
/// --help/--about print and exit 0, a panic is caught and reported as exit 1.
pub fn run_native(registry: &[&NativePlugin], name: &str, args: &[OsString]) -> i32 {
    let Some(plugin) = find(registry, name) else {
        log::error(&format!(
            "unknown native plugin '{name}'; native plugins are: {}",
            names(registry).join(", ")
        ));
        return 2;
    };
    let parsed = match args::parse(args) {
        Ok(parsed) => parsed,
        Err(e) => return usage_error(plugin, &format!("{name}: {e}")),
    };
    if parsed.help {
        let text = format!("{}\n\n{}\n", plugin.spec.description, plugin.usage());
        return print_stdout(name, &text);
    }
    if let Err(message) = plugin.check_flags(&parsed) {
        return usage_error(plugin, &message);
    }
    if parsed.about {
        return print_stdout(name, &plugin.spec.render_about(parsed.format));
    }
    match std::panic::catch_unwind(AssertUnwindSafe(|| plugin.run_stdio(&parsed))) {
        Ok(Ok(())) => 0,
        Ok(Err(message)) => {
            log::error(&message);
            1
        }
        Err(_) => {
            log::error(&format!(
                "{name}: internal error (a bug in smelt; please report it with the input that caused it)"
            ));
            1
        }
    }
}

/// Logs a usage error, prints the usage line on stderr and returns exit code 2.
fn usage_error(plugin: &NativePlugin, message: &str) -> i32 {
    log::error(message);
    // A closed stderr is ignored: there is nowhere else to say it.
    let _ = writeln!(std::io::stderr().lock(), "{}", plugin.usage());
    2
}

/// Prints `text` on stdout: exit code 0, or 1 when stdout cannot be written.
fn print_stdout(name: &str, text: &str) -> i32 {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => 0,
        Err(e) => {
            log::error(&format!("{name}: could not write to stdout: {e}"));
            1
        }
    }
}

#[cfg(test)]
mod tests;
