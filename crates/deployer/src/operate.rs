//! The chores after a deploy that the console guide did by hand: the API key value, the custom
//! role's trust policy, the migration function, status, and destroy.

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, Parameter, TemplateStage};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde_json::Value;

use crate::aws::Aws;
use crate::deploy::{CAPABILITIES, describe_stack, newest_event_time, wait_for_stack};
use crate::error::Error;
use crate::events::{AnyStatus, DeployEvent, DeployUi, Phase, RootCause, phase};
use crate::progress::is_no_change;

/// The API key's secret value (`apigateway get-api-key --include-value`).
pub async fn api_key_value(aws: &Aws, key_id: &str) -> Result<String, Error> {
    let out = aws
        .apigateway()
        .get_api_key()
        .api_key(key_id)
        .include_value(true)
        .send()
        .await
        .map_err(|e| Error::from_sdk("GetApiKey", e))?;
    out.value().map(str::to_string).ok_or_else(|| Error::Aws {
        operation: "GetApiKey",
        message: format!("key {key_id} has no value"),
    })
}

/// Principals added to a trust policy, and those that were already trusted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustChange {
    /// Newly trusted.
    pub added: Vec<String>,
    /// Already present; left as they were.
    pub present: Vec<String>,
}

/// Let `principals` (IAM ARNs or account ids) assume the role `role_arn`.
pub async fn add_trusted_principals(
    aws: &Aws,
    role_arn: &str,
    principals: &[String],
) -> Result<TrustChange, Error> {
    let iam = aws.iam();
    let name = role_name(role_arn);
    let role = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| Error::from_sdk("GetRole", e))?;
    let raw = role
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .unwrap_or_default();
    // IAM returns the document URL-encoded.
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let doc: Value = serde_json::from_str(&decoded).map_err(|e| Error::Aws {
        operation: "GetRole",
        message: format!("unreadable trust policy: {e}"),
    })?;
    let (doc, change) = with_principals(doc, principals);
    if !change.added.is_empty() {
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(doc.to_string())
            .send()
            .await
            .map_err(|e| Error::from_sdk("UpdateAssumeRolePolicy", e))?;
    }
    Ok(change)
}

/// The role name in an ARN (`arn:aws:iam::1:role/path/Name` → `Name`), or the input if not an ARN.
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Add `principals` to the first plain `Allow sts:AssumeRole` statement with AWS principals, or to a
/// new statement when there is none. Existing principals and statements are kept as they are.
pub fn with_principals(mut doc: Value, principals: &[String]) -> (Value, TrustChange) {
    let mut change = TrustChange::default();
    let statements = doc.get_mut("Statement").and_then(Value::as_array_mut);
    let target = statements.and_then(|s| {
        s.iter_mut().find(|st| {
            st.get("Effect") == Some(&Value::from("Allow"))
                && st.get("Condition").is_none()
                && st.get("Principal").and_then(|p| p.get("AWS")).is_some()
                && matches!(st.get("Action"), Some(Value::String(a)) if a == "sts:AssumeRole")
        })
    });
    let mut list: Vec<Value> = match target.as_ref().and_then(|st| st["Principal"].get("AWS")) {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    };
    for p in principals {
        if list.iter().any(|v| v.as_str() == Some(p)) {
            change.present.push(p.clone());
        } else {
            list.push(Value::from(p.as_str()));
            change.added.push(p.clone());
        }
    }
    if change.added.is_empty() {
        return (doc, change);
    }
    match target {
        Some(st) => st["Principal"]["AWS"] = Value::Array(list),
        None => {
            let st = serde_json::json!({"Effect": "Allow", "Principal": {"AWS": list}, "Action": "sts:AssumeRole"});
            match doc.get_mut("Statement") {
                Some(Value::Array(a)) => a.push(st),
                _ => doc["Statement"] = Value::Array(vec![st]),
            }
        }
    }
    (doc, change)
}

/// The metadata service's schema status, as `GET /db_schema_status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// `is_up_to_date`.
    pub up_to_date: Option<bool>,
    /// `current_version`.
    pub version: Option<String>,
    /// `unapplied_migrations`.
    pub unapplied: Vec<String>,
}

