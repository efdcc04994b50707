//! Finding uv, and bootstrapping it once from PyPI when the machine has none.
//!
//! Order: `$SMELT_UV`, then `uv` on `PATH`, then the copy smelt bootstrapped earlier into its
//! cache directory (`<cache>/uv/bin/uv`). When none exists, `python3 -m pip install --target
//! <tmp> uv` fills a temporary sibling of that directory, which is renamed into place, so a
//! half-done bootstrap is never used; a lock file serialises concurrent bootstraps (two smelt
//! processes installing at once download uv once).

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::exec::{self, Bounds};
use crate::python::find_on_path;

/// Where a usable uv came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UvSource {
    /// `$SMELT_UV`.
    Env,
    /// `uv` on `PATH`.
    Path,
    /// smelt's cache directory (bootstrapped by an earlier run).
    Cache,
}

/// smelt's cache directory: `$SMELT_CACHE_DIR`, else `$XDG_CACHE_HOME/smelt`, else
/// `~/.cache/smelt`; `None` when none of those variables is set.
pub fn cache_dir(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let set = |k: &str| {
        env.get(k)
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
    };
    set("SMELT_CACHE_DIR")
        .or_else(|| set("XDG_CACHE_HOME").map(|d| d.join("smelt")))
        .or_else(|| set("HOME").map(|d| d.join(".cache").join("smelt")))
}

/// The uv binary a bootstrap leaves in `cache`.
pub fn cached_uv(cache: &Path) -> PathBuf {
    cache.join("uv").join("bin").join("uv")
}

/// Finds an existing uv, in the order of the module docs. `$SMELT_UV` naming a missing file
/// is an error (the user asked for that one).
pub fn find_uv(env: &BTreeMap<String, String>) -> Result<Option<(PathBuf, UvSource)>, String> {
    if let Some(given) = env.get("SMELT_UV").filter(|v| !v.trim().is_empty()) {
        let path = if given.contains('/') {
            Some(PathBuf::from(given))
        } else {
            find_on_path(given, env)
        };
        return match path.filter(|p| p.is_file()) {
            Some(p) => Ok(Some((p, UvSource::Env))),
            None => Err(format!("SMELT_UV names `{given}`, which is not a file")),
        };
    }
    if let Some(p) = find_on_path("uv", env) {
        return Ok(Some((p, UvSource::Path)));
    }
    if let Some(cache) = cache_dir(env) {
        let p = cached_uv(&cache);
        if p.is_file() {
            return Ok(Some((p, UvSource::Cache)));
        }
    }
    Ok(None)
}

/// Installs uv from PyPI into `cache` with `python -m pip install --target`, under a lock;
/// returns its path. If another process finished a bootstrap meanwhile, uses that one.
pub fn bootstrap(cache: &Path, python: &Path, bounds: Bounds) -> Result<PathBuf, String> {
    std::fs::create_dir_all(cache)
        .map_err(|e| format!("could not create {}: {e}", cache.display()))?;
    let _lock = lock(&cache.join("uv.lock"), bounds)?;
    let target = cached_uv(cache);
    if target.is_file() {
        return Ok(target);
    }
    let tmp = cache.join(format!("uv.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let args: Vec<String> = [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([tmp.to_string_lossy().into_owned(), "uv".to_string()])
    .collect();
    let finished = exec::run(python, &args, &[], cache, bounds)
        .map_err(|e| format!("could not run {}: {e}", python.display()))?;
    if !finished.success() || !tmp.join("bin").join("uv").is_file() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!(
            "`{} -m pip install --target … uv` failed ({}):\n{}",
            python.display(),
            finished.describe(),
            finished.tail(20).join("\n")
        ));
    }
    let dir = cache.join("uv");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir)
        .map_err(|e| format!("could not move uv into {}: {e}", dir.display()))?;
    Ok(target)
}

/// `uv --version` (e.g. `uv 0.9.2`), recorded in fingerprints for people.
pub fn version(uv: &Path, bounds: Bounds) -> String {
    match exec::run(uv, &["--version".to_string()], &[], Path::new("/"), bounds) {
        Ok(f) if f.success() => f.output.trim().to_string(),
        _ => "unknown".to_string(),
    }
}

/// An exclusive lock on `path`, released when dropped (the file descriptor closes).
fn lock(path: &Path, bounds: Bounds) -> Result<std::fs::File, String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("could not open {}: {e}", path.display()))?;
    let started = Instant::now();
    loop {
        // SAFETY: flock on a valid descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(file);
        }
        if (bounds.interrupted)().is_some() || started.elapsed() >= bounds.timeout {
            return Err(format!(
                "gave up waiting for another smelt bootstrapping uv ({} is locked)",
                path.display()
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn exe(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    fn env(pairs: &[(&str, &Path)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.display().to_string()))
            .collect()
    }

    #[test]
    fn cache_dir_prefers_smelt_then_xdg_then_home() {
        let p = Path::new;
        let e = env(&[
            ("SMELT_CACHE_DIR", p("/c")),
            ("XDG_CACHE_HOME", p("/x")),
            ("HOME", p("/h")),
        ]);
        assert_eq!(cache_dir(&e), Some(PathBuf::from("/c")));
        let e = env(&[("XDG_CACHE_HOME", p("/x")), ("HOME", p("/h"))]);
        assert_eq!(cache_dir(&e), Some(PathBuf::from("/x/smelt")));
        let e = env(&[("HOME", p("/h"))]);
        assert_eq!(cache_dir(&e), Some(PathBuf::from("/h/.cache/smelt")));
        assert_eq!(cache_dir(&BTreeMap::new()), None);
    }

    #[test]
    fn discovery_order_is_env_then_path_then_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let on_path = d.join("bin/uv");
        let given = d.join("given/uv");
        let cache = d.join("cache");
        exe(&cached_uv(&cache));
        // Only the cache.
        let mut e = env(&[("PATH", &d.join("bin")), ("SMELT_CACHE_DIR", &cache)]);
        assert_eq!(find_uv(&e), Ok(Some((cached_uv(&cache), UvSource::Cache))));
        // PATH beats the cache.
        exe(&on_path);
        assert_eq!(find_uv(&e), Ok(Some((on_path.clone(), UvSource::Path))));
        // SMELT_UV beats PATH.
        exe(&given);
        e.insert("SMELT_UV".into(), given.display().to_string());
        assert_eq!(find_uv(&e), Ok(Some((given, UvSource::Env))));
        // SMELT_UV naming nothing is an error, not a silent fallback.
        e.insert("SMELT_UV".into(), d.join("nope").display().to_string());
        assert!(find_uv(&e).is_err());
        // Nothing anywhere.
        let empty = env(&[
            ("PATH", &d.join("none")),
            ("SMELT_CACHE_DIR", &d.join("c2")),
        ]);
        assert_eq!(find_uv(&empty), Ok(None));
    }
}
