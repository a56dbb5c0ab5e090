//! The HTTP API under `{base}/api`, its OpenAPI document and Swagger UI.

mod brews;
mod devices;
pub(crate) mod error;
mod extract;
mod firmware;
mod live;
mod pipeline;
mod sessions;
pub(crate) mod shot_files;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::server::Server;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;
pub use live::StreamLimits;

use crate::http::AppState;

/// Largest request body the API reads, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest body of a shot import: the file, and room for a form's framing around it.
pub const IMPORT_BODY_BYTES: usize = wages_store::shot_file::MAX_IMPORT_BYTES + 16 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Wages API", description = "Connected coffee scales: devices, readings, sessions. Errors are `{\"error\":{\"code\",\"message\",\"field\"}}`."),
    paths(
        devices::list, devices::create, devices::read, devices::rename, devices::delete, devices::rotate,
        sessions::list, sessions::read, sessions::readings, sessions::buckets, live::live, live::fleet, pipeline::figures, pipeline::configure,
        pipeline::dead_letters, firmware::offer, firmware::rollout,
        brews::list_beans, brews::add_beans, brews::read_beans, brews::update_beans, brews::delete_beans,
        brews::read_recipe, brews::set_recipe, brews::edit_shot, brews::search, shot_files::export, shot_files::import
    ),
    components(schemas(
        wages_store::Device, wages_store::Registration, wages_store::Rename, wages_store::Registered,
        wages_store::MqttCredential, error::ErrorBody, error::ErrorDetail,
        sessions::SessionSummary, sessions::CompactionBody, sessions::ReadingBody, sessions::BucketBody, app::pipeline::PipelineFigures,
        app::pipeline::PipelineSettings, app::pipeline::DeviceFigures, app::pipeline::DeadLetter,
        firmware::OfferBody, firmware::Published, app::firmware::Rollout, app::firmware::RolloutDevice,
        app::firmware::RolloutState, wages_store::Beans, wages_store::BeansInput, wages_store::BeansPatch,
        wages_store::Recipe, wages_store::Method, wages_store::ShotDetails, wages_store::ShotPatch, brews::ShotBody,
        brews::ShotPageBody
    )),
    tags(
        (name = "devices", description = "The scales of a cafe or a home"),
        (name = "sessions", description = "Extractions: all readings of one device with one session_id"),
        (name = "pipeline", description = "Ingestion: figures, rejections, dead letters, settings"),
        (name = "brews", description = "What was brewed: beans, scales' recipes, shots across scales"),
        (name = "firmware", description = "Firmware offers and their rollout across the fleet")
    )
)]
struct ApiDoc;

/// The OpenAPI document, with the base path as its server URL. Every operation takes an
/// API token (`Authorization: Bearer wages_…`) or a login session's cookie.
pub fn openapi(base: &str) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement};
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![Server::new(if base.is_empty() { "/" } else { base })]);
    let components = doc.components.get_or_insert_with(Default::default);
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some("An API token from the Tokens page: read (GET only) or write"))
        .build();
    components.add_security_scheme("token", utoipa::openapi::security::SecurityScheme::Http(bearer));
    components.add_security_scheme(
        "session",
        utoipa::openapi::security::SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::COOKIE))),
    );
    doc.security = Some(vec![
        SecurityRequirement::new("token", Vec::<String>::new()),
        SecurityRequirement::new("session", Vec::<String>::new()),
    ]);
    doc
}

/// The API routes, mounted at `{base}`; `at` prefixes the base path.
pub fn router(base: &str) -> Router<AppState> {
    let at = |path: &str| format!("{base}{path}");
    let docs: Router<AppState> = SwaggerUi::new(at("/api/docs")).url(at("/api/openapi.json"), openapi(base)).into();
    Router::new()
        .route(&at("/api/devices"), get(devices::list).post(devices::create))
        .route(&at("/api/devices/{client_id}"), get(devices::read).patch(devices::rename).delete(devices::delete))
        .route(&at("/api/devices/{client_id}/credential"), axum::routing::post(devices::rotate))
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
            axum::routing::post(shot_files::import).layer(DefaultBodyLimit::max(IMPORT_BODY_BYTES)),
        )
        .route(&at("/api/devices/{client_id}/sessions/{session_id}/export"), get(shot_files::export))
        .route(&at("/api/devices/{client_id}/sessions/{session_id}/readings"), get(sessions::readings))
        .route(&at("/api/devices/{client_id}/sessions/{session_id}/buckets"), get(sessions::buckets))
        .route(&at("/api/pipeline"), get(pipeline::figures))
        .route(&at("/api/pipeline/config"), axum::routing::put(pipeline::configure))
        .route(&at("/api/dead-letters"), get(pipeline::dead_letters))
        .route(&at("/api/firmware"), get(firmware::rollout).post(firmware::offer))
        .route(&at("/api/{*rest}"), axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .merge(docs)
}

/// Any other path under `/api`: a JSON 404 rather than an HTML page.
async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API endpoint at {}", uri.path()))
}
