//! The template model: parameters, rules, conditions, resources and outputs, serialised in the order
//! they were added so the generated file reads like the console groups it.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::TemplateError;
use crate::intrinsics::{Expr, pseudo};

/// The largest template CloudFormation accepts inline (`TemplateBody`); larger ones go by S3 URL.
pub const INLINE_TEMPLATE_LIMIT: usize = 51_200;

/// The properties of one resource type. Each struct lists only the fields mfstack sets, so a
/// misspelt property does not compile.
pub trait ResourceProperties: Serialize {
    /// The CloudFormation type, e.g. `AWS::S3::Bucket`.
    const TYPE: &'static str;
}

/// A CloudFormation template.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    format_version: &'static str,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<TemplateMetadata>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    parameters: IndexMap<String, Parameter>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    rules: IndexMap<String, Rule>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    conditions: IndexMap<String, Expr>,
    resources: IndexMap<String, Resource>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    outputs: IndexMap<String, Output>,
}

/// Template-level metadata: how the console groups the parameters.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateMetadata {
    /// The console's parameter layout.
    #[serde(rename = "AWS::CloudFormation::Interface")]
    pub interface: Interface,
}

/// `AWS::CloudFormation::Interface`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Interface {
    /// Parameter groups, in display order.
    pub parameter_groups: Vec<ParameterGroup>,
}

/// One group of parameters on the console.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterGroup {
    /// The group's heading.
    pub label: Label,
    /// Parameter names in the group.
    pub parameters: Vec<String>,
}

/// A console label.
#[derive(Debug, Clone, Serialize)]
pub struct Label {
    /// The text shown.
    pub default: String,
}

/// The type of a template parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ParameterType {
    /// `String`.
    String,
    /// `Number`.
    Number,
    /// `CommaDelimitedList`.
    CommaDelimitedList,
}

/// A template parameter.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    /// The parameter's type.
    #[serde(rename = "Type")]
    pub kind: ParameterType,
    /// What it sets, shown on the console.
    pub description: String,
    /// The default value; the deployer may override it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The closed set of accepted values, if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    /// A regular expression the value must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// Smallest accepted number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_value: Option<i64>,
    /// Largest accepted number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_value: Option<i64>,
    /// Shown when the value breaks a constraint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
}

impl Parameter {
    /// A parameter of `kind` with a description and a default.
    pub fn new(kind: ParameterType, description: &str, default: impl Into<String>) -> Self {
        Parameter {
            kind,
            description: description.to_string(),
            default: Some(default.into()),
            allowed_values: Vec::new(),
            allowed_pattern: None,
            min_value: None,
            max_value: None,
            constraint_description: None,
        }
    }

    /// Restrict the value to a closed set.
    pub fn allowed<S: ToString>(mut self, values: &[S]) -> Self {
        self.allowed_values = values.iter().map(ToString::to_string).collect();
        self
    }

    /// Restrict the value to a pattern, explaining it to the user.
    pub fn pattern(mut self, pattern: &str, explanation: &str) -> Self {
        self.allowed_pattern = Some(pattern.to_string());
        self.constraint_description = Some(explanation.to_string());
        self
    }

    /// Restrict a number to `min..=max`.
    pub fn range(mut self, min: i64, max: i64) -> Self {
        self.min_value = Some(min);
        self.max_value = Some(max);
        self
    }
}

/// A template rule: assertions checked before any resource is touched.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    /// When the rule applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_condition: Option<Expr>,
    /// What must hold.
    pub assertions: Vec<Assertion>,
}

/// One assertion of a [`Rule`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Assertion {
    /// The condition that must be true.
    pub assert: Expr,
    /// The message CloudFormation shows when it is false.
    pub assert_description: String,
}

/// What happens to a resource's data when CloudFormation deletes or replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RetainPolicy {
    /// Keep the resource.
    Retain,
    /// Take a final snapshot.
    Snapshot,
    /// Delete it.
    Delete,
}

