//! `mfstack deploy` on an existing stack: the parameters that keep its resources as they are, the
//! predicted changes, the explicit database upgrade, and the refusal to destroy data.

use mfstack_deployer::replacement::guard::DataLoss;
use mfstack_deployer::replacement::{Action, Nested, Prediction, Replacement, Side, predict};
use mfstack_deployer::stack::Current;
use mfstack_template::adoption;
use mfstack_template::components::ui::UI_STACK;
use mfstack_template::params::POSTGRES_ENGINE_VERSION;
use serde_json::Value;

use crate::hint::hinted;

/// Parameters an update sets besides the user's: those that adopt a reference stack, and the
/// PostgreSQL version (kept, or the one-step upgrade asked for with `--postgres-major`).
pub fn update_parameters(
    postgres_major: Option<u32>,
    old: &Value,
    existing: &Current,
    explicit: &[(String, String)],
) -> anyhow::Result<Vec<(String, String)>> {
    let given = |name: &str| explicit.iter().any(|(k, _)| k == name);
    let mut out: Vec<(String, String)> = adoption::update_parameters(old, &existing.parameters)
        .into_iter()
        .filter(|(k, _)| !given(k))
        .collect();
    let Some(target) = postgres_major else {
        return Ok(out);
    };
    let now = existing
        .parameters
        .iter()
        .find(|(k, _)| k == POSTGRES_ENGINE_VERSION)
        .map(|(_, v)| v.clone())
        .or_else(|| adoption::engine_version(old, &existing.parameters))
        .unwrap_or_default();
    let major: u32 = now
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if target == major {
        return Ok(out);
    }
    if target != major + 1 {
        return Err(hinted(
            format!("the database runs PostgreSQL {now}; {target} is not the next major version"),
            format!(
                "upgrade one major version per deploy: --postgres-major {}",
                major + 1
            ),
        ));
    }
    println!(
        "Database upgrade: PostgreSQL {now} -> {target}. RDS takes a snapshot before a major \
         upgrade (backups are on), then the database is unavailable while it upgrades: typically \
         10 to 30 minutes for a database of this size; the metadata service fails its requests \
         meanwhile."
    );
    out.retain(|(k, _)| k != POSTGRES_ENGINE_VERSION);
    out.push((POSTGRES_ENGINE_VERSION.to_string(), target.to_string()));
    Ok(out)
}

/// Predict the update from the stack's template and parameters to `root` (and the UI template).
pub fn predict_update(
    old: &Value,
    existing: &Current,
    root: &str,
    ui: Option<&str>,
    parameters: &[(String, String)],
) -> anyhow::Result<Prediction> {
    let new: Value = serde_json::from_str(root)?;
    let ui: Option<Value> = ui.map(serde_json::from_str).transpose()?;
    let nested: Vec<Nested> = ui
        .iter()
        .map(|t| Nested {
            stack_id: UI_STACK,
            template: t,
        })
        .collect();
    Ok(predict(
        &Side {
            template: old,
            parameters: &existing.parameters,
        },
        &Side {
            template: &new,
            parameters,
        },
        &nested,
    ))
}

/// The prediction as a list: replacements with their reasons, then removals and name clashes.
pub fn prediction_text(p: &Prediction) -> String {
    let mut out = vec!["Predicted from the resource schemas, before the change set:".to_string()];
    let mut any = false;
    for c in &p.changes {
        let line = match (c.action, c.replacement) {
            (Action::Modify, Replacement::Always) => {
                format!(
                    "  replace  {} ({}): {}",
                    c.logical_id,
                    c.resource_type,
                    c.because.join(", ")
                )
            }
            (Action::Modify, Replacement::Conditional) => format!(
                "  may replace  {} ({}): {}",
                c.logical_id,
                c.resource_type,
                c.because.join(", ")
            ),
            (Action::Remove, _) => format!("  delete   {} ({})", c.logical_id, c.resource_type),
            _ => continue,
        };
        any = true;
        let named = match (&c.custom_name, c.action) {
            (Some(n), Action::Modify) => {
                format!(" -- named {n}; CloudFormation cannot replace a named resource")
            }
            _ => String::new(),
        };
        out.push(format!("{line}{named}"));
    }
    for clash in &p.clashes {
        any = true;
        out.push(format!(
            "  name clash: {} wants {} {:?}, still held by {} until it is deleted",
            clash.wanted_by, clash.resource_type, clash.name, clash.held_by
        ));
    }
    if !any {
        out.push("  no replacement, no deletion".to_string());
    }
    let (added, modified) = p.changes.iter().fold((0, 0), |(a, m), c| match c.action {
        Action::Add => (a + 1, m),
        Action::Modify => (a, m + 1),
        Action::Remove => (a, m),
    });
    out.push(format!("  ({added} added, {modified} modified)"));
    out.join("\n")
}

/// The error a refused deploy ends with: each resource, why, and what would be lost.
pub fn refusal(stack: &str, losses: &[DataLoss]) -> anyhow::Error {
    let list: Vec<String> = losses
        .iter()
        .map(|l| {
            format!(
                "{} ({}): {}; lost: {}",
                l.logical_id, l.resource_type, l.why, l.lost
            )
        })
        .collect();
    hinted(
        format!(
            "not deploying {stack}: the update would destroy data\n  {}",
            list.join("\n  ")
        ),
        "nothing was changed. If losing it is intended (after a backup), deploy again with \
         --allow-data-replacement",
    )
}
