//! Regressions from the review of what one request may cost: wrong body shapes, tag mutation order,
//! bounded batches, tags and filters, the request timeout, and the API key.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Method, Request, StatusCode, header};
use mfstack_service::Settings;
use serde_json::json;
use tower::ServiceExt;

use crate::common::{App, apps, apps_with};

/// Just under the default 16 MiB body limit.
const BIG: usize = 16 * 1024 * 1024 - 16;

/// `open` + `element,` repeated + `last` + `close`, at most [`BIG`] bytes.
fn big_body(open: &str, element: &str, last: &str, close: &str) -> String {
    let room = BIG - open.len() - last.len() - close.len();
    let mut body = String::with_capacity(BIG);
    body.push_str(open);
    body.push_str(&element.repeat(room / element.len()));
    body.push_str(last);
    body.push_str(close);
    body
}

async fn assert_rejected(app: &App, method: Method, path: &str, body: &str, status: StatusCode) {
    let a = app.call(method, path, Some(body)).await;
    let shown: String = body.chars().take(60).collect();
    assert_eq!(
        a.status, status,
        "{} {path} {shown}: {}",
        app.engine, a.body
    );
}

#[tokio::test]
async fn every_create_route_refuses_a_body_of_the_wrong_type() {
    for app in apps("wrong_types").await {
        let (r, t) = app.seed("F").await;
        let before = app.snapshot().await;
        let task = format!("/flows/F/runs/{r}/steps/start/tasks/{t}");
        let objects = [
            (Method::POST, "/flows/G".to_owned()),
            (Method::POST, "/flows/F/run".to_owned()),
            (Method::POST, format!("/flows/F/runs/{r}/steps/other/step")),
            (Method::POST, format!("/flows/F/runs/{r}/steps/start/task")),
            (Method::PATCH, format!("/flows/F/runs/{r}/tag/mutate")),
        ];
        for (method, path) in &objects {
            for body in ["[]", "[null]", r#"["u"]"#, r#""x""#, "1", "null", "true"] {
                assert_rejected(&app, method.clone(), path, body, StatusCode::BAD_REQUEST).await;
            }
        }
        for path in [format!("{task}/artifact"), format!("{task}/metadata")] {
            for body in [
                "{}",
                r#"{"name":"x"}"#,
                r#""x""#,
                "null",
                "[[]]",
                r#"[["n"]]"#,
                "[1]",
            ] {
                assert_rejected(&app, Method::POST, &path, body, StatusCode::BAD_REQUEST).await;
            }
        }
        assert_eq!(app.snapshot().await, before, "{}", app.engine);
    }
}

