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
