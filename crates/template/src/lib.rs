//! Metaflow's AWS CloudFormation stack, built from typed Rust.
//!
//! [`build`] turns [`StackParams`] into a [`Stack`]: the root template and the UI's nested
//! template. Each part of the deployment is a module of [`components`]; the template model is in
//! [`template`] and the intrinsic functions in [`intrinsics`]. Versions that rot (runtimes,
//! engines, instance types) are in the one table [`pins::PINS`].
//!
//! The root template keeps the reference template's 15 parameter names, the logical ids of every
//! resource it keeps, and its 15 output names, so an existing reference stack can be updated in
//! place. [`OUTPUT_CONFIG_KEYS`] says which Metaflow setting each output feeds.
//!
//! # The UI nested stack
//!
//! With `EnableUI=true` the root creates `AWS::CloudFormation::Stack` `MetaflowUI`, whose
//! `TemplateURL` is the value of the root parameter [`UI_TEMPLATE_URL_PARAMETER`]. A deployer
//! uploads [`Stack::ui`] to S3 and passes its `https://` URL as that parameter (a parameter
//! override, like any other); no template text is rewritten. A template rule refuses
//! `EnableUI=true` with an empty URL before any resource is touched.

#![warn(missing_docs)]

pub mod components;
pub mod intrinsics;
pub mod params;
pub mod pins;
pub mod template;

pub use params::{ParamError, StackParams};
pub use template::{INLINE_TEMPLATE_LIMIT, Template};

use components::{
    api_gateway, compute, iam, metadata_service, migrations, network, notebook, scheduling,
    storage, ui,
};
use intrinsics::r#ref;
use params::Partition;

/// The root parameter a deployer sets to the S3 `https://` URL of the uploaded UI template.
pub const UI_TEMPLATE_URL_PARAMETER: &str = params::UI_TEMPLATE_URL;

/// Each root output and the Metaflow config key (`~/.metaflowconfig/config.json`) it feeds.
///
/// `ApiKeyId` holds the key's id: the config wants its *value*, read with
/// `aws apigateway get-api-key --api-key <id> --include-value`. Outputs that feed no key
/// (`MetaflowUserRoleArn`, `SageMakerNoteBookURL`, `MigrationFunctionName`, `UIServiceUrl`) are absent.
pub const OUTPUT_CONFIG_KEYS: &[(&str, &str)] = &[
    (storage::OUT_DATASTORE_URL, "METAFLOW_DATASTORE_SYSROOT_S3"),
    (storage::OUT_DATATOOLS_URL, "METAFLOW_DATATOOLS_S3ROOT"),
    (compute::OUT_JOB_QUEUE, "METAFLOW_BATCH_JOB_QUEUE"),
    (compute::OUT_JOB_ROLE, "METAFLOW_ECS_S3_ACCESS_IAM_ROLE"),
    (api_gateway::OUT_SERVICE_URL, "METAFLOW_SERVICE_URL"),
    (
        metadata_service::OUT_INTERNAL_URL,
        "METAFLOW_SERVICE_INTERNAL_URL",
    ),
    (api_gateway::OUT_API_KEY_ID, "METAFLOW_SERVICE_AUTH_KEY"),
    (
        scheduling::OUT_EVENTBRIDGE_ROLE,
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE",
    ),
    (scheduling::OUT_STEP_FUNCTIONS_ROLE, "METAFLOW_SFN_IAM_ROLE"),
    (scheduling::OUT_TABLE_NAME, "METAFLOW_SFN_DYNAMO_DB_TABLE"),
    (ui::OUT_UI_CLOUDFRONT_URL, "METAFLOW_UI_URL"),
];

/// Settings a Metaflow config needs that no output carries.
pub const FIXED_CONFIG: &[(&str, &str)] = &[
    ("METAFLOW_DEFAULT_DATASTORE", "s3"),
    ("METAFLOW_DEFAULT_METADATA", "service"),
];

/// The Metaflow config key an output feeds, if any.
pub fn config_key(output: &str) -> Option<&'static str> {
    OUTPUT_CONFIG_KEYS
        .iter()
        .find(|(o, _)| *o == output)
        .map(|(_, k)| *k)
}

