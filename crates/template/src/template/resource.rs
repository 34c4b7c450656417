//! Resources: their typed properties, conditions, dependencies, retention and linter metadata.

use serde::Serialize;
use serde_json::Value;

/// The properties of one resource type. Each struct lists only the fields mfstack sets, so a
/// misspelt property does not compile.
pub trait ResourceProperties: Serialize {
    /// The CloudFormation type, e.g. `AWS::S3::Bucket`.
    const TYPE: &'static str;
}

/// What happens to a resource's data when CloudFormation deletes or replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RetainPolicy {
    /// Keep the resource.
    Retain,
    /// Take a final snapshot.
    Snapshot,
    /// Delete it.
    Delete,
}

/// One resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) condition: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) depends_on: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_policy: Option<RetainPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_replace_policy: Option<RetainPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<ResourceMetadata>,
    #[serde(skip_serializing_if = "is_empty_object")]
    pub(super) properties: Value,
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.is_empty()) || v.is_null()
}

/// Resource metadata read by linters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceMetadata {
    /// Checks checkov should skip here, each with its reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkov: Option<CheckovMetadata>,
}

/// checkov's `Metadata.checkov` block.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckovMetadata {
    /// The skipped checks.
    pub skip: Vec<CheckovSkip>,
}

/// One skipped checkov check and why.
#[derive(Debug, Clone, Serialize)]
pub struct CheckovSkip {
    /// The check id, e.g. `CKV_AWS_18`.
    pub id: String,
    /// Why the check does not apply.
    pub comment: String,
}

impl Resource {
    pub(super) fn new(kind: &'static str, properties: Value) -> Self {
        Resource {
            kind,
            condition: None,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            metadata: None,
            properties,
        }
    }

    /// The resource's CloudFormation type.
    pub fn kind(&self) -> &str {
        self.kind
    }

    /// The condition the resource is created under, if any.
    pub fn condition_name(&self) -> Option<&str> {
        self.condition.as_deref()
    }

    /// The serialised properties.
    pub fn properties(&self) -> &Value {
        &self.properties
    }

    /// Create the resource only when `name` holds.
    pub fn condition(&mut self, name: &str) -> &mut Self {
        self.condition = Some(name.to_string());
        self
    }

    /// Create the resource after `ids`, for ordering that no `Ref` expresses.
    pub fn depends_on(&mut self, ids: &[&str]) -> &mut Self {
        self.depends_on.extend(ids.iter().map(|s| s.to_string()));
        self
    }

    /// Keep or snapshot the data when the resource is deleted and when it is replaced.
    pub fn retain(&mut self, policy: RetainPolicy) -> &mut Self {
        self.deletion_policy = Some(policy);
        self.update_replace_policy = Some(policy);
        self
    }

    /// Tell checkov to skip `id` on this resource, with the reason it does not apply.
    pub fn skip_check(&mut self, id: &str, reason: &str) -> &mut Self {
        let meta = self.metadata.get_or_insert_with(ResourceMetadata::default);
        meta.checkov
            .get_or_insert_with(CheckovMetadata::default)
            .skip
            .push(CheckovSkip {
                id: id.to_string(),
                comment: reason.to_string(),
            });
        self
    }
}
