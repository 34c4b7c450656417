//! The change set at the heart of a deploy: created with the parameters to set or keep, waited on
//! until CloudFormation has computed it, then executed or discarded.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    Capability, Change, ChangeSetStatus, ChangeSetType, Parameter, Stack,
};
use aws_smithy_types::DateTime;

use crate::aws::Aws;
use crate::deploy::{CAPABILITIES, DeployRequest, TemplateSource};
use crate::error::Error;
use crate::events::PreviewRow;

/// A change set CloudFormation accepted.
#[derive(Debug, Clone)]
pub(crate) struct ChangeSet {
    pub id: String,
    pub stack_id: String,
    /// For a new stack, which CloudFormation holds in REVIEW_IN_PROGRESS until execution.
    pub create: bool,
}

/// A computed change set: its rows, and its creation time, before which every stack event
/// belongs to an earlier operation.
#[derive(Debug, Clone)]
pub(crate) struct Computed {
    pub rows: Vec<PreviewRow>,
    pub cut: Option<DateTime>,
}

/// Create the change set, or `None` when CloudFormation already says there is nothing to change.
pub(crate) async fn create(
    cf: &Client,
    req: &DeployRequest,
    name: &str,
    create: bool,
    parameters: Vec<Parameter>,
) -> Result<Option<ChangeSet>, Error> {
    let mut call = cf
        .create_change_set()
        .stack_name(&req.stack_name)
        .change_set_name(name)
        .change_set_type(if create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .description("Created by mfstack deploy")
        .set_parameters(Some(parameters))
        .set_capabilities(Some(capabilities()));
    call = match &req.template {
        TemplateSource::Body(b) => call.template_body(b),
        TemplateSource::Url(u) => call.template_url(u),
    };
    match call.send().await {
        Ok(created) => Ok(Some(ChangeSet {
            id: created.id().unwrap_or(name).to_string(),
            stack_id: created.stack_id().unwrap_or(&req.stack_name).to_string(),
            create,
        })),
        // Some endpoints refuse an empty update at CreateChangeSet instead of failing the change set.
        Err(e) if e.message().is_some_and(is_no_change) => Ok(None),
        Err(e) => Err(match e.code() {
            Some("ValidationError" | "InsufficientCapabilitiesException") => {
                Error::TemplateRejected(e.message().unwrap_or_default().to_string())
            }
            _ => Error::from_sdk("CreateChangeSet", e),
        }),
    }
}

/// A name unique per second, which is as often as anyone deploys one stack.
pub(crate) fn change_set_name() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!("mfstack-{secs}")
}

/// Every capability in [`CAPABILITIES`], as the SDK takes them.
pub(crate) fn capabilities() -> Vec<Capability> {
    CAPABILITIES.iter().map(|c| Capability::from(*c)).collect()
}

impl ChangeSet {
    /// Wait until CloudFormation has computed the change set. `None` means it found nothing to
    /// change; the empty change set is deleted then, since it would only clutter the console.
    pub(crate) async fn computed(
        &self,
        cf: &Client,
        poll: Duration,
    ) -> Result<Option<Computed>, Error> {
        loop {
            let first = cf
                .describe_change_set()
                .change_set_name(&self.id)
                .stack_name(&self.stack_id)
                .send()
                .await
                .map_err(|e| Error::from_sdk("DescribeChangeSet", e))?;
            match first.status() {
                Some(ChangeSetStatus::CreateComplete) => {
                    let mut rows = preview_rows(first.changes());
                    let mut token = first.next_token().map(str::to_string);
                    while let Some(t) = token {
                        let page = cf
                            .describe_change_set()
                            .change_set_name(&self.id)
                            .stack_name(&self.stack_id)
                            .next_token(t)
                            .send()
                            .await
                            .map_err(|e| Error::from_sdk("DescribeChangeSet", e))?;
                        rows.extend(preview_rows(page.changes()));
                        token = page.next_token().map(str::to_string);
                    }
                    let cut = first.creation_time().copied();
                    return Ok(Some(Computed { rows, cut }));
                }
                Some(ChangeSetStatus::Failed) => {
                    let reason = first.status_reason().unwrap_or_default();
                    if is_no_change(reason) {
                        self.delete(cf).await;
                        return Ok(None);
                    }
                    return Err(Error::TemplateRejected(reason.to_string()));
                }
                _ => tokio::time::sleep(poll).await,
            }
        }
    }

