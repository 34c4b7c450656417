//! Where objects are: a local path or an `s3://bucket/key` URL.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::DatastoreError;

/// One object (or prefix) in the datastore.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A local file or directory (absolute).
    Local(PathBuf),
    /// An S3 object or prefix.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key, without a leading `/`.
        key: String,
    },
}

impl Location {
    /// `s3://bucket/key` → S3; anything else is a local path (made absolute).
    pub fn parse(text: &str) -> Result<Self, DatastoreError> {
        let invalid = || DatastoreError::InvalidLocation(text.to_string());
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(invalid());
            }
            return Ok(Self::S3 {
                bucket: bucket.to_string(),
                key: key.trim_matches('/').to_string(),
            });
        }
        if text.is_empty() || text.contains("://") {
            return Err(invalid());
        }
        let path = std::path::absolute(Path::new(text)).map_err(|_| invalid())?;
        Ok(Self::Local(path))
    }

    /// This location with `/segment` appended.
    pub fn join(&self, segment: &str) -> Self {
        match self {
            Self::Local(path) => Self::Local(path.join(segment)),
            Self::S3 { bucket, key } if key.is_empty() => Self::S3 {
                bucket: bucket.clone(),
                key: segment.to_string(),
            },
            Self::S3 { bucket, key } => Self::S3 {
                bucket: bucket.clone(),
                key: format!("{key}/{segment}"),
            },
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(path) => write!(f, "{}", path.display()),
            Self::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// A datastore root (a task's `ds-root`, or a card root): `<root>/<flow>/…` lies under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatastoreRoot(Location);

impl DatastoreRoot {
    /// A local directory or an `s3://bucket/prefix` URL.
    pub fn parse(text: &str) -> Result<Self, DatastoreError> {
        Location::parse(text).map(Self)
    }

    /// Where the root is.
    pub fn location(&self) -> &Location {
        &self.0
    }

    pub(crate) fn join(&self, segment: &str) -> Self {
        Self(self.0.join(segment))
    }

    pub(crate) fn at(&self, segments: &[&str]) -> Location {
        segments.iter().fold(self.0.clone(), |loc, s| loc.join(s))
    }
}

impl fmt::Display for DatastoreRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_and_local() {
        assert_eq!(
            Location::parse("s3://b/metaflow/F/data/ab/abc").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                key: "metaflow/F/data/ab/abc".into()
            }
        );
        assert_eq!(
            Location::parse("/tmp/x/.metaflow").unwrap(),
            Location::Local(PathBuf::from("/tmp/x/.metaflow"))
        );
        assert!(Location::parse("s3:///key").is_err());
        assert!(Location::parse("gs://b/k").is_err());
        assert_eq!(
            DatastoreRoot::parse("s3://b")
                .unwrap()
                .at(&["F", "1"])
                .to_string(),
            "s3://b/F/1"
        );
    }
}
