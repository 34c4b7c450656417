//! Reading what the stack produced.

use crate::aws::Aws;
use crate::deploy::describe_stack;
use crate::error::Error;

/// One stack output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutput {
    /// Output name, e.g. `ServiceUrl`.
    pub key: String,
    /// Its value.
    pub value: String,
    /// The template's description of it.
    pub description: Option<String>,
}

/// The outputs of `stack`, in the order CloudFormation returns them.
pub async fn outputs(aws: &Aws, stack: &str) -> Result<Vec<StackOutput>, Error> {
    let Some(s) = describe_stack(aws, stack).await? else {
        return Err(Error::StackNotFound(stack.to_string()));
    };
    Ok(s.outputs()
        .iter()
        .filter_map(|o| {
            Some(StackOutput {
                key: o.output_key()?.to_string(),
                value: o.output_value().unwrap_or_default().to_string(),
                description: o.description().map(str::to_string),
            })
        })
        .collect())
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

/// The Metaflow config key an output feeds, as its description names it (`METAFLOW_…`); the
/// template writes each output's description that way, so a deployed stack carries its own mapping.
pub fn config_key(output: &StackOutput) -> Option<&str> {
    let d = output.description.as_deref()?;
    let start = d.find("METAFLOW_")?;
    let rest = &d[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(rest.len());
    Some(rest[..end].trim_end_matches('_'))
}

/// `(output, config key)` for every output whose description names a key.
pub fn config_mapping(outputs: &[StackOutput]) -> Vec<(&str, &str)> {
    outputs
        .iter()
        .filter_map(|o| config_key(o).map(|k| (o.key.as_str(), k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_name_the_config_key() {
        let o = |k: &str, d: Option<&str>| StackOutput {
            key: k.into(),
            value: "v".into(),
            description: d.map(Into::into),
        };
        let outs = [
            o(
                "ServiceUrl",
                Some("Metadata service URL (METAFLOW_SERVICE_URL)."),
            ),
            o("DDBTableName", Some("METAFLOW_SFN_DYNAMO_DB_TABLE")),
            o("MetaflowUserRoleArn", Some("Role for users; no config key")),
            o("Bare", None),
        ];
        assert_eq!(
            config_mapping(&outs),
            [
                ("ServiceUrl", "METAFLOW_SERVICE_URL"),
                ("DDBTableName", "METAFLOW_SFN_DYNAMO_DB_TABLE")
            ]
        );
    }
}
