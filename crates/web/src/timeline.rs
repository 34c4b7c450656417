//! The run's timeline: one lane group per step, one thin bar per task attempt ordered by start.
//! Attempts that do not overlap share a lane, so 5,000 tasks run 16 at a time take 16 lanes, not
//! 5,000 rows. Bars are placed in percentages, so the SVG needs no script to fit any width.

use maud::{Markup, html};
use mfstack_store::UiTask;

use crate::format;
use crate::layout::task_href;

/// Lanes drawn per step; attempts beyond overlap in the last lanes.
const MAX_LANES: usize = 120;

struct Bar<'a> {
    task: &'a UiTask,
    start: i64,
    end: i64,
}

/// The timeline of `tasks` (every attempt) grouped by `steps` in order, at `now_ms`.
pub fn render(steps: &[String], tasks: &[UiTask], run: &str, now_ms: i64) -> Markup {
    let bars: Vec<Bar> = tasks
        .iter()
        .map(|t| {
            let start = t.started_at.unwrap_or(t.ts_epoch);
            let end = t
                .finished_at
                .unwrap_or(if t.status == "running" { now_ms } else { start });
            Bar {
                task: t,
                start,
                end: end.max(start),
            }
        })
        .collect();
    let (Some(t0), Some(t1)) = (
        bars.iter().map(|b| b.start).min(),
        bars.iter().map(|b| b.end).max(),
    ) else {
        return html! { p.muted { "No tasks have started yet." } };
    };
    let span = (t1 - t0).max(1) as f64;
    let pct = |t: i64| (t - t0) as f64 / span * 100.0;
    html! {
        div.timeline role="img" aria-label="Task timeline; the task lists below hold the same data" {
            div.axis aria-hidden="true" {
                span {} @for q in 0..5 {
                    span { "+" (format::duration((t1 - t0) * q / 4)) }
                }
            }
            @for step in steps {
                @let mut own: Vec<&Bar> = bars.iter().filter(|b| &b.task.step_name == step).collect();
                @if !own.is_empty() {
                    ({
                        own.sort_by_key(|b| (b.start, b.task.task_id, b.task.attempt_id));
                        lane_group(step, &own, run, &pct)
                    })
                }
            }
        }
    }
}

/// Greedy lane packing: each attempt takes the first lane free at its start.
fn lanes(bars: &[&Bar]) -> (Vec<usize>, usize) {
    let mut ends: Vec<i64> = Vec::new();
    let lanes = bars
        .iter()
        .map(|b| match ends.iter().position(|e| *e <= b.start) {
            Some(i) => {
                ends[i] = b.end.max(b.start + 1);
                i
            }
            None if ends.len() < MAX_LANES => {
                ends.push(b.end.max(b.start + 1));
                ends.len() - 1
            }
            None => {
                let i = ends
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, e)| **e)
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                ends[i] = ends[i].max(b.end);
                i
            }
        })
        .collect();
    (lanes, ends.len())
}

fn lane_group(step: &str, bars: &[&Bar], run: &str, pct: &dyn Fn(i64) -> f64) -> Markup {
    let (lane_of, count) = lanes(bars);
    let row = if count > 30 { 3.0 } else { 10.0 };
    let gap = if count > 30 { 1.0 } else { 3.0 };
    let height = count as f64 * (row + gap);
    html! {
        div.lane {
            a.lane-name href={ "#step-" (step) } { (step) }
            svg.bars width="100%" height=(height) preserveAspectRatio="none"
                data-base=(task_href(&bars[0].task.flow_id, run, step, "")) {
                @for (bar, lane) in bars.iter().zip(&lane_of) {
                    @let t = bar.task;
                    @let x = pct(bar.start);
                    @let w = (pct(bar.end) - x).max(0.25);
                    rect class={ "bar st-" (t.status) } x={ (format!("{x:.3}")) "%" }
                        y=(*lane as f64 * (row + gap)) width={ (format!("{w:.3}")) "%" } height=(row)
                        data-t={ (t.task_id) "?attempt=" (t.attempt_id) } {
                        title {
                            (t.task_id) " #" (t.attempt_id) " " (t.status) " "
                            (format::duration(bar.end - bar.start))
                        }
                    }
                }
            }
        }
    }
}
