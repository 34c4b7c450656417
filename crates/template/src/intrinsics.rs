//! Typed CloudFormation intrinsic functions.
//!
//! An [`Expr`] is any value a property can hold: a literal or an intrinsic (`Ref`, `Fn::GetAtt`,
//! `Fn::Sub`, `Fn::If`, ...). Expressions are turned into JSON only at serialisation time, so the
//! components never write template syntax by hand.

use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// Pseudo parameters CloudFormation defines in every stack.
pub mod pseudo {
    /// `AWS::AccountId`.
    pub const ACCOUNT_ID: &str = "AWS::AccountId";
    /// `AWS::NoValue`: removes the property it is assigned to.
    pub const NO_VALUE: &str = "AWS::NoValue";
    /// `AWS::Partition` (`aws`, `aws-us-gov`, `aws-cn`): used for every ARN.
    pub const PARTITION: &str = "AWS::Partition";
    /// `AWS::Region`.
    pub const REGION: &str = "AWS::Region";
    /// `AWS::StackId`.
    pub const STACK_ID: &str = "AWS::StackId";
    /// `AWS::StackName`.
    pub const STACK_NAME: &str = "AWS::StackName";
    /// `AWS::URLSuffix` (`amazonaws.com`, or the partition's own).
    pub const URL_SUFFIX: &str = "AWS::URLSuffix";

    /// Every pseudo parameter, for reference checks.
    pub const ALL: &[&str] = &[
        ACCOUNT_ID,
        NO_VALUE,
        PARTITION,
        REGION,
        STACK_ID,
        STACK_NAME,
        URL_SUFFIX,
        "AWS::NotificationARNs",
    ];
}

/// A property value: a literal or an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A boolean literal.
    Bool(bool),
    /// A list of values.
    List(Vec<Expr>),
    /// A typed structure already turned into JSON (see [`Expr::of`]).
    Json(Value),
    /// `Ref`: a parameter's value, a resource's primary id, or a pseudo parameter.
    Ref(String),
    /// `Fn::GetAtt`: an attribute of a resource.
    GetAtt(String, String),
    /// `Fn::Sub` over a format string whose `${Name}` refer to the template.
    Sub(String),
    /// `Fn::Sub` with local variables.
    SubWith(String, IndexMap<String, Expr>),
    /// `Fn::If`: one of two values, chosen by a named condition.
    If(String, Box<Expr>, Box<Expr>),
    /// `Fn::Join`: concatenation with a separator.
    Join(String, Vec<Expr>),
    /// `Fn::Select`: one element of a list.
    Select(usize, Box<Expr>),
    /// `Fn::GetAZs` of the stack's own region.
    GetAzs,
    /// `Fn::Base64`.
    Base64(Box<Expr>),
    /// `Fn::Equals` (conditions and rules only).
    Equals(Box<Expr>, Box<Expr>),
    /// `Fn::Not` (conditions and rules only).
    Not(Box<Expr>),
    /// `Fn::Or` (conditions and rules only).
    Or(Vec<Expr>),
    /// `Fn::And` (conditions and rules only).
    And(Vec<Expr>),
    /// `Condition`: another named condition (conditions only).
    Condition(String),
    /// `Fn::GetAtt` of a nested stack's output.
    StackOutput(String, String),
}

impl Expr {
    /// Wrap a typed structure (a policy document, a property block) so it can sit inside an intrinsic.
    ///
    /// Structures made of strings, numbers and `Expr`s always serialise; `Null` stands in for the
    /// impossible failure so callers stay infallible.
    pub fn of<T: Serialize>(value: &T) -> Expr {
        Expr::Json(serde_json::to_value(value).unwrap_or(Value::Null))
    }

