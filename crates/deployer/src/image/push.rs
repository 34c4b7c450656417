//! Pushing the image over the registry API (OCI distribution), skipping what is already there:
//! the whole image when its manifest exists, else each blob whose HEAD answers.

use std::time::{Duration, Instant};

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::layout::{Image, MANIFEST_MEDIA_TYPE};
use super::repository::Repository;
use crate::error::Error;
use crate::events::{DeployEvent, DeployUi};

/// Sends every registry call to this URL (e.g. `http://127.0.0.1:5000`) instead of the repository's
/// registry, as `--endpoint-url` does for AWS; the image is still named by the repository's URI.
pub const REGISTRY_ENV: &str = "MFSTACK_REGISTRY_URL";

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `REPOSITORY_URI@sha256:HEX`: what the template receives.
    pub by_digest: String,
    pub tag: String,
    /// Blobs uploaded, and blobs the registry already had.
    pub blobs_pushed: usize,
    pub blobs_skipped: usize,
    pub bytes_pushed: usize,
    pub elapsed: Duration,
}

/// Where registry calls go: `host[:port]`, and whether over plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub http: bool,
}

impl Endpoint {
    /// The repository's own registry over HTTPS, or `url` (`http://HOST:PORT` or `https://…`).
    pub fn resolve(repository: &Repository, url: Option<&str>) -> Result<Self, Error> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Self {
                host: repository.registry.clone(),
                http: false,
            });
        };
        let (http, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (false, rest)
        } else {
            return Err(registry_error(
                REGISTRY_ENV,
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        };
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains('/') {
            return Err(registry_error(
                REGISTRY_ENV,
                format!("{url:?} must be a scheme and host[:port] only"),
            ));
        }
        Ok(Self {
            host: host.to_string(),
            http,
        })
    }
}

/// Push `image` to `repository` under `tag`, through `endpoint`, with ECR's `(user, password)`.
pub async fn push(
    repository: &Repository,
    endpoint: &Endpoint,
    credentials: (String, String),
    image: &Image,
    tag: &str,
    ui: &mut dyn DeployUi,
) -> Result<Pushed, Error> {
    let started = Instant::now();
    let client = client(endpoint);
    let auth = RegistryAuth::Basic(credentials.0, credentials.1);
    let by_tag = Reference::with_tag(endpoint.host.clone(), repository.name.clone(), tag.into());
    let by_digest = by_tag.clone_with_digest(image.digest.clone());
    client
        .auth(&by_tag, &auth, RegistryOperation::Push)
        .await
        .map_err(|e| registry_error("authenticating", e))?;
    let mut pushed = Pushed {
        by_digest: format!("{}@{}", repository.uri(), image.digest),
        tag: tag.to_string(),
        blobs_pushed: 0,
        blobs_skipped: 0,
        bytes_pushed: 0,
        elapsed: Duration::ZERO,
    };
    if manifest_exists(&client, &by_digest, &auth).await? {
        pushed.blobs_skipped = image.blobs().count();
    } else {
        for blob in image.blobs() {
            let there = client
                .blob_exists(&by_tag, &blob.digest)
                .await
                .map_err(|e| registry_error("checking a blob", e))?;
            if !there {
                client
                    .push_blob(&by_tag, blob.bytes.clone(), &blob.digest)
                    .await
                    .map_err(|e| registry_error("pushing a blob", e))?;
                pushed.blobs_pushed += 1;
                pushed.bytes_pushed += blob.bytes.len();
            } else {
                pushed.blobs_skipped += 1;
            }
            ui.event(&DeployEvent::ImageBlob {
                what: blob.what.to_string(),
                digest: blob.digest.clone(),
                bytes: blob.bytes.len(),
                pushed: !there,
            });
        }
        let content_type = http::HeaderValue::from_static(MANIFEST_MEDIA_TYPE);
        client
            .push_manifest_raw(&by_tag, image.manifest.clone(), content_type)
            .await
            .map_err(|e| registry_error("pushing the manifest", e))?;
    }
    pushed.elapsed = started.elapsed();
    ui.event(&DeployEvent::ImagePushed {
        reference: pushed.by_digest.clone(),
        tag: pushed.tag.clone(),
        blobs_pushed: pushed.blobs_pushed,
        blobs_skipped: pushed.blobs_skipped,
        bytes_pushed: pushed.bytes_pushed,
        elapsed: pushed.elapsed,
    });
    Ok(pushed)
}

fn client(endpoint: &Endpoint) -> Client {
    // The client's TLS is rustls without a built-in crypto provider; ring is the one the rest of the
    // deployer uses. Installing fails only when a provider is already in place, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let protocol = if endpoint.http {
        ClientProtocol::HttpsExcept(vec![endpoint.host.clone()])
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        // One PUT per blob: ECR refuses chunks under 5 MiB, and the blobs are in memory anyway.
        use_monolithic_push: true,
        connect_timeout: Some(Duration::from_secs(30)),
        read_timeout: Some(Duration::from_secs(300)),
        ..ClientConfig::default()
    })
}

/// Whether the registry has the manifest with this digest; a registry that has never seen the
/// repository says so with NAME_UNKNOWN.
async fn manifest_exists(
    client: &Client,
    by_digest: &Reference,
    auth: &RegistryAuth,
) -> Result<bool, Error> {
    match client.fetch_manifest_digest(by_digest, auth).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(registry_error("checking the manifest", e)),
    }
}

fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            matches!(
                x.code,
                OciErrorCode::ManifestUnknown
                    | OciErrorCode::NameUnknown
                    | OciErrorCode::BlobUnknown
            )
        }),
        _ => false,
    }
}

fn registry_error(doing: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Registry {
        doing,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> Repository {
        Repository {
            registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com".into(),
            name: "mfstack".into(),
        }
    }

    #[test]
    fn the_registry_url_overrides_only_where_calls_go() {
        let own = Endpoint::resolve(&repo(), None).unwrap();
        assert_eq!(own.host, "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
        assert!(!own.http);
        let local = Endpoint::resolve(&repo(), Some("http://127.0.0.1:5000/")).unwrap();
        assert_eq!(
            local,
            Endpoint {
                host: "127.0.0.1:5000".into(),
                http: true
            }
        );
        assert!(Endpoint::resolve(&repo(), Some("127.0.0.1:5000")).is_err());
        assert!(Endpoint::resolve(&repo(), Some("http://h:5000/v2/x")).is_err());
        assert_eq!(Endpoint::resolve(&repo(), Some("")).unwrap(), own);
    }
}
