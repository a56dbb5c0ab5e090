//! The HTTP API under `{base}/api`, its OpenAPI document and Swagger UI.

mod bounds;
pub(crate) mod brews;
pub(crate) mod devices;
pub(crate) mod error;
mod extract;
pub(crate) mod firmware;
pub(crate) mod live;
pub(crate) mod people;
pub(crate) mod pipeline;
pub(crate) mod sessions;
pub(crate) mod shot_files;

use utoipa::OpenApi;
use utoipa::openapi::server::Server;

pub use error::ApiError;
pub use live::StreamLimits;

/// Largest request body the API reads, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest body of a shot import: the file, and room for a form's framing around it.
pub const IMPORT_BODY_BYTES: usize = wages_store::shot_file::MAX_IMPORT_BYTES + 16 * 1024;
/// Largest body of a backup import (or of the import page's form, which may carry one).
pub const BACKUP_BODY_BYTES: usize = wages_store::shot_file::MAX_BACKUP_BYTES + 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Wages API", description = "Connected coffee scales: devices, readings, sessions. Errors are `{\"error\":{\"code\",\"message\",\"field\"}}`."),
    paths(
        devices::list, devices::create, devices::read, devices::rename, devices::delete, devices::rotate,
        sessions::list, sessions::read, sessions::readings, sessions::buckets, live::live, live::fleet, pipeline::figures, pipeline::configure,
        pipeline::dead_letters, firmware::offer, firmware::rollout,
        brews::list_beans, brews::add_beans, brews::read_beans, brews::update_beans, brews::delete_beans,
        brews::read_recipe, brews::set_recipe, brews::edit_shot, brews::search, shot_files::export, shot_files::import, shot_files::import_backup,
        people::list, people::add, people::read, people::update, people::delete, people::read_share, people::share,
        people::shares, people::withdraw, people::audit, people::sites, people::add_site, people::update_site,
        people::delete_site, devices::set_site
    ),
    components(schemas(
        wages_store::Device, wages_store::Registration, wages_store::Rename, wages_store::Registered,
        wages_store::MqttCredential, error::ErrorBody, error::ErrorDetail,
        sessions::SessionSummary, sessions::CompactionBody, sessions::ReadingBody, sessions::BucketBody, wages_store::pipeline::PipelineFigures,
        wages_store::pipeline::PipelineSettings, wages_store::pipeline::DeviceFigures, wages_store::pipeline::DeadLetter,
        firmware::OfferBody, firmware::Published, app::firmware::Rollout, app::firmware::RolloutDevice,
        app::firmware::RolloutState, wages_store::Beans, wages_store::BeansInput, wages_store::BeansPatch,
        wages_store::Recipe, wages_store::Method, wages_store::ShotDetails, wages_store::ShotPatch, brews::ShotBody,
        brews::ShotPageBody, shot_files::BackupReport, shot_files::Refusal, wages_store::Person, wages_store::NewPerson, wages_store::PersonPatch, wages_store::Role,
        wages_store::Share, wages_store::AuditEntry, wages_store::Site, wages_store::SiteInput, wages_store::SitePatch, devices::SiteBody
    )),
    tags(
        (name = "devices", description = "The scales of a cafe or a home"),
        (name = "sessions", description = "Extractions: all readings of one device with one session_id"),
        (name = "pipeline", description = "Ingestion: figures, rejections, dead letters, settings"),
        (name = "brews", description = "What was brewed: beans, scales' recipes, shots across scales"),
        (name = "firmware", description = "Firmware offers and their rollout across the fleet"),
        (name = "people", description = "Accounts and roles (admins), sites, shots shared by a link, the audit list")
    )
)]
struct ApiDoc;

/// The OpenAPI document, with the base path as its server URL and every bound the server
/// enforces ([`bounds`]). Every operation takes an API token
/// (`Authorization: Bearer wages_…`) or a login session's cookie; what each needs is
/// in the operation's description ([`app::rights`]).
pub fn openapi(base: &str) -> serde_json::Value {
    use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement};
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![Server::new(if base.is_empty() { "/" } else { base })]);
    let components = doc.components.get_or_insert_with(Default::default);
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "An API token from the Tokens page: read (no more than a viewer) or write (what its person's role allows)",
        ))
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
    let mut value = serde_json::to_value(&doc).expect("the OpenAPI document is JSON");
    bounds::write(&mut value);
    value
}

/// Any other path under `/api`: a JSON 404 rather than an HTML page.
pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API endpoint at {}", uri.path()))
}
