//! Reading `state_backend.uri` for the cloud backends: `s3://[key:secret@]bucket/prefix`,
//! `gs://bucket/prefix`, `azure://container/prefix`.

use object_store::path::Path;
use smelt_state::StateError;

use crate::SettingNames;

/// Which cloud a URI points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cloud {
    S3,
    Gcs,
    Azure,
}

impl Cloud {
    /// The URI scheme, as Meltano spells it.
    pub(crate) fn scheme(self) -> &'static str {
        match self {
            Cloud::S3 => "s3",
            Cloud::Gcs => "gs",
            Cloud::Azure => "azure",
        }
    }

    /// Where to look when access is denied, for error messages.
    pub(crate) fn credentials_hint(self, names: &SettingNames) -> String {
        match self {
            Cloud::S3 => format!(
                "check {} / {} (or the key in the URI, or AWS_ACCESS_KEY_ID / \
                 AWS_SECRET_ACCESS_KEY)",
                names.s3_access_key_id, names.s3_secret_access_key
            ),
            Cloud::Gcs => format!(
                "check {} (or GOOGLE_APPLICATION_CREDENTIALS)",
                names.gcs_application_credentials
            ),
            Cloud::Azure => format!(
                "check {} (or AZURE_STORAGE_CONNECTION_STRING)",
                names.azure_connection_string
            ),
        }
    }
}

/// A parsed cloud state URI. Credentials are kept apart so no label ever shows them.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub cloud: Cloud,
    /// Bucket (S3, GCS) or container (Azure).
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; empty for the bucket root.
    pub prefix: Path,
    /// `key:secret@` from an `s3://` URI, percent-decoded.
    pub uri_credentials: Option<(String, String)>,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.root_url())
    }
}

impl Location {
    /// `scheme://bucket[/prefix]`, never with credentials: the backend's name.
    pub(crate) fn root_url(&self) -> String {
        if self.prefix.as_ref().is_empty() {
            self.bucket_url()
        } else {
            format!("{}/{}", self.bucket_url(), self.prefix)
        }
    }

    /// `scheme://bucket`, to which object keys are appended in messages.
    pub(crate) fn bucket_url(&self) -> String {
        format!("{}://{}", self.cloud.scheme(), self.bucket)
    }
}

/// Parse a cloud state backend URI. Errors quote the URI with any credentials masked.
#[cfg(test)]
pub(crate) fn parse_uri(uri: &str) -> Result<Location, StateError> {
    parse_url(uri, &SettingNames::STATE_BACKEND)
}

/// Parse an object-store URL given in setting `names.uri`. Errors quote the URL with any
/// credentials masked.
pub(crate) fn parse_url(uri: &str, names: &SettingNames) -> Result<Location, StateError> {
    let invalid = |reason: &str| {
        StateError::Backend(format!(
            "invalid {} {}: {reason}; expected s3://[key:secret@]bucket/prefix, \
             gs://bucket/prefix or azure://container/prefix",
            names.uri,
            redact(uri)
        ))
    };
    let (scheme, rest) = uri
        .split_once("://")
        .ok_or_else(|| invalid("it has no scheme"))?;
    let cloud = match scheme.to_ascii_lowercase().as_str() {
        "s3" => Cloud::S3,
        "gs" => Cloud::Gcs,
        "azure" => Cloud::Azure,
        _ => return Err(invalid("unsupported scheme")),
    };

    let (uri_credentials, rest) = match split_userinfo(rest) {
        Some((userinfo, after)) => {
            if cloud != Cloud::S3 {
                return Err(invalid(
                    "credentials in the URI are only supported for s3://; use the backend's \
                     credential setting instead",
                ));
            }
            let (key, secret) = userinfo
                .split_once(':')
                .map(|(k, s)| (percent_decode(k), percent_decode(s)))
                .filter(|(k, s)| !k.is_empty() && !s.is_empty())
                .ok_or_else(|| invalid("credentials in the URI must be key:secret"))?;
            (Some((key, secret)), after)
        }
        None => (None, rest),
    };

    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(invalid("the bucket (or container) name is missing"));
    }
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(invalid(
            "the bucket (or container) name may only hold letters, digits, '-', '_' and '.'",
        ));
    }
    let prefix = Path::parse(prefix.trim_matches('/'))
        .map_err(|e| invalid(&format!("the prefix is not a usable object key ({e})")))?;
    Ok(Location {
        cloud,
        bucket: bucket.to_string(),
        prefix,
        uri_credentials,
    })
}

