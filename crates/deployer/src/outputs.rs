//! Reading what the stack produced.

use aws_sdk_cloudformation::types::StackStatus;

use crate::aws::Aws;
use crate::error::Error;
use crate::stack::describe_stack;

/// One stack output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutput {
    /// Output name, e.g. `ServiceUrl`.
    pub key: String,
    pub value: String,
    pub description: Option<String>,
}

/// The outputs of `stack`, in the order CloudFormation returns them, whatever its status.
pub async fn outputs(aws: &Aws, stack: &str) -> Result<Vec<StackOutput>, Error> {
    let Some(s) = describe_stack(aws, stack).await? else {
        return Err(Error::StackNotFound(stack.to_string()));
    };
    Ok(read_outputs(&s))
}

/// The outputs of `stack` when they describe a stack that finished an operation successfully;
/// [`Error::NotSettled`] otherwise. For writing a Metaflow profile, which must not point at
/// resources still being made or already rolled away.
pub async fn settled_outputs(aws: &Aws, stack: &str) -> Result<Vec<StackOutput>, Error> {
    let Some(s) = describe_stack(aws, stack).await? else {
        return Err(Error::StackNotFound(stack.to_string()));
    };
    let status = s
        .stack_status()
        .cloned()
        .unwrap_or(StackStatus::from("UNKNOWN"));
    if !outputs_are_settled(&status) {
        return Err(Error::NotSettled {
            stack: stack.to_string(),
            status: status.as_str().to_string(),
            reason: s.stack_status_reason().map(str::to_string),
        });
    }
    Ok(read_outputs(&s))
}

/// Whether a stack in `status` has outputs that match the resources it runs.
///
/// UPDATE_ROLLBACK_COMPLETE counts: the failed update was undone, so the outputs are the previous
/// successful ones and the resources are back to match them. A profile written then reaches the
/// stack as it runs. In progress, failed, or a first create rolled back (ROLLBACK_COMPLETE, whose
/// resources are gone) do not.
pub fn outputs_are_settled(status: &StackStatus) -> bool {
    matches!(
        status,
        StackStatus::CreateComplete
            | StackStatus::UpdateComplete
            | StackStatus::ImportComplete
            | StackStatus::UpdateRollbackComplete
    )
}

fn read_outputs(stack: &aws_sdk_cloudformation::types::Stack) -> Vec<StackOutput> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| {
            Some(StackOutput {
                key: o.output_key()?.to_string(),
                value: o.output_value().unwrap_or_default().to_string(),
                description: o.description().map(str::to_string),
            })
        })
        .collect()
}

/// The value of output `key`, or [`Error::MissingOutput`].
pub fn require<'a>(outputs: &'a [StackOutput], stack: &str, key: &str) -> Result<&'a str, Error> {
    outputs
        .iter()
        .find(|o| o.key == key)
        .map(|o| o.value.as_str())
        .ok_or_else(|| Error::MissingOutput {
            stack: stack.to_string(),
            output: key.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_successfully_settled_stacks_have_outputs_for_a_profile() {
        let settled = [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "IMPORT_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
        ];
        let unsettled = [
            "CREATE_IN_PROGRESS",
            "REVIEW_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
            "ROLLBACK_COMPLETE",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_FAILED",
            "CREATE_FAILED",
            "DELETE_IN_PROGRESS",
            "DELETE_COMPLETE",
            "SOMETHING_NEW",
        ];
        for s in settled {
            assert!(outputs_are_settled(&StackStatus::from(s)), "{s}");
        }
        for s in unsettled {
            assert!(!outputs_are_settled(&StackStatus::from(s)), "{s}");
        }
    }
}
