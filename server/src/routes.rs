//! Every route of the server in one place: the pages and their server functions, the
//! JSON API, login, health, metrics, MQTT over WebSocket and the static files, all under
//! the base path, with the login and security-header layers around them.

use app::{App, shell};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Uri, header};
use axum::response::Redirect;
use axum::routing::{any, delete, get, post, put};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::{
    self, BACKUP_BODY_BYTES, IMPORT_BODY_BYTES, MAX_BODY_BYTES, brews, devices, firmware, live, people, pipeline,
    sessions, shot_files,
};
use crate::state::AppState;
use crate::{auth, http, metrics, mqtt, security, share};

/// The app's pages as `leptos_axum` routes them, under `base`.
fn page_routes(base: &app::base::BasePath) -> Vec<leptos_axum::AxumRouteListing> {
    let base = base.clone();
    generate_route_list(move || {
        provide_context(base.clone());
        view! { <App /> }
    })
}

/// The paths of the app's pages under the base path (`/devices/{client_id}`…), for the
/// test that every route has a rule in [`app::rights`].
pub fn page_paths() -> Vec<String> {
    page_routes(&app::base::BasePath::default()).iter().map(|r| r.path().to_owned()).collect()
}

/// The whole server as one router.
pub fn router(state: AppState) -> Router {
    let route_list = page_routes(&state.base);
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
        .route(&at("/login"), post(auth::login))
        .route(&at("/logout"), post(auth::logout))
        .route(&at("/shots/import/upload"), post(shot_files::upload).layer(DefaultBodyLimit::max(BACKUP_BODY_BYTES)))
        .route(&at("/prefs"), get(http::prefs))
        .route(&at("/sw.js"), get(crate::offline::service_worker))
        .route(&at("/s/{code}"), get(share::page))
        .route(&at("/s/{code}/preview.png"), get(share::preview))
        .route(&at("/s/{code}/readings.csv"), get(share::readings))
        .route(&at("/healthz"), get(http::healthz))
        .route(&at("/readyz"), get(http::readyz))
        .route(&at("/metrics"), get(http::metrics))
        .route(&at("/mqtt"), get(mqtt::ws::upgrade))
        .route(&at("/api/fn/{*fn_name}"), any(http::server_fn))
        .merge(api_routes(state.base.as_str()));
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
        .fallback(http::assets_or_not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_login))
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::count_api_errors))
        .layer(axum::middleware::from_fn(security::headers))
        // Pages and API answers are per person and change: revalidated, never shared.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ))
        // On the fly for pages, JSON and CSV (not for live streams, images, or files
        // sent precompressed).
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// The JSON API under `{base}/api`, with its OpenAPI document and Swagger UI.
fn api_routes(base: &str) -> Router<AppState> {
    let at = |path: &str| format!("{base}{path}");
    let docs: Router<AppState> =
        SwaggerUi::new(at("/api/docs")).external_url_unchecked(at("/api/openapi.json"), api::openapi(base)).into();
    Router::new()
        .route(&at("/api/devices"), get(devices::list).post(devices::create))
        .route(&at("/api/devices/{client_id}"), get(devices::read).patch(devices::rename).delete(devices::delete))
        .route(&at("/api/devices/{client_id}/credential"), post(devices::rotate))
        .route(&at("/api/devices/{client_id}/live"), get(live::live))
        .route(&at("/api/live"), get(live::fleet))
        .route(&at("/api/devices/{client_id}/sessions"), get(sessions::list))
        .route(&at("/api/devices/{client_id}/sessions/{session_id}"), get(sessions::read).patch(brews::edit_shot))
        .route(&at("/api/devices/{client_id}/recipe"), get(brews::read_recipe).put(brews::set_recipe))
        .route(&at("/api/beans"), get(brews::list_beans).post(brews::add_beans))
        .route(&at("/api/beans/{id}"), get(brews::read_beans).patch(brews::update_beans).delete(brews::delete_beans))
        .route(&at("/api/shots"), get(brews::search))
        .route(
            &at("/api/shots/import"),
            // The file and a little room for its framing; the handler enforces the exact bound.
            post(shot_files::import).layer(DefaultBodyLimit::max(IMPORT_BODY_BYTES)),
        )
        .route(
            &at("/api/shots/import/backup"),
            post(shot_files::import_backup).layer(DefaultBodyLimit::max(BACKUP_BODY_BYTES)),
        )
        .route(&at("/api/devices/{client_id}/sessions/{session_id}/export"), get(shot_files::export))
        .route(&at("/api/devices/{client_id}/sessions/{session_id}/readings"), get(sessions::readings))
        .route(&at("/api/devices/{client_id}/sessions/{session_id}/buckets"), get(sessions::buckets))
        .route(&at("/api/pipeline"), get(pipeline::figures))
        .route(&at("/api/pipeline/config"), put(pipeline::configure))
        .route(&at("/api/dead-letters"), get(pipeline::dead_letters))
        .route(&at("/api/firmware"), get(firmware::rollout).post(firmware::offer))
        .route(&at("/api/devices/{client_id}/sessions/{session_id}/share"), get(people::read_share).put(people::share))
        .route(&at("/api/shares"), get(people::shares))
        .route(&at("/api/shares/{code}"), delete(people::withdraw))
        .route(&at("/api/people"), get(people::list).post(people::add))
        .route(&at("/api/people/{username}"), get(people::read).patch(people::update).delete(people::delete))
        .route(&at("/api/audit"), get(people::audit))
        .route(&at("/api/sites"), get(people::sites).post(people::add_site))
        .route(&at("/api/sites/{site}"), axum::routing::patch(people::update_site).delete(people::delete_site))
        .route(&at("/api/devices/{client_id}/site"), put(devices::set_site))
        .route(&at("/api/{*rest}"), any(api::not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .merge(docs)
}
