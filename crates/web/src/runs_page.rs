//! `/`: every run, newest first, filtered by status, flow, user, tag and time frame and sorted by
//! any column, all held in the URL so a view can be shared; paged on the server.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mfstack_store::{Autocomplete, FilterOp, TagFilter, UiFilter, UiOp, UiOrder, UiQuery, UiRun};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::format::encode;
use crate::layout::{self, run_href};

/// Rows per page.
pub const PAGE_SIZE: u32 = 50;

const STATUSES: [&str; 3] = ["running", "completed", "failed"];
const TIME_FRAMES: [(&str, &str, i64); 4] = [
    ("1h", "last hour", 3_600_000),
    ("24h", "last 24 hours", 86_400_000),
    ("7d", "last 7 days", 7 * 86_400_000),
    ("30d", "last 30 days", 30 * 86_400_000),
];
/// `(label, column)` of each column, in table order; tags sort by their JSON text.
const COLUMNS: [(&str, &str); 7] = [
    ("Status", "status"),
    ("Flow", "flow_id"),
    ("Run", "run_number"),
    ("User", "user_name"),
    ("Started", "ts_epoch"),
    ("Duration", "duration"),
    ("Tags", "tags"),
];

/// The runs view as the URL holds it; empty values mean "any".
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RunsView {
    pub status: Option<String>,
    pub flow: Option<String>,
    pub user: Option<String>,
    pub tag: Option<String>,
    pub since: Option<String>,
    pub order: Option<String>,
    pub page: Option<u32>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl RunsView {
    fn order(&self) -> (&str, bool) {
        let order = given(&self.order).unwrap_or("-ts_epoch");
        let (column, ascending) = match order.strip_prefix('-') {
            Some(c) => (c, false),
            None => (order, true),
        };
        match COLUMNS.iter().find(|(_, c)| *c == column) {
            Some((_, c)) => (c, ascending),
            None => ("ts_epoch", false),
        }
    }

    fn page(&self) -> u32 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }

    /// The store query this view asks for, at `now_ms`.
    pub fn query(&self, now_ms: i64) -> UiQuery {
        let eq = |field: &str, value: &str| UiFilter {
            field: field.into(),
            op: UiOp::Op(FilterOp::Eq),
            values: vec![value.into()],
        };
        let mut q = UiQuery::first(PAGE_SIZE);
        q.page = self.page();
        if let Some(s) = given(&self.status) {
            q.filters.push(eq("status", s));
        }
        if let Some(f) = given(&self.flow) {
            q.filters.push(eq("flow_id", f));
        }
        if let Some(u) = given(&self.user) {
            q.filters.push(eq("user_name", u));
        }
        if let Some(t) = given(&self.tag) {
            let tags = t.split(',').map(|t| t.trim().to_owned());
            q.tags
                .push(TagFilter::All(tags.filter(|t| !t.is_empty()).collect()));
        }
        if let Some((_, _, span)) = TIME_FRAMES.iter().find(|f| Some(f.0) == given(&self.since)) {
            q.filters.push(UiFilter {
                field: "ts_epoch".into(),
                op: UiOp::Op(FilterOp::Ge),
                values: vec![(now_ms - span).to_string()],
            });
        }
        let (column, ascending) = self.order();
        q.order = vec![UiOrder {
            column: column.into(),
            ascending,
        }];
        q
    }

    /// This view's URL with `order` and `page` replaced.
    fn href(&self, order: Option<&str>, page: u32) -> String {
        let mut pairs = Vec::new();
        for (k, v) in [
            ("status", &self.status),
            ("flow", &self.flow),
            ("user", &self.user),
            ("tag", &self.tag),
            ("since", &self.since),
        ] {
            if let Some(v) = given(v) {
                pairs.push(format!("{k}={}", encode(v)));
            }
        }
        if let Some(o) = order.filter(|o| *o != "-ts_epoch") {
            pairs.push(format!("order={}", encode(o)));
        }
        if page > 1 {
            pairs.push(format!("page={page}"));
        }
        if pairs.is_empty() {
            "/".into()
        } else {
            format!("/?{}", pairs.join("&"))
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub async fn handler(
    State(state): State<WebState>,
    Query(view): Query<RunsView>,
) -> Result<Response, WebError> {
    let runs = state.store.ui_runs(None, &view.query(now_ms())).await?;
    let flows = state
        .store
        .ui_autocomplete(Autocomplete::Flows, &UiQuery::first(500))
        .await?;
    let body = html! {
        h1 { "Runs" }
        (filters(&view, &flows))
        (table(&view, &runs))
        (pager(&view, runs.len() >= PAGE_SIZE as usize))
    };
    Ok(
        layout::page_with_api("Runs", &[], body, &state.api_prefix, &["/runs".into()])
            .into_response(),
    )
}

fn filters(view: &RunsView, flows: &[String]) -> Markup {
    let chosen = |v: &Option<String>, o: &str| given(v) == Some(o);
    html! {
        form.filters method="get" action="/" role="search" aria-label="Filter runs" {
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s) selected[chosen(&view.status, s)] { (s) } }
                }
            }
            label { "Flow " input name="flow" list="flow-names" value=[given(&view.flow)] size="16"; }
            datalist #flow-names { @for f in flows { option value=(f) {} } }
            label { "User " input name="user" value=[given(&view.user)] size="10"; }
            label { "Tag " input name="tag" value=[given(&view.tag)] size="14" placeholder="a,b"; }
            label { "Started "
                select name="since" {
                    option value="" { "any time" }
                    @for (v, label, _) in TIME_FRAMES {
                        option value=(v) selected[chosen(&view.since, v)] { (label) }
                    }
                }
            }
            @if let Some(o) = given(&view.order) { input type="hidden" name="order" value=(o); }
            button type="submit" { "Filter" }
            " " a href="/" { "Clear" }
        }
    }
}

