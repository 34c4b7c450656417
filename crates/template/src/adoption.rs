//! What an update of an existing stack needs beyond the user's parameters: the stack's current
//! template read back (JSON, or the reference's YAML with short-form tags), and the values of
//! parameters mfstack added that keep an adopted stack's resources as they are.

use serde_json::{Map, Value};

use crate::TemplateError;
use crate::components::storage::database::DATABASE;
use crate::params::{ADOPTED_STACK, POSTGRES_ENGINE_VERSION};

/// Parse a template as CloudFormation returns it: JSON, or YAML whose `!Ref`, `!Sub`, `!GetAtt`
/// and other short forms become their long forms.
pub fn parse(text: &str) -> Result<Value, TemplateError> {
    if let Ok(v) = serde_json::from_str(text) {
        return Ok(v);
    }
    let yaml: serde_norway::Value =
        serde_norway::from_str(text).map_err(|e| TemplateError::Yaml(e.to_string()))?;
    Ok(long_form(yaml))
}

fn long_form(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(long_form).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (key_text(k), long_form(v)))
                .collect::<Map<_, _>>(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let value = long_form(tagged.value);
            let (name, value) = match (tag, value) {
                ("Ref", v) => ("Ref".to_string(), v),
                ("Condition", v) => ("Condition".to_string(), v),
                ("GetAtt", Value::String(s)) => {
                    let (id, attr) = s.split_once('.').unwrap_or((&s, ""));
                    ("Fn::GetAtt".to_string(), Value::from(vec![id, attr]))
                }
                (other, v) => (format!("Fn::{other}"), v),
            };
            Value::Object(Map::from_iter([(name, value)]))
        }
    }
}

fn key_text(k: serde_norway::Value) -> String {
    match k {
        serde_norway::Value::String(s) => s,
        other => serde_norway::to_string(&other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Parameters to set when updating a stack that lacks some of mfstack's: `AdoptedStack=true`, so
/// create-only properties it never had stay unset, and the PostgreSQL version its database already
/// runs, so that no upgrade happens unasked.
pub fn update_parameters(
    current: &Value,
    parameters: &[(String, String)],
) -> Vec<(String, String)> {
    // A stack whose template already declares a parameter is an mfstack stack for that purpose: it
    // keeps its value or default (DescribeStacks need not list parameters left at their default).
    let has = |name: &str| {
        parameters.iter().any(|(k, _)| k == name) || current["Parameters"].get(name).is_some()
    };
    let mut out = Vec::new();
    if !has(ADOPTED_STACK) {
        out.push((ADOPTED_STACK.to_string(), "true".to_string()));
    }
    if !has(POSTGRES_ENGINE_VERSION)
        && let Some(version) = engine_version(current, parameters)
    {
        out.push((POSTGRES_ENGINE_VERSION.to_string(), version));
    }
    out
}

/// The PostgreSQL version the stack's database was given: a literal, or the parameter it refers to.
pub fn engine_version(current: &Value, parameters: &[(String, String)]) -> Option<String> {
    let v = current
        .get("Resources")?
        .get(DATABASE)?
        .get("Properties")?
        .get("EngineVersion")?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        other => {
            let name = other.get("Ref")?.as_str()?;
            parameters
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_yaml_reads_as_long_form_json() {
        let t = parse("Resources:\n  A:\n    Properties:\n      X: !Ref B\n      Y: !GetAtt 'C.Arn'\n      Z: !Join ['', [a, !Sub '${AWS::StackName}']]\n      N: 20\n").unwrap();
        let p = &t["Resources"]["A"]["Properties"];
        assert_eq!(p["X"], serde_json::json!({"Ref": "B"}));
        assert_eq!(p["Y"], serde_json::json!({"Fn::GetAtt": ["C", "Arn"]}));
        assert_eq!(
            p["Z"]["Fn::Join"][1][1],
            serde_json::json!({"Fn::Sub": "${AWS::StackName}"})
        );
        assert_eq!(p["N"], serde_json::json!(20));
    }

    #[test]
    fn an_adopted_stack_keeps_its_engine_version() {
        let t = serde_json::json!({"Resources": {"RDSMasterInstance": {"Properties": {"EngineVersion": "11.5"}}}});
        assert_eq!(
            update_parameters(&t, &[]),
            [
                (ADOPTED_STACK.to_string(), "true".to_string()),
                (POSTGRES_ENGINE_VERSION.to_string(), "11.5".to_string())
            ]
        );
        let own = [
            (ADOPTED_STACK.to_string(), "false".to_string()),
            (POSTGRES_ENGINE_VERSION.to_string(), "18".to_string()),
        ];
        assert!(update_parameters(&t, &own).is_empty());
    }
}
