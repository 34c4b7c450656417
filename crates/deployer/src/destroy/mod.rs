//! Deleting the stack: lift deletion protection if a parameter holds it, delete, wait, and with
//! `delete_data` empty and remove the buckets the stack retains.

mod plan;

pub use plan::{
    DeletionProtection, DestroyPlan, Kept, StackResource, classify, deletion_protection,
    destroy_plan,
};

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::Parameter;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::aws::Aws;
use crate::change_set::{capabilities, is_no_change};
use crate::error::Error;
use crate::events::{DeployEvent, DeployUi};
use crate::stack::{newest_event_time, wait_until_complete};

/// What `destroy` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestroyReport {
    /// DELETE_COMPLETE on success.
    pub status: String,
    /// Retained buckets emptied and removed because `delete_data` was set.
    pub buckets_removed: Vec<String>,
}

/// Delete the stack and wait; with `delete_data`, then empty and remove the retained buckets.
///
/// When the plan says deletion protection is on through a parameter, the stack is first updated
/// with that parameter `"false"`; if the update fails, nothing is deleted.
pub async fn destroy(
    aws: &Aws,
    plan: &DestroyPlan,
    delete_data: bool,
    poll: std::time::Duration,
    ui: &mut dyn DeployUi,
) -> Result<DestroyReport, Error> {
    if let DeletionProtection::Parameter(name) = &plan.protection {
        lift_deletion_protection(aws, plan, name, poll, ui).await?;
    }
    let cf = aws.cloudformation();
    cf.delete_stack()
        .stack_name(&plan.stack_id)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DeleteStack", e))?;
    let total = plan.deleted.len() + plan.kept.len();
    let status = wait_until_complete(aws, &plan.stack_id, total, poll, None, ui)
        .await?
        .as_str()
        .to_string();
    let mut removed = Vec::new();
    if delete_data {
        for b in plan.retained_buckets() {
            empty_and_delete_bucket(aws, &b.physical_id).await?;
            removed.push(b.physical_id.clone());
        }
    }
    Ok(DestroyReport {
        status,
        buckets_removed: removed,
    })
}

/// The UpdateStack parameters that change only `name`, to `"false"`.
fn unprotect_parameters(plan: &DestroyPlan, name: &str) -> Vec<Parameter> {
    plan.parameters
        .iter()
        .map(|(k, _)| {
            let p = Parameter::builder().parameter_key(k);
            if k == name {
                p.parameter_value("false")
            } else {
                p.use_previous_value(true)
            }
            .build()
        })
        .collect()
}

/// Update the stack with its own template and `name="false"`, and wait for UPDATE_COMPLETE.
async fn lift_deletion_protection(
    aws: &Aws,
    plan: &DestroyPlan,
    name: &str,
    poll: std::time::Duration,
    ui: &mut dyn DeployUi,
) -> Result<(), Error> {
    let cf = aws.cloudformation();
    ui.event(&DeployEvent::LiftingDeletionProtection {
        parameter: name.to_string(),
    });
    // Taken before the update so none of its events are mistaken for older ones.
    let cut = newest_event_time(&cf, &plan.stack_id).await?;
    let sent = cf
        .update_stack()
        .stack_name(&plan.stack_id)
        .use_previous_template(true)
        .set_parameters(Some(unprotect_parameters(plan, name)))
        .set_capabilities(Some(capabilities()))
        .send()
        .await;
    match sent {
        Ok(_) => {}
        // Already "false" (changed since the plan was read): nothing stands in the way.
        Err(e) if e.message().is_some_and(is_no_change) => return Ok(()),
        Err(e) => return Err(Error::from_sdk("UpdateStack", e)),
    }
    let since = Some(cut.unwrap_or(aws_smithy_types::DateTime::from_secs(0)));
    wait_until_complete(aws, &plan.stack_id, 1, poll, since, ui).await?;
    Ok(())
}

async fn empty_and_delete_bucket(aws: &Aws, bucket: &str) -> Result<(), Error> {
    let s3 = aws.s3();
    loop {
        // Versions cover unversioned buckets too (their objects have the null version).
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| Error::from_sdk("ListObjectVersions", e))?;
        let mut ids = Vec::new();
        for v in page.versions() {
            ids.push((v.key().unwrap_or_default(), v.version_id()));
        }
        for m in page.delete_markers() {
            ids.push((m.key().unwrap_or_default(), m.version_id()));
        }
        if ids.is_empty() {
            break;
        }
        let objects = ids
            .into_iter()
            .map(|(k, v)| {
                ObjectIdentifier::builder()
                    .key(k)
                    .set_version_id(v.map(str::to_string))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Aws {
                operation: "DeleteObjects",
                message: e.to_string(),
            })?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| Error::Aws {
                operation: "DeleteObjects",
                message: e.to_string(),
            })?;
        s3.delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DeleteObjects", e))?;
    }
    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DeleteBucket", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_unprotecting_update_changes_only_the_protection_parameter() {
        let plan = DestroyPlan {
            parameters: params(&[
                ("EnableUI", "true"),
                ("DatabaseDeletionProtection", "true"),
                ("UITemplateURL", "https://b.s3.amazonaws.com/k"),
            ]),
            ..DestroyPlan::default()
        };
        let got: Vec<_> = unprotect_parameters(&plan, "DatabaseDeletionProtection")
            .iter()
            .map(|p| {
                (
                    p.parameter_key().unwrap().to_string(),
                    p.parameter_value().map(str::to_string),
                    p.use_previous_value(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("EnableUI".to_string(), None, Some(true)),
                (
                    "DatabaseDeletionProtection".to_string(),
                    Some("false".to_string()),
                    None
                ),
                ("UITemplateURL".to_string(), None, Some(true)),
            ]
        );
    }
}
