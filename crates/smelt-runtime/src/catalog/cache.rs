//! The discovered-catalog cache, laid out as Meltano 3.8+/4.x lays it out.
//!
//! Discovery can take minutes for a large database, so Meltano keeps the last catalog in
//! `.meltano/run/<extractor>/tap.properties.json` with a key in `tap.properties.cache_key`, and
//! skips discovery while the key matches. smelt uses the same files and the same rules:
//! - only plugins installed from a package are cached: no `pip_url` (a local script, a native
//!   plugin) or an editable `pip_url` (`-e …`) means the tap may change at any time;
//! - the key covers what changes discovery's result: the resolved config, the `schema` and
//!   `metadata` rules (baked into the stored catalog), and — beyond Meltano — the `pip_url` and
//!   `executable`, so upgrading a tap refreshes its catalog. `select` and `select_filter` are
//!   left out, as in Meltano: every use resets `selected` (`!*.*`) before applying them;
//! - the `use_cached_catalog` extra (default true) can turn reuse off; `--refresh-catalog` and
//!   `--full-refresh` skip it for one run.
//!
//! smelt's key is not Meltano's (it is versioned and uses SHA-256), so when both tools run the
//! same project each sees the other's key as stale and discovers again; nothing is corrupted.
//! Both files are written 0600 through a temporary file and a rename, under an advisory lock,
//! so concurrent runs never pair one run's key with another's catalog.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use smelt_project::{Plugin, Project};
use smelt_singer::catalog::CatalogRules;

use crate::log::Logger;

/// The cached catalog's file name (Meltano's).
pub const CATALOG_FILE: &str = "tap.properties.json";
/// The cache key's file name (Meltano's).
pub const CACHE_KEY_FILE: &str = "tap.properties.cache_key";
/// Prefix of smelt's keys; bump it when the key's inputs or the stored catalog change meaning.
pub const CACHE_VERSION: &str = "smelt-catalog-v1";
/// The lock file serialising readers and writers of one extractor's cache.
const LOCK_FILE: &str = ".smelt-catalog.lock";

/// `.meltano/run/<extractor>/`, where the cache of `tap` lives.
pub fn cache_dir(project: &Project, tap: &Plugin) -> PathBuf {
    project.sys_dir.join("run").join(safe_component(&tap.name))
}

/// The key for `tap` with `config`, or `None` when the tap must not be cached.
pub(crate) fn key(
    tap: &Plugin,
    config: &Map<String, Value>,
    rules: &CatalogRules,
) -> Option<String> {
    let pip_url = tap.pip_url.as_deref()?.trim();
    if pip_url.is_empty() || pip_url.starts_with("-e") || tap.is_native() {
        return None;
    }
    let input = serde_json::json!({
        "config": config,
        "schema": rules.schema,
        "metadata": rules.metadata,
        "pip_url": pip_url,
        "executable": tap.executable,
    });
    let canonical = canonical_json(&input);
    let digest = Sha256::digest(canonical.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("{CACHE_VERSION}:{hex}"))
}

/// Whether the `use_cached_catalog` extra allows reuse (`<NAME>__USE_CACHED_CATALOG` in the
/// environment or `.env` wins over meltano.yml, as for Meltano's other extras).
pub(crate) fn enabled(project: &Project, tap: &Plugin, log: &Logger) -> bool {
    let Some((origin, value)) = super::extra_value(project, tap, "use_cached_catalog") else {
        return true;
    };
    match as_bool(&value) {
        Some(b) => b,
        None => {
            log.warn(&format!(
                "{}: {origin} is {value}, which is not a boolean; the catalog cache stays on",
                tap.name
            ));
            true
        }
    }
}

/// Meltano's boolean parsing of setting values.
fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Null => Some(true),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "on" | "t" => Some(true),
            "false" | "0" | "no" | "n" | "off" | "f" | "" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        _ => None,
    }
}

