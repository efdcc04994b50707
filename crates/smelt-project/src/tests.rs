//! Whole-project tests: fixture projects on disk, loaded with an explicit process environment.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::*;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(meltano_yml: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let f = Fixture { dir };
        f.write("meltano.yml", meltano_yml);
        f
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("write: {e}"));
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn try_load(
        &self,
        env: &[(&str, &str)],
        choice: EnvironmentChoice,
    ) -> Result<Project, ProjectError> {
        self.try_load_native(env, choice, &[])
    }

    fn try_load_native(
        &self,
        env: &[(&str, &str)],
        choice: EnvironmentChoice,
        native: &[NativeDefinition],
    ) -> Result<Project, ProjectError> {
        let process: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Project::load_with_env(
            self.root(),
            &LoadOptions {
                environment: choice,
                native,
            },
            process,
        )
    }

    fn load(&self, env: &[(&str, &str)]) -> Project {
        self.try_load(env, EnvironmentChoice::Default)
            .unwrap_or_else(|e| panic!("load failed: {e}"))
    }
}

fn plugin<'a>(project: &'a Project, name: &str) -> &'a Plugin {
    project
        .find_plugin(name)
        .unwrap_or_else(|| panic!("plugin {name} not found"))
}

fn config(project: &Project, name: &str) -> ResolvedConfig {
    project
        .plugin_config(plugin(project, name), None)
        .unwrap_or_else(|e| panic!("config of {name}: {e}"))
}

fn err_text<T>(r: Result<T, ProjectError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

const PRECEDENCE_YML: &str = r#"
default_environment: dev
env:
  FROM_PROJECT_ENV: project-env-value
environments:
- name: dev
  config:
    plugins:
      extractors:
      - name: tap-x
        config:
          by_environment: environment
          all_layers: environment
- name: prod
plugins:
  extractors:
  - name: tap-x
    namespace: tap_ns
    pip_url: tap-x
    settings:
    - name: by_env_var
    - name: by_dotenv
    - name: by_environment
    - name: by_yml
    - name: by_default
      value: the-default
    - name: all_layers
      value: default
    - name: unset
    config:
      by_env_var: yml
      by_dotenv: yml
      by_environment: yml
      by_yml: yml
      all_layers: yml
"#;

#[test]
fn settings_precedence_and_sources() {
    let f = Fixture::new(PRECEDENCE_YML);
    f.write(".env", "TAP_X_BY_DOTENV=dotenv\nTAP_X_ALL_LAYERS=dotenv\n");
    let p = f.load(&[("TAP_X_BY_ENV_VAR", "env"), ("TAP_NS_ALL_LAYERS", "env")]);
    let c = config(&p, "tap-x");
    let expect = [
        ("by_env_var", "env", SettingSource::Env),
        ("by_dotenv", "dotenv", SettingSource::DotEnv),
        ("by_environment", "environment", SettingSource::Environment),
        ("by_yml", "yml", SettingSource::MeltanoYml),
        ("by_default", "the-default", SettingSource::Default),
        ("all_layers", "env", SettingSource::Env),
    ];
    for (name, value, source) in expect {
        assert_eq!(c.get(name), Some(&json!(value)), "{name}");
        assert_eq!(c.source(name), Some(source), "{name}");
    }
    assert!(c.get("unset").is_none());
    assert!(c.source("unset").is_none());
}

#[test]
fn without_environment_the_environment_layer_is_skipped() {
    let f = Fixture::new(PRECEDENCE_YML);
    let p = f
        .try_load(&[], EnvironmentChoice::NoEnvironment)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.environment, None);
    let c = config(&p, "tap-x");
    assert_eq!(c.get("by_environment"), Some(&json!("yml")));
    assert_eq!(c.source("by_environment"), Some(SettingSource::MeltanoYml));
}

#[test]
fn env_var_name_forms_plugin_name_namespace_alias_and_custom_env() {
    let f = Fixture::new(
        r#"
plugins:
  extractors:
  - name: tap-x
    namespace: tap_ns
    settings:
    - name: a
    - name: b
    - name: c
      aliases: [old_c]
    - name: d
      env: CUSTOM_D
    - name: nested.key
"#,
    );
    let p = f.load(&[
        ("TAP_X_A", "by-name"),
        ("TAP_NS_A", "by-namespace"),
        ("TAP_NS_B", "by-namespace"),
        ("TAP_X_OLD_C", "by-alias"),
        ("CUSTOM_D", "by-custom"),
        ("TAP_X_NESTED_KEY", "nested"),
    ]);
    let c = config(&p, "tap-x");
    assert_eq!(c.get("a"), Some(&json!("by-name")));
    assert_eq!(c.get("b"), Some(&json!("by-namespace")));
    assert_eq!(c.get("c"), Some(&json!("by-alias")));
    assert_eq!(c.get("d"), Some(&json!("by-custom")));
    assert_eq!(
        Value::Object(c.values.clone())["nested"],
        json!({"key": "nested"})
    );
}

