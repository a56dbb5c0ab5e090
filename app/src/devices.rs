//! Server functions for the devices page: list, register, rename, delete. They reach
//! the registry through Leptos context and return [`AppError`].

use leptos::prelude::*;
use wages_store::Device;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::with_status;

/// Devices whose id or name contains `q` (all when empty), by `client_id`.
#[server(prefix = "/api/fn")]
pub async fn list_devices(q: String) -> Result<Vec<Device>, AppError> {
    let registry = expect_context::<wages_store::Registry>();
    with_status(registry.list(Some(&q), wages_store::MAX_LIST).await.map_err(AppError::from))
}

#[server(prefix = "/api/fn")]
pub async fn register_device(client_id: String, name: String) -> Result<Device, AppError> {
    let registry = expect_context::<wages_store::Registry>();
    let created = async { Ok(registry.create(&wages_store::NewDevice::parse(&client_id, &name)?).await?) };
    with_status(created.await)
}

#[server(prefix = "/api/fn")]
pub async fn rename_device(client_id: String, name: String) -> Result<Device, AppError> {
    let id =
        wages_codec::ClientId::parse(&client_id).map_err(|_| AppError::NotFound(format!("no device {client_id}")))?;
    let name = wages_store::DeviceName::parse(&name)?;
    let registry = expect_context::<wages_store::Registry>();
    Ok(registry.rename(&id, &name).await?)
}

#[server(prefix = "/api/fn")]
pub async fn delete_device(client_id: String) -> Result<(), AppError> {
    let id =
        wages_codec::ClientId::parse(&client_id).map_err(|_| AppError::NotFound(format!("no device {client_id}")))?;
    let registry = expect_context::<wages_store::Registry>();
    Ok(registry.delete(&id).await?)
}

/// The server's clock in ms since the epoch, which decides whether a session is live.
#[cfg(feature = "ssr")]
fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// One scale and its sessions, newest first, for its page.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScaleHistory {
    pub device: Device,
    pub sessions: Vec<wages_sessions::Summary>,
}

/// Sessions the device page lists.
pub const HISTORY_LENGTH: u32 = 50;

/// A scale and its most recent sessions with their summaries.
#[server(prefix = "/api/fn")]
pub async fn read_scale(client_id: String) -> Result<ScaleHistory, AppError> {
    let found = async {
        let id = wages_codec::ClientId::parse(&client_id)
            .map_err(|_| AppError::NotFound(format!("no device with client_id {client_id}")))?;
        let device = expect_context::<wages_store::Registry>().require(&id).await?;
        let now = now_ms();
        let readings = expect_context::<wages_store::ReadingsStore>();
        let sessions = readings.sessions(&id, HISTORY_LENGTH, None, now).await?;
        Ok(ScaleHistory { device, sessions })
    };
    with_status(found.await)
}

/// The stored readings of the scale's newest session if it is still running (a reading
/// within the last 10 s), else none: what the live graph starts from.
#[server(prefix = "/api/fn")]
pub async fn live_readings(client_id: String) -> Result<Vec<wages_codec::Reading>, AppError> {
    let found = async {
        let id = wages_codec::ClientId::parse(&client_id)
            .map_err(|_| AppError::NotFound(format!("no device with client_id {client_id}")))?;
        expect_context::<wages_store::Registry>().require(&id).await?;
        let now = now_ms();
        let readings = expect_context::<wages_store::ReadingsStore>();
        match readings.sessions(&id, 1, None, now).await?.first() {
            Some(newest) if newest.live => Ok(readings.readings(&id, &newest.session_id).await?),
            _ => Ok(Vec::new()),
        }
    };
    with_status(found.await)
}

/// One session for its page: its summary and graph, the device's other sessions to
/// compare with, and the graph of the session compared, if any.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionView {
    pub device_name: String,
    pub summary: wages_sessions::Summary,
    pub points: Vec<wages_sessions::GraphPoint>,
    /// Newest first, without this one.
    pub others: Vec<String>,
    /// `client_id/session_id` and the graph of the session overlaid.
    pub compared: Option<(String, Vec<wages_sessions::GraphPoint>)>,
}

/// A session of a scale, with `compare` (`client_id/session_id`, or empty) overlaid.
#[server(prefix = "/api/fn")]
pub async fn read_session(client_id: String, session_id: String, compare: String) -> Result<SessionView, AppError> {
    use wages_codec::{ClientId, SessionId};
    let found = async {
        let readings = expect_context::<wages_store::ReadingsStore>();
        let registry = expect_context::<wages_store::Registry>();
        let not_found = || AppError::NotFound(format!("no session {session_id} of scale {client_id}"));
        let (Ok(id), Ok(sid)) = (ClientId::parse(&client_id), SessionId::parse(&session_id)) else {
            return Err(not_found());
        };
        let device = registry.require(&id).await?;
        let rows = readings.readings(&id, &sid).await?;
        let summary = wages_sessions::summarize(&rows, now_ms()).ok_or_else(not_found)?;
        let others = readings
            .sessions(&id, 20, None, now_ms())
            .await?
            .into_iter()
            .map(|s| s.session_id.to_string())
            .filter(|s| *s != session_id)
            .collect();
        let compared = match compare.trim().split_once('/') {
            None if compare.trim().is_empty() => None,
            Some((other_id, other_sid)) => {
                let missing = || AppError::NotFound(format!("nothing to compare: no session {}", compare.trim()));
                let (Ok(other_id), Ok(other_sid)) = (ClientId::parse(other_id), SessionId::parse(other_sid)) else {
                    return Err(missing());
                };
                let other = readings.readings(&other_id, &other_sid).await?;
                if other.is_empty() {
                    return Err(missing());
                }
                Some((format!("{other_id}/{other_sid}"), wages_sessions::graph(&other)))
            }
            None => {
                return Err(AppError::Invalid {
                    field: "compare".into(),
                    message: "must be client_id/session_id".into(),
                });
            }
        };
        Ok(SessionView { device_name: device.name, summary, points: wages_sessions::graph(&rows), others, compared })
    };
    with_status(found.await)
}
