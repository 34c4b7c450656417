//! Artifacts in S3: a bucket created on first use, content-addressed keys, no re-uploads.
//! Follows aws-cloudformation/rain's s3.go (SHA-256 keys, encrypted, private, lifecycle-limited).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use sha2::{Digest, Sha256};

use crate::aws::Aws;
use crate::error::Error;
use crate::events::{DeployEvent, DeployUi};

/// Largest template CloudFormation accepts inline as `TemplateBody`.
pub const INLINE_TEMPLATE_LIMIT: usize = 51_200;

/// Key prefix for everything mfstack uploads.
const PREFIX: &str = "mfstack";

/// Objects expire after this many days: templates are read only while a deploy runs, and an
/// expired key is simply uploaded again next time.
const EXPIRE_DAYS: i32 = 30;

/// The default artifacts bucket name for an account and region (one per pair, as rain does).
pub fn default_bucket_name(account: &str, region: &str) -> String {
    format!("mfstack-artifacts-{account}-{region}")
}

/// The object key for `bytes`: `mfstack/<sha256>.<ext>`.
pub fn content_key(bytes: &[u8], ext: &str) -> String {
    format!("{PREFIX}/{}.{ext}", hex::encode(Sha256::digest(bytes)))
}

/// The virtual-hosted S3 URL CloudFormation expects in `TemplateURL`, even against an emulator
/// (moto resolves it internally; a local-endpoint URL fails nested stacks there).
pub fn s3_url(bucket: &str, region: &str, key: &str) -> String {
    format!("https://{bucket}.s3.{region}.amazonaws.com/{key}")
}

/// Point nested stacks at their uploaded templates, as `aws cloudformation package` does: each
/// `AWS::CloudFormation::Stack` whose `TemplateURL` is `local` (a file name, not a URL) gets `url`.
/// Returns the rewritten JSON and how many resources changed.
pub fn rewrite_template_url(root: &str, local: &str, url: &str) -> Result<(String, usize), Error> {
    let mut doc: serde_json::Value = serde_json::from_str(root).map_err(|e| Error::Aws {
        operation: "package",
        message: format!("the root template is not JSON: {e}"),
    })?;
    let mut changed = 0;
    if let Some(resources) = doc.get_mut("Resources").and_then(|r| r.as_object_mut()) {
        for r in resources.values_mut() {
            if r.get("Type").and_then(|t| t.as_str()) != Some("AWS::CloudFormation::Stack") {
                continue;
            }
            if let Some(t) = r.pointer_mut("/Properties/TemplateURL")
                && t.as_str() == Some(local)
            {
                *t = serde_json::Value::from(url);
                changed += 1;
            }
        }
    }
    let out = serde_json::to_string(&doc).map_err(|e| Error::Aws {
        operation: "package",
        message: e.to_string(),
    })?;
    Ok((out, changed))
}

/// An artifacts bucket that is known to exist.
#[derive(Debug, Clone)]
pub struct Artifacts {
    aws: Aws,
    bucket: String,
}

/// Where one artifact ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// Object key.
    pub key: String,
    /// `https://BUCKET.s3.REGION.amazonaws.com/KEY`.
    pub url: String,
    /// False when an identical object was already there.
    pub uploaded: bool,
}

