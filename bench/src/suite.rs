//! One benchmark run: for each backend, start the server, seed, run every scenario at every
//! concurrency through the service and then straight to the database, and report.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use mfstack_store::{DirectPools, OpenOptions, Store, StoreError};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::levels::Bench;
use crate::report::{BackendReport, UiReport};
use crate::scenarios::ui::{self, UiFixture, UiScenario, WS_LABEL};
use crate::scenarios::{Fixture, Scenario, Sizes};
use crate::seed::seed;
use crate::server::Server;
use crate::{Args, Backends};

/// Requests in flight at each level, unless `--levels` says otherwise.
pub const LADDER: [usize; 4] = [1, 16, 64, 256];
/// How long a database-only statement waits for a pool connection (and, on SQLite, for the file
/// lock). Longer than the service's 5 s, so the baseline queues under overload instead of failing.
const DIRECT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the restarted server settles before its idle memory is read: the realtime pump
/// looks up live runs at start.
const SETTLE: Duration = Duration::from_secs(1);

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

/// Which scenarios a run covers: those whose label contains `--only`.
pub struct Chosen {
    pub api: Vec<Scenario>,
    pub ui: Vec<UiScenario>,
    pub ws: bool,
}

impl Chosen {
    fn new(only: Option<&str>) -> Self {
        let wanted = |label: &str| only.is_none_or(|o| label.contains(o));
        Chosen {
            api: Scenario::ALL
                .into_iter()
                .filter(|s| wanted(s.label()))
                .collect(),
            ui: UiScenario::ALL
                .into_iter()
                .filter(|s| wanted(s.label()))
                .collect(),
            ws: wanted(WS_LABEL),
        }
    }
}

/// The seeded data of the chosen scenarios.
struct Seeded {
    api: Option<(Arc<Fixture>, Duration)>,
    ui: Option<Arc<UiFixture>>,
}

async fn seed_chosen(
    server: &Server,
    chosen: &Chosen,
    sizes: Sizes,
    levels: &[usize],
    datastore: &Path,
) -> anyhow::Result<Seeded> {
    let api = if chosen.api.is_empty() {
        None
    } else {
        let started = Instant::now();
        let fx = seed(&server.http, sizes, levels)
            .await
            .context("seeding failed")?;
        Some((Arc::new(fx), started.elapsed()))
    };
    let ui = if chosen.ui.is_empty() && !chosen.ws {
        None
    } else {
        let fx = ui::seed(&server.http, &server.ui, sizes.ui, datastore)
            .await
            .context("seeding the UI data failed")?;
        Some(Arc::new(fx))
    };
    Ok(Seeded { api, ui })
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
    let chosen = Chosen::new(args.only.as_deref());
    let log = |n: &str| tmp.join(format!("{}-{n}.log", name.to_lowercase()));
    eprintln!("{name}: starting {}", args.mfstack.display());
    let first = Server::start(&args.mfstack, url, args.pool_max, log("first")).await?;
    let ready_new = first.ready;
    first.stop().await?;
    let server = Server::start(&args.mfstack, url, args.pool_max, log("serve")).await?;
    let idle = server.memory()?;
    let db = open_direct(url, args.pool_max)
        .await
        .with_context(|| format!("cannot open the {name} database directly"))?;
    let database = match engine {
        Engine::Sqlite => "embedded, WAL".to_owned(),
        Engine::Postgres => server_version(url).await,
    };

    let datastore = tmp.join(format!("{}-datastore", name.to_lowercase()));
    let seeded = seed_chosen(&server, &chosen, sizes, &args.levels, &datastore).await?;
    eprintln!("{name}: seeded");
    // Restart on the seeded data: the start a long-lived deployment sees.
    server.stop().await?;
    let server = Server::start(&args.mfstack, url, args.pool_max, log("seeded")).await?;
    let ready_existing = server.ready;
    tokio::time::sleep(SETTLE).await;
    let idle_seeded = server.memory()?;
    let peak_per_level = server.reset_peak();

    eprintln!("{name}: measuring; server pid {}", server.pid());
    let ui_store = match &seeded.ui {
        Some(fx) => Some((fx.clone(), open_store(url, args.pool_max).await?)),
        None => None,
    };
    let bench = Bench {
        name,
        server: &server,
        db: &db,
        fx: seeded.api.as_ref().map(|(fx, _)| fx.clone()),
        ui: ui_store.clone(),
        sizes,
    };
    let (rows, ws) = bench.run(&chosen, &args.levels).await?;
    let after = server.memory()?;
    if rows.iter().any(|r| r.service.errors > 0) {
        eprintln!("{name}: server log tail:\n{}", server.log_tail());
    }
    server.stop().await?;
    db.close().await;
    if let Some((_, store)) = ui_store {
        store.close().await;
    }
    Ok(BackendReport {
        name,
        database,
        ready_new,
        ready_existing,
        idle,
        idle_seeded,
        after,
        seeding: seeded.api.map(|(_, d)| d),
        sizes,
        peak_per_level,
        rows,
        ui: seeded.ui.map(|fx| UiReport {
            sizes: fx.sizes,
            log_bytes: fx.log_bytes,
            seeding: fx.seeding,
            log_first_read: fx.log_first_read,
            ws,
        }),
    })
}

/// The store on `url` as the UI API uses it, for the UI scenarios' baseline.
async fn open_store(url: &str, pool_max: u32) -> anyhow::Result<Arc<dyn Store>> {
    let options = OpenOptions {
        pool_max,
        acquire_timeout: DIRECT_ACQUIRE_TIMEOUT,
        ..OpenOptions::default()
    };
    mfstack_store::open(url, &options)
        .await
        .context("cannot open the store in process")
}

/// The store's own pools on `url`, sized as the service's, for the database-only side.
async fn open_direct(url: &str, pool_max: u32) -> Result<DirectPools, StoreError> {
    let options = OpenOptions {
        pool_max,
        acquire_timeout: DIRECT_ACQUIRE_TIMEOUT,
        ..OpenOptions::default()
    };
    DirectPools::open(url, &options).await
}

async fn server_version(url: &str) -> String {
    let version = async {
        let mut conn = PgConnection::connect(url).await?;
        let version: String = sqlx::query_scalar("SHOW server_version")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await.ok();
        Ok::<_, sqlx::Error>(version)
    };
    match version.await {
        Ok(v) => format!("server {v}"),
        Err(_) => "server version unknown".to_owned(),
    }
}
