//! Where a stack stands: its status, and the resources that failed in its latest operation.

use crate::aws::Aws;
use crate::error::Error;
use crate::events::{AnyStatus, Phase, RootCause, phase};
use crate::stack::describe_stack;

/// A stack's state at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct StackState {
    /// Status as CloudFormation spells it.
    pub status: String,
    pub phase: Phase,
    pub reason: Option<String>,
    /// Last change (creation or update), RFC 3339.
    pub updated: Option<String>,
    pub outputs: usize,
    /// Resources that failed in the latest operation, from the stack's resource list.
    pub failed: Vec<RootCause>,
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
