//! The per-backend table, in Markdown so the README can hold it as printed.

use std::fmt::Write;
use std::time::Duration;

use crate::load::Stats;
use crate::scenarios::ui::RUN_FLOWS;
use crate::scenarios::ui::ws::{BURST_IN_FLIGHT, WsStats};
use crate::scenarios::{RUNNING_ONE_IN, Sizes, UiSizes};
use crate::server::Memory;

/// One scenario at one concurrency, both sides.
pub struct Row {
    /// The scenario's label.
    pub label: &'static str,
    /// Requests in flight.
    pub concurrency: usize,
    /// Through the service.
    pub service: Stats,
    /// Peak RSS of the server during the level.
    pub peak: Option<u64>,
    /// The same request's statements straight to the database.
    pub direct: Stats,
}

/// Everything measured on one backend.
pub struct BackendReport {
    pub name: &'static str,
    /// Server version or file kind.
    pub database: String,
    /// Start to ready on an empty database (schema created at start).
    pub ready_new: Duration,
    /// Start to ready on the seeded database.
    pub ready_existing: Duration,
    /// Memory right after the second start, before seeding.
    pub idle: Memory,
    /// Memory a moment after the start on the seeded database.
    pub idle_seeded: Memory,
    /// Memory once every scenario finished.
    pub after: Memory,
    /// Seeding of the metadata API scenarios' data; `None` when none of them ran.
    pub seeding: Option<Duration>,
    pub sizes: Sizes,
    /// Whether peaks are per level (else cumulative since start).
    pub peak_per_level: bool,
    pub rows: Vec<Row>,
    /// The UI data and the `/ws` burst, when a UI scenario ran.
    pub ui: Option<UiReport>,
}

