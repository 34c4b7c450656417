//! The generated stack against the reference template's names (stack.md sections 1.1, 1.4, 1.5),
//! every parameter combination, and golden snapshots.

use std::path::PathBuf;

use mfstack_template::components::metadata_service;
use mfstack_template::components::storage::{buckets, database};
use mfstack_template::params::{self, REFERENCE_PARAMETERS};
use mfstack_template::{
    OUTPUT_CONFIG_KEYS, REFERENCE_OUTPUTS, StackParams, TemplateError, build, config_key,
};

/// Reference logical ids mfstack keeps (stack.md 1.4). Dropped on purpose: `ECSRole` (orphan),
/// `BatchExecutionRole` (the Batch service-linked role replaces it), and the UI's ALB resources
/// (`ALBUISecurityGroup`, `ALBUI`, `ALBUIListener`, `ALBUITargetGroupUIService`), replaced by an
/// internal load balancer behind a CloudFront VPC origin in the UI's nested template.
const KEPT_ROOT_IDS: &[&str] = &[
    "VPC",
    "Subnet1",
    "Subnet2",
    "InternetGateway",
    "GatewayAttachement",
    "PublicRouteTable",
    "DefaultGateway",
    "Subnet1RTA",
    "Subnet2RTA",
    "ECSCluster",
    "FargateSecurityGroup",
    "NLBIngressRule",
    "NLBIngressRuleDBMigrate",
    "FargateInternalRule",
    "NLB",
    "NLBListener",
    "NLBListenerDBMigrate",
    "ECSTaskExecutionRole",
    "MetadataSvcECSTaskRole",
    "ECSInstanceProfile",
    "ECSInstanceRole",
    "TaskDefinition",
    "MetadataServiceLogGroup",
    "ECSFargateService",
    "LambdaECSExecuteRole",
    "ExecuteDBMigration",
    "NLBTargetGroup",
    "NLBTargetGroupDBMigrate",
    "DBSubnetGroup",
    "RDSSecurityGroup",
    "PostgresIngressRule",
    "RDSMasterInstance",
    "MyRDSSecret",
    "SecretRDSInstanceAttachment",
    "MetaflowS3Bucket",
    "SagemakerSecurityGroup",
    "SageMakerExecutionRole",
    "MetaflowUserRole",
    "EventBridgeRole",
    "StepFunctionsRole",
    "BasicNotebookInstanceLifecycleConfig",
    "SageMakerNotebookInstance",
    "RandomString",
    "BatchS3TaskRole",
    "ComputeEnvironment",
    "JobQueue",
    "Api",
    "ApiResource",
    "DBApiResource",
    "VpcLink",
    "ProxyMethod",
    "DBMethod",
    "ApiDeployment",
    "ApiKey",
    "ApiUsagePlan",
    "ApiUsagePlanKey",
    "StepFunctionsStateDDB",
];

/// Reference UI ids kept, now in the nested template.
const KEPT_UI_IDS: &[&str] = &[
    "IngressRuleUIService",
    "CloudFrontDistributionUI",
    "TaskDefinitionUIService",
    "ServiceLogGroupUIService",
    "ECSFargateServiceUIService",
];

/// The reference outputs and the key each description must name (stack.md 1.5).
const REFERENCE_OUTPUT_KEYS: &[(&str, Option<&str>)] = &[
    (
        "MetaflowDataStoreS3Url",
        Some("METAFLOW_DATASTORE_SYSROOT_S3"),
    ),
    ("MetaflowDataToolsS3Url", Some("METAFLOW_DATATOOLS_S3ROOT")),
    ("BatchJobQueueArn", Some("METAFLOW_BATCH_JOB_QUEUE")),
    (
        "ECSJobRoleForBatchJobs",
        Some("METAFLOW_ECS_S3_ACCESS_IAM_ROLE"),
    ),
    ("ServiceUrl", Some("METAFLOW_SERVICE_URL")),
    ("InternalServiceUrl", Some("METAFLOW_SERVICE_INTERNAL_URL")),
    ("ApiKeyId", Some("METAFLOW_SERVICE_AUTH_KEY")),
    ("MetaflowUserRoleArn", None),
    ("SageMakerNoteBookURL", None),
    (
        "EventBridgeRoleArn",
        Some("METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE"),
    ),
    ("StepFunctionsRoleArn", Some("METAFLOW_SFN_IAM_ROLE")),
    ("DDBTableName", Some("METAFLOW_SFN_DYNAMO_DB_TABLE")),
    ("MigrationFunctionName", None),
    ("UIServiceUrl", None),
    ("UIServiceCloudfrontUrl", Some("METAFLOW_UI_URL")),
];

