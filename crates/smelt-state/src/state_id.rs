//! State IDs: how Meltano names a pipeline's state, and which names are safe to store.

use crate::StateError;

/// The separator between state ID components (`<env>:<tap>-to-<target>:<suffix>`).
pub const STATE_ID_DELIMITER: char = ':';

/// The longest state ID we accept, in bytes: file backends use the ID as a directory name and
/// most filesystems cap names at 255 bytes.
pub const MAX_STATE_ID_BYTES: usize = 255;

/// Check that `id` can be used as a state ID in every backend.
///
/// File and object-store backends use the ID verbatim as a directory name (exactly like
/// Meltano, `:` included), so anything that would escape or confuse that directory is refused:
/// empty IDs, `/` or `\`, IDs starting with `.` (`.`, `..`, hidden directories Meltano's
/// `state list` would skip), control characters, and IDs longer than 255 bytes.
pub fn validate_state_id(id: &str) -> Result<(), StateError> {
    let reject = |reason: &str| {
        Err(StateError::InvalidId {
            id: id.to_string(),
            reason: reason.to_string(),
        })
    };
    if id.is_empty() {
        return reject("it is empty");
    }
    if id.contains(['/', '\\']) {
        return reject(
            "it contains a path separator ('/' or '\\'); state IDs name a single directory",
        );
    }
    if id.starts_with('.') {
        return reject("it starts with '.', which would be a relative path or a hidden directory");
    }
    if id.chars().any(char::is_control) {
        return reject("it contains a control character");
    }
    if id.len() > MAX_STATE_ID_BYTES {
        return reject(
            "it is longer than 255 bytes, the longest directory name most filesystems allow",
        );
    }
    Ok(())
}

/// Build the state ID Meltano uses for an extract/load pair:
/// `<environment>:<extractor>-to-<loader>[:<suffix>]`.
///
/// Like Meltano, an empty suffix adds nothing, and no component may contain `:` (it would make
/// the ID ambiguous). The result is checked with [`validate_state_id`]. Callers decide the
/// suffix (the `--state-id-suffix` flag, else the environment's `state_id_suffix`).
pub fn state_id(
    environment: &str,
    extractor: &str,
    loader: &str,
    suffix: Option<&str>,
) -> Result<String, StateError> {
    if environment.is_empty() {
        return Err(StateError::InvalidId {
            id: String::new(),
            reason: "no active environment: state is only tracked inside an environment; set \
                     `default_environment` in meltano.yml or pass --environment"
                .to_string(),
        });
    }
    let suffix = suffix.filter(|s| !s.is_empty());
    let components = [Some(environment), Some(extractor), Some(loader), suffix];
    for component in components.into_iter().flatten() {
        if component.contains(STATE_ID_DELIMITER) {
            return Err(StateError::InvalidId {
                id: component.to_string(),
                reason: "state ID components may not contain ':' (it separates environment, \
                         pipeline and suffix)"
                    .to_string(),
            });
        }
    }
    let mut id = format!("{environment}{STATE_ID_DELIMITER}{extractor}-to-{loader}");
    if let Some(suffix) = suffix {
        id.push(STATE_ID_DELIMITER);
        id.push_str(suffix);
    }
    validate_state_id(&id)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_meltano_state_ids() {
        assert_eq!(
            state_id("dev", "tap-github", "target-jsonl", None)
                .ok()
                .as_deref(),
            Some("dev:tap-github-to-target-jsonl")
        );
        assert_eq!(
            state_id("prod", "tap-a", "target-b", Some("nightly"))
                .ok()
                .as_deref(),
            Some("prod:tap-a-to-target-b:nightly")
        );
        assert_eq!(
            state_id("prod", "tap-a", "target-b", Some(""))
                .ok()
                .as_deref(),
            Some("prod:tap-a-to-target-b")
        );
    }

    #[test]
    fn rejects_delimiter_in_components_and_missing_environment() {
        assert!(matches!(
            state_id("dev", "tap:x", "target", None),
            Err(StateError::InvalidId { ref id, .. }) if id == "tap:x"
        ));
        assert!(state_id("dev", "tap", "target", Some("a:b")).is_err());
        let err = state_id("", "tap", "target", None)
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("default_environment")),
            "{err:?}"
        );
        assert!(state_id("dev", "tap/../..", "target", None).is_err());
    }

    #[test]
    fn validates_ids() {
        for ok in [
            "dev:tap-x-to-target-y",
            "a",
            "dev:tap-x-to-target-y:suffix",
            "weird id with spaces",
            "a..b",
        ] {
            assert!(validate_state_id(ok).is_ok(), "{ok} should be valid");
        }
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "a\nb", "a\0b",
        ] {
            assert!(
                matches!(validate_state_id(bad), Err(StateError::InvalidId { .. })),
                "{bad:?} should be rejected"
            );
        }
        assert!(validate_state_id(&"x".repeat(255)).is_ok());
        assert!(validate_state_id(&"x".repeat(256)).is_err());
    }
}
