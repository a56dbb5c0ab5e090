//! `{base}/api/devices`: list, search, register, read, rename, delete.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use wages_codec::ClientId;
use wages_store::{Device, DeviceName, Identity, MqttCredential, Registered, Registration, Rename};

use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use crate::state::AppState;

/// `?q=` and `?limit=` of the device list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Text to find in the `client_id` or the name, ignoring case.
    q: Option<String>,
    /// At most this many devices (1 to 1000, default 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only this site's scales (a site id).
    #[param(pattern = "^$|^[a-z0-9-]{1,32}$")]
    site: Option<String>,
}

/// An id from the path; an id that breaks the rules cannot be registered, so it is not found.
fn client_id(raw: &str) -> Result<ClientId, ApiError> {
    ClientId::parse(raw).map_err(|_| ApiError::NotFound(format!("no device with client_id {raw}")))
}

/// List or search devices, ordered by `client_id`.
#[utoipa::path(get, path = "/api/devices", tag = "devices", params(ListQuery),
    responses((status = 200, description = "The devices", body = [Device]), (status = 400, body = ErrorBody),
        (status = 404, description = "No such site of yours", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Device>>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(wages_store::MAX_LIST);
    if !(1..=wages_store::MAX_LIST).contains(&limit) {
        return Err(ApiError::Invalid { field: "limit".into(), message: "must be between 1 and 1000".into() });
    }
    let sites = identity.sites().narrow(super::extract::site_filter(query.site)?.as_deref())?;
    Ok(Json(state.registry.list_in(query.q.as_deref(), limit, &sites).await?))
}

/// Register a device.
#[utoipa::path(post, path = "/api/devices", tag = "devices", request_body = Registration,
    responses((status = 201, description = "Registered, with its MQTT login (shown only now)", body = Registered),
        (status = 409, description = "The client_id is taken", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Registration>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let new = body.check()?;
    let registered = state.registry.register(&new).await?;
    tracing::info!(client_id = %registered.device.client_id, "device registered");
    Ok((StatusCode::CREATED, Json(registered)))
}

/// Issue a new MQTT password for a device; the old one stops working at once (a scale
/// still connected with it stays connected until it reconnects).
#[utoipa::path(post, path = "/api/devices/{client_id}/credential", tag = "devices",
    params(("client_id" = String, Path, description = "The device", example = "scale-01")),
    responses((status = 200, description = "The new login (shown only now)", body = MqttCredential),
        (status = 404, body = ErrorBody)))]
pub async fn rotate(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<MqttCredential>, ApiError> {
    let credential = state.registry.credentials().rotate(&client_id(&id)?).await?;
    tracing::info!(client_id = %id, "device MQTT password rotated");
    Ok(Json(credential))
}

/// Read one device.
#[utoipa::path(get, path = "/api/devices/{client_id}", tag = "devices",
    params(("client_id" = String, Path, description = "The device", example = "scale-01")),
    responses((status = 200, body = Device), (status = 404, body = ErrorBody)))]
pub async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Device>, ApiError> {
    Ok(Json(state.registry.require(&client_id(&id)?).await?))
}

/// Rename a device.
#[utoipa::path(patch, path = "/api/devices/{client_id}", tag = "devices", request_body = Rename,
    params(("client_id" = String, Path, description = "The device", example = "scale-01")),
    responses((status = 200, body = Device), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Rename>,
) -> Result<Json<Device>, ApiError> {
    let id = client_id(&id)?;
    let name = DeviceName::parse(&body.name)?;
    Ok(Json(state.registry.rename(&id, &name).await?))
}

/// Delete a device.
#[utoipa::path(delete, path = "/api/devices/{client_id}", tag = "devices",
    params(("client_id" = String, Path, description = "The device", example = "scale-01")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.registry.delete(&client_id(&id)?).await?;
    tracing::info!(client_id = %id, "device deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `PUT /api/devices/{client_id}/site`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteBody {
    /// A site's id, or `null` for none.
    #[schema(example = "soho")]
    site: Option<String>,
}

/// Move a scale to a site, or to none.
#[utoipa::path(put, path = "/api/devices/{client_id}/site", tag = "devices", request_body = SiteBody,
    params(("client_id" = String, Path, description = "The device's client_id", example = "scale-01")),
    responses((status = 200, body = Device), (status = 400, body = ErrorBody),
        (status = 404, description = "No such device or site", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_site(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<SiteBody>,
) -> Result<Json<Device>, ApiError> {
    let id = client_id(&raw)?;
    let site = super::extract::site_id("site", body.site)?;
    Ok(Json(state.registry.set_device_site(&id, site.as_deref()).await?))
}
