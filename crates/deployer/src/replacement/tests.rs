use serde_json::{Value, json};

use super::*;

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A small stack in the reference's style: a database and the secret its user name comes from.
fn old_template() -> Value {
    json!({
        "Parameters": {"EnableNotebook": {"Type": "String", "Default": "true"}},
        "Conditions": {"Notebook": {"Fn::Equals": [{"Ref": "EnableNotebook"}, "true"]}},
        "Resources": {
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Description": "db"}},
            "Subnets": {"Type": "AWS::RDS::DBSubnetGroup", "Properties": {"DBSubnetGroupDescription": "d", "SubnetIds": ["a", "b"]}},
            "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {
                "DBName": "metaflow", "AllocatedStorage": 20, "EngineVersion": "11.5",
                "DBSubnetGroupName": {"Ref": "Subnets"},
                "MasterUsername": {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "Secret"}, ":SecretString:username}}"]]}
            }},
            "Old": {"Type": "AWS::IAM::Role", "Properties": {"Path": "/"}},
            "UiService": {"Type": "AWS::ECS::Service", "Properties": {"ServiceName": "ui", "Cluster": "c"}},
            "Notebook": {"Type": "AWS::SageMaker::NotebookInstance", "Condition": "Notebook", "Properties": {"InstanceType": "ml.t2.xlarge"}}
        }
    })
}

/// The same stack rewritten: other spellings, one new property, the UI in a nested stack.
fn new_template(encrypt: Value, group: Value) -> Value {
    json!({
        "Parameters": {
            "EnableNotebook": {"Type": "String", "Default": "true"},
            "Engine": {"Type": "String", "Default": "18"}
        },
        "Conditions": {"Notebook": {"Fn::Equals": [{"Ref": "EnableNotebook"}, "true"]}},
        "Resources": {
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Description": "db"}},
            "Subnets": {"Type": "AWS::RDS::DBSubnetGroup", "Properties": group},
            "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {
                "DBName": "metaflow", "AllocatedStorage": "20", "EngineVersion": {"Ref": "Engine"},
                "DBSubnetGroupName": {"Ref": "Subnets"},
                "MasterUsername": {"Fn::Sub": "{{resolve:secretsmanager:${Secret}:SecretString:username}}"},
                "StorageEncrypted": encrypt
            }},
            "Ui": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://x"}},
            "Notebook": {"Type": "AWS::SageMaker::NotebookInstance", "Condition": "Notebook", "Properties": {"InstanceType": "ml.t3.xlarge"}}
        }
    })
}

fn nested_ui() -> Value {
    json!({"Resources": {"Service": {"Type": "AWS::ECS::Service", "Properties": {"ServiceName": "ui", "Cluster": {"Ref": "Cluster"}}}}})
}

fn change<'p>(p: &'p Prediction, id: &str) -> Option<&'p PredictedChange> {
    p.changes.iter().find(|c| c.logical_id == id)
}

fn run(new: &Value, new_params: &[(&str, &str)]) -> Prediction {
    let old = old_template();
    let stack = params(&[("EnableNotebook", "true")]);
    let explicit = params(new_params);
    let ui = nested_ui();
    predict(
        &Side {
            template: &old,
            parameters: &stack,
        },
        &Side {
            template: new,
            parameters: &explicit,
        },
        &[Nested {
            stack_id: "Ui",
            template: &ui,
        }],
    )
}

const SAME_GROUP: fn() -> Value =
    || json!({"DBSubnetGroupDescription": "d", "SubnetIds": ["a", "b"]});

#[test]
fn a_create_only_property_the_old_template_never_set_replaces_the_database() {
    let p = run(
        &new_template(json!(true), SAME_GROUP()),
        &[("Engine", "11.5")],
    );
    let db = change(&p, "Db").unwrap();
    assert_eq!(
        (db.action, db.replacement),
        (Action::Modify, Replacement::Always)
    );
    assert_eq!(db.because, ["StorageEncrypted"]);
    let losses = guard::predicted_losses(&p);
    assert_eq!(losses.len(), 1);
    assert!(losses[0].why.contains("StorageEncrypted"), "{losses:?}");
}

#[test]
fn the_same_values_in_other_spellings_change_nothing() {
    let unset = json!({"Ref": "AWS::NoValue"});
    let p = run(&new_template(unset, SAME_GROUP()), &[("Engine", "11.5")]);
    assert_eq!(change(&p, "Db"), None, "{p:?}");
    assert_eq!(change(&p, "Secret"), None);
    assert!(guard::predicted_losses(&p).is_empty());
    let notebook = change(&p, "Notebook").unwrap();
    assert_eq!(notebook.replacement, Replacement::Never);
    assert_eq!(change(&p, "Old").unwrap().action, Action::Remove);
}

#[test]
fn a_replaced_dependency_replaces_what_refers_to_it_by_a_create_only_property() {
    let renamed = json!({"DBSubnetGroupName": "other", "DBSubnetGroupDescription": "d", "SubnetIds": ["a", "b"]});
    let p = run(
        &new_template(json!({"Ref": "AWS::NoValue"}), renamed),
        &[("Engine", "11.5")],
    );
    assert_eq!(
        change(&p, "Subnets").unwrap().replacement,
        Replacement::Always
    );
    let db = change(&p, "Db").unwrap();
    assert_eq!(db.replacement, Replacement::Always);
    assert_eq!(db.because, ["DBSubnetGroupName"]);
}

#[test]
fn a_nested_stack_reusing_a_name_still_held_is_a_clash() {
    let p = run(
        &new_template(json!({"Ref": "AWS::NoValue"}), SAME_GROUP()),
        &[],
    );
    assert_eq!(
        p.clashes,
        [NameClash {
            resource_type: "AWS::ECS::Service".into(),
            name: "ui".into(),
            held_by: "UiService".into(),
            wanted_by: "Ui/Service".into(),
        }]
    );
    // With no explicit value the new default applies: an engine version change, in place.
    assert_eq!(change(&p, "Db").unwrap().replacement, Replacement::Never);
}

#[test]
fn a_resource_whose_condition_turns_false_is_removed() {
    let old = old_template();
    let stack = params(&[("EnableNotebook", "true")]);
    let explicit = params(&[("EnableNotebook", "false")]);
    let p = predict(
        &Side {
            template: &old,
            parameters: &stack,
        },
        &Side {
            template: &old,
            parameters: &explicit,
        },
        &[],
    );
    assert_eq!(
        p.changes
            .iter()
            .map(|c| (c.logical_id.as_str(), c.action))
            .collect::<Vec<_>>(),
        [("Notebook", Action::Remove)]
    );
}
