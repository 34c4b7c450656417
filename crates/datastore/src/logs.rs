//! Task logs: MFLog lines from the `runtime` and `task` sources, merged by time, paged both
//! ways and streamed (spec `ui-api.md` §7).

use bytes::Bytes;
use futures::stream::BoxStream;
use serde::Serialize;

use crate::storage::Storage;
use crate::{DatastoreError, DatastoreRoot, TaskPath};

/// Which log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Standard output (`…/logs/out`).
    Stdout,
    /// Standard error (`…/logs/err`).
    Stderr,
}

impl LogStream {
    /// `stdout` or `stderr`, as in file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// Row order of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogOrder {
    /// Oldest first (`_order=+row`).
    #[default]
    Ascending,
    /// Newest first (`_order=-row`).
    Descending,
}

/// Which page: `page` counts from 1; `limit` 0 means the whole log in one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPageRequest {
    /// The page number, from 1.
    pub page: u64,
    /// Rows per page; 0 for all.
    pub limit: u64,
    /// Row order.
    pub order: LogOrder,
}

/// One row: its index in the merged log (from 0, oldest first), its time and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Position in the merged log, oldest first, from 0 (as upstream numbers rows).
    pub row: u64,
    /// Milliseconds since the epoch; `None` for lines that are not MFLog lines.
    pub timestamp: Option<i64>,
    /// The text, without the MFLog prefix.
    pub line: String,
}

/// A page of rows and the log's total row count (for `pages.last`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogPage {
    /// The rows of this page, in the requested order.
    pub lines: Vec<LogLine>,
    /// Rows in the whole log.
    pub total_rows: u64,
}

/// A log as text, chunk by chunk.
pub type LogByteStream = BoxStream<'static, Result<Bytes, DatastoreError>>;

pub(crate) async fn page(
    _storage: &Storage,
    _root: &DatastoreRoot,
    _task: &TaskPath,
    _attempt: u32,
    _stream: LogStream,
    _request: LogPageRequest,
) -> Result<LogPage, DatastoreError> {
    Ok(LogPage::default())
}

pub(crate) async fn download(
    _storage: &Storage,
    _root: &DatastoreRoot,
    _task: &TaskPath,
    _attempt: u32,
    _stream: LogStream,
) -> Result<LogByteStream, DatastoreError> {
    Ok(Box::pin(futures::stream::empty()))
}
