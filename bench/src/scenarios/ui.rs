//! The UI backend's scenarios (issue 11), through the UI API as metaflow-ui sends them: the home
//! page's runs listing, a run's task pages and the first page of a long log; and mfstack's own web
//! pages (issue 12) over the same data: the runs page and the wide run's page. Each has a baseline
//! without the service: the store's own UI queries called in process (the store exposes no
//! statement text for them), and for the log, its files read to the end. The `/ws` burst is in
//! [`ws`]; the data all of them read is seeded by [`seed`].

mod seed;
pub mod ws;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use mfstack_store::{RunKey, Store, TaskScope, UiOrder, UiQuery};

use super::UiSizes;
use crate::client::Http;
use crate::load::Limits;

pub use seed::seed;

/// Flows the home page's runs are spread over.
pub const RUN_FLOWS: usize = 10;
/// The flow of the listed task run, the log's run and the burst's run.
pub const TASKS_FLOW: &str = "BenchUiTasksFlow";
/// The step of the listed tasks.
pub const TASKS_STEP: &str = "work";
/// The step of the task with the long log.
pub const LOG_STEP: &str = "start";
/// The step the `/ws` burst creates its tasks in.
pub const BURST_STEP: &str = "burst";
/// Rows of a log page, as the UI asks for them.
pub const LOG_PAGE: usize = 1000;
/// The home page's request (spec `ui-api.md` §4), without the `/api` prefix.
const HOME_PAGE: &str = "/runs?_order=-ts_epoch&_limit=30&_group_limit=31&_page=1";
/// Rows of the home page.
pub const HOME_ROWS: usize = 30;

/// A flow of the home page's runs.
pub fn run_flow(k: usize) -> String {
    format!("BenchUiFlow{}", k % RUN_FLOWS)
}

/// Rows of the web runs page (`mfstack_web`'s page size).
const WEB_RUNS_ROWS: u32 = 50;
/// Attempts the web run page reads at most (`mfstack_web`'s limit).
const WEB_RUN_ATTEMPTS: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiScenario {
    HomePage,
    RunTasks,
    LogPage,
    WebRunsPage,
    WebRunPage,
}

impl UiScenario {
    /// Every UI scenario, in the order they run.
    pub const ALL: [UiScenario; 5] = [
        UiScenario::HomePage,
        UiScenario::RunTasks,
        UiScenario::LogPage,
        UiScenario::WebRunsPage,
        UiScenario::WebRunPage,
    ];

    /// Row label in the tables, and what `--only` matches.
    pub fn label(self) -> &'static str {
        match self {
            UiScenario::HomePage => "ui home page /api/runs",
            UiScenario::RunTasks => "ui run tasks, 1000 per page",
            UiScenario::LogPage => "ui log page 1, newest first",
            UiScenario::WebRunsPage => "ui web runs page /",
            UiScenario::WebRunPage => "ui web run page, every task",
        }
    }

    /// Bounds of one level.
    pub fn limits(self, sizes: &UiSizes) -> Limits {
        match self {
            UiScenario::HomePage => sizes.home_page,
            UiScenario::RunTasks => sizes.run_tasks,
            UiScenario::LogPage => sizes.log_page,
            UiScenario::WebRunsPage => sizes.home_page,
            UiScenario::WebRunPage => sizes.run_tasks,
        }
    }
}

/// The label of the `/ws` burst, for `--only`.
pub const WS_LABEL: &str = "ui /ws burst";

/// The seeded ids the UI scenarios read.
#[derive(Debug)]
pub struct UiFixture {
    pub sizes: UiSizes,
    /// Run number of the run with [`UiSizes::tasks`] tasks.
    pub tasks_run: i64,
    /// Run number and task id of the task with the long log.
    pub log_run: i64,
    pub log_task: i64,
    /// The log's source files and their total size.
    pub log_files: Vec<PathBuf>,
    pub log_bytes: u64,
    /// Run number of the run the `/ws` burst creates tasks in.
    pub burst_run: i64,
    pub seeding: Duration,
    /// The log's first page the first time it was asked for, when the service counts the log.
    pub log_first_read: Duration,
}

impl UiFixture {
    /// Pages of the task listing.
    fn task_pages(&self) -> usize {
        self.sizes.tasks.div_ceil(self.sizes.task_page).max(1)
    }

    /// The page request `i` reads: every page in turn, as the UI fetches them all.
    fn task_page(&self, i: usize) -> usize {
        i % self.task_pages() + 1
    }

