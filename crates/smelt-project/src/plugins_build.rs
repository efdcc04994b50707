//! Turning the `plugins:` section into [`Plugin`]s: base definitions (lock files, native
//! definitions), `inherit_from` chains, and the active environment's overrides.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{Map, Value};

use crate::base_definition::{lock_or_index, BaseDefinition};
use crate::env_names::env_var_name;
use crate::environment::Environment;
use crate::error::{BadSettingValue, DuplicatePlugin, Location, ProjectError, UnknownParent};
use crate::node::Node;
use crate::plugin::{Mapping, NativeDefinition, Plugin, PluginCommand};
use crate::plugin_type::PluginType;
use crate::setting_def::{merge_settings, SettingDef};
use crate::source_map::SourceMap;

/// Everything plugin building needs from the loader.
pub(crate) struct BuildContext<'a> {
    pub root: &'a Path,
    pub document: &'a Value,
    pub source_map: &'a SourceMap,
    pub native: &'a [NativeDefinition],
    pub environment: Option<&'a Environment>,
    /// Process environment, then `.env`: for `<PLUGIN>__SELECT`-style overrides.
    pub lookup: &'a dyn Fn(&str) -> Option<(String, String)>,
}

/// Keys of a plugin entry this crate interprets; everything else goes to `extra`.
const KNOWN_KEYS: [&str; 17] = [
    "name",
    "inherit_from",
    "namespace",
    "variant",
    "pip_url",
    "executable",
    "capabilities",
    "settings",
    "commands",
    "mappings",
    "catalog",
    "state",
    "select",
    "metadata",
    "schema",
    "config",
    "env",
];

/// One `plugins:` entry as written.
struct RawPlugin {
    plugin_type: PluginType,
    name: String,
    pointer: String,
    location: Location,
    inherit_from: Option<(String, Option<Location>)>,
    variant: Option<(String, Option<Location>)>,
    namespace: Option<String>,
    pip_url: Option<String>,
    executable: Option<String>,
    capabilities: Option<Vec<String>>,
    settings: Option<Vec<SettingDef>>,
    commands: Option<BTreeMap<String, PluginCommand>>,
    mappings: Option<Vec<Mapping>>,
    catalog: Option<String>,
    state: Option<String>,
    select: Option<Vec<String>>,
    metadata: Option<Map<String, Value>>,
    schema: Option<Map<String, Value>>,
    config: Map<String, Value>,
    env: BTreeMap<String, String>,
    extra: Map<String, Value>,
}

/// A plugin under construction; `select_declared` tells whether anything set `select`.
#[derive(Clone)]
struct Partial {
    plugin: Plugin,
    select_declared: bool,
}

/// Builds every plugin of the project, in document order. Also returns warnings for
/// `plugins:` keys that are not plugin types.
pub(crate) fn build_plugins(
    ctx: &BuildContext<'_>,
) -> Result<(Vec<Plugin>, Vec<String>), ProjectError> {
    let (raws, warnings) = read_raw_plugins(ctx)?;
    let mut index: HashMap<(PluginType, &str), usize> = HashMap::new();
    for (i, raw) in raws.iter().enumerate() {
        if let Some(&first) = index.get(&(raw.plugin_type, raw.name.as_str())) {
            return Err(ProjectError::DuplicatePlugin(Box::new(DuplicatePlugin {
                location: raw.location.clone(),
                first: raws[first].location.clone(),
                name: raw.name.clone(),
                plugin_type: raw.plugin_type.label().to_string(),
            })));
        }
        index.insert((raw.plugin_type, raw.name.as_str()), i);
    }
    let mut resolver = Resolver {
        ctx,
        raws: &raws,
        index,
        done: vec![None; raws.len()],
        stack: Vec::new(),
    };
    for i in 0..raws.len() {
        resolver.resolve(i)?;
    }
    let plugins = resolver.done.into_iter().flatten().map(finalize).collect();
    Ok((plugins, warnings))
}

fn finalize(mut partial: Partial) -> Plugin {
    if !partial.select_declared && partial.plugin.plugin_type == PluginType::Extractor {
        partial.plugin.select = vec!["*.*".to_string()];
    }
    partial.plugin
}

