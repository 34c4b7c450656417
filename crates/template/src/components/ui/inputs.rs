//! Parameters of the nested template, which the root fills in.

/// VPC id.
pub const VPC_ID: &str = "VpcId";
/// VPC CIDR.
pub const VPC_CIDR: &str = "VpcCidr";
/// First subnet.
pub const SUBNET1: &str = "Subnet1Id";
/// Second subnet.
pub const SUBNET2: &str = "Subnet2Id";
/// `ENABLED` or `DISABLED`.
pub const ASSIGN_PUBLIC_IP: &str = "AssignPublicIp";
/// ECS cluster name.
pub const CLUSTER: &str = "ClusterName";
/// Security group of the service tasks.
pub const SERVICE_SECURITY_GROUP: &str = "ServiceSecurityGroupId";
/// Task execution role ARN.
pub const EXECUTION_ROLE: &str = "ExecutionRoleArn";
/// Task role ARN.
pub const TASK_ROLE: &str = "TaskRoleArn";
/// Database host.
pub const DB_HOST: &str = "DatabaseHost";
/// Database port.
pub const DB_PORT: &str = "DatabasePort";
/// Database secret ARN.
pub const DB_SECRET: &str = "DatabaseSecretArn";
/// The metadata service's URL.
pub const SERVICE_URL: &str = "MetadataServiceUrl";
/// The datastore root.
pub const DATASTORE_ROOT: &str = "DatastoreSysroot";
/// Upstream's UI backend image, run when [`SERVICE_IMAGE`] is empty.
pub const IMAGE: &str = "UIImage";
/// mfstack's image; empty for upstream's.
pub const SERVICE_IMAGE: &str = "ServiceImage";
/// The metaflow-ui front end served beside mfstack's UI API.
pub const STATIC_IMAGE: &str = "UIStaticImage";
/// The stack key ARN.
pub const KMS_KEY: &str = "KmsKeyArn";
/// The log bucket's domain name, for CloudFront.
pub const LOGS_BUCKET_DOMAIN: &str = "LogsBucketDomain";

/// Every input, in declaration order.
pub const ALL: [&str; 19] = [
    VPC_ID,
    VPC_CIDR,
    SUBNET1,
    SUBNET2,
    ASSIGN_PUBLIC_IP,
    CLUSTER,
    SERVICE_SECURITY_GROUP,
    EXECUTION_ROLE,
    TASK_ROLE,
    DB_HOST,
    DB_PORT,
    DB_SECRET,
    SERVICE_URL,
    DATASTORE_ROOT,
    IMAGE,
    SERVICE_IMAGE,
    STATIC_IMAGE,
    KMS_KEY,
    LOGS_BUCKET_DOMAIN,
];
