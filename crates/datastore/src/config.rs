//! Settings, read from the variables Metaflow and the upstream UI backend use.

use std::path::PathBuf;

use crate::location::DatastoreRoot;

/// Where the datastore is and how much of it may be read at once.
#[derive(Debug, Clone)]
pub struct DatastoreConfig {
    /// `METAFLOW_DEFAULT_DATASTORE`: the type assumed when a task has no `ds-type` metadata.
    pub default_ds_type: String,
    /// `METAFLOW_DATASTORE_SYSROOT_LOCAL`: the directory holding the local datastore's `.metaflow`,
    /// used when a task has no `ds-root`.
    pub local_root: Option<PathBuf>,
    /// `METAFLOW_DATASTORE_SYSROOT_S3`: the S3 root (`s3://bucket/prefix`) when a task has no `ds-root`.
    pub s3_root: Option<String>,
    /// `METAFLOW_S3_ENDPOINT_URL`: an S3-compatible endpoint instead of AWS (e.g. moto's S3).
    pub s3_endpoint_url: Option<String>,
    /// `METAFLOW_CARD_S3ROOT`: the S3 card root; default `<datastore root>/mf.cards`.
    pub card_s3_root: Option<String>,
    /// `METAFLOW_CARD_LOCALROOT`: the local card root; default `<datastore root>/mf.cards`.
    pub card_local_root: Option<PathBuf>,
    /// `MAX_PROCESSABLE_S3_ARTIFACT_SIZE_KB` in bytes: larger artifact blobs are not decoded.
    pub max_artifact_bytes: u64,
    /// Blobs that are always decoded (`_graph_info`) may be this large, compressed.
    pub max_blob_bytes: u64,
    /// A blob may decompress to at most this many bytes.
    pub max_decompressed_bytes: u64,
    /// A decoded value may hold at most this many values (bounds pickles that expand shared parts).
    pub max_value_nodes: u64,
    /// A decoded value may nest at most this deep.
    pub max_value_depth: u32,
    /// Memory budget of the cache of immutable content-addressed blobs.
    pub cache_bytes: u64,
    /// A log line longer than this is cut (bounds memory for logs without newlines).
    pub max_log_line_bytes: usize,
}

impl Default for DatastoreConfig {
    fn default() -> Self {
        Self {
            default_ds_type: "local".into(),
            local_root: None,
            s3_root: None,
            s3_endpoint_url: None,
            card_s3_root: None,
            card_local_root: None,
            max_artifact_bytes: 4 * 1024,
            max_blob_bytes: 16 * 1024 * 1024,
            max_decompressed_bytes: 64 * 1024 * 1024,
            max_value_nodes: 200_000,
            max_value_depth: 200,
            cache_bytes: 64 * 1024 * 1024,
            max_log_line_bytes: 1024 * 1024,
        }
    }
}

impl DatastoreConfig {
    /// Defaults overridden by the process environment (`METAFLOW_*`,
    /// `MAX_PROCESSABLE_S3_ARTIFACT_SIZE_KB`).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Defaults overridden by `lookup(variable name)`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = Self::default();
        if let Some(ds_type) = get("METAFLOW_DEFAULT_DATASTORE") {
            config.default_ds_type = ds_type;
        }
        config.local_root = get("METAFLOW_DATASTORE_SYSROOT_LOCAL").map(PathBuf::from);
        config.s3_root = get("METAFLOW_DATASTORE_SYSROOT_S3");
        config.s3_endpoint_url = get("METAFLOW_S3_ENDPOINT_URL");
        config.card_s3_root = get("METAFLOW_CARD_S3ROOT");
        config.card_local_root = get("METAFLOW_CARD_LOCALROOT").map(PathBuf::from);
        if let Some(kb) =
            get("MAX_PROCESSABLE_S3_ARTIFACT_SIZE_KB").and_then(|v| v.parse::<u64>().ok())
        {
            config.max_artifact_bytes = kb.saturating_mul(1024);
        }
        config
    }

    pub(crate) fn root_for(
        &self,
        ds_type: Option<&str>,
        ds_root: Option<&str>,
    ) -> Option<DatastoreRoot> {
        if let Some(root) = ds_root.filter(|r| !r.is_empty()) {
            return DatastoreRoot::parse(root).ok();
        }
        match ds_type.unwrap_or(&self.default_ds_type) {
            "s3" => self
                .s3_root
                .as_deref()
                .and_then(|r| DatastoreRoot::parse(r).ok()),
            // Metaflow keeps the local datastore in `.metaflow` under the configured directory.
            "local" => self
                .local_root
                .as_ref()
                .and_then(|r| DatastoreRoot::parse(&r.join(".metaflow").to_string_lossy()).ok()),
            _ => None,
        }
    }

    /// The card root for a datastore root: the configured one of its kind, else `<root>/mf.cards`.
    pub(crate) fn card_root(&self, root: &DatastoreRoot) -> DatastoreRoot {
        let configured = match root.location() {
            crate::Location::S3 { .. } => self.card_s3_root.clone(),
            crate::Location::Local(_) => self
                .card_local_root
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        };
        configured
            .and_then(|r| DatastoreRoot::parse(&r).ok())
            .unwrap_or_else(|| root.join("mf.cards"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_from_metadata_or_settings() {
        let vars = [
            ("METAFLOW_DATASTORE_SYSROOT_LOCAL", "/data"),
            ("METAFLOW_DATASTORE_SYSROOT_S3", "s3://b/metaflow"),
            ("MAX_PROCESSABLE_S3_ARTIFACT_SIZE_KB", "16"),
        ];
        let config = DatastoreConfig::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        });
        assert_eq!(config.max_artifact_bytes, 16 * 1024);
        let root = |t, r| config.root_for(t, r).map(|root| root.to_string());
        assert_eq!(
            root(Some("s3"), Some("s3://x/y")).as_deref(),
            Some("s3://x/y")
        );
        assert_eq!(root(Some("s3"), None).as_deref(), Some("s3://b/metaflow"));
        assert_eq!(root(None, None).as_deref(), Some("/data/.metaflow"));
        assert_eq!(root(Some("gs"), None), None);
        let s3 = DatastoreRoot::parse("s3://b/metaflow").unwrap();
        assert_eq!(
            config.card_root(&s3).to_string(),
            "s3://b/metaflow/mf.cards"
        );
    }
}