#[test]
fn env_values_are_converted_by_kind() {
    let f = Fixture::new(
        r#"
plugins:
  loaders:
  - name: target-y
    settings:
    - {name: port, kind: integer}
    - {name: flag, kind: boolean}
    - {name: opts, kind: object}
    - {name: items, kind: array}
    - {name: ratio, kind: decimal}
    config:
      custom_number: 3
"#,
    );
    let p = f.load(&[
        ("TARGET_Y_PORT", "5432"),
        ("TARGET_Y_FLAG", "yes"),
        ("TARGET_Y_OPTS", r#"{"a": 1}"#),
        ("TARGET_Y_ITEMS", r#"["x", "y"]"#),
        ("TARGET_Y_RATIO", "0.5"),
        ("TARGET_Y_CUSTOM_NUMBER", "7"),
    ]);
    let c = config(&p, "target-y");
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({"port": 5432, "flag": true, "opts": {"a": 1}, "items": ["x", "y"], "ratio": 0.5, "custom_number": 7})
    );
    assert_eq!(c.source("custom_number"), Some(SettingSource::Env));

    let p = f.load(&[("TARGET_Y_PORT", "fifty")]);
    let text = err_text(p.plugin_config(plugin(&p, "target-y"), None));
    assert!(
        text.contains("environment variable TARGET_Y_PORT"),
        "{text}"
    );
    assert!(text.contains("not a valid integer"), "{text}");
    assert!(text.contains("hint:"), "{text}");
}

#[test]
fn bad_yml_value_is_reported_at_its_location() {
    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: tap-x\n    settings:\n    - {name: port, kind: integer}\n    config:\n      port: not-a-number\n",
    );
    let p = f.load(&[]);
    let text = err_text(p.plugin_config(plugin(&p, "tap-x"), None));
    assert!(text.starts_with("meltano.yml:7:13: "), "{text}");
    assert!(text.contains("`port`"), "{text}");
}

#[test]
fn sensitive_values_are_marked_and_not_shown_in_errors() {
    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: tap-x\n    settings:\n    - {name: password, kind: password}\n    - {name: pin, kind: integer, sensitive: true}\n    config:\n      password: hunter2\n",
    );
    let p = f.load(&[]);
    let c = config(&p, "tap-x");
    assert!(c.is_sensitive("password"));
    assert_eq!(c.redacted()["password"], json!(REDACTED));
    let p = f.load(&[("TAP_X_PIN", "secret-text")]);
    let text = err_text(p.plugin_config(plugin(&p, "tap-x"), None));
    assert!(!text.contains("secret-text"), "{text}");
    assert!(text.contains(REDACTED), "{text}");
}

#[test]
fn variable_expansion_in_config_and_env() {
    let f = Fixture::new(
        r#"
default_environment: dev
env:
  DB_NAME: from_project_env
environments:
- name: dev
  env:
    ENV_LEVEL: dev-level
    COMBINED: ${DB_NAME}-combined
plugins:
  loaders:
  - name: target-y
    env:
      PLUGIN_VAR: $ENV_LEVEL/plugin
    config:
      from_process: $HOST
      from_dotenv: ${DOTENV_ONLY}
      from_project_env: ${COMBINED}
      from_plugin_env: $PLUGIN_VAR
      process_beats_dotenv: ${BOTH}
      all_missing: ${NOPE}
      partly_missing: x${NOPE}y
      root: $MELTANO_PROJECT_ROOT/out
      escaped: \$HOST
      nested:
        list: ["$HOST", 1]
"#,
    );
    f.write(".env", "DOTENV_ONLY=dot\nBOTH=dotenv\n");
    let p = f.load(&[("HOST", "db.example"), ("BOTH", "process")]);
    let c = config(&p, "target-y");
    let root = p.root.to_string_lossy().to_string();
    assert_eq!(c.get("from_process"), Some(&json!("db.example")));
    assert_eq!(c.get("from_dotenv"), Some(&json!("dot")));
    assert_eq!(
        c.get("from_project_env"),
        Some(&json!("from_project_env-combined"))
    );
    assert_eq!(c.get("from_plugin_env"), Some(&json!("dev-level/plugin")));
    assert_eq!(c.get("process_beats_dotenv"), Some(&json!("process")));
    assert_eq!(
        c.get("all_missing"),
        None,
        "a value whose variables are all unset is unset"
    );
    assert_eq!(c.get("partly_missing"), Some(&json!("xy")));
    assert_eq!(c.get("root"), Some(&json!(format!("{root}/out"))));
    assert_eq!(c.get("escaped"), Some(&json!("$HOST")));
    assert_eq!(c.get("nested.list"), Some(&json!(["db.example", 1])));

    let env = p.plugin_env(plugin(&p, "target-y"), &c);
    assert_eq!(
        env.get("COMBINED").map(String::as_str),
        Some("from_project_env-combined")
    );
    assert_eq!(env.get("ENV_LEVEL").map(String::as_str), Some("dev-level"));
    assert_eq!(
        env.get("PLUGIN_VAR").map(String::as_str),
        Some("dev-level/plugin")
    );
    assert_eq!(env.get("DOTENV_ONLY").map(String::as_str), Some("dot"));
}

#[test]
fn env_blocks_can_set_settings() {
    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: tap-x\n    env:\n      TAP_X_TOKEN: from-block\n    config:\n      token: yml\n",
    );
    let c = config(&f.load(&[]), "tap-x");
    assert_eq!(c.get("token"), Some(&json!("from-block")));
    assert_eq!(c.source("token"), Some(SettingSource::Env));
    let c = config(&f.load(&[("TAP_X_TOKEN", "shell")]), "tap-x");
    assert_eq!(c.get("token"), Some(&json!("shell")));
}

#[test]
fn include_paths_merge_plugins_jobs_schedules_environments() {
    let f = Fixture::new(
        "include_paths:\n- ./sub/*.meltano.yml\nplugins:\n  extractors:\n  - name: tap-main\n",
    );
    f.write(
        "sub/extra.meltano.yml",
        "plugins:\n  extractors:\n  - name: tap-included\n  loaders:\n  - name: target-included\njobs:\n- name: j\n  tasks:\n  - tap-included target-included\nschedules:\n- name: nightly\n  job: j\n  interval: '@daily'\nenvironments:\n- name: staging\n",
    );
    let p = f.load(&[]);
    assert_eq!(p.plugins.len(), 3);
    let inc = plugin(&p, "tap-included");
    assert_eq!(inc.location, Location::new("sub/extra.meltano.yml", 3, 5));
    assert_eq!(
        plugin(&p, "target-included").plugin_type,
        PluginType::Loader
    );
    let job = p.find_job("j").unwrap_or_else(|| panic!("job"));
    assert_eq!(job.tasks, vec!["tap-included target-included"]);
    assert_eq!(job.location.file, Path::new("sub/extra.meltano.yml"));
    assert_eq!(
        p.find_schedule("nightly")
            .and_then(|s| s.job.clone())
            .as_deref(),
        Some("j")
    );
    assert!(p.environments.iter().any(|e| e.name == "staging"));
    assert_eq!(
        p.included_files,
        vec![Path::new("sub/extra.meltano.yml").to_path_buf()]
    );
}