fn read_raw_plugins(ctx: &BuildContext<'_>) -> Result<(Vec<RawPlugin>, Vec<String>), ProjectError> {
    let root = Node {
        value: ctx.document,
        pointer: "",
        map: ctx.source_map,
    };
    let mut raws = Vec::new();
    let mut warnings = Vec::new();
    let Some(plugins) = root.get("plugins") else {
        return Ok((raws, warnings));
    };
    let plugins_node = plugins.node();
    let entries = plugins_node.entries("`plugins`")?;
    // Meltano's order of types, whatever order the file uses.
    for plugin_type in PluginType::ALL {
        for (key, list) in &entries {
            if *key == plugin_type.plural() {
                for item in list.node().items(&format!("`plugins.{key}`"))? {
                    raws.push(read_raw(item.node(), plugin_type)?);
                }
            }
        }
    }
    for (key, list) in &entries {
        if PluginType::from_plural(key).is_none() {
            let at = list
                .node()
                .key_location()
                .map(|l| format!("{l}: "))
                .unwrap_or_default();
            warnings.push(format!(
                "{at}`plugins.{key}` is not a plugin type and is ignored (types: extractors, loaders, mappers, transformers, utilities, orchestrators, files)"
            ));
        }
    }
    Ok((raws, warnings))
}

fn read_raw(node: Node<'_>, plugin_type: PluginType) -> Result<RawPlugin, ProjectError> {
    let map = node
        .object(&format!("each entry of `plugins.{}`", plugin_type.plural()))?
        .cloned()
        .unwrap_or_default();
    let (location, name) =
        node.location_and_name(&format!("{} entry", plugin_type.label()), "<plugin-name>")?;
    if name.trim().is_empty() {
        return Err(ProjectError::invalid(
            Some(location),
            format!("{} name is empty", plugin_type.label()),
            "give the plugin a name, e.g. `name: tap-csv`",
        ));
    }
    let located = |key: &str| -> Result<Option<(String, Option<Location>)>, ProjectError> {
        match node.get(key) {
            Some(child) => {
                let n = child.node();
                Ok(Some((n.string(&format!("`{key}`"))?, n.location())))
            }
            None => Ok(None),
        }
    };
    let settings = match node.get("settings") {
        Some(list) => {
            let mut defs = Vec::new();
            for item in list.node().items("`settings`")? {
                defs.push(SettingDef::from_node(item.node())?);
            }
            Some(defs)
        }
        None => None,
    };
    let commands = match node.get("commands") {
        Some(cmds) => {
            let mut out = BTreeMap::new();
            for (cmd_name, cmd) in cmds.node().entries("`commands`")? {
                out.insert(
                    cmd_name.to_string(),
                    PluginCommand::from_node(cmd.node(), cmd_name)?,
                );
            }
            Some(out)
        }
        None => None,
    };
    let mappings = match node.get("mappings") {
        Some(list) => {
            let mut out = Vec::new();
            for item in list.node().items("`mappings`")? {
                let item_node = item.node();
                item_node.object("each entry of `mappings`")?;
                let mapping_name = item_node.opt_string("name")?.ok_or_else(|| {
                    ProjectError::invalid(
                        item_node.location(),
                        format!("a mapping of mapper `{name}` has no `name`"),
                        "add `name: <mapping_name>`; that name is what you use in `smelt run`",
                    )
                })?;
                out.push(Mapping {
                    name: mapping_name,
                    config: item_node.opt_object("config")?.unwrap_or_default(),
                });
            }
            Some(out)
        }
        None => None,
    };
    Ok(RawPlugin {
        plugin_type,
        name,
        pointer: node.pointer.to_string(),
        location,
        inherit_from: located("inherit_from")?,
        variant: located("variant")?,
        namespace: node.opt_string("namespace")?,
        pip_url: node.opt_string("pip_url")?,
        executable: node.opt_string("executable")?,
        capabilities: node.opt_string_list("capabilities")?,
        settings,
        commands,
        mappings,
        catalog: node.opt_string("catalog")?,
        state: node.opt_string("state")?,
        select: node.opt_string_list("select")?,
        metadata: node.opt_object("metadata")?,
        schema: node.opt_object("schema")?,
        config: node.opt_object("config")?.unwrap_or_default(),
        env: node.opt_string_map("env")?.unwrap_or_default(),
        extra: map
            .into_iter()
            .filter(|(k, _)| !KNOWN_KEYS.contains(&k.as_str()))
            .collect(),
    })
}