#[test]
fn reference_parameters_are_all_declared() {
    let stack = build(&StackParams::default()).unwrap();
    let declared: Vec<&String> = stack.root.parameters().keys().collect();
    for name in [
        "SagemakerInstance",
        "VPCCidr",
        "Subnet1Cidr",
        "Subnet2Cidr",
        "MaxVCPUBatch",
        "MinVCPUBatch",
        "DesiredVCPUBatch",
        "ComputeEnvInstanceTypes",
        "CustomRole",
        "APIBasicAuth",
        "EnableSagemaker",
        "BatchType",
        "IAMPartition",
        "AdditionalWorkerPolicyArn",
        "EnableUI",
    ] {
        assert!(
            declared.iter().any(|d| *d == name),
            "parameter {name} missing"
        );
        assert!(REFERENCE_PARAMETERS.contains(&name));
    }
    assert_eq!(
        stack.root.parameters()[params::MIN_VCPU_BATCH]
            .default
            .as_deref(),
        Some("0")
    );
}

#[test]
fn kept_logical_ids_and_types_are_the_references() {
    let stack = build(&StackParams::default()).unwrap();
    for id in KEPT_ROOT_IDS {
        assert!(
            stack.root.resources().contains_key(*id),
            "root resource {id} missing"
        );
    }
    for id in KEPT_UI_IDS {
        assert!(
            stack.ui.resources().contains_key(*id),
            "UI resource {id} missing"
        );
    }
    // Renaming or retyping these would replace live data.
    for (id, kind) in [
        (buckets::BUCKET, "AWS::S3::Bucket"),
        (database::DATABASE, "AWS::RDS::DBInstance"),
        (database::DB_SECRET, "AWS::SecretsManager::Secret"),
        ("StepFunctionsStateDDB", "AWS::DynamoDB::Table"),
    ] {
        assert_eq!(stack.root.resources()[id].kind(), kind);
    }
    assert!(!stack.root.resources().contains_key("ECSRole"));
    assert!(!stack.root.resources().contains_key("BatchExecutionRole"));
}

#[test]
fn outputs_keep_their_names_and_name_their_config_keys() {
    let stack = build(&StackParams::default()).unwrap();
    assert_eq!(REFERENCE_OUTPUTS.len(), REFERENCE_OUTPUT_KEYS.len());
    for (name, key) in REFERENCE_OUTPUT_KEYS {
        let out = stack
            .root
            .outputs()
            .get(*name)
            .unwrap_or_else(|| panic!("output {name} missing"));
        assert!(REFERENCE_OUTPUTS.contains(name));
        assert_eq!(config_key(name), *key, "{name}");
        if let Some(key) = key {
            assert!(
                out.description.contains(&format!("[{key}]")),
                "{name}: {}",
                out.description
            );
        }
    }
    assert_eq!(
        OUTPUT_CONFIG_KEYS.len(),
        REFERENCE_OUTPUT_KEYS
            .iter()
            .filter(|(_, k)| k.is_some())
            .count()
    );
}

#[test]
fn no_output_carries_a_secret() {
    let stack = build(&StackParams::default()).unwrap();
    let outputs = serde_json::to_string(stack.root.outputs()).unwrap();
    assert!(!outputs.contains("resolve:secretsmanager"));
    assert!(!outputs.contains(database::DB_SECRET));
}

