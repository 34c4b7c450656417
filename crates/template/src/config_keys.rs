//! The Metaflow settings (keys of `~/.metaflowconfig/config.json`) a deployed stack provides, and
//! the output that carries each one's value.
//!
//! This is the one definition of that mapping. The template appends each output's key to its
//! description from [`OUTPUT_CONFIG_KEYS`], the notebook and the UI backend are configured with the
//! names below, and whatever writes a Metaflow profile from a deployed stack should read
//! [`OUTPUT_CONFIG_KEYS`] (or [`config_key`]) and [`FIXED_CONFIG`] rather than parse descriptions.

// The names are Metaflow's own; a doc line each would only repeat them.
#![allow(missing_docs)]

use crate::components::storage::buckets;
use crate::components::{api_gateway, compute, metadata_service, scheduling, ui};

pub const DATASTORE_SYSROOT_S3: &str = "METAFLOW_DATASTORE_SYSROOT_S3";
pub const DATATOOLS_S3ROOT: &str = "METAFLOW_DATATOOLS_S3ROOT";
pub const BATCH_JOB_QUEUE: &str = "METAFLOW_BATCH_JOB_QUEUE";
pub const ECS_S3_ACCESS_IAM_ROLE: &str = "METAFLOW_ECS_S3_ACCESS_IAM_ROLE";
pub const SERVICE_URL: &str = "METAFLOW_SERVICE_URL";
pub const SERVICE_INTERNAL_URL: &str = "METAFLOW_SERVICE_INTERNAL_URL";
/// Its output, `ApiKeyId`, holds the key's id; the setting wants the key's value, read with
/// `aws apigateway get-api-key --api-key <id> --include-value`.
pub const SERVICE_AUTH_KEY: &str = "METAFLOW_SERVICE_AUTH_KEY";
pub const EVENTS_SFN_ACCESS_IAM_ROLE: &str = "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE";
pub const SFN_IAM_ROLE: &str = "METAFLOW_SFN_IAM_ROLE";
pub const SFN_DYNAMO_DB_TABLE: &str = "METAFLOW_SFN_DYNAMO_DB_TABLE";
pub const UI_URL: &str = "METAFLOW_UI_URL";
pub const DEFAULT_DATASTORE: &str = "METAFLOW_DEFAULT_DATASTORE";
pub const DEFAULT_METADATA: &str = "METAFLOW_DEFAULT_METADATA";

/// `(output name, config key)` for every root output that feeds a Metaflow setting.
///
/// [`SERVICE_AUTH_KEY`]'s output holds the API key's id, not its value. Outputs that feed no key
/// (`MetaflowUserRoleArn`, `SageMakerNoteBookURL`, `MigrationFunctionName`, `UIServiceUrl`) are
/// absent.
pub const OUTPUT_CONFIG_KEYS: &[(&str, &str)] = &[
    (buckets::OUT_DATASTORE_URL, DATASTORE_SYSROOT_S3),
    (buckets::OUT_DATATOOLS_URL, DATATOOLS_S3ROOT),
    (compute::OUT_JOB_QUEUE, BATCH_JOB_QUEUE),
    (compute::OUT_JOB_ROLE, ECS_S3_ACCESS_IAM_ROLE),
    (api_gateway::OUT_SERVICE_URL, SERVICE_URL),
    (metadata_service::OUT_INTERNAL_URL, SERVICE_INTERNAL_URL),
    (api_gateway::OUT_API_KEY_ID, SERVICE_AUTH_KEY),
    (scheduling::OUT_EVENTBRIDGE_ROLE, EVENTS_SFN_ACCESS_IAM_ROLE),
    (scheduling::OUT_STEP_FUNCTIONS_ROLE, SFN_IAM_ROLE),
    (scheduling::OUT_TABLE_NAME, SFN_DYNAMO_DB_TABLE),
    (ui::OUT_UI_CLOUDFRONT_URL, UI_URL),
];

/// Settings every profile for this stack needs that no output carries. Forgetting them is a
/// recurring user error (Netflix/metaflow#125).
pub const FIXED_CONFIG: &[(&str, &str)] =
    &[(DEFAULT_DATASTORE, "s3"), (DEFAULT_METADATA, "service")];

/// The Metaflow config key the root output `output` feeds, if any.
pub fn config_key(output: &str) -> Option<&'static str> {
    OUTPUT_CONFIG_KEYS
        .iter()
        .find(|(o, _)| *o == output)
        .map(|(_, k)| *k)
}
