//! One benchmark run: for each backend, start the server, seed, run every scenario at every
//! concurrency through the service and then straight to the database, and report.

use std::fmt::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::bodies::{Artifact, Flow, Run, StepOrTask, now_ms};
use crate::client::{Http, int_field};
use crate::direct::Pools;
use crate::load::{Limits, drive};
use crate::report::{BackendReport, Row};
use crate::scenarios::{
    ARTIFACT_STEP, FLOW, Fixture, LIST_STEP, RUNNING_ONE_IN, RUNS_FLOW, RUNS_PAGE, Scenario, Sizes,
    create_step, direct_call, reset_heartbeats, service_call,
};
use crate::server::Server;
use crate::statements::Statements;
use crate::{Args, Backends};

/// Requests in flight at each level, unless `--levels` says otherwise.
pub const LADDER: [usize; 3] = [1, 16, 64];
/// Requests in flight while seeding.
const SEED_CONCURRENCY: usize = 32;
/// Seeding is not measured, only bounded.
const SEED_TIME: Duration = Duration::from_secs(900);

/// The two engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
}

/// Run the benchmark; `Ok(false)` when some request or statement failed.
pub async fn run(args: Args) -> anyhow::Result<bool> {
    ensure!(
        args.mfstack.is_file(),
        "no mfstack binary at {}; build it with `cargo build --release -p mfstack-cli` or pass --mfstack PATH",
        args.mfstack.display()
    );
    let sizes = if args.smoke {
        Sizes::SMOKE
    } else {
        Sizes::FULL
    };
    let mut doc = header(&args);
    let mut clean = true;

    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    if args.backends != Backends::Postgres {
        let url = format!("sqlite://{}", tmp.path().join("bench.db").display());
        let report = backend(&args, Engine::Sqlite, &url, tmp.path(), sizes).await?;
        clean &= publish(&mut doc, &report);
    }

    match (&args.postgres_url, args.backends) {
        (_, Backends::Sqlite) => skip(&mut doc, "--backends sqlite was given"),
        (None, _) => skip(
            &mut doc,
            "no PostgreSQL server: pass --postgres-url or set MFSTACK_TEST_POSTGRES_URL",
        ),
        (Some(admin_url), _) => {
            let db_name = format!("mfstack_bench_{}", std::process::id());
            let url = database_url(admin_url, &db_name)?;
            admin(
                admin_url,
                &format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"),
            )
            .await?;
            admin(admin_url, &format!("CREATE DATABASE {db_name}")).await?;
            let result = backend(&args, Engine::Postgres, &url, tmp.path(), sizes).await;
            let dropped = admin(
                admin_url,
                &format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"),
            )
            .await;
            let report = result?;
            dropped?;
            clean &= publish(&mut doc, &report);
        }
    }

    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&args.out, &doc)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("tables written to {}", args.out.display());
    Ok(clean)
}

fn header(args: &Args) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## mfstack-bench{}\n\n{cores} cores ({cpu}); server {}; pool of {} connections; \
         levels of {} requests in flight.\n",
        if args.smoke { " (smoke)" } else { "" },
        args.mfstack.display(),
        args.pool_max,
        args.levels
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    out
}

fn publish(doc: &mut String, report: &BackendReport) -> bool {
    let table = report.render();
    println!("{table}");
    doc.push_str(&table);
    doc.push('\n');
    report.errors() == 0
}

fn skip(doc: &mut String, reason: &str) {
    let text = format!("### PostgreSQL\n\nskipped: {reason}\n");
    println!("{text}");
    doc.push_str(&text);
}

/// `admin_url` with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(admin_url).context("invalid PostgreSQL URL")?;
    url.set_path(name);
    Ok(url.to_string())
}

async fn admin(admin_url: &str, sql: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(admin_url)
        .await
        .context("cannot connect to the PostgreSQL server")?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .with_context(|| format!("PostgreSQL refused `{sql}`"))?;
    conn.close().await.ok();
    Ok(())
}

