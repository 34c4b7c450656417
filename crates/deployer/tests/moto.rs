//! The deployer against moto_server, through the same code paths as AWS with only the endpoint
//! overridden. Set `MFSTACK_MOTO_SERVER` to the moto_server executable. Unset, these tests skip,
//! except under CI (`CI` set), where a missing moto_server fails them: a suite that passes without
//! running must not look green there.
//!
//! moto's gaps, worked around here: it emits no per-resource events, returns no outputs for stacks
//! created through change sets (seeded below with a direct UpdateStack, which rebuilds them), skips
//! `AWS::ApiGateway::ApiKey` (the key is made with the API instead), and runs Lambda code only with
//! Docker, so its "simple" Lambda backend is switched on and fed the migration function's answer.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfstack_deployer::aws::Credentials;
use mfstack_deployer::destroy::{self, DeletionProtection, Kept};
use mfstack_deployer::events::{DeployEvent, Recorder};
use mfstack_deployer::package::{Artifacts, content_key};
use mfstack_deployer::{
    Aws, AwsOptions, DeployOutcome, DeployRequest, Error, TemplateSource, deploy, outputs,
};
use mfstack_deployer::{api_key, migration, status, trust};
use serde_json::json;

/// A moto_server on a free loopback port, stopped on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Option<Self> {
        let Some(exe) = std::env::var_os("MFSTACK_MOTO_SERVER") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "MFSTACK_MOTO_SERVER is not set under CI: point it at moto_server \
                 (scripts/test installs moto[server] into .venv)"
            );
            eprintln!("skipped: MFSTACK_MOTO_SERVER is not set (path to moto_server)");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while moto.request("GET", "/moto-api/data.json", "").is_none() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A bare HTTP/1.0 request, for moto's own control API; `None` until the server answers.
    fn request(&self, method: &str, path: &str, body: &str) -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.split_whitespace().nth(1)?.parse().ok()
    }

    async fn aws(&self) -> Aws {
        Aws::load(AwsOptions {
            region: Some("us-east-1".into()),
            endpoint_url: Some(self.url()),
            credentials: Some(Credentials::new("testing", "testing", None, None, "moto")),
            ..AwsOptions::default()
        })
        .await
        .unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const NESTED: &str = r#"{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
  "Outputs": {"QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}}}"#;

/// A root template shaped like mfstack's: a retained bucket, an IAM role, a log group, a function
/// and a nested stack; padded past the inline limit so it must go by S3 URL.
fn root_template(nested_url: &str) -> String {
    json!({
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/mfstack/test"}},
            "UserRole": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
            "Migrate": {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "python3.12", "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["UserRole", "Arn"]},
                "Code": {"ZipFile": "def handler(e, c):\n    return {}\n"}},
                "Metadata": {"Padding": "x".repeat(52_000)}},
            "UI": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": nested_url}}
        },
        "Outputs": {
            "MetaflowDataStoreS3Url": {"Value": {"Fn::Sub": "s3://${Bucket}/metaflow"}},
            "MetaflowUserRoleArn": {"Value": {"Fn::GetAtt": ["UserRole", "Arn"]}},
            "MigrationFunctionName": {"Value": {"Ref": "Migrate"}}
        }
    })
    .to_string()
}

