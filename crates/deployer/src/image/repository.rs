//! The ECR repository the service image goes to: one per account and region, like the artifacts
//! bucket, created on first use with encryption, scan-on-push, immutable tags and a lifecycle rule.

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Tag,
};
use base64::Engine;

use crate::aws::Aws;
use crate::error::Error;
use crate::events::{DeployEvent, DeployUi};

/// Images kept per repository; older ones expire. A stack keeps running an expired image's tasks,
/// but could not start new ones from it, so the number is generous.
pub const KEEP_IMAGES: i32 = 100;

/// A repository known to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com`.
    pub registry: String,
    /// The repository's name, e.g. `mfstack`.
    pub name: String,
}

impl Repository {
    /// `REGISTRY/NAME`, as the template and `docker pull` name it.
    pub fn uri(&self) -> String {
        format!("{}/{}", self.registry, self.name)
    }
}

/// The lifecycle policy: untagged images go after a day (an interrupted push leaves some), and
/// only the newest [`KEEP_IMAGES`] are kept.
pub fn lifecycle_policy() -> String {
    serde_json::json!({"rules": [
        {"rulePriority": 1, "description": "untagged images, left by interrupted pushes",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": 1},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": format!("keep the newest {KEEP_IMAGES} images"),
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                       "countNumber": KEEP_IMAGES},
         "action": {"type": "expire"}},
    ]})
    .to_string()
}

/// The repository `name`, created if it does not exist yet.
pub async fn ensure(aws: &Aws, name: &str, ui: &mut dyn DeployUi) -> Result<Repository, Error> {
    let ecr = aws.ecr();
    let found = match ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(out) => out.repositories().first().cloned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_not_found_exception()) =>
        {
            None
        }
        Err(e) => return Err(Error::from_sdk("DescribeRepositories", e)),
    };
    let (repository, created) = match found {
        Some(r) => (r, false),
        None => (create(aws, name).await?, true),
    };
    let uri = repository.repository_uri().unwrap_or_default();
    let registry = uri.split_once('/').map(|(host, _)| host).unwrap_or(uri);
    if registry.is_empty() {
        return Err(Error::Aws {
            operation: "DescribeRepositories",
            message: format!("repository {name} has no URI"),
        });
    }
    let repository = Repository {
        registry: registry.to_string(),
        name: name.to_string(),
    };
    ui.event(&DeployEvent::ImageRepository {
        uri: repository.uri(),
        created,
    });
    Ok(repository)
}

async fn create(aws: &Aws, name: &str) -> Result<aws_sdk_ecr::types::Repository, Error> {
    let ecr = aws.ecr();
    let encryption = EncryptionConfiguration::builder()
        .encryption_type(EncryptionType::Aes256)
        .build()
        .map_err(|e| Error::Aws {
            operation: "CreateRepository",
            message: e.to_string(),
        })?;
    let tag = Tag::builder()
        .key("managed-by")
        .value("mfstack")
        .build()
        .map_err(|e| Error::Aws {
            operation: "CreateRepository",
            message: e.to_string(),
        })?;
    let out = ecr
        .create_repository()
        .repository_name(name)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .encryption_configuration(encryption)
        .tags(tag)
        .send()
        .await;
    let repository = match out {
        Ok(out) => out.repository().cloned(),
        // Another deploy created it in the meantime.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_already_exists_exception()) =>
        {
            let out = ecr
                .describe_repositories()
                .repository_names(name)
                .send()
                .await
                .map_err(|e| Error::from_sdk("DescribeRepositories", e))?;
            out.repositories().first().cloned()
        }
        Err(e) => return Err(Error::from_sdk("CreateRepository", e)),
    };
    ecr.put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(lifecycle_policy())
        .send()
        .await
        .map_err(|e| Error::from_sdk("PutLifecyclePolicy", e))?;
    repository.ok_or_else(|| Error::Aws {
        operation: "CreateRepository",
        message: format!("repository {name} was not returned"),
    })
}

/// Registry credentials from `GetAuthorizationToken`: user `AWS` and a 12-hour password.
pub async fn credentials(aws: &Aws) -> Result<(String, String), Error> {
    let out = aws
        .ecr()
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| Error::from_sdk("GetAuthorizationToken", e))?;
    let token = out
        .authorization_data()
        .first()
        .and_then(|d| d.authorization_token())
        .unwrap_or_default();
    decode_token(token).ok_or_else(|| Error::Aws {
        operation: "GetAuthorizationToken",
        message: "the authorization token is not base64 of USER:PASSWORD".into(),
    })
}

fn decode_token(token: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_base64_of_user_and_password() {
        assert_eq!(
            decode_token("QVdTOnNlY3JldDpwYXJ0"),
            Some(("AWS".into(), "secret:part".into()))
        );
        assert_eq!(decode_token("not base64!"), None);
    }

    #[test]
    fn the_lifecycle_policy_expires_untagged_first_and_keeps_the_newest() {
        let p: serde_json::Value = serde_json::from_str(&lifecycle_policy()).unwrap();
        let rules = p["rules"].as_array().unwrap();
        assert_eq!(rules[0]["selection"]["tagStatus"], "untagged");
        // ECR requires the `any` rule to have the highest priority number.
        assert_eq!(rules[1]["selection"]["tagStatus"], "any");
        assert_eq!(rules[1]["selection"]["countNumber"], KEEP_IMAGES);
    }
}
