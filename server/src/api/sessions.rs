//! `{base}/api/devices/{client_id}/sessions…`: a device's extractions, one extraction's
//! summary, and its readings as JSON or CSV.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wages_codec::{ClientId, SessionId};
use wages_sessions::Bucket;
use wages_store::MAX_SESSIONS;
use wages_store::{Shot, ShotDetails, ShotFilter};

use super::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Sessions per page unless `?limit=` says otherwise.
const DEFAULT_SESSIONS: u32 = 20;

use wages_codec::clock::now_ms;

/// The device of the path, which must be registered.
pub(super) async fn device(state: &AppState, raw: &str) -> Result<ClientId, ApiError> {
    let id = ClientId::parse(raw).map_err(|_| ApiError::NotFound(format!("no device with client_id {raw}")))?;
    state.registry.require(&id).await?;
    Ok(id)
}

/// A time parameter in ms since the epoch: at most `i64::MAX`, as storage keeps times.
pub(super) fn millis(field: &str, value: Option<u64>) -> Result<Option<u64>, ApiError> {
    match value {
        Some(v) if i64::try_from(v).is_err() => {
            Err(ApiError::Invalid { field: field.into(), message: format!("must be at most {}", i64::MAX) })
        }
        v => Ok(v),
    }
}

pub(super) fn session_id(raw: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(raw).map_err(|_| ApiError::NotFound(format!("no session {raw}")))
}

/// `?limit=` and `?before=` of the session list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SessionsQuery {
    /// At most this many sessions (1 to 100, default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Only sessions that started before this time (ms since the epoch): pass the
    /// `started_at` of the last session of a page to get the next one.
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    before: Option<u64>,
}

/// A device's sessions (shots), newest first, each with what was brewed.
#[utoipa::path(get, path = "/api/devices/{client_id}/sessions", tag = "sessions",
    params(("client_id" = String, Path, description = "The device", example = "scale-01"), SessionsQuery),
    responses((status = 200, body = [super::brews::ShotBody]), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<SessionsQuery>, QueryRejection>,
) -> Result<Json<Vec<Shot>>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(DEFAULT_SESSIONS);
    if !(1..=MAX_SESSIONS).contains(&limit) {
        return Err(ApiError::Invalid {
            field: "limit".into(),
            message: format!("must be between 1 and {MAX_SESSIONS}"),
        });
    }
    let before = millis("before", query.before)?;
    let id = device(&state, &id).await?;
    let now = now_ms();
    if let wages_store::ReadingsStore::Influx(_) = &state.readings {
        let summaries = state.readings.sessions(&id, limit, before, now).await?;
        return Ok(Json(summaries.into_iter().map(|s| Shot::new(s, ShotDetails::default(), None)).collect()));
    }
    let filter = ShotFilter { scale: Some(id.to_string()), to: before, ..ShotFilter::default() };
    Ok(Json(state.registry.brews().search(&filter, None, limit, now).await?.shots))
}

/// One session's summary.
#[utoipa::path(get, path = "/api/devices/{client_id}/sessions/{session_id}", tag = "sessions",
    params(("client_id" = String, Path, description = "The device", example = "scale-01"), ("session_id" = String, Path, description = "The session", example = "brew-0042")),
    responses((status = 200, body = super::brews::ShotBody), (status = 404, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    Path((id, sid)): Path<(String, String)>,
) -> Result<Json<Shot>, ApiError> {
    let (id, sid) = (device(&state, &id).await?, session_id(&sid)?);
    super::brews::shot(&state, &id, &sid).await.map(Json)
}

/// `?format=` of the readings export.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadingsQuery {
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    format: Option<String>,
}

