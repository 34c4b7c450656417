//! The newest page of a log without reading it all: each source's line count is kept per
//! version, and when every source's times are in order the newest rows of the merge are the
//! newest rows of the sources' tails, read backwards with ranged reads.

use super::merge::LineReader;
use super::{LogLine, SourceFile, mflog, to_row};
use crate::DatastoreError;
use crate::storage::{LogSourceSummary, Ranged};

/// Bytes per ranged read when scanning backwards.
const BLOCK: u64 = 64 * 1024;

/// Counts a source's lines and checks that its MFLog times never go backwards.
pub(super) async fn summarize(mut reader: LineReader) -> Result<LogSourceSummary, DatastoreError> {
    let mut lines = 0;
    let mut sorted = true;
    let mut last = Vec::new();
    while let Some(line) = reader.next_line().await? {
        lines += 1;
        if sorted && let Some(parsed) = mflog::parse(line) {
            if parsed.timestamp < last.as_slice() {
                sorted = false;
            } else {
                last.clear();
                last.extend_from_slice(parsed.timestamp);
            }
        }
    }
    Ok(LogSourceSummary { lines, sorted })
}

/// The newest `limit` rows, newest first, of sources whose times are each in order. Sorted
/// sources merge into one order by (time, source), so the newest rows are among each source's
/// newest `limit` lines, and their row numbers count back from `total_rows`.
pub(super) async fn newest_rows(
    sources: &[SourceFile],
    summaries: &[LogSourceSummary],
    total_rows: u64,
    limit: u64,
    max_line: usize,
) -> Result<Vec<LogLine>, DatastoreError> {
    let merging = summaries.iter().filter(|s| s.lines > 0).count() > 1;
    let mut rows: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (source, summary) in sources.iter().zip(summaries) {
        let wanted = limit.min(summary.lines);
        if wanted == 0 {
            continue;
        }
        let size = source.version.size;
        let start = if wanted == summary.lines {
            0
        } else {
            tail_start(&source.ranged, size, wanted).await?
        };
        let stream = source.ranged.stream(start..size).await?;
        let mut reader = LineReader::new(Some(stream), max_line);
        let mut key: Vec<u8> = Vec::new();
        let mut first = true;
        while let Some(line) = reader.next_line().await? {
            let line = line.to_vec();
            match mflog::parse(&line) {
                Some(parsed) => {
                    key.clear();
                    key.extend_from_slice(parsed.timestamp);
                }
                // An untimed line sorts with the timed line before it, which may be further back.
                None if first && start > 0 && merging => {
                    key = key_before(&source.ranged, start, max_line).await?;
                }
                None => {}
            }
            first = false;
            rows.push((key.clone(), line));
        }
    }
    // Stable, over rows pushed source by source: at equal times the earlier source comes first,
    // as in the merge, and each source keeps its order.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let skip = rows
        .len()
        .saturating_sub(usize::try_from(limit).unwrap_or(usize::MAX));
    let kept = (rows.len() - skip) as u64;
    let first_row = total_rows.saturating_sub(kept);
    Ok(rows[skip..]
        .iter()
        .enumerate()
        .rev()
        .map(|(j, (_, raw))| to_row(first_row + j as u64, raw))
        .collect())
}

/// Where the last `count` lines of an object of `size` bytes begin.
async fn tail_start(ranged: &Ranged, size: u64, count: u64) -> Result<u64, DatastoreError> {
    let mut end = size;
    let mut found = 0;
    while end > 0 {
        let from = end.saturating_sub(BLOCK);
        let block = ranged.read(from..end).await?;
        for i in memchr::memrchr_iter(b'\n', &block) {
            let at = from + i as u64;
            // The final newline ends the last line; it does not start another.
            if at + 1 == size {
                continue;
            }
            found += 1;
            if found == count {
                return Ok(at + 1);
            }
        }
        end = from;
    }
    Ok(0)
}

/// The time of the nearest MFLog line before byte `start` (a line start), or the empty key the
/// merge gives lines before any timed one.
async fn key_before(
    ranged: &Ranged,
    start: u64,
    max_line: usize,
) -> Result<Vec<u8>, DatastoreError> {
    // Byte start - 1 is the newline that ends the line before.
    let mut end = start - 1;
    let mut line_end = end;
    loop {
        let from = end.saturating_sub(BLOCK);
        let block = ranged.read(from..end).await?;
        for i in memchr::memrchr_iter(b'\n', &block) {
            let line_start = from + i as u64 + 1;
            if let Some(key) = key_of(ranged, &block, from, line_start..line_end, max_line).await? {
                return Ok(key);
            }
            line_end = line_start - 1;
        }
        if from == 0 {
            return Ok(key_of(ranged, &block, 0, 0..line_end, max_line)
                .await?
                .unwrap_or_default());
        }
        end = from;
    }
}

