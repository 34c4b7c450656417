//! The parameters section and its console layout, and the rules that check parameter values.

use serde::Serialize;

use crate::intrinsics::Expr;

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
