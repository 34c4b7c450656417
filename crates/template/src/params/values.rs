//! The typed value of every parameter, and setting them from strings.

use std::fmt;

use super::overrides::{
    aws_id, batch_type, cidr, engine_version, image, instance_types, one_of, parse_bool,
    parse_override, parse_vcpus, partition, policy_arn, service_image, template_url,
};
use super::*;
use crate::pins::PINS;

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
    /// `ServiceImage`; empty for upstream's images.
    pub service_image: String,
    /// `MetadataServiceImage`.
    pub metadata_service_image: String,
    /// `UIImage`.
    pub ui_image: String,
    /// `UIStaticImage`.
    pub ui_static_image: String,
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
    /// `AdoptedStack`.
    pub adopted_stack: bool,
    /// `PostgresEngineVersion`.
    pub postgres_engine_version: String,
    /// `DatabaseSnapshotIdentifier`.
    pub database_snapshot: String,
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
            service_image: String::new(),
            metadata_service_image: PINS.metadata_service_image.to_string(),
            ui_image: PINS.metadata_service_image.to_string(),
            ui_static_image: PINS.ui_static_image.to_string(),
            existing_vpc_id: String::new(),
            existing_subnet1_id: String::new(),
            existing_subnet2_id: String::new(),
            encrypt_database: true,
            ui_template_url: String::new(),
            database_deletion_protection: true,
            adopted_stack: false,
            postgres_engine_version: PINS.postgres_major.to_string(),
            database_snapshot: String::new(),
        }
    }
}

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
                self.compute_env_instance_types = instance_types(name, value)?
            }
            CUSTOM_ROLE => self.custom_role = parse_bool(name, value)?,
            API_BASIC_AUTH => self.api_basic_auth = parse_bool(name, value)?,
            ENABLE_SAGEMAKER => self.enable_sagemaker = parse_bool(name, value)?,
            BATCH_TYPE => self.batch_type = batch_type(name, value)?,
            IAM_PARTITION => self.iam_partition = partition(name, value)?,
            ADDITIONAL_WORKER_POLICY_ARN => {
                self.additional_worker_policy_arn = policy_arn(name, value)?
            }
            ENABLE_UI => self.enable_ui = parse_bool(name, value)?,
            _ => return self.set_added(name, value),
        }
        Ok(())
    }

    /// [`Self::set`] for the parameters mfstack adds to the reference's.
    fn set_added(&mut self, name: &str, value: &str) -> Result<(), ParamError> {
        match name {
            SERVICE_IMAGE => self.service_image = service_image(name, value)?,
            METADATA_SERVICE_IMAGE => self.metadata_service_image = image(name, value)?,
            UI_IMAGE => self.ui_image = image(name, value)?,
            UI_STATIC_IMAGE => self.ui_static_image = image(name, value)?,
            EXISTING_VPC_ID => self.existing_vpc_id = aws_id(name, value, "vpc-")?,
            EXISTING_SUBNET1_ID => self.existing_subnet1_id = aws_id(name, value, "subnet-")?,
            EXISTING_SUBNET2_ID => self.existing_subnet2_id = aws_id(name, value, "subnet-")?,
            ENCRYPT_DATABASE => self.encrypt_database = parse_bool(name, value)?,
            DATABASE_DELETION_PROTECTION => {
                self.database_deletion_protection = parse_bool(name, value)?
            }
            UI_TEMPLATE_URL => self.ui_template_url = template_url(name, value)?,
            ADOPTED_STACK => self.adopted_stack = parse_bool(name, value)?,
            POSTGRES_ENGINE_VERSION => self.postgres_engine_version = engine_version(name, value)?,
            DATABASE_SNAPSHOT => self.database_snapshot = value.to_string(),
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
    fn service_image_is_a_digest_or_a_tag() {
        let digest = format!(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mfstack@sha256:{}",
            "ab".repeat(32)
        );
        let mut p = StackParams::default();
        for ok in [
            digest.as_str(),
            "127.0.0.1:5000/mfstack:v1.2_3-rc",
            "mfstack:latest",
            "",
        ] {
            p.set(SERVICE_IMAGE, ok).unwrap();
            assert_eq!(p.service_image, ok);
        }
        let upper = digest.replace("ab", "AB");
        for bad in [
            "mfstack",
            "127.0.0.1:5000/mfstack",
            "mfstack@sha256:abc",
            upper.as_str(),
            "mfstack:-tag",
            "my image:1",
        ] {
            assert!(p.set(SERVICE_IMAGE, bad).is_err(), "{bad}");
        }
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
}
