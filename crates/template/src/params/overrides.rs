//! `NAME=VALUE` overrides and the checks each value passes, as CloudFormation would apply them.

use super::{BatchType, EXISTING_SUBNET1_ID, EXISTING_SUBNET2_ID, EXISTING_VPC_ID, Partition};

/// A parameter override that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// The override is not of the form `NAME=VALUE`.
    #[error("`{0}` is not of the form NAME=VALUE")]
    NotAPair(String),
    /// No parameter has that name.
    #[error("unknown parameter `{name}` (known: {known})")]
    Unknown {
        /// The name given.
        name: String,
        /// Every accepted name.
        known: String,
    },
    /// The value is not accepted for that parameter.
    #[error("invalid value `{value}` for {name}: expected {expected}")]
    Invalid {
        /// The parameter.
        name: String,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// The existing-VPC parameters are only partly given.
    #[error(
        "{EXISTING_VPC_ID}, {EXISTING_SUBNET1_ID} and {EXISTING_SUBNET2_ID} must be given together"
    )]
    PartialExistingVpc,
}

/// Split `NAME=VALUE` at the first `=`.
pub fn parse_override(s: &str) -> Result<(String, String), ParamError> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(ParamError::NotAPair(s.to_string())),
    }
}

pub(super) fn invalid(name: &str, value: &str, expected: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name: name.to_string(),
        value: value.to_string(),
        expected: expected.into(),
    }
}

pub(super) fn parse_bool(name: &str, value: &str) -> Result<bool, ParamError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, value, "'true' or 'false'")),
    }
}

pub(super) fn one_of(name: &str, value: &str, allowed: &[&str]) -> Result<String, ParamError> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(invalid(
            name,
            value,
            format!("one of {}", allowed.join(", ")),
        ))
    }
}

pub(super) fn parse_vcpus(name: &str, value: &str, allowed: &[u32]) -> Result<u32, ParamError> {
    match value.parse::<u32>() {
        Ok(n) if allowed.contains(&n) => Ok(n),
        _ => {
            let list: Vec<String> = allowed.iter().map(u32::to_string).collect();
            Err(invalid(name, value, format!("one of {}", list.join(", "))))
        }
    }
}

pub(super) fn cidr(name: &str, value: &str) -> Result<String, ParamError> {
    let ok = value.split_once('/').is_some_and(|(ip, bits)| {
        let octets: Vec<&str> = ip.split('.').collect();
        octets.len() == 4
            && octets.iter().all(|o| o.parse::<u8>().is_ok())
            && bits.parse::<u8>().is_ok_and(|b| (16..=28).contains(&b))
    });
    if ok {
        Ok(value.to_string())
    } else {
        Err(invalid(
            name,
            value,
            "an IPv4 CIDR block with a /16 to /28 prefix",
        ))
    }
}

pub(super) fn aws_id(name: &str, value: &str, prefix: &str) -> Result<String, ParamError> {
    let ok = value.is_empty()
        || value.strip_prefix(prefix).is_some_and(|hex| {
            (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        });
    if ok {
        Ok(value.to_string())
    } else {
        Err(invalid(
            name,
            value,
            format!("empty or an id like {prefix}0123456789abcdef0"),
        ))
    }
}

pub(super) fn instance_types(name: &str, value: &str) -> Result<Vec<String>, ParamError> {
    let types: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    if types
        .iter()
        .any(|t| t.is_empty() || t.contains(char::is_whitespace))
    {
        return Err(invalid(
            name,
            value,
            "a comma-separated list of instance types",
        ));
    }
    Ok(types)
}

pub(super) fn batch_type(name: &str, value: &str) -> Result<BatchType, ParamError> {
    match value {
        "ec2" => Ok(BatchType::Ec2),
        "fargate" => Ok(BatchType::Fargate),
        _ => Err(invalid(name, value, "'ec2' or 'fargate'")),
    }
}

pub(super) fn partition(name: &str, value: &str) -> Result<Partition, ParamError> {
    match value {
        "aws" => Ok(Partition::Aws),
        "aws-us-gov" => Ok(Partition::AwsUsGov),
        _ => Err(invalid(name, value, "'aws' or 'aws-us-gov'")),
    }
}

pub(super) fn policy_arn(name: &str, value: &str) -> Result<String, ParamError> {
    if value.is_empty() || value.starts_with("arn:aws") && value.contains(":policy/") {
        Ok(value.to_string())
    } else {
        Err(invalid(name, value, "empty or an IAM managed policy ARN"))
    }
}

/// A PostgreSQL version as RDS spells it: a major (`18`) or major and minor (`11.5`).
pub(super) fn engine_version(name: &str, value: &str) -> Result<String, ParamError> {
    let mut parts = value.split('.');
    let numeric =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if numeric(parts.next()) && parts.clone().count() <= 1 && parts.all(|p| numeric(Some(p))) {
        return Ok(value.to_string());
    }
    Err(invalid(
        name,
        value,
        "a PostgreSQL version such as 18 or 16.6",
    ))
}

pub(super) fn image(name: &str, value: &str) -> Result<String, ParamError> {
    if value.is_empty() || value.contains(char::is_whitespace) {
        return Err(invalid(
            name,
            value,
            "a container image reference such as repo/name:tag",
        ));
    }
    Ok(value.to_string())
}

/// Empty, `REPO@sha256:<64 hex>` or `REPO:TAG`; a registry port (`host:5000/repo`) is not a tag.
pub(super) fn service_image(name: &str, value: &str) -> Result<String, ParamError> {
    let well_formed = value.is_empty()
        || match value.split_once('@') {
            Some((repo, digest)) => image_repo(repo) && sha256_digest(digest),
            None => value
                .rsplit_once(':')
                .is_some_and(|(repo, tag)| image_repo(repo) && image_tag(tag)),
        };
    if well_formed {
        Ok(value.to_string())
    } else {
        Err(invalid(
            name,
            value,
            "empty, REPO@sha256:<64 hex digits> or REPO:TAG",
        ))
    }
}

fn image_repo(repo: &str) -> bool {
    !repo.is_empty() && !repo.contains(|c: char| c.is_whitespace() || c == '@')
}

fn sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

// Docker's tag grammar: a word character, then up to 127 of word characters, `.` and `-`.
fn image_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut bytes = tag.bytes();
    bytes.next().is_some_and(word)
        && tag.len() <= 128
        && bytes.all(|b| word(b) || b == b'.' || b == b'-')
}

pub(super) fn template_url(name: &str, value: &str) -> Result<String, ParamError> {
    if value.is_empty() || value.starts_with("https://") {
        Ok(value.to_string())
    } else {
        Err(invalid(
            name,
            value,
            "empty or an https:// URL of the UI template in S3",
        ))
    }
}
