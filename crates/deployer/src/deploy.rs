//! Change set → preview → confirm → execute → wait, as `rain deploy` does it, with events out.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, Stack, StackStatus,
};
use aws_smithy_types::DateTime;

use crate::aws::Aws;
use crate::error::Error;
use crate::events::{AnyStatus, Decision, DeployEvent, DeployUi, Phase, PreviewRow, phase};
use crate::package::{Artifacts, INLINE_TEMPLATE_LIMIT};
use crate::progress::{Tracker, is_no_change};

/// How the root template reaches CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// Inline `TemplateBody` (at most [`INLINE_TEMPLATE_LIMIT`] bytes).
    Body(String),
    /// `TemplateURL` of an uploaded template.
    Url(String),
}

impl TemplateSource {
    /// Inline when small enough, else uploaded to `artifacts` and passed by URL.
    pub async fn prepare(
        template: String,
        artifacts: &Artifacts,
        ui: &mut dyn DeployUi,
    ) -> Result<Self, Error> {
        if template.len() <= INLINE_TEMPLATE_LIMIT {
            return Ok(Self::Body(template));
        }
        let up = artifacts
            .put("root template", template.as_bytes(), "template", ui)
            .await?;
        Ok(Self::Url(up.url))
    }
}

/// What to deploy and how.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    /// Stack name.
    pub stack_name: String,
    /// The root template.
    pub template: TemplateSource,
    /// Parameter values to set; on update, other parameters keep their previous values.
    pub parameters: Vec<(String, String)>,
    /// How often to poll CloudFormation while waiting.
    pub poll_interval: Duration,
}

impl DeployRequest {
    /// A request with no parameters and a 5-second poll.
    pub fn new(stack_name: impl Into<String>, template: TemplateSource) -> Self {
        Self {
            stack_name: stack_name.into(),
            template,
            parameters: Vec::new(),
            poll_interval: Duration::from_secs(5),
        }
    }
}

/// How a deploy ended, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum DeployOutcome {
    /// The stack reached `status` (CREATE_COMPLETE or UPDATE_COMPLETE).
    Deployed {
        /// Final status.
        status: StackStatus,
        /// True for a new stack.
        created: bool,
    },
    /// CloudFormation found nothing to change.
    NoChanges,
    /// The user declined to execute the change set; it was deleted.
    Declined,
}

/// The capabilities every deploy passes. The template creates IAM roles (CAPABILITY_IAM) and may
/// name them (CAPABILITY_NAMED_IAM); without them CloudFormation refuses the change set.
pub const CAPABILITIES: [&str; 2] = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"];

/// What to do about a stack that may already exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Create it (absent, or REVIEW_IN_PROGRESS: an unexecuted first change set).
    Create,
    /// Update it.
    Update,
    /// Its first create failed and rolled back; it can only be deleted and created again.
    OfferRecreate,
    /// An operation is running; refuse.
    Busy(StackStatus),
    /// Failed in a way that needs a person (e.g. UPDATE_ROLLBACK_FAILED, DELETE_FAILED); refuse.
    Stuck(StackStatus),
}

/// Decide create/update/refuse from the current status (`None` when the stack does not exist).
pub fn plan_for(status: Option<&StackStatus>) -> Plan {
    let Some(status) = status else {
        return Plan::Create;
    };
    match status {
        StackStatus::ReviewInProgress | StackStatus::DeleteComplete => Plan::Create,
        StackStatus::RollbackComplete => Plan::OfferRecreate,
        s => match phase(AnyStatus::Stack(s)) {
            Phase::Complete | Phase::RolledBack => Plan::Update,
            Phase::InProgress | Phase::RollingBack => Plan::Busy(s.clone()),
            _ => Plan::Stuck(s.clone()),
        },
    }
}

/// The stack named `name`, or `None` if it does not exist.
pub async fn describe_stack(aws: &Aws, name: &str) -> Result<Option<Stack>, Error> {
    match aws
        .cloudformation()
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(e) => match Error::from_sdk("DescribeStacks", e) {
            Error::StackNotFound(_) => Ok(None),
            other => Err(other),
        },
    }
}

