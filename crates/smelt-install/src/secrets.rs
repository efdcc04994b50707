//! Keeping secrets out of what an install shows: a `pip_url` may carry a token
//! (`git+https://${GITHUB_TOKEN}@github.com/org/tap.git`), and installers echo URLs in their
//! errors.

/// The values to hide for a pip_url: what each `$NAME` / `${NAME}` in `raw` expands to (via
/// `value_of`), and the user-info part of every URL in the expanded `args`. Values shorter than
/// 3 characters are left out (masking them would garble the output, and they guard nothing).
pub fn of_pip_url(raw: &str, args: &[String], value_of: impl Fn(&str) -> String) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |v: String| {
        if v.len() >= 3 && !out.contains(&v) {
            out.push(v);
        }
    };
    for name in variable_names(raw) {
        push(value_of(&name));
    }
    for arg in args {
        if let Some(info) = url_userinfo(arg) {
            push(info.to_string());
        }
    }
    // Longest first, so a value containing another is masked whole.
    out.sort_by_key(|v| std::cmp::Reverse(v.len()));
    out
}

/// `text` with every secret replaced by `***`.
pub fn mask(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(text.to_string(), |acc, s| acc.replace(s.as_str(), "***"))
}

/// Names referenced as `$NAME` or `${NAME}` (a `\$` is a literal dollar).
fn variable_names(raw: &str) -> Vec<String> {
    let bytes = raw.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'$' => {
                let braced = bytes.get(i + 1) == Some(&b'{');
                let start = if braced { i + 2 } else { i + 1 };
                let end = raw[start.min(raw.len())..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(raw.len(), |n| start + n);
                if end > start {
                    names.push(raw[start..end].to_string());
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    names
}

/// The `user:password` (or token) of `scheme://user:password@host/…`, if any.
fn url_userinfo(arg: &str) -> Option<&str> {
    let rest = &arg[arg.find("://")? + 3..];
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let at = authority.rfind('@')?;
    Some(&authority[..at]).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_variables_and_urls_are_masked() {
        let raw = "git+https://${GH_TOKEN}@github.com/o/tap.git $EXTRA \\$NOT_A_VAR";
        let args = vec![
            "git+https://ghp_secret123@github.com/o/tap.git".to_string(),
            "pkg".to_string(),
        ];
        let secrets = of_pip_url(raw, &args, |name| match name {
            "GH_TOKEN" => "ghp_secret123".to_string(),
            "EXTRA" => "pkg".to_string(),
            _ => String::new(),
        });
        assert_eq!(
            secrets,
            vec!["ghp_secret123".to_string(), "pkg".to_string()]
        );
        let line = "error: failed to fetch git+https://ghp_secret123@github.com/o/tap.git";
        assert_eq!(
            mask(line, &secrets),
            "error: failed to fetch git+https://***@github.com/o/tap.git"
        );
    }

    #[test]
    fn user_and_password_in_a_url() {
        assert_eq!(
            url_userinfo("https://me:pw@example.com/simple"),
            Some("me:pw")
        );
        assert_eq!(url_userinfo("https://example.com/a@b"), None);
        assert_eq!(url_userinfo("plain-package"), None);
        assert_eq!(variable_names("${A}x$B_1 $ \\$C"), vec!["A", "B_1"]);
    }
}
