//! The server's own HTTP handlers besides the API: the weight-unit preference, health,
//! readiness, metrics, server functions and static files (routes.rs mounts them).

use app::base::BasePath;
use app::shell;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::metrics::Exposition;
use crate::state::AppState;

/// `?units=` and `?back=` of `{base}/prefs`.
#[derive(serde::Deserialize)]
pub(crate) struct Prefs {
    units: String,
    back: Option<String>,
}

/// `GET {base}/prefs?units=g|oz&back=/path`: remembers the person's weight unit in a
/// cookie (a year) and sends them back to the page they were on (a path of this site
/// only; anything else goes home).
pub(crate) async fn prefs(
    State(state): State<AppState>,
    query: Result<axum::extract::Query<Prefs>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(prefs)) = query else {
        return (StatusCode::BAD_REQUEST, "expected ?units=g or ?units=oz").into_response();
    };
    if !matches!(prefs.units.as_str(), "g" | "oz") {
        return (StatusCode::UNPROCESSABLE_ENTITY, "units must be g or oz").into_response();
    }
    let base = state.base.as_str();
    let home = if base.is_empty() { "/".to_owned() } else { base.to_owned() };
    let back = prefs
        .back
        .filter(|b| b.starts_with(&format!("{base}/")) || *b == base)
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains(['\\', '\r', '\n']))
        .unwrap_or(home);
    let path = if base.is_empty() { "/" } else { base };
    let cookie = format!("{}={}; Path={path}; Max-Age=31536000; SameSite=Lax", app::clock::UNITS_COOKIE, prefs.units);
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `GET {base}/healthz`: the process is alive.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET {base}/readyz`: 200 when the database answers and ingestion is subscribed to the broker.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let database = match state.registry.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.to_string(),
    };
    let broker = if state.control.stats.subscribed() {
        "ok".to_owned()
    } else {
        format!("not connected to the broker ({})", state.control.broker)
    };
    let mut ready = database == "ok" && broker == "ok";
    let mut checks = serde_json::json!({ "database": database, "broker": broker });
    if let Some(answer) = state.readings.ping().await {
        ready &= answer.is_ok();
        checks["timeseries"] = answer.map_or_else(|e| e.to_string(), |()| "ok".to_owned()).into();
    }
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": checks,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

/// `GET {base}/metrics`: Prometheus text format.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = Exposition::default();
    let cache = state.registry.cache_stats();
    out.counters(
        "wages_store_lookups_total",
        "Device lookups on the ingest path, by where they were answered.",
        "result",
        [("hit", cache.hits), ("miss", cache.misses)],
    );
    out.counter("wages_store_queries_total", "Device lookups that reached the database.", cache.queries);
    out.counter(
        "wages_live_streams_refused_total",
        "Live streams refused: their client had WAGES_LIVE_PER_CLIENT open.",
        state.streams.refused.load(std::sync::atomic::Ordering::Relaxed),
    );
    if let wages_store::ReadingsStore::Sql(sql) = &state.readings {
        out.gauge(
            "wages_readings_journaled",
            "Readings stored in the journal and not yet folded into their shots (SQLite).",
            sql.journaled(),
        );
    }
    state.metrics.write(&mut out);
    state.control.stats.write_metrics(&mut out);
    if let Some(gate) = &state.gate {
        gate.write_metrics(&mut out);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out.into_text())
}

/// `uri` with the base path taken off the front, as the inner handlers expect it.
fn strip_base(base: &BasePath, uri: &Uri) -> Uri {
    let Some(rest) = uri.path().strip_prefix(base.as_str()) else {
        return uri.clone();
    };
    let path = if rest.is_empty() { "/" } else { rest };
    let stripped = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    stripped.parse().unwrap_or_else(|_| uri.clone())
}

/// Server functions are registered at `/api/fn/…`; they are reached at `{base}/api/fn/…`.
pub(crate) async fn server_fn(State(state): State<AppState>, mut req: Request<Body>) -> Response {
    *req.uri_mut() = strip_base(&state.base, req.uri());
    leptos_axum::handle_server_fns_with_context(move || state.provide(), req).await.into_response()
}

/// Files under the site root (`{base}/pkg/…`, the icons and the manifest), or the app's
/// own 404 page. A file goes out precompressed when the build made a `.br` or `.gz` of
/// it and the browser takes that encoding. Those under pkg/ of a site built with hashed
/// names are cached for good; the rest are revalidated by date (304 when unchanged).
pub(crate) async fn assets_or_not_found(State(state): State<AppState>, req: Request<Body>) -> Response {
    let in_base = state.base.as_str().is_empty() || req.uri().path().starts_with(&format!("{}/", state.base.as_str()));
    if !in_base {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    let file_uri = strip_base(&state.base, req.uri());
    if let Some(bundle) = &state.bundle
        && matches!(*req.method(), Method::GET | Method::HEAD)
        && let Some(answer) = bundle.answer(file_uri.path(), file_uri.query(), req.headers()).await
    {
        return cached(answer, state.leptos_options.hash_files);
    }
    // With hashed names a file under pkg/ never changes: a new build names it anew.
    let immutable = state.leptos_options.hash_files && file_uri.path().starts_with("/pkg/");
    let file = match file_request(&file_uri, &req) {
        Some(file_req) => static_file(&state.leptos_options.site_root, file_req, immutable).await,
        None => None,
    };
    if let Some(file) = file {
        return file;
    }
    let handler = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        {
            let state = state.clone();
            move || state.provide()
        },
        shell,
    );
    handler(file_uri, State(state), req).await
}

/// The site's file that `file_req` asks for, or `None` when there is none.
async fn static_file(site_root: &str, file_req: Request<Body>, immutable: bool) -> Option<Response> {
    use tower::ServiceExt as _;
    let served = tower_http::services::ServeDir::new(site_root)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .oneshot(file_req)
        .await
        .ok()?;
    if served.status() == StatusCode::NOT_FOUND {
        return None;
    }
    // The file's own answer, a refusal included (an unreadable range: 416).
    let response = served.into_response();
    Some(cached(response, immutable))
}

/// A site file's answer with how long it may be kept: for good when its name is its
/// content's hash. Errors go out as they are.
fn cached(mut response: Response, immutable: bool) -> Response {
    if !matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT) {
        return response;
    }
    let headers = response.headers_mut();
    let policy = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    // Which copy went out depends on what the browser takes, for any cache on the way.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// `req` for the file at `uri`: its method, and the headers that choose the encoding
/// and make it conditional.
fn file_request(uri: &Uri, req: &Request<Body>) -> Option<Request<Body>> {
    let mut file_req = Request::builder().method(req.method()).uri(uri.clone());
    for name in [header::ACCEPT_ENCODING, header::IF_MODIFIED_SINCE, header::IF_UNMODIFIED_SINCE, header::RANGE] {
        if let Some(value) = req.headers().get(&name) {
            file_req = file_req.header(name, value);
        }
    }
    file_req.body(Body::empty()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_base_path() {
        let base = BasePath::parse("/wages").expect("valid");
        let uri: Uri = "/wages/api/status?x=1".parse().expect("uri");
        assert_eq!(strip_base(&base, &uri), "/api/status?x=1");
        assert_eq!(strip_base(&base, &"/wages".parse().expect("uri")), "/");
        assert_eq!(strip_base(&BasePath::default(), &uri), uri);
    }
}
