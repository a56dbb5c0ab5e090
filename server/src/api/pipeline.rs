//! `{base}/api/pipeline` and `{base}/api/dead-letters`: what ingestion is doing.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::error::ApiError;
use crate::http::AppState;
use crate::pipeline::{DeadLetter, Figures};

/// The pipeline's figures and where its readings come from.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PipelineBody {
    /// The broker, for people: `embedded, TCP 127.0.0.1:1883` or `external, mqtt://host:1883`.
    broker: String,
    #[serde(flatten)]
    figures: Figures,
}

fn ingest(state: &AppState) -> Result<&crate::http::IngestView, ApiError> {
    state.ingest.as_ref().ok_or_else(|| ApiError::Unavailable("ingestion is not running".into()))
}

/// Throughput, batch latency and rejections by reason.
#[utoipa::path(get, path = "/api/pipeline", tag = "pipeline", responses((status = 200, body = PipelineBody)))]
pub async fn figures(State(state): State<AppState>) -> Result<Json<PipelineBody>, ApiError> {
    let ingest = ingest(&state)?;
    Ok(Json(PipelineBody { broker: ingest.broker.clone(), figures: ingest.stats.figures() }))
}

/// The most recent rejected lines, newest first (at most 1000).
#[utoipa::path(get, path = "/api/dead-letters", tag = "pipeline", responses((status = 200, body = [DeadLetter])))]
pub async fn dead_letters(State(state): State<AppState>) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    Ok(Json(ingest(&state)?.stats.dead_letters()))
}
