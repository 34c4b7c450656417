//! Task logs: MFLog lines from the `runtime` and `task` sources, merged by time, paged both
//! ways and streamed (spec `ui-api.md` §7).

mod merge;
mod mflog;
mod tail;

use bytes::Bytes;
use futures::stream::BoxStream;
use merge::{LineReader, Merger};
use serde::Serialize;

use crate::storage::{LogSourceSummary, ObjectVersion, Ranged, Storage};
use crate::{DatastoreError, DatastoreRoot, Location, TaskPath};

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

/// One source of a log, opened at its current version.
pub(crate) struct SourceFile {
    location: Location,
    ranged: Ranged,
    version: ObjectVersion,
}

impl SourceFile {
    async fn reader(&self, max_line: usize) -> Result<LineReader, DatastoreError> {
        let bytes = self.ranged.stream(0..self.version.size).await?;
        Ok(LineReader::new(Some(bytes), max_line))
    }
}

/// Both sources of a task attempt's log, oldest source first; the pre-MFLog single file when
/// neither exists.
async fn sources(
    storage: &Storage,
    root: &DatastoreRoot,
    task: &TaskPath,
    attempt: u32,
    stream: LogStream,
) -> Result<Vec<SourceFile>, DatastoreError> {
    let dir = [task.flow.as_str(), &task.run, &task.step, &task.task];
    let mut names: Vec<String> = ["runtime", "task"]
        .iter()
        .map(|source| format!("{attempt}.{source}_{}.log", stream.name()))
        .collect();
    names.push(format!("{attempt}.{}.log", stream.name()));
    let mut found = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if i == 2 && !found.is_empty() {
            break;
        }
        let location = root.at(&[dir[0], dir[1], dir[2], dir[3], name]);
        if let Some((ranged, version)) = storage.open_ranged(&location).await? {
            found.push(SourceFile {
                location,
                ranged,
                version,
            });
        }
    }
    Ok(found)
}

async fn merger(storage: &Storage, sources: &[SourceFile]) -> Result<Merger, DatastoreError> {
    let max_line = storage.config().max_log_line_bytes;
    let mut readers = Vec::with_capacity(sources.len());
    for source in sources {
        readers.push(source.reader(max_line).await?);
    }
    Ok(Merger::new(readers))
}

/// Each source's line count and order, from the cache or by reading it once.
async fn summaries(
    storage: &Storage,
    sources: &[SourceFile],
) -> Result<Vec<LogSourceSummary>, DatastoreError> {
    let max_line = storage.config().max_log_line_bytes;
    let mut out = Vec::with_capacity(sources.len());
    for source in sources {
        let summary = match storage.log_summary(&source.location, &source.version) {
            Some(summary) => summary,
            None => {
                let summary = tail::summarize(source.reader(max_line).await?).await?;
                storage.remember_log_summary(&source.location, &source.version, summary);
                summary
            }
        };
        out.push(summary);
    }
    Ok(out)
}

fn to_row(row: u64, raw: &[u8]) -> LogLine {
    let (timestamp, line) = mflog::row_fields(raw);
    LogLine {
        row,
        timestamp,
        line,
    }
}

pub(crate) async fn page(
    storage: &Storage,
    root: &DatastoreRoot,
    task: &TaskPath,
    attempt: u32,
    stream: LogStream,
    request: LogPageRequest,
) -> Result<LogPage, DatastoreError> {
    let sources = sources(storage, root, task, attempt, stream).await?;
    let page = request.page.max(1);
    if request.limit == 0 {
        let mut merger = merger(storage, &sources).await?;
        let mut lines = Vec::new();
        while let Some((row, raw)) = merger.next_row().await? {
            lines.push(to_row(row, raw));
        }
        let total_rows = lines.len() as u64;
        if page > 1 {
            lines.clear();
        } else if request.order == LogOrder::Descending {
            lines.reverse();
        }
        return Ok(LogPage { lines, total_rows });
    }
    let summaries = summaries(storage, &sources).await?;
    let total_rows = summaries.iter().map(|s| s.lines).sum::<u64>();
    match request.order {
        LogOrder::Ascending => {
            let first = (page - 1).saturating_mul(request.limit);
            let mut merger = merger(storage, &sources).await?;
            let lines = rows_from(&mut merger, first, request.limit).await?;
            Ok(LogPage { lines, total_rows })
        }
        LogOrder::Descending if page == 1 && summaries.iter().all(|s| s.sorted) => {
            let max_line = storage.config().max_log_line_bytes;
            let lines =
                tail::newest_rows(&sources, &summaries, total_rows, request.limit, max_line)
                    .await?;
            Ok(LogPage { lines, total_rows })
        }
        LogOrder::Descending => {
            // Read forward to the page: the row numbers are the forward merge's.
            let end = total_rows.saturating_sub((page - 1).saturating_mul(request.limit));
            let first = end.saturating_sub(request.limit);
            let mut merger = merger(storage, &sources).await?;
            let mut lines = rows_from(&mut merger, first, end - first).await?;
            lines.reverse();
            Ok(LogPage { lines, total_rows })
        }
    }
}

/// Up to `count` rows from row `first` on.
async fn rows_from(
    merger: &mut Merger,
    first: u64,
    count: u64,
) -> Result<Vec<LogLine>, DatastoreError> {
    let mut lines = Vec::new();
    while (lines.len() as u64) < count {
        let Some((row, raw)) = merger.next_row().await? else {
            break;
        };
        if row >= first {
            lines.push(to_row(row, raw));
        }
    }
    Ok(lines)
}

/// Text chunks of about this size go out in a download.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

pub(crate) async fn download(
    storage: &Storage,
    root: &DatastoreRoot,
    task: &TaskPath,
    attempt: u32,
    stream: LogStream,
) -> Result<LogByteStream, DatastoreError> {
    let sources = sources(storage, root, task, attempt, stream).await?;
    let merger = merger(storage, &sources).await?;
    let chunks = futures::stream::try_unfold(merger, |mut merger| async move {
        let mut chunk = Vec::with_capacity(DOWNLOAD_CHUNK + 1024);
        while chunk.len() < DOWNLOAD_CHUNK {
            let Some((_, raw)) = merger.next_row().await? else {
                break;
            };
            match mflog::parse(raw) {
                Some(parsed) => chunk.extend_from_slice(parsed.text),
                None => chunk.extend_from_slice(raw),
            }
            chunk.push(b'\n');
        }
        if chunk.is_empty() {
            return Ok(None);
        }
        Ok(Some((Bytes::from(chunk), merger)))
    });
    Ok(Box::pin(chunks))
}
