//! Blobs no flow would write: each becomes an error entry, never a failure or a panic.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use mfstack_datastore::{ArtifactErrorKind, ArtifactRef, Datastore, DatastoreConfig};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Writes `blob` where a flow would and returns the artifact row pointing at it.
fn put(root: &Path, sha: &str, blob: &[u8]) -> ArtifactRef {
    let dir = root.join("HostileFlow/data").join(&sha[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(sha), blob).unwrap();
    ArtifactRef {
        flow: "HostileFlow".into(),
        name: sha.into(),
        location: format!(":root:{}", root.display()),
        sha: sha.into(),
    }
}

async fn error_id(ds: &Datastore, artifact: &ArtifactRef) -> ArtifactErrorKind {
    ds.artifact_content(artifact)
        .await
        .expect_err("an error entry")
        .id
}

/// `x0 = [1]; x(n+1) = [xn, xn]`: 2^levels values from a few hundred bytes.
fn exponential_pickle(levels: u8) -> Vec<u8> {
    let mut pickle = b"\x80\x04]\x94K\x01a".to_vec();
    for level in 0..levels {
        pickle.extend_from_slice(&[
            b']',
            0x94,
            b'(',
            b'h',
            2 * level,
            b'h',
            2 * level,
            b'e',
            b'0',
        ]);
        pickle.extend_from_slice(&[b'h', 2 * level + 1, 0x94]);
    }
    pickle.push(b'.');
    pickle
}

#[tokio::test]
async fn hostile_blobs_become_error_entries() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let ds = Datastore::new(DatastoreConfig::default()).unwrap();
    use ArtifactErrorKind::*;

    let whole = gzip(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x0chello world!\x94.");
    let ok = put(root, "aa01", &whole);
    assert_eq!(ds.artifact_content(&ok).await.unwrap(), "hello world!");

    let truncated = put(root, "aa02", &whole[..whole.len() - 6]);
    assert_eq!(error_id(&ds, &truncated).await, ArtifactDecompressFailed);

    let not_pickle = put(root, "aa03", &gzip(b"this is not a pickle"));
    assert_eq!(error_id(&ds, &not_pickle).await, ArtifactUnpickleFailed);

    let bomb = put(root, "aa04", &gzip(&exponential_pickle(60)));
    assert_eq!(error_id(&ds, &bomb).await, ArtifactTooComplex);

    let mut deep = b"\x80\x04".to_vec();
    deep.extend(std::iter::repeat_n(b']', 100_000));
    deep.extend(std::iter::repeat_n(b'a', 99_999));
    deep.push(b'.');
    let deep = put(root, "aa05", &gzip(&deep));
    assert_eq!(error_id(&ds, &deep).await, ArtifactTooComplex);

    let gzip_bomb = gzip(&vec![b'N'; 8 * 1024 * 1024]);
    let config = DatastoreConfig {
        max_decompressed_bytes: 1024 * 1024,
        ..DatastoreConfig::default()
    };
    let small = Datastore::new(config).unwrap();
    let gzip_bomb = put(root, "aa06", &gzip_bomb);
    assert_eq!(error_id(&small, &gzip_bomb).await, ArtifactTooLarge);

    let too_large = put(root, "aa07", &vec![7u8; 5000]);
    let error = ds.artifact_content(&too_large).await.unwrap_err();
    assert_eq!(error.id, ArtifactTooLarge);
    assert_eq!(
        serde_json::to_value(&error).unwrap()["id"],
        "artifact-too-large"
    );

    let object = put(
        root,
        "aa08",
        &gzip(b"\x80\x04\x8c\x08builtins\x8c\x06object\x93)R."),
    );
    assert_eq!(error_id(&ds, &object).await, ArtifactUnpickleFailed);

    let missing = ArtifactRef {
        sha: "ff00".into(),
        ..ok.clone()
    };
    assert_eq!(error_id(&ds, &missing).await, ArtifactNotFound);
    let bad_sha = ArtifactRef {
        sha: "../../etc".into(),
        ..ok.clone()
    };
    assert_eq!(error_id(&ds, &bad_sha).await, ArtifactInvalidLocation);

    // Read as a foreach stack, each is no index rather than an error.
    for hostile in [
        &ok,
        &truncated,
        &not_pickle,
        &bomb,
        &deep,
        &too_large,
        &missing,
        &bad_sha,
    ] {
        assert_eq!(ds.foreach_index(hostile).await, None, "{}", hostile.sha);
    }
    assert_eq!(small.foreach_index(&gzip_bomb).await, None);

    let ok_again = ds.parameters(&[ok, not_pickle.clone()]).await;
    assert_eq!(ok_again["aa01"], "hello world!");
    assert!(ok_again["aa03"].is_string());
    assert!(ds.dag(&not_pickle).await.is_err());
}
