//! The page shell (head, header, breadcrumbs) and the small pieces every page shows: status
//! badges that read without colour, and times the script turns into local time.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use crate::assets;
use crate::format;

/// A full page: `crumbs` are `(label, href)` pairs leading to this page.
pub fn page(title: &str, crumbs: &[(String, String)], body: Markup) -> Html<String> {
    page_with_api(title, crumbs, body, "", &[])
}

/// A full page whose script talks to the UI API under `api` and refreshes its live parts when the
/// realtime channel reports a change to one of `watch` (UI API resource paths).
pub fn page_with_api(
    title: &str,
    crumbs: &[(String, String)],
    body: Markup,
    api: &str,
    watch: &[String],
) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · mfstack" }
                link rel="stylesheet" href=(assets::CSS_PATH);
                script defer src=(assets::JS_PATH) {}
            }
            body data-api=(api) data-ws=(watch.join(" ")) {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "mfstack" }
                    nav aria-label="Breadcrumb" {
                        ol.crumbs {
                            li { a href="/" { "Runs" } }
                            @for (label, href) in crumbs {
                                li { a href=(href) { (label) } }
                            }
                        }
                    }
                    span #live.live hidden role="status" aria-live="polite" {}
                }
                main #main { (body) }
            }
        }
    };
    Html(page.into_string())
}

/// The status word with a symbol and a colour; the word alone carries the meaning.
pub fn status(status: &str) -> Markup {
    let symbol = match status {
        "completed" => "✓",
        "failed" => "✗",
        "running" => "▶",
        "pending" | "not started" => "○",
        _ => "?",
    };
    html! {
        span class={ "status st-" (status.replace(' ', "-")) } {
            span aria-hidden="true" { (symbol) } " " (status)
        }
    }
}

/// An epoch-milliseconds time, UTC on the server, local time once the script runs.
pub fn time(ms: Option<i64>) -> Markup {
    match ms {
        Some(ms) => html! { time datetime=(format::iso(ms)) { (format::utc(ms)) " UTC" } },
        None => html! { span.muted { "—" } },
    }
}

/// A duration, or a dash while unknown.
pub fn duration(ms: Option<i64>) -> Markup {
    match ms {
        Some(ms) => html! { (format::duration(ms)) },
        None => html! { span.muted { "—" } },
    }
}

/// Tags as small labels.
pub fn tags(tags: &[String]) -> Markup {
    html! {
        @for tag in tags { span.tag { (tag) } " " }
    }
}

/// The strings of a JSON tag list.
pub fn tag_list(value: Option<&serde_json::Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The path of a run's page.
pub fn run_href(flow: &str, run: &str) -> String {
    format!(
        "/flows/{}/runs/{}",
        format::encode(flow),
        format::encode(run)
    )
}

/// The path of a task's page.
pub fn task_href(flow: &str, run: &str, step: &str, task: &str) -> String {
    format!(
        "{}/steps/{}/tasks/{}",
        run_href(flow, run),
        format::encode(step),
        format::encode(task)
    )
}
