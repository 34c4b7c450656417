//! Concurrent writes coalesced: requests that arrive while a write of their kind is in flight are
//! written together in the next one, each keeping its own answer. On PostgreSQL that means fewer
//! statements and commits; on SQLite, fewer and larger transactions through the one writer.

mod batches;
mod beats;
mod creates;
mod queue;

use std::fmt;
use std::sync::Arc;

pub(crate) use batches::Batch;
pub(crate) use beats::{RecentRuns, RunBeat};
pub(crate) use creates::Insert;
use queue::{Coalescer, Limits};

use crate::sql_store::{CHUNK_PLACEHOLDERS, Db};
use crate::{NewArtifactRow, NewMetadataRow, RunRow, StepRow, TaskRow, runs, steps, tasks};

/// Rows in one coalesced INSERT of runs, steps or tasks: one statement's worth of placeholders.
fn create_rows(columns: usize) -> usize {
    CHUNK_PLACEHOLDERS / columns
}

/// Beats in one UPDATE.
const BEATS_PER_GROUP: usize = 256;

/// Artifact or metadata rows in one group's transaction.
const BATCH_ROWS_PER_GROUP: usize = 2_000;

/// The write queues of one store.
pub(crate) struct Writes {
    pub(crate) runs: Arc<Coalescer<Insert, RunRow>>,
    pub(crate) steps: Arc<Coalescer<Insert, StepRow>>,
    pub(crate) tasks: Arc<Coalescer<Insert, TaskRow>>,
    pub(crate) task_beats: Arc<Coalescer<i64, bool>>,
    pub(crate) run_beats: Arc<Coalescer<RunBeat, bool>>,
    pub(crate) recent_runs: RecentRuns,
    pub(crate) artifacts: Arc<Coalescer<Batch<NewArtifactRow>, u64>>,
    pub(crate) metadata: Arc<Coalescer<Batch<NewMetadataRow>, u64>>,
}

impl fmt::Debug for Writes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writes").finish_non_exhaustive()
    }
}

/// A coalescer whose groups run `flush(db, jobs)`.
macro_rules! queue {
    ($db:expr, $flushers:expr, $weight:expr, $flush:expr) => {{
        let db = $db.clone();
        let limits = Limits {
            flushers: $flushers,
            weight: $weight,
        };
        Coalescer::new(limits, move |jobs| {
            let db = db.clone();
            Box::pin(async move { ($flush)(&db, jobs).await })
        })
    }};
}

impl Writes {
    pub(crate) fn new(db: &Db, flushers: usize) -> Self {
        Writes {
            runs: queue!(
                db,
                flushers,
                create_rows(runs::sql::INSERT_COLUMNS),
                |db, jobs| { creates::insert_group(db, jobs, runs::sql::insert_many) }
            ),
            steps: queue!(
                db,
                flushers,
                create_rows(steps::sql::INSERT_COLUMNS),
                |db, jobs| { creates::insert_group(db, jobs, steps::sql::insert_many) }
            ),
            tasks: queue!(
                db,
                flushers,
                create_rows(tasks::sql::INSERT_COLUMNS),
                |db, jobs| { creates::insert_group(db, jobs, tasks::sql::insert_many) }
            ),
            task_beats: queue!(db, flushers, BEATS_PER_GROUP, beats::beat_tasks),
            run_beats: queue!(db, flushers, BEATS_PER_GROUP, beats::beat_runs),
            recent_runs: RecentRuns::default(),
            artifacts: queue!(db, flushers, BATCH_ROWS_PER_GROUP, |db, jobs| {
                batches::insert_batches(db, &batches::ARTIFACTS, jobs)
            }),
            metadata: queue!(db, flushers, BATCH_ROWS_PER_GROUP, |db, jobs| {
                batches::insert_batches(db, &batches::METADATA, jobs)
            }),
        }
    }
}
