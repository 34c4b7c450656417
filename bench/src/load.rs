//! A closed-loop driver: a fixed number of workers, each starting its next operation as soon as
//! the last one finished, until the count or the time runs out.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How much one level may do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub count: usize,
    /// No operation starts after this much time.
    pub time: Duration,
}

/// What one level did.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Operations finished, failed ones included.
    pub ops: usize,
    pub errors: usize,
    /// First failure, to show what went wrong.
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latency of every operation, sorted.
    pub latencies: Vec<Duration>,
}

impl Stats {
    /// Operations per second over the level's wall time.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ops as f64 / secs
        } else {
            0.0
        }
    }

    /// Latency at quantile `q` (nearest rank), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1].as_secs_f64() * 1000.0
    }
}

/// Run `op(i)` for i = 0, 1, … with `concurrency` operations in flight, within `limits`.
pub async fn drive<F, Fut>(concurrency: usize, limits: Limits, op: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + limits.time;
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let op = op.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut local = Stats::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limits.count || Instant::now() >= deadline {
                    break;
                }
                let t0 = Instant::now();
                let result = op(i).await;
                local.latencies.push(t0.elapsed());
                local.ops += 1;
                if let Err(e) = result {
                    local.errors += 1;
                    local.first_error.get_or_insert(e);
                }
            }
            local
        }));
    }
    let mut total = Stats::default();
    for w in workers {
        match w.await {
            Ok(s) => {
                total.ops += s.ops;
                total.errors += s.errors;
                total.latencies.extend(s.latencies);
                if total.first_error.is_none() {
                    total.first_error = s.first_error;
                }
            }
            Err(e) => {
                total.errors += 1;
                total
                    .first_error
                    .get_or_insert(format!("worker panicked: {e}"));
            }
        }
    }
    total.elapsed = start.elapsed();
    total.latencies.sort_unstable();
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stops_at_the_count_and_counts_failures() {
        let limits = Limits {
            count: 100,
            time: Duration::from_secs(30),
        };
        let stats = drive(8, limits, |i| async move {
            if i % 10 == 0 {
                Err(format!("op {i}"))
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(stats.ops, 100);
        assert_eq!(stats.errors, 10);
        assert_eq!(stats.latencies.len(), 100);
        assert!(stats.quantile_ms(0.5) <= stats.quantile_ms(0.99));
    }
}
