//! Registry behaviour: lookup, usage derived from flags, exit codes, input handling.

use super::*;
use crate::spec::{PluginKind, SettingSpec, SettingType};

fn spec(name: &'static str, kind: PluginKind) -> &'static PluginSpec {
    Box::leak(Box::new(PluginSpec {
        name,
        kind,
        description: "A demo.",
        capabilities: &["about"],
        settings: &[SettingSpec {
            name: "flag",
            kind: SettingType::Boolean,
            default: None,
            description: "A flag.",
            items: None,
        }],
    }))
}

/// Succeeds only when the input is exactly "ping\n", and echoes it.
fn echo(_: &SingerArgs, input: &mut dyn BufRead, output: &mut dyn Write) -> Result<(), String> {
    let mut text = String::new();
    input.read_to_string(&mut text).map_err(|e| e.to_string())?;
    if text != "ping\n" {
        return Err(format!("unexpected input {text:?}"));
    }
    output.write_all(b"").map_err(|e| e.to_string())
}

fn tap_run(args: &SingerArgs, _: &mut dyn BufRead, _: &mut dyn Write) -> Result<(), String> {
    match args.config.is_empty() {
        true => Ok(()),
        false => Err("tap-demo: config given".to_string()),
    }
}

fn panics(_: &SingerArgs, _: &mut dyn BufRead, _: &mut dyn Write) -> Result<(), String> {
    panic!("boom")
}

fn registry() -> Vec<&'static NativePlugin> {
    [
        NativePlugin {
            spec: spec("tap-demo", PluginKind::Extractor),
            flags: Flags::TAP,
            run: tap_run,
        },
        NativePlugin {
            spec: spec("target-demo", PluginKind::Loader),
            flags: Flags::TARGET,
            run: echo,
        },
        NativePlugin {
            spec: spec("map-demo", PluginKind::Mapper),
            flags: Flags::MAPPER,
            run: echo,
        },
        NativePlugin {
            spec: spec("tap-panics", PluginKind::Extractor),
            flags: Flags::TAP,
            run: panics,
        },
    ]
    .into_iter()
    .map(|p| &*Box::leak(Box::new(p)))
    .collect()
}

fn run(name: &str, args: &[&str]) -> i32 {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    run_native(&registry(), name, &args)
}

#[test]
fn lookup_and_names() {
    let registry = registry();
    assert_eq!(
        names(&registry),
        ["tap-demo", "target-demo", "map-demo", "tap-panics"]
    );
    assert_eq!(find(&registry, "map-demo").unwrap().name(), "map-demo");
    assert!(find(&registry, "tap-nope").is_none());
}

#[test]
fn usage_is_derived_from_flags() {
    let registry = registry();
    assert_eq!(
        registry[0].usage(),
        "usage: smelt plugin tap-demo [--config FILE]... [--catalog FILE | --properties FILE] \
         [--state FILE] [--discover] [--about [--format json|text|markdown]]"
    );
    assert_eq!(
        registry[1].usage(),
        "usage: smelt plugin target-demo [--config FILE]... [--input FILE] \
         [--about [--format json|text|markdown]]  (Singer messages on stdin)"
    );
    assert_eq!(Flags::MAPPER, Flags::TARGET);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run("tap-nope", &[]), 2);
    assert_eq!(run("tap-demo", &["--bogus"]), 2);
    assert_eq!(run("tap-demo", &["--input", "x"]), 2);
    assert_eq!(run("target-demo", &["--discover"]), 2);
    assert_eq!(run("target-demo", &["--state", "s.json"]), 2);
    assert_eq!(run("map-demo", &["--catalog", "c.json"]), 2);
    assert_eq!(run("map-demo", &["--about", "--format", "yaml"]), 2);
}

#[test]
fn help_and_about_exit_0_for_every_kind() {
    for name in ["tap-demo", "target-demo", "map-demo"] {
        assert_eq!(run(name, &["--help"]), 0, "{name}");
        for format in ["json", "text", "markdown"] {
            assert_eq!(run(name, &["--about", "--format", format]), 0, "{name}");
        }
    }
}

#[test]
fn plugin_errors_exit_1_and_success_exits_0() {
    assert_eq!(run("tap-demo", &[]), 0);
    assert_eq!(run("tap-demo", &["--config", "c.json"]), 1);
    assert_eq!(
        run("map-demo", &["--input", "/nonexistent/input.singer"]),
        1
    );
}

#[test]
fn input_file_is_opened_and_handed_to_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.singer");
    let bad = dir.path().join("bad.singer");
    std::fs::write(&good, "ping\n").unwrap();
    std::fs::write(&bad, "pong\n").unwrap();
    for name in ["target-demo", "map-demo"] {
        assert_eq!(run(name, &["--input", good.to_str().unwrap()]), 0);
        assert_eq!(run(name, &["--input", bad.to_str().unwrap()]), 1);
    }
}

#[test]
fn a_panic_is_reported_as_exit_1() {
    assert_eq!(run("tap-panics", &[]), 1);
}
