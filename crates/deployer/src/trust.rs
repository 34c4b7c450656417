//! Who may assume the stack's Metaflow user role: its trust policy, merged rather than replaced.

use serde_json::Value;

use crate::aws::Aws;
use crate::error::Error;

/// Principals added to a trust policy, and those that were already trusted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustChange {
    /// Newly trusted.
    pub added: Vec<String>,
    /// Already present; left as they were.
    pub present: Vec<String>,
}

/// Let `principals` (IAM ARNs or account ids) assume the role `role_arn`.
pub async fn add_trusted_principals(
    aws: &Aws,
    role_arn: &str,
    principals: &[String],
) -> Result<TrustChange, Error> {
    let iam = aws.iam();
    let name = role_name(role_arn);
    let role = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| Error::from_sdk("GetRole", e))?;
    let raw = role
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .unwrap_or_default();
    // IAM returns the document URL-encoded.
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let doc: Value = serde_json::from_str(&decoded).map_err(|e| Error::Aws {
        operation: "GetRole",
        message: format!("unreadable trust policy: {e}"),
    })?;
    let (doc, change) = with_principals(doc, principals);
    if !change.added.is_empty() {
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(doc.to_string())
            .send()
            .await
            .map_err(|e| Error::from_sdk("UpdateAssumeRolePolicy", e))?;
    }
    Ok(change)
}

/// The role name in an ARN (`arn:aws:iam::1:role/path/Name` → `Name`), or the input if not an ARN.
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Add `principals` to the first plain `Allow sts:AssumeRole` statement with AWS principals, or to a
/// new statement when there is none. Existing principals and statements are kept as they are.
pub fn with_principals(mut doc: Value, principals: &[String]) -> (Value, TrustChange) {
    let mut change = TrustChange::default();
    let statements = doc.get_mut("Statement").and_then(Value::as_array_mut);
    let target = statements.and_then(|s| {
        s.iter_mut().find(|st| {
            st.get("Effect") == Some(&Value::from("Allow"))
                && st.get("Condition").is_none()
                && st.get("Principal").and_then(|p| p.get("AWS")).is_some()
                && matches!(st.get("Action"), Some(Value::String(a)) if a == "sts:AssumeRole")
        })
    });
    let mut list: Vec<Value> = match target.as_ref().and_then(|st| st["Principal"].get("AWS")) {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    };
    for p in principals {
        if list.iter().any(|v| v.as_str() == Some(p)) {
            change.present.push(p.clone());
        } else {
            list.push(Value::from(p.as_str()));
            change.added.push(p.clone());
        }
    }
    if change.added.is_empty() {
        return (doc, change);
    }
    match target {
        Some(st) => st["Principal"]["AWS"] = Value::Array(list),
        None => {
            let st = serde_json::json!({"Effect": "Allow", "Principal": {"AWS": list}, "Action": "sts:AssumeRole"});
            match doc.get_mut("Statement") {
                Some(Value::Array(a)) => a.push(st),
                _ => doc["Statement"] = Value::Array(vec![st]),
            }
        }
    }
    (doc, change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn principals_merge_into_the_existing_statement() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/task"}, "Action": "sts:AssumeRole"}
        ]});
        let (doc, change) = with_principals(
            doc,
            &[
                "arn:aws:iam::1:role/task".into(),
                "arn:aws:iam::2:user/ana".into(),
            ],
        );
        assert_eq!(change.added, ["arn:aws:iam::2:user/ana"]);
        assert_eq!(change.present, ["arn:aws:iam::1:role/task"]);
        assert_eq!(
            doc["Statement"][0]["Principal"]["AWS"],
            json!(["arn:aws:iam::1:role/task", "arn:aws:iam::2:user/ana"])
        );
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn service_only_trust_gets_a_new_statement() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let (doc, change) = with_principals(doc, &["123456789012".into()]);
        assert_eq!(change.added.len(), 1);
        assert_eq!(
            doc["Statement"][1],
            json!({"Effect": "Allow", "Principal": {"AWS": ["123456789012"]}, "Action": "sts:AssumeRole"})
        );
        assert_eq!(
            role_name("arn:aws:iam::1:role/path/MetaflowUserRole"),
            "MetaflowUserRole"
        );
    }
}
