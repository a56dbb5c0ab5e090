//! `{base}/api/firmware`: publish a firmware offer (to the fleet, or to one scale), and
//! the rollout scale by scale.

use app::firmware::Rollout;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use wages_codec::{ClientId, FirmwareOffer};
use wages_store::pipeline::PipelineControl;

use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use crate::state::AppState;

/// An offer to publish.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferBody {
    /// 1 to 32 of `A-Z a-z 0-9 . _ + -`.
    #[schema(example = "1.5.0")]
    version: String,
    /// Where scales download it: `http://` or `https://`, at most 1024 characters.
    #[schema(example = "https://firmware.example/scale-1.5.0.bin")]
    url: String,
    /// The image's SHA-256, 64 hexadecimal digits.
    sha256: String,
    /// Only this scale (`wages/devices/{client_id}/firmware`); the whole fleet when absent.
    client_id: Option<String>,
}

/// The offer as published.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Published {
    version: String,
    url: String,
    sha256: String,
    /// The topic it went to, retained.
    topic: String,
}

/// Publishes a firmware offer, retained, once the broker has acknowledged it.
#[utoipa::path(post, path = "/api/firmware", tag = "firmware", request_body = OfferBody,
    responses((status = 201, body = Published), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn offer(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<OfferBody>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let offer = FirmwareOffer::new(&body.version, &body.url, &body.sha256)
        .map_err(|broken| ApiError::Invalid { field: broken.field.into(), message: broken.rule })?;
    let client_id = match body.client_id.as_deref() {
        None => None,
        Some(raw) => {
            let id = ClientId::parse(raw).map_err(|_| ApiError::NotFound(format!("no device with client_id {raw}")))?;
            state.registry.require(&id).await?;
            Some(id)
        }
    };
    state.control.offer_firmware(offer.clone(), client_id).await?;
    let topic = wages_codec::topic::firmware(client_id.as_ref());
    let published =
        Published { version: offer.version().into(), url: offer.url().into(), sha256: offer.sha256().into(), topic };
    Ok((StatusCode::CREATED, Json(published)))
}

/// `?site=` of the rollout.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RolloutQuery {
    /// Only this site's scales (a site id).
    #[param(pattern = "^$|^[a-z0-9-]{1,32}$")]
    site: Option<String>,
}

/// The fleet's current offer and, scale by scale, `updated`, `pending` or `offline`.
#[utoipa::path(get, path = "/api/firmware", tag = "firmware", params(RolloutQuery),
    responses((status = 200, body = Rollout), (status = 400, body = ErrorBody), (status = 404, description = "No such site of yours", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rollout(
    State(state): State<AppState>,
    axum::extract::Extension(identity): axum::extract::Extension<wages_store::Identity>,
    query: Result<axum::extract::Query<RolloutQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Rollout>, ApiError> {
    let axum::extract::Query(query) = query?;
    let sites = identity.sites().narrow(super::extract::site_filter(query.site)?.as_deref())?;
    let devices = state.registry.list_in(None, wages_store::MAX_LIST, &sites).await?;
    Ok(Json(Rollout::new(state.control.firmware_offer(), devices)))
}