#[test]
fn duplicate_plugins_across_files_are_rejected() {
    let f = Fixture::new("include_paths: [more.yml]\nplugins:\n  extractors:\n  - name: tap-a\n");
    f.write("more.yml", "plugins:\n  extractors:\n  - name: tap-a\n");
    let text = err_text(f.try_load(&[], EnvironmentChoice::Default));
    assert!(
        text.starts_with(
            "more.yml:3:5: extractor `tap-a` is defined twice (first at meltano.yml:4:5)"
        ),
        "{text}"
    );
}

const INHERIT_YML: &str = r#"
plugins:
  extractors:
  - name: tap-base
    namespace: base_ns
    variant: v1
    pip_url: tap-base==1.0
    executable: tap-base-exe
    capabilities: [catalog, state]
    settings:
    - {name: host}
    - {name: port, kind: integer, value: 1}
    select: [a.*]
    config:
      host: base-host
      port: 10
      custom: base-custom
    env:
      SHARED: base
  - name: tap-child
    inherit_from: tap-base
    config:
      host: child-host
    env:
      CHILD: yes
  - name: tap-grandchild
    inherit_from: tap-child
    select: [b.*]
    pip_url: tap-base==2.0
"#;

#[test]
fn inherit_from_copies_definition_and_layers_config() {
    let f = Fixture::new(INHERIT_YML);
    let p = f.load(&[("TAP_BASE_PORT", "99")]);
    let child = plugin(&p, "tap-child");
    assert_eq!(child.inherit_from.as_deref(), Some("tap-base"));
    assert_eq!(child.base_name, "tap-base");
    assert_eq!(
        child.namespace, "tap_child",
        "an inheriting plugin has its own namespace"
    );
    assert_eq!(child.pip_url.as_deref(), Some("tap-base==1.0"));
    assert_eq!(child.executable.as_deref(), Some("tap-base-exe"));
    assert_eq!(child.variant.as_deref(), Some("v1"));
    assert!(child.has_capability("state"));
    assert_eq!(child.select, vec!["a.*"]);
    assert_eq!(child.env.get("SHARED").map(String::as_str), Some("base"));
    assert_eq!(
        child.env.get("CHILD").map(String::as_str),
        Some("yes"),
        "YAML 1.2: yes is text"
    );

    let c = config(&p, "tap-child");
    assert_eq!(c.get("host"), Some(&json!("child-host")));
    assert_eq!(c.source("host"), Some(SettingSource::MeltanoYml));
    // TAP_BASE_PORT names the parent (not the child's name or namespace): the child
    // inherits the parent's resolved value.
    assert_eq!(c.get("port"), Some(&json!(99)));
    assert_eq!(c.source("port"), Some(SettingSource::Inherited));
    assert_eq!(c.get("custom"), Some(&json!("base-custom")));
    assert_eq!(c.source("custom"), Some(SettingSource::Inherited));

    let g = plugin(&p, "tap-grandchild");
    assert_eq!(g.base_name, "tap-base");
    assert_eq!(g.pip_url.as_deref(), Some("tap-base==2.0"));
    assert_eq!(g.select, vec!["b.*"]);
    let gc = config(&p, "tap-grandchild");
    assert_eq!(gc.get("host"), Some(&json!("child-host")));
    assert_eq!(gc.source("host"), Some(SettingSource::Inherited));
}

#[test]
fn inherit_from_unknown_plugin_points_at_the_reference() {
    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: tap-a\n  - name: tap-b\n    inherit_from: tap-nope\n",
    );
    let text = err_text(f.try_load(&[], EnvironmentChoice::Default));
    assert!(
        text.starts_with("meltano.yml:5:19: extractor `tap-b` inherits from `tap-nope`"),
        "{text}"
    );
    assert!(text.contains("known extractors: tap-a"), "{text}");
}

#[test]
fn inherit_from_a_loader_is_not_an_extractor_parent() {
    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: tap-b\n    inherit_from: target-a\n  loaders:\n  - name: target-a\n",
    );
    let text = err_text(f.try_load(&[], EnvironmentChoice::Default));
    assert!(text.contains("no extractor with that name"), "{text}");
}

#[test]
fn inheritance_cycles_are_errors() {
    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: a\n    inherit_from: b\n  - name: b\n    inherit_from: c\n  - name: c\n    inherit_from: a\n",
    );
    let text = err_text(f.try_load(&[], EnvironmentChoice::Default));
    assert!(text.contains("cycle: a -> b -> c -> a"), "{text}");
    assert!(text.starts_with("meltano.yml:3:5:"), "{text}");
}

