//! A streaming merge of log sources by MFLog time, holding one line per source in memory.

use futures::StreamExt;

use super::mflog;
use crate::DatastoreError;
use crate::storage::ObjectStream;

/// Splits a byte stream into lines (without `\n` / `\r\n`), cutting lines over `max_line` bytes.
pub(crate) struct LineReader {
    stream: Option<ObjectStream>,
    buf: Vec<u8>,
    start: usize,
    max_line: usize,
    /// Dropping the rest of a line that was cut.
    skipping: bool,
}

impl LineReader {
    pub(crate) fn new(stream: Option<ObjectStream>, max_line: usize) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            start: 0,
            max_line: max_line.max(1),
            skipping: false,
        }
    }

    /// The next line; valid until the next call.
    pub(crate) async fn next_line(&mut self) -> Result<Option<&[u8]>, DatastoreError> {
        loop {
            let pending = &self.buf[self.start..];
            if let Some(end) = memchr::memchr(b'\n', pending) {
                let line_start = self.start;
                self.start += end + 1;
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                let line = &self.buf[line_start..line_start + end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                // Cut here too, so that a line reads the same wherever the chunks fall.
                return Ok(Some(&line[..line.len().min(self.max_line)]));
            }
            if pending.len() > self.max_line && !self.skipping {
                let line_start = self.start;
                self.start = self.buf.len();
                self.skipping = true;
                return Ok(Some(&self.buf[line_start..line_start + self.max_line]));
            }
            if self.skipping {
                self.start = self.buf.len();
            }
            if !self.fill().await? {
                let line_start = self.start;
                self.start = self.buf.len();
                if line_start == self.buf.len() || std::mem::take(&mut self.skipping) {
                    return Ok(None);
                }
                return Ok(Some(&self.buf[line_start..]));
            }
        }
    }

    /// Reads the next chunk; false at the end.
    async fn fill(&mut self) -> Result<bool, DatastoreError> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(false);
        };
        match stream.next().await {
            Some(chunk) => {
                let chunk = chunk?;
                self.buf.drain(..self.start);
                self.start = 0;
                self.buf.extend_from_slice(&chunk);
                Ok(true)
            }
            None => {
                self.stream = None;
                Ok(false)
            }
        }
    }
}

/// One source's next line and the time it sorts by.
struct Source {
    reader: LineReader,
    line: Vec<u8>,
    /// The line's MFLog time; a line without one sorts with the line before it in its source.
    key: Vec<u8>,
    loaded: bool,
    done: bool,
}

impl Source {
    async fn load(&mut self) -> Result<(), DatastoreError> {
        if self.loaded || self.done {
            return Ok(());
        }
        match self.reader.next_line().await? {
            Some(line) => {
                self.line.clear();
                self.line.extend_from_slice(line);
                if let Some(parsed) = mflog::parse(&self.line) {
                    self.key.clear();
                    self.key.extend_from_slice(parsed.timestamp);
                }
                self.loaded = true;
            }
            None => self.done = true,
        }
        Ok(())
    }
}

/// Merges sources in time order; at equal times the earlier source comes first.
pub(crate) struct Merger {
    sources: Vec<Source>,
    /// Rows handed out so far.
    rows: u64,
}

impl Merger {
    pub(crate) fn new(readers: Vec<LineReader>) -> Self {
        let sources = readers
            .into_iter()
            .map(|reader| Source {
                reader,
                line: Vec::new(),
                key: Vec::new(),
                loaded: false,
                done: false,
            })
            .collect();
        Self { sources, rows: 0 }
    }

    /// The next row's index and raw line; the line is valid until the next call.
    pub(crate) async fn next_row(&mut self) -> Result<Option<(u64, &[u8])>, DatastoreError> {
        for source in &mut self.sources {
            source.load().await?;
        }
        let mut next: Option<usize> = None;
        for (i, source) in self.sources.iter().enumerate() {
            if !source.loaded {
                continue;
            }
            if next.is_none_or(|n| source.key < self.sources[n].key) {
                next = Some(i);
            }
        }
        let Some(i) = next else {
            return Ok(None);
        };
        let row = self.rows;
        self.rows += 1;
        let source = &mut self.sources[i];
        source.loaded = false;
        Ok(Some((row, &source.line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn reader(chunks: &[&str], max_line: usize) -> LineReader {
        let chunks: Vec<Result<Bytes, object_store::Error>> = chunks
            .iter()
            .map(|c| Ok(Bytes::from(c.to_string())))
            .collect();
        LineReader::new(Some(Box::pin(futures::stream::iter(chunks))), max_line)
    }

    async fn all_rows(mut merger: Merger) -> Vec<String> {
        let mut rows = Vec::new();
        while let Some((_, line)) = merger.next_row().await.unwrap() {
            rows.push(String::from_utf8_lossy(line).into_owned());
        }
        rows
    }

    #[tokio::test]
    async fn splits_lines_across_chunks_and_cuts_long_ones() {
        let mut lines = reader(&["ab", "c\nde\r\n", "\nxxxxxxxxxx", "xx\nlast"], 5);
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            out.push(String::from_utf8_lossy(line).into_owned());
        }
        assert_eq!(out, ["abc", "de", "", "xxxxx", "last"]);
        let counted = super::super::tail::summarize(reader(&["a\nb\n", "c"], 100));
        assert_eq!(counted.await.unwrap().lines, 3);
    }

    #[tokio::test]
    async fn merges_by_time_keeping_untimed_lines_in_place() {
        let runtime = reader(
            &[
                "[MFLOG|0|2024-01-01T00:00:01Z|runtime|a]r1\n[MFLOG|0|2024-01-01T00:00:04Z|runtime|b]r4\n",
            ],
            100,
        );
        let task = reader(
            &[
                "untimed first\n[MFLOG|0|2024-01-01T00:00:02Z|task|c]t2\nuntimed after t2\n",
                "[MFLOG|0|2024-01-01T00:00:04Z|task|d]t4\n[MFLOG|0|2024-01-01T00:00:05.5Z|task|e]t5",
            ],
            100,
        );
        let rows: Vec<String> = all_rows(Merger::new(vec![runtime, task]))
            .await
            .iter()
            .map(|raw| mflog::row_fields(raw.as_bytes()).1)
            .collect();
        assert_eq!(
            rows,
            [
                "untimed first",
                "r1",
                "t2",
                "untimed after t2",
                "r4",
                "t4",
                "t5"
            ]
        );
    }
}
