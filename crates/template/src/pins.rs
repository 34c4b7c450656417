//! Every version the stack pins, in one table.
//!
//! Retired versions are why the reference template can no longer create a stack (python3.7,
//! PostgreSQL 11.5, db.t2.small), so each pin below is current and supported as of late 2026 and
//! bumping one is a one-line change here that the golden snapshots then show in review.

/// The pinned versions and instance types.
#[derive(Debug, Clone, Copy)]
pub struct Pins {
    /// Lambda runtime of the migration function. Python 3.13 is supported until mid 2029, and
    /// inline (`ZipFile`) Python code still gets the `cfnresponse` module.
    pub lambda_runtime: &'static str,
    /// PostgreSQL major version. Pinned by major only, so RDS picks the current minor and
    /// `AutoMinorVersionUpgrade` keeps it patched; 18 is in standard support until 2031.
    pub postgres_major: &'static str,
    /// RDS instance class: Graviton burstable, offered for PostgreSQL 18 in every commercial
    /// region and GovCloud.
    pub db_instance_class: &'static str,
    /// RDS storage type; gp3 replaces gp2 at the same price with a 3,000 IOPS floor.
    pub db_storage_type: &'static str,
    /// SageMaker notebook platform: Amazon Linux 2023 with JupyterLab 4 (Amazon Linux 2 left
    /// standard support in June 2026).
    pub notebook_platform: &'static str,
    /// The notebook instance type used unless `SagemakerInstance` says otherwise.
    pub notebook_instance_default: &'static str,
    /// Notebook instance types offered. The `ml.t2` types stay accepted so that a reference
    /// stack's value still validates.
    pub notebook_instance_types: &'static [&'static str],
    /// Batch EC2 instance types (`ComputeEnvInstanceTypes`): sixth-generation compute
    /// optimised, offered in every commercial region and GovCloud, unlike c4.
    pub batch_instance_types: &'static [&'static str],
    /// Batch EC2 image: the ECS-optimised Amazon Linux 2023 AMI.
    pub batch_image_type: &'static str,
    /// The metadata service image, pinned by tag rather than `:latest`.
    pub metadata_service_image: &'static str,
    /// The metaflow-ui front end (static files behind nginx on port 3000) the UI serves beside
    /// mfstack's UI API; upstream's UI backend bundles its own copy instead.
    pub ui_static_image: &'static str,
    /// Days of CloudWatch logs every log group keeps.
    pub log_retention_days: i64,
    /// Days of automated RDS backups.
    pub db_backup_retention_days: i64,
}

/// The one table of pins.
pub const PINS: Pins = Pins {
    lambda_runtime: "python3.13",
    postgres_major: "18",
    db_instance_class: "db.t4g.small",
    db_storage_type: "gp3",
    notebook_platform: "notebook-al2023-v1",
    notebook_instance_default: "ml.t3.xlarge",
    notebook_instance_types: &[
        "ml.t3.medium",
        "ml.t3.large",
        "ml.t3.xlarge",
        "ml.t3.2xlarge",
        "ml.m5.xlarge",
        "ml.m5.2xlarge",
        "ml.t2.large",
        "ml.t2.xlarge",
        "ml.t2.2xlarge",
    ],
    batch_instance_types: &[
        "c6i.large",
        "c6i.xlarge",
        "c6i.2xlarge",
        "c6i.4xlarge",
        "c6i.8xlarge",
    ],
    batch_image_type: "ECS_AL2023",
    metadata_service_image: "netflixoss/metaflow_metadata_service:v2.4.12",
    ui_static_image: "public.ecr.aws/outerbounds/metaflow_ui:v1.2.4",
    log_retention_days: 365,
    db_backup_retention_days: 7,
};
