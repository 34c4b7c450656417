//! The benchmarked requests, each in two forms: the HTTP request the Metaflow client sends
//! ([`http`]) and the statements the service runs for it, sent straight to the database
//! ([`direct`]).

pub mod direct;
pub mod http;
mod sizes;
pub mod ui;

pub use sizes::{Sizes, UiSizes};

/// Rows per artifact or metadata post.
pub const BATCH: usize = 10;
/// The flow most scenarios work in.
pub const FLOW: &str = "BenchFlow";
/// The flow whose runs the status-filtered listing reads.
pub const RUNS_FLOW: &str = "BenchRunsFlow";
/// The step of the main run holding the listed tasks; heartbeats and batch posts target them.
pub const LIST_STEP: &str = "list";
/// The step of the main run whose tasks the narrow heartbeat scenario beats.
pub const BEAT_STEP: &str = "beat";
/// The step of the main run whose tasks the wide heartbeat scenario beats.
pub const WIDE_STEP: &str = "wide";
/// The step of the artifact run.
pub const ARTIFACT_STEP: &str = "start";
/// A run counts as recently heartbeating, hence "running", one time in this many (spec 6.3).
pub const RUNNING_ONE_IN: usize = 10;
/// The runs listing's default page (spec 4.3.3).
pub const RUNS_PAGE: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    RunCreate,
    TaskCreate,
    /// Beats in a step of [`Sizes::beat_tasks`] tasks.
    Heartbeat,
    /// Beats in a step of [`Sizes::wide_tasks`] tasks.
    HeartbeatWide,
    ArtifactPost,
    MetadataPost,
    ListTasks,
    ListArtifacts,
    ListRuns,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 9] = [
        Scenario::RunCreate,
        Scenario::TaskCreate,
        Scenario::Heartbeat,
        Scenario::HeartbeatWide,
        Scenario::ArtifactPost,
        Scenario::MetadataPost,
        Scenario::ListTasks,
        Scenario::ListArtifacts,
        Scenario::ListRuns,
    ];

    /// Row label in the tables, and what `--only` matches.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::RunCreate => "run create",
            Scenario::TaskCreate => "task create",
            Scenario::Heartbeat => "task heartbeat, 1k-task step",
            Scenario::HeartbeatWide => "task heartbeat, 100k-task step",
            Scenario::ArtifactPost => "artifact post x10",
            Scenario::MetadataPost => "metadata post x10",
            Scenario::ListTasks => "list step tasks",
            Scenario::ListArtifacts => "list run artifacts",
            Scenario::ListRuns => "list runs ?status=running",
        }
    }
}

/// The seeded ids every scenario works on.
pub struct Fixture {
    /// Run number of the main run in [`FLOW`].
    pub run: i64,
    /// Task ids of [`LIST_STEP`] in the main run.
    pub tasks: Vec<i64>,
    /// Run number of the run holding the listed artifacts.
    pub artifact_run: i64,
    /// Task ids of [`BEAT_STEP`] in the main run.
    pub beat_tasks: Vec<i64>,
    /// Task ids of [`WIDE_STEP`] in the main run.
    pub wide_tasks: Vec<i64>,
    /// Levels run, so each level and side of the wide scenario beats a slice of its own.
    pub levels: Vec<usize>,
}

/// Step of the main run that task creation fills at one level (`tag` names the level and side).
pub fn create_step(tag: &str) -> String {
    format!("create_{tag}")
}

/// Name of item `k` of batch request `i`; unique per level and side, so no post collides.
pub fn item_name(tag: &str, i: usize, k: usize) -> String {
    format!("{tag}_{i}_{k}")
}

impl Fixture {
    /// The listed task that request `i` targets; consecutive requests go to different tasks.
    fn task(&self, i: usize) -> i64 {
        self.tasks[i % self.tasks.len()]
    }

    /// Wide-step tasks per level and side: every beat of the wide scenario goes to a task no
    /// earlier beat touched, so each is a real update with no reset between levels.
    pub fn wide_per_level(&self) -> usize {
        (self.wide_tasks.len() / (2 * self.levels.len()).max(1)).max(1)
    }

    /// The step and task that heartbeat `i` of scenario `s` at level and side `tag` beats.
    fn beat_target(&self, s: Scenario, tag: &str, i: usize) -> (&'static str, i64) {
        if s != Scenario::HeartbeatWide {
            return (BEAT_STEP, self.beat_tasks[i % self.beat_tasks.len()]);
        }
        let (side, level) = tag.split_at(1);
        let slot = self
            .levels
            .iter()
            .position(|c| c.to_string() == level)
            .unwrap_or(0)
            * 2
            + usize::from(side == "d");
        let per_level = self.wide_per_level();
        let index = slot * per_level + i % per_level;
        (WIDE_STEP, self.wide_tasks[index % self.wide_tasks.len()])
    }
}
