//! `mfstack deploy` on an existing stack: the parameters that keep its resources as they are, the
//! predicted changes, and the explicit database upgrade (one step RDS allows, snapshot first).

use mfstack_deployer::Aws;
use mfstack_deployer::database::{self, Database};
use mfstack_deployer::replacement::{Action, Nested, Prediction, Replacement, Side, predict};
use mfstack_deployer::stack::Current;
use mfstack_template::adoption;
use mfstack_template::components::ui::UI_STACK;
use serde_json::Value;

use crate::hint::hinted;

/// Parameters an update sets besides the user's: those that adopt a reference stack and keep its
/// PostgreSQL version.
pub fn update_parameters(
    old: &Value,
    existing: &Current,
    explicit: &[(String, String)],
) -> Vec<(String, String)> {
    let given = |name: &str| explicit.iter().any(|(k, _)| k == name);
    adoption::update_parameters(old, &existing.parameters)
        .into_iter()
        .filter(|(k, _)| !given(k))
        .collect()
}

/// An upgrade to PostgreSQL `major` as RDS allows it from the running version, in one step; `None`
/// when that major already runs. Says what will happen and returns the version to set and the
/// snapshot to take first.
pub async fn plan_upgrade(
    aws: &Aws,
    stack: &str,
    major: u32,
) -> anyhow::Result<Option<(String, Database, String)>> {
    let explain = |e| anyhow::Error::new(e).context("reading the stack's database");
    let db = database::of_stack(aws, stack).await.map_err(explain)?;
    let targets = database::upgrade_targets(aws, &db).await.map_err(explain)?;
    let version = match database::upgrade_version(&db.engine_version, major, &targets) {
        Ok(Some(v)) => v,
        Ok(None) => return Ok(None),
        Err(refused) => {
            let hint = match refused.allowed.last() {
                Some(m) => format!(
                    "upgrade in steps RDS allows, one deploy each, e.g. --postgres-major {m}"
                ),
                None => "RDS lists no major upgrade from this version; see the RDS console".into(),
            };
            return Err(hinted(refused, hint));
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let snapshot = database::snapshot_name(stack, &format!("before-postgres-{major}"), now);
    println!(
        "Database upgrade: PostgreSQL {} -> {version}, a one-step upgrade RDS lists for this version.\n  \
         First, once you confirm, snapshot {snapshot} of {} is taken (your way back; delete it when \
         no longer needed).\n  Then RDS upgrades in place: the database is unavailable, and the \
         metadata service fails its requests, until the upgrade ends. RDS gives no estimate; for a \
         {} GB database it is usually 10 to 30 minutes, longer with many tables.",
        db.engine_version, db.instance_id, db.allocated_gb
    );
    Ok(Some((version, db, snapshot)))
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
