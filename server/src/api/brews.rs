//! Brews over JSON: the beans library (`{base}/api/beans`), a scale's current recipe
//! (`…/devices/{client_id}/recipe`), what a shot was (`PATCH …/sessions/{session_id}`),
//! and shots across scales (`{base}/api/shots`), filtered and paged by cursor.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use wages_codec::SessionId;
use wages_store::{
    Beans, BeansInput, BeansPatch, Cursor, Identity, MAX_SHOT_PAGE, Method, Recipe, Shot, ShotFilter, ShotPage,
    ShotPatch,
};

use wages_store::pipeline::PipelineControl;

use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use super::sessions::{device, session_id};
use crate::state::AppState;
use wages_codec::clock::now_ms;

/// Shots per page unless `?limit=` says otherwise.
const DEFAULT_SHOTS: u32 = 20;

/// `?archived=` of the beans list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BeansQuery {
    /// `true` lists archived beans too (after the others).
    archived: Option<bool>,
}

/// The beans library, by roaster and name.
#[utoipa::path(get, path = "/api/beans", tag = "brews", params(BeansQuery),
    responses((status = 200, body = [Beans]), (status = 400, body = ErrorBody)))]
pub async fn list_beans(
    State(state): State<AppState>,
    query: Result<Query<BeansQuery>, QueryRejection>,
) -> Result<Json<Vec<Beans>>, ApiError> {
    let Query(query) = query?;
    Ok(Json(state.registry.brews().beans(query.archived.unwrap_or(false)).await?))
}

/// Add beans to the library.
#[utoipa::path(post, path = "/api/beans", tag = "brews", request_body = BeansInput,
    responses((status = 201, body = Beans), (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody)))]
pub async fn add_beans(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<BeansInput>,
) -> Result<(StatusCode, Json<Beans>), ApiError> {
    let beans = state.registry.brews().add_beans(&body.check()?).await?;
    Ok((StatusCode::CREATED, Json(beans)))
}

/// One bag of beans.
#[utoipa::path(get, path = "/api/beans/{id}", tag = "brews", params(("id" = i64, Path, description = "The beans' id", example = 1)),
    responses((status = 200, body = Beans), (status = 404, body = ErrorBody)))]
pub async fn read_beans(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Beans>, ApiError> {
    Ok(Json(state.registry.brews().bean(beans_id(&id)?).await?))
}

/// Change beans: fields left out stay, `null` clears; `"archived": true` archives them.
#[utoipa::path(patch, path = "/api/beans/{id}", tag = "brews", request_body = BeansPatch,
    params(("id" = i64, Path, description = "The beans' id", example = 1)),
    responses((status = 200, body = Beans), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_beans(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BeansPatch>,
) -> Result<Json<Beans>, ApiError> {
    let brews = state.registry.brews();
    let id = beans_id(&id)?;
    let next = body.apply(&brews.bean(id).await?).check()?;
    Ok(Json(brews.update_beans(id, &next).await?))
}

/// Delete beans that no shot or recipe names (409 otherwise: archive them instead).
#[utoipa::path(delete, path = "/api/beans/{id}", tag = "brews", params(("id" = i64, Path, description = "The beans' id", example = 1)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_beans(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.registry.brews().delete_beans(beans_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn beans_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(format!("no beans with id {raw}")))
}

/// A scale's current recipe: every new shot on it starts with it.
#[utoipa::path(get, path = "/api/devices/{client_id}/recipe", tag = "brews",
    params(("client_id" = String, Path, description = "The device", example = "scale-01")),
    responses((status = 200, body = Recipe), (status = 404, body = ErrorBody)))]
