//! Artifact content, run parameters and the DAG (spec `ui-api.md` §7).

use serde::Serialize;

use crate::blob::{self, Unpack};
use crate::pickle_guard::{self, Limits, Refusal};
use crate::pyvalue::{self, PyValue};
use crate::storage::Storage;
use crate::{DatastoreError, Location, pyjson, pyrepr};

/// The fields of an artifact row that locate its blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRef {
    /// The flow name.
    pub flow: String,
    /// The artifact name.
    pub name: String,
    /// The row's `location`: `:root:<datastore root>` (current clients) or the blob's own path or URL.
    pub location: String,
    /// The row's `sha`, the blob's content address.
    pub sha: String,
}

impl ArtifactRef {
    /// Where the blob is: `<root>/<flow>/data/<sha[:2]>/<sha>` for `:root:` locations.
    pub fn blob_location(&self) -> Result<Location, DatastoreError> {
        let Some(root) = self.location.strip_prefix(":root:") else {
            return Location::parse(&self.location);
        };
        let valid_sha = self.sha.len() > 2 && self.sha.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid_sha || self.flow.is_empty() || self.flow.contains('/') {
            return Err(DatastoreError::InvalidLocation(self.location.clone()));
        }
        let root = crate::DatastoreRoot::parse(root)?;
        Ok(root.at(&[&self.flow, "data", &self.sha[..2], &self.sha]))
    }
}

/// What a decoding failure was, as the `id` of a `postprocess_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactErrorKind {
    /// The blob is over `MAX_PROCESSABLE_S3_ARTIFACT_SIZE_KB` (or decompresses past the limit).
    ArtifactTooLarge,
    /// No blob at the location.
    ArtifactNotFound,
    /// The location is neither a local path nor an `s3://` URL.
    ArtifactInvalidLocation,
    /// The datastore could not be read (credentials, network, permissions).
    ArtifactNotAccessible,
    /// The blob is not valid gzip.
    ArtifactDecompressFailed,
    /// The payload is not a pickle of built-in types.
    ArtifactUnpickleFailed,
    /// The pickle expands to more values, or nests deeper, than allowed.
    ArtifactTooComplex,
}

impl ArtifactErrorKind {
    /// The id as the wire shows it (`artifact-too-large`, …).
    pub fn id(self) -> &'static str {
        match self {
            Self::ArtifactTooLarge => "artifact-too-large",
            Self::ArtifactNotFound => "artifact-not-found",
            Self::ArtifactInvalidLocation => "artifact-invalid-location",
            Self::ArtifactNotAccessible => "artifact-not-accessible",
            Self::ArtifactDecompressFailed => "artifact-decompress-failed",
            Self::ArtifactUnpickleFailed => "artifact-unpickle-failed",
            Self::ArtifactTooComplex => "artifact-too-complex",
        }
    }
}

/// An artifact that could not be rendered: `{"id": …, "detail": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactError {
    /// What kind of failure.
    pub id: ArtifactErrorKind,
    /// A human-readable reason.
    pub detail: String,
}

impl ArtifactError {
    pub(crate) fn new(id: ArtifactErrorKind, detail: impl Into<String>) -> Self {
        Self {
            id,
            detail: detail.into(),
        }
    }
}

/// The rendered content of an artifact, or why there is none.
pub type ArtifactContent = Result<String, ArtifactError>;

fn storage_error(error: DatastoreError) -> ArtifactError {
    use ArtifactErrorKind::*;
    let kind = match &error {
        DatastoreError::NotFound(_) => ArtifactNotFound,
        DatastoreError::TooLarge { .. } => ArtifactTooLarge,
        DatastoreError::InvalidLocation(_) => ArtifactInvalidLocation,
        DatastoreError::Decode { .. } => ArtifactUnpickleFailed,
        DatastoreError::Storage(_) => ArtifactNotAccessible,
    };
    ArtifactError::new(kind, error.to_string())
}

