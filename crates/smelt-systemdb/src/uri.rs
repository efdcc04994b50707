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

/// `uri` with any password replaced by `***`: the `user:password@` part of the authority and
/// a `password=` query parameter. Used for every message that shows a URI.
pub(crate) fn redact(uri: &str) -> String {
    let (head, rest) = match uri.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), uri),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{hosts}"),
            None => format!("{userinfo}@{hosts}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => param.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{head}{authority}{tail}")
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
        assert!(text.contains("mysql://root:***@db/x"), "{text}");
        assert!(text.contains("\"mysql\""), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("postgresql://"), "{text}");
        assert!(classify("host=localhost dbname=x").is_err());
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgresql://u:s3cr:et@h:1/db?sslmode=disable&password=x"),
            "postgresql://u:***@h:1/db?sslmode=disable&password=***"
        );
        assert_eq!(redact("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
        // An '@' in the path is not mistaken for credentials.
        assert_eq!(redact("postgresql://h/db@x"), "postgresql://h/db@x");
    }
}