/// Create or update `req.stack_name` through a change set, asking `ui` before executing.
pub async fn deploy(
    aws: &Aws,
    req: &DeployRequest,
    ui: &mut dyn DeployUi,
) -> Result<DeployOutcome, Error> {
    let cf = aws.cloudformation();
    let name = req.stack_name.as_str();
    let existing = describe_stack(aws, name).await?;
    let status = existing.as_ref().and_then(|s| s.stack_status()).cloned();
    if let Some(s) = &status {
        ui.event(&DeployEvent::ExistingStack { status: s.clone() });
    }
    let create = match plan_for(status.as_ref()) {
        Plan::Create => true,
        Plan::Update => false,
        Plan::Busy(s) => {
            return Err(Error::StackBusy {
                stack: name.into(),
                status: s.as_str().into(),
            });
        }
        Plan::Stuck(s) => {
            return Err(Error::StackStuck {
                stack: name.into(),
                status: s.as_str().into(),
            });
        }
        Plan::OfferRecreate => {
            if !ui.decide(&Decision::RecreateRolledBackStack { stack: name.into() }) {
                return Err(Error::StackStuck {
                    stack: name.into(),
                    status: "ROLLBACK_COMPLETE".into(),
                });
            }
            ui.event(&DeployEvent::DeletingEmptyStack);
            let id = existing
                .as_ref()
                .and_then(|s| s.stack_id())
                .unwrap_or(name)
                .to_string();
            cf.delete_stack()
                .stack_name(&id)
                .send()
                .await
                .map_err(|e| Error::from_sdk("DeleteStack", e))?;
            let end = wait_for_stack(aws, &id, 0, req.poll_interval, None, ui).await?;
            if phase(AnyStatus::Stack(&end.status)) != Phase::Complete {
                return Err(Error::DeployFailed {
                    stack: name.into(),
                    status: end.status.as_str().into(),
                    causes: end.causes,
                });
            }
            true
        }
    };

    let parameters = parameters(aws, req, existing.as_ref().filter(|_| !create)).await?;
    let cs_name = format!(
        "mfstack-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    );
    ui.event(&DeployEvent::ChangeSetCreating {
        name: cs_name.clone(),
        create,
    });
    let mut call = cf
        .create_change_set()
        .stack_name(name)
        .change_set_name(&cs_name)
        .change_set_type(if create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .description("Created by mfstack deploy")
        .set_parameters(Some(parameters))
        .set_capabilities(Some(
            CAPABILITIES.iter().map(|c| Capability::from(*c)).collect(),
        ));
    call = match &req.template {
        TemplateSource::Body(b) => call.template_body(b),
        TemplateSource::Url(u) => call.template_url(u),
    };
    let created = match call.send().await {
        Ok(created) => created,
        // Some endpoints refuse an empty update at CreateChangeSet instead of failing the change set.
        Err(e) if e.message().is_some_and(is_no_change) => {
            ui.event(&DeployEvent::NoChanges);
            return Ok(DeployOutcome::NoChanges);
        }
        Err(e) => {
            return Err(match e.code() {
                Some("ValidationError" | "InsufficientCapabilitiesException") => {
                    Error::TemplateRejected(e.message().unwrap_or_default().to_string())
                }
                _ => Error::from_sdk("CreateChangeSet", e),
            });
        }
    };
    let cs_id = created.id().unwrap_or(&cs_name).to_string();
    let stack_id = created.stack_id().unwrap_or(name).to_string();

    // Wait for the change set, collecting its rows.
    let (rows, cut) = loop {
        let first = cf
            .describe_change_set()
            .change_set_name(&cs_id)
            .stack_name(&stack_id)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeChangeSet", e))?;
        match first.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                let cut = first.creation_time().copied();
                let mut rows = preview_rows(first.changes());
                let mut token = first.next_token().map(str::to_string);
                while let Some(t) = token {
                    let page = cf
                        .describe_change_set()
                        .change_set_name(&cs_id)
                        .stack_name(&stack_id)
                        .next_token(t)
                        .send()
                        .await
                        .map_err(|e| Error::from_sdk("DescribeChangeSet", e))?;
                    rows.extend(preview_rows(page.changes()));
                    token = page.next_token().map(str::to_string);
                }
                break (rows, cut);
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = first.status_reason().unwrap_or_default().to_string();
                if is_no_change(&reason) {
                    // Keep nothing behind: an empty change set only clutters the console.
                    let _ = cf
                        .delete_change_set()
                        .change_set_name(&cs_id)
                        .stack_name(&stack_id)
                        .send()
                        .await;
                    ui.event(&DeployEvent::NoChanges);
                    return Ok(DeployOutcome::NoChanges);
                }
                return Err(Error::TemplateRejected(reason));
            }
            _ => tokio::time::sleep(req.poll_interval).await,
        }
    };

    ui.event(&DeployEvent::Preview(rows.clone()));
    let iam: Vec<String> = rows
        .iter()
        .filter(|r| r.resource_type.starts_with("AWS::IAM::") && r.action != "Remove")
        .map(|r| format!("{} ({})", r.logical_id, r.resource_type))
        .collect();
    if !iam.is_empty() {
        ui.event(&DeployEvent::Capabilities {
            capabilities: CAPABILITIES.map(String::from).to_vec(),
            because: iam,
        });
    }
    if !ui.decide(&Decision::ExecuteChangeSet {
        changes: rows.len(),
    }) {
        let _ = cf
            .delete_change_set()
            .change_set_name(&cs_id)
            .stack_name(&stack_id)
            .send()
            .await;
        if create {
            // A declined first change set leaves an empty REVIEW_IN_PROGRESS stack; remove it too.
            let _ = cf.delete_stack().stack_name(&stack_id).send().await;
        }
        return Ok(DeployOutcome::Declined);
    }

    cf.execute_change_set()
        .change_set_name(&cs_id)
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| Error::from_sdk("ExecuteChangeSet", e))?;
    ui.event(&DeployEvent::Executing);
    let end = wait_for_stack(aws, &stack_id, rows.len(), req.poll_interval, cut, ui).await?;
    if phase(AnyStatus::Stack(&end.status)) == Phase::Complete {
        Ok(DeployOutcome::Deployed {
            status: end.status,
            created: create,
        })
    } else {
        Err(Error::DeployFailed {
            stack: name.into(),
            status: end.status.as_str().into(),
            causes: end.causes,
        })
    }
}

