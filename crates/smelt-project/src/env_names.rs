//! Environment variable names, built the way Meltano builds them.

/// Joins the non-empty parts with `_`, upper-cased, every non-alphanumeric (ASCII) character
/// turned into `_`: `("tap-gitlab", "api.token")` → `TAP_GITLAB_API_TOKEN`.
pub fn env_var_name(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_meltano() {
        assert_eq!(
            env_var_name(&["tap-gitlab", "api.token"]),
            "TAP_GITLAB_API_TOKEN"
        );
        assert_eq!(
            env_var_name(&["meltano", "elt.buffer_size"]),
            "MELTANO_ELT_BUFFER_SIZE"
        );
        assert_eq!(env_var_name(&["tap-x", "_select"]), "TAP_X__SELECT");
        assert_eq!(env_var_name(&["", "x"]), "X");
        assert_eq!(env_var_name(&["tap-ü"]), "TAP__");
    }
}