/// One session's readings in time order, as JSON or CSV. For a compacted session, one
/// per bucket: its mean, at its start (the buckets themselves are at `…/buckets`); none
/// once only its summary is kept.
#[utoipa::path(get, path = "/api/devices/{client_id}/sessions/{session_id}/readings", tag = "sessions",
    params(("client_id" = String, Path, description = "The device", example = "scale-01"), ("session_id" = String, Path, description = "The session", example = "brew-0042"), ReadingsQuery),
    responses((status = 200, description = "A JSON array of readings, or with `?format=csv` CSV with a header row",
            content((Vec<ReadingBody> = "application/json"), (String = "text/csv"))),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn readings(
    State(state): State<AppState>,
    Path((id, sid)): Path<(String, String)>,
    query: Result<Query<ReadingsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let as_csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::Invalid { field: "format".into(), message: "must be json or csv".into() }),
    };
    let (id, sid) = (device(&state, &id).await?, session_id(&sid)?);
    let Some((_, readings)) = state.readings.session_with_readings(&id, &sid, now_ms()).await? else {
        return Err(ApiError::NotFound(format!("no session {sid} for device {id}")));
    };
    if !as_csv {
        return Ok(Json(readings).into_response());
    }
    let body = csv(&readings);
    let disposition = format!("attachment; filename=\"{id}-{sid}.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

/// Readings as CSV with a header row.
pub(super) fn csv(readings: &[wages_codec::Reading]) -> String {
    let mut body = String::from("client_id,session_id,value,tstamp\n");
    for r in readings {
        // Ids are `A-Z a-z 0-9 _ -` and numbers have no commas: nothing needs quoting.
        let _ = writeln!(body, "{},{},{},{}", r.client_id, r.session_id, r.value, r.tstamp);
    }
    body
}

/// A compacted session's buckets in time order: count, minimum, maximum and mean weight
/// of each. Empty while the session is not compacted (its readings are all there), and
/// once only its summary is kept.
#[utoipa::path(get, path = "/api/devices/{client_id}/sessions/{session_id}/buckets", tag = "sessions",
    params(("client_id" = String, Path, description = "The device", example = "scale-01"), ("session_id" = String, Path, description = "The session", example = "brew-0042")),
    responses((status = 200, body = [BucketBody]), (status = 404, body = ErrorBody)))]
pub async fn buckets(
    State(state): State<AppState>,
    Path((id, sid)): Path<(String, String)>,
) -> Result<Json<Vec<Bucket>>, ApiError> {
    let (id, sid) = (device(&state, &id).await?, session_id(&sid)?);
    if state.readings.session(&id, &sid, now_ms()).await?.is_none() {
        return Err(ApiError::NotFound(format!("no session {sid} for device {id}")));
    }
    Ok(Json(state.readings.buckets(&id, &sid).await?))
}

/// A session summary, as documented in OpenAPI (the type itself lives in `wages-sessions`).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // describes the JSON only
pub struct SessionSummary {
    #[schema(example = "scale-01")]
    client_id: String,
    #[schema(example = "brew-0042")]
    session_id: String,
    /// First reading, ms since the epoch.
    started_at: u64,
    /// Last reading, ms since the epoch.
    ended_at: u64,
    duration_ms: u64,
    /// Number of readings.
    count: u64,
    /// Weight at the last reading, grams.
    final_weight: f64,
    max_weight: f64,
    /// Highest flow over one second, g/s.
    peak_flow: f64,
    /// Weight gained over the duration, g/s.
    mean_flow: f64,
    /// A reading arrived within the last 10 seconds.
    live: bool,
    /// Present once the session was compacted (`WAGES_RETENTION_*`).
    compacted: Option<CompactionBody>,
}

/// How a compacted session is kept, as documented in OpenAPI.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // describes the JSON only
pub struct CompactionBody {
    /// Width of its buckets, ms.
    #[schema(example = 1000)]
    bucket_ms: u64,
    /// When it was compacted, ms since the epoch.
    at: u64,
    /// False once the buckets expired too (`WAGES_RETENTION_GRAPH_DAYS`) and only the summary is kept.
    graph_kept: bool,
}

/// A bucket of a compacted session, as documented in OpenAPI.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the JSON only
pub struct BucketBody {
    /// Start of the bucket, ms since the epoch.
    start: u64,
    /// Readings folded into it.
    count: u64,
    /// Grams.
    min: f64,
    max: f64,
    mean: f64,
}

/// A reading, as documented in OpenAPI.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the JSON only
pub struct ReadingBody {
    #[schema(example = "scale-01")]
    client_id: String,
    #[schema(example = "brew-0042")]
    session_id: String,
    /// Grams.
    #[schema(example = 18.25)]
    value: f64,
    /// Ms since the epoch, by the device's clock.
    #[schema(example = 1_763_805_600_123_u64)]
    tstamp: u64,
}
