//! The stack's database as RDS sees it: its instance, the upgrades RDS allows from its version, and
//! the snapshots taken before an upgrade or for encryption. Nothing here changes the instance
//! itself; that stays CloudFormation's job.

use std::time::Duration;

use aws_sdk_rds::types::{DbInstance, UpgradeTarget};

use crate::Aws;
use crate::error::Error;

/// The logical id of the stack's database (reference name).
pub const DATABASE_LOGICAL_ID: &str = "RDSMasterInstance";

/// What a decision about the database needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub instance_id: String,
    pub engine: String,
    pub engine_version: String,
    pub encrypted: bool,
    pub allocated_gb: i32,
}

impl Database {
    fn from_sdk(db: &DbInstance) -> Self {
        Self {
            instance_id: db.db_instance_identifier().unwrap_or_default().to_string(),
            engine: db.engine().unwrap_or("postgres").to_string(),
            engine_version: db.engine_version().unwrap_or_default().to_string(),
            encrypted: db.storage_encrypted().unwrap_or(false),
            allocated_gb: db.allocated_storage().unwrap_or(0),
        }
    }
}

/// The physical id of `stack`'s resource `logical_id` (a KMS key id, an instance name, ...).
pub async fn physical_id(aws: &Aws, stack: &str, logical_id: &str) -> Result<String, Error> {
    let resource = aws
        .cloudformation()
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(logical_id)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DescribeStackResource", e))?;
    Ok(resource
        .stack_resource_detail()
        .and_then(|d| d.physical_resource_id())
        .unwrap_or_default()
        .to_string())
}

/// The database of `stack`, found through its logical id.
pub async fn of_stack(aws: &Aws, stack: &str) -> Result<Database, Error> {
    let id = physical_id(aws, stack, DATABASE_LOGICAL_ID).await?;
    let out = aws
        .rds()
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DescribeDBInstances", e))?;
    out.db_instances()
        .first()
        .map(Database::from_sdk)
        .ok_or_else(|| Error::Aws {
            operation: "DescribeDBInstances",
            message: format!("no instance {id}"),
        })
}

/// The versions RDS allows `db` to be upgraded to in one step (`ValidUpgradeTarget`).
pub async fn upgrade_targets(aws: &Aws, db: &Database) -> Result<Vec<UpgradeTarget>, Error> {
    let out = aws
        .rds()
        .describe_db_engine_versions()
        .engine(&db.engine)
        .engine_version(&db.engine_version)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DescribeDBEngineVersions", e))?;
    Ok(out
        .db_engine_versions()
        .iter()
        .flat_map(|v| v.valid_upgrade_target().iter().cloned())
        .collect())
}

/// Why an asked-for major upgrade cannot be done in one step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "RDS does not upgrade PostgreSQL {from} to {asked} in one step; from {from} it allows major versions {}",
    allowed_text(allowed)
)]
pub struct UpgradeNotAllowed {
    pub from: String,
    pub asked: u32,
    /// The major versions RDS lists as one-step targets, ascending.
    pub allowed: Vec<u32>,
}

fn allowed_text(allowed: &[u32]) -> String {
    if allowed.is_empty() {
        return "none".to_string();
    }
    let list: Vec<String> = allowed.iter().map(u32::to_string).collect();
    list.join(", ")
}

fn major_of(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}

/// The version to upgrade to for major version `asked`: the newest one-step target RDS lists in
/// that major. `None` when `asked` is the major already running.
pub fn upgrade_version(
    current: &str,
    asked: u32,
    targets: &[UpgradeTarget],
) -> Result<Option<String>, UpgradeNotAllowed> {
    if major_of(current) == Some(asked) {
        return Ok(None);
    }
    let majors = targets
        .iter()
        .filter(|t| t.is_major_version_upgrade() == Some(true))
        .filter_map(|t| Some((major_of(t.engine_version()?)?, t.engine_version()?)));
    let best = majors
        .clone()
        .filter(|(m, _)| *m == asked)
        .max_by(|a, b| compare_versions(a.1, b.1))
        .map(|(_, v)| v.to_string());
    best.map(Some).ok_or_else(|| {
        let mut allowed: Vec<u32> = majors.map(|(m, _)| m).collect();
        allowed.sort_unstable();
        allowed.dedup();
        UpgradeNotAllowed {
            from: current.to_string(),
            asked,
            allowed,
        }
    })
}

fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> { v.split('.').filter_map(|p| p.parse().ok()).collect() };
    parts(a).cmp(&parts(b))
}