/// Everything on one backend.
async fn backend(
    args: &Args,
    engine: Engine,
    url: &str,
    tmp: &Path,
    sizes: Sizes,
) -> anyhow::Result<BackendReport> {
    let name = match engine {
        Engine::Sqlite => "SQLite",
        Engine::Postgres => "PostgreSQL",
    };
    let log = |n: &str| tmp.join(format!("{}-{n}.log", name.to_lowercase()));
    eprintln!("{name}: starting {}", args.mfstack.display());
    let first = Server::start(&args.mfstack, url, args.pool_max, log("first")).await?;
    let ready_new = first.ready;
    first.stop().await?;
    let server = Server::start(&args.mfstack, url, args.pool_max, log("serve")).await?;
    let idle = server.memory()?;
    let db = match engine {
        Engine::Sqlite => Pools::sqlite(url, args.pool_max).await?,
        Engine::Postgres => Pools::postgres(url, args.pool_max).await?,
    };
    let database = match engine {
        Engine::Sqlite => "embedded, WAL".to_owned(),
        Engine::Postgres => server_version(&db).await,
    };

    let seed_start = Instant::now();
    let fx = Arc::new(
        seed(&server.http, sizes, &args.levels)
            .await
            .context("seeding failed")?,
    );
    let seeding = seed_start.elapsed();
    eprintln!("{name}: seeded in {:.1} s", seeding.as_secs_f64());
    // Restart on the seeded data: the start a long-lived deployment sees.
    server.stop().await?;
    let server = Server::start(&args.mfstack, url, args.pool_max, log("seeded")).await?;
    let ready_existing = server.ready;
    let peak_per_level = server.reset_peak();

    eprintln!("{name}: measuring; server pid {}", server.pid());
    let mut rows = Vec::new();
    let chosen = Scenario::ALL
        .into_iter()
        .filter(|s| args.only.as_deref().is_none_or(|o| s.label().contains(o)));
    for scenario in chosen {
        for &c in &args.levels {
            let limits = sizes.limits(scenario);
            if scenario == Scenario::Heartbeat {
                reset_heartbeats(&fx, &db)
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
            server.reset_peak();
            let tag = Arc::<str>::from(format!("s{c}"));
            let (fx2, http, t) = (fx.clone(), server.http.clone(), tag.clone());
            let service = drive(c, limits, move |i| {
                let (fx, http, t) = (fx2.clone(), http.clone(), t.clone());
                async move { service_call(scenario, &fx, &http, &t, i).await }
            })
            .await;
            let peak = server.memory().ok().map(|m| m.peak);

            if scenario == Scenario::Heartbeat {
                reset_heartbeats(&fx, &db)
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
            let tag = Arc::<str>::from(format!("d{c}"));
            let (fx2, pools) = (fx.clone(), db.clone());
            let direct = drive(c, limits, move |i| {
                let (fx, db, t) = (fx2.clone(), pools.clone(), tag.clone());
                async move { direct_call(scenario, &fx, &db, &t, i).await }
            })
            .await;
            eprintln!(
                "{name}: {} at {c}: {:.0} req/s (p99 {:.2} ms, {} errors); db-only {:.0}/s ({} errors)",
                scenario.label(),
                service.rate(),
                service.quantile_ms(0.99),
                service.errors,
                direct.rate(),
                direct.errors
            );
            rows.push(Row {
                scenario,
                concurrency: c,
                service,
                peak,
                direct,
            });
        }
    }
    let after = server.memory()?;
    if rows.iter().any(|r| r.service.errors > 0) {
        eprintln!("{name}: server log tail:\n{}", server.log_tail());
    }
    server.stop().await?;
    db.close().await;
    Ok(BackendReport {
        name,
        database,
        ready_new,
        ready_existing,
        idle,
        after,
        seeding,
        sizes,
        peak_per_level,
        rows,
    })
}

async fn server_version(db: &Pools) -> String {
    match db {
        Pools::Postgres(pool) => sqlx::query_scalar::<_, String>("SHOW server_version")
            .fetch_one(pool)
            .await
            .map(|v| format!("server {v}"))
            .unwrap_or_else(|_| "server version unknown".to_owned()),
        Pools::Sqlite { .. } => String::new(),
    }
}

/// Create `count` objects through the service at seeding concurrency; fail on any error.
async fn bulk<F, Fut>(what: &str, count: usize, op: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let limits = Limits {
        count,
        time: SEED_TIME,
    };
    let stats = drive(SEED_CONCURRENCY, limits, op).await;
    if stats.errors > 0 || stats.ops != count {
        bail!(
            "seeding {what}: {} of {count} done, {} failed; first error: {}",
            stats.ops,
            stats.errors,
            stats.first_error.unwrap_or_default()
        );
    }
    Ok(())
}

/// Tasks of `step` in run `run`, created concurrently; returns their ids in order.
async fn seed_tasks(
    http: &Http,
    run: i64,
    step: &'static str,
    count: usize,
) -> anyhow::Result<Vec<i64>> {
    let ids = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let (h, out) = (http.clone(), ids.clone());
    bulk(&format!("tasks of {step}"), count, move |_| {
        let (http, out) = (h.clone(), out.clone());
        async move {
            let path = format!("/flows/{FLOW}/runs/{run}/steps/{step}/task");
            let body = http
                .post_ok(&path, &StepOrTask::new(FLOW, run, step))
                .await?;
            let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            let id = int_field(&v, "task_id").map_err(|e| e.to_string())?;
            out.lock().map_err(|e| e.to_string())?.push(id);
            Ok(())
        }
    })
    .await?;
    let mut ids = std::mem::take(&mut *ids.lock().map_err(|e| anyhow::anyhow!("{e}"))?);
    ids.sort_unstable();
    Ok(ids)
}

/// The flows, runs, steps, tasks and artifacts the scenarios work on; checked by reading back.
async fn seed(http: &Http, sizes: Sizes, levels: &[usize]) -> anyhow::Result<Fixture> {
    for flow in [FLOW, RUNS_FLOW] {
        let body = Flow {
            flow_id: flow,
            ts_epoch: now_ms(),
        };
        http.post_ok(&format!("/flows/{flow}"), &body)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    let new_run = || async {
        let v = http
            .post_json(&format!("/flows/{FLOW}/run"), &Run::new(FLOW, true))
            .await?;
        int_field(&v, "run_number")
    };
    let run = new_run().await?;
    let artifact_run = new_run().await?;
    let mut steps: Vec<(i64, String)> = vec![
        (run, LIST_STEP.to_owned()),
        (artifact_run, ARTIFACT_STEP.to_owned()),
    ];
    for c in levels {
        for side in ["s", "d"] {
            steps.push((run, create_step(&format!("{side}{c}"))));
        }
    }
    for (r, step) in &steps {
        let path = format!("/flows/{FLOW}/runs/{r}/steps/{step}/step");
        http.post_ok(&path, &StepOrTask::new(FLOW, *r, step))
            .await
            .map_err(anyhow::Error::msg)?;
    }

    let tasks = seed_tasks(http, run, LIST_STEP, sizes.tasks).await?;
    let artifact_tasks =
        Arc::new(seed_tasks(http, artifact_run, ARTIFACT_STEP, sizes.artifact_tasks).await?);
    let (h, ids) = (http.clone(), artifact_tasks.clone());
    bulk("artifacts", sizes.artifact_tasks, move |i| {
        let (http, ids) = (h.clone(), ids.clone());
        async move {
            let task = ids[i];
            let items: Vec<Artifact> = (0..sizes.artifacts_per_task)
                .map(|k| {
                    Artifact::new(
                        FLOW,
                        artifact_run,
                        ARTIFACT_STEP,
                        task,
                        format!("artifact_{k}"),
                    )
                })
                .collect();
            let path = format!(
                "/flows/{FLOW}/runs/{artifact_run}/steps/{ARTIFACT_STEP}/tasks/{task}/artifact"
            );
            http.post_ok(&path, &items).await.map(drop)
        }
    })
    .await?;
    let h = http.clone();
    bulk("runs", sizes.runs, move |i| {
        let http = h.clone();
        async move {
            let body = Run::new(RUNS_FLOW, i % RUNNING_ONE_IN == 0);
            http.post_ok(&format!("/flows/{RUNS_FLOW}/run"), &body)
                .await
                .map(drop)
        }
    })
    .await?;

    let count = |v: serde_json::Value| v.as_array().map_or(0, Vec::len);
    let listed = count(
        http.get_json(&format!("/flows/{FLOW}/runs/{run}/steps/{LIST_STEP}/tasks"))
            .await?,
    );
    ensure!(
        listed == sizes.tasks,
        "the step lists {listed} tasks, {} were created",
        sizes.tasks
    );
    let listed = count(
        http.get_json(&format!("/flows/{FLOW}/runs/{artifact_run}/artifacts"))
            .await?,
    );
    ensure!(
        listed == sizes.artifacts(),
        "the run lists {listed} artifacts, {} were created",
        sizes.artifacts()
    );
    let running = http
        .get_json(&format!("/flows/{RUNS_FLOW}/runs?status=running"))
        .await?;
    let want = sizes.runs.div_ceil(RUNNING_ONE_IN).min(RUNS_PAGE);
    let rows = running.as_array().cloned().unwrap_or_default();
    ensure!(
        rows.len() == want && rows.iter().all(|r| r["status"] == "running"),
        "?status=running listed {} runs, expected {want} running ones",
        rows.len()
    );
    Ok(Fixture {
        run,
        tasks,
        artifact_run,
        statements: Statements::new(crate::scenarios::BATCH),
    })
}