/// One resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_policy: Option<RetainPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_replace_policy: Option<RetainPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<ResourceMetadata>,
    #[serde(skip_serializing_if = "is_empty_object")]
    properties: Value,
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.is_empty()) || v.is_null()
}

/// Resource metadata read by linters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceMetadata {
    /// Checks checkov should skip here, each with its reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkov: Option<CheckovMetadata>,
}

/// checkov's `Metadata.checkov` block.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckovMetadata {
    /// The skipped checks.
    pub skip: Vec<CheckovSkip>,
}

/// One skipped checkov check and why.
#[derive(Debug, Clone, Serialize)]
pub struct CheckovSkip {
    /// The check id, e.g. `CKV_AWS_18`.
    pub id: String,
    /// Why the check does not apply.
    pub comment: String,
}

impl Resource {
    /// The resource's CloudFormation type.
    pub fn kind(&self) -> &str {
        self.kind
    }

    /// The condition the resource is created under, if any.
    pub fn condition_name(&self) -> Option<&str> {
        self.condition.as_deref()
    }

    /// The serialised properties.
    pub fn properties(&self) -> &Value {
        &self.properties
    }

    /// Create the resource only when `name` holds.
    pub fn condition(&mut self, name: &str) -> &mut Self {
        self.condition = Some(name.to_string());
        self
    }

    /// Create the resource after `ids`, for ordering that no `Ref` expresses.
    pub fn depends_on(&mut self, ids: &[&str]) -> &mut Self {
        self.depends_on.extend(ids.iter().map(|s| s.to_string()));
        self
    }

    /// Keep or snapshot the data when the resource is deleted and when it is replaced.
    pub fn retain(&mut self, policy: RetainPolicy) -> &mut Self {
        self.deletion_policy = Some(policy);
        self.update_replace_policy = Some(policy);
        self
    }

    /// Tell checkov to skip `id` on this resource, with the reason it does not apply.
    pub fn skip_check(&mut self, id: &str, reason: &str) -> &mut Self {
        let meta = self.metadata.get_or_insert_with(ResourceMetadata::default);
        meta.checkov
            .get_or_insert_with(CheckovMetadata::default)
            .skip
            .push(CheckovSkip {
                id: id.to_string(),
                comment: reason.to_string(),
            });
        self
    }
}

/// A stack output.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    /// What the value is, ending with the `METAFLOW_*` key it feeds, if any.
    pub description: String,
    /// The value.
    pub value: Expr,
    /// The condition under which the output exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

impl Template {
    /// An empty template.
    pub fn new(description: &str) -> Self {
        Template {
            format_version: "2010-09-09",
            description: description.to_string(),
            metadata: None,
            parameters: IndexMap::new(),
            rules: IndexMap::new(),
            conditions: IndexMap::new(),
            resources: IndexMap::new(),
            outputs: IndexMap::new(),
        }
    }

    /// Set the console's parameter groups.
    pub fn set_parameter_groups(&mut self, groups: &[(&str, &[&str])]) {
        let parameter_groups = groups
            .iter()
            .map(|(label, names)| ParameterGroup {
                label: Label {
                    default: label.to_string(),
                },
                parameters: names.iter().map(|n| n.to_string()).collect(),
            })
            .collect();
        self.metadata = Some(TemplateMetadata {
            interface: Interface { parameter_groups },
        });
    }

    /// Add a parameter.
    pub fn add_parameter(&mut self, name: &str, p: Parameter) -> Result<(), TemplateError> {
        insert_new(&mut self.parameters, name, p)
    }

    /// Add a rule.
    pub fn add_rule(&mut self, name: &str, rule: Rule) -> Result<(), TemplateError> {
        insert_new(&mut self.rules, name, rule)
    }

    /// Add a named condition.
    pub fn add_condition(&mut self, name: &str, e: Expr) -> Result<(), TemplateError> {
        insert_new(&mut self.conditions, name, e)
    }

