//! The levels of one backend: each scenario at each concurrency through the service and then
//! without it, and the `/ws` burst.

use std::sync::Arc;

use anyhow::Context;
use mfstack_store::{DirectPools, Store};

use crate::load::{Stats, drive};
use crate::report::Row;
use crate::scenarios::direct::{direct_call, reset_heartbeats};
use crate::scenarios::http::service_call;
use crate::scenarios::ui::ws::{self, WsStats};
use crate::scenarios::ui::{self, UiFixture, UiScenario};
use crate::scenarios::{Fixture, Scenario, Sizes};
use crate::server::Server;
use crate::suite::Chosen;

/// What every level on one backend works with.
pub struct Bench<'a> {
    pub name: &'static str,
    pub server: &'a Server,
    pub db: &'a DirectPools,
    pub fx: Option<Arc<Fixture>>,
    /// The UI data, and the store the UI baseline reads it through.
    pub ui: Option<(Arc<UiFixture>, Arc<dyn Store>)>,
    pub sizes: Sizes,
}

impl Bench<'_> {
    /// Every chosen scenario at every level, then the `/ws` burst.
    pub async fn run(
        &self,
        chosen: &Chosen,
        levels: &[usize],
    ) -> anyhow::Result<(Vec<Row>, Option<WsStats>)> {
        let mut rows = Vec::new();
        for &scenario in &chosen.api {
            for &c in levels {
                rows.push(self.level(scenario, c).await?);
            }
        }
        let Some((fx, store)) = &self.ui else {
            return Ok((rows, None));
        };
        for &scenario in &chosen.ui {
            for &c in levels {
                rows.push(self.ui_level(fx, store, scenario, c).await);
            }
        }
        if !chosen.ws {
            return Ok((rows, None));
        }
        let ws = ws::burst(&self.server.http, &self.server.ui_ws, fx, self.server)
            .await
            .context("the /ws burst failed")?;
        eprintln!(
            "{}: /ws burst: {} of {} delivered, p99 {:.2} ms",
            self.name,
            ws.delivery.ops,
            ws.expected(),
            ws.delivery.quantile_ms(0.99)
        );
        Ok((rows, Some(ws)))
    }

    /// One level: `c` requests in flight through the service, then the same straight to the
    /// database.
    async fn level(&self, scenario: Scenario, c: usize) -> anyhow::Result<Row> {
        let fx = self
            .fx
            .clone()
            .context("the metadata API data was not seeded")?;
        let mut limits = self.sizes.limits(scenario);
        if scenario == Scenario::HeartbeatWide {
            limits.count = limits.count.min(fx.wide_per_level());
        }
        self.reset(scenario, &fx).await?;
        self.server.reset_peak();
        let tag = Arc::<str>::from(format!("s{c}"));
        let (f, http) = (fx.clone(), self.server.http.clone());
        let service = drive(c, limits, move |i| {
            let (fx, http, t) = (f.clone(), http.clone(), tag.clone());
            async move { service_call(scenario, &fx, &http, &t, i).await }
        })
        .await;
        let peak = self.server.memory().ok().map(|m| m.peak);

        self.reset(scenario, &fx).await?;
        let tag = Arc::<str>::from(format!("d{c}"));
        let pools = self.db.clone();
        let direct = drive(c, limits, move |i| {
            let (fx, db, t) = (fx.clone(), pools.clone(), tag.clone());
            async move { direct_call(scenario, &fx, &db, &t, i).await }
        })
        .await;
        Ok(self.row(scenario.label(), c, service, peak, direct))
    }

    /// One level of a UI scenario: through the UI API, then through the store in process.
    async fn ui_level(
        &self,
        fx: &Arc<UiFixture>,
        store: &Arc<dyn Store>,
        scenario: UiScenario,
        c: usize,
    ) -> Row {
        let limits = scenario.limits(&fx.sizes);
        self.server.reset_peak();
        let (f, http, web) = (fx.clone(), self.server.ui.clone(), self.server.web.clone());
        let service = drive(c, limits, move |i| {
            let (fx, http, web) = (f.clone(), http.clone(), web.clone());
            async move { ui::service_call(scenario, &fx, &http, &web, i).await }
        })
        .await;
        let peak = self.server.memory().ok().map(|m| m.peak);
        let (f, store) = (fx.clone(), store.clone());
        let direct = drive(c, limits, move |i| {
            let (fx, store) = (f.clone(), store.clone());
            async move { ui::direct_call(scenario, &fx, &*store, i).await }
        })
        .await;
        self.row(scenario.label(), c, service, peak, direct)
    }

    fn row(
        &self,
        label: &'static str,
        c: usize,
        service: Stats,
        peak: Option<u64>,
        direct: Stats,
    ) -> Row {
        eprintln!(
            "{}: {label} at {c}: {:.0} req/s (p99 {:.2} ms, {} errors); db-only {:.0}/s ({} errors)",
            self.name,
            service.rate(),
            service.quantile_ms(0.99),
            service.errors,
            direct.rate(),
            direct.errors
        );
        Row {
            label,
            concurrency: c,
            service,
            peak,
            direct,
        }
    }

    /// Before each side of a heartbeat level, clear the beats the last one left.
    async fn reset(&self, scenario: Scenario, fx: &Fixture) -> anyhow::Result<()> {
        if scenario == Scenario::Heartbeat {
            reset_heartbeats(fx, self.db)
                .await
                .map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }
}