/// The cached catalog, when its key equals `key`. Problems reading it are logged and treated
/// as a miss: the cache only ever saves time.
pub(crate) fn load(
    project: &Project,
    tap: &Plugin,
    key: &Option<String>,
    log: &Logger,
) -> Option<Value> {
    let key = key.as_ref()?;
    let dir = cache_dir(project, tap);
    if !dir.join(CACHE_KEY_FILE).exists() {
        return None;
    }
    let _lock = Lock::take(&dir, libc::LOCK_SH).ok()?;
    let stored = fs::read_to_string(dir.join(CACHE_KEY_FILE)).ok()?;
    if stored.trim() != key {
        log.debug(&format!(
            "{}: the cached catalog is outdated, running discovery",
            tap.name
        ));
        return None;
    }
    let bytes = fs::read(dir.join(CATALOG_FILE)).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => {
            log.warn(&format!(
                "{}: the cached catalog {} is not valid JSON; discovering again",
                tap.name,
                dir.join(CATALOG_FILE).display()
            ));
            None
        }
    }
}

/// Stores `catalog` under `key`; with no key, removes a stale key so it cannot match later.
/// Failures are logged, never fatal.
pub(crate) fn store(
    project: &Project,
    tap: &Plugin,
    key: &Option<String>,
    catalog: &Value,
    log: &Logger,
) {
    let dir = cache_dir(project, tap);
    if let Err(e) = try_store(&dir, key.as_deref(), catalog) {
        log.warn(&format!(
            "{}: could not cache the catalog in {}: {e}",
            tap.name,
            dir.display()
        ));
    }
}

fn try_store(dir: &Path, key: Option<&str>, catalog: &Value) -> std::io::Result<()> {
    let Some(key) = key else {
        if dir.join(CACHE_KEY_FILE).exists() {
            let _lock = Lock::take(dir, libc::LOCK_EX)?;
            let _ = fs::remove_file(dir.join(CACHE_KEY_FILE));
        }
        return Ok(());
    };
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let _lock = Lock::take(dir, libc::LOCK_EX)?;
    let bytes = serde_json::to_vec_pretty(catalog).map_err(std::io::Error::other)?;
    // Key last: a crash between the two writes leaves an old key next to a new catalog, which
    // at worst costs one more discovery (the old key no longer matches this configuration…
    // or it does, and then the new catalog is equally valid for it).
    let _ = fs::remove_file(dir.join(CACHE_KEY_FILE));
    write_private(&dir.join(CATALOG_FILE), &bytes)?;
    write_private(&dir.join(CACHE_KEY_FILE), key.as_bytes())
}

/// Writes `bytes` to `path` through a 0600 temporary file and a rename.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// An advisory `flock` on the cache directory's lock file, released on drop.
struct Lock(File);

impl Lock {
    fn take(dir: &Path, mode: i32) -> std::io::Result<Lock> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(dir.join(LOCK_FILE))?;
        // SAFETY: flock on an fd we own; it blocks until the lock is granted or fails.
        let rc = unsafe { libc::flock(file.as_raw_fd(), mode) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Lock(file))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: unlocking an fd we own; closing it would release the lock anyway.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// JSON with object keys sorted at every level, so equal values always hash alike.
fn canonical_json(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// Plugin names come from the project file; keep them to one harmless path component.
fn safe_component(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.trim_start_matches('.') {
        "" => "_".to_string(),
        t => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_ignores_key_order() {
        assert_eq!(
            canonical_json(&json!({"b": 1, "a": {"d": 2, "c": [3, {"f": 1, "e": 2}]}})),
            r#"{"a":{"c":[3,{"e":2,"f":1}],"d":2},"b":1}"#
        );
    }

    #[test]
    fn booleans_parse_like_meltano() {
        assert_eq!(as_bool(&json!("false")), Some(false));
        assert_eq!(as_bool(&json!("True")), Some(true));
        assert_eq!(as_bool(&json!(0)), Some(false));
        assert_eq!(as_bool(&json!("maybe")), None);
    }

    #[test]
    fn private_files_replace_atomically() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let catalog = json!({"streams": []});
        try_store(dir.path(), Some("k1"), &catalog).unwrap();
        for f in [CATALOG_FILE, CACHE_KEY_FILE] {
            let mode = fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        assert_eq!(
            fs::read_to_string(dir.path().join(CACHE_KEY_FILE)).unwrap(),
            "k1"
        );
        try_store(dir.path(), None, &catalog).unwrap();
        assert!(!dir.path().join(CACHE_KEY_FILE).exists());
    }

    #[test]
    fn component_is_safe() {
        assert_eq!(safe_component("../x"), "_x");
        assert_eq!(safe_component(".."), "_");
        assert_eq!(safe_component("tap-x"), "tap-x");
    }
}
