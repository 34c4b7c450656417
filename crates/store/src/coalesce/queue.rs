//! Group commit for one kind of write. A request that finds a flusher free starts one at once, so a
//! lone request waits for nothing; requests arriving while every flusher is busy queue, and the next
//! free flusher writes all of them together. The gathering window is exactly the time the previous
//! write takes.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::{Result, StoreError};

/// What a flush returns: one answer per job, in the order the jobs were given.
pub(crate) type Answers<O> = Pin<Box<dyn Future<Output = Vec<Result<O>>> + Send>>;

type Flush<J, O> = Box<dyn Fn(Vec<J>) -> Answers<O> + Send + Sync>;

/// How much one kind of write may do at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Groups of this kind in flight at once.
    pub flushers: usize,
    /// Most weight (rows, usually) one group carries; a heavier lone job still goes alone.
    pub weight: usize,
}

struct Waiting<J, O> {
    job: J,
    weight: usize,
    reply: oneshot::Sender<Result<O>>,
}

struct Queue<J, O> {
    waiting: VecDeque<Waiting<J, O>>,
    flushing: usize,
}

/// A queue of jobs and the function that writes a group of them.
pub(crate) struct Coalescer<J, O> {
    queue: Mutex<Queue<J, O>>,
    limits: Limits,
    flush: Flush<J, O>,
}

impl<J: Send + 'static, O: Send + 'static> Coalescer<J, O> {
    pub(crate) fn new(
        limits: Limits,
        flush: impl Fn(Vec<J>) -> Answers<O> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Coalescer {
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                flushing: 0,
            }),
            limits: Limits {
                flushers: limits.flushers.max(1),
                weight: limits.weight.max(1),
            },
            flush: Box::new(flush),
        })
    }

    /// Queue `job` and wait for its own answer.
    ///
    /// Groups are written on their own tasks, so a caller that stops waiting (a client gone, a
    /// request timeout) neither cancels its neighbours' write nor leaves the queue without a flusher.
    pub(crate) async fn submit(self: &Arc<Self>, job: J, weight: usize) -> Result<O> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.lock();
            queue.waiting.push_back(Waiting { job, weight, reply });
            let start = queue.flushing < self.limits.flushers;
            if start {
                queue.flushing += 1;
            }
            start
        };
        if start {
            tokio::spawn(Arc::clone(self).drain());
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Other("the write was abandoned".into())))
    }

    fn lock(&self) -> MutexGuard<'_, Queue<J, O>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Write groups until the queue is empty, then give the flusher slot back.
    async fn drain(self: Arc<Self>) {
        let slot = Slot(&self);
        while let Some(group) = slot.0.next_group() {
            let (jobs, replies): (Vec<J>, Vec<_>) =
                group.into_iter().map(|w| (w.job, w.reply)).unzip();
            let answers = (slot.0.flush)(jobs).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A caller that stopped waiting needs no answer; its write stands.
                let _ = reply.send(answer);
            }
        }
        std::mem::forget(slot);
    }

    /// The oldest jobs up to the weight limit, or `None` (and the slot released) when none wait.
    fn next_group(&self) -> Option<Vec<Waiting<J, O>>> {
        let mut queue = self.lock();
        if queue.waiting.is_empty() {
            queue.flushing -= 1;
            return None;
        }
        let mut group = Vec::new();
        let mut weight = 0;
        while let Some(next) = queue.waiting.front() {
            if !group.is_empty() && weight + next.weight > self.limits.weight {
                break;
            }
            weight += next.weight;
            group.extend(queue.waiting.pop_front());
        }
        Some(group)
    }
}

/// A flusher's claim on its slot. Dropped only when a flush panics: the slot is given back so
/// later requests still start flushers, and the jobs it held answer "abandoned".
struct Slot<'a, J: Send + 'static, O: Send + 'static>(&'a Arc<Coalescer<J, O>>);

impl<J: Send + 'static, O: Send + 'static> Drop for Slot<'_, J, O> {
    fn drop(&mut self) {
        let restart = {
            let mut queue = self.0.lock();
            let restart = !queue.waiting.is_empty();
            if !restart {
                queue.flushing -= 1;
            }
            restart
        };
        if restart {
            tokio::spawn(Arc::clone(self.0).drain());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// A coalescer that doubles numbers, records group sizes, and fails jobs equal to 13.
    fn doubler(flushers: usize, sizes: Arc<Mutex<Vec<usize>>>) -> Arc<Coalescer<i64, i64>> {
        let limits = Limits {
            flushers,
            weight: 100,
        };
        Coalescer::new(limits, move |jobs: Vec<i64>| {
            let sizes = Arc::clone(&sizes);
            Box::pin(async move {
                sizes.lock().unwrap().push(jobs.len());
                tokio::time::sleep(Duration::from_millis(20)).await;
                jobs.into_iter()
                    .map(|j| match j {
                        13 => Err(StoreError::Duplicate(format!("job {j}"))),
                        j => Ok(j * 2),
                    })
                    .collect()
            })
        })
    }

    #[tokio::test]
    async fn a_lone_job_goes_straight_through() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let c = doubler(1, Arc::clone(&sizes));
        assert_eq!(c.submit(4, 1).await.unwrap(), 8);
        assert_eq!(*sizes.lock().unwrap(), vec![1]);
    }

    #[tokio::test]
    async fn concurrent_jobs_share_groups_and_keep_their_own_answers() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let c = doubler(1, Arc::clone(&sizes));
        let calls: Vec<_> = (0..50)
            .map(|i| {
                let c = Arc::clone(&c);
                tokio::spawn(async move { (i, c.submit(i, 1).await) })
            })
            .collect();
        for call in calls {
            let (i, answer) = call.await.unwrap();
            match i {
                13 => assert!(matches!(answer, Err(StoreError::Duplicate(_)))),
                i => assert_eq!(answer.unwrap(), i * 2),
            }
        }
        let sizes = sizes.lock().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 50);
        assert!(sizes.len() < 50, "no job was coalesced: {sizes:?}");
    }

    #[tokio::test]
    async fn a_group_stops_at_the_weight_limit() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let c = doubler(1, Arc::clone(&sizes));
        let calls: Vec<_> = (0..6)
            .map(|i| {
                let c = Arc::clone(&c);
                tokio::spawn(async move { c.submit(i, 60).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert!(sizes.lock().unwrap().iter().all(|&n| n == 1));
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_does_not_stall_the_queue() {
        let c = doubler(1, Arc::new(Mutex::new(Vec::new())));
        let done = Arc::new(AtomicUsize::new(0));
        let first = {
            let c = Arc::clone(&c);
            tokio::spawn(async move { c.submit(1, 1).await })
        };
        tokio::task::yield_now().await;
        first.abort();
        for i in 0..3 {
            c.submit(i, 1).await.unwrap();
            done.fetch_add(1, Ordering::Relaxed);
        }
        assert_eq!(done.load(Ordering::Relaxed), 3);
    }
}
