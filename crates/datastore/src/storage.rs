//! Object access over `object_store`: the local filesystem and one S3 client per bucket.

use std::collections::HashMap;
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
}

impl Storage {
    pub(crate) fn new(config: DatastoreConfig) -> Result<Self, DatastoreError> {
        let blobs = Cache::with_weighter(1024, config.cache_bytes, BlobWeight);
        Ok(Self {
            config,
            local: Arc::new(LocalFileSystem::new()),
            s3_clients: Mutex::new(HashMap::new()),
            blobs,
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

    /// The object as a byte stream; `None` when it does not exist.
    pub(crate) async fn stream(
        &self,
        location: &Location,
    ) -> Result<Option<ObjectStream>, DatastoreError> {
        if let Location::Local(path) = location {
            return local_stream(path).await;
        }
        let (store, path) = self.resolve(location).await?;
        match store.get(&path).await {
            Ok(result) => Ok(Some(result.into_stream())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
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

/// Local files in large reads: the object store's local reads go through a blocking task per
/// 8 KiB chunk, which dominates the time to page through a long log.
async fn local_stream(path: &std::path::Path) -> Result<Option<ObjectStream>, DatastoreError> {
    use tokio::io::AsyncReadExt;
    const CHUNK: usize = 256 * 1024;
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(local_error(path, e).into()),
    };
    let path = path.to_path_buf();
    let chunks = futures::stream::try_unfold(file, move |mut file| {
        let path = path.clone();
        async move {
            let mut buf = vec![0u8; CHUNK];
            let mut filled = 0;
            while filled < CHUNK {
                match file.read(&mut buf[filled..]).await {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) => return Err(local_error(&path, e)),
                }
            }
            if filled == 0 {
                return Ok(None);
            }
            buf.truncate(filled);
            Ok(Some((Bytes::from(buf), file)))
        }
    });
    Ok(Some(Box::pin(chunks)))
}

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
