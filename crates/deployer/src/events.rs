//! What the deployer tells its caller, and the questions it asks. The library never prints: the CLI
//! implements [`DeployUi`] and draws these however suits the terminal.

use std::time::Duration;

use aws_sdk_cloudformation::types::{ResourceStatus, StackStatus};

/// Something that happened during packaging or deployment, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum DeployEvent {
    /// The artifacts bucket is ready; `created` is true when this run created it.
    ArtifactsBucket {
        bucket: String,
        /// Whether this run created it.
        created: bool,
    },
    /// An artifact is in S3 at `url`; `uploaded` is false when an identical object was already there.
    Artifact {
        /// What the artifact is, e.g. `nested template UI`.
        name: String,
        /// Its `https://BUCKET.s3.REGION.amazonaws.com/KEY` URL.
        url: String,
        /// Size in bytes.
        bytes: usize,
        /// False when the content-addressed key already existed.
        uploaded: bool,
    },
    /// The service image's repository is ready; `created` is true when this run created it.
    ImageRepository { uri: String, created: bool },
    /// One blob of the service image: pushed, or already in the registry.
    ImageBlob {
        /// `base layer`, `binary layer` or `config`.
        what: String,
        digest: String,
        bytes: usize,
        pushed: bool,
    },
    /// The service image is in the registry, by digest.
    ImagePushed {
        /// `REPOSITORY_URI@sha256:HEX`.
        reference: String,
        tag: String,
        blobs_pushed: usize,
        /// Blobs the registry already had (all of them when the image was there).
        blobs_skipped: usize,
        bytes_pushed: usize,
        elapsed: Duration,
    },
    /// The stack exists in a state the caller may want to know about before anything changes.
    ExistingStack { status: StackStatus },
    /// A stack left in ROLLBACK_COMPLETE is being deleted so it can be created again.
    DeletingEmptyStack,
    /// Before a delete, the stack is being updated with `parameter` set to `"false"` so that
    /// CloudFormation may delete its database.
    LiftingDeletionProtection {
        /// The template parameter that turns deletion protection on.
        parameter: String,
    },
    /// A snapshot of the database is being taken before the change set runs (`done` once it is
    /// available).
    Snapshot { id: String, done: bool },
    /// The change set is being computed.
    ChangeSetCreating {
        name: String,
        /// True for a new stack, false for an update.
        create: bool,
    },
    /// The change set is ready; these are its rows.
    Preview(Vec<PreviewRow>),
    /// The template asks for IAM capabilities; the reasons are the IAM resources involved.
    Capabilities {
        capabilities: Vec<String>,
        /// IAM resources in the change set that need them, as `LogicalId (Type)`.
        because: Vec<String>,
    },
    /// CloudFormation found nothing to change. Not an error.
    NoChanges,
    /// The change set is executing.
    Executing,
    /// One new stack event, from the root stack or a nested one.
    Resource(ResourceEvent),
    /// A fresh progress snapshot, sent after each poll.
    Progress(Progress),
    /// The stack reached a final status.
    Finished { status: StackStatus, phase: Phase },
}

/// A question the deployer needs answered before it goes on.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The stack is in ROLLBACK_COMPLETE (its first create failed); delete it and create it again?
    RecreateRolledBackStack { stack: String },
    /// Execute the change set previewed just before?
    ExecuteChangeSet {
        /// Number of rows in the preview.
        changes: usize,
    },
}

/// The caller's side of a deployment: receives events, answers decisions.
pub trait DeployUi: Send {
    /// Show or record an event.
    fn event(&mut self, event: &DeployEvent);
    /// Answer a question; `false` stops the deployment without error.
    fn decide(&mut self, decision: &Decision) -> bool;
}

/// A `DeployUi` that collects events and answers every question with a fixed value.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Vec<DeployEvent>,
    pub decisions: Vec<Decision>,
    /// The answer to every question.
    pub answer: bool,
}

impl Recorder {
    /// A recorder that answers every question with `answer`.
    pub fn answering(answer: bool) -> Self {
        Self {
            answer,
            ..Self::default()
        }
    }
}

impl DeployUi for Recorder {
    fn event(&mut self, event: &DeployEvent) {
        self.events.push(event.clone());
    }
    fn decide(&mut self, decision: &Decision) -> bool {
        self.decisions.push(decision.clone());
        self.answer
    }
}

/// One row of the change-set preview, as `sam deploy` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False`, `Conditional`, or empty when not applicable.
    pub replacement: String,
}

/// One stack event, reduced to what a person reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceEvent {
    /// Name of the stack the resource belongs to (a nested stack's own name for nested resources).
    pub stack_name: String,
    /// True when the event comes from a nested stack.
    pub nested: bool,
    pub logical_id: String,
    pub resource_type: String,
    pub status: ResourceStatus,
    /// CloudFormation's reason, when it gave one.
    pub reason: Option<String>,
}

/// Where a stack or resource stands, reduced from the SDK status enums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Work is under way.
    InProgress,
    /// Finished successfully.
    Complete,
    /// Deliberately not done (DELETE_SKIPPED for retained resources).
    Skipped,
    /// Failed, and CloudFormation is undoing the operation.
    RollingBack,
    /// Failed and undone; the stack is stable but the operation did not happen.
    RolledBack,
    /// Failed and stable.
    Failed,
    /// A status this SDK version does not know.
    Unknown,
}

