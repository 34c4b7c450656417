//! The parameter declarations, console groups, conditions and rules the root template carries.

use super::*;
use crate::TemplateError;
use crate::intrinsics::{Expr, and, condition, equals, not, or, pseudo, r#ref};
use crate::pins::PINS;
use crate::template::{Assertion, Parameter, ParameterType, Rule, Template};

const CIDR_PATTERN: &str = r"^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-8])$";
const VPC_PATTERN: &str = "^(vpc-[0-9a-f]{8,17})?$";
const SUBNET_PATTERN: &str = "^(subnet-[0-9a-f]{8,17})?$";
const POLICY_ARN_PATTERN: &str = r"^(arn:aws[a-z-]*:iam::(aws|\d{12}):policy/.+)?$";
const URL_PATTERN: &str = "^(https://.+)?$";
// The same forms `overrides::service_image` accepts.
const SERVICE_IMAGE_PATTERN: &str =
    r"^$|^[^@\s]+@sha256:[0-9a-f]{64}$|^[^@\s]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";

impl StackParams {
    /// The template parameter declarations, with these values as defaults: the reference's
    /// fifteen in its order, then mfstack's.
    pub fn definitions(&self) -> Vec<(&'static str, Parameter)> {
        let mut defs = self.reference_definitions();
        defs.extend(self.reference_options());
        defs.extend(self.added_definitions());
        defs
    }

    /// The reference's network, notebook and Batch sizing parameters.
    fn reference_definitions(&self) -> Vec<(&'static str, Parameter)> {
        use ParameterType::{CommaDelimitedList, Number, String as Str};
        vec![
            (
                SAGEMAKER_INSTANCE,
                Parameter::new(Str, "Instance type of the SageMaker notebook.", &self.sagemaker_instance)
                    .allowed(PINS.notebook_instance_types),
            ),
            (
                VPC_CIDR,
                Parameter::new(Str, "CIDR of the Metaflow VPC; with an existing VPC, that VPC's CIDR.", &self.vpc_cidr)
                    .pattern(CIDR_PATTERN, "an IPv4 CIDR block with a /16 to /28 prefix"),
            ),
            (
                SUBNET1_CIDR,
                Parameter::new(Str, "CIDR of the first Metaflow subnet.", &self.subnet1_cidr)
                    .pattern(CIDR_PATTERN, "an IPv4 CIDR block with a /16 to /28 prefix"),
            ),
            (
                SUBNET2_CIDR,
                Parameter::new(Str, "CIDR of the second Metaflow subnet.", &self.subnet2_cidr)
                    .pattern(CIDR_PATTERN, "an IPv4 CIDR block with a /16 to /28 prefix"),
            ),
            (
                MAX_VCPU_BATCH,
                Parameter::new(Number, "Maximum vCPUs of the Batch compute environment [16-96].", self.max_vcpu_batch.to_string())
                    .allowed(MAX_VCPUS)
                    .range(16, 96),
            ),
            (
                MIN_VCPU_BATCH,
                Parameter::new(
                    Number,
                    "Minimum vCPUs of the EC2 Batch compute environment [0-16]; above 0 keeps instances running when idle (ignored for Fargate).",
                    self.min_vcpu_batch.to_string(),
                )
                .allowed(MIN_VCPUS)
                .range(0, 16),
            ),
            (
                DESIRED_VCPU_BATCH,
                Parameter::new(
                    Number,
                    "Starting vCPUs of the EC2 Batch compute environment [0-16] (ignored for Fargate).",
                    self.desired_vcpu_batch.to_string(),
                )
                .allowed(MIN_VCPUS)
                .range(0, 16),
            ),
            (
                COMPUTE_ENV_INSTANCE_TYPES,
                Parameter::new(
                    CommaDelimitedList,
                    "Instance types of the EC2 Batch compute environment, comma separated.",
                    self.compute_env_instance_types.join(","),
                ),
            ),
        ]
    }

    /// The reference's switches and its GovCloud and worker-policy settings.
    fn reference_options(&self) -> Vec<(&'static str, Parameter)> {
        use ParameterType::String as Str;
        vec![
            (CUSTOM_ROLE, flag("Create a restricted role for Metaflow users?", self.custom_role)),
            (
                API_BASIC_AUTH,
                flag("Require an API key on the metadata API? (its value is read from API Gateway, never from an output)", self.api_basic_auth),
            ),
            (ENABLE_SAGEMAKER, flag("Create a SageMaker notebook?", self.enable_sagemaker)),
            (
                BATCH_TYPE,
                Parameter::new(Str, "How AWS Batch runs jobs.", self.batch_type.to_string()).allowed(&["ec2", "fargate"]),
            ),
            (
                IAM_PARTITION,
                Parameter::new(
                    Str,
                    "Kept for existing stacks: ARNs follow the stack's own partition. aws-us-gov selects a regional API endpoint.",
                    self.iam_partition.to_string(),
                )
                .allowed(&["aws", "aws-us-gov"]),
            ),
            (
                ADDITIONAL_WORKER_POLICY_ARN,
                Parameter::new(
                    Str,
                    "A managed policy ARN attached to the Batch job role; leave empty unless jobs need more access.",
                    &self.additional_worker_policy_arn,
                )
                .pattern(POLICY_ARN_PATTERN, "empty or an IAM managed policy ARN"),
            ),
            (ENABLE_UI, flag("Create the Metaflow UI (nested stack; needs UITemplateURL; not in GovCloud)?", self.enable_ui)),
        ]
    }

    /// The parameters mfstack adds.
    fn added_definitions(&self) -> Vec<(&'static str, Parameter)> {
        use ParameterType::String as Str;
        vec![
            (
                SERVICE_IMAGE,
                Parameter::new(
                    Str,
                    "mfstack's service image, by digest (set by `mfstack deploy`); it runs the metadata service and the UI backend. Empty runs upstream's images below.",
                    &self.service_image,
                )
                .pattern(SERVICE_IMAGE_PATTERN, "empty, REPO@sha256:<64 hex digits> or REPO:TAG"),
            ),
            (
                METADATA_SERVICE_IMAGE,
                Parameter::new(Str, "Container image of the metadata service when ServiceImage is empty; changing it runs the database migrations.", &self.metadata_service_image),
            ),
            (UI_IMAGE, Parameter::new(Str, "Container image of the UI backend when ServiceImage is empty.", &self.ui_image)),
            (
                UI_STATIC_IMAGE,
                Parameter::new(Str, "Container image of the metaflow-ui front end (port 3000), served beside mfstack's UI API when ServiceImage is set.", &self.ui_static_image),
            ),
            (
                EXISTING_VPC_ID,
                Parameter::new(Str, "An existing VPC to deploy into; empty creates one.", &self.existing_vpc_id)
                    .pattern(VPC_PATTERN, "empty or a VPC id (vpc-...)"),
            ),
            (
                EXISTING_SUBNET1_ID,
                Parameter::new(Str, "First subnet of the existing VPC (needs a route to the internet and to S3).", &self.existing_subnet1_id)
                    .pattern(SUBNET_PATTERN, "empty or a subnet id (subnet-...)"),
            ),
            (
                EXISTING_SUBNET2_ID,
                Parameter::new(Str, "Second subnet of the existing VPC, in another availability zone.", &self.existing_subnet2_id)
                    .pattern(SUBNET_PATTERN, "empty or a subnet id (subnet-...)"),
            ),
            (
                ENCRYPT_DATABASE,
                flag(
                    "Encrypt the database storage? Set 'false' only to keep the unencrypted database of a stack created from the reference template, which cannot be encrypted in place.",
                    self.encrypt_database,
                ),
            ),
            (
                UI_TEMPLATE_URL,
                Parameter::new(Str, "S3 URL of the UI nested template; set by `mfstack deploy` when EnableUI is true.", &self.ui_template_url)
                    .pattern(URL_PATTERN, "empty or an https:// URL"),
            ),
            (
                ADOPTED_STACK,
                flag(
                    "Was this stack created from the reference Metaflow template? `mfstack deploy` sets it; when true, create-only properties the reference never set are left out so that no resource is replaced.",
                    self.adopted_stack,
                ),
            ),
            (
                POSTGRES_ENGINE_VERSION,
                Parameter::new(
                    Str,
                    "PostgreSQL version of the database. `mfstack deploy` keeps an existing stack's version; upgrade one major version at a time with `mfstack deploy --postgres-major N`.",
                    &self.postgres_engine_version,
                )
                .pattern(r"^\d+(\.\d+)?$", "a PostgreSQL version such as 18 or 16.6"),
            ),
            (
                DATABASE_SNAPSHOT,
                Parameter::new(
                    Str,
                    "RDS snapshot the database is restored from; empty for none. Set by `mfstack encrypt-database`; once set, keep it, since clearing it replaces the database with an empty one.",
                    &self.database_snapshot,
                )
                .pattern(r"^$|^[a-zA-Z][a-zA-Z0-9-]{0,254}$|^arn:[a-z-]+:rds:.+$", "empty, a snapshot name or a snapshot ARN"),
            ),
            (
                DATABASE_DELETION_PROTECTION,
                flag(
                    "Refuse to delete the database? `mfstack destroy` turns this off just before it deletes the stack.",
                    self.database_deletion_protection,
                ),
            ),
        ]
    }
}

fn flag(description: &str, value: bool) -> Parameter {
    Parameter::new(ParameterType::String, description, value.to_string())
        .allowed(&["false", "true"])
}

fn is_true(name: &str) -> Expr {
    equals(r#ref(name), "true")
}

/// Declare the parameters, conditions and rules in `t`, with `p`'s values as defaults.
pub fn add_to(t: &mut Template, p: &StackParams) -> Result<(), TemplateError> {
    for (name, def) in p.definitions() {
        t.add_parameter(name, def)?;
    }
    t.set_parameter_groups(&[
        (
            "Metaflow",
            &[
                ENABLE_UI,
                API_BASIC_AUTH,
                CUSTOM_ROLE,
                ENABLE_SAGEMAKER,
                SAGEMAKER_INSTANCE,
            ],
        ),
        (
            "Images",
            &[
                SERVICE_IMAGE,
                METADATA_SERVICE_IMAGE,
                UI_IMAGE,
                UI_STATIC_IMAGE,
                UI_TEMPLATE_URL,
            ],
        ),
        (
            "AWS Batch",
            &[
                BATCH_TYPE,
                MAX_VCPU_BATCH,
                MIN_VCPU_BATCH,
                DESIRED_VCPU_BATCH,
                COMPUTE_ENV_INSTANCE_TYPES,
                ADDITIONAL_WORKER_POLICY_ARN,
            ],
        ),
        (
            "Network",
            &[
                VPC_CIDR,
                SUBNET1_CIDR,
                SUBNET2_CIDR,
                EXISTING_VPC_ID,
                EXISTING_SUBNET1_ID,
                EXISTING_SUBNET2_ID,
            ],
        ),
        (
            "Database",
            &[
                DATABASE_DELETION_PROTECTION,
                POSTGRES_ENGINE_VERSION,
                DATABASE_SNAPSHOT,
            ],
        ),
        (
            "Compatibility",
            &[IAM_PARTITION, ENCRYPT_DATABASE, ADOPTED_STACK],
        ),
    ]);
    add_conditions(t)?;
    add_rules(t)
}

fn add_conditions(t: &mut Template) -> Result<(), TemplateError> {
    t.add_condition(COND_ENABLE_AUTH, is_true(API_BASIC_AUTH))?;
    t.add_condition(COND_ENABLE_ROLE, is_true(CUSTOM_ROLE))?;
    t.add_condition(COND_FARGATE, equals(r#ref(BATCH_TYPE), "fargate"))?;
    t.add_condition(COND_ENABLE_SAGEMAKER, is_true(ENABLE_SAGEMAKER))?;
    // Either signal selects GovCloud behaviour, so a stack that kept the reference's value works.
    t.add_condition(
        COND_IS_GOV,
        or(vec![
            equals(r#ref(IAM_PARTITION), "aws-us-gov"),
            equals(r#ref(pseudo::PARTITION), "aws-us-gov"),
        ]),
    )?;
    t.add_condition(
        COND_ADDITIONAL_WORKER_POLICY,
        not(equals(r#ref(ADDITIONAL_WORKER_POLICY_ARN), "")),
    )?;
    // The URL is part of the condition so that the nested stack never exists without one.
    t.add_condition(
        COND_ENABLE_UI,
        and(vec![
            is_true(ENABLE_UI),
            not(condition(COND_IS_GOV)),
            not(equals(r#ref(UI_TEMPLATE_URL), "")),
        ]),
    )?;
    t.add_condition(COND_MFSTACK_IMAGE, not(equals(r#ref(SERVICE_IMAGE), "")))?;
    t.add_condition(COND_NEW_STACK, equals(r#ref(ADOPTED_STACK), "false"))?;
    t.add_condition(
        COND_RESTORE_DATABASE,
        not(equals(r#ref(DATABASE_SNAPSHOT), "")),
    )?;
    // The stack makes its own VPC unless all three existing ids are given.
    t.add_condition(
        COND_CREATE_VPC,
        or(vec![
            equals(r#ref(EXISTING_VPC_ID), ""),
            equals(r#ref(EXISTING_SUBNET1_ID), ""),
            equals(r#ref(EXISTING_SUBNET2_ID), ""),
        ]),
    )?;
    Ok(())
}

/// Rules stop a deploy with a clear message before any resource is touched.
fn add_rules(t: &mut Template) -> Result<(), TemplateError> {
    t.add_rule(
        "UITemplateGiven",
        Rule {
            rule_condition: Some(is_true(ENABLE_UI)),
            assertions: vec![Assertion {
                assert: not(equals(r#ref(UI_TEMPLATE_URL), "")),
                assert_description: "EnableUI needs UITemplateURL: deploy with `mfstack deploy`, which uploads the UI template and sets it.".to_string(),
            }],
        },
    )?;
    t.add_rule(
        "ExistingVpcComplete",
        Rule {
            rule_condition: Some(not(equals(r#ref(EXISTING_VPC_ID), ""))),
            assertions: vec![Assertion {
                assert: and(vec![
                    not(equals(r#ref(EXISTING_SUBNET1_ID), "")),
                    not(equals(r#ref(EXISTING_SUBNET2_ID), "")),
                ]),
                assert_description: "ExistingVpcId needs ExistingSubnet1Id and ExistingSubnet2Id."
                    .to_string(),
            }],
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_a_definition() {
        let defs: Vec<&str> = StackParams::default()
            .definitions()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(defs, StackParams::names().collect::<Vec<_>>());
    }
}