#[test]
fn lock_files_are_the_base_definition() {
    let f = Fixture::new(
        "plugins:\n  loaders:\n  - name: target-jsonl\n    variant: andyh1203\n    pip_url: target-jsonl==0.1.4\n    settings:\n    - {name: do_timestamp_file, kind: string}\n  - name: target-jsonl-2\n    inherit_from: target-jsonl\n",
    );
    f.write(
        "plugins/loaders/target-jsonl--andyh1203.lock",
        r#"{"plugin_type": "loaders", "name": "target-jsonl", "namespace": "target_jsonl_ns",
            "variant": "andyh1203", "pip_url": "target-jsonl", "capabilities": ["about"],
            "settings": [{"name": "destination_path", "kind": "string", "value": "output"},
                         {"name": "do_timestamp_file", "kind": "boolean", "value": false}]}"#,
    );
    let p = f.load(&[("TARGET_JSONL_NS_DESTINATION_PATH", "elsewhere")]);
    let t = plugin(&p, "target-jsonl");
    assert_eq!(t.namespace, "target_jsonl_ns");
    assert_eq!(
        t.pip_url.as_deref(),
        Some("target-jsonl==0.1.4"),
        "yml beats lock"
    );
    assert!(t.has_capability("about"));
    let names: Vec<_> = t.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["destination_path", "do_timestamp_file"]);
    assert_eq!(
        t.settings[1].kind,
        SettingKind::String,
        "yml definition replaces the lock's"
    );
    let c = config(&p, "target-jsonl");
    assert_eq!(c.get("destination_path"), Some(&json!("elsewhere")));
    assert_eq!(
        c.get("do_timestamp_file"),
        None,
        "default came from the replaced definition"
    );

    let child = plugin(&p, "target-jsonl-2");
    assert_eq!(child.namespace, "target_jsonl_2");
    assert_eq!(child.base_name, "target-jsonl");
}

#[test]
fn lock_file_without_variant_and_hub_parent_via_lock() {
    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: tap-csv-sales\n    inherit_from: tap-csv\n    variant: meltanolabs\n",
    );
    f.write(
        "plugins/extractors/tap-csv--meltanolabs.lock",
        r#"{"namespace": "tap_csv", "pip_url": "git+https://example/tap-csv", "settings": [{"name": "files", "kind": "array"}]}"#,
    );
    let p = f.load(&[]);
    let t = plugin(&p, "tap-csv-sales");
    assert_eq!(t.base_name, "tap-csv");
    assert_eq!(t.namespace, "tap_csv_sales");
    assert_eq!(t.settings.len(), 1);

    let g = Fixture::new("plugins:\n  utilities:\n  - name: dbt\n");
    g.write(
        "plugins/utilities/dbt.lock",
        r#"{"executable": "dbt-core", "commands": {"run": "run"}}"#,
    );
    let p = g.load(&[]);
    let d = plugin(&p, "dbt");
    assert_eq!(d.executable.as_deref(), Some("dbt-core"));
    assert_eq!(d.commands.get("run").map(|c| c.args.as_str()), Some("run"));
}

fn natives() -> Vec<NativeDefinition> {
    vec![NativeDefinition {
        name: "tap-csv".into(),
        plugin_type: PluginType::Extractor,
        capabilities: vec!["catalog".into(), "discover".into(), "state".into()],
        settings: vec![
            SettingDef::new("files", SettingKind::Array),
            SettingDef {
                name: "delimiter".into(),
                value: Some(json!(",")),
                ..SettingDef::default()
            },
        ],
        namespace: "tap_csv".into(),
    }]
}

#[test]
fn native_definitions_back_variant_smelt_plugins() {
    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: tap-csv\n    variant: smelt\n    config:\n      files: []\n  - name: tap-csv-2\n    inherit_from: tap-csv\n  - name: my-csv\n    inherit_from: tap-csv-native\n    variant: smelt\n",
    );
    let natives = natives();
    let text = err_text(f.try_load_native(&[], EnvironmentChoice::Default, &natives));
    assert!(text.starts_with("meltano.yml:10:19:"), "{text}");

    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: tap-csv\n    variant: smelt\n    config:\n      files: []\n  - name: tap-csv-2\n    inherit_from: tap-csv\n",
    );
    let p = f
        .try_load_native(&[], EnvironmentChoice::Default, &natives)
        .unwrap_or_else(|e| panic!("{e}"));
    let t = plugin(&p, "tap-csv");
    assert!(t.is_native());
    assert!(t.has_capability("discover"));
    assert_eq!(t.namespace, "tap_csv");
    let c = config(&p, "tap-csv");
    assert_eq!(c.get("delimiter"), Some(&json!(",")));
    assert_eq!(c.source("delimiter"), Some(SettingSource::Default));
    assert!(plugin(&p, "tap-csv-2").is_native());
}

#[test]
fn variant_smelt_without_native_definition_is_an_error() {
    let f = Fixture::new("plugins:\n  loaders:\n  - name: target-nope\n    variant: smelt\n");
    let text = err_text(f.try_load_native(&[], EnvironmentChoice::Default, &natives()));
    assert!(
        text.starts_with("meltano.yml:4:14: loader `target-nope` uses `variant: smelt`"),
        "{text}"
    );
    assert!(text.contains("no built-in loaders"), "{text}");
}

