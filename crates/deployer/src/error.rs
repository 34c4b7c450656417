//! One error type for every AWS call, classified into what a user can act on.

use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};

use crate::events::RootCause;
use crate::replacement::guard::DataLoss;

/// What went wrong, in terms a user can act on. The CLI adds a hint per variant.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No region in flags, environment or profile.
    #[error("no AWS region is configured")]
    NoRegion,
    /// The credential chain found nothing usable.
    #[error("no AWS credentials found: {0}")]
    NoCredentials(String),
    /// The credentials were found but have expired (typically an SSO or STS session).
    #[error("the AWS credentials have expired: {0}")]
    ExpiredCredentials(String),
    /// The caller lacks an IAM permission for `operation`.
    #[error("permission denied for {operation}: {message}")]
    AccessDenied {
        /// The API call that was refused, e.g. `CreateChangeSet`.
        operation: &'static str,
        /// AWS's message, which usually names the missing action.
        message: String,
    },
    /// The stack is mid-operation, so nothing new can start.
    #[error("stack {stack} is busy ({status})")]
    StackBusy {
        stack: String,
        /// Its current status, as CloudFormation spells it.
        status: String,
    },
    /// The stack is in a state only a person should resolve (e.g. ROLLBACK_COMPLETE, declined recreate).
    #[error("stack {stack} is in {status} and cannot be updated")]
    StackStuck { stack: String, status: String },
    /// No such stack.
    #[error("stack {0} does not exist")]
    StackNotFound(String),
    /// CloudFormation refused the template or its parameters.
    #[error("CloudFormation rejected the template: {0}")]
    TemplateRejected(String),
    /// The stack operation ended in failure or rollback.
    #[error("stack {stack} ended in {status}")]
    DeployFailed {
        stack: String,
        status: String,
        /// The first failed resources and their reasons.
        causes: Vec<RootCause>,
    },
    /// The stack is mid-operation or did not end well, so its outputs cannot be trusted yet.
    #[error("stack {stack} is {status}{}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    NotSettled {
        stack: String,
        status: String,
        /// CloudFormation's status reason, when it gave one.
        reason: Option<String>,
    },
    /// A stack output this operation needs is absent.
    #[error("stack {stack} has no output {output}")]
    MissingOutput { stack: String, output: String },
    /// The update would replace or delete resources that hold data, and the caller did not allow
    /// it (`DataGuard::allow_data_replacement`). Nothing was executed.
    #[error(
        "not deploying {stack}: the update would destroy data\n{}",
        losses_text(losses)
    )]
    WouldDestroyData {
        stack: String,
        /// Each resource, why it would go, and what would be lost.
        losses: Vec<DataLoss>,
    },
    /// The migration function answered with an error or an unreadable body.
    #[error("the migration function failed: {0}")]
    Migration(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No service image can be built here (not Linux, or a binary that needs host libraries).
    #[error("cannot build the service image: {0}")]
    NoServiceImage(String),
    /// The image registry refused or failed a call.
    #[error("image registry: {doing} failed: {message}")]
    Registry {
        /// What the push was doing, e.g. `pushing a blob`.
        doing: &'static str,
        message: String,
    },
    /// Any other AWS error.
    #[error("{operation} failed: {message}")]
    Aws {
        /// The API call, e.g. `PutObject`.
        operation: &'static str,
        /// AWS's code and message, or the transport error.
        message: String,
    },
}

/// Codes AWS uses for expired sessions, across services.
const EXPIRED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "TokenRefreshRequired",
];
/// Codes AWS uses for a refused permission, across services.
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
];
/// Codes for keys the service does not recognise at all.
const BAD_KEYS: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
];

impl Error {
    /// Classify an SDK error from `operation` into the variant a user can act on.
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if let SdkError::ServiceError(service) = &err {
            let e = service.err();
            let message = e.message().unwrap_or_default().to_string();
            let code = e.code().unwrap_or_default();
            if code.is_empty() && message.is_empty() {
                // Emulators and proxies sometimes answer with a bare status; keep that much.
                let status = service.raw().status().as_u16();
                let body = service
                    .raw()
                    .body()
                    .bytes()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                let body: String = body.chars().take(300).collect();
                return Self::Aws {
                    operation,
                    message: format!("HTTP {status}: {body}"),
                };
            }
            return Self::from_code(operation, code, message);
        }
        let chain = error_chain(&err);
        if chain.contains("credentials") || chain.contains("Credentials") {
            if chain.contains("expired") {
                return Self::ExpiredCredentials(chain);
            }
            // The chain lists every provider it tried over many lines; one line is enough here.
            let first = chain.lines().next().unwrap_or_default();
            let short = first.find("no credentials").map_or(first, |i| &first[i..]);
            return Self::NoCredentials(
                short
                    .trim_end_matches(" Attempted:")
                    .trim_end_matches('.')
                    .to_string(),
            );
        }
        Self::Aws {
            operation,
            message: chain,
        }
    }

    /// Classify by AWS error code; also used where the code comes from a status reason.
    pub fn from_code(operation: &'static str, code: &str, message: String) -> Self {
        if EXPIRED.contains(&code) {
            Self::ExpiredCredentials(message)
        } else if DENIED.contains(&code) {
            Self::AccessDenied { operation, message }
        } else if BAD_KEYS.contains(&code) {
            Self::NoCredentials(format!("{code}: {message}"))
        } else if code == "ValidationError" && message.contains("does not exist") {
            // CloudFormation says "Stack with id X does not exist" for every call on a missing stack.
            Self::StackNotFound(message)
        } else {
            let message = if message.is_empty() {
                code.to_string()
            } else {
                format!("{code}: {message}")
            };
            Self::Aws { operation, message }
        }
    }
}

fn losses_text(losses: &[DataLoss]) -> String {
    let lines: Vec<String> = losses
        .iter()
        .map(|l| {
            format!(
                "  {} ({}): {}; lost: {}",
                l.logical_id, l.resource_type, l.why, l.lost
            )
        })
        .collect();
    lines.join("\n")
}

/// The error and its sources joined with ": ", since SDK errors put the useful part in a source.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_actionable_variants() {
        assert!(matches!(
            Error::from_code("X", "ExpiredToken", "gone".into()),
            Error::ExpiredCredentials(_)
        ));
        assert!(matches!(
            Error::from_code(
                "CreateChangeSet",
                "AccessDenied",
                "not authorized to perform: cloudformation:CreateChangeSet".into()
            ),
            Error::AccessDenied {
                operation: "CreateChangeSet",
                ..
            }
        ));
        assert!(matches!(
            Error::from_code("X", "InvalidClientTokenId", "bad".into()),
            Error::NoCredentials(_)
        ));
        assert!(matches!(
            Error::from_code(
                "DescribeStacks",
                "ValidationError",
                "Stack with id s does not exist".into()
            ),
            Error::StackNotFound(_)
        ));
        match Error::from_code("PutObject", "NoSuchBucket", "".into()) {
            Error::Aws { message, .. } => assert_eq!(message, "NoSuchBucket"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
