//! The stack's parameters: their upstream names, their typed values, and `NAME=VALUE` overrides.
//!
//! The first fifteen names are the reference template's, unchanged, so an existing stack's saved
//! parameter values keep applying on update. [`StackParams`] holds a value for each; those values
//! become the template's defaults, and the same `NAME=VALUE` pairs can be passed to CloudFormation.

mod definitions;
mod overrides;
mod values;

pub use definitions::add_to;
pub use overrides::{ParamError, parse_override};
pub use values::{BatchType, Partition, StackParams};

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
/// The metaflow-ui front end served beside mfstack's UI API when [`SERVICE_IMAGE`] is set (new).
pub const UI_STATIC_IMAGE: &str = "UIStaticImage";
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
/// Whether the stack was created from the reference template and adopted (new). The deployer sets
/// it to `true` when it updates a stack that lacks it; create-only properties the reference never
/// set are then left out, since adding one would replace the resource (see [`COND_NEW_STACK`]).
pub const ADOPTED_STACK: &str = "AdoptedStack";
/// The database's PostgreSQL version (new). An existing stack keeps its own: the deployer passes
/// the version its template already has, unless asked for a one-step major upgrade.
pub const POSTGRES_ENGINE_VERSION: &str = "PostgresEngineVersion";
/// The snapshot the database is restored from (new); empty for none. `mfstack encrypt-database`
/// sets it to an encrypted copy of the database, which replaces the instance with one restored from
/// it. Once set it must stay set: clearing it would replace the instance with an empty one.
pub const DATABASE_SNAPSHOT: &str = "DatabaseSnapshotIdentifier";
/// Whether the database refuses deletion (new). `mfstack destroy` sets it to `false` with an
/// update before deleting the stack, since CloudFormation cannot delete a protected instance.
pub const DATABASE_DELETION_PROTECTION: &str = "DatabaseDeletionProtection";

/// mfstack's own service image, by digest (`REPO@sha256:HEX`) or tag (`REPO:TAG`); empty runs
/// upstream's images ([`METADATA_SERVICE_IMAGE`], [`UI_IMAGE`]) with upstream's commands and sizes
/// (new). `mfstack deploy` publishes the image and passes its digest here.
pub const SERVICE_IMAGE: &str = "ServiceImage";
/// The ECR repository, one per account and region, that the deployer creates and publishes
/// [`SERVICE_IMAGE`] to; the task execution role may pull from it.
pub const SERVICE_IMAGE_REPOSITORY: &str = "mfstack";

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
pub const NEW_PARAMETERS: [&str; 13] = [
    SERVICE_IMAGE,
    METADATA_SERVICE_IMAGE,
    UI_IMAGE,
    UI_STATIC_IMAGE,
    EXISTING_VPC_ID,
    EXISTING_SUBNET1_ID,
    EXISTING_SUBNET2_ID,
    ENCRYPT_DATABASE,
    UI_TEMPLATE_URL,
    ADOPTED_STACK,
    POSTGRES_ENGINE_VERSION,
    DATABASE_SNAPSHOT,
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
/// Condition: the stack was created by mfstack, not adopted from the reference template. Create-only
/// properties the reference never set (database encryption, the notebook's platform, key and
/// internet access) are set only under it.
pub const COND_NEW_STACK: &str = "NewStack";
/// Condition: the database is restored from [`DATABASE_SNAPSHOT`].
pub const COND_RESTORE_DATABASE: &str = "RestoreDatabaseSnapshot";
/// Condition: the services run mfstack's image ([`SERVICE_IMAGE`] is set), with mfstack's commands,
/// sizes and autoscaling; otherwise upstream's images run as the reference ran them.
pub const COND_MFSTACK_IMAGE: &str = "MfstackServiceImage";
/// Condition: the stack creates its own VPC.
pub const COND_CREATE_VPC: &str = "CreateVpc";

// The values the reference accepted for the vCPU parameters.
const MAX_VCPUS: &[u32] = &[16, 32, 64, 96];
const MIN_VCPUS: &[u32] = &[0, 2, 4, 8, 16];