pub async fn read_recipe(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Recipe>, ApiError> {
    let id = device(&state, &id).await?;
    Ok(Json(state.registry.brews().recipe(&id).await?))
}

/// Set a scale's recipe (every field; left out means none). Shots that start on the
/// scale from now on begin with it, brewed by whoever set it; its target yield is
/// published, retained, on `wages/devices/{client_id}/target` for the scale's firmware.
#[utoipa::path(put, path = "/api/devices/{client_id}/recipe", tag = "brews", request_body = Recipe,
    params(("client_id" = String, Path, description = "The device", example = "scale-01")),
    responses((status = 200, body = Recipe), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_recipe(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Recipe>,
) -> Result<Json<Recipe>, ApiError> {
    let id = device(&state, &id).await?;
    let recipe = body.check()?;
    let saved = state.registry.brews().set_recipe(&id, &recipe, &identity.who()).await?;
    state.control.publish_target(id, saved.target()).await.map_err(|e| {
        ApiError::Unavailable(format!("the recipe is saved, but the scale's target could not be published: {e}"))
    })?;
    Ok(Json(saved))
}

/// Change what a shot was: fields left out stay, `null` clears. Answers the whole shot.
#[utoipa::path(patch, path = "/api/devices/{client_id}/sessions/{session_id}", tag = "sessions", request_body = ShotPatch,
    params(("client_id" = String, Path, description = "The device", example = "scale-01"), ("session_id" = String, Path, description = "The session", example = "brew-0042")),
    responses((status = 200, body = ShotBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_shot(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((id, sid)): Path<(String, String)>,
    ApiJson(body): ApiJson<ShotPatch>,
) -> Result<Json<Shot>, ApiError> {
    let (id, sid) = (device(&state, &id).await?, session_id(&sid)?);
    // The document's bound on the list as sent (the pages' box drops empty and repeated
    // tags before they count).
    if body.tags.as_ref().is_some_and(|tags| tags.len() > wages_store::brew::MAX_TAGS) {
        let message = format!("must be at most {}", wages_store::brew::MAX_TAGS);
        return Err(ApiError::Invalid { field: "tags".into(), message });
    }
    let brews = state.registry.brews();
    let Some((current, _)) = brews.details(&id, &sid).await? else {
        return Err(ApiError::NotFound(format!("no session {sid} for device {id}")));
    };
    let next = body.apply(&current).check()?;
    brews.edit(&id, &sid, &next, &identity.who()).await?;
    shot(&state, &id, &sid).await.map(Json)
}

/// One shot as the API shows it: the summary worked out from its readings (exact for a
/// session being read whole) with what was brewed.
pub(super) async fn shot(state: &AppState, id: &wages_codec::ClientId, sid: &SessionId) -> Result<Shot, ApiError> {
    let now = now_ms();
    let missing = || ApiError::NotFound(format!("no session {sid} for device {id}"));
    let summary = state.readings.session(id, sid, now).await?.ok_or_else(missing)?;
    let (details, beans) = state.registry.brews().details(id, sid).await?.unwrap_or_default();
    Ok(Shot::new(summary, details, beans))
}

/// The filters and paging of `GET /api/shots`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShotsQuery {
    /// One scale's `client_id`.
    scale: Option<String>,
    /// Shots of these beans.
    beans_id: Option<i64>,
    /// espresso, pour-over, immersion, cold-brew or other.
    #[param(pattern = "^$|^(espresso|pour-over|immersion|cold-brew|other)$")]
    method: Option<String>,
    /// Shots carrying this tag (up to 100 characters).
    #[param(max_length = 100)]
    tag: Option<String>,
    /// Shots rated at least this (0 to 100).
    #[param(minimum = 0, maximum = 100)]
    min_rating: Option<i64>,
    /// `true`: starred shots only.
    starred: Option<bool>,
    /// Started at or after this time, ms since the epoch.
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    from: Option<u64>,
    /// Started before this time, ms since the epoch.
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    to: Option<u64>,
    /// Text in the notes, tags, or the beans' roaster or name, ignoring case (up to 100 characters).
    #[param(max_length = 100)]
    q: Option<String>,
    /// Only shots of this site's scales (a site id).
    #[param(pattern = "^$|^[a-z0-9-]{1,32}$")]
    site: Option<String>,
    /// `next_cursor` of the page before.
    #[param(pattern = r"^$|^[0-9]{1,18}\.[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$")]
    cursor: Option<String>,
    /// At most this many shots (1 to 100, default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

impl ShotsQuery {
    fn check(self) -> Result<(ShotFilter, Option<Cursor>, u32), ApiError> {
        let invalid = |field: &str, message: &str| ApiError::Invalid { field: field.into(), message: message.into() };
        let limit = self.limit.unwrap_or(DEFAULT_SHOTS);
        if !(1..=MAX_SHOT_PAGE).contains(&limit) {
            return Err(invalid("limit", "must be between 1 and 100"));
        }
        if self.min_rating.is_some_and(|r| !(0..=100).contains(&r)) {
            return Err(invalid("min_rating", "must be between 0 and 100"));
        }
        if self.q.as_ref().is_some_and(|q| q.chars().count() > 100)
            || self.tag.as_ref().is_some_and(|t| t.chars().count() > 100)
        {
            return Err(invalid(
                if self.tag.as_ref().is_some_and(|t| t.chars().count() > 100) { "tag" } else { "q" },
                "must be at most 100 characters",
            ));
        }
        let method = self.method.as_deref().filter(|m| !m.is_empty()).map(Method::parse).transpose()?;
        let cursor = self.cursor.as_deref().filter(|c| !c.is_empty()).map(Cursor::parse).transpose()?;
        let filter = ShotFilter {
            scale: self.scale.filter(|s| !s.is_empty()),
            beans_id: self.beans_id,
            method,
            tag: self.tag,
            min_rating: self.min_rating,
            starred: self.starred.unwrap_or(false),
            from: super::sessions::millis("from", self.from)?,
            to: super::sessions::millis("to", self.to)?,
            q: self.q,
            site: super::extract::site_filter(self.site)?,
            within: wages_store::Sites::all(),
        };
        Ok((filter, cursor, limit))
    }
}

/// Shots across scales, newest first: filter, and page with `cursor`.
#[utoipa::path(get, path = "/api/shots", tag = "brews", params(ShotsQuery),
    responses((status = 200, body = ShotPageBody), (status = 400, body = ErrorBody), (status = 404, description = "No such site of yours", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    query: Result<Query<ShotsQuery>, QueryRejection>,
) -> Result<Json<ShotPage>, ApiError> {
    let Query(query) = query?;
    let (mut filter, cursor, limit) = query.check()?;
    filter.within = identity.sites().narrow(filter.site.as_deref())?;
    Ok(Json(state.registry.brews().search(&filter, cursor.as_ref(), limit, now_ms()).await?))
}

/// A shot, as documented in OpenAPI: a session summary's fields, then what was brewed.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // describes the JSON only
pub struct ShotBody {
    #[serde(flatten)]
    summary: super::sessions::SessionSummary,
    #[serde(flatten)]
    details: wages_store::ShotDetails,
    beans: Option<Beans>,
    /// The yield by hand, else the final weight, grams.
    effective_yield: f64,
    /// Yield ÷ dose: a brew ratio of 1:x.
    ratio: Option<f64>,
    /// TDS × yield ÷ dose, percent.
    extraction_yield: Option<f64>,
    /// Days from the beans' roast date to the shot.
    days_off_roast: Option<i64>,
    /// What to change on the next shot, and why: from this shot's figures and its
    /// method's target (espresso 1:2 in 25–35 s, pour-over 1:16 in 2:30–4:00,
    /// immersion 1:15 in 3:00–5:00). Absent while the shot runs, or for cold brew and
    /// other methods.
    next: Option<wages_sessions::dial_in::Suggestion>,
}

/// A page of shots, as documented in OpenAPI.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the JSON only
pub struct ShotPageBody {
    shots: Vec<ShotBody>,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
}