    /// Add a resource; the returned handle sets its condition, dependencies and policies.
    pub fn add<P: ResourceProperties>(
        &mut self,
        id: &str,
        props: &P,
    ) -> Result<&mut Resource, TemplateError> {
        if self.resources.contains_key(id) {
            return Err(TemplateError::Duplicate(id.to_string()));
        }
        let properties = serde_json::to_value(props)?;
        let r = Resource {
            kind: P::TYPE,
            condition: None,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            metadata: None,
            properties,
        };
        Ok(self.resources.entry(id.to_string()).or_insert(r))
    }

    /// Add an output. An output that feeds a Metaflow setting gets ` [METAFLOW_…]` appended to its
    /// description from [`crate::config_keys`], so a deployed stack shows which setting each
    /// output is for.
    pub fn add_output(
        &mut self,
        name: &str,
        description: &str,
        value: Expr,
        condition: Option<&str>,
    ) -> Result<(), TemplateError> {
        let description = match crate::config_key(name) {
            Some(key) => format!("{description} [{key}]"),
            None => description.to_string(),
        };
        let o = Output {
            description,
            value,
            condition: condition.map(str::to_string),
        };
        insert_new(&mut self.outputs, name, o)
    }

    /// The parameters, in order.
    pub fn parameters(&self) -> &IndexMap<String, Parameter> {
        &self.parameters
    }

    /// The conditions, in order.
    pub fn conditions(&self) -> &IndexMap<String, Expr> {
        &self.conditions
    }

    /// The resources, in order.
    pub fn resources(&self) -> &IndexMap<String, Resource> {
        &self.resources
    }

    /// The outputs, in order.
    pub fn outputs(&self) -> &IndexMap<String, Output> {
        &self.outputs
    }

    /// Pretty JSON (two-space indent), as written to disk.
    pub fn to_json(&self) -> Result<String, TemplateError> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }

    /// Compact JSON: the smallest form, for the inline size limit.
    pub fn to_json_compact(&self) -> Result<String, TemplateError> {
        Ok(serde_json::to_string(self)?)
    }

    /// YAML, with intrinsics in their long form (`Ref:`, `Fn::GetAtt:`).
    pub fn to_yaml(&self) -> Result<String, TemplateError> {
        serde_norway::to_string(self).map_err(|e| TemplateError::Yaml(e.to_string()))
    }

    /// Check that every `Ref`, `Fn::GetAtt`, `${...}`, condition name and `DependsOn` points at
    /// something the template declares, so a typo fails the build instead of the deploy.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let names = Names {
            parameters: self.parameters.keys().cloned().collect(),
            resources: self.resources.keys().cloned().collect(),
            conditions: self.conditions.keys().cloned().collect(),
        };
        for (name, cond) in &self.conditions {
            names.walk(name, &cond.to_value())?;
        }
        for (name, rule) in &self.rules {
            names.walk(name, &serde_json::to_value(rule)?)?;
        }
        for (id, r) in &self.resources {
            if let Some(c) = &r.condition {
                names.condition(id, c)?;
            }
            for d in &r.depends_on {
                names.resource(id, d)?;
            }
            names.walk(id, &r.properties)?;
        }
        for (name, o) in &self.outputs {
            if let Some(c) = &o.condition {
                names.condition(name, c)?;
            }
            names.walk(name, &o.value.to_value())?;
        }
        Ok(())
    }
}

fn insert_new<T>(map: &mut IndexMap<String, T>, name: &str, value: T) -> Result<(), TemplateError> {
    if map.contains_key(name) {
        return Err(TemplateError::Duplicate(name.to_string()));
    }
    map.insert(name.to_string(), value);
    Ok(())
}

struct Names {
    parameters: BTreeSet<String>,
    resources: BTreeSet<String>,
    conditions: BTreeSet<String>,
}

impl Names {
    fn dangling(at: &str, what: &str, target: &str) -> TemplateError {
        TemplateError::Dangling {
            at: at.to_string(),
            what: what.to_string(),
            target: target.to_string(),
        }
    }

