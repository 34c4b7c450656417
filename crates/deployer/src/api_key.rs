//! The API key's value. The stack outputs only the key's id, since an output is readable by anyone
//! who can describe the stack.

use crate::aws::Aws;
use crate::error::Error;

/// The API key's secret value (`apigateway get-api-key --include-value`).
pub async fn value(aws: &Aws, key_id: &str) -> Result<String, Error> {
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
