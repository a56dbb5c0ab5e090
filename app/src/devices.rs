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