fn header_cell(view: &RunsView, label: &str, column: &str) -> Markup {
    let (current, ascending) = view.order();
    let sorted = current == column;
    let next = if sorted && !ascending {
        column.to_owned()
    } else {
        format!("-{column}")
    };
    let aria = match (sorted, ascending) {
        (false, _) => "none",
        (true, true) => "ascending",
        (true, false) => "descending",
    };
    let arrow = match (sorted, ascending) {
        (false, _) => "",
        (true, true) => " ▲",
        (true, false) => " ▼",
    };
    html! {
        th scope="col" aria-sort=(aria) {
            a href=(view.href(Some(&next), 1)) { (label) (arrow) }
        }
    }
}

fn table(view: &RunsView, runs: &[UiRun]) -> Markup {
    html! {
        div.scroll {
            table.runs #runs {
                thead { tr { @for (label, column) in COLUMNS { (header_cell(view, label, column)) } } }
                tbody #runs-body data-live=[(view.page() == 1).then_some("always")] {
                    @for r in runs { (row(r)) }
                    @if runs.is_empty() { tr { td colspan="7" { "No runs match." } } }
                }
            }
        }
    }
}

/// One run; `data-*` let the script keep a running run's duration live.
pub fn row(r: &UiRun) -> Markup {
    let tags = layout::tag_list(r.tags.as_ref().map(|j| &j.0));
    let user = r.user.as_deref().or(r.user_name.as_deref()).unwrap_or("");
    html! {
        tr data-key=(format!("{}/{}", r.flow_id, r.run_number)) data-status=(r.status)
            data-start=(r.ts_epoch) {
            td { (layout::status(&r.status)) }
            td { a href=(format!("/?flow={}", encode(&r.flow_id))) { (r.flow_id) } }
            td { a href=(run_href(&r.flow_id, &r.run)) { (r.run) } }
            td { (user) }
            td { (layout::time(Some(r.ts_epoch))) }
            td.duration { (layout::duration(r.duration)) }
            td { (layout::tags(&tags)) }
        }
    }
}

fn pager(view: &RunsView, more: bool) -> Markup {
    let page = view.page();
    let order = given(&view.order);
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 { a rel="prev" href=(view.href(order, page - 1)) { "← Newer" } }
            span { "Page " (page) }
            @if more { a rel="next" href=(view.href(order, page + 1)) { "Older →" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_round_trips_through_its_url_and_becomes_a_store_query() {
        let view = RunsView {
            status: Some("failed".into()),
            tag: Some("a, b".into()),
            since: Some("1h".into()),
            order: Some("duration".into()),
            page: Some(3),
            ..RunsView::default()
        };
        assert_eq!(
            view.href(Some("-flow_id"), 2),
            "/?status=failed&tag=a%2C%20b&since=1h&order=-flow_id&page=2"
        );
        let q = view.query(10_000_000);
        assert_eq!(q.page, 3);
        assert_eq!(q.filters[0].values, ["failed"]);
        assert_eq!(q.filters[1].values, ["6400000"]);
        assert_eq!(q.tags, [TagFilter::All(vec!["a".into(), "b".into()])]);
        assert_eq!(
            q.order[0],
            UiOrder {
                column: "duration".into(),
                ascending: true
            }
        );
        let bad = RunsView {
            order: Some("-; drop".into()),
            ..RunsView::default()
        };
        assert_eq!(bad.query(0).order[0].column, "ts_epoch");
    }
}
