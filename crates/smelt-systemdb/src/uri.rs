//! Reading the project's `database_uri`: which engine it names, and how to show it without its
//! password.

use crate::DbError;

/// The engine a `database_uri` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The embedded SQLite file (an unset URI or any `sqlite://` URI).
    Sqlite,
    /// A PostgreSQL server; the URI normalised to the `postgresql://` scheme.
    Postgres(String),
}

/// Decide which engine `uri` names.
///
/// An empty URI and `sqlite:` URIs (Meltano's default points at its own `meltano.db`, which
/// smelt never touches) select the embedded database. `postgresql://`, `postgres://` and
/// SQLAlchemy's `postgresql+<driver>://` select PostgreSQL. Anything else is refused with a
/// message naming the supported forms.
pub(crate) fn classify(uri: &str) -> Result<Target, DbError> {
    let uri = uri.trim();
    if uri.is_empty() {
        return Ok(Target::Sqlite);
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(unsupported(uri, "it is not a URI (expected <scheme>://…)"));
    };
    let scheme = scheme.to_ascii_lowercase();
    // SQLAlchemy spells drivers as `dialect+driver`; only the dialect matters here.
    let dialect = scheme.split_once('+').map_or(scheme.as_str(), |(d, _)| d);
    match dialect {
        "sqlite" => Ok(Target::Sqlite),
        "postgresql" | "postgres" => Ok(Target::Postgres(format!("postgresql://{rest}"))),
        other => Err(unsupported(
            uri,
            &format!("smelt's system database does not support {other:?}"),
        )),
    }
}

fn unsupported(uri: &str, reason: &str) -> DbError {
    DbError::UnsupportedUri {
        uri: redact(uri),
        reason: reason.to_string(),
    }
}

/// `uri` with every secret hidden, for messages. Used for every message that shows a URI.
///
/// * URIs: a `user:password@` userinfo becomes `***@` (nothing of it is shown; the userinfo
///   ends at the *last* `@`, so passwords containing `@`, `/`, `?` or `#` are hidden whole),
///   and `password=` query parameters become `password=***`.
/// * libpq connection strings (`host=h password='p w' dbname=d`): the value of every
///   `password` key becomes `(redacted)`, quoted or not.
pub fn redact(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", redact_after_scheme(rest)),
        None if uri.contains('=') && !uri.contains('@') => redact_conninfo(uri),
        None => redact_after_scheme(uri),
    }
}

fn redact_after_scheme(rest: &str) -> String {
    let Some(at) = rest.rfind('@') else {
        return redact_query(rest);
    };
    let (userinfo, after) = (&rest[..at], &rest[at + 1..]);
    let plain = !userinfo.contains(['/', '?', '#']);
    let may_hide_secret =
        userinfo.contains(':') || userinfo.to_ascii_lowercase().contains("password");
    if plain && !userinfo.contains(':') {
        // Only a user name: nothing secret.
        format!("{userinfo}@{}", redact_query(after))
    } else if plain || may_hide_secret {
        // Credentials, or an `@` whose left side might hold a password with delimiters in
        // it: show nothing left of the last `@`.
        format!("***@{}", redact_query(after))
    } else {
        // An `@` in the path (`host/db@x`): there is no userinfo.
        redact_query(rest)
    }
}

/// Hides the value of `password=` query parameters.
fn redact_query(s: &str) -> String {
    let Some((path, query)) = s.split_once('?') else {
        return s.to_string();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => param.to_string(),
        })
        .collect();
    format!("{path}?{}", params.join("&"))
}