/// The MFLog time of the line at `line` (without its newline), read as the line reader would
/// see it: `\r` dropped from a whole line, cut at `max_line` bytes.
async fn key_of(
    ranged: &Ranged,
    block: &[u8],
    block_from: u64,
    line: std::ops::Range<u64>,
    max_line: usize,
) -> Result<Option<Vec<u8>>, DatastoreError> {
    let want = (line.end - line.start).min(max_line as u64 + 1);
    let block_end = block_from + block.len() as u64;
    let fetched;
    let bytes: &[u8] = if line.start >= block_from && line.start + want <= block_end {
        let at = (line.start - block_from) as usize;
        &block[at..at + want as usize]
    } else {
        fetched = ranged.read(line.start..line.start + want).await?;
        &fetched
    };
    let whole = want == line.end - line.start;
    let bytes = match bytes.strip_suffix(b"\r") {
        Some(stripped) if whole => stripped,
        _ => bytes,
    };
    let bytes = &bytes[..bytes.len().min(max_line)];
    Ok(mflog::parse(bytes).map(|parsed| parsed.timestamp.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::super::{LogOrder, LogPageRequest, LogStream, page};
    use crate::storage::Storage;
    use crate::{DatastoreConfig, DatastoreRoot, TaskPath};

    /// xorshift64*: enough randomness for shapes, and the same cases on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A source of MFLog lines whose times step by 0–2 seconds (ties across sources are
    /// common), with untimed, empty, over-long and `\r\n` lines mixed in; `disorder` lets a time
    /// go back.
    fn source(rng: &mut Rng, name: &str, disorder: bool) -> String {
        let lines = rng.below(40);
        let mut second = rng.below(5);
        let mut text = String::new();
        for i in 0..lines {
            match rng.below(10) {
                0 => text.push_str(&format!("untimed {name} {i}")),
                1 => {}
                2 => text.push_str(&format!(
                    "[MFLOG|0|2024-01-01T00:00:{second:02}Z|{name}|x]{}",
                    "long".repeat(20)
                )),
                _ => {
                    second += rng.below(3);
                    if disorder && rng.below(8) == 0 {
                        second = second.saturating_sub(3);
                    }
                    text.push_str(&format!(
                        "[MFLOG|0|2024-01-01T00:00:{second:02}Z|{name}|x]{name} {i}"
                    ));
                }
            }
            text.push_str(if rng.below(6) == 0 { "\r\n" } else { "\n" });
        }
        if rng.below(3) == 0 {
            text.pop();
        }
        text
    }

    #[tokio::test]
    async fn newest_page_matches_the_forward_merge() {
        let dir = tempfile::tempdir().unwrap();
        let task_dir = dir.path().join("F/1/s/2");
        std::fs::create_dir_all(&task_dir).unwrap();
        let root = DatastoreRoot::parse(&dir.path().display().to_string()).unwrap();
        let task = TaskPath {
            flow: "F".into(),
            run: "1".into(),
            step: "s".into(),
            task: "2".into(),
        };
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut tail_cases = 0;
        for case in 0..300 {
            let disorder = case % 4 == 0;
            for name in ["runtime", "task"] {
                let path = task_dir.join(format!("0.{name}_stdout.log"));
                // Some cases have one source only.
                if rng.below(8) == 0 {
                    let _ = std::fs::remove_file(&path);
                } else {
                    std::fs::write(&path, source(&mut rng, name, disorder)).unwrap();
                }
            }
            // A fresh store each case: no line count from an earlier case's file.
            let storage = Storage::new(DatastoreConfig {
                max_log_line_bytes: 60,
                ..DatastoreConfig::default()
            })
            .unwrap();
            let request = |page, limit, order| LogPageRequest { page, limit, order };
            let all = page(
                &storage,
                &root,
                &task,
                0,
                LogStream::Stdout,
                request(1, 0, LogOrder::Ascending),
            )
            .await
            .unwrap();
            let sources = super::super::sources(&storage, &root, &task, 0, LogStream::Stdout)
                .await
                .unwrap();
            let summaries = super::super::summaries(&storage, &sources).await.unwrap();
            if summaries.iter().all(|s| s.sorted) {
                tail_cases += 1;
            }
            for limit in [1, 3, 7, 30, 100] {
                let newest = page(
                    &storage,
                    &root,
                    &task,
                    0,
                    LogStream::Stdout,
                    request(1, limit, LogOrder::Descending),
                )
                .await
                .unwrap();
                let expected: Vec<_> = all
                    .lines
                    .iter()
                    .rev()
                    .take(limit as usize)
                    .cloned()
                    .collect();
                assert_eq!(
                    newest.total_rows, all.total_rows,
                    "case {case}, limit {limit}"
                );
                assert_eq!(newest.lines, expected, "case {case}, limit {limit}");
            }
        }
        // Most cases go through the tail reads, some through the fallback.
        assert!(
            (150..300).contains(&tail_cases),
            "{tail_cases} cases read tails"
        );
    }
}
