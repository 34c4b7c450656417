//! Object access over `object_store`: the local filesystem and one S3 client per bucket.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore};
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::{DatastoreConfig, DatastoreError, Location};

/// A byte stream of one object.
pub(crate) type ObjectStream = BoxStream<'static, Result<Bytes, object_store::Error>>;

#[derive(Clone)]
struct BlobWeight;

impl Weighter<Location, Bytes> for BlobWeight {
    fn weight(&self, _key: &Location, blob: &Bytes) -> u64 {
        // The key and the entry's bookkeeping cost about as much as a short path.
        blob.len() as u64 + 256
    }
}

pub(crate) struct Storage {
    config: DatastoreConfig,
    local: Arc<dyn ObjectStore>,
    s3_clients: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    blobs: Cache<Location, Bytes, BlobWeight>,
    /// Line counts of log sources by version: a finished task's log never changes, and counting
    /// a long one is most of the cost of its newest page.
    log_summaries: Cache<(Location, ObjectVersion), LogSourceSummary>,
}

/// What identifies one version of an object: its size and its ETag (S3) or mtime (local).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ObjectVersion {
    pub(crate) size: u64,
    tag: String,
}

/// One version of an object, opened for ranged reads. A local file stays open, so every read of
/// it is of the same file, with one open.
#[derive(Clone)]
pub(crate) enum Ranged {
    Local(Arc<std::path::PathBuf>, Arc<std::fs::File>),
    Store(Arc<dyn ObjectStore>, ObjectPath),
}

impl Ranged {
    /// The bytes in `range`.
    pub(crate) async fn read(&self, range: Range<u64>) -> Result<Bytes, object_store::Error> {
        match self {
            Self::Local(path, file) => {
                let (path, file) = (path.clone(), file.clone());
                tokio::task::spawn_blocking(move || {
                    use std::os::unix::fs::FileExt;
                    let mut buf = vec![0u8; (range.end - range.start) as usize];
                    file.read_exact_at(&mut buf, range.start)
                        .map_err(|e| local_error(&path, e))?;
                    Ok(Bytes::from(buf))
                })
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "LocalFileSystem",
                    source: Box::new(e),
                })?
            }
            Self::Store(store, path) => store.get_range(path, range).await,
        }
    }

    /// The bytes in `range` as a stream: one request on S3, large reads locally.
    pub(crate) async fn stream(&self, range: Range<u64>) -> Result<ObjectStream, DatastoreError> {
        match self {
            Self::Local(..) => {
                let ranged = self.clone();
                let chunks = futures::stream::try_unfold(range.start, move |at| {
                    let ranged = ranged.clone();
                    async move {
                        if at >= range.end {
                            return Ok(None);
                        }
                        let until = (at + LOCAL_CHUNK as u64).min(range.end);
                        let bytes = ranged.read(at..until).await?;
                        Ok(Some((bytes, until)))
                    }
                });
                Ok(Box::pin(chunks))
            }
            Self::Store(_, _) if range.is_empty() => Ok(Box::pin(futures::stream::empty())),
            Self::Store(store, path) => {
                let options = object_store::GetOptions {
                    range: Some(range.into()),
                    ..Default::default()
                };
                Ok(store.get_opts(path, options).await?.into_stream())
            }
        }
    }
}

/// Lines in one version of a log source, and whether their MFLog times never go backwards (when
/// they don't, the newest rows of a merge come from the sources' tails alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogSourceSummary {
    pub(crate) lines: u64,
    pub(crate) sorted: bool,
}

impl Storage {
    pub(crate) fn new(config: DatastoreConfig) -> Result<Self, DatastoreError> {
        let blobs = Cache::with_weighter(1024, config.cache_bytes, BlobWeight);
        Ok(Self {
            config,
            local: Arc::new(LocalFileSystem::new()),
            s3_clients: Mutex::new(HashMap::new()),
            blobs,
            log_summaries: Cache::new(4096),
        })
    }

    pub(crate) fn config(&self) -> &DatastoreConfig {
        &self.config
    }

    async fn resolve(
        &self,
        location: &Location,
    ) -> Result<(Arc<dyn ObjectStore>, ObjectPath), DatastoreError> {
        let invalid = || DatastoreError::InvalidLocation(location.to_string());
        match location {
            Location::Local(path) => {
                let object_path = ObjectPath::from_absolute_path(path).map_err(|_| invalid())?;
                Ok((self.local.clone(), object_path))
            }
            Location::S3 { bucket, key } => {
                let object_path = ObjectPath::parse(key).map_err(|_| invalid())?;
                Ok((self.s3_client(bucket).await?, object_path))
            }
        }
    }

