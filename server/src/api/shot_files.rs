//! Shots as files: `GET …/sessions/{session_id}/export` (Beanconqueror's brew export,
//! our JSON, CSV, each with the shot's series) and `POST /api/shots/import` (a shot file
//! of any format [`shot_file::parse`] reads, onto a scale). The import page's upload goes through [`import_file`] too.

use axum::Json;
use axum::body::Bytes;
use axum::extract::FromRequest;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::Serialize;
use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
use wages_store::shot_file::{self, Backup, ImportedShot, MAX_BACKUP_BYTES, MAX_IMPORT_BYTES};
use wages_store::{Identity, ReadingsStore, Shot, ShotImport, SqlReadings};

use super::error::{ApiError, ErrorBody};
use super::sessions::{device, session_id};
use crate::state::AppState;
use wages_codec::clock::now_ms;

/// `?format=` of the export.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `beanconqueror` (default: Beanconqueror's brew export, which Visualizer.coffee
    /// imports), `json` (the shot with its readings) or `csv` (the readings).
    #[param(pattern = "^(beanconqueror|json|csv)$")]
    format: Option<String>,
}

/// A shot as a file to download.
#[utoipa::path(get, path = "/api/devices/{client_id}/sessions/{session_id}/export", tag = "sessions",
    params(("client_id" = String, Path, description = "The device", example = "scale-01"), ("session_id" = String, Path, description = "The session", example = "brew-0042"), ExportQuery),
    responses((status = 200, description = "An attachment: JSON (Beanconqueror's export, or the shot with its readings), or CSV with a header row",
            content((serde_json::Value = "application/json"), (String = "text/csv"))),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    Path((id, sid)): Path<(String, String)>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let format = query.format.unwrap_or_else(|| "beanconqueror".to_owned());
    if !["beanconqueror", "json", "csv"].contains(&format.as_str()) {
        return Err(ApiError::Invalid { field: "format".into(), message: "must be beanconqueror, json or csv".into() });
    }
    let (id, sid) = (device(&state, &id).await?, session_id(&sid)?);
    let Some((_, readings)) = state.readings.session_with_readings(&id, &sid, now_ms()).await? else {
        return Err(ApiError::NotFound(format!("no session {sid} for device {id}")));
    };
    let shot = super::brews::shot(&state, &id, &sid).await?;
    let series = state.readings.series(&id, &sid).await?;
    let (body, kind, suffix) = match format.as_str() {
        "csv" => (csv_with_series((&id, &sid), &readings, &series), "text/csv; charset=utf-8", "csv"),
        "json" => {
            let mut value = serde_json::to_value(&shot).unwrap_or_default();
            value["readings"] = serde_json::to_value(&readings).unwrap_or_default();
            value["series"] = serde_json::to_value(&series).unwrap_or_default();
            (value.to_string(), "application/json", "json")
        }
        _ => {
            (shot_file::beanconqueror(&shot, &readings, &series).to_string(), "application/json", "beanconqueror.json")
        }
    };
    let disposition = format!("attachment; filename=\"{id}-{sid}.{suffix}\"");
    Ok(([(header::CONTENT_TYPE, kind.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
}

/// The readings as CSV ([`super::sessions::csv`]), with a column for each series the
/// shot has: one row per time any of them has a value, empty where one has none.
fn csv_with_series(
    (client, session): (&ClientId, &SessionId),
    readings: &[Reading],
    series: &[wages_store::series::Series],
) -> String {
    use std::collections::{BTreeMap, BTreeSet};
    use std::fmt::Write as _;
    if series.is_empty() {
        return super::sessions::csv(readings);
    }
    let weights: BTreeMap<u64, f64> = readings.iter().map(|r| (r.tstamp.millis(), r.value.get())).collect();
    let mut times: BTreeSet<u64> = weights.keys().copied().collect();
    times.extend(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let mut body = String::from("client_id,session_id,value,tstamp");
    for s in series {
        let _ = write!(body, ",{}", s.kind.as_str());
    }
    body.push('\n');
    // Each series' points are in time order: one cursor each walks along with the rows.
    let mut cursors = vec![0usize; series.len()];
    for t in times {
        let value = weights.get(&t).map_or(String::new(), f64::to_string);
        let stamp = Timestamp::from_millis(t).map_or(String::new(), |ts| ts.to_string());
        let _ = write!(body, "{client},{session},{value},{stamp}");
        for (s, cursor) in series.iter().zip(&mut cursors) {
            match s.points.get(*cursor) {
                Some(&(at, v)) if at == t => {
                    let _ = write!(body, ",{v}");
                    *cursor += 1;
                }
                _ => body.push(','),
            }
        }
        body.push('\n');
    }
    body
}

/// `?scale=` and `?session_id=` of the import.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The registered scale the shot goes onto.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    scale: String,
    /// The new session's id; default: the one the file names, else `import-{time}`.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    session_id: Option<String>,
}

/// Import a shot: the body is a shot file as another app or machine wrote it, told apart
/// by what it holds: a Beanconqueror brew export, a Visualizer shot JSON, a Decent DE1
/// `.shot` (or pyDE1's) or JSON shot, a Gaggiuino, GaggiMate or Meticulous shot, or a
/// Smart Espresso Profiler / Pressensor CSV (at most 10 MiB and 50,000 samples a
/// series). Its weight becomes the shot's readings and its pressure, flow, temperatures
/// and water dispensed its series; its beans are found in the library by roaster and
/// name, or added. Answers the new shot; a problem in the file names its place there
/// (`brewFlow.weight[3].actual_weight`, or a line). The same file imported again onto
/// the same scale is the same session: 409.
#[utoipa::path(post, path = "/api/shots/import", tag = "brews", params(ImportQuery),
    request_body(description = "The shot file as written: JSON, a DE1 .shot (Tcl lists) or CSV",
        content((serde_json::Value = "application/json"), (String = "text/plain"), (String = "text/csv"))),
    responses((status = 201, body = super::brews::ShotBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The scale already has this session", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    query: Result<Query<ImportQuery>, QueryRejection>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Shot>), ApiError> {
    let Query(query) = query?;
    let body = body.map_err(|_| too_large())?;
    let shot = import_file(&state, &query.scale, query.session_id.as_deref(), &body, &identity.who()).await?;
    Ok((StatusCode::CREATED, Json(shot)))
}

pub(crate) fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!("a shot file must be at most {} MiB", MAX_IMPORT_BYTES / 1024 / 1024))
}

/// The import page's form (multipart: `scale`, `session_id`, then `file` or `folder`, each
/// as many times as there are files): one file goes on to the new shot's page, or back to
/// the form with the problem and the scale kept; several (sent before the page's script
/// takes over), or a Beanconqueror backup, are imported, and the form hears how many
/// came in, were there already or were refused, with the first refusal's reason.
pub async fn upload(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let base = state.base.as_str().to_owned();
    let q = app::clock::query_escape;
    let (mut scale, mut session, mut files) = (String::new(), String::new(), Vec::new());
    let read = async {
        let mut form = form.map_err(|e| ApiError::BadRequest(format!("the form could not be read: {e}")))?;
        while let Some(field) = form.next_field().await.map_err(|_| too_large())? {
            match field.name() {
                Some("scale") => scale = field.text().await.map_err(|_| too_large())?,
                Some("session_id") => session = field.text().await.map_err(|_| too_large())?,
                Some("file" | "folder") => {
                    let name = field.file_name().unwrap_or("file").to_owned();
                    let bytes = field.bytes().await.map_err(|_| too_large())?;
                    if !bytes.is_empty() {
                        files.push((name, bytes));
                    }
                }
                _ => {}
            }
        }
        if files.is_empty() {
            return Err(ApiError::Invalid {
                field: "file".into(),
                message: "pick a shot file (Beanconqueror, Visualizer, Decent, Gaggiuino, GaggiMate, Meticulous, Smart Espresso Profiler)".into(),
            });
        }
        Ok(())
    };
    let problem = |e: &ApiError| match e {
        ApiError::Invalid { field, message } => (field.clone(), message.clone()),
        e => (String::new(), e.to_string()),
    };
    let read = read.await;
    let back = |field: &str, message: &str| {
        format!("{base}/shots/import?scale={}&field={}&error={}", q(&scale), q(field), q(message))
    };
    if let Err(e) = read {
        let (field, message) = problem(&e);
        return axum::response::Redirect::to(&back(&field, &message)).into_response();
    }
    let who = identity.who();
    let counts = |imported: usize, there: usize, refused: usize, first: Option<&str>| {
        format!(
            "{base}/shots/import?scale={}&imported={imported}&there={there}&refused={refused}&error={}",
            q(&scale),
            q(first.unwrap_or_default())
        )
    };
    let to = if is_backup(&files) {
        match import_backup_files(&state, &scale, &files, &who).await {
            Ok(r) => {
                let first = r.refused.first().map(|f| format!("{}: {}", f.item, f.message));
                counts(r.imported, r.there, r.refused.len(), first.as_deref())
            }
            Err(e) => {
                let (field, message) = problem(&e);
                back(&field, &message)
            }
        }
    } else if let [(_, file)] = files.as_slice() {
        match import_file(&state, &scale, Some(&session), file, &who).await {
            Ok(shot) => format!("{base}/devices/{}/sessions/{}", shot.summary.client_id, shot.summary.session_id),
            Err(e) => {
                let (field, message) = problem(&e);
                back(&field, &message)
            }
        }
    } else {
        let (mut imported, mut there, mut refused, mut first) = (0, 0, 0, None);
        for (name, file) in &files {
            match import_file(&state, &scale, None, file, &who).await {
                Ok(_) => imported += 1,
                Err(ApiError::Conflict(_)) => there += 1,
                Err(e) => {
                    refused += 1;
                    first.get_or_insert_with(|| format!("{name}: {e}"));
                }
            }
        }
        counts(imported, there, refused, first.as_deref())
    };
    axum::response::Redirect::to(&to).into_response()
}

/// Reads the file, puts its beans in the library and stores the shot on `scale`.
pub(crate) async fn import_file(
    state: &AppState,
    scale: &str,
    session: Option<&str>,
    file: &[u8],
    who: &str,
) -> Result<Shot, ApiError> {
    let (scale, store) = import_target(state, scale).await?;
    if file.len() > MAX_IMPORT_BYTES {
        return Err(too_large());
    }
    let mut imported = shot_file::parse(file)?;
    let sid = match session.filter(|s| !s.trim().is_empty()) {
        Some(s) => SessionId::parse(s.trim()).map_err(|e| ApiError::Invalid {
            field: "session_id".into(),
            message: format!("is not a session id: {e}"),
        })?,
        None => match imported.session_id.as_deref().map(SessionId::parse) {
            Some(Ok(s)) => s,
            _ => SessionId::parse(&format!("import-{}", now_ms())).map_err(|e| ApiError::Unavailable(e.to_string()))?,
        },
    };
    if let Some(beans) = &imported.beans {
        imported.details.beans_id = Some(state.registry.brews().find_or_add_beans(beans).await?.id);
    }
    store_shot(store, &scale, &sid, &imported, who).await?;
    super::brews::shot(state, &scale, &sid).await
}

/// The registered scale shots are imported onto, and the readings' store, which must be
/// the registry's database.
async fn import_target<'s>(state: &'s AppState, scale: &str) -> Result<(ClientId, &'s SqlReadings), ApiError> {
    let scale = ClientId::parse(scale).map_err(|_| ApiError::NotFound(format!("no device with client_id {scale}")))?;
    state.registry.require(&scale).await?;
    let ReadingsStore::Sql(store) = &state.readings else {
        return Err(ApiError::Unavailable(
            "importing shots needs the readings in the registry's database (WAGES_TIMESERIES=sql)".into(),
        ));
    };
    Ok((scale, store))
}

/// Stores a shot read from a file (its beans already looked up) as session `sid`.
async fn store_shot(
    store: &SqlReadings,
    scale: &ClientId,
    sid: &SessionId,
    imported: &ImportedShot,
    who: &str,
) -> Result<(), ApiError> {
    let readings = imported
        .samples
        .iter()
        .enumerate()
        .map(|(i, &(t, g))| {
            let bad = |m: String| ApiError::Invalid { field: format!("sample {i}"), message: m };
            Ok(Reading::new(
                *scale,
                *sid,
                Grams::new(g).map_err(|e| bad(e.to_string()))?,
                Timestamp::from_millis(t).map_err(|e| bad(e.to_string()))?,
            ))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let shot =
        ShotImport { readings: &readings, series: &imported.series, span: imported.span, details: &imported.details };
    store.import_shot(scale, sid, shot, who).await?;
    Ok(())
}

/// `?scale=` of a backup import.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BackupQuery {
    /// The registered scale the brews go onto.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    scale: String,
}

/// A backup as a form: the zip (or `Beanconqueror.json` and its chunks) and the flow
/// profiles beside it, each a `file` part named as in the backup
/// (`brews/{uuid}_flow_profile.json`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the form; the handler reads its parts as they come
pub struct BackupForm {
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

/// What a backup's import did.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupReport {
    /// Brews in the backup.
    pub brews: usize,
    /// Brews stored as new shots.
    pub imported: usize,
    /// Brews the scale has already (the same backup imported before).
    pub there: usize,
    /// Beans of the backup now in the library (found there by roaster and name, or added).
    pub beans: usize,
    /// Brews and beans that could not be read, each with why; nothing of them is stored.
    pub refused: Vec<Refusal>,
}

/// A brew or beans of a backup that could not be read.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Refusal {
    /// Which: `brew 12 (af21d84f-…)`, or `beans (uuid)`.
    pub item: String,
    /// The field in the brew's file (`brew.grind_weight`), when one is at fault.
    pub field: Option<String>,
    pub message: String,
}

impl Refusal {
    fn new(item: String, e: ApiError) -> Refusal {
        match e {
            ApiError::Invalid { field, message } => Refusal { item, field: Some(field), message },
            e => Refusal { item, field: None, message: e.to_string() },
        }
    }
}

/// Import a Beanconqueror backup whole: `Beanconqueror.zip` as the app exports it
/// (`Beanconqueror.json` and its `Beanconqueror_Brews_N.json` / `_Beans_N.json` chunks, and
/// any `brews/{uuid}_flow_profile.json` put in it), or `Beanconqueror.json` alone; or, as
/// `multipart/form-data`, the zip and the flow profiles beside it (Android's export
/// folder) as parts. Its beans come into the library, every brew becomes a shot on the
/// scale with its grinder, recipe, notes and, where it has one, its flow. Each brew is
/// stored whole or not at all; one the scale has already is counted, not stored twice,
/// so the same backup imported again adds only what is missing. At most 256 MiB and
/// 100,000 brews.
#[utoipa::path(post, path = "/api/shots/import/backup", tag = "brews", params(BackupQuery),
    request_body(description = "Beanconqueror.zip, Beanconqueror.json, or a multipart form of the backup's files",
        content((String = "application/zip"), (serde_json::Value = "application/json"), (BackupForm = "multipart/form-data"))),
    responses((status = 200, body = BackupReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_backup(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    query: Result<Query<BackupQuery>, QueryRejection>,
    request: axum::extract::Request,
) -> Result<Json<BackupReport>, ApiError> {
    let Query(query) = query?;
    // The scale first: a backup for no scale is not read at all.
    import_target(&state, &query.scale).await?;
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    let files = if multipart {
        let mut form = axum::extract::Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("the form could not be read: {e}")))?;
        let mut files = Vec::new();
        while let Some(field) = form.next_field().await.map_err(|e| form_error(&e))? {
            let name = field.file_name().or(field.name()).unwrap_or("file").to_owned();
            files.push((name, field.bytes().await.map_err(|e| form_error(&e))?));
        }
        files
    } else {
        // A zip is told by its bytes, whatever its name; anything else is the main file.
        let body = Bytes::from_request(request, &state).await.map_err(|_| backup_too_large())?;
        vec![("Beanconqueror.json".to_owned(), body)]
    };
    Ok(Json(import_backup_files(&state, &query.scale, &files, &identity.who()).await?))
}

fn backup_too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!("a backup must be at most {} MiB", MAX_BACKUP_BYTES >> 20))
}

