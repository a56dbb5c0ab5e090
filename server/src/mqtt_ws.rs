//! MQTT over WebSocket at `{base}/mqtt`, on the web port: browsers need no second port
//! and no second origin. Each WebSocket is bridged, byte for byte, to the embedded
//! broker's TCP listener (MQTT over WebSocket is the same packets in binary frames).

use std::net::SocketAddr;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::api::ApiError;
use crate::broker::MAX_PACKET_BYTES;
use crate::http::AppState;

/// `GET {base}/mqtt`: upgrades to a WebSocket speaking MQTT (subprotocol `mqtt`).
pub async fn upgrade(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Some(broker) = state.ingest.as_ref().and_then(|i| i.embedded_tcp) else {
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
        .on_upgrade(move |socket| bridge(socket, broker))
}

/// Pumps bytes both ways until either side closes.
async fn bridge(socket: WebSocket, broker: SocketAddr) {
    let tcp = match TcpStream::connect(broker).await {
        Ok(tcp) => tcp,
        Err(e) => {
            tracing::warn!(error = %e, "MQTT over WebSocket: the embedded broker refused");
            return;
        }
    };
    let _ = tcp.set_nodelay(true);
    let (mut from_broker, mut to_broker) = tcp.into_split();
    let (mut to_client, mut from_client) = socket.split();
    let upstream = async {
        while let Some(Ok(message)) = from_client.next().await {
            let bytes = match message {
                Message::Binary(bytes) => bytes,
                Message::Close(_) => break,
                // MQTT travels in binary frames only; pings are answered by axum.
                _ => continue,
            };
            if to_broker.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to_broker.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from_broker.read(&mut buf).await {
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