/// Explicit values, plus UsePreviousValue for parameters the stack already has and the caller left
/// alone (on CREATE there is nothing previous, so template defaults apply).
async fn parameters(
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

fn preview_rows(changes: &[aws_sdk_cloudformation::types::Change]) -> Vec<PreviewRow> {
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

/// The end of a stack operation.
#[derive(Debug, Clone)]
pub struct StackEnd {
    /// Final status.
    pub status: StackStatus,
    /// Root causes, when it failed.
    pub causes: Vec<crate::events::RootCause>,
}

/// Poll `stack_id` (and its nested stacks) until its status is terminal, emitting resource events
/// and progress. Events older than `cut` (server time) belong to earlier operations and are skipped.
pub(crate) async fn wait_for_stack(
    aws: &Aws,
    stack_id: &str,
    expected: usize,
    poll: Duration,
    cut: Option<DateTime>,
    ui: &mut dyn DeployUi,
) -> Result<StackEnd, Error> {
    let cf = aws.cloudformation();
    let started = Instant::now();
    let mut tracker = Tracker::new(stack_id, expected);
    let cut = match cut {
        Some(c) => c,
        // Deletes have no change set; take the newest existing event as the boundary.
        None => newest_event_time(&cf, stack_id)
            .await?
            .unwrap_or(DateTime::from_secs(0)),
    };
    loop {
        let stack = cf
            .describe_stacks()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeStacks", e))?;
        let stack = stack.stacks().first().cloned();
        let mut ids = vec![stack_id.to_string()];
        ids.extend(tracker.nested_stack_ids());
        for id in ids {
            let events = recent_events(&cf, &id, cut).await?;
            for e in tracker.apply(events) {
                ui.event(&DeployEvent::Resource(e));
            }
        }
        let status = stack.as_ref().and_then(|s| s.stack_status()).cloned();
        let status = status.unwrap_or(StackStatus::DeleteComplete);
        let p = phase(AnyStatus::Stack(&status));
        let mut progress = tracker.progress(started.elapsed());
        if p == Phase::Complete {
            // A complete stack has finished every resource, whether or not each sent an event.
            progress.done = progress.total;
            progress.in_progress.clear();
        }
        ui.event(&DeployEvent::Progress(progress));
        if p.is_terminal() {
            ui.event(&DeployEvent::Finished {
                status: status.clone(),
                phase: p,
            });
            let mut causes = if p == Phase::Complete {
                Vec::new()
            } else {
                tracker.root_causes()
            };
            if causes.is_empty()
                && p != Phase::Complete
                && let Some(reason) = stack.as_ref().and_then(|s| s.stack_status_reason())
            {
                causes.push(crate::events::RootCause {
                    stack_name: stack
                        .as_ref()
                        .and_then(|s| s.stack_name())
                        .unwrap_or_default()
                        .into(),
                    logical_id: String::new(),
                    resource_type: "AWS::CloudFormation::Stack".into(),
                    reason: reason.into(),
                });
            }
            return Ok(StackEnd { status, causes });
        }
        tokio::time::sleep(poll).await;
    }
}

pub(crate) async fn newest_event_time(
    cf: &Client,
    stack_id: &str,
) -> Result<Option<DateTime>, Error> {
    let out = cf
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DescribeStackEvents", e))?;
    Ok(out
        .stack_events()
        .iter()
        .filter_map(|e| e.timestamp().copied())
        .max_by_key(|t| (t.secs(), t.subsec_nanos())))
}

/// Events at or after `cut`, reading newest-first pages until older ones appear.
async fn recent_events(
    cf: &Client,
    stack_id: &str,
    cut: DateTime,
) -> Result<Vec<aws_sdk_cloudformation::types::StackEvent>, Error> {
    let newer = |e: &aws_sdk_cloudformation::types::StackEvent| {
        e.timestamp()
            .is_some_and(|t| (t.secs(), t.subsec_nanos()) > (cut.secs(), cut.subsec_nanos()))
    };
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cf
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeStackEvents", e))?;
        let events = page.stack_events();
        let all_new = events.iter().all(newer);
        out.extend(events.iter().filter(|e| newer(e)).cloned());
        token = page.next_token().map(str::to_string);
        if !all_new || token.is_none() {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_status_decides_the_change_set_type() {
        let s = |x: &str| StackStatus::from(x);
        assert_eq!(plan_for(None), Plan::Create);
        assert_eq!(plan_for(Some(&s("REVIEW_IN_PROGRESS"))), Plan::Create);
        assert_eq!(plan_for(Some(&s("CREATE_COMPLETE"))), Plan::Update);
        assert_eq!(plan_for(Some(&s("UPDATE_ROLLBACK_COMPLETE"))), Plan::Update);
        assert_eq!(plan_for(Some(&s("ROLLBACK_COMPLETE"))), Plan::OfferRecreate);
        assert_eq!(
            plan_for(Some(&s("UPDATE_IN_PROGRESS"))),
            Plan::Busy(s("UPDATE_IN_PROGRESS"))
        );
        assert_eq!(
            plan_for(Some(&s("ROLLBACK_IN_PROGRESS"))),
            Plan::Busy(s("ROLLBACK_IN_PROGRESS"))
        );
        assert_eq!(
            plan_for(Some(&s("UPDATE_ROLLBACK_FAILED"))),
            Plan::Stuck(s("UPDATE_ROLLBACK_FAILED"))
        );
    }

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
}
