//! Which properties of each resource type cannot change in place, and which types hold data.
//!
//! Source: the AWS CloudFormation resource provider schemas (`createOnlyProperties` and
//! `conditionalCreateOnlyProperties`), as bundled with cfn-lint 1.58.0 (us-east-1, 2026). Only the
//! types a Metaflow stack uses are listed; a type missing here is predicted from the change set
//! alone. Nested properties are written `Parent/Child`, as in the schemas.

/// What one resource type allows to change without replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSchema {
    pub type_name: &'static str,
    /// Changing any of these replaces the resource.
    pub create_only: &'static [&'static str],
    /// Changing any of these replaces the resource in some cases (the schema does not say which).
    pub conditional: &'static [&'static str],
    /// The property that names the resource, when names are unique in the account or parent, so
    /// two live resources cannot share one.
    pub name: Option<&'static str>,
    /// What is lost when a resource of this type is replaced or deleted; `None` for types whose
    /// resources hold no data.
    pub holds: Option<&'static str>,
}

const fn schema(
    type_name: &'static str,
    create_only: &'static [&'static str],
    name: Option<&'static str>,
) -> ResourceSchema {
    ResourceSchema {
        type_name,
        create_only,
        conditional: &[],
        name,
        holds: None,
    }
}

/// The table, one row per type.
pub const SCHEMAS: &[ResourceSchema] = &[
    ResourceSchema {
        type_name: "AWS::RDS::DBInstance",
        create_only: &[
            "BackupTarget",
            "CharacterSetName",
            "CustomIAMInstanceProfile",
            "DBClusterIdentifier",
            "DBInstanceIdentifier",
            "DBName",
            "DBSubnetGroupName",
            "DBSystemId",
            "KmsKeyId",
            "MasterUsername",
            "NcharCharacterSetName",
            "SourceRegion",
            "StorageEncrypted",
            "Timezone",
        ],
        conditional: &[
            "AutoMinorVersionUpgrade",
            "AvailabilityZone",
            "BackupRetentionPeriod",
            "DBClusterSnapshotIdentifier",
            "DBParameterGroupName",
            "DBSnapshotIdentifier",
            "Engine",
            "MultiAZ",
            "PerformanceInsightsKMSKeyId",
            "PreferredMaintenanceWindow",
            "RestoreTime",
            "SourceDBClusterIdentifier",
            "SourceDBInstanceAutomatedBackupsArn",
            "SourceDBInstanceIdentifier",
            "SourceDbiResourceId",
            "UseLatestRestorableTime",
        ],
        name: Some("DBInstanceIdentifier"),
        holds: Some("every row of the database (what survives is its final snapshot)"),
    },
    ResourceSchema {
        type_name: "AWS::S3::Bucket",
        create_only: &["BucketName", "BucketNamePrefix", "BucketNamespace"],
        conditional: &[],
        name: Some("BucketName"),
        holds: Some("every object in the bucket"),
    },
    ResourceSchema {
        type_name: "AWS::DynamoDB::Table",
        create_only: &["TableName", "ImportSourceSpecification"],
        conditional: &["KeySchema"],
        name: Some("TableName"),
        holds: Some("every item in the table"),
    },
    ResourceSchema {
        type_name: "AWS::SageMaker::NotebookInstance",
        create_only: &[
            "DirectInternetAccess",
            "KmsKeyId",
            "NotebookInstanceName",
            "PlatformIdentifier",
            "SecurityGroupIds",
            "SubnetId",
        ],
        conditional: &[],
        name: Some("NotebookInstanceName"),
        holds: None,
    },
    ResourceSchema {
        type_name: "AWS::Batch::ComputeEnvironment",
        create_only: &[
            "ComputeResources/SpotIamFleetRole",
            "ComputeEnvironmentName",
            "Tags",
            "Type",
            "EksConfiguration/EksClusterArn",
            "EksConfiguration/KubernetesNamespace",
        ],
        conditional: &[
            "ComputeResources/AllocationStrategy",
            "ComputeResources/BidPercentage",
            "ComputeResources/Ec2Configuration",
            "ComputeResources/Ec2KeyPair",
            "ComputeResources/ImageId",
            "ComputeResources/InstanceRole",
            "ComputeResources/InstanceTypes",
            "ComputeResources/LaunchTemplate",
            "ComputeResources/PlacementGroup",
            "ComputeResources/ScalingPolicy",
            "ComputeResources/SecurityGroupIds",
            "ComputeResources/Subnets",
            "ComputeResources/Tags",
            "ComputeResources/Type",
        ],
        name: Some("ComputeEnvironmentName"),
        holds: None,
    },
    ResourceSchema {
        type_name: "AWS::ECS::Service",
        create_only: &["Cluster", "Role", "SchedulingStrategy", "ServiceName"],
        conditional: &["LaunchType"],
        name: Some("ServiceName"),
        holds: None,
    },
    ResourceSchema {
        type_name: "AWS::EC2::VPC",
        create_only: &[
            "CidrBlock",
            "Ipv4IpamPoolId",
            "Ipv4NetmaskLength",
            "VpcEncryptionControl",
        ],
        conditional: &["InstanceTenancy"],
        name: None,
        holds: None,
    },
    ResourceSchema {
        type_name: "AWS::Lambda::Function",
        create_only: &["FunctionName", "PackageType", "TenancyConfig"],
        conditional: &["DurableConfig"],
        name: Some("FunctionName"),
        holds: None,
    },
    schema(
        "AWS::EC2::Subnet",
        &[
            "VpcId",
            "AvailabilityZone",
            "AvailabilityZoneId",
            "CidrBlock",
            "OutpostArn",
            "Ipv6Native",
            "Ipv4IpamPoolId",
            "Ipv4NetmaskLength",
            "Ipv6IpamPoolId",
            "Ipv6NetmaskLength",
        ],
        None,
    ),
    schema("AWS::EC2::InternetGateway", &[], None),
    schema("AWS::EC2::VPCGatewayAttachment", &["VpcId"], None),
    schema("AWS::EC2::RouteTable", &["VpcId"], None),
    schema(
        "AWS::EC2::Route",
        &[
            "RouteTableId",
            "DestinationCidrBlock",
            "DestinationIpv6CidrBlock",
            "DestinationPrefixListId",
        ],
        None,
    ),
    schema(
        "AWS::EC2::SubnetRouteTableAssociation",
        &["SubnetId", "RouteTableId"],
        None,
    ),
    schema(
        "AWS::EC2::SecurityGroup",
        &["GroupDescription", "GroupName", "VpcId"],
        Some("GroupName"),
    ),
    schema(
        "AWS::EC2::SecurityGroupIngress",
        &[
            "GroupName",
            "IpProtocol",
            "SourceSecurityGroupId",
            "SourcePrefixListId",
            "ToPort",
            "CidrIp",
            "SourceSecurityGroupName",
            "SourceSecurityGroupOwnerId",
            "FromPort",
            "GroupId",
            "CidrIpv6",
        ],
        None,
    ),
    schema(
        "AWS::EC2::VPCEndpoint",
        &["ServiceName", "VpcEndpointType", "VpcId"],
        None,
    ),
    schema("AWS::ECS::Cluster", &["ClusterName"], Some("ClusterName")),
    schema(
        "AWS::ECS::TaskDefinition",
        &[
            "Family",
            "ContainerDefinitions",
            "Cpu",
            "EnableFaultInjection",
            "ExecutionRoleArn",
            "InferenceAccelerators",
            "Memory",
            "NetworkMode",
            "PlacementConstraints",
            "ProxyConfiguration",
            "RequiresCompatibilities",
            "RuntimePlatform",
            "TaskRoleArn",
            "Volumes",
            "PidMode",
            "IpcMode",
            "EphemeralStorage",
        ],
        None,
    ),
    schema(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        &["Name", "Type", "Scheme"],
        Some("Name"),
    ),
    schema(
        "AWS::ElasticLoadBalancingV2::Listener",
        &["LoadBalancerArn"],
        None,
    ),
    schema(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        &[
            "TargetType",
            "ProtocolVersion",
            "Port",
            "Name",
            "VpcId",
            "Protocol",
            "IpAddressType",
        ],
        Some("Name"),
    ),
    schema("AWS::IAM::Role", &["Path", "RoleName"], Some("RoleName")),
    schema(
        "AWS::IAM::InstanceProfile",
        &["InstanceProfileName", "Path"],
        Some("InstanceProfileName"),
    ),
    schema(
        "AWS::IAM::ManagedPolicy",
        &["ManagedPolicyName", "Description", "Path"],
        Some("ManagedPolicyName"),
    ),
    schema(
        "AWS::Logs::LogGroup",
        &["LogGroupName"],
        Some("LogGroupName"),
    ),
    schema(
        "AWS::RDS::DBSubnetGroup",
        &["DBSubnetGroupName"],
        Some("DBSubnetGroupName"),
    ),
    schema("AWS::SecretsManager::Secret", &["Name"], Some("Name")),
    schema(
        "AWS::SecretsManager::SecretTargetAttachment",
        &["SecretId"],
        None,
    ),
    schema("AWS::S3::BucketPolicy", &["Bucket"], None),
    schema(
        "AWS::SageMaker::NotebookInstanceLifecycleConfig",
        &["NotebookInstanceLifecycleConfigName"],
        Some("NotebookInstanceLifecycleConfigName"),
    ),
    schema(
        "AWS::Batch::JobQueue",
        &["JobQueueName", "JobQueueType"],
        Some("JobQueueName"),
    ),
    schema("AWS::ApiGateway::RestApi", &[], None),
    schema(
        "AWS::ApiGateway::Resource",
        &["PathPart", "ParentId", "RestApiId"],
        None,
    ),
    schema("AWS::ApiGateway::VpcLink", &["TargetArns"], None),
    schema(
        "AWS::ApiGateway::Method",
        &["RestApiId", "ResourceId", "HttpMethod"],
        None,
    ),
    schema(
        "AWS::ApiGateway::Deployment",
        &["DeploymentCanarySettings", "RestApiId"],
        None,
    ),
    schema(
        "AWS::ApiGateway::ApiKey",
        &["GenerateDistinctId", "Name", "Value"],
        Some("Name"),
    ),
    schema("AWS::ApiGateway::UsagePlan", &[], None),
    schema(
        "AWS::ApiGateway::UsagePlanKey",
        &["KeyId", "UsagePlanId", "KeyType"],
        None,
    ),
    schema("AWS::KMS::Key", &[], None),
    schema("AWS::CloudFront::Distribution", &[], None),
    schema("AWS::CloudFront::VpcOrigin", &[], None),
    schema("AWS::CloudFormation::Stack", &[], None),
    schema(
        "AWS::SQS::Queue",
        &["FifoQueue", "QueueName"],
        Some("QueueName"),
    ),
];

/// The row for `type_name`, if the table has one.
pub fn schema_of(type_name: &str) -> Option<&'static ResourceSchema> {
    SCHEMAS.iter().find(|s| s.type_name == type_name)
}

/// What a resource of `type_name` loses with replacement or deletion, if it holds data.
pub fn data_held_by(type_name: &str) -> Option<&'static str> {
    schema_of(type_name).and_then(|s| s.holds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_is_listed_once() {
        for (i, s) in SCHEMAS.iter().enumerate() {
            assert!(
                SCHEMAS[i + 1..].iter().all(|o| o.type_name != s.type_name),
                "{} twice",
                s.type_name
            );
        }
    }

    #[test]
    fn the_three_data_bearing_types_say_what_they_hold() {
        let held: Vec<&str> = SCHEMAS
            .iter()
            .filter(|s| s.holds.is_some())
            .map(|s| s.type_name)
            .collect();
        assert_eq!(
            held,
            [
                "AWS::RDS::DBInstance",
                "AWS::S3::Bucket",
                "AWS::DynamoDB::Table"
            ]
        );
        assert!(
            schema_of("AWS::RDS::DBInstance")
                .unwrap()
                .create_only
                .contains(&"StorageEncrypted")
        );
    }
}
