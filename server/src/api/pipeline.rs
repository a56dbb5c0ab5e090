//! `{base}/api/pipeline` and `{base}/api/dead-letters`: what ingestion is doing, and
//! `PUT {base}/api/pipeline/config` to change how it batches.

use axum::Json;
use axum::extract::State;
use wages_store::pipeline::{DeadLetter, PipelineControl, PipelineFigures, PipelineSettings};

use super::error::ApiError;
use super::extract::ApiJson;
use crate::state::AppState;

/// Throughput, batch latency, rejections by reason and per-device running figures.
#[utoipa::path(get, path = "/api/pipeline", tag = "pipeline", responses((status = 200, body = PipelineFigures)))]
pub async fn figures(State(state): State<AppState>) -> Result<Json<PipelineFigures>, ApiError> {
    Ok(Json(state.control.figures()))
}

/// Changes batch size, batch timeout and concurrency: the pipeline stores and
/// acknowledges what is in flight, then restarts with them. Answers once applied.
#[utoipa::path(put, path = "/api/pipeline/config", tag = "pipeline", request_body = PipelineSettings,
    responses((status = 200, body = PipelineSettings), (status = 422, body = super::error::ErrorBody),
        (status = 503, body = super::error::ErrorBody)))]
pub async fn configure(
    State(state): State<AppState>,
    ApiJson(settings): ApiJson<PipelineSettings>,
) -> Result<Json<PipelineSettings>, ApiError> {
    if let Some((field, message)) = settings.problems().into_iter().next() {
        return Err(ApiError::Invalid { field: field.into(), message });
    }
    state.control.reconfigure(settings).await?;
    Ok(Json(settings))
}

/// The most recent rejected lines, newest first (at most 1000).
#[utoipa::path(get, path = "/api/dead-letters", tag = "pipeline", responses((status = 200, body = [DeadLetter])))]
pub async fn dead_letters(State(state): State<AppState>) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    Ok(Json(state.control.dead_letters()))
}
