//! The stack's parameters: their upstream names, their typed values, and `NAME=VALUE` overrides.
//!
//! The first fifteen names are the reference template's, unchanged, so an existing stack's saved
//! parameter values keep applying on update. [`StackParams`] holds a value for each; those values
//! become the template's defaults, and the same `NAME=VALUE` pairs can be passed to CloudFormation.

use std::fmt;

use crate::TemplateError;
use crate::intrinsics::{Expr, and, condition, equals, not, or, pseudo, r#ref};
use crate::pins::PINS;
use crate::template::{Assertion, Parameter, ParameterType, Rule, Template};

/// SageMaker notebook instance type.
pub const SAGEMAKER_INSTANCE: &str = "SagemakerInstance";
/// CIDR of the VPC the stack creates.
pub const VPC_CIDR: &str = "VPCCidr";
/// CIDR of the first subnet.
pub const SUBNET1_CIDR: &str = "Subnet1Cidr";
/// CIDR of the second subnet.
pub const SUBNET2_CIDR: &str = "Subnet2Cidr";
/// Batch compute environment maximum vCPUs.
pub const MAX_VCPU_BATCH: &str = "MaxVCPUBatch";
/// Batch compute environment minimum vCPUs.
pub const MIN_VCPU_BATCH: &str = "MinVCPUBatch";
/// Batch compute environment desired vCPUs.
pub const DESIRED_VCPU_BATCH: &str = "DesiredVCPUBatch";
/// Batch EC2 instance types.
pub const COMPUTE_ENV_INSTANCE_TYPES: &str = "ComputeEnvInstanceTypes";
/// Whether to create the restricted user role.
pub const CUSTOM_ROLE: &str = "CustomRole";
/// Whether the API requires an API key.
pub const API_BASIC_AUTH: &str = "APIBasicAuth";
/// Whether to create the SageMaker notebook.
pub const ENABLE_SAGEMAKER: &str = "EnableSagemaker";
/// `ec2` or `fargate`.
pub const BATCH_TYPE: &str = "BatchType";
/// `aws` or `aws-us-gov`; kept for existing stacks, ARNs use `AWS::Partition`.
pub const IAM_PARTITION: &str = "IAMPartition";
/// A managed policy attached to the Batch job role.
pub const ADDITIONAL_WORKER_POLICY_ARN: &str = "AdditionalWorkerPolicyArn";
/// Whether to create the UI nested stack.
pub const ENABLE_UI: &str = "EnableUI";

/// The metadata service image (new).
pub const METADATA_SERVICE_IMAGE: &str = "MetadataServiceImage";
/// The UI backend image (new).
pub const UI_IMAGE: &str = "UIImage";
/// An existing VPC to use instead of creating one (new).
pub const EXISTING_VPC_ID: &str = "ExistingVpcId";
/// First existing subnet (new).
pub const EXISTING_SUBNET1_ID: &str = "ExistingSubnet1Id";
/// Second existing subnet (new).
pub const EXISTING_SUBNET2_ID: &str = "ExistingSubnet2Id";
/// Whether the database storage is encrypted (new).
pub const ENCRYPT_DATABASE: &str = "EncryptDatabase";
/// Where the UI nested template is stored; the deployer sets it (new). See [`crate::UI_TEMPLATE_URL_PARAMETER`].
pub const UI_TEMPLATE_URL: &str = "UITemplateURL";
/// Whether the database refuses deletion (new). `mfstack destroy` sets it to `false` with an
/// update before deleting the stack, since CloudFormation cannot delete a protected instance.
pub const DATABASE_DELETION_PROTECTION: &str = "DatabaseDeletionProtection";

/// The reference template's fifteen parameter names, in its order.
pub const REFERENCE_PARAMETERS: [&str; 15] = [
    SAGEMAKER_INSTANCE,
    VPC_CIDR,
    SUBNET1_CIDR,
    SUBNET2_CIDR,
    MAX_VCPU_BATCH,
    MIN_VCPU_BATCH,
    DESIRED_VCPU_BATCH,
    COMPUTE_ENV_INSTANCE_TYPES,
    CUSTOM_ROLE,
    API_BASIC_AUTH,
    ENABLE_SAGEMAKER,
    BATCH_TYPE,
    IAM_PARTITION,
    ADDITIONAL_WORKER_POLICY_ARN,
    ENABLE_UI,
];

/// The parameters mfstack adds.
pub const NEW_PARAMETERS: [&str; 8] = [
    METADATA_SERVICE_IMAGE,
    UI_IMAGE,
    EXISTING_VPC_ID,
    EXISTING_SUBNET1_ID,
    EXISTING_SUBNET2_ID,
    ENCRYPT_DATABASE,
    UI_TEMPLATE_URL,
    DATABASE_DELETION_PROTECTION,
];

/// Condition: the API requires a key (reference name).
pub const COND_ENABLE_AUTH: &str = "EnableAuth";
/// Condition: the restricted user role exists (reference name).
pub const COND_ENABLE_ROLE: &str = "EnableRole";
/// Condition: Batch runs on Fargate (reference name).
pub const COND_FARGATE: &str = "EnableFargateOnBatch";
/// Condition: the notebook exists (reference name).
pub const COND_ENABLE_SAGEMAKER: &str = "EnableSagemaker";
/// Condition: the stack is in GovCloud (reference name).
pub const COND_IS_GOV: &str = "IsGov";
/// Condition: an extra worker policy is attached (reference name, typo included).
pub const COND_ADDITIONAL_WORKER_POLICY: &str = "EnableAddtionalWorkerPolicy";
/// Condition: the UI exists (reference name).
pub const COND_ENABLE_UI: &str = "EnableUI";
/// Condition: the stack creates its own VPC.
pub const COND_CREATE_VPC: &str = "CreateVpc";

const CIDR_PATTERN: &str = r"^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-8])$";
const VPC_PATTERN: &str = "^(vpc-[0-9a-f]{8,17})?$";
const SUBNET_PATTERN: &str = "^(subnet-[0-9a-f]{8,17})?$";
const POLICY_ARN_PATTERN: &str = r"^(arn:aws[a-z-]*:iam::(aws|\d{12}):policy/.+)?$";
const URL_PATTERN: &str = "^(https://.+)?$";

/// How Batch runs jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchType {
    /// EC2 instances managed by Batch.
    Ec2,
    /// Fargate tasks.
    Fargate,
}