struct Resolver<'a, 'c> {
    ctx: &'a BuildContext<'c>,
    raws: &'a [RawPlugin],
    index: HashMap<(PluginType, &'a str), usize>,
    done: Vec<Option<Partial>>,
    stack: Vec<usize>,
}

impl Resolver<'_, '_> {
    fn resolve(&mut self, i: usize) -> Result<(), ProjectError> {
        if self.done[i].is_some() {
            return Ok(());
        }
        let raw = &self.raws[i];
        if let Some(pos) = self.stack.iter().position(|&s| s == i) {
            let mut chain: Vec<String> = self.stack[pos..]
                .iter()
                .map(|&s| self.raws[s].name.clone())
                .collect();
            chain.push(raw.name.clone());
            return Err(ProjectError::InheritCycle {
                location: self.raws[self.stack[pos]].location.clone(),
                chain,
            });
        }
        self.stack.push(i);
        let base = match &raw.inherit_from {
            Some((parent, parent_loc)) => {
                match self.index.get(&(raw.plugin_type, parent.as_str())).copied() {
                    Some(pi) => {
                        self.resolve(pi)?;
                        match &self.done[pi] {
                            Some(p) => from_parent(p, &raw.name),
                            None => from_definition(self.ctx, raw, parent)?,
                        }
                    }
                    None => {
                        let base = self.outside_parent(raw, parent, parent_loc)?;
                        let mut seeded = seed(raw, parent, base);
                        seeded.plugin.namespace = raw.name.replace('-', "_");
                        seeded
                    }
                }
            }
            None => from_definition(self.ctx, raw, &raw.name)?,
        };
        let mut partial = apply_raw(base, raw);
        apply_environment(self.ctx, &mut partial)?;
        apply_env_var_extras(self.ctx, &mut partial)?;
        self.stack.pop();
        self.done[i] = Some(partial);
        Ok(())
    }

    /// `inherit_from` names no plugin of the project: allowed when a lock file, native
    /// definition or the plugin index describes the parent (Meltano would fetch it from the
    /// Hub), else an error.
    fn outside_parent(
        &self,
        raw: &RawPlugin,
        parent: &str,
        parent_loc: &Option<Location>,
    ) -> Result<BaseDefinition, ProjectError> {
        let variant = raw.variant.as_ref().map(|(v, _)| v.as_str());
        if variant == Some("smelt") {
            if let Some(def) = native(self.ctx, raw.plugin_type, parent) {
                return Ok(BaseDefinition::from_native(def));
            }
        }
        // The parent is a Hub plugin whatever the child's own `namespace:` says.
        if let Some(def) = lock_or_index(self.ctx.root, raw.plugin_type, parent, variant, false)? {
            return Ok(def);
        }
        let known = self
            .raws
            .iter()
            .filter(|r| r.plugin_type == raw.plugin_type && r.name != raw.name)
            .map(|r| r.name.clone())
            .collect();
        Err(ProjectError::UnknownParent(Box::new(UnknownParent {
            location: parent_loc.clone().unwrap_or_else(|| raw.location.clone()),
            plugin: raw.name.clone(),
            parent: parent.to_string(),
            plugin_type: raw.plugin_type.label().to_string(),
            known,
        })))
    }
}

fn native<'a>(
    ctx: &BuildContext<'a>,
    plugin_type: PluginType,
    name: &str,
) -> Option<&'a NativeDefinition> {
    ctx.native
        .iter()
        .find(|d| d.plugin_type == plugin_type && d.name == name)
}

