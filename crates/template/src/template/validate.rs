//! Reference checks over a whole template.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Template;
use crate::TemplateError;
use crate::intrinsics::pseudo;

impl Template {
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
    use serde::Serialize;

    use super::*;
    use crate::intrinsics::{Expr, r#ref, sub};
    use crate::template::ResourceProperties;

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