impl fmt::Display for BatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BatchType::Ec2 => "ec2",
            BatchType::Fargate => "fargate",
        })
    }
}

/// The AWS partition the stack is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// Commercial regions.
    Aws,
    /// AWS GovCloud (US), where CloudFront, and so the UI, is absent.
    AwsUsGov,
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Partition::Aws => "aws",
            Partition::AwsUsGov => "aws-us-gov",
        })
    }
}

/// A value for every template parameter; they become the generated template's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackParams {
    /// `SagemakerInstance`.
    pub sagemaker_instance: String,
    /// `VPCCidr`; with an existing VPC, that VPC's CIDR (it bounds the internal ingress rules).
    pub vpc_cidr: String,
    /// `Subnet1Cidr`.
    pub subnet1_cidr: String,
    /// `Subnet2Cidr`.
    pub subnet2_cidr: String,
    /// `MaxVCPUBatch`.
    pub max_vcpu_batch: u32,
    /// `MinVCPUBatch`; 0 so an idle stack runs no EC2 instance.
    pub min_vcpu_batch: u32,
    /// `DesiredVCPUBatch`.
    pub desired_vcpu_batch: u32,
    /// `ComputeEnvInstanceTypes`.
    pub compute_env_instance_types: Vec<String>,
    /// `CustomRole`.
    pub custom_role: bool,
    /// `APIBasicAuth`.
    pub api_basic_auth: bool,
    /// `EnableSagemaker`.
    pub enable_sagemaker: bool,
    /// `BatchType`.
    pub batch_type: BatchType,
    /// `IAMPartition`.
    pub iam_partition: Partition,
    /// `AdditionalWorkerPolicyArn`.
    pub additional_worker_policy_arn: String,
    /// `EnableUI`.
    pub enable_ui: bool,
    /// `MetadataServiceImage`.
    pub metadata_service_image: String,
    /// `UIImage`.
    pub ui_image: String,
    /// `ExistingVpcId`; empty to create a VPC.
    pub existing_vpc_id: String,
    /// `ExistingSubnet1Id`.
    pub existing_subnet1_id: String,
    /// `ExistingSubnet2Id`.
    pub existing_subnet2_id: String,
    /// `EncryptDatabase`.
    pub encrypt_database: bool,
    /// `UITemplateURL`.
    pub ui_template_url: String,
    /// `DatabaseDeletionProtection`.
    pub database_deletion_protection: bool,
}

