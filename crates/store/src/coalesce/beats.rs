//! Heartbeats written as one multi-row UPDATE per group.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use mfstack_api_types::HEARTBEAT_WAIT_SECONDS;

use super::creates::shared;
use crate::binds::{Arg, Statement};
use crate::sql_store::{Db, now_s};
use crate::{Result, StoreError, runs, tasks};

/// Placeholder lists grow in powers of two, padded with a repeated id, so a handful of statement
/// texts serve every group size and stay prepared on each connection.
fn padded<T: Clone>(mut ids: Vec<T>) -> Vec<T> {
    let target = ids.len().next_power_of_two();
    if let Some(first) = ids.first().cloned() {
        ids.resize(target, first);
    }
    ids
}

/// Beat every task of the group; each request is true when its beat was recorded (the first of
/// several for the same task, as sequential beats would be).
pub(crate) async fn beat_tasks(db: &Db, ids: Vec<i64>) -> Vec<Result<bool>> {
    let mut distinct: Vec<i64> = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let distinct = padded(distinct);
    let now = now_s();
    let mut args: Vec<Arg> = vec![now.into(), (now - HEARTBEAT_WAIT_SECONDS).into()];
    args.extend(distinct.iter().map(|&id| Arg::from(id)));
    let statement = Statement {
        text: tasks::sql::heartbeat_many(distinct.len()),
        args,
    };
    let beaten: Vec<(i64,)> = match db.all(&db.writer, statement, "task heartbeat").await {
        Ok(rows) => rows,
        Err(StoreError::Unavailable(fault)) => return shared(&fault, ids.len()),
        Err(err) => return vec_of(&err, ids.len()),
    };
    let mut beaten: HashSet<i64> = beaten.into_iter().map(|(id,)| id).collect();
    ids.iter().map(|id| Ok(beaten.remove(id))).collect()
}

/// A run to beat.
pub(crate) type RunBeat = (String, i64);

/// Beat every run of the group, as [`beat_tasks`] does tasks.
pub(crate) async fn beat_runs(db: &Db, runs: Vec<RunBeat>) -> Vec<Result<bool>> {
    let mut distinct = runs.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let distinct = padded(distinct);
    let now = now_s();
    let mut args: Vec<Arg> = vec![now.into(), (now - HEARTBEAT_WAIT_SECONDS).into()];
    for (flow, number) in &distinct {
        args.extend([Arg::from(flow.as_str()), Arg::from(*number)]);
    }
    let statement = Statement {
        text: runs::sql::heartbeat_many(distinct.len()),
        args,
    };
    let beaten: Vec<RunBeat> = match db.all(&db.writer, statement, "run heartbeat").await {
        Ok(rows) => rows,
        Err(StoreError::Unavailable(fault)) => return shared(&fault, runs.len()),
        Err(err) => return vec_of(&err, runs.len()),
    };
    let mut beaten: HashSet<RunBeat> = beaten.into_iter().collect();
    runs.iter().map(|run| Ok(beaten.remove(run))).collect()
}

/// A statement over integer keys fails for every request alike.
fn vec_of<T>(err: &StoreError, n: usize) -> Vec<Result<T>> {
    (0..n)
        .map(|_| Err(StoreError::Other(err.to_string())))
        .collect()
}

/// Runs this store beat recently. Every task beat also beats its run, so in a busy step nearly all
/// run beats fall inside the 10 s spacing; the store answers those itself. That is exact, not a
/// guess: a beat only ever raises `last_heartbeat_ts`, so a run this store set at `t` holds at
/// least `t`, and the guarded UPDATE would change nothing before `t + 10`.
#[derive(Debug, Default)]
pub(crate) struct RecentRuns(Mutex<HashMap<RunBeat, i64>>);

/// Entries kept before expired ones are swept.
const RECENT_RUNS_KEPT: usize = 4096;

impl RecentRuns {
    /// Whether a beat of `run` now would change nothing.
    pub(crate) fn within_spacing(&self, run: &RunBeat, now: i64) -> bool {
        let recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        matches!(recent.get(run), Some(&at) if at > now - HEARTBEAT_WAIT_SECONDS)
    }

    /// `run`'s heartbeat was set to `at` by this store.
    pub(crate) fn record(&self, run: RunBeat, at: i64) {
        let mut recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() >= RECENT_RUNS_KEPT {
            recent.retain(|_, &mut t| t > at - HEARTBEAT_WAIT_SECONDS);
            if recent.len() >= RECENT_RUNS_KEPT {
                recent.clear();
            }
        }
        recent.insert(run, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_rounds_up_to_a_power_of_two_with_a_repeat() {
        assert_eq!(padded(vec![5, 6, 7]), vec![5, 6, 7, 5]);
        assert_eq!(padded(vec![5]), vec![5]);
        assert!(padded(Vec::<i64>::new()).is_empty());
    }

    #[test]
    fn a_recent_beat_covers_the_next_ten_seconds_only() {
        let recent = RecentRuns::default();
        let run = ("F".to_owned(), 1);
        assert!(!recent.within_spacing(&run, 100));
        recent.record(run.clone(), 100);
        assert!(recent.within_spacing(&run, 109));
        assert!(!recent.within_spacing(&run, 110));
    }
}