#[tokio::test]
async fn tag_mutation_refuses_null_and_objects_and_removes_before_adding() {
    for app in apps("tag_rules").await {
        let (r, _) = app.seed("F").await;
        let path = format!("/flows/F/runs/{r}/tag/mutate");
        let patch = |b: &'static str| app.call(Method::PATCH, &path, Some(b));
        for (body, message) in [
            (r#"{"tags_to_add":null}"#, "tags_to_add must be a list"),
            (r#"{"tags_to_add":{"a":1}}"#, "tags_to_add must be a list"),
            (
                r#"{"tags_to_remove":null}"#,
                "tags_to_remove must be a list",
            ),
            (r#"{"tags_to_remove":{}}"#, "tags_to_remove must be a list"),
            (
                r#"{"tags_to_add":["a",null]}"#,
                "All tag values must be strings",
            ),
        ] {
            let a = patch(body).await;
            assert_eq!(
                (a.status, a.json()),
                (StatusCode::BAD_REQUEST, json!(message)),
                "{body}"
            );
        }
        let kept = patch(r#"{"tags_to_add":["t1"],"tags_to_remove":["t1"]}"#).await;
        assert_eq!(
            (kept.status, kept.json()),
            (StatusCode::OK, json!({"tags": ["t1"]}))
        );
        // The client's replace_tag: remove the old tag and add the new one in one request.
        let replaced = patch(r#"{"tags_to_add":["new"],"tags_to_remove":["t1"]}"#).await;
        assert_eq!(replaced.json(), json!({"tags": ["new"]}));
        let both = patch(r#"{"tags_to_add":["x","new"],"tags_to_remove":["x","new"]}"#).await;
        assert_eq!(both.json(), json!({"tags": ["x", "new"]}));
        assert_eq!(patch("{}").await.json(), json!({"tags": ["x", "new"]}));
        let run = app.get(&format!("/flows/F/runs/{r}")).await.json();
        assert_eq!(run["tags"], json!(["x", "new"]));
    }
}

#[tokio::test]
async fn sixteen_mib_of_empty_objects_is_refused_quickly() {
    for app in apps("empty_objects").await {
        let (r, t) = app.seed("F").await;
        let before = app.snapshot().await;
        let body = big_body("[", "{},", "{}", "]");
        for kind in ["artifact", "metadata"] {
            let path = format!("/flows/F/runs/{r}/steps/start/tasks/{t}/{kind}");
            let started = Instant::now();
            let a = app.post(&path, &body).await;
            assert_eq!(
                a.status,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{kind}: {}",
                a.body
            );
            let message = a.json()["message"].as_str().unwrap().to_owned();
            for part in ["100000 rows", "--max-batch-rows", "MFSTACK_MAX_BATCH_ROWS"] {
                assert!(message.contains(part), "{message}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{kind} took {:?}",
                started.elapsed()
            );
        }
        assert_eq!(app.snapshot().await, before);
    }
}

#[tokio::test]
async fn the_batch_row_limit_is_a_setting() {
    let settings = Settings {
        max_batch_rows: 3,
        ..Settings::default()
    };
    for app in apps_with("batch_rows", settings).await {
        let (r, t) = app.seed("F").await;
        let task = format!("/flows/F/runs/{r}/steps/start/tasks/{t}");
        let meta = |n: usize| {
            json!(vec![
                json!({"field_name": "f", "value": "v", "type": "t"});
                n
            ])
        };
        let ok = app
            .post(&format!("{task}/metadata"), &meta(3).to_string())
            .await;
        assert_eq!(ok.json(), json!({"metadata_created": 3}));
        let over = app
            .post(&format!("{task}/metadata"), &meta(4).to_string())
            .await;
        assert_eq!(over.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            over.json()["message"]
                .as_str()
                .unwrap()
                .contains("at most 3 rows")
        );
        let arts = json!([{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]);
        let over = app
            .post(&format!("{task}/artifact"), &arts.to_string())
            .await;
        assert_eq!(over.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(app.count(&format!("{task}/artifacts")).await, 0);
    }
}

#[tokio::test]
async fn tags_must_be_short_lists_of_strings() {
    for app in apps("tag_shapes").await {
        let (r, t) = app.seed("F").await;
        let before = app.snapshot().await;
        let task = format!("/flows/F/runs/{r}/steps/start/tasks/{t}");
        let thousand_and_one = json!({"tags": vec!["t"; 1001]}).to_string();
        for body in [
            r#"{"tags":[1]}"#,
            r#"{"tags":"x"}"#,
            r#"{"system_tags":{"a":"b"}}"#,
            r#"{"tags":[["a"]]}"#,
            thousand_and_one.as_str(),
        ] {
            assert_rejected(
                &app,
                Method::POST,
                "/flows/F/run",
                body,
                StatusCode::BAD_REQUEST,
            )
            .await;
            assert_rejected(
                &app,
                Method::POST,
                "/flows/G",
                body,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        let numbers = big_body(r#"{"tags":["#, "1,", "1", "]}");
        let started = Instant::now();
        assert_rejected(
            &app,
            Method::POST,
            "/flows/F/run",
            &numbers,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(10));
        let many = big_body(r#"{"tags":["#, r#""a","#, r#""a""#, "]}");
        let a = app.post("/flows/F/run", &many).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(
            a.json()["message"]
                .as_str()
                .unwrap()
                .contains("at most 1000 tags")
        );
        let element = format!(r#"{{"tags":{}}},"#, json!(vec![""; 1000]));
        let spread = big_body("[", &element, "{}", "]");
        let a = app.post(&format!("{task}/artifact"), &spread).await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.body);
        assert!(
            a.json()["message"]
                .as_str()
                .unwrap()
                .contains("tags in all")
        );
        for body in [r#"[{"value":"a\u0000"}]"#, r#"[{"tags":["\u0000"]}]"#] {
            assert_rejected(
                &app,
                Method::POST,
                &format!("{task}/metadata"),
                body,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        let long_user = json!({"user_name": "u".repeat(256)}).to_string();
        for path in [
            "/flows/G".to_owned(),
            "/flows/F/run".to_owned(),
            format!("/flows/F/runs/{r}/steps/s2/step"),
            format!("/flows/F/runs/{r}/steps/start/task"),
        ] {
            assert_rejected(
                &app,
                Method::POST,
                &path,
                &long_user,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        assert_eq!(app.snapshot().await, before, "{}", app.engine);
        let null = app
            .post("/flows/F/run", r#"{"tags":null,"system_tags":[]}"#)
            .await;
        assert_eq!(
            (null.status, null.json()["tags"].clone()),
            (StatusCode::OK, json!(null))
        );
    }
}

#[tokio::test]
async fn listings_refuse_more_filter_values_than_can_be_bound() {
    for app in apps("filter_values").await {
        let (r, _) = app.seed("F").await;
        let many = vec!["a"; 5000].join(",");
        for path in [
            format!("/flows/F/runs?user_name={many}"),
            format!("/flows/F/runs?_tags:any={many}"),
            format!("/flows/F/runs?run_id={many}&user_name={many}"),
            format!("/flows/F/runs/{r}/steps/start/tasks?task_name={many}"),
        ] {
            let a = app.get(&path).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", &path[..40]);
            assert!(
                a.json()["message"]
                    .as_str()
                    .unwrap()
                    .contains("at most 500")
            );
        }
        let fine = vec!["a"; 500].join(",");
        let a = app.get(&format!("/flows/F/runs?user_name={fine}")).await;
        assert_eq!(
            (a.status, a.json()),
            (StatusCode::OK, json!([])),
            "{}",
            app.engine
        );
    }
}

/// A body whose bytes never arrive.
struct Stalled;

impl HttpBody for Stalled {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Pending
    }
}

#[tokio::test]
async fn a_request_past_the_time_limit_is_a_503_with_retry_after() {
    let settings = Settings {
        request_timeout: Some(Duration::from_millis(200)),
        ..Settings::default()
    };
    for app in apps_with("timeout", settings).await {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/flows/F")
            .body(Body::new(Stalled))
            .unwrap();
        let started = Instant::now();
        let resp = app.router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap();
        let message: serde_json::Value = serde_json::from_slice(&body.to_bytes()).unwrap();
        assert!(message["message"].as_str().unwrap().contains("retry"));
        assert_eq!(app.get("/flows/F").await.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn an_empty_api_key_opens_nothing() {
    let settings = Settings {
        api_key: Some(String::new()),
        ..Settings::default()
    };
    for app in apps_with("empty_key", settings).await {
        let bare = app.get("/flows").await;
        assert_eq!(bare.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !bare.body.contains("API key"),
            "no detail leaked: {}",
            bare.body
        );
        let empty_header = app
            .call_with(Method::GET, "/flows", None, &[("x-api-key", "")])
            .await;
        assert_eq!(empty_header.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