    async fn s3_client(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, DatastoreError> {
        if let Some(client) = self.s3_clients.lock().expect("s3 client map").get(bucket) {
            return Ok(client.clone());
        }
        // The standard chain: AWS_* variables, web identity, the ECS task role, instance metadata.
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        let region_set = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|r| !r.is_empty()));
        if let Some(endpoint) = &self.config.s3_endpoint_url {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        } else if !region_set {
            // Without a region, S3 answers requests for a bucket elsewhere with a redirect.
            let region = object_store::aws::resolve_bucket_region(bucket, &ClientOptions::new())
                .await
                .map_err(DatastoreError::Storage)?;
            builder = builder.with_region(region);
        }
        let client: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
        self.s3_clients
            .lock()
            .expect("s3 client map")
            .insert(bucket.to_string(), client.clone());
        Ok(client)
    }

    /// The whole object, refused without reading the body when it is over `limit` bytes.
    pub(crate) async fn get_bounded(
        &self,
        location: &Location,
        limit: u64,
    ) -> Result<Bytes, DatastoreError> {
        let (store, path) = self.resolve(location).await?;
        let result = store.get(&path).await.map_err(|e| not_found(e, location))?;
        if result.meta.size > limit {
            return Err(DatastoreError::TooLarge {
                location: location.to_string(),
                limit,
            });
        }
        result.bytes().await.map_err(|e| not_found(e, location))
    }

    /// Like [`Self::get_bounded`], for content-addressed blobs, which never change: cached.
    pub(crate) async fn get_immutable(
        &self,
        location: &Location,
        limit: u64,
    ) -> Result<Bytes, DatastoreError> {
        if let Some(blob) = self.blobs.get(location).filter(|b| b.len() as u64 <= limit) {
            return Ok(blob);
        }
        let blob = self.get_bounded(location, limit).await?;
        self.blobs.insert(location.clone(), blob.clone());
        Ok(blob)
    }

    /// The object's current version, for ranged reads; `None` when it does not exist.
    pub(crate) async fn open_ranged(
        &self,
        location: &Location,
    ) -> Result<Option<(Ranged, ObjectVersion)>, DatastoreError> {
        if let Location::Local(path) = location {
            let file = match tokio::fs::File::open(path).await {
                Ok(file) => file.into_std().await,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(local_error(path, e).into()),
            };
            let meta = match file.metadata() {
                Ok(meta) if meta.is_file() => meta,
                Ok(_) => return Ok(None),
                Err(e) => return Err(local_error(path, e).into()),
            };
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .unwrap_or_default();
            let version = ObjectVersion {
                size: meta.len(),
                tag: format!("{}.{:09}", modified.as_secs(), modified.subsec_nanos()),
            };
            let ranged = Ranged::Local(Arc::new(path.clone()), Arc::new(file));
            return Ok(Some((ranged, version)));
        }
        let (store, path) = self.resolve(location).await?;
        match store.head(&path).await {
            Ok(meta) => {
                let tag = meta
                    .e_tag
                    .clone()
                    .unwrap_or_else(|| meta.last_modified.to_rfc3339());
                let version = ObjectVersion {
                    size: meta.size,
                    tag,
                };
                Ok(Some((Ranged::Store(store, path), version)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn log_summary(
        &self,
        location: &Location,
        version: &ObjectVersion,
    ) -> Option<LogSourceSummary> {
        self.log_summaries.get(&(location.clone(), version.clone()))
    }

    pub(crate) fn remember_log_summary(
        &self,
        location: &Location,
        version: &ObjectVersion,
        summary: LogSourceSummary,
    ) {
        self.log_summaries
            .insert((location.clone(), version.clone()), summary);
    }

    /// Names of the objects directly under the `prefix` directory; empty when there is none.
    pub(crate) async fn list_names(
        &self,
        prefix: &Location,
    ) -> Result<Vec<String>, DatastoreError> {
        if let Location::Local(dir) = prefix
            && !tokio::fs::try_exists(dir).await.unwrap_or(false)
        {
            return Ok(Vec::new());
        }
        let (store, path) = self.resolve(prefix).await?;
        let listing = match store.list_with_delimiter(Some(&path)).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut names: Vec<String> = listing
            .objects
            .iter()
            .filter_map(|meta| meta.location.filename().map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }
}

/// Bytes per local read when streaming a file: the object store's local reads go through a
/// blocking task per 8 KiB chunk, which dominates the time to page through a long log.
const LOCAL_CHUNK: usize = 256 * 1024;

fn local_error(path: &std::path::Path, source: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalFileSystem",
        source: format!("{}: {source}", path.display()).into(),
    }
}

fn not_found(error: object_store::Error, location: &Location) -> DatastoreError {
    match error {
        object_store::Error::NotFound { .. } => DatastoreError::NotFound(location.to_string()),
        other => DatastoreError::Storage(other),
    }
}