/// What the migration function reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Schema status before the upgrade.
    pub before: SchemaStatus,
    /// The upgrade call's answer, verbatim.
    pub upgrade: String,
    /// Schema status after.
    pub after: SchemaStatus,
}

/// Invoke the stack's migration function and read its report.
pub async fn invoke_migration(aws: &Aws, function: &str) -> Result<MigrationReport, Error> {
    let out = aws
        .lambda()
        .invoke()
        .function_name(function)
        .payload(Blob::new(b"{}".to_vec()))
        .send()
        .await
        .map_err(|e| Error::from_sdk("Invoke", e))?;
    let payload = out.payload().map(|b| b.as_ref()).unwrap_or_default();
    parse_migration(payload, out.function_error())
}

/// Read the migration function's answer: `{"init-status": {...}, "upgrade-result": "...",
/// "final-status": {...}}` (the keys of the reference template's function).
pub fn parse_migration(
    payload: &[u8],
    function_error: Option<&str>,
) -> Result<MigrationReport, Error> {
    let text = String::from_utf8_lossy(payload);
    if let Some(kind) = function_error {
        let msg = serde_json::from_slice::<Value>(payload)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| text.to_string());
        return Err(Error::Migration(format!("{kind}: {msg}")));
    }
    let v: Value = serde_json::from_slice(payload).map_err(|_| {
        Error::Migration(format!(
            "unexpected answer: {}",
            text.chars().take(200).collect::<String>()
        ))
    })?;
    let status = |key: &str| -> Result<SchemaStatus, Error> {
        let s = v
            .get(key)
            .ok_or_else(|| Error::Migration(format!("answer has no {key:?}: {text}")))?;
        // The status may arrive as an object or as its JSON text.
        let s = match s {
            Value::String(t) => serde_json::from_str(t).unwrap_or(Value::Null),
            other => other.clone(),
        };
        Ok(SchemaStatus {
            up_to_date: s.get("is_up_to_date").and_then(Value::as_bool),
            version: s.get("current_version").map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            }),
            unapplied: s
                .get("unapplied_migrations")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|m| {
                            m.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| m.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    };
    Ok(MigrationReport {
        before: status("init-status")?,
        upgrade: match v.get("upgrade-result") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        after: status("final-status")?,
    })
}

/// A resource as listed by the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    /// Logical id.
    pub logical_id: String,
    /// Physical id (bucket name, log group name, …).
    pub physical_id: String,
    /// Resource type.
    pub resource_type: String,
}

/// What survives a stack deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// `DeletionPolicy: Retain` (or RetainExceptOnCreate): the resource stays as it is.
    Retained,
    /// `DeletionPolicy: Snapshot` (the default for a DB instance): deleted after a final snapshot.
    Snapshot,
}

/// Whether deletion protection on the stack's DB instances stands in the way of DeleteStack.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeletionProtection {
    /// Nothing to lift: the stack is deleted straight away.
    #[default]
    Off,
    /// On through this template parameter (currently `"true"`); `destroy` first updates the stack
    /// with it set to `"false"`.
    Parameter(String),
    /// Written into the template as `true` (by an older mfstack) on these logical ids: no parameter
    /// lifts it, so CloudFormation will fail to delete them.
    Fixed(Vec<String>),
}

/// What `destroy` would delete and what it would leave.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DestroyPlan {
    /// Stack id.
    pub stack_id: String,
    /// Deleted with the stack.
    pub deleted: Vec<StackResource>,
    /// Left behind, and how.
    pub kept: Vec<(StackResource, Kept)>,
    /// The stack's parameter keys and current values.
    pub parameters: Vec<(String, String)>,
    /// What has to happen before the database can be deleted.
    pub protection: DeletionProtection,
}

impl DestroyPlan {
    /// Buckets that stay after the stack is gone.
    pub fn retained_buckets(&self) -> impl Iterator<Item = &StackResource> {
        self.kept
            .iter()
            .filter(|(r, k)| *k == Kept::Retained && r.resource_type == "AWS::S3::Bucket")
            .map(|(r, _)| r)
    }
}

