//! `GET {base}/api/devices/{client_id}/live`: a WebSocket with one JSON text frame per
//! reading of that scale, `{"client_id","session_id","value","tstamp"}`, as soon as its
//! batch is stored.
//!
//! Each viewer reads the device's channel of the live hub. A viewer that falls behind by
//! more than the hub's buffer skips ahead to the newest readings; one whose connection
//! takes no frame for [`SEND_TIMEOUT`] is disconnected. Neither ever slows ingestion or
//! another viewer: the hub never waits for anyone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, Path, State};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::{self, error::RecvError};
use wages_codec::ClientId;
use wages_store::Identity;

use super::error::ApiError;
use crate::hub::LiveReading;
use crate::metrics::Metrics;
use crate::state::AppState;

/// How long one frame may take to go out before the viewer is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Live streams open per client (a login session or a token), at most
/// `WAGES_LIVE_PER_CLIENT`: one browser or program cannot hold the server's sockets.
#[derive(Debug, Default)]
pub struct StreamLimits {
    per_client: usize,
    open: Mutex<HashMap<String, usize>>,
    /// Streams refused for being over the limit, for `/metrics`.
    pub refused: AtomicU64,
}

/// One open stream, counted until it is dropped.
pub struct StreamPermit {
    limits: Arc<StreamLimits>,
    client: String,
}

impl StreamLimits {
    pub fn new(per_client: usize) -> Arc<StreamLimits> {
        Arc::new(StreamLimits { per_client, ..StreamLimits::default() })
    }

    fn acquire(self: &Arc<Self>, client: String) -> Option<StreamPermit> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(client.clone()).or_default();
        if *count >= self.per_client {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *count += 1;
        Some(StreamPermit { limits: self.clone(), client })
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// A permit for `identity`'s next stream, or the 429 that says why not.
fn permit(state: &AppState, identity: &Identity) -> Result<StreamPermit, ApiError> {
    state.streams.acquire(identity.client_key()).ok_or_else(|| {
        ApiError::TooManyRequests(format!(
            "this client already has {} live streams open, the most allowed (WAGES_LIVE_PER_CLIENT); close one first",
            state.streams.per_client
        ))
    })
}

/// Upgrades to the live stream of a registered scale.
#[utoipa::path(get, path = "/api/devices/{client_id}/live", tag = "devices",
    params(("client_id" = String, Path, description = "The device", example = "scale-01")),
    responses((status = 101, description = "WebSocket: one JSON text frame per stored reading"),
        (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 429, description = "This client has WAGES_LIVE_PER_CLIENT streams open", body = super::error::ErrorBody)))]
pub async fn live(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(raw): Path<String>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let id = match ClientId::parse(&raw) {
        Ok(id) => id,
        Err(_) => return ApiError::NotFound(format!("no device with client_id {raw}")).into_response(),
    };
    if let Err(e) = state.registry.require(&id).await {
        return ApiError::from(e).into_response();
    }
    let Ok(ws) = ws else {
        return ApiError::BadRequest("connect with a WebSocket to follow a scale's readings".into()).into_response();
    };
    let permit = match permit(&state, &identity) {
        Ok(permit) => permit,
        Err(e) => return e.into_response(),
    };
    let readings = state.hub.subscribe(id);
    let metrics = state.metrics.clone();
    viewer(ws).on_upgrade(move |socket| follow(socket, readings, permit, metrics, None))
}

/// Upgrades to the live stream of the whole fleet: each scale's newest reading of every
/// stored batch (so a dashboard follows all scales at a bounded rate), and
/// `{"device": {…}}` when a scale's status message arrives.
#[utoipa::path(get, path = "/api/live", tag = "devices",
    responses((status = 101, description = "WebSocket: one JSON text frame per scale per stored batch, its newest reading; {\"device\": {…}} when a scale's status changes"),
        (status = 400, body = super::error::ErrorBody),
        (status = 429, description = "This client has WAGES_LIVE_PER_CLIENT streams open", body = super::error::ErrorBody)))]
pub async fn fleet(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return ApiError::BadRequest("connect with a WebSocket to follow the fleet's readings".into()).into_response();
    };
    let permit = match permit(&state, &identity) {
        Ok(permit) => permit,
        Err(e) => return e.into_response(),
    };
    // Someone limited to some sites follows those sites' scales (as they are when the
    // stream opens).
    let only = match identity.sites().limited() {
        None => None,
        Some(_) => match state.registry.list_in(None, wages_store::MAX_LIST, identity.sites()).await {
            Ok(devices) => Some(devices.into_iter().map(|d| d.client_id.to_string()).collect()),
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    let readings = state.hub.subscribe_fleet();
    let metrics = state.metrics.clone();
    viewer(ws).on_upgrade(move |socket| follow(socket, readings, permit, metrics, only))
}

/// A viewer only listens: small buffers (tungstenite reserves 128 KiB to read by default,
/// which at 10,000 viewers is 1.3 GB) and small bounded frames from it.
fn viewer(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(VIEWER_BUFFER)
        .write_buffer_size(0)
        .max_message_size(VIEWER_BUFFER)
        .max_frame_size(VIEWER_BUFFER)
}

/// What a viewer may send in one message (a ping, a close), and its read buffer.
const VIEWER_BUFFER: usize = 4096;

/// Sends readings until the viewer leaves, stalls, or the server stops.
/// What the live streams send: each item already knows its JSON frame.
trait Frame: Clone + Send + 'static {
    fn json(self) -> axum::extract::ws::Utf8Bytes;
}

/// The scale a fleet frame is about: `{"client_id":…}` or `{"device":{"client_id":…}}`.
fn scale_of(frame: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(frame).ok()?;
    let id = value.get("client_id").or_else(|| value.get("device")?.get("client_id"))?;
    id.as_str().map(str::to_owned)
}

impl Frame for LiveReading {
    fn json(self) -> axum::extract::ws::Utf8Bytes {
        self.json
    }
}

impl Frame for axum::extract::ws::Utf8Bytes {
    fn json(self) -> axum::extract::ws::Utf8Bytes {
        self
    }
}

/// `_permit` counts the stream against its client until it ends; with `only`, frames of
/// other scales are left out.
async fn follow<T: Frame>(
    mut socket: WebSocket,
    mut readings: broadcast::Receiver<T>,
    _permit: StreamPermit,
    metrics: Arc<Metrics>,
    only: Option<std::collections::HashSet<String>>,
) {
    loop {
        tokio::select! {
            next = readings.recv() => match next {
                Ok(frame) => {
                    let json = frame.json();
                    if let Some(only) = &only
                        && !scale_of(json.as_str()).is_some_and(|id| only.contains(&id))
                    {
                        continue;
                    }
                    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(json))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) | Err(_) => return,
                    }
                }
                // Too far behind: carry on from the newest readings.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Err(_)) => {
                    metrics.websocket_error();
                    return;
                }
                None | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
