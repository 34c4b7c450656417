//! The service image, byte for byte: two gzipped tar layers and an OCI config and manifest, all
//! deterministic (fixed times, owners, order and gzip header), so an unchanged binary gives the same
//! digests and a push finds every blob already there.
//!
//! The first layer never changes: `/etc/passwd` and `/etc/group` naming user 10001, an nsswitch
//! that resolves hosts from `/etc/hosts` then DNS (the runtime mounts both files), and `/tmp`
//! (mode 1777), the one writable place. The second holds only the binary at `/mfstack`, so a new
//! binary is one new layer.

use std::io::Write;

use flate2::{Compression, GzBuilder};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::elf::Arch;

/// The user the service runs as; not root, and owning nothing in the image.
pub const USER: &str = "10001:10001";
/// The binary's path in the image, which is also the entrypoint.
pub const ENTRYPOINT: &str = "/mfstack";
/// Metadata API, migration API, UI API.
pub const PORTS: [u16; 3] = [8080, 8082, 8083];

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

const PASSWD: &str =
    "root:x:0:0:root:/:/sbin/nologin\nmfstack:x:10001:10001:mfstack:/tmp:/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nmfstack:x:10001:\n";
const NSSWITCH: &str = "hosts: files dns\n";

/// One content-addressed blob: a layer or the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// What it is, for progress lines: `base layer`, `binary layer`, `config`.
    pub what: &'static str,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    /// `sha256:HEX` of `bytes`.
    pub digest: String,
}

impl Blob {
    fn new(what: &'static str, media_type: &'static str, bytes: Vec<u8>) -> Self {
        let digest = sha256(&bytes);
        Self {
            what,
            media_type,
            bytes,
            digest,
        }
    }

    fn descriptor(&self) -> serde_json::Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// The assembled image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Base layer first, then the binary layer.
    pub layers: Vec<Blob>,
    pub config: Blob,
    /// The manifest's exact bytes; the image's digest is theirs.
    pub manifest: Vec<u8>,
    /// `sha256:HEX` of `manifest`.
    pub digest: String,
}

impl Image {
    /// Layers and config, in the order they are pushed.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        self.layers.iter().chain(std::iter::once(&self.config))
    }

    /// Compressed size of every blob plus the manifest.
    pub fn size(&self) -> usize {
        self.blobs().map(|b| b.bytes.len()).sum::<usize>() + self.manifest.len()
    }

    /// An immutable tag: the version that built the image and the start of its digest.
    pub fn tag(&self, version: &str) -> String {
        let hex = self.digest.trim_start_matches("sha256:");
        format!("{version}-{}", &hex[..16])
    }
}

/// `sha256:HEX` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Build the image around `binary`, an executable for `arch`; `version` labels it.
pub fn assemble(binary: &[u8], arch: Arch, version: &str) -> std::io::Result<Image> {
    let base_tar = base_layer()?;
    let binary_tar = binary_layer(binary)?;
    let diff_ids = [sha256(&base_tar), sha256(&binary_tar)];
    let layers = vec![
        Blob::new("base layer", LAYER_MEDIA_TYPE, gzip(&base_tar)?),
        Blob::new("binary layer", LAYER_MEDIA_TYPE, gzip(&binary_tar)?),
    ];
    let config = Blob::new(
        "config",
        CONFIG_MEDIA_TYPE,
        to_vec(&config(&diff_ids, arch, version)),
    );
    let manifest = to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config.descriptor(),
        "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
    }));
    let digest = sha256(&manifest);
    Ok(Image {
        layers,
        config,
        manifest,
        digest,
    })
}

fn to_vec(v: &serde_json::Value) -> Vec<u8> {
    // serde_json keeps object keys sorted (no preserve_order), so the bytes are stable.
    v.to_string().into_bytes()
}

fn config(diff_ids: &[String], arch: Arch, version: &str) -> serde_json::Value {
    let ports: serde_json::Map<String, serde_json::Value> = PORTS
        .iter()
        .map(|p| (format!("{p}/tcp"), json!({})))
        .collect();
    json!({
        "architecture": arch.as_oci(),
        "os": "linux",
        "config": {
            "User": USER,
            "Entrypoint": [ENTRYPOINT],
            "Cmd": ["serve"],
            // In a container, loopback would serve no one; the data dir is the one writable place.
            "Env": ["MF_METADATA_HOST=0.0.0.0", "MF_UI_METADATA_HOST=0.0.0.0", "MFSTACK_DATA_DIR=/tmp", "HOME=/tmp"],
            "ExposedPorts": ports,
            "WorkingDir": "/tmp",
            "Labels": {
                "org.opencontainers.image.title": "mfstack",
                "org.opencontainers.image.version": version,
            },
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })
}

fn base_layer() -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    append(&mut tar, "etc/", 0o755, tar::EntryType::Directory, b"")?;
    append(
        &mut tar,
        "etc/group",
        0o644,
        tar::EntryType::Regular,
        GROUP.as_bytes(),
    )?;
    append(
        &mut tar,
        "etc/nsswitch.conf",
        0o644,
        tar::EntryType::Regular,
        NSSWITCH.as_bytes(),
    )?;
    append(
        &mut tar,
        "etc/passwd",
        0o644,
        tar::EntryType::Regular,
        PASSWD.as_bytes(),
    )?;
    append(&mut tar, "tmp/", 0o1777, tar::EntryType::Directory, b"")?;
    tar.into_inner()
}