#[test]
fn environments_override_config_env_and_select() {
    let f = Fixture::new(
        r#"
default_environment: dev
env:
  LEVEL: project
  ONLY_PROJECT: p
environments:
- name: dev
  env:
    LEVEL: environment
  state_id_suffix: ${SUFFIX_VAR}
  config:
    elt:
      buffer_size: 2048
    plugins:
      extractors:
      - name: tap-x
        config:
          host: dev-host
        env:
          PLUGIN_LEVEL: environment
        select: [only.this]
        metadata:
          stream_a:
            replication-method: FULL_TABLE
- name: prod
plugins:
  extractors:
  - name: tap-x
    env:
      PLUGIN_LEVEL: plugin
    config:
      host: yml-host
      port: 5
    metadata:
      stream_b:
        replication-key: id
"#,
    );
    let p = f.load(&[("SUFFIX_VAR", "blue")]);
    assert_eq!(p.environment.as_deref(), Some("dev"));
    let t = plugin(&p, "tap-x");
    assert_eq!(t.select, vec!["only.this"]);
    assert!(t.metadata.contains_key("stream_a") && t.metadata.contains_key("stream_b"));
    let c = config(&p, "tap-x");
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({"host": "dev-host", "port": 5})
    );
    assert_eq!(c.source("host"), Some(SettingSource::Environment));
    let env = p.plugin_env(t, &c);
    assert_eq!(env.get("LEVEL").map(String::as_str), Some("environment"));
    assert_eq!(env.get("ONLY_PROJECT").map(String::as_str), Some("p"));
    assert_eq!(
        env.get("PLUGIN_LEVEL").map(String::as_str),
        Some("environment")
    );
    assert_eq!(
        env.get("MELTANO_ENVIRONMENT").map(String::as_str),
        Some("dev")
    );
    assert_eq!(p.state_id_suffix().as_deref(), Some("blue"));
    assert_eq!(p.setting("elt.buffer_size"), Some(json!(2048)));

    let prod = f
        .try_load(
            &[("MELTANO_ENVIRONMENT", "prod")],
            EnvironmentChoice::Default,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(prod.environment.as_deref(), Some("prod"));
    assert_eq!(
        plugin(&prod, "tap-x").select,
        vec!["*.*"],
        "Meltano's default selection"
    );
    assert_eq!(config(&prod, "tap-x").get("host"), Some(&json!("yml-host")));
    assert_eq!(prod.state_id_suffix(), None);
}

#[test]
fn undefined_environments_are_errors() {
    let f =
        Fixture::new("default_environment: dev\nenvironments:\n- name: prod\n- name: staging\n");
    let text = err_text(f.try_load(&[], EnvironmentChoice::Default));
    assert!(
        text.starts_with("meltano.yml:1:22: environment `dev` is not defined"),
        "{text}"
    );
    assert!(text.contains("prod, staging"), "{text}");
    let text = err_text(f.try_load(&[], EnvironmentChoice::Named("qa".into())));
    assert!(text.contains("environment `qa` is not defined"), "{text}");
    assert!(f.try_load(&[], EnvironmentChoice::NoEnvironment).is_ok());
}

#[test]
fn environment_overrides_of_undefined_plugins_are_ignored_with_a_warning() {
    let f = Fixture::new(
        "default_environment: dev\nenvironments:\n- name: dev\n  config:\n    plugins:\n      loaders:\n      - name: target-typo\n        config: {x: 1}\nplugins:\n  loaders:\n  - name: target-real\n",
    );
    let p = f.load(&[]);
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0]
            .starts_with("meltano.yml:7:9: environment `dev` configures loader `target-typo`"),
        "{:?}",
        p.warnings
    );
    assert!(config(&p, "target-real").values.is_empty());
}

#[test]
fn bad_yaml_in_meltano_yml_has_a_location() {
    let f = Fixture::new("plugins:\n  extractors:\n  - name: tap-x\n    config: {a: 1\n");
    let text = err_text(f.try_load(&[], EnvironmentChoice::Default));
    assert!(text.starts_with("meltano.yml:"), "{text}");
    assert!(text.contains(": could not parse YAML: "), "{text}");
    assert!(text.contains("\n  hint: "), "{text}");
}

#[test]
fn wrong_shapes_have_locations() {
    let f = Fixture::new("plugins:\n  extractors:\n    name: tap-x\n");
    let text = err_text(f.try_load(&[], EnvironmentChoice::Default));
    assert!(
        text.starts_with("meltano.yml:3:5: `plugins.extractors` must be a list"),
        "{text}"
    );
    let f = Fixture::new("plugins:\n  extractors:\n  - pip_url: x\n");
    let text = err_text(f.try_load(&[], EnvironmentChoice::Default));
    assert!(
        text.starts_with("meltano.yml:3:5: extractor entry has no `name`"),
        "{text}"
    );
}

#[test]
fn unknown_keys_are_kept() {
    let f = Fixture::new(
        "send_anonymous_usage_stats: false\nplugins:\n  extractors:\n  - name: tap-x\n    python: python3.11\n    docs: https://x\n  widgets:\n  - name: w\n",
    );
    let p = f.load(&[]);
    let t = plugin(&p, "tap-x");
    assert_eq!(t.extra.get("python"), Some(&json!("python3.11")));
    assert_eq!(p.document["send_anonymous_usage_stats"], json!(false));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0].contains("plugins.widgets"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn mappings_are_found_by_name_and_layered() {
    let f = Fixture::new(
        r#"
plugins:
  mappers:
  - name: meltano-map-transformer
    pip_url: meltano-map-transform
    config:
      flattening_enabled: true
      stream_maps:
        base: {}
    mappings:
    - name: hash-emails
      config:
        stream_maps:
          customers:
            email: md5(email)
        prefix: $PREFIX
    - name: noop
"#,
    );
    let p = f.load(&[("PREFIX", "p_")]);
    let (mapper, mapping) = p
        .find_mapping("hash-emails")
        .unwrap_or_else(|| panic!("mapping"));
    assert_eq!(mapper.name, "meltano-map-transformer");
    assert!(p.find_mapping("nope").is_none());
    let c = p
        .plugin_config(mapper, Some(mapping))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({"flattening_enabled": true, "stream_maps": {"customers": {"email": "md5(email)"}}, "prefix": "p_"})
    );
    assert_eq!(c.source("stream_maps"), Some(SettingSource::MeltanoYml));
    assert!(!c.sources.contains_key("stream_maps.base"));
    let (_, noop) = p.find_mapping("noop").unwrap_or_else(|| panic!("noop"));
    assert!(noop.config.is_empty());
}