    /// The JSON CloudFormation reads.
    pub fn to_value(&self) -> Value {
        fn call(name: &str, arg: Value) -> Value {
            let mut m = Map::new();
            m.insert(name.to_string(), arg);
            Value::Object(m)
        }
        fn list(items: &[Expr]) -> Value {
            Value::Array(items.iter().map(Expr::to_value).collect())
        }
        match self {
            Expr::Str(s) => Value::String(s.clone()),
            Expr::Int(i) => Value::from(*i),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::List(items) => list(items),
            Expr::Json(v) => v.clone(),
            Expr::Ref(id) => call("Ref", Value::String(id.clone())),
            Expr::GetAtt(id, attr) => {
                call("Fn::GetAtt", Value::from(vec![id.clone(), attr.clone()]))
            }
            Expr::StackOutput(id, output) => call(
                "Fn::GetAtt",
                Value::from(vec![id.clone(), format!("Outputs.{output}")]),
            ),
            Expr::Sub(s) => call("Fn::Sub", Value::String(s.clone())),
            Expr::SubWith(s, vars) => {
                let vars: Map<String, Value> = vars
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect();
                call(
                    "Fn::Sub",
                    Value::Array(vec![Value::String(s.clone()), Value::Object(vars)]),
                )
            }
            Expr::If(cond, a, b) => call(
                "Fn::If",
                Value::Array(vec![
                    Value::String(cond.clone()),
                    a.to_value(),
                    b.to_value(),
                ]),
            ),
            Expr::Join(sep, parts) => call(
                "Fn::Join",
                Value::Array(vec![Value::String(sep.clone()), list(parts)]),
            ),
            Expr::Select(i, from) => call(
                "Fn::Select",
                Value::Array(vec![Value::from(*i), from.to_value()]),
            ),
            Expr::GetAzs => call("Fn::GetAZs", Value::String(String::new())),
            Expr::Base64(e) => call("Fn::Base64", e.to_value()),
            Expr::Equals(a, b) => {
                call("Fn::Equals", Value::Array(vec![a.to_value(), b.to_value()]))
            }
            Expr::Not(e) => call("Fn::Not", Value::Array(vec![e.to_value()])),
            Expr::Or(items) => call("Fn::Or", list(items)),
            Expr::And(items) => call("Fn::And", list(items)),
            Expr::Condition(name) => call("Condition", Value::String(name.clone())),
        }
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Self {
        Expr::Str(s.to_string())
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Self {
        Expr::Str(s)
    }
}

impl From<i64> for Expr {
    fn from(i: i64) -> Self {
        Expr::Int(i)
    }
}

impl From<bool> for Expr {
    fn from(b: bool) -> Self {
        Expr::Bool(b)
    }
}

impl From<Vec<Expr>> for Expr {
    fn from(items: Vec<Expr>) -> Self {
        Expr::List(items)
    }
}

/// `Ref` to a parameter, resource or pseudo parameter.
pub fn r#ref(id: &str) -> Expr {
    Expr::Ref(id.to_string())
}

/// `Fn::GetAtt` of `id.attr`.
pub fn get_att(id: &str, attr: &str) -> Expr {
    Expr::GetAtt(id.to_string(), attr.to_string())
}

/// `Fn::Sub` of a format string.
pub fn sub(format: &str) -> Expr {
    Expr::Sub(format.to_string())
}

/// `Fn::Sub` with local variables.
pub fn sub_with(format: &str, vars: &[(&str, Expr)]) -> Expr {
    Expr::SubWith(
        format.to_string(),
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// `Fn::If` on a named condition.
pub fn if_(condition: &str, then: impl Into<Expr>, otherwise: impl Into<Expr>) -> Expr {
    Expr::If(
        condition.to_string(),
        Box::new(then.into()),
        Box::new(otherwise.into()),
    )
}

/// `Fn::Join`.
pub fn join(separator: &str, parts: Vec<Expr>) -> Expr {
    Expr::Join(separator.to_string(), parts)
}

/// `Fn::Select`.
pub fn select(index: usize, from: Expr) -> Expr {
    Expr::Select(index, Box::new(from))
}

/// The `index`-th availability zone of the stack's region.
pub fn az(index: usize) -> Expr {
    select(index, Expr::GetAzs)
}

/// `Fn::Base64`.
pub fn base64(e: Expr) -> Expr {
    Expr::Base64(Box::new(e))
}

/// `Ref AWS::NoValue`: drops the property.
pub fn no_value() -> Expr {
    r#ref(pseudo::NO_VALUE)
}

/// `Fn::Equals`.
pub fn equals(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
    Expr::Equals(Box::new(a.into()), Box::new(b.into()))
}

/// `Fn::Not`.
pub fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

/// `Fn::Or`.
pub fn or(items: Vec<Expr>) -> Expr {
    Expr::Or(items)
}

/// `Fn::And`.
pub fn and(items: Vec<Expr>) -> Expr {
    Expr::And(items)
}

/// `Condition`: refer to another named condition.
pub fn condition(name: &str) -> Expr {
    Expr::Condition(name.to_string())
}

/// `Fn::GetAtt` of a nested stack's output.
pub fn stack_output(stack: &str, output: &str) -> Expr {
    Expr::StackOutput(stack.to_string(), output.to_string())
}

/// An ARN in the stack's partition: `arn:${AWS::Partition}:<rest>`, where `rest` may use `${...}`.
pub fn arn(rest: &str) -> Expr {
    sub(&format!("arn:${{AWS::Partition}}:{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intrinsics_serialise_in_long_form() {
        assert_eq!(r#ref("VPC").to_value(), json!({"Ref": "VPC"}));
        assert_eq!(
            get_att("NLB", "DNSName").to_value(),
            json!({"Fn::GetAtt": ["NLB", "DNSName"]})
        );
        assert_eq!(
            if_("C", true, no_value()).to_value(),
            json!({"Fn::If": ["C", true, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(
            az(1).to_value(),
            json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]})
        );
        assert_eq!(
            stack_output("UI", "Url").to_value(),
            json!({"Fn::GetAtt": ["UI", "Outputs.Url"]})
        );
        assert_eq!(
            sub_with("${A}", &[("A", r#ref("B"))]).to_value(),
            json!({"Fn::Sub": ["${A}", {"A": {"Ref": "B"}}]})
        );
        assert_eq!(
            arn("s3:::b").to_value(),
            json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::b"})
        );
    }
}