impl Phase {
    /// True when nothing more will happen without a new operation.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Complete | Phase::Skipped | Phase::RolledBack | Phase::Failed
        )
    }
}

/// A status from either SDK enum, so one function maps both.
#[derive(Debug, Clone, Copy)]
pub enum AnyStatus<'a> {
    /// A stack's status.
    Stack(&'a StackStatus),
    /// A resource's (or stack event's) status.
    Resource(&'a ResourceStatus),
}

/// Map an SDK status to its [`Phase`]. The one place statuses are interpreted.
pub fn phase(status: AnyStatus<'_>) -> Phase {
    use ResourceStatus as R;
    use StackStatus as S;
    match status {
        AnyStatus::Stack(s) => match s {
            S::CreateInProgress
            | S::UpdateInProgress
            | S::DeleteInProgress
            | S::ImportInProgress
            | S::ReviewInProgress
            | S::UpdateCompleteCleanupInProgress => Phase::InProgress,
            S::CreateComplete | S::UpdateComplete | S::DeleteComplete | S::ImportComplete => {
                Phase::Complete
            }
            S::RollbackInProgress
            | S::UpdateRollbackInProgress
            | S::UpdateRollbackCompleteCleanupInProgress
            | S::ImportRollbackInProgress => Phase::RollingBack,
            S::RollbackComplete | S::UpdateRollbackComplete | S::ImportRollbackComplete => {
                Phase::RolledBack
            }
            S::CreateFailed
            | S::DeleteFailed
            | S::RollbackFailed
            | S::UpdateFailed
            | S::UpdateRollbackFailed
            | S::ImportRollbackFailed => Phase::Failed,
            _ => Phase::Unknown,
        },
        AnyStatus::Resource(r) => match r {
            R::CreateInProgress
            | R::UpdateInProgress
            | R::DeleteInProgress
            | R::ImportInProgress
            | R::ExportInProgress => Phase::InProgress,
            R::CreateComplete
            | R::UpdateComplete
            | R::DeleteComplete
            | R::ImportComplete
            | R::ExportComplete => Phase::Complete,
            R::DeleteSkipped => Phase::Skipped,
            R::RollbackInProgress
            | R::UpdateRollbackInProgress
            | R::ImportRollbackInProgress
            | R::ExportRollbackInProgress => Phase::RollingBack,
            R::RollbackComplete
            | R::UpdateRollbackComplete
            | R::ImportRollbackComplete
            | R::ExportRollbackComplete => Phase::RolledBack,
            R::CreateFailed
            | R::DeleteFailed
            | R::UpdateFailed
            | R::ImportFailed
            | R::ImportRollbackFailed
            | R::RollbackFailed
            | R::UpdateRollbackFailed
            | R::ExportFailed
            | R::ExportRollbackFailed => Phase::Failed,
            _ => Phase::Unknown,
        },
    }
}

/// Progress of the running operation, root and nested stacks together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Resources that reached a final state.
    pub done: usize,
    /// Resources expected in total (change-set rows plus resources seen in nested stacks).
    pub total: usize,
    /// Logical ids in progress right now, nested ones as `Nested/LogicalId`.
    pub in_progress: Vec<String>,
    /// Nested stacks seen so far.
    pub nested_stacks: usize,
    /// Resources that failed so far.
    pub failed: usize,
    /// Time since execution started.
    pub elapsed: Duration,
}

/// A failed resource and why: what the user needs after a failed deploy, not the final status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCause {
    pub stack_name: String,
    pub logical_id: String,
    pub resource_type: String,
    /// CloudFormation's reason.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_statuses_map_to_phases() {
        let cases = [
            ("CREATE_IN_PROGRESS", Phase::InProgress),
            ("REVIEW_IN_PROGRESS", Phase::InProgress),
            ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Phase::InProgress),
            ("CREATE_COMPLETE", Phase::Complete),
            ("UPDATE_COMPLETE", Phase::Complete),
            ("ROLLBACK_IN_PROGRESS", Phase::RollingBack),
            (
                "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                Phase::RollingBack,
            ),
            ("ROLLBACK_COMPLETE", Phase::RolledBack),
            ("UPDATE_ROLLBACK_COMPLETE", Phase::RolledBack),
            ("UPDATE_ROLLBACK_FAILED", Phase::Failed),
            ("DELETE_FAILED", Phase::Failed),
            ("SOMETHING_NEW", Phase::Unknown),
        ];
        for (s, want) in cases {
            assert_eq!(phase(AnyStatus::Stack(&StackStatus::from(s))), want, "{s}");
        }
    }

    #[test]
    fn resource_statuses_map_to_phases() {
        let cases = [
            ("CREATE_IN_PROGRESS", Phase::InProgress),
            ("DELETE_COMPLETE", Phase::Complete),
            ("DELETE_SKIPPED", Phase::Skipped),
            ("CREATE_FAILED", Phase::Failed),
            ("UPDATE_ROLLBACK_IN_PROGRESS", Phase::RollingBack),
            ("ROLLBACK_COMPLETE", Phase::RolledBack),
        ];
        for (s, want) in cases {
            assert_eq!(
                phase(AnyStatus::Resource(&ResourceStatus::from(s))),
                want,
                "{s}"
            );
        }
        assert!(Phase::Skipped.is_terminal() && !Phase::RollingBack.is_terminal());
    }
}
