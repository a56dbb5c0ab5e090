//! The HTTP side: the Leptos app (pages and server functions), health endpoints and
//! static assets, all under the configured base path.

use std::sync::Arc;
use std::time::Instant;

use app::base::BasePath;
use app::status::ServerFacts;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use wages_store::Registry;

use crate::config::Config;
use crate::ingest::Ingest;

/// What every handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    /// Leptos's own options: site root, output name, address.
    pub leptos_options: LeptosOptions,
    /// The URL path prefix everything is served under.
    pub base: BasePath,
    /// Facts for the status page.
    pub facts: ServerFacts,
    /// The devices, with their lookup cache.
    pub registry: Registry,
    /// Where readings are stored (`WAGES_TIMESERIES`).
    pub readings: wages_store::ReadingsStore,
    /// The ingest pipeline: figures, dead letters, reconfiguration, publishing.
    pub control: Arc<crate::pipeline::Control>,
    /// Stored readings as they come, for live viewers.
    pub hub: Arc<crate::hub::Hub>,
    /// The embedded broker's front door, which `{base}/mqtt` passes through; `None` with
    /// an external broker.
    pub gate: Option<Arc<crate::mqtt_gate::Gate>>,
    /// Whether `{base}/metrics` is open to all (`WAGES_METRICS_PUBLIC`).
    pub metrics_public: bool,
    /// Live streams open per client (`WAGES_LIVE_PER_CLIENT`).
    pub streams: Arc<crate::api::StreamLimits>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Everything the handlers reach, from the configuration, the registry and the
    /// running ingestion: complete from the start, nothing set afterwards.
    pub fn new(config: &Config, registry: Registry, ingest: &Ingest) -> Self {
        Self {
            leptos_options: crate::leptos_options(config),
            base: config.base_path.clone(),
            facts: ServerFacts { started_at: Instant::now() },
            registry,
            readings: ingest.readings.clone(),
            control: ingest.control.clone(),
            hub: ingest.hub.clone(),
            gate: ingest.gate.clone(),
            metrics_public: config.metrics_public,
            streams: crate::api::StreamLimits::new(config.live_per_client),
        }
    }

    /// Puts the state into the Leptos context of a render or server function call, and
    /// gives a page its Content-Security-Policy with the render's nonce.
    fn provide(&self) {
        if let (Some(nonce), Some(response)) = (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
            && let Ok(policy) = axum::http::HeaderValue::from_str(&crate::security::page_policy(&nonce))
        {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
        provide_context(self.base.clone());
        provide_context(self.facts.clone());
        provide_context(self.registry.clone());
        provide_context(self.registry.accounts());
        provide_context(self.readings.clone());
        provide_context(app::pipeline::PipelineHandle(self.control.clone()));
    }
}

/// The whole web app as one router.
pub fn router(state: AppState) -> Router {
    let route_list = {
        let base = state.base.clone();
        generate_route_list(move || {
            provide_context(base.clone());
            view! { <App /> }
        })
    };
    let context = {
        let state = state.clone();
        move || state.provide()
    };
    let at = |path: &str| state.base.join(path);

    let mut router = Router::new()
        .leptos_routes_with_context(&state, route_list, context, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route(&at("/login"), axum::routing::post(crate::auth::login))
        .route(&at("/logout"), axum::routing::post(crate::auth::logout))
        .route(
            &at("/shots/import/upload"),
            axum::routing::post(crate::api::shot_files::upload)
                .layer(axum::extract::DefaultBodyLimit::max(crate::api::IMPORT_BODY_BYTES)),
        )
        .route(&at("/prefs"), get(prefs))
        .route(&at("/healthz"), get(healthz))
        .route(&at("/readyz"), get(readyz))
        .route(&at("/metrics"), get(metrics))
        .route(&at("/mqtt"), get(crate::mqtt_ws::upgrade))
        .route(&at("/api/fn/{*fn_name}"), any(server_fn))
        .merge(crate::api::router(state.base.as_str()));
    if !state.base.as_str().is_empty() {
        // People type the bare address, or the base path with a slash: send them home.
        let home = state.base.as_str().to_owned();
        let to_home = move |uri: Uri| {
            let target = match uri.query() {
                Some(q) => format!("{home}?{q}"),
                None => home.clone(),
            };
            async move { Redirect::temporary(&target) }
        };
        router = router.route("/", get(to_home.clone())).route(&at("/"), get(to_home));
    }
    router
        .fallback(assets_or_not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::require_login))
        .layer(axum::middleware::from_fn(crate::security::headers))
        .with_state(state)
}

/// `GET {base}/healthz`: the process is alive.
/// `?units=` and `?back=` of `{base}/prefs`.
#[derive(serde::Deserialize)]
struct Prefs {
    units: String,
    back: Option<String>,
}

/// `GET {base}/prefs?units=g|oz&back=/path`: remembers the person's weight unit in a
/// cookie (a year) and sends them back to the page they were on (a path of this site
/// only; anything else goes home).
async fn prefs(
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
    if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(axum::http::header::SET_COOKIE, value);
    }
    response
}