    pub(crate) async fn execute(&self, cf: &Client) -> Result<(), Error> {
        cf.execute_change_set()
            .change_set_name(&self.id)
            .stack_name(&self.stack_id)
            .send()
            .await
            .map_err(|e| Error::from_sdk("ExecuteChangeSet", e))?;
        Ok(())
    }

    /// Delete the change set and, for a first one, the empty REVIEW_IN_PROGRESS stack it made.
    /// Best effort: what is left behind costs nothing and the next deploy replaces it.
    pub(crate) async fn discard(&self, cf: &Client) {
        self.delete(cf).await;
        if self.create {
            let _ = cf.delete_stack().stack_name(&self.stack_id).send().await;
        }
    }

    async fn delete(&self, cf: &Client) {
        let _ = cf
            .delete_change_set()
            .change_set_name(&self.id)
            .stack_name(&self.stack_id)
            .send()
            .await;
    }
}

/// Whether a FAILED change set only means "nothing to do" (the aws-cli's two phrasings).
pub(crate) fn is_no_change(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// Explicit values, plus UsePreviousValue for parameters the stack already has and the caller left
/// alone (on CREATE there is nothing previous, so template defaults apply).
pub(crate) async fn parameters(
    aws: &Aws,
    req: &DeployRequest,
    existing: Option<&Stack>,
) -> Result<Vec<Parameter>, Error> {
    let mut out: Vec<Parameter> = req
        .parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect();
    let Some(stack) = existing else {
        return Ok(out);
    };
    let mut summary = aws.cloudformation().get_template_summary();
    summary = match &req.template {
        TemplateSource::Body(b) => summary.template_body(b),
        TemplateSource::Url(u) => summary.template_url(u),
    };
    let declared: Vec<String> = summary
        .send()
        .await
        .map_err(|e| Error::from_sdk("GetTemplateSummary", e))?
        .parameters()
        .iter()
        .filter_map(|p| p.parameter_key().map(str::to_string))
        .collect();
    for p in stack.parameters() {
        let Some(key) = p.parameter_key() else {
            continue;
        };
        if declared.iter().any(|d| d == key) && !req.parameters.iter().any(|(k, _)| k == key) {
            out.push(
                Parameter::builder()
                    .parameter_key(key)
                    .use_previous_value(true)
                    .build(),
            );
        }
    }
    Ok(out)
}

fn preview_rows(changes: &[Change]) -> Vec<PreviewRow> {
    changes
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|rc| PreviewRow {
            action: rc
                .action()
                .map(|a| a.as_str().to_string())
                .unwrap_or_default(),
            logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
            resource_type: rc.resource_type().unwrap_or_default().to_string(),
            replacement: rc
                .replacement()
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_rows_keep_action_and_replacement() {
        use aws_sdk_cloudformation::types::{Change, ChangeAction, Replacement, ResourceChange};
        let change = Change::builder()
            .resource_change(
                ResourceChange::builder()
                    .action(ChangeAction::Modify)
                    .logical_resource_id("Db")
                    .resource_type("AWS::RDS::DBInstance")
                    .replacement(Replacement::True)
                    .build(),
            )
            .build();
        assert_eq!(
            preview_rows(&[change]),
            [PreviewRow {
                action: "Modify".into(),
                logical_id: "Db".into(),
                resource_type: "AWS::RDS::DBInstance".into(),
                replacement: "True".into()
            }]
        );
    }

    #[test]
    fn no_change_reasons_are_recognised() {
        assert!(is_no_change(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(is_no_change("No updates are to be performed."));
        assert!(!is_no_change(
            "Template format error: Unresolved resource dependencies [X]"
        ));
    }
}
