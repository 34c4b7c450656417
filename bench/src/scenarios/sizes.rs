//! Data volumes and how much each level may do.

use std::time::Duration;

use super::Scenario;
use crate::load::Limits;

#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Runs in [`super::RUNS_FLOW`].
    pub runs: usize,
    /// Tasks in [`super::LIST_STEP`] of the main run.
    pub tasks: usize,
    /// Tasks of the step the narrow heartbeat scenario beats.
    pub beat_tasks: usize,
    /// Tasks of the step the wide heartbeat scenario beats.
    pub wide_tasks: usize,
    /// Tasks of the artifact run.
    pub artifact_tasks: usize,
    pub artifacts_per_task: usize,
    /// Run, heartbeat, artifact and metadata writes.
    pub write: Limits,
    /// Task creation; each level fills a step of its own.
    pub task_create: Limits,
    pub list_tasks: Limits,
    pub list_artifacts: Limits,
    /// The status-filtered runs listing.
    pub list_runs: Limits,
    /// The UI backend's data and levels (issue 11).
    pub ui: UiSizes,
}

/// What the UI scenarios read, and how much each level may do.
#[derive(Debug, Clone, Copy)]
pub struct UiSizes {
    /// Runs the home page lists from, spread over a few flows.
    pub runs: usize,
    /// Tasks of the run whose task pages are read.
    pub tasks: usize,
    /// Rows per page of that listing (`_limit`).
    pub task_page: usize,
    /// Lines of the log whose first page is read.
    pub log_lines: usize,
    /// Open `/ws` subscribers.
    pub subscribers: usize,
    /// Task creations of the burst every subscriber should hear of.
    pub events: usize,
    pub home_page: Limits,
    pub run_tasks: Limits,
    pub log_page: Limits,
}

const fn limits(count: usize, secs: u64) -> Limits {
    Limits {
        count,
        time: Duration::from_secs(secs),
    }
}

impl Sizes {
    /// The volumes.
    pub const FULL: Sizes = Sizes {
        runs: 10_000,
        tasks: 5_000,
        beat_tasks: 1_000,
        wide_tasks: 100_000,
        artifact_tasks: 500,
        artifacts_per_task: 100,
        write: limits(5_000, 5),
        task_create: limits(5_000, 10),
        list_tasks: limits(400, 8),
        list_artifacts: limits(200, 15),
        list_runs: limits(2_000, 5),
        ui: UiSizes {
            runs: 100_000,
            tasks: 5_000,
            task_page: 1_000,
            log_lines: 1_000_000,
            subscribers: 100,
            events: 1_000,
            home_page: limits(2_000, 5),
            run_tasks: limits(200, 8),
            log_page: limits(100, 10),
        },
    };

    /// Tiny volumes that check the benchmark works.
    pub const SMOKE: Sizes = Sizes {
        runs: 20,
        tasks: 20,
        beat_tasks: 10,
        wide_tasks: 80,
        artifact_tasks: 5,
        artifacts_per_task: 10,
        write: limits(100, 2),
        task_create: limits(20, 2),
        list_tasks: limits(20, 2),
        list_artifacts: limits(10, 2),
        list_runs: limits(20, 2),
        ui: UiSizes {
            runs: 40,
            tasks: 30,
            task_page: 10,
            log_lines: 3_000,
            subscribers: 5,
            events: 20,
            home_page: limits(20, 2),
            run_tasks: limits(20, 2),
            log_page: limits(10, 2),
        },
    };

    /// Artifacts in the artifact run.
    pub fn artifacts(&self) -> usize {
        self.artifact_tasks * self.artifacts_per_task
    }

    /// Bounds of one level of `s`.
    pub fn limits(&self, s: Scenario) -> Limits {
        match s {
            Scenario::RunCreate | Scenario::ArtifactPost | Scenario::MetadataPost => self.write,
            // Each heartbeat of a level goes to a different task, so each one is a real update
            // (the wide step is further cut into one slice per level and side).
            Scenario::Heartbeat => Limits {
                count: self.write.count.min(self.beat_tasks),
                ..self.write
            },
            Scenario::HeartbeatWide => self.write,
            Scenario::TaskCreate => self.task_create,
            Scenario::ListTasks => self.list_tasks,
            Scenario::ListArtifacts => self.list_artifacts,
            Scenario::ListRuns => self.list_runs,
        }
    }
}
