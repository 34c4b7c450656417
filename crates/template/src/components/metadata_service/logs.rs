//! CloudWatch log groups and the `awslogs` driver that writes to them.

use serde::Serialize;

use crate::intrinsics::{Expr, pseudo, r#ref};
use crate::pins::PINS;
use crate::template::ResourceProperties;

/// `AWS::Logs::LogGroup`, always with retention and the stack key.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    /// The stack key's ARN.
    pub kms_key_id: Expr,
    /// The name; absent lets CloudFormation pick one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<Expr>,
    /// Days kept.
    pub retention_in_days: i64,
}

impl ResourceProperties for LogGroup {
    const TYPE: &'static str = "AWS::Logs::LogGroup";
}

impl LogGroup {
    /// A log group with the pinned retention.
    pub fn new(name: Option<Expr>, key_arn: Expr) -> Self {
        LogGroup {
            kms_key_id: key_arn,
            log_group_name: name,
            retention_in_days: PINS.log_retention_days,
        }
    }
}

/// `awslogs` to a log group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfiguration {
    /// Always `awslogs`.
    pub log_driver: &'static str,
    /// Group, region and stream prefix.
    pub options: LogOptions,
}

/// The `awslogs` options.
#[derive(Debug, Clone, Serialize)]
pub struct LogOptions {
    /// The group, by `Ref` so the task depends on it.
    #[serde(rename = "awslogs-group")]
    pub group: Expr,
    /// The region.
    #[serde(rename = "awslogs-region")]
    pub region: Expr,
    /// Stream prefix.
    #[serde(rename = "awslogs-stream-prefix")]
    pub prefix: &'static str,
}

impl LogConfiguration {
    /// Logs to the group with logical id `group`.
    pub fn to_group(group: &str) -> Self {
        LogConfiguration {
            log_driver: "awslogs",
            options: LogOptions {
                group: r#ref(group),
                region: r#ref(pseudo::REGION),
                prefix: "ecs",
            },
        }
    }
}