fn binary_layer(binary: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    append(
        &mut tar,
        &ENTRYPOINT[1..],
        0o755,
        tar::EntryType::Regular,
        binary,
    )?;
    tar.into_inner()
}

/// One entry owned by root with time 0: nothing in it depends on when or where it was built.
fn append(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    mode: u32,
    kind: tar::EntryType,
    data: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(data.len() as u64);
    tar.append_data(&mut header, path, data)
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    // GzBuilder writes mtime 0 and no file name unless told otherwise.
    let mut gz = GzBuilder::new().write(Vec::new(), Compression::default());
    gz.write_all(bytes)?;
    gz.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn entries(layer: &Blob) -> Vec<(String, u32, u64, Vec<u8>)> {
        let mut out = Vec::new();
        let gz = flate2::read::GzDecoder::new(layer.bytes.as_slice());
        let mut tar = tar::Archive::new(gz);
        for e in tar.entries().unwrap() {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0), "{path}");
            out.push((path, h.mode().unwrap(), h.mtime().unwrap(), data));
        }
        out
    }

    #[test]
    fn the_same_binary_gives_the_same_digests() {
        let a = assemble(b"binary", Arch::Amd64, "1.0.0").unwrap();
        let b = assemble(b"binary", Arch::Amd64, "1.0.0").unwrap();
        assert_eq!(a, b);
        let c = assemble(b"binary, changed", Arch::Amd64, "1.0.0").unwrap();
        assert_eq!(a.layers[0].digest, c.layers[0].digest, "base layer shared");
        assert_ne!(a.layers[1].digest, c.layers[1].digest);
        assert_ne!(a.config.digest, c.config.digest);
        assert_ne!(a.digest, c.digest);
        assert_ne!(a.tag("1.0.0"), c.tag("1.0.0"));
    }

    #[test]
    fn the_base_layer_is_pinned() {
        // A change here changes every image's first layer; it must be deliberate.
        let a = assemble(b"", Arch::Amd64, "0").unwrap();
        let base = entries(&a.layers[0]);
        let names: Vec<_> = base.iter().map(|e| (e.0.as_str(), e.1)).collect();
        assert_eq!(
            names,
            [
                ("etc/", 0o755),
                ("etc/group", 0o644),
                ("etc/nsswitch.conf", 0o644),
                ("etc/passwd", 0o644),
                ("tmp/", 0o1777)
            ]
        );
        assert!(base.iter().all(|e| e.2 == 0), "mtime 0 everywhere");
        let passwd = String::from_utf8(base[3].3.clone()).unwrap();
        assert!(passwd.contains("mfstack:x:10001:10001:"), "{passwd}");
        assert_eq!(
            a.layers[0].digest,
            assemble(b"x", Arch::Arm64, "9").unwrap().layers[0].digest
        );
    }

    #[test]
    fn the_binary_is_the_entrypoint_run_as_10001() {
        let a = assemble(b"\x7fELF...", Arch::Amd64, "1.2.3").unwrap();
        let bin = entries(&a.layers[1]);
        assert_eq!(bin.len(), 1);
        assert_eq!(
            (bin[0].0.as_str(), bin[0].1, bin[0].3.as_slice()),
            ("mfstack", 0o755, &b"\x7fELF..."[..])
        );
        let config: serde_json::Value = serde_json::from_slice(&a.config.bytes).unwrap();
        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["config"]["User"], "10001:10001");
        assert_eq!(config["config"]["Entrypoint"], json!(["/mfstack"]));
        assert_eq!(
            config["config"]["ExposedPorts"],
            json!({"8080/tcp": {}, "8082/tcp": {}, "8083/tcp": {}})
        );
        let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
        assert_eq!(diff_ids.len(), 2);
        let manifest: serde_json::Value = serde_json::from_slice(&a.manifest).unwrap();
        assert_eq!(manifest["config"]["digest"], a.config.digest.as_str());
        assert_eq!(manifest["layers"][1]["digest"], a.layers[1].digest.as_str());
        assert_eq!(a.digest, sha256(&a.manifest));
        assert!(a.tag("1.2.3").starts_with("1.2.3-") && a.tag("1.2.3").len() == 22);
    }
}