async fn healthz() -> &'static str {
    "ok"
}

/// `GET {base}/readyz`: 200 when the database answers and ingestion is subscribed to the broker.
async fn readyz(State(state): State<AppState>) -> Response {
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

/// WebSockets (live streams and MQTT over WebSocket) closed because what the client
/// sent broke the protocol or a bound (a frame or message too large, say).
pub static WEBSOCKET_ERRORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `GET {base}/metrics`: Prometheus text format.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let cache = state.registry.cache_stats();
    let mut body = format!(
        "# HELP wages_store_lookups_total Device lookups on the ingest path, by where they were answered.\n\
         # TYPE wages_store_lookups_total counter\n\
         wages_store_lookups_total{{result=\"hit\"}} {}\n\
         wages_store_lookups_total{{result=\"miss\"}} {}\n\
         # HELP wages_store_queries_total Device lookups that reached the database.\n\
         # TYPE wages_store_queries_total counter\n\
         wages_store_queries_total {}\n",
        cache.hits, cache.misses, cache.queries
    );
    body.push_str(&format!(
        "# HELP wages_live_streams_refused_total Live streams refused: their client had WAGES_LIVE_PER_CLIENT open.\n\
         # TYPE wages_live_streams_refused_total counter\n\
         wages_live_streams_refused_total {}\n",
        state.streams.refused.load(std::sync::atomic::Ordering::Relaxed)
    ));
    body.push_str(&format!(
        "# HELP wages_websocket_errors_total WebSockets closed for what their client sent (frames past their bound, protocol errors).\n\
         # TYPE wages_websocket_errors_total counter\n\
         wages_websocket_errors_total {}\n",
        WEBSOCKET_ERRORS.load(std::sync::atomic::Ordering::Relaxed)
    ));
    crate::api::error::prometheus(&mut body);
    crate::retention::prometheus(&mut body);
    state.control.stats.prometheus(&mut body);
    if let Some(gate) = &state.gate {
        gate.prometheus(&mut body);
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
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
async fn server_fn(State(state): State<AppState>, mut req: Request<Body>) -> Response {
    *req.uri_mut() = strip_base(&state.base, req.uri());
    leptos_axum::handle_server_fns_with_context(move || state.provide(), req).await.into_response()
}

/// Files under the site root (`{base}/pkg/…`), or the app's own 404 page.
async fn assets_or_not_found(State(state): State<AppState>, req: Request<Body>) -> Response {
    let in_base = state.base.as_str().is_empty() || req.uri().path().starts_with(&format!("{}/", state.base.as_str()));
    if !in_base {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    let file_uri = strip_base(&state.base, req.uri());
    let handler = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        {
            let state = state.clone();
            move || state.provide()
        },
        shell,
    );
    handler(file_uri, State(state), req).await
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