/// Reads and decodes the blob at `location`, compressed size at most `limit`.
async fn load_value(
    storage: &Storage,
    artifact: &ArtifactRef,
    limit: u64,
) -> Result<PyValue, ArtifactError> {
    load(storage, artifact, limit, |pickle| {
        pyvalue::decode(pickle).map_err(|e| {
            ArtifactError::new(ArtifactErrorKind::ArtifactUnpickleFailed, e.to_string())
        })
    })
    .await
}

/// Reads the blob of `artifact` (compressed size at most `limit`) and hands its checked pickle to
/// `decode`.
pub(crate) async fn load<T: Send + 'static>(
    storage: &Storage,
    artifact: &ArtifactRef,
    limit: u64,
    decode: fn(&[u8]) -> Result<T, ArtifactError>,
) -> Result<T, ArtifactError> {
    let location = artifact.blob_location().map_err(storage_error)?;
    let blob = storage
        .get_immutable(&location, limit)
        .await
        .map_err(storage_error)?;
    let config = storage.config().clone();
    // Decoding is CPU work on up to the configured limits: keep it off the async workers.
    tokio::task::spawn_blocking(move || decode(&checked_pickle(&blob, &config)?))
        .await
        .unwrap_or_else(|e| {
            Err(ArtifactError::new(
                ArtifactErrorKind::ArtifactUnpickleFailed,
                e.to_string(),
            ))
        })
}

/// The pickle inside one blob (gzip + pickle), once it is known to decode within the configured
/// limits.
fn checked_pickle(blob: &[u8], config: &crate::DatastoreConfig) -> Result<Vec<u8>, ArtifactError> {
    use ArtifactErrorKind::*;
    let pickle = blob::unpack(blob, config.max_decompressed_bytes).map_err(|e| match e {
        Unpack::TooLarge => ArtifactError::new(ArtifactTooLarge, "decompresses past the limit"),
        Unpack::Corrupt(reason) => ArtifactError::new(ArtifactDecompressFailed, reason),
    })?;
    let limits = Limits {
        nodes: config.max_value_nodes,
        depth: config.max_value_depth,
    };
    pickle_guard::check(&pickle, limits).map_err(|refusal| match refusal {
        Refusal::TooComplex => {
            ArtifactError::new(ArtifactTooComplex, "value too large or too deep")
        }
        Refusal::Malformed(reason) => ArtifactError::new(ArtifactUnpickleFailed, reason),
    })?;
    Ok(pickle)
}

pub(crate) async fn content(storage: &Storage, artifact: &ArtifactRef) -> ArtifactContent {
    let limit = storage.config().max_artifact_bytes;
    load_value(storage, artifact, limit)
        .await
        .map(|value| pyrepr::python_str(&value))
}

pub(crate) async fn parameters(
    storage: &Storage,
    artifacts: &[ArtifactRef],
) -> serde_json::Map<String, serde_json::Value> {
    let limit = storage.config().max_artifact_bytes;
    let mut values = serde_json::Map::new();
    for artifact in artifacts {
        let name = artifact.name.as_str();
        if name.starts_with('_') || name == "name" || name == "script_name" {
            continue;
        }
        let value = match load_value(storage, artifact, limit).await {
            Ok(value) => pyjson::to_json(&value),
            Err(error) => serde_json::Value::String(error.detail),
        };
        values.insert(artifact.name.clone(), value);
    }
    values
}

pub(crate) async fn dag(
    storage: &Storage,
    artifact: &ArtifactRef,
) -> Result<serde_json::Value, DatastoreError> {
    let limit = storage.config().max_blob_bytes;
    let location = &artifact.location;
    match load_value(storage, artifact, limit).await {
        Ok(value) => Ok(pyjson::to_json(&value)),
        Err(error) if error.id == ArtifactErrorKind::ArtifactNotFound => {
            Err(DatastoreError::NotFound(location.to_string()))
        }
        Err(error) => Err(DatastoreError::Decode {
            location: location.to_string(),
            reason: error.detail,
        }),
    }
}