/// Split `resources` by the template's deletion policies.
pub fn classify(template: &Value, resources: Vec<StackResource>) -> DestroyPlan {
    let mut plan = DestroyPlan::default();
    for r in resources {
        let policy = template
            .get("Resources")
            .and_then(|rs| rs.get(&r.logical_id))
            .and_then(|d| d.get("DeletionPolicy"))
            .and_then(Value::as_str);
        let kept = match policy {
            Some("Retain" | "RetainExceptOnCreate") => Some(Kept::Retained),
            Some("Snapshot") => Some(Kept::Snapshot),
            Some(_) => None,
            // CloudFormation snapshots a standalone DB instance unless told otherwise.
            None if r.resource_type == "AWS::RDS::DBInstance" => Some(Kept::Snapshot),
            None => None,
        };
        match kept {
            Some(k) => plan.kept.push((r, k)),
            None => plan.deleted.push(r),
        }
    }
    plan
}

/// Decide how deletion protection on the stack's DB instances is lifted, from the template's
/// `DeletionProtection` properties, the stack's parameter values and the resources it holds.
pub fn deletion_protection(
    template: &Value,
    parameters: &[(String, String)],
    resources: &[StackResource],
) -> DeletionProtection {
    let mut via = None;
    let mut fixed = Vec::new();
    for r in resources
        .iter()
        .filter(|r| r.resource_type == "AWS::RDS::DBInstance")
    {
        let setting = template
            .get("Resources")
            .and_then(|rs| rs.get(&r.logical_id))
            .and_then(|d| d.get("Properties"))
            .and_then(|p| p.get("DeletionProtection"));
        match setting {
            Some(Value::Bool(true)) => fixed.push(r.logical_id.clone()),
            Some(Value::String(s)) if s == "true" => fixed.push(r.logical_id.clone()),
            Some(Value::Object(m)) => {
                let Some(Value::String(name)) = m.get("Ref") else {
                    continue;
                };
                let on = parameters.iter().any(|(k, v)| k == name && v == "true");
                if on && via.is_none() {
                    via = Some(name.clone());
                }
            }
            _ => {}
        }
    }
    // A fixed protection fails the delete whatever the update does, so it is what to report.
    if !fixed.is_empty() {
        DeletionProtection::Fixed(fixed)
    } else if let Some(name) = via {
        DeletionProtection::Parameter(name)
    } else {
        DeletionProtection::Off
    }
}

/// Read the stack's resources and template and say what a delete would do.
pub async fn destroy_plan(aws: &Aws, stack: &str) -> Result<DestroyPlan, Error> {
    let cf = aws.cloudformation();
    let Some(s) = describe_stack(aws, stack).await? else {
        return Err(Error::StackNotFound(stack.to_string()));
    };
    let stack_id = s.stack_id().unwrap_or(stack).to_string();
    let body = cf
        .get_template()
        .stack_name(&stack_id)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| Error::from_sdk("GetTemplate", e))?
        .template_body()
        .unwrap_or_default()
        .to_string();
    // mfstack deploys JSON; an unparsable (YAML) template just means no policies are known.
    let template: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut resources = Vec::new();
    let mut token = None;
    loop {
        let page = cf
            .list_stack_resources()
            .stack_name(&stack_id)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| Error::from_sdk("ListStackResources", e))?;
        for r in page.stack_resource_summaries() {
            resources.push(StackResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let parameters: Vec<(String, String)> = s
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_string(),
                p.parameter_value().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    let protection = deletion_protection(&template, &parameters, &resources);
    let mut plan = classify(&template, resources);
    plan.stack_id = stack_id;
    plan.parameters = parameters;
    plan.protection = protection;
    Ok(plan)
}

/// What `destroy` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestroyReport {
    /// Final stack status (DELETE_COMPLETE on success).
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
    let status = wait_until_complete(aws, &plan.stack_id, total, poll, None, ui).await?;
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
        .set_capabilities(Some(
            CAPABILITIES.iter().map(|c| Capability::from(*c)).collect(),
        ))
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

/// A stack's state at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct StackState {
    /// Status as CloudFormation spells it.
    pub status: String,
    /// Its phase.
    pub phase: Phase,
    /// Status reason, if any.
    pub reason: Option<String>,
    /// Last change (creation or update), RFC 3339.
    pub updated: Option<String>,
    /// Number of outputs.
    pub outputs: usize,
    /// Resources that failed in the latest operation, from the stack's resource list.
    pub failed: Vec<RootCause>,
}