/// A plugin without a project parent: native definition, lock file or Hub definition from the
/// plugin index underneath.
fn from_definition(
    ctx: &BuildContext<'_>,
    raw: &RawPlugin,
    base_name: &str,
) -> Result<Partial, ProjectError> {
    let variant = raw.variant.as_ref().map(|(v, _)| v.as_str());
    let base = if variant == Some("smelt") {
        match native(ctx, raw.plugin_type, base_name) {
            Some(def) => BaseDefinition::from_native(def),
            None => {
                let builtin: Vec<&str> = ctx
                    .native
                    .iter()
                    .filter(|d| d.plugin_type == raw.plugin_type)
                    .map(|d| d.name.as_str())
                    .collect();
                let listing = if builtin.is_empty() {
                    format!("smelt has no built-in {}s", raw.plugin_type.label())
                } else {
                    format!(
                        "built-in {}s: {}",
                        raw.plugin_type.label(),
                        builtin.join(", ")
                    )
                };
                return Err(ProjectError::invalid(
                    raw.variant.as_ref().and_then(|(_, l)| l.clone()).or_else(|| Some(raw.location.clone())),
                    format!(
                        "{} `{}` uses `variant: smelt`, but smelt has no built-in {} named `{base_name}`",
                        raw.plugin_type.label(),
                        raw.name,
                        raw.plugin_type.label()
                    ),
                    format!("{listing}; or remove `variant: smelt` and give a `pip_url` or `executable`"),
                ));
            }
        }
    } else {
        // Meltano treats an entry with its own `namespace:` (and no `inherit_from`) as a custom
        // plugin, never looked up on the Hub.
        let custom = raw.inherit_from.is_none() && raw.namespace.is_some();
        lock_or_index(ctx.root, raw.plugin_type, base_name, variant, custom)?.unwrap_or_default()
    };
    Ok(seed(raw, base_name, base))
}

/// A fresh plugin from a base definition; `apply_raw` then lays the yml keys over it.
fn seed(raw: &RawPlugin, base_name: &str, base: BaseDefinition) -> Partial {
    Partial {
        plugin: Plugin {
            name: raw.name.clone(),
            plugin_type: raw.plugin_type,
            namespace: base
                .namespace
                .unwrap_or_else(|| base_name.replace('-', "_")),
            variant: None,
            pip_url: base.pip_url,
            executable: base.executable,
            capabilities: base.capabilities.unwrap_or_default(),
            settings: base.settings,
            commands: base.commands,
            mappings: Vec::new(),
            catalog: None,
            state: None,
            select: Vec::new(),
            metadata: Map::new(),
            schema: Map::new(),
            inherit_from: None,
            base_name: base_name.to_string(),
            venv_name: base_name.to_string(),
            location: raw.location.clone(),
            extra: Map::new(),
            config: Map::new(),
            env: BTreeMap::new(),
            pointer: raw.pointer.clone(),
        },
        select_declared: false,
    }
}

/// A child starts as a copy of its resolved parent; its config stays separate (the parent's
/// config is the "inherited" settings layer). Its namespace is its own name (unless it sets
/// `namespace:`), as in Meltano: it reads `<CHILD>_<SETTING>` variables, never the parent's,
/// so a parent's variables reach it only through the inherited layer, below its own config.
fn from_parent(parent: &Partial, child_name: &str) -> Partial {
    let mut child = parent.clone();
    child.plugin.config = Map::new();
    child.plugin.namespace = child_name.replace('-', "_");
    child
}

fn apply_raw(mut partial: Partial, raw: &RawPlugin) -> Partial {
    let p = &mut partial.plugin;
    p.name = raw.name.clone();
    p.location = raw.location.clone();
    p.pointer = raw.pointer.clone();
    p.inherit_from = raw.inherit_from.as_ref().map(|(n, _)| n.clone());
    if let Some((v, _)) = &raw.variant {
        p.variant = Some(v.clone());
    }
    if let Some(ns) = &raw.namespace {
        p.namespace = ns.clone();
    }
    if let Some(v) = &raw.pip_url {
        // A pip_url of its own (different from the inherited one) means a venv of its own.
        if p.pip_url.as_ref() != Some(v) {
            p.venv_name = raw.name.clone();
        }
        p.pip_url = Some(v.clone());
    }
    if let Some(v) = &raw.executable {
        p.executable = Some(v.clone());
    }
    if let Some(v) = &raw.capabilities {
        p.capabilities = v.clone();
    }
    if let Some(defs) = &raw.settings {
        p.settings = merge_settings(&p.settings, defs);
    }
    if let Some(cmds) = &raw.commands {
        for (k, v) in cmds {
            p.commands.insert(k.clone(), v.clone());
        }
    }
    if let Some(m) = &raw.mappings {
        p.mappings = m.clone();
    }
    if let Some(v) = &raw.catalog {
        p.catalog = Some(v.clone());
    }
    if let Some(v) = &raw.state {
        p.state = Some(v.clone());
    }
    if let Some(v) = &raw.select {
        p.select = v.clone();
        partial.select_declared = true;
    }
    if let Some(v) = &raw.metadata {
        p.metadata = v.clone();
    }
    if let Some(v) = &raw.schema {
        p.schema = v.clone();
    }
    p.config = raw.config.clone();
    for (k, v) in &raw.env {
        p.env.insert(k.clone(), v.clone());
    }
    for (k, v) in &raw.extra {
        p.extra.insert(k.clone(), v.clone());
    }
    partial
}

