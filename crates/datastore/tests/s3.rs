//! S3 through moto's server: a flow writes with `--datastore=s3`, the crate reads it back through
//! the endpoint override.

mod common;

#[path = "common/checks.rs"]
mod checks;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfstack_datastore::{Datastore, DatastoreConfig};

/// Stops the moto server this test started.
struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn moto_server() -> Option<PathBuf> {
    let candidates = [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server"),
        PathBuf::from("/tmp/motoenv/bin/moto_server"),
    ];
    if let Some(found) = candidates.into_iter().find(|p| p.exists()) {
        return Some(found);
    }
    if std::env::var_os("CI").is_some() {
        panic!("moto_server is missing: the S3 datastore test needs it in the project venv");
    }
    eprintln!("skipping: moto_server is missing (install moto[server] in the project venv)");
    None
}

fn start_moto(moto: &PathBuf) -> (Moto, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let guard = Moto(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
async fn s3_datastore_reads_what_a_flow_wrote() {
    let Some(python) = common::python() else {
        return;
    };
    let Some(moto) = moto_server() else { return };
    let (_moto, endpoint) = start_moto(&moto);
    let credentials = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ];
    // The crate's S3 client takes credentials from the standard chain, here the environment.
    // This binary runs this one test, so nothing else reads the environment meanwhile.
    for (name, value) in credentials {
        unsafe { std::env::set_var(name, value) };
    }
    let bucket = Command::new(&python)
        .args(["-c", "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1]).create_bucket(Bucket='mfbucket')", &endpoint])
        .output()
        .unwrap();
    assert!(
        bucket.status.success(),
        "{}",
        String::from_utf8_lossy(&bucket.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "METAFLOW_DATASTORE_SYSROOT_S3",
            "s3://mfbucket/metaflow".to_string(),
        ),
        ("METAFLOW_S3_ENDPOINT_URL", endpoint.clone()),
        (
            "METAFLOW_DATASTORE_SYSROOT_LOCAL",
            dir.path().display().to_string(),
        ),
    ];
    let args = [
        "--datastore=s3",
        "--metadata=local",
        "run",
        "--alpha",
        "0.25",
    ];
    let dump = common::run_flow(&python, dir.path(), &env, "datastore_flow.py", &args, true);
    let start = common::tasks(&dump, "start")[0];
    assert_eq!(start["ds_type"], "s3");
    assert_eq!(start["ds_root"], "s3://mfbucket/metaflow");

    let config = DatastoreConfig {
        s3_endpoint_url: Some(endpoint),
        ..DatastoreConfig::default()
    };
    let ds = Datastore::new(config).unwrap();
    checks::artifacts_render_like_python(&ds, &dump).await;
    checks::parameters_and_dag(&ds, &dump).await;
    checks::logs_match_the_client(&ds, &dump).await;
    checks::cards_match_the_client(&ds, &dump).await;
    checks::foreach_indices_match_the_client(&ds, &dump).await;
}