#[tokio::test]
async fn packaging_creates_the_bucket_once_and_uploads_by_content() {
    let Some(moto) = Moto::start() else { return };
    let aws = moto.aws().await;
    let mut ui = Recorder::answering(true);

    let art = Artifacts::ensure(&aws, None, &mut ui).await.unwrap();
    assert_eq!(art.bucket(), "mfstack-artifacts-123456789012-us-east-1");
    assert_eq!(
        ui.events[0],
        DeployEvent::ArtifactsBucket {
            bucket: art.bucket().into(),
            created: true
        }
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws.sdk_config())
            .force_path_style(true)
            .build(),
    );
    let enc = s3
        .get_bucket_encryption()
        .bucket(art.bucket())
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    let pab = s3
        .get_public_access_block()
        .bucket(art.bucket())
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let life = s3
        .get_bucket_lifecycle_configuration()
        .bucket(art.bucket())
        .send()
        .await
        .unwrap();
    assert_eq!(life.rules()[0].expiration().unwrap().days(), Some(30));

    // A second run finds the bucket instead of creating it.
    let again = Artifacts::ensure(&aws, None, &mut ui).await.unwrap();
    assert_eq!(
        ui.events[1],
        DeployEvent::ArtifactsBucket {
            bucket: again.bucket().into(),
            created: false
        }
    );

    let first = art
        .put("nested template UI", NESTED.as_bytes(), "template", &mut ui)
        .await
        .unwrap();
    let second = art
        .put("nested template UI", NESTED.as_bytes(), "template", &mut ui)
        .await
        .unwrap();
    assert!(
        first.uploaded && !second.uploaded,
        "identical content is not uploaded twice"
    );
    assert_eq!(first.key, content_key(NESTED.as_bytes(), "template"));
    assert_eq!(
        first.url,
        format!(
            "https://{}.s3.us-east-1.amazonaws.com/{}",
            art.bucket(),
            first.key
        )
    );
    let head = s3
        .head_object()
        .bucket(art.bucket())
        .key(&first.key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(NESTED.len() as i64));

    // A named bucket must exist already: mfstack creates only its own.
    let err = Artifacts::ensure(&aws, Some("someone-elses-bucket"), &mut ui)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn deploy_operate_and_destroy_a_stack() {
    let Some(moto) = Moto::start() else { return };
    // Before anything is created: moto keeps functions per backend, and the simple one never runs code.
    assert_eq!(
        moto.request(
            "POST",
            "/moto-api/config",
            r#"{"lambda": {"use_docker": false}}"#
        ),
        Some(201)
    );
    let aws = moto.aws().await;
    let mut ui = Recorder::answering(true);
    let art = Artifacts::ensure(&aws, None, &mut ui).await.unwrap();
    let nested = art
        .put("nested template UI", NESTED.as_bytes(), "template", &mut ui)
        .await
        .unwrap();
    let root = root_template(&nested.url);
    let source = TemplateSource::prepare(root.clone(), &art, &mut ui)
        .await
        .unwrap();
    assert!(
        matches!(&source, TemplateSource::Url(u) if u.ends_with(".template")),
        "root over 51,200 bytes goes by URL"
    );
    let mut req = DeployRequest::new("mf-test", source);
    req.poll_interval = Duration::from_millis(100);

    let outcome = deploy(&aws, &req, &mut ui).await.unwrap();
    assert_eq!(
        outcome,
        DeployOutcome::Deployed {
            status: "CREATE_COMPLETE".into(),
            created: true
        }
    );
    let preview = ui.events.iter().find_map(|e| match e {
        DeployEvent::Preview(rows) => Some(rows.clone()),
        _ => None,
    });
    let preview = preview.expect("a preview before executing");
    assert_eq!(preview.len(), 5, "{preview:?}");
    assert!(preview.iter().all(|r| r.action == "Add"));
    assert!(ui.events.iter().any(|e| matches!(e, DeployEvent::Capabilities { because, .. } if because == &["UserRole (AWS::IAM::Role)"])));
    assert!(
        ui.events
            .iter()
            .any(|e| matches!(e, DeployEvent::Progress(_)))
    );
    assert!(matches!(
        ui.events.last(),
        Some(DeployEvent::Finished { .. })
    ));

    // The nested stack came from the real-S3-form URL.
    let cf = aws_sdk_cloudformation::Client::new(aws.sdk_config());
    let stacks = cf.describe_stacks().send().await.unwrap();
    assert!(
        stacks
            .stacks()
            .iter()
            .any(|s| s.stack_name().is_some_and(|n| n.starts_with("mf-test-UI"))),
        "nested stack created"
    );

    // moto builds outputs only on UpdateStack; seed them that way (see the module docs).
    let found = outputs::outputs(&aws, "mf-test").await.unwrap();
    if found.is_empty() {
        cf.update_stack()
            .stack_name("mf-test")
            .template_url(match &req.template {
                TemplateSource::Url(u) => u.clone(),
                TemplateSource::Body(_) => unreachable!(),
            })
            .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
            .send()
            .await
            .unwrap();
    }
    let found = outputs::outputs(&aws, "mf-test").await.unwrap();
    let bucket_url = outputs::require(&found, "mf-test", "MetaflowDataStoreS3Url").unwrap();
    assert!(
        bucket_url.starts_with("s3://") && bucket_url.ends_with("/metaflow"),
        "{bucket_url}"
    );
    let role_arn = outputs::require(&found, "mf-test", "MetaflowUserRoleArn")
        .unwrap()
        .to_string();
    let function = outputs::require(&found, "mf-test", "MigrationFunctionName")
        .unwrap()
        .to_string();
    assert!(matches!(
        outputs::require(&found, "mf-test", "Nope"),
        Err(Error::MissingOutput { .. })
    ));

    // Trust: added once, reported as present the second time.
    let who = vec!["arn:aws:iam::123456789012:user/ana".to_string()];
    let change = trust::add_trusted_principals(&aws, &role_arn, &who)
        .await
        .unwrap();
    assert_eq!(change.added, who);
    let change = trust::add_trusted_principals(&aws, &role_arn, &who)
        .await
        .unwrap();
    assert_eq!((change.added.len(), change.present.len()), (0, 1));

    // API key value (moto skips AWS::ApiGateway::ApiKey, so make one through the API).
    let apigw = aws_sdk_apigateway::Client::new(aws.sdk_config());
    let key = apigw
        .create_api_key()
        .name("mf-test")
        .value("k3y-value-123456789012345")
        .enabled(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_key::value(&aws, key.id().unwrap()).await.unwrap(),
        "k3y-value-123456789012345"
    );

    // Migration: moto's simple Lambda backend (switched on before deploying) answers instead.
    let answer = json!({"init-status": {"is_up_to_date": false, "current_version": "1"},
                        "upgrade-result": "ok", "final-status": {"is_up_to_date": true, "current_version": "2"}});
    let queue = json!({"results": [answer.to_string()], "region": "us-east-1"}).to_string();
    assert_eq!(
        moto.request("POST", "/moto-api/static/lambda-simple/response", &queue),
        Some(201)
    );
    let report = migration::invoke(&aws, &function).await.unwrap();
    assert_eq!(
        (
            report.before.and_then(|b| b.up_to_date),
            report.after.up_to_date
        ),
        (Some(false), Some(true))
    );
    assert_eq!(report.after.version.as_deref(), Some("2"));

    // Destroy: the bucket is retained, and removed only because delete_data is set.
    let plan = destroy::destroy_plan(&aws, "mf-test").await.unwrap();
    let kept: Vec<_> = plan
        .kept
        .iter()
        .map(|(r, k)| (r.logical_id.as_str(), *k))
        .collect();
    assert_eq!(kept, [("Bucket", Kept::Retained)]);
    assert_eq!(plan.deleted.len(), 4, "{:?}", plan.deleted);
    let bucket = plan.retained_buckets().next().unwrap().physical_id.clone();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws.sdk_config())
            .force_path_style(true)
            .build(),
    );
    s3.put_object()
        .bucket(&bucket)
        .key("metaflow/data")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let report = destroy::destroy(&aws, &plan, true, Duration::from_millis(100), &mut ui)
        .await
        .unwrap();
    assert_eq!(report.status, "DELETE_COMPLETE");
    assert_eq!(report.buckets_removed, std::slice::from_ref(&bucket));
    assert!(
        s3.head_bucket().bucket(&bucket).send().await.is_err(),
        "retained bucket emptied and removed"
    );
    assert_eq!(status::status(&aws, "mf-test").await.unwrap(), None);
}

