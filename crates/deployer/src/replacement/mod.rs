//! Predict what an update does to each resource, from the stack's current template and parameters,
//! the new template, and the resource schemas ([`crate::schemas`]), before any change set exists.
//!
//! A resource is replaced when a create-only property changes; a replaced resource gets a new id, so
//! what refers to it changes too, and the prediction runs until no new replacement appears.
//! [`guard`] turns the prediction and the change set into the data a deploy would lose.

mod eval;
pub mod guard;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::schemas::schema_of;
use eval::{Scope, flat, is_literal};

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Modify,
    Remove,
}

/// Whether a modified resource is replaced, in CloudFormation's three words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replacement {
    /// In place (`False`).
    Never,
    /// Depends on values the schema does not spell out (`Conditional`).
    Conditional,
    /// Replaced (`True`).
    Always,
}

/// One predicted change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictedChange {
    pub logical_id: String,
    pub resource_type: String,
    pub action: Action,
    pub replacement: Replacement,
    /// The changed properties that replace it (or may), for a replacement.
    pub because: Vec<String>,
    /// Its unique name, when the template sets one: CloudFormation cannot replace such a resource.
    pub custom_name: Option<String>,
}

/// A name a new resource wants while a resource on its way out still holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameClash {
    pub resource_type: String,
    pub name: String,
    /// The old resource, deleted only after the new one is created.
    pub held_by: String,
    /// The new resource, as `LogicalId` or `NestedStack/LogicalId`.
    pub wanted_by: String,
}

/// Everything predicted for an update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prediction {
    /// Changed resources, in the new template's order, then removals.
    pub changes: Vec<PredictedChange>,
    pub clashes: Vec<NameClash>,
}

impl Prediction {
    /// The changes that replace a resource or may.
    pub fn replacements(&self) -> impl Iterator<Item = &PredictedChange> {
        self.changes
            .iter()
            .filter(|c| c.action == Action::Modify && c.replacement != Replacement::Never)
    }
}

/// One side of the update: a template and its parameter values.
pub struct Side<'a> {
    pub template: &'a Value,
    /// Values as CloudFormation holds them (lists comma-separated).
    pub parameters: &'a [(String, String)],
}

/// A nested template, by the logical id of the stack resource that creates it.
pub struct Nested<'a> {
    pub stack_id: &'a str,
    pub template: &'a Value,
}

/// Predict the update of `old` to `new`. `new.parameters` are the values set explicitly; the rest
/// keep the stack's previous values where it has them, else take the new template's defaults, as
/// the deploy's change set will.
pub fn predict(old: &Side, new: &Side, nested: &[Nested]) -> Prediction {
    let old_params = values(old.template, old.parameters, &[]);
    let new_params = values(new.template, new.parameters, old.parameters);
    let none = BTreeSet::new();
    let before = Parsed::new(old.template);
    let after = Parsed::new(new.template);
    let old_scope = before.scope(&old_params, &none, "root");
    let old_live = before.live(&old_scope);
    let mut replaced = BTreeSet::new();
    let changes = loop {
        let new_scope = after.scope(&new_params, &replaced, "root");
        let changes = compare(&old_live, &new_scope, &after);
        let now: BTreeSet<String> = changes
            .iter()
            .filter(|c| c.action == Action::Modify && c.replacement != Replacement::Never)
            .map(|c| c.logical_id.clone())
            .collect();
        if now == replaced {
            break changes;
        }
        replaced = now;
    };
    let clashes = clashes(&old_live, &changes, nested);
    Prediction { changes, clashes }
}

/// A template's sections.
struct Parsed<'a> {
    resources: &'a Map<String, Value>,
    conditions: &'a Map<String, Value>,
    mappings: &'a Map<String, Value>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Parsed<'a> {
    fn new(t: &'a Value) -> Self {
        let section = |name: &str| t.get(name).and_then(Value::as_object).unwrap_or(&EMPTY);
        Self {
            resources: section("Resources"),
            conditions: section("Conditions"),
            mappings: section("Mappings"),
        }
    }

    fn scope<'s>(
        &'s self,
        params: &'s BTreeMap<String, Value>,
        replaced: &'s BTreeSet<String>,
        stack: &'s str,
    ) -> Scope<'s> {
        Scope {
            params,
            conditions: self.conditions,
            mappings: self.mappings,
            resources: self.resources,
            replaced,
            stack,
        }
    }

    /// The resources whose condition holds, with their evaluated properties.
    fn live(&self, scope: &Scope) -> Vec<(&'a str, &'a str, Value)> {
        self.resources
            .iter()
            .filter(|(_, r)| {
                r.get("Condition")
                    .and_then(Value::as_str)
                    .is_none_or(|c| scope.condition(c))
            })
            .map(|(id, r)| {
                let kind = r.get("Type").and_then(Value::as_str).unwrap_or_default();
                let props = r
                    .get("Properties")
                    .and_then(|p| scope.eval(p))
                    .unwrap_or_else(|| Value::Object(Map::new()));
                (id.as_str(), kind, props)
            })
            .collect()
    }
}

