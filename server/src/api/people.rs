//! People over JSON: accounts for admins (`{base}/api/people`), shots shared by a link
//! (`…/sessions/{session_id}/share`, `{base}/api/shares`) and the audit list
//! (`{base}/api/audit`). Who may call each is the table in [`app::rights`].

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use wages_store::{AuditEntry, Identity, NewPerson, Person, PersonPatch, Role, Share, Site, SiteInput, SitePatch};

use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use super::sessions::{device, session_id};
use crate::state::AppState;

/// Every account, by user name.
#[utoipa::path(get, path = "/api/people", tag = "people",
    responses((status = 200, body = [Person]), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Person>>, ApiError> {
    Ok(Json(state.registry.accounts().people().await?))
}

/// Add a person. They must replace the password given here when they first log in.
#[utoipa::path(post, path = "/api/people", tag = "people", request_body = NewPerson,
    responses((status = 201, body = Person), (status = 404, description = "A site that does not exist", body = ErrorBody),
        (status = 409, description = "The user name is taken", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewPerson>,
) -> Result<(StatusCode, Json<Person>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.registry.accounts().add_person(&body).await?)))
}

/// One account.
#[utoipa::path(get, path = "/api/people/{username}", tag = "people",
    params(("username" = String, Path, description = "The person's user name", example = "sam")),
    responses((status = 200, body = Person), (status = 404, body = ErrorBody)))]
pub async fn read(State(state): State<AppState>, Path(username): Path<String>) -> Result<Json<Person>, ApiError> {
    Ok(Json(state.registry.accounts().person(&username).await?))
}

/// Change a person's display name or role, disable or enable them, or set a new
/// password (which they must replace at their next login; their sessions end). The last
/// enabled admin cannot be demoted or disabled, and no admin changes their own role or
/// disables themselves.
#[utoipa::path(patch, path = "/api/people/{username}", tag = "people", request_body = PersonPatch,
    params(("username" = String, Path, description = "The person's user name", example = "sam")),
    responses((status = 200, body = Person), (status = 404, body = ErrorBody),
        (status = 409, description = "It would leave no admin, or it is the caller's own role", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(username): Path<String>,
    ApiJson(body): ApiJson<PersonPatch>,
) -> Result<Json<Person>, ApiError> {
    Ok(Json(state.registry.accounts().update_person(&username, &body, identity.user()).await?))
}

/// Delete a person, their sessions and their tokens. Never the last enabled admin, nor
/// the caller.
#[utoipa::path(delete, path = "/api/people/{username}", tag = "people",
    params(("username" = String, Path, description = "The person's user name", example = "sam")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, description = "The last admin, or the caller", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.accounts().delete_person(&username, identity.user()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A shot's share, if it has one.
#[utoipa::path(get, path = "/api/devices/{client_id}/sessions/{session_id}/share", tag = "people",
    params(("client_id" = String, Path, example = "scale-01"), ("session_id" = String, Path, example = "shot-0001")),
    responses((status = 200, body = Share), (status = 404, description = "No such shot, or it is not shared", body = ErrorBody)))]
pub async fn read_share(
    State(state): State<AppState>,
    Path((client_id, session)): Path<(String, String)>,
) -> Result<Json<Share>, ApiError> {
    let id = device(&state, &client_id).await?;
    let sid = session_id(&session)?;
    match state.registry.shares().of_shot(id.as_str(), sid.as_str()).await? {
        Some(share) => Ok(Json(share)),
        None => Err(ApiError::NotFound(format!("shot {sid} of {id} is not shared"))),
    }
}

/// Share a shot: anyone with the link `{base}/s/{code}` sees that shot alone. Sharing a
/// shared shot again answers its existing share.
#[utoipa::path(put, path = "/api/devices/{client_id}/sessions/{session_id}/share", tag = "people",
    params(("client_id" = String, Path, example = "scale-01"), ("session_id" = String, Path, example = "shot-0001")),
    responses((status = 200, body = Share), (status = 404, description = "No such shot", body = ErrorBody)))]
pub async fn share(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((client_id, session)): Path<(String, String)>,
) -> Result<Json<Share>, ApiError> {
    let id = device(&state, &client_id).await?;
    let sid = session_id(&session)?;
    Ok(Json(state.registry.shares().share(id.as_str(), sid.as_str(), identity.user()).await?))
}

/// What the caller shares, newest first; an admin sees everything shared.
#[utoipa::path(get, path = "/api/shares", tag = "people", responses((status = 200, body = [Share])))]
pub async fn shares(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Result<Json<Vec<Share>>, ApiError> {
    let by = (identity.role() < Role::Admin).then(|| identity.user());
    Ok(Json(state.registry.shares().list(by).await?))
}

/// Withdraw a share: its link stops at once. Its owner may, and any admin.
#[utoipa::path(delete, path = "/api/shares/{code}", tag = "people",
    params(("code" = String, Path, description = "The share's code")),
    responses((status = 204), (status = 404, description = "No such share of yours", body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    let by = (identity.role() < Role::Admin).then(|| identity.user());
    if state.registry.shares().withdraw(&code, by).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such share of yours".into()))
    }
}

/// `?before_at=&before_id=&limit=` of the audit list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// The last entry's `at` of the page before, to page on (alone: entries before this time).
    before_at: Option<i64>,
    /// The last entry's `id` of the page before (only with `before_at`).
    before_id: Option<String>,
    /// At most this many entries (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// Changes to scales, firmware, people, tokens and the pipeline's settings: who, what,
/// when, newest first. The newest 10,000 are kept.
#[utoipa::path(get, path = "/api/audit", tag = "people", params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 400, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::Invalid { field: "limit".into(), message: "must be 1 to 200".into() });
    }
    // Entries before the given time, and at that time before the given id, if any.
    let before = query.before_at.map(|at| (at, query.before_id.as_deref().unwrap_or("")));
    Ok(Json(state.registry.shares().audit(before, i64::from(limit)).await?))
}

/// The sites (shops): every one, or those the caller is limited to.
#[utoipa::path(get, path = "/api/sites", tag = "people", responses((status = 200, body = [Site])))]
pub async fn sites(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Result<Json<Vec<Site>>, ApiError> {
    let sites = state.registry.sites().await?;
    Ok(Json(sites.into_iter().filter(|s| identity.sites().allows(Some(&s.id))).collect()))
}

/// Add a site.
#[utoipa::path(post, path = "/api/sites", tag = "people", request_body = SiteInput,
    responses((status = 201, body = Site), (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody)))]
pub async fn add_site(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SiteInput>,
) -> Result<(StatusCode, Json<Site>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.registry.add_site(&body).await?)))
}

/// Rename a site or change its time zone (a site keeps its id).
#[utoipa::path(patch, path = "/api/sites/{site}", tag = "people", request_body = SitePatch,
    params(("site" = String, Path, description = "The site's id", example = "soho")),
    responses((status = 200, body = Site), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_site(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SitePatch>,
) -> Result<Json<Site>, ApiError> {
    Ok(Json(state.registry.update_site(&id, &body).await?))
}

/// Delete a site no scale belongs to; people limited to it lose it.
#[utoipa::path(delete, path = "/api/sites/{site}", tag = "people",
    params(("site" = String, Path, description = "The site's id", example = "soho")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, description = "Scales still belong to it", body = ErrorBody)))]
pub async fn delete_site(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.registry.delete_site(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