#[tokio::test]
async fn redeploy_without_changes_and_declining_are_not_errors() {
    let Some(moto) = Moto::start() else { return };
    let aws = moto.aws().await;
    let body = json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}).to_string();
    let mut req = DeployRequest::new("mf-small", TemplateSource::Body(body));
    req.poll_interval = Duration::from_millis(100);

    // Declining the first change set leaves no stack behind.
    let mut no = Recorder::answering(false);
    assert_eq!(
        deploy(&aws, &req, &mut no).await.unwrap(),
        DeployOutcome::Declined
    );
    assert_eq!(no.decisions.len(), 1);
    assert_eq!(status::status(&aws, "mf-small").await.unwrap(), None);

    let mut yes = Recorder::answering(true);
    assert!(matches!(
        deploy(&aws, &req, &mut yes).await.unwrap(),
        DeployOutcome::Deployed { created: true, .. }
    ));
    let mut again = Recorder::answering(true);
    let second = deploy(&aws, &req, &mut again).await.unwrap();
    assert_eq!(second, DeployOutcome::NoChanges, "{:?}", again.events);
    assert!(again.events.contains(&DeployEvent::NoChanges));
    assert!(
        again.decisions.is_empty(),
        "nothing to confirm when nothing changes"
    );
}

#[tokio::test]
async fn a_broken_template_is_rejected_with_its_reason() {
    let Some(moto) = Moto::start() else { return };
    let aws = moto.aws().await;
    let req = DeployRequest::new("mf-bad", TemplateSource::Body("{\"Resources\": 42".into()));
    let err = deploy(&aws, &req, &mut Recorder::answering(true))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TemplateRejected(_) | Error::Aws { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn destroy_turns_database_deletion_protection_off_first() {
    let Some(moto) = Moto::start() else { return };
    let aws = moto.aws().await;
    // The database as mfstack's template declares it: protection through a parameter, default on.
    let body = json!({
        "Parameters": {
            "DatabaseDeletionProtection": {"Type": "String", "Default": "true", "AllowedValues": ["false", "true"]},
            "Owner": {"Type": "String", "Default": "nobody"}
        },
        "Resources": {
            "Db": {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot", "Properties": {
                "AllocatedStorage": "20", "DBInstanceClass": "db.t4g.micro", "Engine": "postgres",
                "MasterUsername": "master", "MasterUserPassword": "password123",
                "DeletionProtection": {"Ref": "DatabaseDeletionProtection"}}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Ref": "Owner"}}}
        }
    })
    .to_string();
    let mut req = DeployRequest::new("mf-protected", TemplateSource::Body(body));
    req.parameters = vec![("Owner".into(), "ana".into())];
    req.poll_interval = Duration::from_millis(100);
    let mut ui = Recorder::answering(true);
    assert!(matches!(
        deploy(&aws, &req, &mut ui).await.unwrap(),
        DeployOutcome::Deployed { created: true, .. }
    ));

    let plan = destroy::destroy_plan(&aws, "mf-protected").await.unwrap();
    assert_eq!(
        plan.protection,
        DeletionProtection::Parameter("DatabaseDeletionProtection".into())
    );
    let mut ui = Recorder::answering(true);
    let report = destroy::destroy(&aws, &plan, false, Duration::from_millis(100), &mut ui)
        .await
        .unwrap();
    assert_eq!(report.status, "DELETE_COMPLETE");
    assert_eq!(status::status(&aws, "mf-protected").await.unwrap(), None);

    // The update came first, finished, and then the delete.
    let finished: Vec<&str> = ui
        .events
        .iter()
        .filter_map(|e| match e {
            DeployEvent::Finished { status, .. } => Some(status.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(finished, ["UPDATE_COMPLETE", "DELETE_COMPLETE"]);
    assert_eq!(
        ui.events[0],
        DeployEvent::LiftingDeletionProtection {
            parameter: "DatabaseDeletionProtection".into()
        }
    );

    // The update changed the one parameter and kept the other's value.
    let cf = aws_sdk_cloudformation::Client::new(aws.sdk_config());
    let gone = cf
        .describe_stacks()
        .stack_name(&plan.stack_id)
        .send()
        .await
        .unwrap();
    let values: Vec<(&str, &str)> = gone.stacks()[0]
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap_or_default(),
                p.parameter_value().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        values.contains(&("DatabaseDeletionProtection", "false")),
        "{values:?}"
    );
    assert!(values.contains(&("Owner", "ana")), "{values:?}");
}

#[tokio::test]
async fn a_failed_unprotecting_update_deletes_nothing() {
    let Some(moto) = Moto::start() else { return };
    let aws = moto.aws().await;
    let body = json!({
        "Parameters": {"DatabaseDeletionProtection": {"Type": "String", "Default": "false"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}
    })
    .to_string();
    let mut req = DeployRequest::new("mf-stays", TemplateSource::Body(body));
    req.poll_interval = Duration::from_millis(100);
    deploy(&aws, &req, &mut Recorder::answering(true))
        .await
        .unwrap();
    let plan = destroy::destroy_plan(&aws, "mf-stays").await.unwrap();
    assert_eq!(plan.protection, DeletionProtection::Off);

    // A parameter the stack does not have: CloudFormation refuses the update (moto with a 500).
    let mut stale = plan.clone();
    stale.protection = DeletionProtection::Parameter("DatabaseDeletionProtection".into());
    stale.parameters.push(("Gone".into(), "x".into()));
    let err = destroy::destroy(
        &aws,
        &stale,
        false,
        Duration::from_millis(100),
        &mut Recorder::answering(true),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("UpdateStack"), "{err}");
    assert!(
        status::status(&aws, "mf-stays").await.unwrap().is_some(),
        "nothing is deleted after a failed update"
    );

    // Already "false" when the update runs: "no updates" is not a failure, the delete goes on.
    let mut late = plan.clone();
    late.protection = DeletionProtection::Parameter("DatabaseDeletionProtection".into());
    let report = destroy::destroy(
        &aws,
        &late,
        false,
        Duration::from_millis(100),
        &mut Recorder::answering(true),
    )
    .await
    .unwrap();
    assert_eq!(report.status, "DELETE_COMPLETE");
}
