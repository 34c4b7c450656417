//! The services on mfstack's image (`ServiceImage` set) against upstream's (empty): commands,
//! schema-before-traffic, sizes, autoscaling, rollout and routing (issues 11 and 13).

use mfstack_template::components::metadata_service::fargate::{
    MIGRATION_CONTAINER, SERVICE, TASK_DEFINITION,
};
use mfstack_template::components::ui;
use mfstack_template::params::{
    COND_MFSTACK_IMAGE, SERVICE_IMAGE, SERVICE_IMAGE_REPOSITORY, UI_STATIC_IMAGE,
};
use mfstack_template::{StackParams, build};
use serde_json::{Value, json};

/// The `then` and `else` of an `Fn::If` on the mfstack-image condition.
fn branches(v: &Value) -> (&Value, &Value) {
    let args = v["Fn::If"].as_array().expect("an Fn::If");
    assert_eq!(args[0], COND_MFSTACK_IMAGE);
    (&args[1], &args[2])
}

fn env(container: &Value, name: &str) -> Option<Value> {
    container["Environment"]
        .as_array()?
        .iter()
        .find(|e| e["Name"] == name)
        .map(|e| e["Value"].clone())
}

#[test]
fn metadata_task_migrates_before_mfstack_serves() {
    let stack = build(&StackParams::default()).unwrap();
    let task = stack.root.resources()[TASK_DEFINITION].properties();
    let containers = task["ContainerDefinitions"].as_array().unwrap();
    let (migrate, none) = branches(&containers[0]);
    assert_eq!(none, &json!({"Ref": "AWS::NoValue"}));
    assert_eq!(migrate["Name"], MIGRATION_CONTAINER);
    assert_eq!(migrate["Essential"], false);
    assert_eq!(migrate["Command"], json!(["migrate", "up"]));
    assert_eq!(migrate["Image"], json!({"Ref": SERVICE_IMAGE}));
    assert!(env(migrate, "MF_METADATA_DB_HOST").is_some());

    let (serve, upstream) = branches(&containers[1]);
    assert_eq!(serve["Command"], json!(["serve"]));
    assert_eq!(serve["Image"], json!({"Ref": SERVICE_IMAGE}));
    assert_eq!(
        serve["DependsOn"],
        json!([{"ContainerName": MIGRATION_CONTAINER, "Condition": "SUCCESS"}])
    );
    assert_eq!(env(serve, "MFSTACK_NOTIFY_CHANGES"), Some(json!("1")));
    assert_eq!(env(serve, "MF_METADATA_HOST"), Some(json!("0.0.0.0")));
    // Upstream's container is the reference's, unchanged.
    assert_eq!(upstream["Image"], json!({"Ref": "MetadataServiceImage"}));
    assert!(upstream.get("Command").is_none() && upstream.get("DependsOn").is_none());

    assert_eq!(branches(&task["Cpu"]), (&json!("256"), &json!("512")));
    assert_eq!(branches(&task["Memory"]), (&json!("1024"), &json!("1024")));
}

#[test]
fn ui_task_runs_the_ui_api_beside_the_front_end() {
    let stack = build(&StackParams::default()).unwrap();
    let task = stack.ui.resources()[ui::fargate::TASK_DEFINITION].properties();
    let containers = task["ContainerDefinitions"].as_array().unwrap();
    let (backend, upstream) = branches(&containers[0]);
    assert_eq!(backend["Command"], json!(["serve", "--ui-only"]));
    assert_eq!(backend["Image"], json!({"Ref": "ServiceImage"}));
    assert_eq!(env(backend, "MF_UI_METADATA_HOST"), Some(json!("0.0.0.0")));
    assert!(env(backend, "METAFLOW_DATASTORE_SYSROOT_S3").is_some());
    assert!(env(backend, "MF_METADATA_DB_HOST").is_some());
    assert_eq!(env(upstream, "UI_ENABLED"), Some(json!("1")));
    let (front, none) = branches(&containers[1]);
    assert_eq!(front["Image"], json!({"Ref": "UIStaticImage"}));
    assert_eq!(
        front["PortMappings"],
        json!([{"ContainerPort": ui::STATIC_PORT}])
    );
    assert_eq!(none, &json!({"Ref": "AWS::NoValue"}));
    assert_eq!(branches(&task["Cpu"]), (&json!("512"), &json!("4096")));
    assert_eq!(branches(&task["Memory"]), (&json!("1024"), &json!("16384")));

    let nested = &stack.root.resources()[ui::UI_STACK].properties()["Parameters"];
    assert_eq!(nested["ServiceImage"], json!({"Ref": SERVICE_IMAGE}));
    assert_eq!(nested["UIStaticImage"], json!({"Ref": UI_STATIC_IMAGE}));
}

