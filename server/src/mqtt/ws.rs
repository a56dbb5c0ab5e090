//! MQTT over WebSocket at `{base}/mqtt`, on the web port: browsers need no second port
//! and no second origin. MQTT over WebSocket is the same packets in binary frames: each
//! WebSocket is turned into a byte stream and served by the gate
//! ([`crate::mqtt::gate`]), exactly as a TCP connection is.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use crate::api::ApiError;
use crate::metrics::Metrics;
use crate::mqtt::MAX_PACKET_BYTES;
use crate::mqtt::gate::Gate;
use crate::state::AppState;

/// `GET {base}/mqtt`: upgrades to a WebSocket speaking MQTT (subprotocol `mqtt`).
pub async fn upgrade(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Some(gate) = state.gate.clone() else {
        let why = "MQTT over WebSocket is served with the embedded broker; with WAGES_MQTT_URL, connect to that broker";
        return ApiError::NotFound(why.into()).into_response();
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(_) => {
            return ApiError::BadRequest("connect with a WebSocket (subprotocol mqtt) to speak MQTT here".into())
                .into_response();
        }
    };
    ws.protocols(["mqtt"])
        .max_frame_size(MAX_PACKET_BYTES)
        .max_message_size(MAX_PACKET_BYTES)
        .on_upgrade(move |socket| bridge(socket, gate, state.metrics))
}

/// Pumps the WebSocket's binary frames through a byte pipe the gate serves, until
/// either side closes.
async fn bridge(socket: WebSocket, gate: Arc<Gate>, metrics: Arc<Metrics>) {
    let (ours, gates) = tokio::io::duplex(64 * 1024);
    let served = tokio::spawn(gate.serve(gates, "websocket".to_owned()));
    pump(socket, ours, &metrics).await;
    // The pipe is closed now: the gate forwards what it still holds and ends.
    let _ = served.await;
}

async fn pump(socket: WebSocket, pipe: DuplexStream, metrics: &Metrics) {
    let (mut from_gate, mut to_gate) = tokio::io::split(pipe);
    let (mut to_client, mut from_client) = socket.split();
    let upstream = async {
        while let Some(message) = from_client.next().await {
            let Ok(message) = message else {
                metrics.websocket_error();
                break;
            };
            let bytes = match message {
                Message::Binary(bytes) => bytes,
                Message::Close(_) => break,
                // MQTT travels in binary frames only; pings are answered by axum.
                _ => continue,
            };
            if to_gate.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to_gate.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from_gate.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to_client.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to_client.close().await;
    };
    tokio::select! {
        () = upstream => {},
        () = downstream => {},
    }
}