#[test]
fn every_parameter_combination_builds_and_validates() {
    let mut built = 0;
    for ui in [false, true] {
        for auth in [false, true] {
            for role in [false, true] {
                for sagemaker in [false, true] {
                    for batch in ["ec2", "fargate"] {
                        for (existing_vpc, image) in [
                            (false, ""),
                            (true, ""),
                            (false, DIGEST_IMAGE),
                            (true, DIGEST_IMAGE),
                        ] {
                            let mut p = StackParams::default();
                            let mut o = vec![
                                format!("ServiceImage={image}"),
                                format!("EnableUI={ui}"),
                                format!("APIBasicAuth={auth}"),
                                format!("CustomRole={role}"),
                                format!("EnableSagemaker={sagemaker}"),
                                format!("BatchType={batch}"),
                            ];
                            if existing_vpc {
                                o.push("ExistingVpcId=vpc-0123456789abcdef0".into());
                                o.push("ExistingSubnet1Id=subnet-0123456789abcdef0".into());
                                o.push("ExistingSubnet2Id=subnet-0fedcba9876543210".into());
                            }
                            p.apply_overrides(&o).unwrap();
                            let stack = build(&p).unwrap();
                            stack.root.to_json().unwrap();
                            stack.root.to_yaml().unwrap();
                            assert_eq!(
                                stack.root.parameters()[params::ENABLE_UI]
                                    .default
                                    .as_deref(),
                                Some(if ui { "true" } else { "false" })
                            );
                            built += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(built, 128);
}

#[test]
fn ui_in_govcloud_is_refused() {
    let mut p = StackParams::default();
    p.apply_overrides(&["IAMPartition=aws-us-gov", "EnableUI=true"])
        .unwrap();
    assert!(matches!(build(&p), Err(TemplateError::UiInGovCloud)));
    p.set("EnableUI", "false").unwrap();
    build(&p).unwrap();
}

#[test]
fn ui_backend_gets_the_service_url() {
    let stack = build(&StackParams::default()).unwrap();
    let task = serde_json::to_string(stack.ui.resources()["TaskDefinitionUIService"].properties())
        .unwrap();
    assert!(task.contains("\"METAFLOW_SERVICE_URL\""));
    let nested = serde_json::to_string(stack.root.resources()["MetaflowUI"].properties()).unwrap();
    assert!(
        nested.contains("\"TemplateURL\":{\"Ref\":\"UITemplateURL\"}"),
        "{nested}"
    );
    let _ = metadata_service::fargate::SERVICE;
}

#[test]
fn database_deletion_protection_is_a_parameter_that_defaults_on() {
    // `mfstack destroy` finds the parameter through this exact `Ref` and sets it to "false".
    let stack = build(&StackParams::default()).unwrap();
    let db = stack.root.resources()[database::DATABASE].properties();
    assert_eq!(
        db["DeletionProtection"],
        serde_json::json!({"Ref": params::DATABASE_DELETION_PROTECTION})
    );
    let p = &stack.root.parameters()[params::DATABASE_DELETION_PROTECTION];
    assert_eq!(p.default.as_deref(), Some("true"));
    assert_eq!(p.allowed_values, ["false", "true"]);

    let mut off = StackParams::default();
    off.apply_overrides(&["DatabaseDeletionProtection=false"])
        .unwrap();
    let stack = build(&off).unwrap();
    assert_eq!(
        stack.root.parameters()[params::DATABASE_DELETION_PROTECTION]
            .default
            .as_deref(),
        Some("false")
    );
    assert!(
        off.set(params::DATABASE_DELETION_PROTECTION, "yes")
            .is_err()
    );
}

/// A published image, by digest, as `mfstack deploy` passes it.
const DIGEST_IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mfstack@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Compare with, or with `MFSTACK_UPDATE_SNAPSHOTS=1` rewrite, a committed JSON snapshot.
fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("MFSTACK_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} missing; run with MFSTACK_UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    if expected != actual {
        let diff = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (e, a))| e != a)
            .map(|(i, (e, a))| format!("line {}:\n  snapshot: {e}\n  now:      {a}", i + 1))
            .unwrap_or_else(|| "lengths differ".to_string());
        panic!("{name} changed ({diff}); review, then rerun with MFSTACK_UPDATE_SNAPSHOTS=1");
    }
}

#[test]
fn golden_snapshots() {
    let stack = build(&StackParams::default()).unwrap();
    snapshot("root.json", &stack.root.to_json().unwrap());
    snapshot("ui.json", &stack.ui.to_json().unwrap());
    // What `mfstack deploy` renders after publishing mfstack's image.
    let mut p = StackParams::default();
    p.apply_overrides(&[format!("{}={DIGEST_IMAGE}", params::SERVICE_IMAGE)])
        .unwrap();
    snapshot(
        "root-service-image.json",
        &build(&p).unwrap().root.to_json().unwrap(),
    );
}