#[test]
fn jobs_keep_task_shapes_and_locations() {
    let f = Fixture::new(
        "jobs:\n- name: a\n  tasks: tap-x target-y\n- name: b\n  tasks:\n  - [tap-x, m, target-y]\n  - dbt:run\n",
    );
    let p = f.load(&[]);
    assert_eq!(
        p.find_job("a").map(|j| j.tasks.clone()),
        Some(vec!["tap-x target-y".to_string()])
    );
    let b = p.find_job("b").unwrap_or_else(|| panic!("b"));
    assert_eq!(b.tasks, vec!["tap-x m target-y", "dbt:run"]);
    assert_eq!(b.location, Location::new("meltano.yml", 4, 3));
    let f = Fixture::new("jobs:\n- name: a\n  tasks: x\n- name: a\n  tasks: y\n");
    let text = err_text(f.try_load(&[], EnvironmentChoice::Default));
    assert!(
        text.starts_with("meltano.yml:4:3: `a` is defined twice in `jobs`"),
        "{text}"
    );
}

#[test]
fn project_settings_precedence() {
    let f = Fixture::new(
        r#"
default_environment: dev
elt:
  buffer_size: 100
state_backend:
  uri: s3://yml-bucket/$BUCKET_SUFFIX
  lock_timeout_seconds: 10
database_uri: sqlite:///x.db
environments:
- name: dev
  config:
    state_backend:
      uri: s3://dev-bucket
"#,
    );
    f.write(".env", "MELTANO_DATABASE_URI=postgresql://dotenv\n");
    let p = f.load(&[
        ("MELTANO_ELT_BUFFER_SIZE", "5000"),
        ("BUCKET_SUFFIX", "sfx"),
    ]);
    assert_eq!(p.setting("elt.buffer_size"), Some(json!(5000)));
    assert_eq!(
        p.setting("state_backend.uri"),
        Some(json!("s3://dev-bucket"))
    );
    assert_eq!(
        p.setting("state_backend.lock_timeout_seconds"),
        Some(json!(10))
    );
    assert_eq!(
        p.setting("database_uri"),
        Some(json!("postgresql://dotenv"))
    );
    assert_eq!(p.setting("nothing.here"), None);

    let p = f
        .try_load(
            &[
                ("BUCKET_SUFFIX", "sfx"),
                ("MELTANO_STATE_BACKEND_URI", "file:///tmp/s"),
            ],
            EnvironmentChoice::NoEnvironment,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.setting("state_backend.uri"), Some(json!("file:///tmp/s")));
    let p = f
        .try_load(
            &[("BUCKET_SUFFIX", "sfx")],
            EnvironmentChoice::NoEnvironment,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.setting("state_backend.uri"),
        Some(json!("s3://yml-bucket/sfx"))
    );
}

#[test]
fn plugin_env_exports_settings_and_meltano_variables() {
    let f = Fixture::new(
        r#"
default_environment: dev
environments:
- name: dev
plugins:
  extractors:
  - name: tap-base
    namespace: tap_ns
    variant: v1
    executable: tap-exe
    settings:
    - {name: api.token, env: GITHUB_TOKEN, sensitive: true}
    - {name: port, kind: integer}
    - {name: flag, kind: boolean}
    config:
      api:
        token: t0k
      port: 42
      flag: false
  - name: tap-child
    inherit_from: tap-base
    load_schema: custom_schema
  utilities:
  - name: my-tool
    config:
      level: high
"#,
    );
    let p = f.load(&[]);
    let child = plugin(&p, "tap-child");
    let c = config(&p, "tap-child");
    let env = p.plugin_env(child, &c);
    let get = |k: &str| env.get(k).cloned();
    for var in [
        "TAP_CHILD_API_TOKEN",
        "TAP_NS_API_TOKEN",
        "TAP_BASE_API_TOKEN",
        "MELTANO_EXTRACT_API_TOKEN",
        "GITHUB_TOKEN",
    ] {
        assert_eq!(get(var).as_deref(), Some("t0k"), "{var}");
    }
    assert_eq!(get("TAP_CHILD_PORT").as_deref(), Some("42"));
    assert_eq!(get("TAP_NS_FLAG").as_deref(), Some("false"));
    assert_eq!(get("MELTANO_EXTRACTOR_NAME").as_deref(), Some("tap-child"));
    assert_eq!(
        get("MELTANO_EXTRACTOR_NAMESPACE").as_deref(),
        Some("tap_child")
    );
    assert_eq!(get("MELTANO_EXTRACTOR_VARIANT").as_deref(), Some("v1"));
    assert_eq!(
        get("MELTANO_EXTRACTOR_EXECUTABLE").as_deref(),
        Some("tap-exe")
    );
    assert_eq!(
        get("MELTANO_PROJECT_ROOT"),
        Some(p.root.to_string_lossy().to_string())
    );
    assert_eq!(get("MELTANO_ENVIRONMENT").as_deref(), Some("dev"));
    assert_eq!(get("TAP_CHILD__SELECT").as_deref(), Some("[\"*.*\"]"));
    assert_eq!(get("MELTANO_EXTRACT__SELECT").as_deref(), Some("[\"*.*\"]"));
    assert_eq!(
        get("MELTANO_EXTRACT__LOAD_SCHEMA").as_deref(),
        Some("custom_schema")
    );
    assert!(c.is_sensitive("api.token"));

    let tool = plugin(&p, "my-tool");
    let env = p.plugin_env(tool, &config(&p, "my-tool"));
    assert_eq!(env.get("MY_TOOL_LEVEL").map(String::as_str), Some("high"));
    assert_eq!(
        env.get("MELTANO_UTILIZE_LEVEL").map(String::as_str),
        Some("high")
    );
    assert_eq!(
        env.get("MELTANO_UTILITY_NAME").map(String::as_str),
        Some("my-tool")
    );
}

