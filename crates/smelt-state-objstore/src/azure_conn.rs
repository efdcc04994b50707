//! Azure storage connection strings (`AccountName=…;AccountKey=…;BlobEndpoint=…`), the form
//! Meltano's `state_backend.azure.connection_string` and `AZURE_STORAGE_CONNECTION_STRING`
//! take. Parsed here because object_store does not read them.

use smelt_state::StateError;

/// Azurite's well-known development account (`UseDevelopmentStorage=true`).
const DEV_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development key (public, documented by Microsoft).
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Azurite's default blob endpoint.
const DEV_BLOB_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";

/// How to reach and sign for one storage account's blob service.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AzureConnection {
    pub account: String,
    /// Blob service URL, e.g. `https://acct.blob.core.windows.net` or
    /// `http://127.0.0.1:10000/devstoreaccount1` for Azurite.
    pub blob_endpoint: String,
    pub credential: AzureSecret,
}

/// The secret part of a connection string.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum AzureSecret {
    AccountKey(String),
    SharedAccessSignature(String),
}

impl std::fmt::Debug for AzureConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureConnection")
            .field("account", &self.account)
            .field("blob_endpoint", &self.blob_endpoint)
            .finish_non_exhaustive()
    }
}

/// Parse a connection string. Errors never quote it (it holds the account key).
#[cfg(test)]
pub(crate) fn parse_connection_string(text: &str) -> Result<AzureConnection, StateError> {
    parse_connection_string_named(text, "state_backend.azure.connection_string")
}

/// [`parse_connection_string`] for a connection string given in `setting`.
pub(crate) fn parse_connection_string_named(
    text: &str,
    setting: &str,
) -> Result<AzureConnection, StateError> {
    let invalid = |reason: &str| {
        StateError::Backend(format!(
            "the Azure connection string ({setting} or AZURE_STORAGE_CONNECTION_STRING) \
             {reason}; copy it from the storage account's \
             \"Access keys\" page, e.g. \
             DefaultEndpointsProtocol=https;AccountName=NAME;AccountKey=KEY;EndpointSuffix=core.windows.net"
        ))
    };
    let mut account = None;
    let mut key = None;
    let mut sas = None;
    let mut blob_endpoint = None;
    let mut protocol = None;
    let mut suffix = None;
    let mut development = false;
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        // Values (base64 keys, SAS tokens) may contain '='; only the first one separates.
        let Some((name, value)) = part.split_once('=') else {
            return Err(invalid("has an entry without '='"));
        };
        let value = value.trim().to_string();
        match name.trim().to_ascii_lowercase().as_str() {
            "accountname" => account = Some(value),
            "accountkey" => key = Some(value),
            "sharedaccesssignature" => sas = Some(value),
            "blobendpoint" => blob_endpoint = Some(value.trim_end_matches('/').to_string()),
            "defaultendpointsprotocol" => protocol = Some(value),
            "endpointsuffix" => suffix = Some(value),
            "usedevelopmentstorage" => development = value.eq_ignore_ascii_case("true"),
            _ => {} // QueueEndpoint, TableEndpoint, ... are not needed for blobs
        }
    }
    if development {
        return Ok(AzureConnection {
            account: account.unwrap_or_else(|| DEV_ACCOUNT.to_string()),
            blob_endpoint: blob_endpoint.unwrap_or_else(|| DEV_BLOB_ENDPOINT.to_string()),
            credential: AzureSecret::AccountKey(key.unwrap_or_else(|| DEV_KEY.to_string())),
        });
    }
    let account = account
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid("has no AccountName"))?;
    let credential = match (key.filter(|k| !k.is_empty()), sas.filter(|s| !s.is_empty())) {
        (Some(key), _) => AzureSecret::AccountKey(key),
        (None, Some(sas)) => AzureSecret::SharedAccessSignature(sas),
        (None, None) => return Err(invalid("has neither AccountKey nor SharedAccessSignature")),
    };
    let blob_endpoint = match blob_endpoint {
        Some(endpoint) => endpoint,
        None => format!(
            "{}://{account}.blob.{}",
            protocol.as_deref().unwrap_or("https"),
            suffix.as_deref().unwrap_or("core.windows.net")
        ),
    };
    if !(blob_endpoint.starts_with("https://") || blob_endpoint.starts_with("http://")) {
        return Err(invalid("has a BlobEndpoint that is not an http(s) URL"));
    }
    Ok(AzureConnection {
        account,
        blob_endpoint,
        credential,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AzureConnection {
        match parse_connection_string(text) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn error(text: &str) -> String {
        match parse_connection_string(text) {
            Ok(c) => panic!("parsed: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn azure_portal_form() {
        let c = parse(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc+/de==;\
             EndpointSuffix=core.windows.net",
        );
        assert_eq!(c.account, "acct");
        assert_eq!(c.blob_endpoint, "https://acct.blob.core.windows.net");
        assert!(c.credential == AzureSecret::AccountKey("abc+/de==".into()));
    }

    #[test]
    fn azurite_form_with_blob_endpoint() {
        let c = parse(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k==;\
             BlobEndpoint=http://127.0.0.1:41234/devstoreaccount1/;",
        );
        assert_eq!(c.blob_endpoint, "http://127.0.0.1:41234/devstoreaccount1");
    }

    #[test]
    fn development_storage_shortcut() {
        let c = parse("UseDevelopmentStorage=true");
        assert_eq!(c.account, DEV_ACCOUNT);
        assert_eq!(c.blob_endpoint, DEV_BLOB_ENDPOINT);
        assert!(matches!(c.credential, AzureSecret::AccountKey(ref k) if k == DEV_KEY));
    }

    #[test]
    fn sas_and_sovereign_clouds() {
        let c = parse(
            "AccountName=acct;SharedAccessSignature=sv=2022&sig=x%3D;\
             EndpointSuffix=core.chinacloudapi.cn",
        );
        assert_eq!(c.blob_endpoint, "https://acct.blob.core.chinacloudapi.cn");
        assert!(
            matches!(c.credential, AzureSecret::SharedAccessSignature(ref s) if s == "sv=2022&sig=x%3D")
        );
    }

    #[test]
    fn errors_never_quote_the_secret() {
        let e = error("AccountKey=super-secret-key");
        assert!(e.contains("has no AccountName"), "{e}");
        assert!(!e.contains("super-secret-key"), "{e}");
        assert!(error("AccountName=a").contains("neither AccountKey"));
        assert!(error("AccountName=a;garbage").contains("without '='"));
        assert!(error("AccountName=a;AccountKey=k;BlobEndpoint=ftp://x").contains("http(s)"));
        assert!(!format!("{:?}", parse("AccountName=a;AccountKey=hidden")).contains("hidden"));
    }
}