/// Wait for `stack_id` to settle and return its final status; anything but a completed operation is
/// a failure with its causes.
async fn wait_until_complete(
    aws: &Aws,
    stack_id: &str,
    total: usize,
    poll: std::time::Duration,
    since: Option<aws_smithy_types::DateTime>,
    ui: &mut dyn DeployUi,
) -> Result<String, Error> {
    let end = wait_for_stack(aws, stack_id, total, poll, since, ui).await?;
    if phase(AnyStatus::Stack(&end.status)) != Phase::Complete {
        return Err(Error::DeployFailed {
            stack: stack_id.to_string(),
            status: end.status.as_str().into(),
            causes: end.causes,
        });
    }
    Ok(end.status.as_str().to_string())
}

/// Status of `stack`, or `None` when it does not exist.
pub async fn status(aws: &Aws, stack: &str) -> Result<Option<StackState>, Error> {
    let Some(s) = describe_stack(aws, stack).await? else {
        return Ok(None);
    };
    let st = s
        .stack_status()
        .cloned()
        .unwrap_or(aws_sdk_cloudformation::types::StackStatus::from("UNKNOWN"));
    let updated = s
        .last_updated_time()
        .or(s.creation_time())
        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok());
    let resources = match aws
        .cloudformation()
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
    {
        Ok(r) => r.stack_resources().to_vec(),
        // The resource list only adds failure reasons; a server-side fault there (moto cannot list
        // some resource types) should not hide the stack's own status.
        Err(e)
            if e.raw_response()
                .is_some_and(|r| r.status().is_server_error()) =>
        {
            Vec::new()
        }
        Err(e) => return Err(Error::from_sdk("DescribeStackResources", e)),
    };
    let failed = resources
        .iter()
        .filter(|r| {
            r.resource_status()
                .is_some_and(|x| phase(AnyStatus::Resource(x)) == Phase::Failed)
        })
        .map(|r| RootCause {
            stack_name: stack.to_string(),
            logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
            resource_type: r.resource_type().unwrap_or_default().to_string(),
            reason: r.resource_status_reason().unwrap_or_default().to_string(),
        })
        .collect();
    Ok(Some(StackState {
        status: st.as_str().to_string(),
        phase: phase(AnyStatus::Stack(&st)),
        reason: s.stack_status_reason().map(str::to_string),
        updated,
        outputs: s.outputs().len(),
        failed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn principals_merge_into_the_existing_statement() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/task"}, "Action": "sts:AssumeRole"}
        ]});
        let (doc, change) = with_principals(
            doc,
            &[
                "arn:aws:iam::1:role/task".into(),
                "arn:aws:iam::2:user/ana".into(),
            ],
        );
        assert_eq!(change.added, ["arn:aws:iam::2:user/ana"]);
        assert_eq!(change.present, ["arn:aws:iam::1:role/task"]);
        assert_eq!(
            doc["Statement"][0]["Principal"]["AWS"],
            json!(["arn:aws:iam::1:role/task", "arn:aws:iam::2:user/ana"])
        );
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn service_only_trust_gets_a_new_statement() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let (doc, change) = with_principals(doc, &["123456789012".into()]);
        assert_eq!(change.added.len(), 1);
        assert_eq!(
            doc["Statement"][1],
            json!({"Effect": "Allow", "Principal": {"AWS": ["123456789012"]}, "Action": "sts:AssumeRole"})
        );
        assert_eq!(
            role_name("arn:aws:iam::1:role/path/MetaflowUserRole"),
            "MetaflowUserRole"
        );
    }

    #[test]
    fn migration_answer_is_read_before_and_after() {
        let payload = br#"{"init-status": {"is_up_to_date": false, "current_version": "1", "unapplied_migrations": ["2_add_tags.sql"]},
                           "upgrade-result": "upgraded", "final-status": "{\"is_up_to_date\": true, \"current_version\": \"2\", \"unapplied_migrations\": []}"}"#;
        let r = parse_migration(payload, None).unwrap();
        assert_eq!(
            r.before,
            SchemaStatus {
                up_to_date: Some(false),
                version: Some("1".into()),
                unapplied: vec!["2_add_tags.sql".into()]
            }
        );
        assert_eq!(r.after.up_to_date, Some(true));
        assert_eq!(r.after.version.as_deref(), Some("2"));
        assert_eq!(r.upgrade, "upgraded");
    }

    #[test]
    fn migration_errors_carry_the_function_message() {
        let e = parse_migration(
            br#"{"errorMessage": "connection refused", "errorType": "URLError"}"#,
            Some("Unhandled"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the migration function failed: Unhandled: connection refused"
        );
        assert!(matches!(
            parse_migration(b"Simple Lambda happy path OK", None),
            Err(Error::Migration(_))
        ));
    }

    fn db(logical: &str) -> StackResource {
        StackResource {
            logical_id: logical.into(),
            physical_id: format!("p-{logical}"),
            resource_type: "AWS::RDS::DBInstance".into(),
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn protected_database_is_unprotected_before_the_delete() {
        let template = json!({"Resources": {"Db": {"Type": "AWS::RDS::DBInstance",
            "Properties": {"DeletionProtection": {"Ref": "DatabaseDeletionProtection"}}}}});
        let on = params(&[
            ("EnableUI", "false"),
            ("DatabaseDeletionProtection", "true"),
        ]);
        assert_eq!(
            deletion_protection(&template, &on, &[db("Db")]),
            DeletionProtection::Parameter("DatabaseDeletionProtection".into())
        );
        // Straight delete: protection off, parameter absent (older stack), or no instance left.
        let off = params(&[("DatabaseDeletionProtection", "false")]);
        assert_eq!(
            deletion_protection(&template, &off, &[db("Db")]),
            DeletionProtection::Off
        );
        assert_eq!(
            deletion_protection(&template, &params(&[("EnableUI", "false")]), &[db("Db")]),
            DeletionProtection::Off
        );
        assert_eq!(
            deletion_protection(&template, &on, &[]),
            DeletionProtection::Off
        );
        let unset =
            json!({"Resources": {"Db": {"Type": "AWS::RDS::DBInstance", "Properties": {}}}});
        assert_eq!(
            deletion_protection(&unset, &on, &[db("Db")]),
            DeletionProtection::Off
        );
        // Written into the template: no parameter can lift it.
        let fixed = json!({"Resources": {"Db": {"Type": "AWS::RDS::DBInstance",
            "Properties": {"DeletionProtection": true}}}});
        assert_eq!(
            deletion_protection(&fixed, &on, &[db("Db")]),
            DeletionProtection::Fixed(vec!["Db".into()])
        );
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

    #[test]
    fn destroy_plan_follows_deletion_policies() {
        let template = json!({"Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Db": {"Type": "AWS::RDS::DBInstance"},
            "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
            "Vpc": {"Type": "AWS::EC2::VPC"}
        }});
        let r = |l: &str, t: &str| StackResource {
            logical_id: l.into(),
            physical_id: format!("p-{l}"),
            resource_type: t.into(),
        };
        let plan = classify(
            &template,
            vec![
                r("Bucket", "AWS::S3::Bucket"),
                r("Db", "AWS::RDS::DBInstance"),
                r("Logs", "AWS::Logs::LogGroup"),
                r("Vpc", "AWS::EC2::VPC"),
            ],
        );
        assert_eq!(
            plan.deleted
                .iter()
                .map(|r| r.logical_id.as_str())
                .collect::<Vec<_>>(),
            ["Vpc"]
        );
        assert_eq!(
            plan.kept
                .iter()
                .map(|(r, k)| (r.logical_id.as_str(), *k))
                .collect::<Vec<_>>(),
            [
                ("Bucket", Kept::Retained),
                ("Db", Kept::Snapshot),
                ("Logs", Kept::Retained)
            ]
        );
        assert_eq!(
            plan.retained_buckets()
                .map(|b| b.physical_id.as_str())
                .collect::<Vec<_>>(),
            ["p-Bucket"]
        );
    }
}