/// A form that is too large, or not a well-formed multipart form.
fn form_error(e: &axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        backup_too_large()
    } else {
        ApiError::BadRequest(format!("the form could not be read: {}", e.body_text()))
    }
}

/// Whether a set of uploaded files is a Beanconqueror backup rather than shot files.
pub(crate) fn is_backup(files: &[(String, Bytes)]) -> bool {
    files.iter().any(|(name, bytes)| {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        base == "Beanconqueror.json" || bytes.starts_with(b"PK\x03\x04")
    })
}

/// Reads a backup from its files and imports its beans and brews onto `scale`.
pub(crate) async fn import_backup_files(
    state: &AppState,
    scale: &str,
    files: &[(String, Bytes)],
    who: &str,
) -> Result<BackupReport, ApiError> {
    let (scale, store) = import_target(state, scale).await?;
    if files.iter().map(|(_, b)| b.len()).sum::<usize>() > MAX_BACKUP_BYTES {
        return Err(backup_too_large());
    }
    let named: Vec<(String, &[u8])> = files.iter().map(|(n, b)| (n.clone(), &b[..])).collect();
    let mut backup = Backup::read(&named)?;
    let mut report = BackupReport { brews: backup.len(), ..BackupReport::default() };
    let brews = state.registry.brews();
    let mut library = std::collections::HashMap::new();
    for (uuid, beans) in backup.beans() {
        match beans {
            Ok(input) => {
                library.insert(uuid.clone(), brews.find_or_add_beans(input).await?.id);
                report.beans += 1;
            }
            Err(e) => report.refused.push(Refusal::new(format!("beans ({uuid})"), e.clone().into())),
        }
    }
    for i in 0..backup.len() {
        let brew = backup.brew(i);
        let stored = async {
            let mut shot = brew.shot?;
            let sid = shot.session_id.as_deref().map(SessionId::parse).transpose().ok().flatten().ok_or_else(|| {
                ApiError::Invalid { field: "brew.config.uuid".into(), message: "must name the brew".into() }
            })?;
            shot.details.beans_id = match (brew.beans_uuid.as_ref().and_then(|u| library.get(u)), &shot.beans) {
                (Some(id), _) => Some(*id),
                (None, Some(beans)) => Some(brews.find_or_add_beans(beans).await?.id),
                (None, None) => None,
            };
            store_shot(store, &scale, &sid, &shot, who).await
        };
        match stored.await {
            Ok(()) => report.imported += 1,
            Err(ApiError::Conflict(_)) => report.there += 1,
            Err(e @ ApiError::Invalid { .. }) => report.refused.push(Refusal::new(brew.label, e)),
            // The database failing stops the import; what is stored stays whole.
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}