impl Default for StackParams {
    fn default() -> Self {
        StackParams {
            sagemaker_instance: PINS.notebook_instance_default.to_string(),
            vpc_cidr: "10.20.0.0/16".to_string(),
            subnet1_cidr: "10.20.0.0/24".to_string(),
            subnet2_cidr: "10.20.1.0/24".to_string(),
            max_vcpu_batch: 64,
            min_vcpu_batch: 0,
            desired_vcpu_batch: 0,
            compute_env_instance_types: PINS
                .batch_instance_types
                .iter()
                .map(|s| s.to_string())
                .collect(),
            custom_role: false,
            api_basic_auth: true,
            enable_sagemaker: true,
            batch_type: BatchType::Ec2,
            iam_partition: Partition::Aws,
            additional_worker_policy_arn: String::new(),
            enable_ui: false,
            metadata_service_image: PINS.metadata_service_image.to_string(),
            ui_image: PINS.metadata_service_image.to_string(),
            existing_vpc_id: String::new(),
            existing_subnet1_id: String::new(),
            existing_subnet2_id: String::new(),
            encrypt_database: true,
            ui_template_url: String::new(),
            database_deletion_protection: true,
        }
    }
}

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

fn invalid(name: &str, value: &str, expected: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name: name.to_string(),
        value: value.to_string(),
        expected: expected.into(),
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ParamError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, value, "'true' or 'false'")),
    }
}

