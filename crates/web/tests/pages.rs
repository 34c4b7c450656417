//! Each page rendered over what real Metaflow flows wrote (a foreach with a parameter and a card,
//! a retried step, a failing run), read through a real `mfstack serve` on its UI port.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::Stack;
use mfstack_store::{NewRun, OpenOptions, Store};

/// The first `prefix…"` value in `html`, up to the closing quote.
fn link_after<'a>(html: &'a str, prefix: &str) -> &'a str {
    let start = html
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in the page"));
    let rest = &html[start..];
    &rest[..rest.find('"').unwrap()]
}

/// A task page's path from a run page's task list.
fn task_link(run: &str, prefix: &str) -> String {
    let needle = format!("href=\"{prefix}");
    let start = run.find(&needle).expect("a task link") + "href=\"".len();
    link_after(&run[start..], prefix).to_owned()
}

/// Bytes of a page plus the stylesheet and script it loads.
async fn weight(s: &Stack, html: &str) -> usize {
    let css = s.page("/static/app.css").await;
    let js = s.page("/static/app.js").await;
    let total = html.len() + css.len() + js.len();
    println!(
        "page weight: {total} bytes ({} HTML, {} CSS, {} JS)",
        html.len(),
        css.len(),
        js.len()
    );
    total
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_shows_what_the_flows_did() {
    let s = Stack::start().await;
    s.run_flow("web_flow.py", true).await;
    s.run_flow("fail_flow.py", false).await;

    let runs = s.page("/").await;
    assert!(
        runs.contains("WebTestFlow") && runs.contains("FailFlow"),
        "{runs}"
    );
    assert!(runs.contains("✓</span> completed"), "{runs}");
    assert!(runs.contains("tester"));
    assert!(weight(&s, &runs).await < 150 * 1024);
    let failed = s.page("/?status=completed").await;
    assert!(
        failed.contains("WebTestFlow") && !failed.contains(">FailFlow<"),
        "{failed}"
    );
    let one_flow = s.page("/?flow=FailFlow&order=duration").await;
    assert!(!one_flow.contains(">WebTestFlow<"), "{one_flow}");
    assert!(one_flow.contains("aria-sort=\"ascending\""), "{one_flow}");
    let none = s.page("/?tag=no-such-tag&since=1h").await;
    assert!(none.contains("No runs match."), "{none}");

    let run_href = link_after(&runs, "/flows/WebTestFlow/runs/").to_owned();
    let run = s.page(&run_href).await;
    for step in ["start", "fan", "join", "flaky", "end"] {
        assert!(
            run.contains(&format!("data-step=\"{step}\"")),
            "DAG lacks {step}: {run}"
        );
        assert!(
            run.contains(&format!("id=\"step-{step}\"")),
            "no task list for {step}"
        );
    }
    assert!(run.contains("foreach over <code>items</code>"), "{run}");
    assert!(
        run.contains("alpha") && run.contains("<code>3</code>"),
        "parameters: {run}"
    );
    // start, 3 fan tasks, join, 2 flaky attempts, end.
    assert_eq!(run.matches("<rect class=\"bar").count(), 8, "{run}");
    assert!(weight(&s, &run).await < 150 * 1024);

    let start_href = task_link(&run, &format!("{run_href}/steps/start/tasks/"));
    let start = s.page(&start_href).await;
    assert!(
        start.contains("<li>hello from the start step</li>"),
        "{start}"
    );
    assert!(start.contains("<li>a warning on stderr</li>"), "{start}");
    assert!(
        start.contains("greeting") && start.contains("bonjour mfstack"),
        "{start}"
    );
    let download =
        link_after(&start, &format!("/api{start_href}/logs/out/download")).replace("&amp;", "&");
    assert!(
        s.page(&download)
            .await
            .contains("hello from the start step")
    );
    assert!(weight(&s, &start).await < 150 * 1024);

    let fan_href = task_link(&run, &format!("{run_href}/steps/fan/tasks/"));
    let fan = s.page(&fan_href).await;
    assert!(fan.contains("Foreach") && fan.contains("items=1"), "{fan}");
    assert!(
        fan.contains("<iframe class=\"card\" sandbox=\"allow-scripts\""),
        "{fan}"
    );
    let card = link_after(&fan, &format!("/api{fan_href}/cards/")).replace("&amp;", "&");
    assert!(
        s.page(&card).await.contains("<html"),
        "the card route serves the card"
    );

    let flaky_href = task_link(&run, &format!("{run_href}/steps/flaky/tasks/"));
    let flaky = s.page(&flaky_href).await;
    assert!(flaky.contains("aria-label=\"Attempts\""), "{flaky}");
    let first = s.page(&format!("{flaky_href}?attempt=0")).await;
    assert!(first.contains("✗</span> failed"), "{first}");
    assert!(first.contains("the first attempt fails"), "{first}");

    let fail_href = link_after(&runs, "/flows/FailFlow/runs/").to_owned();
    let fail = s.page(&fail_href).await;
    assert!(fail.contains("✗</span> failed"), "{fail}");
    assert!(fail.contains("data-step=\"middle\""), "{fail}");

    assert_eq!(s.get("/flows/NoFlow/runs/1").await.0, 404);
    assert_eq!(s.get(&format!("{flaky_href}?attempt=9")).await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runs_page_pages_through_ten_thousand_runs() {
    let s = Stack::start().await;
    let store: Arc<dyn Store> = mfstack_store::open(&s.db_url(), &OpenOptions::default())
        .await
        .unwrap();
    store
        .create_flow("BigFlow", Some("tester"), None, None)
        .await
        .unwrap();
    let writers: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..503 {
                    let run = NewRun {
                        flow_id: "BigFlow".into(),
                        run_id: None,
                        user_name: Some("tester".into()),
                        tags: Some(serde_json::json!(["big"])),
                        system_tags: Some(serde_json::json!(["user:tester"])),
                        heartbeat: false,
                    };
                    store.create_run(run).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let started = Instant::now();
    let first = s.page("/").await;
    let first_ms = started.elapsed().as_millis();
    assert_eq!(first.matches("data-key=\"BigFlow/").count(), 50);
    assert!(first.contains("rel=\"next\""));
    let last = s.page("/?tag=big&page=202").await;
    assert_eq!(
        last.matches("data-key=\"BigFlow/").count(),
        10_060 - 201 * 50,
        "{last}"
    );
    assert!(!last.contains("rel=\"next\"") && last.contains("rel=\"prev\""));
    let sorted = s.page("/?order=run_number&page=2").await;
    assert!(
        sorted.contains("data-key=\"BigFlow/51\""),
        "ascending run numbers, page 2"
    );
    println!("runs page over 10,060 runs (debug build): {first_ms} ms");
}