/// The reference template's fifteen output names.
pub const REFERENCE_OUTPUTS: [&str; 15] = [
    storage::OUT_DATASTORE_URL,
    storage::OUT_DATATOOLS_URL,
    compute::OUT_JOB_QUEUE,
    compute::OUT_JOB_ROLE,
    api_gateway::OUT_SERVICE_URL,
    metadata_service::OUT_INTERNAL_URL,
    api_gateway::OUT_API_KEY_ID,
    iam::OUT_USER_ROLE_ARN,
    notebook::OUT_NOTEBOOK_URL,
    scheduling::OUT_EVENTBRIDGE_ROLE,
    scheduling::OUT_STEP_FUNCTIONS_ROLE,
    scheduling::OUT_TABLE_NAME,
    migrations::OUT_FUNCTION_NAME,
    ui::OUT_UI_URL,
    ui::OUT_UI_CLOUDFRONT_URL,
];

/// Why a stack cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A parameter value or combination is not accepted.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The UI was asked for in GovCloud.
    #[error("the Metaflow UI needs CloudFront, which AWS GovCloud (US) does not offer")]
    UiInGovCloud,
    /// Two things share a name.
    #[error("`{0}` is declared twice")]
    Duplicate(String),
    /// A name points at nothing.
    #[error("{at} refers to {what} `{target}`, which the template does not declare")]
    Dangling {
        /// Where the reference is.
        at: String,
        /// What kind of name.
        what: String,
        /// The missing name.
        target: String,
    },
    /// JSON serialisation failed.
    #[error("cannot serialise the template: {0}")]
    Json(#[from] serde_json::Error),
    /// YAML serialisation failed.
    #[error("cannot serialise the template as YAML: {0}")]
    Yaml(String),
}

/// The generated templates.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The root template, deployed as the stack.
    pub root: Template,
    /// The UI nested template; a deployer uploads it and sets [`UI_TEMPLATE_URL_PARAMETER`].
    pub ui: Template,
}

/// Build the root and UI templates, with `p`'s values as parameter defaults.
pub fn build(p: &StackParams) -> Result<Stack, TemplateError> {
    p.check()?;
    if p.enable_ui && p.iam_partition == Partition::AwsUsGov {
        return Err(TemplateError::UiInGovCloud);
    }
    let mut t = Template::new(
        "Metaflow on AWS: datastore, Batch, Step Functions, metadata service, optional notebook and UI (generated by mfstack)",
    );
    params::add_to(&mut t, p)?;

    let net = network::add(&mut t, p)?;
    let store = storage::add(&mut t, p, &net)?;
    let table_arn = scheduling::add_table(&mut t, &store)?;
    let batch = compute::add(&mut t, p, &net, &store, &table_arn)?;
    let sched = scheduling::add_roles(&mut t, &store, &batch.job_queue_arn, &table_arn)?;
    let service = metadata_service::add(&mut t, p, &net, &store)?;
    api_gateway::add(&mut t)?;
    migrations::add(&mut t, p, &net, &store)?;

    let access = iam::ClientAccess {
        bucket_arn: store.bucket_arn.clone(),
        job_queue_arn: batch.job_queue_arn.clone(),
        passable_roles: vec![
            batch.job_role_arn.clone(),
            sched.step_functions_role_arn.clone(),
            sched.eventbridge_role_arn.clone(),
        ],
        key_arn: store.key_arn.clone(),
    };
    let client_policy = iam::add_client_policy(&mut t, &access)?;
    iam::add_user_role(&mut t, p, &client_policy)?;
    let config = notebook::NotebookConfig {
        values: vec![
            ("METAFLOW_DATASTORE_SYSROOT_S3", storage::datastore_root()),
            ("METAFLOW_DATATOOLS_S3ROOT", storage::datatools_root()),
            ("METAFLOW_DEFAULT_DATASTORE", "s3".into()),
            ("METAFLOW_DEFAULT_METADATA", "service".into()),
            ("METAFLOW_SERVICE_URL", service.internal_url.clone()),
            ("METAFLOW_BATCH_JOB_QUEUE", batch.job_queue_arn.clone()),
            (
                "METAFLOW_ECS_S3_ACCESS_IAM_ROLE",
                batch.job_role_arn.clone(),
            ),
            (
                "METAFLOW_SFN_IAM_ROLE",
                sched.step_functions_role_arn.clone(),
            ),
            (
                "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE",
                sched.eventbridge_role_arn.clone(),
            ),
            (
                "METAFLOW_SFN_DYNAMO_DB_TABLE",
                r#ref(scheduling::STATE_TABLE),
            ),
        ],
    };
    notebook::add(&mut t, p, &net, &store, &client_policy, &config)?;
    ui::add(&mut t, &net, &store, &service)?;
    t.validate()?;

    let ui = ui::template()?;
    ui.validate()?;
    Ok(Stack { root: t, ui })
}
