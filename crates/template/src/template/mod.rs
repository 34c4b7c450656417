//! The template model: parameters, rules, conditions, resources and outputs, serialised in the order
//! they were added so the generated file reads like the console groups it.

mod parameter;
mod resource;
mod validate;

use indexmap::IndexMap;
use serde::Serialize;

use crate::TemplateError;
use crate::intrinsics::Expr;

pub use parameter::{
    Assertion, Interface, Label, Parameter, ParameterGroup, ParameterType, Rule, TemplateMetadata,
};
pub use resource::{
    CheckovMetadata, CheckovSkip, Resource, ResourceMetadata, ResourceProperties, RetainPolicy,
};

/// The largest template CloudFormation accepts inline (`TemplateBody`); larger ones go by S3 URL.
pub const INLINE_TEMPLATE_LIMIT: usize = 51_200;

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
        let r = Resource::new(P::TYPE, properties);
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
}

fn insert_new<T>(map: &mut IndexMap<String, T>, name: &str, value: T) -> Result<(), TemplateError> {
    if map.contains_key(name) {
        return Err(TemplateError::Duplicate(name.to_string()));
    }
    map.insert(name.to_string(), value);
    Ok(())
}