    fn tasks_path(&self, page: usize) -> String {
        format!(
            "/flows/{TASKS_FLOW}/runs/{}/tasks?_order=%2Bts_epoch&_limit={}&_page={page}&postprocess=false",
            self.tasks_run, self.sizes.task_page
        )
    }

    fn log_path(&self) -> String {
        format!(
            "/flows/{TASKS_FLOW}/runs/{}/steps/{LOG_STEP}/tasks/{}/logs/out?attempt_id=0&_limit={LOG_PAGE}&_page=1&_order=-row",
            self.log_run, self.log_task
        )
    }
}

/// One request of `s` through the UI API (`ui` is its `/api` base) or the web UI (`web`, the
/// UI port's root).
pub async fn service_call(
    s: UiScenario,
    fx: &UiFixture,
    ui: &Http,
    web: &Http,
    i: usize,
) -> Result<(), String> {
    let path = match s {
        UiScenario::HomePage => HOME_PAGE.to_owned(),
        UiScenario::RunTasks => fx.tasks_path(fx.task_page(i)),
        UiScenario::LogPage => fx.log_path(),
        UiScenario::WebRunsPage => return web.get_ok("/").await.map(drop),
        UiScenario::WebRunPage => {
            let path = format!("/flows/{TASKS_FLOW}/runs/{}", fx.tasks_run);
            return web.get_ok(&path).await.map(drop);
        }
    };
    ui.get_ok(&path).await.map(drop)
}

/// The same read without the service: the store's UI query in process, or the log's files.
pub async fn direct_call(
    s: UiScenario,
    fx: &UiFixture,
    store: &dyn Store,
    i: usize,
) -> Result<(), String> {
    match s {
        UiScenario::HomePage => store
            .ui_runs(None, &home_query())
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        UiScenario::RunTasks => {
            // The handler resolves the path's run first, so the baseline does too.
            let run = store
                .get_run(TASKS_FLOW, &RunKey::Number(fx.tasks_run))
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the task run is gone")?;
            let query = tasks_query(fx.sizes.task_page, fx.task_page(i));
            store
                .ui_tasks(&run, TaskScope::default(), &query)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        UiScenario::WebRunsPage => {
            let query = UiQuery {
                limit: WEB_RUNS_ROWS,
                ..home_query()
            };
            store
                .ui_runs(None, &query)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        UiScenario::WebRunPage => web_run_page_reads(fx, store).await,
        UiScenario::LogPage => {
            let files = fx.log_files.clone();
            tokio::task::spawn_blocking(move || count_lines(&files))
                .await
                .map_err(|e| e.to_string())?
                .map(drop)
        }
    }
}

/// The store reads of the web run page: the run, its steps, and every attempt of every task.
async fn web_run_page_reads(fx: &UiFixture, store: &dyn Store) -> Result<(), String> {
    let err = |e: mfstack_store::StoreError| e.to_string();
    let run = store
        .get_run(TASKS_FLOW, &RunKey::Number(fx.tasks_run))
        .await
        .map_err(err)?
        .ok_or("the task run is gone")?;
    store.ui_run(&run).await.map_err(err)?;
    store
        .ui_steps(&run, None, &UiQuery::first(1000))
        .await
        .map_err(err)?;
    let attempts = UiQuery::first(WEB_RUN_ATTEMPTS);
    store
        .ui_tasks(&run, TaskScope::default(), &attempts)
        .await
        .map(drop)
        .map_err(err)
}

/// `_order=-ts_epoch&_limit=30&_group_limit=31&_page=1` as the UI API parses it.
fn home_query() -> UiQuery {
    UiQuery {
        order: vec![UiOrder {
            column: "ts_epoch".into(),
            ascending: false,
        }],
        limit: HOME_ROWS as u32,
        group_limit: HOME_ROWS as u32 + 1,
        page: 1,
        ..UiQuery::default()
    }
}

/// `_order=+ts_epoch&_limit=<limit>&_page=<page>`.
fn tasks_query(limit: usize, page: usize) -> UiQuery {
    UiQuery {
        order: vec![UiOrder {
            column: "ts_epoch".into(),
            ascending: true,
        }],
        limit: limit as u32,
        page: page as u32,
        ..UiQuery::default()
    }
}

/// Read `files` to the end in 64 KiB chunks, counting lines: what a newest-first page of a log
/// with no index costs the storage alone.
fn count_lines(files: &[PathBuf]) -> Result<u64, String> {
    let mut lines = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    for path in files {
        let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        loop {
            let n = file.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
    Ok(lines)
}
