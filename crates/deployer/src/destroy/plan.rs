//! What a delete would do: which resources go, which stay (retained or snapshotted), and whether
//! deletion protection on the database has to be lifted first.

use aws_sdk_cloudformation::types::TemplateStage;
use serde_json::Value;

use crate::aws::Aws;
use crate::error::Error;
use crate::stack::describe_stack;

/// A resource as listed by the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    pub physical_id: String,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
