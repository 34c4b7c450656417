//! The benchmarked requests, each in two forms: the HTTP request the Metaflow client sends
//! ([`http`]) and the statements the service runs for it, sent straight to the database
//! ([`direct`]).

pub mod direct;
pub mod http;
mod sizes;

pub use sizes::Sizes;

/// Rows per artifact or metadata post.
pub const BATCH: usize = 10;
/// The flow most scenarios work in.
pub const FLOW: &str = "BenchFlow";
/// The flow whose runs the status-filtered listing reads.
pub const RUNS_FLOW: &str = "BenchRunsFlow";
/// The step of the main run holding the listed tasks; heartbeats and batch posts target them.
pub const LIST_STEP: &str = "list";
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
    Heartbeat,
    ArtifactPost,
    MetadataPost,
    ListTasks,
    ListArtifacts,
    ListRuns,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 8] = [
        Scenario::RunCreate,
        Scenario::TaskCreate,
        Scenario::Heartbeat,
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
            Scenario::Heartbeat => "task heartbeat",
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
}
