//! Change set → preview → confirm → execute → wait, as `rain deploy` does it, with events out.

use std::time::Duration;

use aws_sdk_cloudformation::types::{Stack, StackStatus};

use crate::aws::Aws;
use crate::change_set::{self, ChangeSet, Computed};
use crate::database::{self, Database};
use crate::error::Error;
use crate::events::{AnyStatus, Decision, DeployEvent, DeployUi, Phase, PreviewRow, phase};
use crate::package::{Artifacts, INLINE_TEMPLATE_LIMIT};
use crate::replacement::guard::{DataGuard, DataLoss};
use crate::stack::{describe_stack, wait_for_stack};

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
    pub stack_name: String,
    /// The root template.
    pub template: TemplateSource,
    /// Parameter values to set; on update, other parameters keep their previous values.
    pub parameters: Vec<(String, String)>,
    /// How often to poll CloudFormation while waiting.
    pub poll_interval: Duration,
    /// What stops an update that would replace or delete data.
    pub guard: DataGuard,
    /// A database snapshot to take once the change set is confirmed and before it runs, as
    /// (database, snapshot id): the way back from an upgrade.
    pub snapshot_first: Option<(Database, String)>,
}

impl DeployRequest {
    /// A request with no parameters and a 5-second poll.
    pub fn new(stack_name: impl Into<String>, template: TemplateSource) -> Self {
        Self {
            stack_name: stack_name.into(),
            template,
            parameters: Vec::new(),
            poll_interval: Duration::from_secs(5),
            guard: DataGuard::default(),
            snapshot_first: None,
        }
    }
}

/// How a deploy ended, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum DeployOutcome {
    /// The stack reached `status` (CREATE_COMPLETE or UPDATE_COMPLETE).
    Deployed {
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

/// Create or update `req.stack_name` through a change set, asking `ui` before executing.
pub async fn deploy(
    aws: &Aws,
    req: &DeployRequest,
    ui: &mut dyn DeployUi,
) -> Result<DeployOutcome, Error> {
    let cf = aws.cloudformation();
    let existing = describe_stack(aws, &req.stack_name).await?;
    let create = create_or_update(aws, req, existing.as_ref(), ui).await?;
    if !create {
        let losses = req.guard.before_change_set();
        if !losses.is_empty() {
            return Err(refused(req, losses));
        }
    }
    let parameters =
        change_set::parameters(aws, req, existing.as_ref().filter(|_| !create)).await?;
    let name = change_set::change_set_name();
    ui.event(&DeployEvent::ChangeSetCreating {
        name: name.clone(),
        create,
    });
    let Some(set) = change_set::create(&cf, req, &name, create, parameters).await? else {
        ui.event(&DeployEvent::NoChanges);
        return Ok(DeployOutcome::NoChanges);
    };
    let Some(Computed { rows, cut }) = set.computed(&cf, req.poll_interval).await? else {
        ui.event(&DeployEvent::NoChanges);
        return Ok(DeployOutcome::NoChanges);
    };
    let losses = req.guard.in_change_set(&rows);
    if !losses.is_empty() {
        ui.event(&DeployEvent::Preview(rows));
        set.discard(&cf).await;
        return Err(refused(req, losses));
    }
    if !confirm(&rows, ui) {
        set.discard(&cf).await;
        return Ok(DeployOutcome::Declined);
    }
    if let Some((db, id)) = &req.snapshot_first {
        ui.event(&DeployEvent::Snapshot {
            id: id.clone(),
            done: false,
        });
        if let Err(e) = database::snapshot(aws, db, id, req.poll_interval).await {
            set.discard(&cf).await;
            return Err(e);
        }
        ui.event(&DeployEvent::Snapshot {
            id: id.clone(),
            done: true,
        });
    }
    execute(aws, req, &set, rows.len(), cut, ui).await
}

/// A refusal to destroy data: a deploy stops on it whatever the confirmation, `--yes` included,
/// unless [`DataGuard::allow_data_replacement`] is set.
fn refused(req: &DeployRequest, losses: Vec<DataLoss>) -> Error {
    Error::WouldDestroyData {
        stack: req.stack_name.clone(),
        losses,
    }
}

/// Whether the change set creates the stack (true) or updates it, after refusing a busy or stuck
/// stack and, if the user agrees, deleting one whose first create rolled back.
async fn create_or_update(
    aws: &Aws,
    req: &DeployRequest,
    existing: Option<&Stack>,
    ui: &mut dyn DeployUi,
) -> Result<bool, Error> {
    let name = req.stack_name.as_str();
    let status = existing.and_then(|s| s.stack_status()).cloned();
    if let Some(s) = &status {
        ui.event(&DeployEvent::ExistingStack { status: s.clone() });
    }
    match plan_for(status.as_ref()) {
        Plan::Create => Ok(true),
        Plan::Update => Ok(false),
        Plan::Busy(s) => Err(Error::StackBusy {
            stack: name.into(),
            status: s.as_str().into(),
        }),
        Plan::Stuck(s) => Err(Error::StackStuck {
            stack: name.into(),
            status: s.as_str().into(),
        }),
        Plan::OfferRecreate => {
            if !ui.decide(&Decision::RecreateRolledBackStack { stack: name.into() }) {
                return Err(Error::StackStuck {
                    stack: name.into(),
                    status: StackStatus::RollbackComplete.as_str().into(),
                });
            }
            let id = existing.and_then(|s| s.stack_id()).unwrap_or(name);
            delete_rolled_back(aws, req, id, ui).await?;
            Ok(true)
        }
    }
}

/// Delete a stack left in ROLLBACK_COMPLETE, so that it can be created again.
async fn delete_rolled_back(
    aws: &Aws,
    req: &DeployRequest,
    stack_id: &str,
    ui: &mut dyn DeployUi,
) -> Result<(), Error> {
    ui.event(&DeployEvent::DeletingEmptyStack);
    aws.cloudformation()
        .delete_stack()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DeleteStack", e))?;
    let end = wait_for_stack(aws, stack_id, 0, req.poll_interval, None, ui).await?;
    end.completed(&req.stack_name)?;
    Ok(())
}

/// Show the preview and the IAM capabilities it needs, then ask whether to execute.
fn confirm(rows: &[PreviewRow], ui: &mut dyn DeployUi) -> bool {
    ui.event(&DeployEvent::Preview(rows.to_vec()));
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
    ui.decide(&Decision::ExecuteChangeSet {
        changes: rows.len(),
    })
}

/// Execute the change set and follow the stack until it settles.
async fn execute(
    aws: &Aws,
    req: &DeployRequest,
    set: &ChangeSet,
    expected: usize,
    cut: Option<aws_smithy_types::DateTime>,
    ui: &mut dyn DeployUi,
) -> Result<DeployOutcome, Error> {
    set.execute(&aws.cloudformation()).await?;
    ui.event(&DeployEvent::Executing);
    let end = wait_for_stack(aws, &set.stack_id, expected, req.poll_interval, cut, ui).await?;
    let status = end.completed(&req.stack_name)?;
    Ok(DeployOutcome::Deployed {
        status,
        created: set.create,
    })
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
}