#[test]
fn api_paths_reach_the_backend_and_the_rest_the_front_end() {
    let stack = build(&StackParams::default()).unwrap();
    let res = stack.ui.resources();
    let lb = ui::load_balancer::LOAD_BALANCER;
    assert_eq!(res[lb].properties()["Type"], "application");
    let rule = res[ui::load_balancer::API_RULE].properties();
    assert_eq!(
        rule["Conditions"][0]["PathPatternConfig"]["Values"],
        json!(["/api", "/api/*"])
    );
    assert_eq!(
        rule["Actions"][0]["TargetGroupArn"],
        json!({"Ref": ui::load_balancer::TARGET_GROUP})
    );
    let listener = res[ui::load_balancer::LISTENER].properties();
    let (mfstack, upstream) = branches(&listener["DefaultActions"][0]["TargetGroupArn"]);
    assert_eq!(
        mfstack,
        &json!({"Ref": ui::load_balancer::STATIC_TARGET_GROUP})
    );
    assert_eq!(upstream, &json!({"Ref": ui::load_balancer::TARGET_GROUP}));

    let cdn = res[ui::cloudfront::DISTRIBUTION].properties();
    let api = &cdn["DistributionConfig"]["CacheBehaviors"][0];
    assert_eq!(api["PathPattern"], "/api*");
    // Caching disabled, and every viewer header (the WebSocket upgrade's too) forwarded.
    assert_eq!(api["CachePolicyId"], "4135ea2d-6df8-44a3-9df3-4b5a84be39ad");
    assert_eq!(
        api["OriginRequestPolicyId"],
        "216adef6-5c7f-47e4-b989-5492eafa07d3"
    );
}

#[test]
fn services_roll_back_and_scale_only_on_mfstack() {
    let stack = build(&StackParams::default()).unwrap();
    for (template, service, prefix) in [
        (&stack.root, SERVICE, "MetadataService"),
        (&stack.ui, ui::fargate::SERVICE, "UIService"),
    ] {
        let props = template.resources()[service].properties();
        assert_eq!(
            props["DeploymentConfiguration"]["DeploymentCircuitBreaker"],
            json!({"Enable": true, "Rollback": true})
        );
        let (mfstack, upstream) = branches(&props["DesiredCount"]);
        assert_eq!(mfstack, &json!({"Ref": "AWS::NoValue"}));
        assert_eq!(upstream, &json!(1));
        for id in [
            format!("{prefix}ScalableTarget"),
            format!("{prefix}CpuScaling"),
        ] {
            assert_eq!(
                template.resources()[&id].condition_name(),
                Some(COND_MFSTACK_IMAGE),
                "{id}"
            );
        }
    }
}

#[test]
fn execution_role_pulls_from_the_service_repository() {
    let stack = build(&StackParams::default()).unwrap();
    let role =
        serde_json::to_string(stack.root.resources()["ECSTaskExecutionRole"].properties()).unwrap();
    assert!(
        role.contains(&format!(
            "arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{SERVICE_IMAGE_REPOSITORY}"
        )),
        "{role}"
    );
}

#[test]
fn service_image_is_a_parameter_with_its_pattern() {
    let mut p = StackParams::default();
    let digest = format!("mfstack@sha256:{}", "0".repeat(64));
    p.set(SERVICE_IMAGE, &digest).unwrap();
    let stack = build(&p).unwrap();
    let param = &stack.root.parameters()[SERVICE_IMAGE];
    assert_eq!(param.default.as_deref(), Some(digest.as_str()));
    assert!(param.allowed_pattern.is_some());
    assert!(p.set(SERVICE_IMAGE, "mfstack").is_err());
}