/// A snapshot name the user can find in the RDS console: the stack, what it is for, and when.
pub fn snapshot_name(stack: &str, purpose: &str, unix_seconds: u64) -> String {
    let clean: String = format!("mfstack-{stack}-{purpose}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    // RDS: 1-255 letters, digits or hyphens, no two hyphens in a row, none at the end.
    let mut out = String::new();
    for c in clean.chars() {
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    format!("{}-{unix_seconds}", out.trim_end_matches('-'))
}

/// The state of a snapshot, `None` if there is none of that name.
pub async fn snapshot_status(aws: &Aws, snapshot_id: &str) -> Result<Option<String>, Error> {
    let out = aws
        .rds()
        .describe_db_snapshots()
        .db_snapshot_identifier(snapshot_id)
        .send()
        .await;
    match out {
        Ok(o) => Ok(o
            .db_snapshots()
            .first()
            .map(|s| s.status().unwrap_or_default().to_string())),
        Err(e) => match Error::from_sdk("DescribeDBSnapshots", e) {
            Error::Aws { message, .. } if message.contains("DBSnapshotNotFound") => Ok(None),
            other => Err(other),
        },
    }
}

/// Take a manual snapshot of `db` named `snapshot_id` and wait until it is available. An existing
/// snapshot of that name is waited for instead, so a step interrupted midway can be run again.
pub async fn snapshot(
    aws: &Aws,
    db: &Database,
    snapshot_id: &str,
    poll: Duration,
) -> Result<(), Error> {
    if snapshot_status(aws, snapshot_id).await?.is_none() {
        aws.rds()
            .create_db_snapshot()
            .db_instance_identifier(&db.instance_id)
            .db_snapshot_identifier(snapshot_id)
            .send()
            .await
            .map_err(|e| Error::from_sdk("CreateDBSnapshot", e))?;
    }
    wait_available(aws, snapshot_id, poll).await
}

/// Copy snapshot `source` to `target`, encrypted with `kms_key`, and wait until it is available.
pub async fn copy_encrypted(
    aws: &Aws,
    source: &str,
    target: &str,
    kms_key: &str,
    poll: Duration,
) -> Result<(), Error> {
    if snapshot_status(aws, target).await?.is_none() {
        aws.rds()
            .copy_db_snapshot()
            .source_db_snapshot_identifier(source)
            .target_db_snapshot_identifier(target)
            .kms_key_id(kms_key)
            .copy_tags(true)
            .send()
            .await
            .map_err(|e| Error::from_sdk("CopyDBSnapshot", e))?;
    }
    wait_available(aws, target, poll).await
}

async fn wait_available(aws: &Aws, snapshot_id: &str, poll: Duration) -> Result<(), Error> {
    loop {
        match snapshot_status(aws, snapshot_id).await?.as_deref() {
            Some("available") => return Ok(()),
            Some("failed" | "incompatible-restore" | "incompatible-parameters") | None => {
                return Err(Error::Aws {
                    operation: "DescribeDBSnapshots",
                    message: format!("snapshot {snapshot_id} did not become available"),
                });
            }
            Some(_) => tokio::time::sleep(poll).await,
        }
    }
}

/// Whether snapshot `snapshot_id` is encrypted, and with which key.
pub async fn snapshot_key(aws: &Aws, snapshot_id: &str) -> Result<Option<String>, Error> {
    let out = aws
        .rds()
        .describe_db_snapshots()
        .db_snapshot_identifier(snapshot_id)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DescribeDBSnapshots", e))?;
    Ok(out
        .db_snapshots()
        .first()
        .filter(|s| s.encrypted() == Some(true))
        .map(|s| s.kms_key_id().unwrap_or_default().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(version: &str, major: bool) -> UpgradeTarget {
        UpgradeTarget::builder()
            .engine("postgres")
            .engine_version(version)
            .is_major_version_upgrade(major)
            .build()
    }

    #[test]
    fn an_upgrade_takes_the_newest_one_step_target_in_the_asked_major() {
        let targets = [
            target("11.22", false),
            target("12.19", true),
            target("12.22", true),
            target("13.18", true),
        ];
        assert_eq!(
            upgrade_version("11.5", 12, &targets),
            Ok(Some("12.22".into()))
        );
        assert_eq!(upgrade_version("11.5", 11, &targets), Ok(None));
        let refused = upgrade_version("11.5", 18, &targets).unwrap_err();
        assert_eq!(refused.allowed, [12, 13]);
        assert_eq!(
            refused.to_string(),
            "RDS does not upgrade PostgreSQL 11.5 to 18 in one step; from 11.5 it allows major versions 12, 13"
        );
        assert!(upgrade_version("11.5", 12, &[target("11.22", false)]).is_err());
    }

    #[test]
    fn snapshot_names_are_valid_rds_identifiers() {
        assert_eq!(
            snapshot_name("my_stack", "before-postgres-12", 1_800_000_000),
            "mfstack-my-stack-before-postgres-12-1800000000"
        );
        assert_eq!(snapshot_name("a--b", "x", 1), "mfstack-a-b-x-1");
    }
}
