//! The database steps of an upgrade and of `mfstack encrypt-database` against moto_server: the
//! snapshot before an upgrade, and the encrypted copy with a KMS key, each safe to run again.
//! Skipped unless `MFSTACK_MOTO_SERVER` names moto_server (required under CI).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfstack_deployer::aws::Credentials;
use mfstack_deployer::database::{self, Database};
use mfstack_deployer::{Aws, AwsOptions};

struct Moto(Child, u16);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn moto() -> Option<Moto> {
    let Some(exe) = std::env::var_os("MFSTACK_MOTO_SERVER") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "MFSTACK_MOTO_SERVER is not set under CI"
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Moto(child, port))
}

async fn aws(m: &Moto) -> Aws {
    Aws::load(AwsOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(format!("http://127.0.0.1:{}", m.1)),
        credentials: Some(Credentials::new("testing", "testing", None, None, "moto")),
        ..AwsOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn snapshot_then_encrypted_copy_each_safe_to_repeat() {
    let Some(m) = moto() else { return };
    let aws = aws(&m).await;
    let rds = aws_sdk_rds::Client::new(aws.sdk_config());
    rds.create_db_instance()
        .db_instance_identifier("metaflow-db")
        .db_instance_class("db.t3.small")
        .engine("postgres")
        .engine_version("11.5")
        .allocated_storage(20)
        .master_username("master")
        .master_user_password("password123")
        .send()
        .await
        .unwrap();
    let db = Database {
        instance_id: "metaflow-db".into(),
        engine: "postgres".into(),
        engine_version: "11.5".into(),
        encrypted: false,
        allocated_gb: 20,
    };
    let poll = Duration::from_millis(100);
    let plain = database::snapshot_name("mf", "before-postgres-12", 1_800_000_000);
    database::snapshot(&aws, &db, &plain, poll).await.unwrap();
    database::snapshot(&aws, &db, &plain, poll).await.unwrap();
    assert_eq!(
        database::snapshot_status(&aws, &plain)
            .await
            .unwrap()
            .as_deref(),
        Some("available")
    );
    assert_eq!(database::snapshot_key(&aws, &plain).await.unwrap(), None);

    let kms = stack_key(&aws).await;
    database::copy_encrypted(&aws, &plain, "mfstack-mf-encrypted", &kms, poll)
        .await
        .unwrap();
    database::copy_encrypted(&aws, &plain, "mfstack-mf-encrypted", &kms, poll)
        .await
        .unwrap();
    let key = database::snapshot_key(&aws, "mfstack-mf-encrypted")
        .await
        .unwrap();
    assert!(
        key.as_deref()
            .is_some_and(|k| k.contains(kms.rsplit('/').next().unwrap())),
        "the copy is encrypted with the stack's key {kms}: {key:?}"
    );
    assert_eq!(
        database::snapshot_status(&aws, "absent").await.unwrap(),
        None
    );
}

/// A KMS key made the way the stack makes its own: by CloudFormation, its id read back.
async fn stack_key(aws: &Aws) -> String {
    let cf = aws_sdk_cloudformation::Client::new(aws.sdk_config());
    cf.create_stack()
        .stack_name("keys")
        .template_body(r#"{"Resources": {"MetaflowKmsKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []}}}}}"#)
        .send()
        .await
        .unwrap();
    database::physical_id(aws, "keys", "MetaflowKmsKey")
        .await
        .unwrap()
}