#[test]
fn select_can_be_overridden_by_env_var() {
    let f = Fixture::new("plugins:\n  extractors:\n  - name: tap-x\n    select: [a.*]\n");
    let p = f.load(&[("TAP_X__SELECT", r#"["b.*", "c.id"]"#)]);
    assert_eq!(plugin(&p, "tap-x").select, vec!["b.*", "c.id"]);
    let text = err_text(f.try_load(&[("TAP_X__SELECT", "b.*")], EnvironmentChoice::Default));
    assert!(
        text.contains("environment variable TAP_X__SELECT"),
        "{text}"
    );
}

#[test]
fn nested_config_and_object_settings() {
    let f = Fixture::new(
        r#"
plugins:
  loaders:
  - name: target-y
    settings:
    - {name: ssl.mode}
    - {name: extra_opts, kind: object}
    config:
      ssl:
        mode: require
        cert: /c.pem
      extra_opts:
        a: 1
        b: {c: 2}
      "literal.dotted": x
"#,
    );
    let p = f.load(&[("TARGET_Y_SSL_MODE", "disable")]);
    let c = config(&p, "target-y");
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({"ssl": {"mode": "disable", "cert": "/c.pem"}, "extra_opts": {"a": 1, "b": {"c": 2}}, "literal": {"dotted": "x"}})
    );
    assert_eq!(c.source("ssl.mode"), Some(SettingSource::Env));
    assert_eq!(c.source("ssl.cert"), Some(SettingSource::MeltanoYml));
    assert_eq!(c.source("extra_opts"), Some(SettingSource::MeltanoYml));
}

#[test]
fn sys_dir_and_project_id() {
    let f = Fixture::new("project_id: abc-123\n");
    let p = f.load(&[]);
    assert_eq!(p.project_id.as_deref(), Some("abc-123"));
    assert_eq!(p.sys_dir, p.root.join(".meltano"));
    let p = f.load(&[("MELTANO_SYS_DIR_ROOT", "/var/lib/smelt")]);
    assert_eq!(p.sys_dir, Path::new("/var/lib/smelt"));
    let p = f.load(&[("MELTANO_SYS_DIR_ROOT", "sys")]);
    assert_eq!(p.sys_dir, p.root.join("sys"));
}

#[test]
fn dotenv_is_exposed_and_bad_lines_warn() {
    let f = Fixture::new("version: 1\n");
    f.write(".env", "export A='1'\nB=\"x\" junk\n");
    let p = f.load(&[]);
    assert_eq!(p.dotenv().get("A").map(String::as_str), Some("1"));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
}

#[test]
fn locations_of_any_node() {
    let f = Fixture::new("plugins:\n  extractors:\n  - name: tap-x\n    config:\n      host: h\n");
    let p = f.load(&[]);
    let t = plugin(&p, "tap-x");
    let ptr = pointer_push(&pointer_push(&t.pointer, "config"), "host");
    assert_eq!(
        p.location_of(&ptr),
        Some(&Location::new("meltano.yml", 5, 13))
    );
    assert_eq!(t.location, Location::new("meltano.yml", 3, 5));
}

#[test]
fn debug_output_hides_environment_values() {
    let f = Fixture::new("version: 1\n");
    f.write(".env", "SECRET_TOKEN=dotenv-secret\n");
    let p = f.load(&[("API_KEY", "process-secret")]);
    let text = format!("{p:?}");
    assert!(
        !text.contains("process-secret") && !text.contains("dotenv-secret"),
        "{text}"
    );
    assert!(text.contains("<1 variables>"), "{text}");
}

#[test]
fn a_parents_variables_never_override_an_inheriting_plugins_own_config() {
    // Meltano 4: an inheriting plugin reads only `<CHILD>_*` variables; the parent's
    // variables reach it through the inherited layer, below its own `config:`.
    let f = Fixture::new(
        "plugins:\n  loaders:\n  - name: target-postgres\n    namespace: target_postgres\n    settings:\n    - {name: schema}\n    - {name: host}\n  - name: target-pg-raw\n    inherit_from: target-postgres\n    config:\n      schema: raw\n",
    );
    f.write(
        ".env",
        "TARGET_POSTGRES_SCHEMA=public\nTARGET_POSTGRES_HOST=db\n",
    );
    let p = f.load(&[]);
    let child = config(&p, "target-pg-raw");
    assert_eq!(child.get("schema"), Some(&json!("raw")));
    assert_eq!(child.source("schema"), Some(SettingSource::MeltanoYml));
    assert_eq!(
        child.get("host"),
        Some(&json!("db")),
        "inherited from the parent"
    );
    assert_eq!(child.source("host"), Some(SettingSource::Inherited));
    assert_eq!(
        child.describe_source("host"),
        "inherited from 'target-postgres'"
    );
    let parent = config(&p, "target-postgres");
    assert_eq!(parent.get("schema"), Some(&json!("public")));
    let p = f.load(&[("TARGET_PG_RAW_SCHEMA", "override")]);
    assert_eq!(
        config(&p, "target-pg-raw").get("schema"),
        Some(&json!("override"))
    );
}

#[test]
fn env_blocks_layer_over_the_shell_as_meltano_4_does() {
    // The same project and shell as a side-by-side run of `meltano invoke` (Meltano 4.4) with
    // a utility whose executable is /usr/bin/env; the expected values are what Meltano printed.
    let f = Fixture::new(
        "default_environment: dev\nenv:\n  A: project\n  B: project\n  C: project\n  D: project\n  E: project\n  H: project\nenvironments:\n- name: dev\n  env:\n    A: environment\n    B: environment\n    C: environment\n    J: environment\n  config:\n    plugins:\n      utilities:\n      - name: printenv\n        env:\n          A: env-plugin\nplugins:\n  utilities:\n  - name: printenv\n    namespace: printenv\n    executable: /usr/bin/env\n    env:\n      A: plugin\n      B: plugin\n      H: plugin\n      J: plugin\n",
    );
    f.write(
        ".env",
        "A=dotenv\nB=dotenv\nC=dotenv\nD=dotenv\nF=dotenv\nK=dotenv\n",
    );
    let shell = [
        ("A", "shell"),
        ("B", "shell"),
        ("C", "shell"),
        ("D", "shell"),
        ("E", "shell"),
        ("F", "shell"),
        ("G", "shell"),
        ("H", "shell"),
        ("J", "shell"),
    ];
    let p = f.load(&shell);
    let tool = plugin(&p, "printenv");
    let env = p.plugin_env(tool, &config(&p, "printenv"));
    let seen = |k: &str| {
        env.get(k).cloned().or_else(|| {
            shell
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    };
    let expected = [
        ("A", "env-plugin"),
        ("B", "environment"),
        ("C", "environment"),
        ("D", "project"),
        ("E", "project"),
        ("F", "shell"),
        ("G", "shell"),
        ("H", "plugin"),
        ("J", "environment"),
        ("K", "dotenv"),
    ];
    for (k, v) in expected {
        assert_eq!(seen(k).as_deref(), Some(v), "{k}");
    }
}

#[test]
fn inheriting_plugins_share_the_parents_venv_unless_they_have_their_own_pip_url() {
    // Meltano's `plugin_dir_name` rule: the parent's venv while the pip_url is the inherited
    // one (set again to the same value or not at all), the plugin's own once it differs.
    let f = Fixture::new(
        "plugins:\n  extractors:\n  - name: tap-base\n    pip_url: tap-base==1.0\n  - name: tap-same\n    inherit_from: tap-base\n  - name: tap-grandchild\n    inherit_from: tap-same\n    pip_url: tap-base==1.0\n  - name: tap-own\n    inherit_from: tap-base\n    pip_url: tap-base==2.0\n  - name: tap-hub-child\n    inherit_from: tap-elsewhere\n    pip_url: tap-elsewhere\n",
    );
    f.write(
        "plugins/extractors/tap-elsewhere.lock",
        r#"{"namespace": "tap_elsewhere", "pip_url": "tap-elsewhere"}"#,
    );
    let p = f.load(&[]);
    let venv = |name: &str| {
        let plugin = plugin(&p, name);
        p.venv_dir(plugin)
            .strip_prefix(&p.sys_dir)
            .map(|rel| rel.display().to_string())
            .unwrap_or_default()
    };
    assert_eq!(venv("tap-base"), "extractors/tap-base/venv");
    assert_eq!(venv("tap-same"), "extractors/tap-base/venv");
    assert_eq!(venv("tap-grandchild"), "extractors/tap-base/venv");
    assert_eq!(venv("tap-own"), "extractors/tap-own/venv");
    // The executable stays the parent's in every case.
    assert_eq!(plugin(&p, "tap-own").executable_or_name(), "tap-base");
    assert_eq!(plugin(&p, "tap-same").executable_or_name(), "tap-base");
    // A parent outside the project (a lock file here, the Hub for Meltano): its venv.
    assert_eq!(venv("tap-hub-child"), "extractors/tap-elsewhere/venv");
    assert_eq!(
        plugin(&p, "tap-hub-child").executable_or_name(),
        "tap-elsewhere"
    );
}

#[test]
fn a_plugin_installed_in_a_venv_gets_its_bin_first_on_path() {
    let f = Fixture::new(
        "plugins:\n  utilities:\n  - name: dbt-x\n    namespace: dbt_x\n    pip_url: dbt-core\n  - name: plain\n    namespace: plain\n",
    );
    std::fs::create_dir_all(f.dir.path().join(".meltano/utilities/dbt-x/venv/bin")).unwrap();
    let p = f.load(&[("PATH", "/usr/bin:/bin")]);
    let env_of = |name: &str| {
        let plugin = plugin(&p, name);
        let config = p.plugin_config(plugin, None).unwrap();
        p.plugin_env(plugin, &config)
    };
    let env = env_of("dbt-x");
    let venv = p.sys_dir.join("utilities/dbt-x/venv");
    assert_eq!(
        env.get("PATH"),
        Some(&format!("{}:/usr/bin:/bin", venv.join("bin").display()))
    );
    assert_eq!(env.get("VIRTUAL_ENV"), Some(&venv.display().to_string()));
    // No venv: the environment is left alone.
    let env = env_of("plain");
    assert!(!env.contains_key("PATH") && !env.contains_key("VIRTUAL_ENV"));
}

#[test]
fn a_job_declares_its_parallelism_in_smelts_annotations() {
    let f = Fixture::new(
        "jobs:\n- name: fast\n  annotations:\n    smelt:\n      parallelism: 4\n    other-tool: {x: 1}\n  tasks: [tap-a target-b]\n- name: plain\n  tasks: tap-a target-b\n",
    );
    let p = f.load(&[]);
    assert_eq!(p.find_job("fast").and_then(|j| j.parallelism), Some(4));
    assert_eq!(p.find_job("plain").and_then(|j| j.parallelism), None);
    let bad = Fixture::new(
        "jobs:\n- name: fast\n  annotations: {smelt: {parallelism: 0}}\n  tasks: [tap-a target-b]\n",
    );
    let err = bad
        .try_load(&[], EnvironmentChoice::Default)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("annotations.smelt.parallelism"), "{err}");
    assert!(err.contains("1 to 256"), "{err}");
}