    fn condition(&self, at: &str, name: &str) -> Result<(), TemplateError> {
        if self.conditions.contains(name) {
            Ok(())
        } else {
            Err(Self::dangling(at, "condition", name))
        }
    }

    fn resource(&self, at: &str, id: &str) -> Result<(), TemplateError> {
        if self.resources.contains(id) {
            Ok(())
        } else {
            Err(Self::dangling(at, "resource", id))
        }
    }

    fn reference(&self, at: &str, name: &str) -> Result<(), TemplateError> {
        if self.parameters.contains(name)
            || self.resources.contains(name)
            || pseudo::ALL.contains(&name)
        {
            Ok(())
        } else {
            Err(Self::dangling(at, "Ref", name))
        }
    }

    fn walk(&self, at: &str, v: &Value) -> Result<(), TemplateError> {
        match v {
            Value::Array(items) => items.iter().try_for_each(|i| self.walk(at, i)),
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                match (k.as_str(), arg) {
                    ("Ref", Value::String(name)) => self.reference(at, name),
                    ("Condition", Value::String(name)) => self.condition(at, name),
                    ("Fn::GetAtt", Value::Array(a)) => match a.first() {
                        Some(Value::String(id)) => self.resource(at, id),
                        _ => Err(Self::dangling(at, "Fn::GetAtt", &arg.to_string())),
                    },
                    ("Fn::If", Value::Array(a)) => {
                        if let Some(Value::String(c)) = a.first() {
                            self.condition(at, c)?;
                        }
                        a.iter().skip(1).try_for_each(|i| self.walk(at, i))
                    }
                    ("Fn::Sub", Value::String(s)) => self.sub(at, s, &BTreeSet::new()),
                    ("Fn::Sub", Value::Array(a)) => {
                        let locals: BTreeSet<String> = a
                            .get(1)
                            .and_then(Value::as_object)
                            .map(|m| m.keys().cloned().collect())
                            .unwrap_or_default();
                        a.iter().skip(1).try_for_each(|i| self.walk(at, i))?;
                        match a.first() {
                            Some(Value::String(s)) => self.sub(at, s, &locals),
                            _ => Ok(()),
                        }
                    }
                    _ => self.walk(at, arg),
                }
            }
            Value::Object(m) => m.values().try_for_each(|i| self.walk(at, i)),
            _ => Ok(()),
        }
    }

    /// `${Name}` and `${Name.Attr}` in a `Fn::Sub` string; `${!Literal}` is an escape.
    fn sub(&self, at: &str, s: &str, locals: &BTreeSet<String>) -> Result<(), TemplateError> {
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            let name = &after[..end];
            rest = &after[end + 1..];
            if name.starts_with('!') || locals.contains(name) {
                continue;
            }
            match name.split_once('.') {
                Some((id, _)) if !name.starts_with("AWS::") => self.resource(at, id)?,
                _ => self.reference(at, name)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intrinsics::{r#ref, sub};

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Topic {
        display_name: Expr,
    }

    impl ResourceProperties for Topic {
        const TYPE: &'static str = "AWS::SNS::Topic";
    }

    #[test]
    fn validate_finds_dangling_names() {
        let mut t = Template::new("t");
        t.add(
            "A",
            &Topic {
                display_name: sub("${AWS::StackName}-${B.Name}"),
            },
        )
        .unwrap();
        assert!(
            matches!(t.validate(), Err(TemplateError::Dangling { target, .. }) if target == "B")
        );
        t.add(
            "B",
            &Topic {
                display_name: r#ref("Nope"),
            },
        )
        .unwrap();
        assert!(
            matches!(t.validate(), Err(TemplateError::Dangling { target, .. }) if target == "Nope")
        );
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let mut t = Template::new("t");
        t.add(
            "A",
            &Topic {
                display_name: "x".into(),
            },
        )
        .unwrap();
        assert!(matches!(
            t.add(
                "A",
                &Topic {
                    display_name: "y".into()
                }
            ),
            Err(TemplateError::Duplicate(_))
        ));
    }
}