/// Parameter values: `explicit`, then `previous` for names the template declares, then defaults.
fn values(
    template: &Value,
    explicit: &[(String, String)],
    previous: &[(String, String)],
) -> BTreeMap<String, Value> {
    let declared = template.get("Parameters").and_then(Value::as_object);
    let mut out = BTreeMap::new();
    for (name, p) in declared.into_iter().flatten() {
        let given = |list: &[(String, String)]| {
            list.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        };
        let value = given(explicit).or_else(|| given(previous)).or_else(|| {
            p.get("Default")
                .map(|d| flat(Some(d)).trim_matches('"').to_string())
        });
        let Some(value) = value else { continue };
        let kind = p.get("Type").and_then(Value::as_str).unwrap_or_default();
        let value = if kind == "CommaDelimitedList" || kind.starts_with("List<") {
            Value::Array(
                value
                    .split(',')
                    .map(|s| Value::String(s.trim().into()))
                    .collect(),
            )
        } else {
            Value::String(value)
        };
        out.insert(name.clone(), value);
    }
    out
}

fn compare(
    old_live: &[(&str, &str, Value)],
    new_scope: &Scope,
    after: &Parsed,
) -> Vec<PredictedChange> {
    let new_live = after.live(new_scope);
    let mut out = Vec::new();
    for (id, kind, props) in &new_live {
        let change = |action, replacement, because| PredictedChange {
            logical_id: id.to_string(),
            resource_type: kind.to_string(),
            action,
            replacement,
            because,
            custom_name: name_of(kind, props),
        };
        match old_live.iter().find(|(o, _, _)| o == id) {
            None => out.push(change(Action::Add, Replacement::Never, vec![])),
            Some((_, old_kind, _)) if old_kind != kind => out.push(change(
                Action::Modify,
                Replacement::Always,
                vec!["Type".into()],
            )),
            Some((_, _, old_props)) if old_props != props => {
                let (replacement, because) = why_replaced(kind, old_props, props);
                out.push(change(Action::Modify, replacement, because));
            }
            Some(_) => {}
        }
    }
    for (id, kind, props) in old_live {
        if !new_live.iter().any(|(n, _, _)| n == id) {
            out.push(PredictedChange {
                logical_id: id.to_string(),
                resource_type: kind.to_string(),
                action: Action::Remove,
                replacement: Replacement::Never,
                because: vec![],
                custom_name: name_of(kind, props),
            });
        }
    }
    out
}

/// Which create-only (then conditionally create-only) properties differ.
fn why_replaced(kind: &str, old: &Value, new: &Value) -> (Replacement, Vec<String>) {
    let Some(schema) = schema_of(kind) else {
        return (Replacement::Never, vec![]);
    };
    let differs = |path: &&&str| at(old, path) != at(new, path);
    let always: Vec<String> = schema
        .create_only
        .iter()
        .filter(differs)
        .map(|p| p.to_string())
        .collect();
    if !always.is_empty() {
        return (Replacement::Always, always);
    }
    let maybe: Vec<String> = schema
        .conditional
        .iter()
        .filter(differs)
        .map(|p| p.to_string())
        .collect();
    if maybe.is_empty() {
        (Replacement::Never, maybe)
    } else {
        (Replacement::Conditional, maybe)
    }
}

fn at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('/').try_fold(v, |v, key| v.get(key))
}

fn name_of(kind: &str, props: &Value) -> Option<String> {
    let property = schema_of(kind)?.name?;
    props.get(property).map(|v| flat(Some(v)))
}

/// New and replaced resources that want a unique name a resource being removed or replaced still
/// holds: CloudFormation creates the new one before it deletes the old one.
fn clashes(
    old_live: &[(&str, &str, Value)],
    changes: &[PredictedChange],
    nested: &[Nested],
) -> Vec<NameClash> {
    let leaving: Vec<(&str, &str, String)> = changes
        .iter()
        .filter(|c| c.action == Action::Remove || c.replacement != Replacement::Never)
        .filter(|c| c.action != Action::Add)
        .filter_map(|c| {
            let (_, kind, props) = old_live.iter().find(|(id, _, _)| *id == c.logical_id)?;
            let name = name_of(kind, props).filter(|n| is_literal(&Value::String(n.clone())))?;
            Some((c.logical_id.as_str(), *kind, name))
        })
        .collect();
    let mut arriving: Vec<(String, String, String)> = changes
        .iter()
        .filter(|c| c.action == Action::Add || c.replacement != Replacement::Never)
        .filter_map(|c| {
            let name = c.custom_name.clone()?;
            Some((c.logical_id.clone(), c.resource_type.clone(), name))
        })
        .collect();
    for n in nested {
        if changes
            .iter()
            .any(|c| c.logical_id == n.stack_id && c.action == Action::Add)
        {
            arriving.extend(nested_names(n));
        }
    }
    let mut out = Vec::new();
    for (wanted_by, kind, name) in arriving {
        for (held_by, old_kind, old_name) in &leaving {
            if kind == *old_kind && name == *old_name {
                out.push(NameClash {
                    resource_type: kind.clone(),
                    name: name.clone(),
                    held_by: held_by.to_string(),
                    wanted_by: wanted_by.clone(),
                });
            }
        }
    }
    out
}

/// The fully known unique names a nested template gives its resources.
fn nested_names(n: &Nested) -> Vec<(String, String, String)> {
    let parsed = Parsed::new(n.template);
    let params = BTreeMap::new();
    let none = BTreeSet::new();
    let label = format!("stack {}", n.stack_id);
    let scope = parsed.scope(&params, &none, &label);
    parsed
        .live(&scope)
        .into_iter()
        .filter_map(|(id, kind, props)| {
            let name = name_of(kind, &props).filter(|s| is_literal(&Value::String(s.clone())))?;
            Some((format!("{}/{id}", n.stack_id), kind.to_string(), name))
        })
        .collect()
}
