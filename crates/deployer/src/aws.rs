//! The one place SDK configuration is built: region, profile and credentials the standard AWS way,
//! one HTTPS client, and an optional endpoint override for local emulators such as moto_server.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use crate::error::Error;

/// Environment variable that points every service at one endpoint (e.g. `http://127.0.0.1:5000`).
/// The standard `AWS_ENDPOINT_URL` is honoured too; this one wins when both are set.
pub const ENDPOINT_ENV: &str = "MFSTACK_AWS_ENDPOINT_URL";

/// Static keys, for callers that hold them already (tests against an emulator, mostly).
pub use aws_sdk_sts::config::Credentials;

/// What the caller may pin; everything left `None` resolves the standard AWS way
/// (flags → `AWS_*` environment → `~/.aws/config` and `credentials` → SSO, process, IMDS…).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Named profile from `~/.aws/config`.
    pub profile: Option<String>,
    /// Region, overriding the environment and profile.
    pub region: Option<String>,
    /// Endpoint for every service; `None` reads [`ENDPOINT_ENV`], then `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// Fixed credentials instead of the default chain.
    pub credentials: Option<Credentials>,
}

/// Loaded SDK configuration plus the service clients built from it.
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
}

impl Aws {
    /// Resolve configuration. Fails with [`Error::NoRegion`] when no region can be found, since every
    /// call after this would fail with a less helpful message.
    pub async fn load(options: AwsOptions) -> Result<Self, Error> {
        // rustls with ring only: one TLS stack, and no C toolchain beyond what ring needs.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let endpoint = options
            .endpoint_url
            .clone()
            .or_else(|| std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.is_empty()));
        if let Some(url) = endpoint {
            loader = loader.endpoint_url(url);
        }
        if let Some(creds) = options.credentials {
            loader = loader.credentials_provider(creds);
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(Error::NoRegion);
        }
        Ok(Self { config })
    }

    /// The resolved region.
    pub fn region(&self) -> &str {
        self.config.region().map(Region::as_ref).unwrap_or_default()
    }

    /// The loaded configuration, for building clients this crate does not wrap.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// The endpoint override in force, if any (from options or environment).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.config.endpoint_url()
    }

    /// Account id and caller ARN; also the cheapest way to surface credential problems early.
    pub async fn identity(&self) -> Result<Identity, Error> {
        let out = aws_sdk_sts::Client::new(&self.config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetCallerIdentity", e))?;
        Ok(Identity {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        })
    }

    pub(crate) fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }

    pub(crate) fn s3(&self) -> aws_sdk_s3::Client {
        // Emulators answer on one host, so virtual-hosted bucket names would not resolve.
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.endpoint_url().is_some())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub(crate) fn apigateway(&self) -> aws_sdk_apigateway::Client {
        aws_sdk_apigateway::Client::new(&self.config)
    }

    pub(crate) fn ecr(&self) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::new(&self.config)
    }

    pub(crate) fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.config)
    }

    pub(crate) fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    pub(crate) fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.config)
    }

    pub(crate) fn rds(&self) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::new(&self.config)
    }
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// 12-digit account id.
    pub account: String,
    /// Caller ARN (user, role session…).
    pub arn: String,
}
