//! A metaflow-ui build served at `/`: files from the build directory, and `index.html` for every
//! client route, with `window.METAFLOW_SERVICE` injected before `</head>` as upstream does.

use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::service_fn;
use tower::util::BoxCloneSyncService;

type Service = BoxCloneSyncService<Request<Body>, Response, Infallible>;

pub fn service(dir: PathBuf, service_url: String) -> Service {
    BoxCloneSyncService::new(service_fn(move |req: Request<Body>| {
        let (dir, service_url) = (dir.clone(), service_url.clone());
        async move { Ok(serve(&dir, &service_url, req.uri().path()).await) }
    }))
}

async fn serve(dir: &Path, service_url: &str, path: &str) -> Response {
    if let Some(file) = safe_join(dir, path)
        && let Ok(bytes) = tokio::fs::read(&file).await
    {
        return ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response();
    }
    index(dir, service_url).await
}

/// `path` under `dir`, refusing anything that would leave it.
fn safe_join(dir: &Path, path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative.as_os_str().is_empty()
        || !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    Some(dir.join(relative))
}

async fn index(dir: &Path, service_url: &str) -> Response {
    match tokio::fs::read_to_string(dir.join("index.html")).await {
        Ok(html) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            inject(&html, service_url),
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no index.html in the UI directory").into_response(),
    }
}

/// The script upstream adds; the URL is written as a JSON string so no value can break out.
fn inject(html: &str, service_url: &str) -> String {
    let value = serde_json::to_string(service_url)
        .unwrap_or_else(|_| "\"/api\"".into())
        .replace('<', "\\u003c");
    let script = format!("<script>window.METAFLOW_SERVICE={value};</script></head>");
    html.replacen("</head>", &script, 1)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_build_and_the_url_is_escaped() {
        let dir = Path::new("/srv/ui");
        assert_eq!(
            safe_join(dir, "/static/a.js"),
            Some(dir.join("static/a.js"))
        );
        assert_eq!(safe_join(dir, "/../etc/passwd"), None);
        assert_eq!(safe_join(dir, "/%2e%2e/etc/passwd"), None);
        assert_eq!(safe_join(dir, "/"), None);
        assert_eq!(
            inject("<head></head>", "/api"),
            "<head><script>window.METAFLOW_SERVICE=\"/api\";</script></head>"
        );
        assert!(!inject("</head>", "</script><script>x").contains("</script><script>x"));
    }
}