/// The active environment's `select` replaces, its `metadata`/`schema` entries win.
fn apply_environment(ctx: &BuildContext<'_>, partial: &mut Partial) -> Result<(), ProjectError> {
    let Some(env) = ctx.environment else {
        return Ok(());
    };
    let p = &mut partial.plugin;
    let Some(over) = env.plugin(p.plugin_type, &p.name) else {
        return Ok(());
    };
    if let Some(select) = &over.select {
        p.select = select.clone();
        partial.select_declared = true;
    }
    if let Some(md) = &over.metadata {
        for (k, v) in md {
            p.metadata.insert(k.clone(), v.clone());
        }
    }
    if let Some(schema) = &over.schema {
        for (k, v) in schema {
            p.schema.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

/// Extras besides select/metadata/schema/catalog/state that a `<PLUGIN>__<EXTRA>` variable
/// can set.
const VARIABLE_EXTRAS: &[&str] = &[
    "select_filter",
    "use_cached_catalog",
    "load_schema",
    "dialect",
    "target_schema",
    "vars",
];

/// Meltano exposes `select`, `metadata`, `schema`, `catalog` and `state` as "extra" settings
/// (`_select`, ...), so `TAP_X__SELECT='["a.*"]'` in the environment or `.env` overrides them.
fn apply_env_var_extras(ctx: &BuildContext<'_>, partial: &mut Partial) -> Result<(), ProjectError> {
    let p = &mut partial.plugin;
    let find = |extra: &str| -> Option<(String, String)> {
        [p.name.as_str(), p.namespace.as_str()]
            .iter()
            .map(|prefix| env_var_name(&[prefix, extra]))
            .find_map(|var| (ctx.lookup)(&var).map(|(origin, v)| (format!("{origin} {var}"), v)))
    };
    let bad = |origin: String, setting: &str, value: String, kind: &str, p: &Plugin| {
        ProjectError::BadSettingValue(Box::new(BadSettingValue {
            location: None,
            origin,
            setting: setting.to_string(),
            plugin: p.name.clone(),
            plugin_type: p.plugin_type.label().to_string(),
            shown_value: format!("{value:?}"),
            kind: kind.to_string(),
        }))
    };
    if let Some((origin, text)) = find("_select") {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(items)) if items.iter().all(Value::is_string) => {
                p.select = items
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                partial.select_declared = true;
            }
            _ => return Err(bad(origin, "select", text, "JSON array of strings", p)),
        }
    }
    for (extra, is_metadata) in [("_metadata", true), ("_schema", false)] {
        if let Some((origin, text)) = find(extra) {
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => {
                    if is_metadata {
                        p.metadata = map;
                    } else {
                        p.schema = map;
                    }
                }
                _ => return Err(bad(origin, &extra[1..], text, "JSON object", p)),
            }
        }
    }
    if let Some((_, text)) = find("_catalog") {
        p.catalog = Some(text);
    }
    if let Some((_, text)) = find("_state") {
        p.state = Some(text);
    }
    // The other extras (`select_filter`, `use_cached_catalog`, `load_schema`, `dialect`, …)
    // are kept in `extra`; a variable replaces the yml value, JSON when it parses as JSON.
    for key in VARIABLE_EXTRAS {
        if let Some((_, text)) = find(&format!("_{key}")) {
            let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
            p.extra.insert((*key).to_string(), value);
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "index_fallback_tests.rs"]
mod index_fallback_tests;