/// `key:secret@` before the bucket, if any. Secrets may hold `/`, so the first `@` whose
/// left side has a `:` ends the user info.
fn split_userinfo(rest: &str) -> Option<(&str, &str)> {
    let (userinfo, after) = rest.split_once('@')?;
    userinfo.contains(':').then_some((userinfo, after))
}

/// The URI with any user info replaced by `***`, for messages.
pub(crate) fn redact(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => match split_userinfo(rest) {
            Some((_, after)) => format!("{scheme}://***@{after}"),
            None => uri.to_string(),
        },
        None => match uri.split_once('@') {
            Some((_, after)) => format!("***@{after}"),
            None => uri.to_string(),
        },
    }
}

/// Decode `%XX` escapes (invalid escapes are kept as written).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(uri: &str) -> Location {
        match parse_uri(uri) {
            Ok(l) => l,
            Err(e) => panic!("{uri}: {e}"),
        }
    }

    fn error(uri: &str) -> String {
        match parse_uri(uri) {
            Ok(l) => panic!("{uri} parsed as {l:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_each_cloud() {
        let l = parse("s3://my-bucket/some/prefix/");
        assert_eq!(l.cloud, Cloud::S3);
        assert_eq!(l.bucket, "my-bucket");
        assert_eq!(l.prefix.as_ref(), "some/prefix");
        assert_eq!(l.root_url(), "s3://my-bucket/some/prefix");
        assert!(l.uri_credentials.is_none());

        let l = parse("gs://bucket.with.dots");
        assert_eq!((l.cloud, l.prefix.as_ref()), (Cloud::Gcs, ""));
        assert_eq!(l.root_url(), "gs://bucket.with.dots");

        let l = parse("azure://container//state/");
        assert_eq!(l.cloud, Cloud::Azure);
        assert_eq!(l.prefix.as_ref(), "state");
        assert_eq!(l.bucket_url(), "azure://container");
    }

    #[test]
    fn s3_credentials_are_split_out_and_never_shown() {
        let l = parse("s3://AKID:se%2Bcr/et@bucket/prefix");
        assert_eq!(
            l.uri_credentials,
            Some(("AKID".to_string(), "se+cr/et".to_string()))
        );
        assert_eq!(l.bucket, "bucket");
        assert_eq!(l.prefix.as_ref(), "prefix");
        assert!(!format!("{l:?}").contains("se"));
        assert_eq!(l.root_url(), "s3://bucket/prefix");
    }

    #[test]
    fn errors_mask_credentials() {
        let e = error("s3://AKID:topsecret@");
        assert!(e.contains("bucket (or container) name is missing"), "{e}");
        assert!(!e.contains("topsecret") && !e.contains("AKID"), "{e}");
        assert!(e.contains("s3://***@"), "{e}");
    }

    #[test]
    fn rejects_bad_uris() {
        assert!(error("bucket/prefix").contains("no scheme"));
        assert!(error("ftp://bucket/prefix").contains("unsupported scheme"));
        assert!(error("gs:///prefix").contains("name is missing"));
        assert!(error("gs://key:secret@bucket/p").contains("only supported for s3://"));
        assert!(error("s3://key:@bucket/p").contains("key:secret"));
        assert!(error("s3://bu:cket/p").contains("may only hold"));
        assert!(error("s3://bucket/a//b").contains("not a usable object key"));
        assert!(error("s3://bucket/a/../b").contains("not a usable object key"));
    }

    #[test]
    fn at_sign_in_prefix_without_credentials_is_a_prefix() {
        let l = parse("s3://bucket/team@x/state");
        assert_eq!(l.bucket, "bucket");
        assert_eq!(l.prefix.as_ref(), "team@x/state");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%2bc"), "a/b+c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn redact_masks_userinfo_only() {
        assert_eq!(redact("s3://k:s@b/p"), "s3://***@b/p");
        assert_eq!(redact("s3://b/p"), "s3://b/p");
        assert_eq!(redact("k:s@b"), "***@b");
    }
}
