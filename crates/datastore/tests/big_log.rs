//! A long log: pages from either end are right, and come from a streamed read.

use std::fmt::Write as _;
use std::time::Instant;

use mfstack_datastore::{
    Datastore, DatastoreConfig, DatastoreRoot, LogOrder, LogPageRequest, LogStream, TaskPath,
};

const LINES_PER_SOURCE: usize = 100_000;

/// `runtime` writes even seconds, `task` odd ones, so the merge interleaves them.
fn write_sources(dir: &std::path::Path) {
    let task_dir = dir.join("BigFlow/1/start/2");
    std::fs::create_dir_all(&task_dir).unwrap();
    for (source, offset) in [("runtime", 0), ("task", 1)] {
        let mut text = String::with_capacity(LINES_PER_SOURCE * 64);
        for i in 0..LINES_PER_SOURCE {
            let second = 2 * i + offset;
            let (h, m, s) = (second / 3600, second / 60 % 60, second % 60);
            let _ = writeln!(
                text,
                "[MFLOG|0|2024-01-01T{h:02}:{m:02}:{s:02}.000000Z|{source}|x]{source} {i}"
            );
        }
        std::fs::write(task_dir.join(format!("0.{source}_stdout.log")), text).unwrap();
    }
}

#[tokio::test]
async fn pages_of_a_long_log() {
    let dir = tempfile::tempdir().unwrap();
    write_sources(dir.path());
    let ds = Datastore::new(DatastoreConfig::default()).unwrap();
    let root = DatastoreRoot::parse(&dir.path().display().to_string()).unwrap();
    let task = TaskPath {
        flow: "BigFlow".into(),
        run: "1".into(),
        step: "start".into(),
        task: "2".into(),
    };
    let total = 2 * LINES_PER_SOURCE as u64;
    let read = async |stream, page, order| {
        let request = LogPageRequest {
            page,
            limit: 1000,
            order,
        };
        ds.log_page(&root, &task, 0, stream, request).await.unwrap()
    };

    let started = Instant::now();
    let newest = read(LogStream::Stdout, 1, LogOrder::Descending).await;
    eprintln!("descending page 1 of {total} rows: {:?}", started.elapsed());
    assert_eq!(newest.total_rows, total);
    assert_eq!(newest.lines.len(), 1000);
    assert_eq!(newest.lines[0].row, total - 1);
    assert_eq!(
        newest.lines[0].line,
        format!("task {}", LINES_PER_SOURCE - 1)
    );
    assert_eq!(
        newest.lines[1].line,
        format!("runtime {}", LINES_PER_SOURCE - 1)
    );
    assert_eq!(newest.lines[999].row, total - 1000);

    let oldest = read(LogStream::Stdout, 1, LogOrder::Ascending).await;
    assert_eq!(oldest.total_rows, total);
    assert_eq!(
        (oldest.lines[0].row, oldest.lines[0].line.as_str()),
        (0, "runtime 0")
    );
    assert_eq!(oldest.lines[1].line, "task 0");
    assert_eq!(oldest.lines[0].timestamp, Some(1704067200000));

    let deep = read(LogStream::Stdout, 3, LogOrder::Descending).await;
    assert_eq!(deep.lines[0].row, total - 2001);
    assert_eq!(deep.lines.len(), 1000);
    let past_end = read(LogStream::Stdout, 1000, LogOrder::Ascending).await;
    assert!(past_end.lines.is_empty());
    assert_eq!(past_end.total_rows, total);

    // A log that grows is counted again: the kept count belongs to the version it was read from.
    let grown = dir.path().join("BigFlow/1/start/2/0.task_stdout.log");
    let mut text = std::fs::read_to_string(&grown).unwrap();
    text.push_str("[MFLOG|0|2024-01-02T00:00:00.000000Z|task|x]appended\n");
    std::fs::write(&grown, text).unwrap();
    let after = read(LogStream::Stdout, 1, LogOrder::Descending).await;
    assert_eq!(after.total_rows, total + 1);
    assert_eq!(
        (after.lines[0].row, after.lines[0].line.as_str()),
        (total, "appended")
    );
    assert_eq!(after.lines[1].line, newest.lines[0].line);

    let missing = read(LogStream::Stderr, 1, LogOrder::Descending).await;
    assert_eq!((missing.lines.len(), missing.total_rows), (0, 0));
}