/// What the UI scenarios read, and what the `/ws` burst delivered.
pub struct UiReport {
    pub sizes: UiSizes,
    /// Size of the long log's files.
    pub log_bytes: u64,
    pub seeding: Duration,
    /// The log's first page on its first read (later reads reuse the line count).
    pub log_first_read: Duration,
    pub ws: Option<WsStats>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Service errors, and database-only ones after a `+` when there are any.
fn errors(r: &Row) -> String {
    match r.direct.errors {
        0 => r.service.errors.to_string(),
        n => format!("{} +{n} db", r.service.errors),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl BackendReport {
    /// Failed requests and statements, both sides together.
    pub fn errors(&self) -> usize {
        let ws = self.ui.as_ref().and_then(|u| u.ws.as_ref());
        self.rows
            .iter()
            .map(|r| r.service.errors + r.direct.errors)
            .sum::<usize>()
            + ws.map_or(0, WsStats::errors)
    }

    /// The table under a heading and summary lines, as Markdown.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let s = &self.sizes;
        let _ = writeln!(out, "### {} ({})\n", self.name, self.database);
        let _ = writeln!(
            out,
            "- ready: {:.0} ms on an empty database, {:.0} ms on the seeded one",
            ms(self.ready_new),
            ms(self.ready_existing)
        );
        let _ = writeln!(
            out,
            "- idle RSS (UI API's port open too): {:.1} MiB at start (peak {:.1} MiB), {:.1} MiB \
             on the seeded database; {:.1} MiB after the run",
            mib(self.idle.rss),
            mib(self.idle.peak),
            mib(self.idle_seeded.rss),
            mib(self.after.rss)
        );
        match self.seeding {
            Some(seeding) => {
                let _ = writeln!(
                    out,
                    "- data: {} runs in the listed flow (1 in {RUNNING_ONE_IN} running), {} tasks \
                     in the listed step, {} and {} tasks in the heartbeat steps, {} artifacts in \
                     the listed run; seeded in {:.1} s",
                    s.runs,
                    s.tasks,
                    s.beat_tasks,
                    s.wide_tasks,
                    s.artifacts(),
                    seeding.as_secs_f64()
                );
            }
            None => out.push_str("- data: no metadata API scenario chosen, none seeded\n"),
        }
        if let Some(ui) = &self.ui {
            out.push_str(&ui.data_line());
        }
        let peak = if self.peak_per_level {
            "peak RSS MiB"
        } else {
            "peak RSS MiB (since start)"
        };
        let _ = writeln!(
            out,
            "\n| scenario | in flight | requests | errors | req/s | p50 ms | p99 ms | {peak} \
             | db-only req/s | db-only p99 ms | service / db-only |"
        );
        out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for r in &self.rows {
            let ratio = if r.direct.rate() > 0.0 {
                format!("{:.0}%", 100.0 * r.service.rate() / r.direct.rate())
            } else {
                "-".to_owned()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.2} | {} |",
                r.label,
                r.concurrency,
                r.service.ops,
                errors(r),
                r.service.rate(),
                r.service.quantile_ms(0.5),
                r.service.quantile_ms(0.99),
                r.peak.map_or("-".to_owned(), |p| format!("{:.1}", mib(p))),
                r.direct.rate(),
                r.direct.quantile_ms(0.99),
                ratio
            );
        }
        if let Some(ws) = self.ui.as_ref().and_then(|u| u.ws.as_ref()) {
            out.push_str(&ws_table(ws));
        }
        out.push_str(&self.failures());
        out
    }

    /// Under the table, the first error of each level and side that had any.
    fn failures(&self) -> String {
        let failures: Vec<String> = self
            .rows
            .iter()
            .flat_map(|r| {
                [("service", &r.service), ("db-only", &r.direct)]
                    .into_iter()
                    .filter_map(move |(side, st)| {
                        st.first_error
                            .as_ref()
                            .map(|e| format!("- {} at {} ({side}): {e}", r.label, r.concurrency))
                    })
            })
            .collect();
        if failures.is_empty() {
            return String::new();
        }
        let mut out = "\nFirst error of each failing level:\n".to_owned();
        for f in failures {
            out.push_str(&f);
            out.push('\n');
        }
        out
    }
}

impl UiReport {
    fn data_line(&self) -> String {
        let u = &self.sizes;
        format!(
            "- UI data: {} runs over {RUN_FLOWS} flows (1 in {RUNNING_ONE_IN} running), a run of {} \
             finished tasks, a log of {} lines ({:.0} MiB) in a local datastore; seeded in {:.1} s; \
             the log's page 1 took {:.1} ms on its first read (counting the log), then reuses the count\n",
            u.runs,
            u.tasks,
            u.log_lines,
            mib(self.log_bytes),
            self.seeding.as_secs_f64(),
            self.log_first_read.as_secs_f64() * 1000.0
        )
    }
}

/// The `/ws` burst as a one-row table under the main one.
fn ws_table(ws: &WsStats) -> String {
    let mem = |m: Option<u64>| m.map_or("-".to_owned(), |b| format!("{:.1}", mib(b)));
    let mut out = "\n| /ws burst | subscribers | task events | writes in flight | writes/s \
                   | write errors | delivered | subscribers with every event | delivery p50 ms \
                   | delivery p99 ms | RSS sockets open MiB | peak RSS MiB |\n"
        .to_owned();
    out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    let _ = writeln!(
        out,
        "| task creations | {} | {} | {BURST_IN_FLIGHT} | {:.0} | {} | {} of {} | {} of {} | {:.2} | {:.2} | {} | {} |",
        ws.subscribers,
        ws.writes.ops,
        ws.writes.rate(),
        ws.writes.errors,
        ws.delivery.ops,
        ws.expected(),
        ws.complete,
        ws.subscribers,
        ws.delivery.quantile_ms(0.5),
        ws.delivery.quantile_ms(0.99),
        mem(ws.rss_open),
        mem(ws.peak)
    );
    if let Some(e) = &ws.writes.first_error {
        let _ = writeln!(out, "\nFirst failed burst write: {e}");
    }
    out
}
