//! Random requests against every route family, on every available engine: random paths, query strings
//! (filters, `_limit`, `_cursor`, tags) and bodies (JSON of random shapes and types, raw bytes). No
//! answer may be a 5xx other than 503, nothing may panic, and a refused (4xx) request changes nothing
//! stored. `MFSTACK_PROPTEST_CASES` sets the case count per engine (default 256).

mod common;

use axum::http::{Method, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use common::{App, apps, path_segment};

#[derive(Debug, Clone)]
struct Case {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
}

fn cases() -> u32 {
    std::env::var("MFSTACK_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// A path segment: a seeded id, a plausible one, or random text.
fn segment(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(known).prop_map(str::to_owned),
        1 => "\\PC{1,12}".prop_map(|s| path_segment(&Value::String(s))),
        1 => "[0-9]{1,20}",
    ]
}

const ROUTES: &[&str] = &[
    "/ping",
    "/version",
    "/healthcheck",
    "/flows",
    "/flows/{f}",
    "/flows/{f}/run",
    "/flows/{f}/runs",
    "/flows/{f}/runs/{r}",
    "/flows/{f}/runs/{r}/heartbeat",
    "/flows/{f}/runs/{r}/tag/mutate",
    "/flows/{f}/runs/{r}/steps",
    "/flows/{f}/runs/{r}/steps/{s}",
    "/flows/{f}/runs/{r}/steps/{s}/step",
    "/flows/{f}/runs/{r}/steps/{s}/task",
    "/flows/{f}/runs/{r}/steps/{s}/tasks",
    "/flows/{f}/runs/{r}/steps/{s}/filtered_tasks",
    "/flows/{f}/runs/{r}/steps/{s}/artifacts",
    "/flows/{f}/runs/{r}/artifacts",
    "/flows/{f}/runs/{r}/metadata",
    "/flows/{f}/runs/{r}/steps/{s}/tasks/{t}",
    "/flows/{f}/runs/{r}/steps/{s}/tasks/{t}/heartbeat",
    "/flows/{f}/runs/{r}/steps/{s}/tasks/{t}/artifact",
    "/flows/{f}/runs/{r}/steps/{s}/tasks/{t}/artifacts",
    "/flows/{f}/runs/{r}/steps/{s}/tasks/{t}/artifacts/{n}",
    "/flows/{f}/runs/{r}/steps/{s}/tasks/{t}/artifacts/{n}/attempt/{a}",
    "/flows/{f}/runs/{r}/steps/{s}/tasks/{t}/attempt/{a}/artifacts",
    "/flows/{f}/runs/{r}/steps/{s}/tasks/{t}/metadata",
];

fn path() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(ROUTES),
        segment(&["F", "G"]),
        segment(&["@R", "argo-1", "-1"]),
        segment(&["start", "end"]),
        segment(&["@T", "pod-1"]),
        segment(&["x", "name"]),
        segment(&["0", "1", "x"]),
    )
        .prop_map(|(route, f, r, s, t, n, a)| {
            route
                .replace("{f}", &f)
                .replace("{r}", &r)
                .replace("{s}", &s)
                .replace("{t}", &t)
                .replace("{n}", &n)
                .replace("{a}", &a)
        })
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        proptest::sample::select(
            &[
                "_limit",
                "_cursor",
                "_tags",
                "_tags:any",
                "_tags:likeall",
                "user_name",
                "user_name:co",
                "ts_epoch:gt",
                "last_heartbeat_ts:is",
                "status",
                "run_id",
                "run_number:lt",
                "task_id",
                "task_name:sw",
                "tags:eq",
                "pattern",
                "metadata_field_name",
                "user:zz",
            ][..]
        )
        .prop_map(str::to_owned),
        "\\PC{0,8}",
    ];
    let value = prop_oneof![
        "\\PC{0,16}",
        "-?[0-9]{1,22}",
        "[a-z,]{0,30}",
        Just("null".to_owned())
    ];
    proptest::collection::vec((key, value), 0..4).prop_map(|pairs| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            q.append_pair(&k, &v);
        }
        q.finish()
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(json!("metaflow_version:2.19.0")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::vec(("\\PC{0,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An object with the keys the routes read, each holding a random value.
fn known_object() -> impl Strategy<Value = Value> {
    let keys = proptest::sample::subsequence(
        vec![
            "user_name",
            "tags",
            "system_tags",
            "run_number",
            "task_id",
            "tags_to_add",
            "tags_to_remove",
            "name",
            "location",
            "ds_type",
            "attempt_id",
            "field_name",
            "value",
            "type",
        ],
        0..6,
    );
    (keys, proptest::collection::vec(json_value(), 6)).prop_map(|(keys, values)| {
        Value::Object(keys.into_iter().map(str::to_owned).zip(values).collect())
    })
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        1 => Just(None),
        1 => proptest::collection::vec(any::<u8>(), 0..48).prop_map(Some),
        2 => json_value().prop_map(|v| Some(v.to_string().into_bytes())),
        3 => known_object().prop_map(|v| Some(v.to_string().into_bytes())),
        3 => proptest::collection::vec(known_object(), 0..4)
            .prop_map(|v| Some(Value::from(v).to_string().into_bytes())),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let method = proptest::sample::select(vec![Method::GET, Method::POST, Method::PATCH]);
    (method, path(), query(), body()).prop_map(|(method, path, query, body)| Case {
        method,
        path: if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        },
        body,
    })
}

/// `@R` and `@T` in a path stand for the seeded run and task.
async fn check(app: &App, seeded: (i64, i64), case: &Case) -> Result<(), TestCaseError> {
    let path = case
        .path
        .replace("@R", &seeded.0.to_string())
        .replace("@T", &seeded.1.to_string());
    let before = app.snapshot().await;
    let body = case.body.clone().unwrap_or_default();
    let a = app.call_bytes(case.method.clone(), &path, body).await;
    prop_assert!(
        !a.status.is_server_error() || a.status == StatusCode::SERVICE_UNAVAILABLE,
        "{} {}: {} {}",
        case.method,
        path,
        a.status,
        a.body
    );
    if a.status.is_client_error() {
        prop_assert_eq!(
            &app.snapshot().await,
            &before,
            "{} {} changed data",
            case.method,
            path
        );
    }
    Ok(())
}

#[test]
fn random_requests_never_fail_the_server_or_change_data_when_refused() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for app in rt.block_on(apps("property")) {
        let seeded = rt.block_on(async {
            let seeded = app.seed("F").await;
            app.post("/flows/G", "{}").await;
            app.post("/flows/F/run", r#"{"run_number":"argo-1"}"#).await;
            seeded
        });
        let config = Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let result = runner.run(&case(), |c| rt.block_on(check(&app, seeded, &c)));
        if let Err(e) = result {
            panic!("{}: {e}", app.engine);
        }
        println!("{}: {} random requests", app.engine, cases());
    }
}