/// Hides `password` values in a libpq `key=value` connection string. Text that cannot be
/// parsed from some point on is dropped from there (a secret may be in it).
fn redact_conninfo(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(key_start, _)) = chars.peek() else {
            return out;
        };
        let mut key_end = key_start;
        while let Some((i, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key_end = i + c.len_utf8();
        }
        let key = &s[key_start..key_end];
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("(unparsed rest hidden)");
            return out;
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let value_start = chars.peek().map_or(s.len(), |(i, _)| *i);
        let mut value_end = value_start;
        let mut closed = true;
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            closed = false;
            while let Some((i, c)) = chars.next() {
                value_end = i + c.len_utf8();
                match c {
                    '\\' => {
                        if let Some((j, d)) = chars.next() {
                            value_end = j + d.len_utf8();
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    _ => {}
                }
            }
        } else {
            while let Some((i, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                value_end = i + c.len_utf8();
                if c == '\\' {
                    if let Some((j, d)) = chars.next() {
                        value_end = j + d.len_utf8();
                    }
                }
            }
        }
        if !out.is_empty() {
            out.push(' ');
        }
        if key.eq_ignore_ascii_case("password") {
            out.push_str(&format!("{key}=(redacted)"));
        } else if closed {
            out.push_str(&format!("{key}={}", &s[value_start..value_end]));
        } else {
            out.push_str(&format!("{key}=(unparsed rest hidden)"));
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_and_sqlite_uris_select_the_embedded_database() {
        assert_eq!(classify("").ok(), Some(Target::Sqlite));
        assert_eq!(classify("  ").ok(), Some(Target::Sqlite));
        assert_eq!(
            classify("sqlite:///$MELTANO_PROJECT_ROOT/.meltano/meltano.db").ok(),
            Some(Target::Sqlite)
        );
        assert_eq!(classify("SQLITE:////abs/x.db").ok(), Some(Target::Sqlite));
    }

    #[test]
    fn postgres_spellings_are_normalised() {
        for uri in [
            "postgresql://u:p@h:5/db",
            "postgres://u:p@h:5/db",
            "postgresql+psycopg://u:p@h:5/db",
            "PostgreSQL+psycopg2://u:p@h:5/db",
        ] {
            assert_eq!(
                classify(uri).ok(),
                Some(Target::Postgres("postgresql://u:p@h:5/db".to_string())),
                "{uri}"
            );
        }
    }

    #[test]
    fn other_uris_are_refused_without_their_password() {
        let err = classify("mysql://root:hunter2@db/x")
            .err()
            .map(|e| e.to_string());
        let text = err.unwrap_or_default();
        assert!(text.contains("mysql://***@db/x"), "{text}");
        assert!(text.contains("\"mysql\""), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("postgresql://"), "{text}");
        assert!(classify("host=localhost dbname=x").is_err());
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgresql://u:s3cr:et@h:1/db?sslmode=disable&password=x"),
            "postgresql://***@h:1/db?sslmode=disable&password=***"
        );
        assert_eq!(redact("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
        // An '@' in the path is not mistaken for credentials.
        assert_eq!(redact("postgresql://h/db@x"), "postgresql://h/db@x");
    }

    #[test]
    fn passwords_with_delimiters_are_hidden_whole() {
        for (uri, secret) in [
            ("postgresql://ann:p@ss@h:5/db", "p@ss"),
            ("postgresql://ann:p/w@h/db", "p/w"),
            ("postgresql://ann:a@b/c@h/db", "a@b/c"),
            ("postgresql://ann:q?x#y@h/db", "q?x#y"),
            ("s3://KEY:SE@CRET@bucket/prefix", "SE@CRET"),
            ("postgresql://h/db?password=a@b", "a@b"),
        ] {
            let shown = redact(uri);
            assert!(!shown.contains(secret), "{uri} -> {shown}");
            assert!(shown.contains("***"), "{uri} -> {shown}");
        }
        assert_eq!(
            redact("postgresql://ann:p@ss@h:5/db"),
            "postgresql://***@h:5/db"
        );
    }

    #[test]
    fn conninfo_passwords_are_redacted() {
        assert_eq!(
            redact("host=h password=hunter2 dbname=x"),
            "host=h password=(redacted) dbname=x"
        );
        assert_eq!(
            redact("host = h  PASSWORD = 'a b\\' c' user='ann'"),
            "host=h PASSWORD=(redacted) user='ann'"
        );
        assert_eq!(redact("password='never closed"), "password=(redacted)");
        assert_eq!(
            redact("host=h user='x password=y"),
            "host=h user=(unparsed rest hidden)"
        );
        assert_eq!(
            redact("host=h garbage password=z"),
            "host=h (unparsed rest hidden)"
        );
        let err = classify("host=localhost password=s3cret dbname=x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
