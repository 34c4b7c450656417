//! The stylesheet and script, compiled into the binary.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::WebState;

pub const CSS_PATH: &str = "/static/app.css";
pub const JS_PATH: &str = "/static/app.js";

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

// Assets change only with the binary; an hour of caching keeps reloads light.
const CACHE: &str = "public, max-age=3600";

pub fn router() -> Router<WebState> {
    Router::new()
        .route(
            CSS_PATH,
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    CSS,
                )
                    .into_response()
            }),
        )
        .route(
            JS_PATH,
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    JS,
                )
                    .into_response()
            }),
        )
}
