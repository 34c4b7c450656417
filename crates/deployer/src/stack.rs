//! One stack as CloudFormation sees it: describe it, and follow an operation on it to the end.

use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Stack, StackEvent, StackStatus};
use aws_smithy_types::DateTime;

use crate::aws::Aws;
use crate::error::Error;
use crate::events::{AnyStatus, DeployEvent, DeployUi, Phase, RootCause, phase};
use crate::tracker::Tracker;

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

/// The end of a stack operation.
#[derive(Debug, Clone)]
pub struct StackEnd {
    pub status: StackStatus,
    /// Root causes, when it failed.
    pub causes: Vec<RootCause>,
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
        // A stack that no longer describes is one whose delete finished.
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
            let causes = if p == Phase::Complete {
                Vec::new()
            } else {
                causes_of_failure(&tracker, stack.as_ref())
            };
            return Ok(StackEnd { status, causes });
        }
        tokio::time::sleep(poll).await;
    }
}

/// The tracker's root causes, or else the stack's own status reason: emulators (and some early
/// failures) send no resource events at all.
fn causes_of_failure(tracker: &Tracker, stack: Option<&Stack>) -> Vec<RootCause> {
    let causes = tracker.root_causes();
    if !causes.is_empty() {
        return causes;
    }
    let Some(reason) = stack.and_then(|s| s.stack_status_reason()) else {
        return causes;
    };
    vec![RootCause {
        stack_name: stack
            .and_then(|s| s.stack_name())
            .unwrap_or_default()
            .into(),
        logical_id: String::new(),
        resource_type: "AWS::CloudFormation::Stack".into(),
        reason: reason.into(),
    }]
}

/// The newest event's time, so that a new operation's events can be told from older ones.
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
) -> Result<Vec<StackEvent>, Error> {
    let newer = |e: &StackEvent| {
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

/// Wait for `stack_id` to settle; anything but a completed operation is a failure with its causes.
pub(crate) async fn wait_until_complete(
    aws: &Aws,
    stack_id: &str,
    expected: usize,
    poll: Duration,
    cut: Option<DateTime>,
    ui: &mut dyn DeployUi,
) -> Result<StackStatus, Error> {
    let end = wait_for_stack(aws, stack_id, expected, poll, cut, ui).await?;
    end.completed(stack_id)
}

impl StackEnd {
    /// The final status when the operation completed, else [`Error::DeployFailed`] naming `stack`.
    pub fn completed(self, stack: &str) -> Result<StackStatus, Error> {
        if phase(AnyStatus::Stack(&self.status)) == Phase::Complete {
            return Ok(self.status);
        }
        Err(Error::DeployFailed {
            stack: stack.to_string(),
            status: self.status.as_str().into(),
            causes: self.causes,
        })
    }
}

/// An existing stack as the next update starts from it: its template text (JSON or YAML, as it
/// was submitted) and its parameter values.
#[derive(Debug, Clone)]
pub struct Current {
    pub template: String,
    pub parameters: Vec<(String, String)>,
}

/// The current template and parameters of `name`, or `None` if it does not exist or has never
/// been created (REVIEW_IN_PROGRESS: nothing to update).
pub async fn current(aws: &Aws, name: &str) -> Result<Option<Current>, Error> {
    let Some(stack) = describe_stack(aws, name).await? else {
        return Ok(None);
    };
    if matches!(
        stack.stack_status(),
        Some(StackStatus::ReviewInProgress | StackStatus::DeleteComplete)
    ) {
        return Ok(None);
    }
    let out = aws
        .cloudformation()
        .get_template()
        .stack_name(stack.stack_id().unwrap_or(name))
        .send()
        .await
        .map_err(|e| Error::from_sdk("GetTemplate", e))?;
    let parameters = stack
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_string(),
                p.parameter_value().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    Ok(Some(Current {
        template: out.template_body().unwrap_or_default().to_string(),
        parameters,
    }))
}
