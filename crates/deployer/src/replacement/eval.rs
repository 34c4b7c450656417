//! Evaluate a template's properties as far as they can be known before a deploy, so that two
//! spellings of one value (`Fn::Join` and `Fn::Sub`, `80` and `"80"`) compare equal, as they do for
//! CloudFormation.
//!
//! What cannot be known (a resource's id, a pseudo parameter) becomes a token such as
//! `⟨Ref Db⟩`. Tokens of a resource that is being replaced read `⟨new Ref Db⟩`, so every property
//! that refers to it differs from its old value, as the real one will.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Everything an expression may refer to.
pub(crate) struct Scope<'a> {
    /// Parameter values: strings, or arrays for list parameters.
    pub params: &'a BTreeMap<String, Value>,
    pub conditions: &'a Map<String, Value>,
    pub mappings: &'a Map<String, Value>,
    pub resources: &'a Map<String, Value>,
    /// Resources being replaced: their ids and attributes are new.
    pub replaced: &'a BTreeSet<String>,
    /// Distinguishes pseudo parameters of different stacks (a nested stack has its own name).
    pub stack: &'a str,
}

const NO_VALUE: &str = "AWS::NoValue";

impl Scope<'_> {
    /// The value of `v`, or `None` where it is `AWS::NoValue`.
    pub fn eval(&self, v: &Value) -> Option<Value> {
        match v {
            Value::Bool(b) => Some(Value::String(b.to_string())),
            Value::Number(n) => Some(Value::String(n.to_string())),
            Value::Array(items) => Some(Value::Array(
                items.iter().filter_map(|i| self.eval(i)).collect(),
            )),
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next()?;
                self.function(key, arg)
                    .unwrap_or_else(|| Some(self.eval_object(map)))
            }
            Value::Object(map) => Some(self.eval_object(map)),
            other => Some(other.clone()),
        }
    }

    fn eval_object(&self, map: &Map<String, Value>) -> Value {
        Value::Object(
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), self.eval(v)?)))
                .collect(),
        )
    }

    /// An intrinsic function's value; `None` when `key` is not one.
    fn function(&self, key: &str, arg: &Value) -> Option<Option<Value>> {
        let value = match key {
            "Ref" => return Some(self.reference(arg.as_str().unwrap_or_default())),
            "Fn::GetAtt" => Some(self.get_att(arg)),
            "Fn::Sub" => Some(self.sub(arg)),
            "Fn::Join" => Some(self.join(arg)),
            "Fn::If" => return Some(self.choose(arg)),
            "Fn::Select" => Some(self.select(arg)),
            "Fn::GetAZs" => Some(token(&format!("{} AZs", self.stack))),
            "Fn::FindInMap" => Some(self.find_in_map(arg)),
            "Condition" => Some(Value::String(
                self.condition(arg.as_str().unwrap_or_default()).to_string(),
            )),
            k if k.starts_with("Fn::") => Some(Value::Object(Map::from_iter([(
                k.to_string(),
                self.eval(arg).unwrap_or(Value::Null),
            )]))),
            _ => return None,
        };
        Some(value)
    }

    fn reference(&self, name: &str) -> Option<Value> {
        if name == NO_VALUE {
            return None;
        }
        if let Some(v) = self.params.get(name) {
            return Some(v.clone());
        }
        Some(if name.starts_with("AWS::") {
            token(&format!("{} {name}", self.stack))
        } else if self.resources.contains_key(name) {
            self.resource_token(name, None)
        } else {
            token(&format!("param {name}"))
        })
    }

    fn resource_token(&self, id: &str, attribute: Option<&str>) -> Value {
        let new = if self.replaced.contains(id) {
            "new "
        } else {
            ""
        };
        match attribute {
            Some(a) => token(&format!("{new}{id}.{a}")),
            None => token(&format!("{new}Ref {id}")),
        }
    }

    fn get_att(&self, arg: &Value) -> Value {
        let (id, attribute) = match arg {
            Value::String(s) => s.split_once('.').unwrap_or((s, "")),
            Value::Array(a) => (
                a.first().and_then(Value::as_str).unwrap_or_default(),
                a.get(1).and_then(Value::as_str).unwrap_or_default(),
            ),
            _ => ("", ""),
        };
        self.resource_token(id, Some(attribute))
    }

    fn sub(&self, arg: &Value) -> Value {
        let (text, vars) = match arg {
            Value::Array(a) => (
                a.first().and_then(Value::as_str).unwrap_or_default(),
                a.get(1).and_then(Value::as_object),
            ),
            other => (other.as_str().unwrap_or_default(), None),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else {
                let value = match vars.and_then(|v| v.get(name)) {
                    Some(v) => self.eval(v),
                    None if name.contains('.') => Some(self.get_att(&Value::String(name.into()))),
                    None => self.reference(name),
                };
                out.push_str(&flat(value.as_ref()));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Value::String(out)
    }

    fn join(&self, arg: &Value) -> Value {
        let sep = arg.get(0).and_then(Value::as_str).unwrap_or_default();
        let parts = arg.get(1).and_then(|l| self.eval(l));
        match parts {
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => Value::String(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(sep),
            ),
            other => Value::Object(Map::from_iter([(
                "Fn::Join".to_string(),
                Value::Array(vec![sep.into(), other.unwrap_or(Value::Null)]),
            )])),
        }
    }

    fn choose(&self, arg: &Value) -> Option<Value> {
        let name = arg.get(0).and_then(Value::as_str).unwrap_or_default();
        let branch = if self.condition(name) { 1 } else { 2 };
        arg.get(branch).and_then(|b| self.eval(b))
    }

    fn select(&self, arg: &Value) -> Value {
        let index = arg.get(0).and_then(|i| self.eval(i));
        let index = flat(index.as_ref());
        match arg.get(1).and_then(|l| self.eval(l)) {
            Some(Value::Array(items)) => index
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i).cloned())
                .unwrap_or(Value::Null),
            other => Value::String(format!("{}[{index}]", flat(other.as_ref()))),
        }
    }

    fn find_in_map(&self, arg: &Value) -> Value {
        let key = |i: usize| flat(arg.get(i).and_then(|k| self.eval(k)).as_ref());
        let (map, top, second) = (key(0), key(1), key(2));
        self.mappings
            .get(&map)
            .and_then(|m| m.get(&top))
            .and_then(|m| m.get(&second))
            .and_then(|v| self.eval(v))
            .unwrap_or_else(|| token(&format!("map {map}.{top}.{second}")))
    }

    /// Whether condition `name` holds; an unknown condition is false, as CloudFormation refuses it.
    pub fn condition(&self, name: &str) -> bool {
        self.conditions.get(name).is_some_and(|c| self.truth(c))
    }

    fn truth(&self, c: &Value) -> bool {
        let Some((key, arg)) = c.as_object().and_then(|m| m.iter().next()) else {
            return flat(self.eval(c).as_ref()) == "true";
        };
        let items = || arg.as_array().into_iter().flatten();
        match key.as_str() {
            "Fn::Equals" => {
                let side = |i: usize| flat(arg.get(i).and_then(|v| self.eval(v)).as_ref());
                side(0) == side(1)
            }
            "Fn::Not" => !arg.get(0).is_some_and(|v| self.truth(v)),
            "Fn::And" => items().all(|v| self.truth(v)),
            "Fn::Or" => items().any(|v| self.truth(v)),
            "Condition" => self.condition(arg.as_str().unwrap_or_default()),
            _ => false,
        }
    }
}

