//! Secrets Manager secrets with generated values.

use serde::Serialize;

use crate::intrinsics::Expr;
use crate::template::ResourceProperties;

/// `AWS::SecretsManager::Secret` with a generated value.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    /// What the secret is.
    pub description: String,
    /// How the value is generated.
    pub generate_secret_string: GenerateSecretString,
    /// The stack key.
    pub kms_key_id: Expr,
}

impl ResourceProperties for Secret {
    const TYPE: &'static str = "AWS::SecretsManager::Secret";
}

/// How Secrets Manager generates a secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateSecretString {
    /// Characters never used.
    pub exclude_characters: String,
    /// No punctuation at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_punctuation: Option<bool>,
    /// The key the generated value is stored under.
    pub generate_string_key: String,
    /// Length of the generated value.
    pub password_length: i64,
    /// The JSON the generated key is added to.
    pub secret_string_template: String,
}
