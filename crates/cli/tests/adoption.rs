//! Issue 15: updating a stack created from the reference template with the generated one replaces
//! no data-bearing or custom-named resource and reuses no name still held, UI on and off. The
//! fixture carries the reference's logical ids, parameters and the properties that decide
//! replacement; it is not a copy of the reference file.

use mfstack_deployer::replacement::guard::predicted_losses;
use mfstack_deployer::replacement::{Action, Nested, Prediction, Replacement, Side, predict};
use mfstack_template::adoption;
use mfstack_template::{StackParams, UI_TEMPLATE_URL_PARAMETER};
use serde_json::Value;

const REFERENCE: &str = include_str!("fixtures/reference-stack.json");

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What `mfstack deploy` predicts for an update of the reference stack with `enable_ui`.
fn adopt(enable_ui: &str, adopted: bool) -> Prediction {
    adopt_from(REFERENCE, enable_ui, adopted)
}

fn adopt_from(reference: &str, enable_ui: &str, adopted: bool) -> Prediction {
    let old: Value = adoption::parse(reference).unwrap();
    let stack = pairs(&[
        ("EnableUI", enable_ui),
        ("EnableSagemaker", "true"),
        ("APIBasicAuth", "true"),
    ]);
    let built = mfstack_template::build(&StackParams::default()).unwrap();
    let new: Value = serde_json::from_str(&built.root.to_json_compact().unwrap()).unwrap();
    let ui: Value = serde_json::from_str(&built.ui.to_json_compact().unwrap()).unwrap();
    let mut explicit = pairs(&[(
        UI_TEMPLATE_URL_PARAMETER,
        "https://bucket.s3.amazonaws.com/ui.template",
    )]);
    if adopted {
        explicit.extend(adoption::update_parameters(&old, &stack));
    }
    predict(
        &Side {
            template: &old,
            parameters: &stack,
        },
        &Side {
            template: &new,
            parameters: &explicit,
        },
        &[Nested {
            stack_id: "MetaflowUI",
            template: &ui,
        }],
    )
}

fn listing(p: &Prediction) -> String {
    let mut out = Vec::new();
    for c in &p.changes {
        let what = match (c.action, c.replacement) {
            (Action::Add, _) => "add".to_string(),
            (Action::Remove, _) => "delete".to_string(),
            (Action::Modify, Replacement::Never) => continue,
            (Action::Modify, r) => format!("replace ({r:?}: {})", c.because.join(", ")),
        };
        out.push(format!(
            "{:<36} {:<44} {what}",
            c.logical_id, c.resource_type
        ));
    }
    for c in &p.clashes {
        out.push(format!(
            "name clash: {} wants {:?}, held by {}",
            c.wanted_by, c.name, c.held_by
        ));
    }
    out.join("\n")
}

#[test]
fn adopting_the_reference_stack_destroys_no_data_ui_off_and_on() {
    for ui in ["false", "true"] {
        let p = adopt(ui, true);
        println!(
            "EnableUI={ui}, as mfstack deploy adopts it:\n{}\n",
            listing(&p)
        );
        assert!(
            predicted_losses(&p).is_empty(),
            "EnableUI={ui}: {:?}",
            predicted_losses(&p)
        );
        assert!(p.clashes.is_empty(), "{:?}", p.clashes);
        let named: Vec<_> = p
            .replacements()
            .filter(|c| c.custom_name.is_some())
            .collect();
        assert!(named.is_empty(), "custom-named replacements: {named:?}");
        let db = p
            .changes
            .iter()
            .find(|c| c.logical_id == "RDSMasterInstance");
        assert!(
            db.is_none_or(|c| c.replacement == Replacement::Never),
            "{db:?}"
        );
    }
}

#[test]
fn without_adoption_the_database_and_notebook_would_be_replaced() {
    let p = adopt("true", false);
    println!("Without AdoptedStack:\n{}\n", listing(&p));
    let losses = predicted_losses(&p);
    assert_eq!(losses.len(), 1, "{losses:?}");
    assert_eq!(losses[0].logical_id, "RDSMasterInstance");
    assert!(
        losses[0].why.contains("StorageEncrypted"),
        "{}",
        losses[0].why
    );
    let notebook = p
        .changes
        .iter()
        .find(|c| c.logical_id == "SageMakerNotebookInstance")
        .unwrap();
    assert_eq!(notebook.replacement, Replacement::Always);
    assert!(notebook.custom_name.is_some());
}

/// The held-out check: the same prediction on the real reference template, when
/// `MFSTACK_REFERENCE_TEMPLATE` names a copy of it (not kept in this repository).
#[test]
fn the_real_reference_template_adopts_without_data_loss_when_given() {
    let Some(path) = std::env::var_os("MFSTACK_REFERENCE_TEMPLATE") else {
        eprintln!("skipped: MFSTACK_REFERENCE_TEMPLATE is not set");
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    for ui in ["false", "true"] {
        let before = adopt_from(&text, ui, false);
        println!(
            "EnableUI={ui}, before (no AdoptedStack):\n{}\n",
            listing(&before)
        );
        let after = adopt_from(&text, ui, true);
        println!("EnableUI={ui}, after:\n{}\n", listing(&after));
        assert!(
            predicted_losses(&after).is_empty(),
            "{:?}",
            predicted_losses(&after)
        );
        assert!(after.clashes.is_empty(), "{:?}", after.clashes);
        let named: Vec<_> = after
            .replacements()
            .filter(|c| c.custom_name.is_some())
            .collect();
        assert!(named.is_empty(), "custom-named replacements: {named:?}");
    }
}