fn token(what: &str) -> Value {
    Value::String(format!("⟨{what}⟩"))
}

/// A value as one string: strings as they are, lists joined by commas, anything else as JSON.
pub(crate) fn flat(v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// Whether a value is fully known, with no token in it.
pub(crate) fn is_literal(v: &Value) -> bool {
    !v.to_string().contains('⟨')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with<T>(params: Value, f: impl FnOnce(&Scope) -> T) -> T {
        let params: BTreeMap<String, Value> = serde_json::from_value(params).unwrap();
        let conditions = json!({"On": {"Fn::Equals": [{"Ref": "Flag"}, "true"]}});
        let mappings = json!({"Info": {"Name": {"value": "svc"}}});
        let resources = json!({"Secret": {}, "Db": {}});
        let replaced = BTreeSet::from(["Db".to_string()]);
        f(&Scope {
            params: &params,
            conditions: conditions.as_object().unwrap(),
            mappings: mappings.as_object().unwrap(),
            resources: resources.as_object().unwrap(),
            replaced: &replaced,
            stack: "root",
        })
    }

    #[test]
    fn join_and_sub_of_one_string_are_equal() {
        with(json!({}), |s| {
            let joined = s.eval(&json!({"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "Secret"}, ":SecretString:username}}"]]}));
            let subbed = s.eval(
                &json!({"Fn::Sub": "{{resolve:secretsmanager:${Secret}:SecretString:username}}"}),
            );
            assert_eq!(joined, subbed);
            let named = s.eval(&json!({"Fn::Join": ["", ["/ecs/", {"Ref": "AWS::StackName"}, "-", {"Fn::FindInMap": ["Info", "Name", "value"]}]]}));
            assert_eq!(
                named,
                s.eval(&json!({"Fn::Sub": "/ecs/${AWS::StackName}-svc"}))
            );
        });
    }

    #[test]
    fn scalars_compare_as_strings_and_no_value_disappears() {
        with(json!({"Flag": "false"}), |s| {
            assert_eq!(s.eval(&json!(80)), s.eval(&json!("80")));
            assert_eq!(s.eval(&json!(true)), s.eval(&json!("true")));
            let v = s.eval(&json!({"A": {"Fn::If": ["On", 1, {"Ref": "AWS::NoValue"}]}, "B": 2}));
            assert_eq!(v, Some(json!({"B": "2"})));
        });
    }

    #[test]
    fn replaced_resources_read_as_new() {
        with(json!({}), |s| {
            assert_eq!(s.eval(&json!({"Ref": "Db"})), Some(json!("⟨new Ref Db⟩")));
            assert_eq!(
                s.eval(&json!({"Fn::GetAtt": ["Secret", "Arn"]})),
                Some(json!("⟨Secret.Arn⟩"))
            );
            let az = s.eval(&json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
            let az_of_region =
                s.eval(&json!({"Fn::Select": ["0", {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}));
            assert_eq!(az, az_of_region);
        });
    }
}