impl Artifacts {
    /// Use `bucket` if given (it must exist), else the default bucket, created with encryption,
    /// public access blocked and a lifecycle rule if it does not exist yet.
    pub async fn ensure(
        aws: &Aws,
        bucket: Option<&str>,
        ui: &mut dyn DeployUi,
    ) -> Result<Self, Error> {
        let s3 = aws.s3();
        let (bucket, may_create) = match bucket {
            Some(b) => (b.to_string(), false),
            None => (
                default_bucket_name(&aws.identity().await?.account, aws.region()),
                true,
            ),
        };
        let exists = match s3.head_bucket().bucket(&bucket).send().await {
            Ok(_) => true,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
            Err(e) => return Err(Error::from_sdk("HeadBucket", e)),
        };
        let mut created = false;
        if !exists {
            if !may_create {
                return Err(Error::Aws {
                    operation: "HeadBucket",
                    message: format!("bucket {bucket} does not exist"),
                });
            }
            create_bucket(aws, &bucket).await?;
            created = true;
        }
        ui.event(&DeployEvent::ArtifactsBucket {
            bucket: bucket.clone(),
            created,
        });
        Ok(Self {
            aws: aws.clone(),
            bucket,
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Upload `bytes` under their content key unless that key already exists.
    pub async fn put(
        &self,
        name: &str,
        bytes: &[u8],
        ext: &str,
        ui: &mut dyn DeployUi,
    ) -> Result<Uploaded, Error> {
        let s3 = self.aws.s3();
        let key = content_key(bytes, ext);
        let exists = match s3.head_object().bucket(&self.bucket).key(&key).send().await {
            Ok(_) => true,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => false,
            Err(e) => return Err(Error::from_sdk("HeadObject", e)),
        };
        if !exists {
            s3.put_object()
                .bucket(&self.bucket)
                .key(&key)
                .server_side_encryption(ServerSideEncryption::Aes256)
                .body(ByteStream::from(bytes.to_vec()))
                .send()
                .await
                .map_err(|e| Error::from_sdk("PutObject", e))?;
        }
        let url = s3_url(&self.bucket, self.aws.region(), &key);
        ui.event(&DeployEvent::Artifact {
            name: name.to_string(),
            url: url.clone(),
            bytes: bytes.len(),
            uploaded: !exists,
        });
        Ok(Uploaded {
            key,
            url,
            uploaded: !exists,
        })
    }
}

async fn create_bucket(aws: &Aws, bucket: &str) -> Result<(), Error> {
    let s3 = aws.s3();
    let mut req = s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that rejects an explicit location constraint.
    if aws.region() != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(aws.region()))
                .build(),
        );
    }
    req.send()
        .await
        .map_err(|e| Error::from_sdk("CreateBucket", e))?;

    let sse = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .map_err(build_err)?,
                )
                .build(),
        )
        .build()
        .map_err(build_err)?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(sse)
        .send()
        .await
        .map_err(|e| Error::from_sdk("PutBucketEncryption", e))?;

    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| Error::from_sdk("PutPublicAccessBlock", e))?;

    let rule = LifecycleRule::builder()
        .id("mfstack-expire-artifacts")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .prefix(format!("{PREFIX}/"))
                .build(),
        )
        .expiration(LifecycleExpiration::builder().days(EXPIRE_DAYS).build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()
        .map_err(build_err)?;
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(build_err)?,
        )
        .send()
        .await
        .map_err(|e| Error::from_sdk("PutBucketLifecycleConfiguration", e))?;
    Ok(())
}

fn build_err(e: aws_sdk_s3::error::BuildError) -> Error {
    Error::Aws {
        operation: "CreateBucket",
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sha256_of_content() {
        // sha256("") is well known; pinning it catches a switch to another digest.
        assert_eq!(
            content_key(b"", "template"),
            "mfstack/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.template"
        );
        assert_ne!(content_key(b"a", "template"), content_key(b"b", "template"));
    }

    #[test]
    fn nested_template_urls_are_rewritten_only_where_local() {
        let root = r#"{"Resources": {
            "UI": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "ui.json"}},
            "Other": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://x/y"}},
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"TemplateURL": "ui.json"}}}}"#;
        let (out, n) =
            rewrite_template_url(root, "ui.json", "https://b.s3.us-east-1.amazonaws.com/k")
                .unwrap();
        assert_eq!(n, 1);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["Resources"]["UI"]["Properties"]["TemplateURL"],
            "https://b.s3.us-east-1.amazonaws.com/k"
        );
        assert_eq!(
            v["Resources"]["Other"]["Properties"]["TemplateURL"],
            "https://x/y"
        );
        assert_eq!(
            v["Resources"]["Bucket"]["Properties"]["TemplateURL"],
            "ui.json"
        );
    }

    #[test]
    fn urls_use_the_virtual_hosted_form() {
        assert_eq!(
            s3_url("b", "eu-west-1", "mfstack/x.template"),
            "https://b.s3.eu-west-1.amazonaws.com/mfstack/x.template"
        );
        assert_eq!(
            default_bucket_name("123456789012", "us-east-1"),
            "mfstack-artifacts-123456789012-us-east-1"
        );
    }
}