fn one_of(name: &str, value: &str, allowed: &[&str]) -> Result<String, ParamError> {
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

fn parse_vcpus(name: &str, value: &str, allowed: &[u32]) -> Result<u32, ParamError> {
    match value.parse::<u32>() {
        Ok(n) if allowed.contains(&n) => Ok(n),
        _ => {
            let list: Vec<String> = allowed.iter().map(u32::to_string).collect();
            Err(invalid(name, value, format!("one of {}", list.join(", "))))
        }
    }
}

fn cidr(name: &str, value: &str) -> Result<String, ParamError> {
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

fn aws_id(name: &str, value: &str, prefix: &str) -> Result<String, ParamError> {
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

const MAX_VCPUS: &[u32] = &[16, 32, 64, 96];
const MIN_VCPUS: &[u32] = &[0, 2, 4, 8, 16];

impl StackParams {
    /// Every parameter name the template declares, reference names first.
    pub fn names() -> impl Iterator<Item = &'static str> {
        REFERENCE_PARAMETERS.into_iter().chain(NEW_PARAMETERS)
    }

    /// Set one parameter from its template name and string value, checking it as CloudFormation would.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ParamError> {
        match name {
            SAGEMAKER_INSTANCE => {
                self.sagemaker_instance = one_of(name, value, PINS.notebook_instance_types)?
            }
            VPC_CIDR => self.vpc_cidr = cidr(name, value)?,
            SUBNET1_CIDR => self.subnet1_cidr = cidr(name, value)?,
            SUBNET2_CIDR => self.subnet2_cidr = cidr(name, value)?,
            MAX_VCPU_BATCH => self.max_vcpu_batch = parse_vcpus(name, value, MAX_VCPUS)?,
            MIN_VCPU_BATCH => self.min_vcpu_batch = parse_vcpus(name, value, MIN_VCPUS)?,
            DESIRED_VCPU_BATCH => self.desired_vcpu_batch = parse_vcpus(name, value, MIN_VCPUS)?,
            COMPUTE_ENV_INSTANCE_TYPES => {
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
                self.compute_env_instance_types = types;
            }
            CUSTOM_ROLE => self.custom_role = parse_bool(name, value)?,
            API_BASIC_AUTH => self.api_basic_auth = parse_bool(name, value)?,
            ENABLE_SAGEMAKER => self.enable_sagemaker = parse_bool(name, value)?,
            BATCH_TYPE => {
                self.batch_type = match value {
                    "ec2" => BatchType::Ec2,
                    "fargate" => BatchType::Fargate,
                    _ => return Err(invalid(name, value, "'ec2' or 'fargate'")),
                }
            }
            IAM_PARTITION => {
                self.iam_partition = match value {
                    "aws" => Partition::Aws,
                    "aws-us-gov" => Partition::AwsUsGov,
                    _ => return Err(invalid(name, value, "'aws' or 'aws-us-gov'")),
                }
            }
            ADDITIONAL_WORKER_POLICY_ARN => {
                if !(value.is_empty() || value.starts_with("arn:aws") && value.contains(":policy/"))
                {
                    return Err(invalid(name, value, "empty or an IAM managed policy ARN"));
                }
                self.additional_worker_policy_arn = value.to_string();
            }
            ENABLE_UI => self.enable_ui = parse_bool(name, value)?,
            METADATA_SERVICE_IMAGE | UI_IMAGE => {
                if value.is_empty() || value.contains(char::is_whitespace) {
                    return Err(invalid(
                        name,
                        value,
                        "a container image reference such as repo/name:tag",
                    ));
                }
                if name == UI_IMAGE {
                    self.ui_image = value.to_string();
                } else {
                    self.metadata_service_image = value.to_string();
                }
            }
            EXISTING_VPC_ID => self.existing_vpc_id = aws_id(name, value, "vpc-")?,
            EXISTING_SUBNET1_ID => self.existing_subnet1_id = aws_id(name, value, "subnet-")?,
            EXISTING_SUBNET2_ID => self.existing_subnet2_id = aws_id(name, value, "subnet-")?,
            ENCRYPT_DATABASE => self.encrypt_database = parse_bool(name, value)?,
            DATABASE_DELETION_PROTECTION => {
                self.database_deletion_protection = parse_bool(name, value)?
            }
            UI_TEMPLATE_URL => {
                if !(value.is_empty() || value.starts_with("https://")) {
                    return Err(invalid(
                        name,
                        value,
                        "empty or an https:// URL of the UI template in S3",
                    ));
                }
                self.ui_template_url = value.to_string();
            }
            _ => {
                return Err(ParamError::Unknown {
                    name: name.to_string(),
                    known: Self::names().collect::<Vec<_>>().join(", "),
                });
            }
        }
        Ok(())
    }

    /// Apply `NAME=VALUE` overrides in order, then check the combination.
    pub fn apply_overrides<S: AsRef<str>>(&mut self, overrides: &[S]) -> Result<(), ParamError> {
        for o in overrides {
            let (name, value) = parse_override(o.as_ref())?;
            self.set(&name, &value)?;
        }
        self.check()
    }

    /// Check rules that span parameters.
    pub fn check(&self) -> Result<(), ParamError> {
        let given = [
            &self.existing_vpc_id,
            &self.existing_subnet1_id,
            &self.existing_subnet2_id,
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .count();
        if given != 0 && given != 3 {
            return Err(ParamError::PartialExistingVpc);
        }
        Ok(())
    }

    /// Whether the stack uses an existing VPC.
    pub fn uses_existing_vpc(&self) -> bool {
        !self.existing_vpc_id.is_empty()
    }

    /// The template parameter declarations, with these values as defaults.
    pub fn definitions(&self) -> Vec<(&'static str, Parameter)> {
        use ParameterType::{CommaDelimitedList, Number, String as Str};
        let flag = |description: &str, value: bool| {
            Parameter::new(Str, description, value.to_string()).allowed(&["false", "true"])
        };
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
            (
                METADATA_SERVICE_IMAGE,
                Parameter::new(Str, "Container image of the metadata service; changing it runs the database migrations.", &self.metadata_service_image),
            ),
            (UI_IMAGE, Parameter::new(Str, "Container image of the UI backend.", &self.ui_image)),
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
                DATABASE_DELETION_PROTECTION,
                flag(
                    "Refuse to delete the database? `mfstack destroy` turns this off just before it deletes the stack.",
                    self.database_deletion_protection,
                ),
            ),
        ]
    }
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
            &[METADATA_SERVICE_IMAGE, UI_IMAGE, UI_TEMPLATE_URL],
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
        ("Database", &[DATABASE_DELETION_PROTECTION]),
        ("Compatibility", &[IAM_PARTITION, ENCRYPT_DATABASE]),
    ]);

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
    // The stack makes its own VPC unless all three existing ids are given.
    t.add_condition(
        COND_CREATE_VPC,
        or(vec![
            equals(r#ref(EXISTING_VPC_ID), ""),
            equals(r#ref(EXISTING_SUBNET1_ID), ""),
            equals(r#ref(EXISTING_SUBNET2_ID), ""),
        ]),
    )?;

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
    fn overrides_apply_and_explain_mistakes() {
        let mut p = StackParams::default();
        p.apply_overrides(&[
            "EnableUI=true",
            "BatchType=fargate",
            "ComputeEnvInstanceTypes=m6i.large, m6i.xlarge",
        ])
        .unwrap();
        assert!(p.enable_ui);
        assert_eq!(p.batch_type, BatchType::Fargate);
        assert_eq!(p.compute_env_instance_types, ["m6i.large", "m6i.xlarge"]);

        assert_eq!(
            p.set("EnableUI", "yes").unwrap_err().to_string(),
            "invalid value `yes` for EnableUI: expected 'true' or 'false'"
        );
        assert!(matches!(
            p.set("EnableUi", "true"),
            Err(ParamError::Unknown { .. })
        ));
        assert_eq!(
            parse_override("EnableUI").unwrap_err(),
            ParamError::NotAPair("EnableUI".into())
        );
        assert!(p.set(MIN_VCPU_BATCH, "3").is_err());
        assert!(p.set(VPC_CIDR, "10.0.0.0/8").is_err());
        assert!(p.set(EXISTING_VPC_ID, "vpc-0123456789abcdef0").is_ok());
        assert_eq!(p.check(), Err(ParamError::PartialExistingVpc));
    }

    #[test]
    fn reference_values_stay_accepted() {
        let mut p = StackParams::default();
        for (k, v) in [
            (SAGEMAKER_INSTANCE, "ml.t2.xlarge"),
            (MIN_VCPU_BATCH, "8"),
            (DESIRED_VCPU_BATCH, "8"),
            (
                COMPUTE_ENV_INSTANCE_TYPES,
                "c4.large,c4.xlarge,c4.2xlarge,c4.4xlarge,c4.8xlarge",
            ),
            (IAM_PARTITION, "aws-us-gov"),
        ] {
            p.set(k, v).unwrap();
        }
    }

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
