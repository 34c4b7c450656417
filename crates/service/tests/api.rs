//! The metadata API through the router, on every available engine (spec sections 2–6, 11).

mod common;
#[path = "api/hardening.rs"]
mod hardening;

use axum::http::{Method, StatusCode};
use common::apps;
use serde_json::{Value, json};

#[tokio::test]
async fn ping_version_and_healthcheck() {
    for app in apps("admin").await {
        let a = app.get("/ping").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.body, "pong");
        assert_eq!(a.headers["METADATA_SERVICE_VERSION"], "2.5.1");
        assert!(a.headers.contains_key("x-mfstack-version"));
        assert_eq!(app.get("/version").await.body, "2.5.1");
        let h = app.get("/healthcheck").await;
        assert_eq!(h.status, StatusCode::OK);
        assert_eq!(h.body, r#""{\"status\": \"UP\"}""#);
        assert_eq!(app.get("/nope").await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.get("/flows/").await.status,
            StatusCode::NOT_FOUND,
            "no trailing-slash folding"
        );
        assert_eq!(
            app.call(Method::DELETE, "/ping", None).await.status,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}

#[tokio::test]
async fn flows_create_get_list_and_duplicates() {
    for app in apps("flows").await {
        let a = app
            .post(
                "/flows/F1",
                r#"{"flow_id":"F1","ts_epoch":1,"user_name":"u"}"#,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", app.engine);
        assert_eq!(a.headers["content-type"], "application/json");
        let f = a.json();
        assert_eq!(f["flow_id"], "F1");
        assert_eq!(f["tags"], Value::Null);
        assert!(
            f["ts_epoch"].as_i64().unwrap() > 1_600_000_000_000,
            "ms timestamps set by the server"
        );
        assert_eq!(
            app.post("/flows/F1", "{}").await.status,
            StatusCode::CONFLICT
        );
        assert_eq!(app.get("/flows/F1").await.json(), f);
        let missing = app.get("/flows/NOPE").await;
        assert_eq!(
            (missing.status, missing.body.as_str()),
            (StatusCode::NOT_FOUND, "{}")
        );
        app.post("/flows/F2", "{}").await;
        let all = app.get("/flows").await;
        assert_eq!(all.json().as_array().unwrap().len(), 2);
        assert!(
            !all.headers.contains_key("x-limit"),
            "legacy listings carry no page headers"
        );
    }
}

#[tokio::test]
async fn runs_ids_user_and_duplicates() {
    for app in apps("runs").await {
        app.post("/flows/F", "{}").await;
        let body = r#"{"user_name":"ana","tags":["a"],"system_tags":["user:ana","metaflow_version:2.19.38"]}"#;
        let created = app.post("/flows/F/run", body).await.json();
        let n = created["run_number"].as_i64().expect("integer run number");
        assert!(
            created.get("user").is_none(),
            "no `user` on the create response"
        );
        assert!(
            created["last_heartbeat_ts"].as_i64().is_some(),
            "heartbeat-capable client starts alive"
        );
        let got = app.get(&format!("/flows/F/runs/{n}")).await.json();
        assert_eq!(got["user"], "ana");
        let named = app
            .post(
                "/flows/F/run",
                r#"{"run_number":"argo-1","system_tags":["metaflow_version:2.0.1"]}"#,
            )
            .await;
        assert_eq!(named.json()["run_number"], "argo-1");
        assert_eq!(named.json()["last_heartbeat_ts"], Value::Null);
        assert_eq!(
            app.post("/flows/F/run", r#"{"run_number":"argo-1"}"#)
                .await
                .status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            app.get("/flows/F/runs/argo-1").await.json()["run_number"],
            "argo-1"
        );
        assert_eq!(
            app.post("/flows/F/run", r#"{"run_number":"123"}"#)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.post("/flows/F/run", r#"{"run_number":5}"#).await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.post("/flows/NOPE/run", "{}").await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.get("/flows/F/runs/999999").await.body, "{}");
        assert_eq!(
            app.get("/flows/F/runs/-1").await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.count("/flows/F/runs").await, 2);
        assert_eq!(app.get("/flows/NOPE/runs").await.json(), json!([]));
    }
}

#[tokio::test]
async fn steps_and_tasks_graft_run_tags() {
    for app in apps("steps_tasks").await {
        let (r, t) = app.seed("F").await;
        let step = app
            .get(&format!("/flows/F/runs/{r}/steps/start"))
            .await
            .json();
        assert_eq!(
            step["run_number"],
            json!(r.to_string()),
            "steps return the digit string (spec 2.5)"
        );
        assert_eq!(step["tags"], json!(["t1"]));
        assert_eq!(
            step["system_tags"],
            json!(["user:ana", "metaflow_version:2.19.0"])
        );
        let task = app
            .get(&format!("/flows/F/runs/{r}/steps/start/tasks/{t}"))
            .await
            .json();
        assert_eq!(task["run_number"], json!(r));
        assert_eq!(task["task_id"], json!(t));
        assert_eq!(task["tags"], json!(["t1"]));
        let dup = app
            .post(&format!("/flows/F/runs/{r}/steps/start/step"), "{}")
            .await;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        let named = app
            .post(
                &format!("/flows/F/runs/{r}/steps/start/task"),
                r#"{"task_id":"pod-1"}"#,
            )
            .await;
        assert_eq!(named.json()["task_id"], "pod-1");
        let again = app
            .post(
                &format!("/flows/F/runs/{r}/steps/start/task"),
                r#"{"task_id":"pod-1"}"#,
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(
            app.get(&format!("/flows/F/runs/{r}/steps/start/tasks/pod-1"))
                .await
                .status,
            StatusCode::OK
        );
        let numeric = app
            .post(
                &format!("/flows/F/runs/{r}/steps/start/task"),
                r#"{"task_id":"77"}"#,
            )
            .await;
        assert_eq!(numeric.status, StatusCode::BAD_REQUEST);
        let no_step = app
            .post(&format!("/flows/F/runs/{r}/steps/nostep/task"), "{}")
            .await;
        assert_eq!(no_step.status, StatusCode::NOT_FOUND);
        let no_run = app
            .post("/flows/F/runs/424242/steps/start/step", "{}")
            .await;
        assert_eq!(no_run.status, StatusCode::NOT_FOUND);
        assert_eq!(app.count(&format!("/flows/F/runs/{r}/steps")).await, 1);
        assert_eq!(
            app.count(&format!("/flows/F/runs/{r}/steps/start/tasks"))
                .await,
            2
        );
        assert_eq!(app.get("/flows/F/runs/9999/steps").await.json(), json!([]));
        assert_eq!(
            app.get(&format!("/flows/F/runs/{r}/steps/nope")).await.body,
            "{}"
        );
    }
}

#[tokio::test]
async fn heartbeats_are_double_encoded() {
    for app in apps("heartbeats").await {
        let (r, t) = app.seed("F").await;
        let body = r#""{\"wait_time_in_seconds\": 10}""#;
        let a = app
            .call(
                Method::POST,
                &format!("/flows/F/runs/{r}/heartbeat"),
                Some("{}"),
            )
            .await;
        assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, body));
        let b = app
            .call(
                Method::POST,
                &format!("/flows/F/runs/{r}/steps/start/tasks/{t}/heartbeat"),
                None,
            )
            .await;
        assert_eq!((b.status, b.body.as_str()), (StatusCode::OK, body));
        let c = app
            .call(Method::POST, "/flows/F/runs/999999/heartbeat", None)
            .await;
        assert_eq!((c.status, c.body.as_str()), (StatusCode::NOT_FOUND, body));
        let task = app
            .get(&format!("/flows/F/runs/{r}/steps/start/tasks/{t}"))
            .await
            .json();
        assert!(
            task["last_heartbeat_ts"].as_i64().unwrap() < 10_000_000_000,
            "heartbeats are in seconds"
        );
    }
}

/// A task id is only found under its own flow, run and step: heartbeats and posts read the task
/// by id alone, then check the rest of the path on the row.
#[tokio::test]
async fn a_task_id_under_another_path_is_not_found() {
    for app in apps("task_paths").await {
        let (r, _) = app.seed("F").await;
        app.seed("G").await;
        // A task that never beat (no version tag), so a beat through a wrong path would show.
        let t = app
            .post(
                &format!("/flows/F/runs/{r}/steps/start/task"),
                r#"{"user_name":"ana","system_tags":["user:ana"]}"#,
            )
            .await
            .json()["task_id"]
            .as_i64()
            .unwrap();
        let other = app
            .post("/flows/F/run", r#"{"user_name":"ana"}"#)
            .await
            .json()["run_number"]
            .as_i64()
            .unwrap();
        for (run, step) in [(other, "start"), (r, "end")] {
            let s = app
                .post(&format!("/flows/F/runs/{run}/steps/{step}/step"), "{}")
                .await;
            assert_eq!(s.status, StatusCode::OK, "{}", s.body);
        }
        let before = app.snapshot().await;
        for path in [
            format!("/flows/G/runs/{r}/steps/start/tasks/{t}"),
            format!("/flows/F/runs/{other}/steps/start/tasks/{t}"),
            format!("/flows/F/runs/{r}/steps/end/tasks/{t}"),
        ] {
            let beat = app
                .call(Method::POST, &format!("{path}/heartbeat"), None)
                .await;
            assert_eq!(beat.status, StatusCode::NOT_FOUND, "{path}: {}", beat.body);
            assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
            let artifact = r#"[{"name":"x","location":"/x","ds_type":"local","attempt_id":0}]"#;
            let posted = app.post(&format!("{path}/artifact"), artifact).await;
            assert_eq!(
                posted.status,
                StatusCode::BAD_REQUEST,
                "{path}: {}",
                posted.body
            );
            let field = r#"[{"field_name":"x","value":"1","type":"t"}]"#;
            let posted = app.post(&format!("{path}/metadata"), field).await;
            assert_eq!(
                posted.status,
                StatusCode::BAD_REQUEST,
                "{path}: {}",
                posted.body
            );
        }
        assert_eq!(app.snapshot().await, before, "nothing was written");
        let beat = app
            .call(
                Method::POST,
                &format!("/flows/F/runs/{r}/steps/start/tasks/{t}/heartbeat"),
                None,
            )
            .await;
        assert_eq!(beat.status, StatusCode::OK, "{}", beat.body);
        assert_ne!(app.snapshot().await, before, "its own path beats it");
    }
}

#[tokio::test]
async fn tag_mutation_statuses() {
    for app in apps("tags").await {
        let (r, _) = app.seed("F").await;
        let path = format!("/flows/F/runs/{r}/tag/mutate");
        let patch = |b: &'static str| app.call(Method::PATCH, &path, Some(b));
        let a = patch(r#"{"tags_to_add":["x","y","x"],"tags_to_remove":["t1"]}"#).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.json(), json!({"tags": ["x", "y"]}));
        let same = patch(r#"{"tags_to_add":["x"]}"#).await;
        assert_eq!(same.json(), json!({"tags": ["x", "y"]}));
        let sys = patch(r#"{"tags_to_add":["user:ana"]}"#).await;
        assert_eq!(
            sys.json(),
            json!({"tags": ["x", "y"]}),
            "adding a system tag is ignored"
        );
        let bad = patch(r#"{"tags_to_remove":["user:ana"]}"#).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.json().as_str().unwrap().contains("user:ana"));
        let not_list = patch(r#"{"tags_to_add":"x"}"#).await;
        assert_eq!(
            (not_list.status, not_list.json()),
            (StatusCode::BAD_REQUEST, json!("tags_to_add must be a list"))
        );
        let not_str = patch(r#"{"tags_to_add":[1]}"#).await;
        assert_eq!(not_str.json(), json!("All tag values must be strings"));
        let missing = app
            .call(Method::PATCH, "/flows/F/runs/99999/tag/mutate", Some("{}"))
            .await;
        assert_eq!(
            (missing.status, missing.body.as_str()),
            (StatusCode::NOT_FOUND, "{}")
        );
        assert_eq!(
            app.get(&format!("/flows/F/runs/{r}")).await.json()["tags"],
            json!(["x", "y"])
        );
    }
}

#[tokio::test]
async fn concurrent_tag_additions_lose_nothing() {
    for app in apps("tags_concurrent").await {
        let (r, _) = app.seed("F").await;
        let path = format!("/flows/F/runs/{r}/tag/mutate");
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let (router, path) = (app.router.clone(), path.clone());
                let body = format!(r#"{{"tags_to_add":["c{i}"]}}"#);
                tokio::spawn(async move {
                    // The client retries 409s; so does this test.
                    loop {
                        let a =
                            common::send(router.clone(), Method::PATCH, path.clone(), body.clone())
                                .await;
                        if a.status != StatusCode::CONFLICT {
                            return a.status;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap(), StatusCode::OK);
        }
        let tags = app.get(&format!("/flows/F/runs/{r}")).await.json()["tags"].clone();
        assert_eq!(
            tags.as_array().unwrap().len(),
            51,
            "{} lost an update: {tags}",
            app.engine
        );
    }
}

#[tokio::test]
async fn artifacts_latest_attempt_and_attempt_routes() {
    for app in apps("artifacts").await {
        let (r, t) = app.seed("F").await;
        let base = format!("/flows/F/runs/{r}/steps/start/tasks/{t}");
        let art = |name: &str, attempt: i64| {
            json!({"name": name, "location": format!("/ds/{name}/{attempt}"), "ds_type": "local", "sha": "s",
                   "type": "metaflow.artifact", "content_type": "gzip+pickle-v4", "attempt_id": attempt})
        };
        let batch0 = json!([art("name", 0), art("x", 0), art("old", 0)]).to_string();
        let a = app.post(&format!("{base}/artifact"), &batch0).await;
        assert_eq!(a.json(), json!({"artifacts_created": 3}));
        assert_eq!(
            app.post(&format!("{base}/artifact"), &batch0).await.json(),
            json!({"artifacts_created": 0})
        );
        let batch1 = json!([art("name", 1), art("x", 1)]).to_string();
        assert_eq!(
            app.post(&format!("{base}/artifact"), &batch1).await.json()["artifacts_created"],
            2
        );
        let latest = app.get(&format!("{base}/artifacts")).await.json();
        let mut names: Vec<_> = latest
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["name", "x"],
            "artifacts only of attempt 0 are hidden"
        );
        assert!(
            latest
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["attempt_id"] == 1 && a["tags"] == json!(["t1"]))
        );
        assert_eq!(app.count(&format!("{base}/attempt/0/artifacts")).await, 3);
        assert_eq!(
            app.get(&format!("{base}/artifacts/x")).await.json()["attempt_id"],
            1
        );
        assert_eq!(app.get(&format!("{base}/artifacts/old")).await.body, "{}");
        assert_eq!(
            app.get(&format!("{base}/artifacts/old/attempt/0"))
                .await
                .json()["location"],
            "/ds/old/0"
        );
        assert_eq!(
            app.get(&format!("{base}/artifacts/x/attempt/zz"))
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.count(&format!("/flows/F/runs/{r}/steps/start/artifacts"))
                .await,
            2
        );
        assert_eq!(app.count(&format!("/flows/F/runs/{r}/artifacts")).await, 2);
        let unregistered = app
            .post(
                &format!("/flows/F/runs/{r}/steps/start/tasks/999999/artifact"),
                "[]",
            )
            .await;
        assert_eq!(unregistered.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            unregistered.json(),
            json!({"message": "need to register run_id and task_id first"})
        );
        let long =
            json!([{"name": "big", "location": "l".repeat(300), "ds_type": "local"}]).to_string();
        assert_eq!(
            app.post(&format!("{base}/artifact"), &long).await.json()["artifacts_created"],
            0
        );
        let paged = app
            .get(&format!("/flows/F/runs/{r}/artifacts?_limit=1"))
            .await;
        assert_eq!(paged.headers["x-limit"], "1");
        assert!(paged.headers.contains_key("x-next-cursor"));
    }
}

#[tokio::test]
async fn metadata_values_duplicates_and_own_tags() {
    for app in apps("metadata").await {
        let (r, t) = app.seed("F").await;
        let base = format!("/flows/F/runs/{r}/steps/start/tasks/{t}/metadata");
        let batch = json!([
            {"field_name": "attempt", "value": "0", "type": "attempt", "tags": ["attempt_id:0"]},
            {"field_name": "foreach-stack", "value": ["i=0", "j=a b"], "type": "foreach-stack"},
            {"field_name": "n", "value": 5, "type": "n"},
            {"field_name": "obj", "value": {"a": 1}, "type": "obj"},
            {"field_name": "nul", "value": null, "type": "nul"}
        ])
        .to_string();
        let a = app.post(&base, &batch).await;
        assert_eq!(a.json(), json!({"metadata_created": 3}));
        assert_eq!(
            app.post(&base, &batch).await.json()["metadata_created"],
            3,
            "duplicates allowed"
        );
        let rows = app.get(&base).await.json();
        assert_eq!(rows.as_array().unwrap().len(), 6);
        let stack = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["field_name"] == "foreach-stack")
            .unwrap();
        assert_eq!(stack["value"], r#"{i=0,"j=a b"}"#);
        let attempt = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["field_name"] == "attempt")
            .unwrap();
        assert_eq!(
            attempt["tags"],
            json!(["attempt_id:0"]),
            "metadata keeps its own tags"
        );
        assert!(attempt["id"].as_i64().is_some());
        assert_eq!(app.count(&format!("/flows/F/runs/{r}/metadata")).await, 6);
        let page = app.get(&format!("{base}?_limit=4")).await;
        assert_eq!(page.json().as_array().unwrap().len(), 4);
        let cursor = page.headers["x-next-cursor"].to_str().unwrap().to_owned();
        let enc: String = url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
        let next = app.get(&format!("{base}?_limit=4&_cursor={enc}")).await;
        assert_eq!(next.json().as_array().unwrap().len(), 2);
        assert!(!next.headers.contains_key("x-next-cursor"));
    }
}

#[tokio::test]
async fn filtered_tasks_by_metadata_regex() {
    for app in apps("filtered").await {
        let (r, t1) = app.seed("F").await;
        let t2 = app
            .post(&format!("/flows/F/runs/{r}/steps/start/task"), "{}")
            .await
            .json()["task_id"]
            .as_i64()
            .unwrap();
        for (t, v) in [(t1, "A:10,B:13"), (t2, "A:10,B:14")] {
            let body = json!([{"field_name": "foreach-execution-path", "value": v, "type": "p"}])
                .to_string();
            app.post(
                &format!("/flows/F/runs/{r}/steps/start/tasks/{t}/metadata"),
                &body,
            )
            .await;
        }
        let base = format!("/flows/F/runs/{r}/steps/start/filtered_tasks");
        let hit = app
            .get(&format!(
                "{base}?metadata_field_name=foreach-execution-path&pattern=A:10,B:13"
            ))
            .await;
        assert_eq!(hit.json(), json!([format!("F/{r}/start/{t1}")]));
        assert_eq!(app.count(&base).await, 2);
        assert_eq!(
            app.get(&format!("{base}?pattern=(")).await.status,
            StatusCode::BAD_REQUEST
        );
    }
}

#[tokio::test]
async fn run_filters_status_and_pagination() {
    for app in apps("filters").await {
        app.post("/flows/F", "{}").await;
        let mut numbers = Vec::new();
        for i in 0..5 {
            let tags = if i % 2 == 0 {
                r#"["even"]"#
            } else {
                r#"["odd"]"#
            };
            let body = format!(
                r#"{{"user_name":"u{i}","tags":{tags},"system_tags":["metaflow_version:2.19.0"]}}"#
            );
            numbers.push(
                app.post("/flows/F/run", &body).await.json()["run_number"]
                    .as_i64()
                    .unwrap(),
            );
        }
        let p = app.get("/flows/F/runs?_limit=2").await;
        assert_eq!(p.json().as_array().unwrap().len(), 2);
        assert_eq!(p.headers["x-limit"], "2");
        let first: Vec<i64> = p
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["run_number"].as_i64().unwrap())
            .collect();
        assert_eq!(first, vec![numbers[4], numbers[3]], "newest first");
        assert_eq!(app.count("/flows/F/runs?user_name=u1").await, 1);
        assert_eq!(app.count("/flows/F/runs?user_name:sw=U").await, 5);
        assert_eq!(app.count("/flows/F/runs?_tags:any=even").await, 3);
        assert_eq!(app.count("/flows/F/runs?_tags=even,odd").await, 0);
        assert_eq!(app.count("/flows/F/runs?run_id=null").await, 5);
        let running = app.get("/flows/F/runs?status=running").await.json();
        assert_eq!(
            running.as_array().unwrap().len(),
            5,
            "fresh heartbeats are running"
        );
        assert_eq!(running[0]["status"], "running");
        // An end step that succeeded makes the run completed.
        let r = numbers[0];
        app.post(&format!("/flows/F/runs/{r}/steps/end/step"), "{}")
            .await;
        let t = app
            .post(&format!("/flows/F/runs/{r}/steps/end/task"), "{}")
            .await
            .json()["task_id"]
            .as_i64()
            .unwrap();
        let body =
            r#"[{"field_name":"attempt_ok","value":"True","type":"internal_attempt_status"}]"#;
        app.post(
            &format!("/flows/F/runs/{r}/steps/end/tasks/{t}/metadata"),
            body,
        )
        .await;
        let done = app.get("/flows/F/runs?status=completed").await.json();
        assert_eq!(done.as_array().unwrap().len(), 1);
        assert_eq!(done[0]["run_number"], r);
        assert_eq!(
            app.get("/flows/F/runs?status=bogus").await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.get("/flows/F/runs?ts_epoch:gt=abc").await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.get("/flows/F/runs?user_name:xx=a").await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.get("/flows/F/runs?_cursor=bad").await.body,
            r#""Invalid cursor""#
        );
        assert_eq!(
            app.get("/flows/F/runs?_limit=x").await.status,
            StatusCode::BAD_REQUEST
        );
        let tasks = app
            .get(&format!("/flows/F/runs/{r}/steps/end/tasks?task_id={t}"))
            .await;
        assert_eq!(tasks.json().as_array().unwrap().len(), 1);
        assert_eq!(tasks.headers["x-limit"], "50");
    }
}

#[tokio::test]
async fn bad_input_is_a_4xx_and_changes_nothing() {
    for app in apps("bad_input").await {
        let (r, t) = app.seed("F").await;
        let before = app.get("/flows/F").await.body;
        for (path, body) in [
            ("/flows/G", "{not json"),
            ("/flows/G", r#"{"user_name": 5}"#),
            ("/flows/G", "[1,2]"),
            ("/flows/G", r#"{"user_name": "a\u0000b"}"#),
            ("/flows/F/run", r#"{"tags": "#),
        ] {
            let a = app.post(path, body).await;
            assert_eq!(
                a.status,
                StatusCode::BAD_REQUEST,
                "{path} {body}: {}",
                a.body
            );
            assert!(a.json()["message"].is_string());
        }
        let invalid_utf8 = app
            .call_bytes(
                Method::POST,
                "/flows/G",
                b"{\"user_name\": \"\xff\xfe\"}".to_vec(),
            )
            .await;
        assert_eq!(invalid_utf8.status, StatusCode::BAD_REQUEST);
        assert!(invalid_utf8.json()["message"].is_string());
        let empty = app.call(Method::POST, "/flows/G", None).await;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        let long = format!("/flows/{}", "f".repeat(300));
        assert_eq!(app.post(&long, "{}").await.status, StatusCode::BAD_REQUEST);
        let art = format!("/flows/F/runs/{r}/steps/start/tasks/{t}/artifact");
        assert_eq!(
            app.post(&art, r#"{"name":"x"}"#).await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.post(&art, r#"[{"attempt_id":"x"}]"#).await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.get("/flows/G").await.status,
            StatusCode::NOT_FOUND,
            "nothing was created"
        );
        assert_eq!(app.get("/flows/F").await.body, before);
        let odd = "/flows/%E2%9C%93%20flow";
        assert_eq!(app.post(odd, "{}").await.status, StatusCode::OK);
        assert_eq!(app.get(odd).await.json()["flow_id"], "✓ flow");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let settings = mfstack_service::Settings {
        body_limit: 1024,
        ..Default::default()
    };
    for app in common::apps_with("limit", settings).await {
        let big = format!(r#"{{"user_name":"{}"}}"#, "x".repeat(4096));
        let a = app.post("/flows/F", &big).await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(a.json()["message"].as_str().unwrap().contains("too large"));
    }
}

#[tokio::test]
async fn api_key_is_required_when_configured() {
    let settings = mfstack_service::Settings {
        api_key: Some("k3y".into()),
        ..Default::default()
    };
    for app in common::apps_with("apikey", settings).await {
        assert_eq!(app.get("/flows").await.status, StatusCode::FORBIDDEN);
        let wrong = app
            .call_with(Method::GET, "/flows", None, &[("x-api-key", "nope")])
            .await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        let right = app
            .call_with(Method::GET, "/flows", None, &[("x-api-key", "k3y")])
            .await;
        assert_eq!(right.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn concurrent_task_creation_gives_distinct_ids() {
    for app in apps("concurrent_tasks").await {
        let (r, _) = app.seed("F").await;
        let path = format!("/flows/F/runs/{r}/steps/start/task");
        let handles: Vec<_> = (0..64)
            .map(|_| app.spawn(Method::POST, path.clone(), "{}".into()))
            .collect();
        let mut ids = Vec::new();
        for h in handles {
            let a = h.await.unwrap();
            assert_eq!(a.status, StatusCode::OK);
            ids.push(a.json()["task_id"].as_i64().unwrap());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 64);
        let listed = app
            .get(&format!("/flows/F/runs/{r}/steps/start/tasks"))
            .await
            .json();
        assert_eq!(listed.as_array().unwrap().len(), 65);
    }
}

#[tokio::test]
async fn migration_routes() {
    for app in apps("migration").await {
        let router = mfstack_service::migration_router(mfstack_service::AppState::new(
            app.store.clone(),
            Default::default(),
        ));
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let call = |method: &str, path: &str| {
            let req = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .body(axum::body::Body::empty())
                .unwrap();
            let router = router.clone();
            async move {
                let resp = router.oneshot(req).await.unwrap();
                let status = resp.status();
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                (status, String::from_utf8_lossy(&body).into_owned())
            }
        };
        assert_eq!(call("GET", "/ping").await, (StatusCode::OK, "pong".into()));
        assert_eq!(
            call("GET", "/version").await,
            (StatusCode::OK, "latest".into())
        );
        let (status, body) = call("GET", "/db_schema_status").await;
        assert_eq!(status, StatusCode::OK);
        let s: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(s["is_up_to_date"], true);
        assert_eq!(s["unapplied_migrations"], json!([]));
        assert_eq!(
            call("PATCH", "/upgrade").await,
            (StatusCode::OK, "upgrade success".into())
        );
    }
}

#[tokio::test]
async fn concurrent_artifact_posts_and_heartbeats_lose_nothing() {
    for app in apps("concurrent_artifacts").await {
        let (r, t) = app.seed("F").await;
        let base = format!("/flows/F/runs/{r}/steps/start/tasks/{t}");
        let mut handles = Vec::new();
        for i in 0..32 {
            let batch: Vec<Value> = (0..10)
                .map(|j| json!({"name": format!("a{i}_{j}"), "location": "l", "ds_type": "local"}))
                .collect();
            handles.push(app.spawn(
                Method::POST,
                format!("{base}/artifact"),
                Value::from(batch).to_string(),
            ));
            handles.push(app.spawn(Method::POST, format!("{base}/heartbeat"), String::new()));
        }
        for h in handles {
            assert_eq!(h.await.unwrap().status, StatusCode::OK);
        }
        let all = app.get(&format!("{base}/artifacts")).await.json();
        assert_eq!(all.as_array().unwrap().len(), 320, "{}", app.engine);
    }
}

#[tokio::test]
async fn path_prefix_moves_every_route() {
    let settings = mfstack_service::Settings {
        path_prefix: Some("/api".into()),
        ..Default::default()
    };
    for app in common::apps_with("prefix", settings).await {
        assert_eq!(app.get("/api/ping").await.body, "pong");
        assert_eq!(app.post("/api/flows/F", "{}").await.status, StatusCode::OK);
        assert_eq!(
            app.get("/flows/F").await.status,
            StatusCode::NOT_FOUND,
            "nothing at the bare paths"
        );
    }
}
