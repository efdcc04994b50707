//! What a finished install leaves in its venv so the next `smelt install` (or `meltano install`)
//! can tell it is current without running anything.
//!
//! smelt writes two files, last, after the installer succeeded, so a half-done install never
//! looks done:
//! - `.smelt_fingerprint`: a *key* (backend, interpreter, pip arguments) compared byte for byte
//!   on the next run, then a `---` line and facts kept for people (the interpreter actually
//!   used, the uv version), which are not compared;
//! - `.meltano_plugin_fingerprint`: Meltano 4's own hash of the same pip arguments, so Meltano's
//!   auto-install treats a smelt-installed venv as current.

use std::path::Path;

use sha2::{Digest, Sha256};

/// smelt's fingerprint file, in the venv root.
pub const SMELT_FILE: &str = ".smelt_fingerprint";
/// Meltano's fingerprint file, in the venv root (`VirtualEnv.plugin_fingerprint_path`).
pub const MELTANO_FILE: &str = ".meltano_plugin_fingerprint";
const SEPARATOR: &str = "---\n";

/// What decides whether an install is current: same backend, interpreter and arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// `uv` or `virtualenv`.
    pub backend: String,
    /// The interpreter asked for, resolved on PATH when it is a bare name.
    pub python: String,
    /// `pip install` arguments after expansion and splitting.
    pub args: Vec<String>,
}

impl Key {
    /// The key's text as stored at the top of [`SMELT_FILE`].
    /// The pip arguments are stored as a hash: they may hold a token from a `$VAR` in the
    /// pip_url, and the venv is readable by others.
    pub fn text(&self) -> String {
        let args = serde_json::Value::from(self.args.clone()).to_string();
        let digest: String = Sha256::digest(args.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "smelt-install 2\nbackend: {}\npython: {}\nargs-sha256: {digest}\n",
            self.backend, self.python
        )
    }

    /// The whole file: the key, then facts for people (not compared).
    pub fn file_text(&self, facts: &[(&str, &str)]) -> String {
        let mut out = self.text();
        out.push_str(SEPARATOR);
        for (name, value) in facts {
            out.push_str(&format!("{name}: {value}\n"));
        }
        out
    }

    /// Whether the venv at `venv` was installed for this key and still has its interpreter.
    /// Only reads files: no process is started.
    pub fn matches(&self, venv: &Path) -> bool {
        if !venv.join("bin").join("python").exists() {
            return false;
        }
        match std::fs::read_to_string(venv.join(SMELT_FILE)) {
            Ok(stored) => stored
                .split_once(SEPARATOR)
                .is_some_and(|(key, _)| key == self.text()),
            Err(_) => false,
        }
    }
}

/// Whether the venv at `venv` was installed by Meltano for these pip arguments: it has no smelt
/// fingerprint, its interpreter is there, and Meltano's own fingerprint matches. Lets a project
/// moving from Meltano keep its venvs instead of reinstalling every plugin on the first run.
pub fn installed_by_meltano(venv: &Path, args: &[String], configured_python: Option<&str>) -> bool {
    if venv.join(SMELT_FILE).exists() || !venv.join("bin").join("python").exists() {
        return false;
    }
    std::fs::read_to_string(venv.join(MELTANO_FILE))
        .is_ok_and(|stored| stored.trim() == meltano_fingerprint(args, configured_python))
}

/// Meltano 4's fingerprint (`venv_service.fingerprint`): SHA-256 of the sorted, de-duplicated
/// pip arguments joined by spaces, plus `python:<value>` when the plugin or the project names
/// an interpreter (`configured_python`), as Meltano passes exactly that value.
pub fn meltano_fingerprint(args: &[String], configured_python: Option<&str>) -> String {
    let mut parts: Vec<&str> = args.iter().map(String::as_str).collect();
    parts.sort_unstable();
    parts.dedup();
    let mut components: Vec<String> = parts.into_iter().map(str::to_string).collect();
    if let Some(py) = configured_python {
        components.push(format!("python:{py}"));
    }
    let digest = Sha256::digest(components.join(" ").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(args: &[&str]) -> Key {
        Key {
            backend: "uv".into(),
            python: "/usr/bin/python3".into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn meltano_fingerprint_matches_python_hashlib() {
        // python3 -c 'import hashlib; print(hashlib.sha256(b"a b").hexdigest())'
        assert_eq!(
            meltano_fingerprint(&["b".into(), "a".into(), "b".into()], None),
            "c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2034ae8c38e6fcc6d65"
        );
        assert_ne!(
            meltano_fingerprint(&["a".into()], Some("python3.11")),
            meltano_fingerprint(&["a".into()], None)
        );
    }

    #[test]
    fn a_venv_meltano_installed_counts_until_smelt_installs_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let venv = dir.path();
        let args = vec!["target-jsonl==0.1.4".to_string()];
        std::fs::create_dir_all(venv.join("bin")).expect("bin");
        std::fs::write(venv.join("bin/python"), "").expect("python");
        assert!(!installed_by_meltano(venv, &args, None));
        std::fs::write(venv.join(MELTANO_FILE), meltano_fingerprint(&args, None)).expect("write");
        assert!(installed_by_meltano(venv, &args, None));
        assert!(!installed_by_meltano(venv, &args, Some("python3.12")));
        assert!(!installed_by_meltano(
            venv,
            &["target-jsonl".to_string()],
            None
        ));
        // Once smelt has its own fingerprint there, only smelt's counts.
        std::fs::write(venv.join(SMELT_FILE), "other").expect("write");
        assert!(!installed_by_meltano(venv, &args, None));
    }

    #[test]
    fn key_matches_only_its_own_venv() {
        let dir = tempfile::tempdir().expect("tempdir");
        let venv = dir.path();
        let k = key(&["target-jsonl"]);
        // Nothing there yet.
        assert!(!k.matches(venv));
        std::fs::create_dir_all(venv.join("bin")).expect("bin");
        std::fs::write(venv.join("bin/python"), "").expect("python");
        std::fs::write(venv.join(SMELT_FILE), k.file_text(&[("uv", "uv 0.9")])).expect("write");
        assert!(k.matches(venv));
        // Facts differ: still current.
        std::fs::write(venv.join(SMELT_FILE), k.file_text(&[("uv", "uv 1.0")])).expect("write");
        assert!(k.matches(venv));
        // The arguments are stored hashed (a pip_url may hold a token).
        let stored = std::fs::read_to_string(venv.join(SMELT_FILE)).expect("read");
        assert!(!stored.contains("target-jsonl"), "{stored}");
        // Different args, backend or interpreter: not current.
        assert!(!key(&["target-jsonl==1.0"]).matches(venv));
        let mut other = k.clone();
        other.backend = "virtualenv".into();
        assert!(!other.matches(venv));
        // A venv whose interpreter vanished is not current.
        std::fs::remove_file(venv.join("bin/python")).expect("rm");
        assert!(!k.matches(venv));
    }
}
