//! The browser end of the server's live WebSockets (`{base}/api/devices/{id}/live`, one
//! reading per text frame, and `{base}/api/live`, one fleet frame per text frame), on
//! gloo-net's WebSocket: one task per stream reads it as a `Stream` of messages.
//!
//! The socket reconnects two seconds after it drops (a server restart, a network blip on
//! a cafe's tablet) and closes when the reactive owner that opened it is cleaned up.
//!
//! The pages that are there to be watched live (the dashboard, a scale's page) do not
//! wait for their WASM to open their stream: a few lines in the page's `<head>`
//! (`early_stream.js`) open it as the page arrives and keep what comes, and the page takes
//! that socket over once it runs. On a phone that saves the round trip of opening the
//! socket after the WASM, half a second and more on a slow mobile link.

use std::pin::Pin;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{Either, select};
use futures_util::{Sink, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State};
use leptos::prelude::*;
use serde::de::DeserializeOwned;

/// How long to wait before opening a dropped socket again.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// Follows the live stream at `path` (already under the base), calling `on_frame` with
/// every frame that reads as a `T`, for as long as the current reactive owner lives, and
/// `on_open` each time the socket opens (again). What changed between the page's render
/// and that moment came as no frame: the stream starts when the socket opens. A page
/// whose state is not only appended to reads it again there.
pub fn follow_and_catch_up<T: DeserializeOwned + 'static>(
    path: &str,
    on_open: impl FnMut() + 'static,
    on_frame: impl FnMut(T) + 'static,
) {
    let location = window().location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let Ok(host) = location.host() else { return };
    let (stop, stopped) = oneshot::channel::<()>();
    leptos::task::spawn_local(follow(format!("{scheme}://{host}{path}"), on_open, on_frame, stopped));
    let stop = StoredValue::new_local(Some(stop));
    on_cleanup(move || {
        if let Some(stop) = stop.try_update_value(Option::take).flatten() {
            stop.send(()).ok();
        }
    });
}

/// The socket `early_stream.js` opened to `url`, if it is still open or opening, with
/// the text frames that came before the page took it.
fn take_early(url: &str) -> Option<(WebSocket, Vec<String>)> {
    use wasm_bindgen::JsCast;
    use web_sys::js_sys::{Array, Reflect};

    let early = Reflect::get(&window(), &"wagesEarly".into()).ok().filter(|e| e.is_object())?;
    let entry = Reflect::get(&early, &url.into()).ok().filter(|e| e.is_object())?;
    let _ = Reflect::delete_property(early.unchecked_ref::<web_sys::js_sys::Object>(), &url.into());
    let frames: Vec<String> = Reflect::get(&entry, &"frames".into())
        .ok()
        .filter(|f| f.is_object())
        .map(|f| Array::from(&f).iter().filter_map(|frame| frame.as_string()).collect())
        .unwrap_or_default();
    // From here the page's own reader takes every frame.
    let _ = Reflect::set(&entry, &"frames".into(), &wasm_bindgen::JsValue::NULL);
    let socket: web_sys::WebSocket = Reflect::get(&entry, &"socket".into()).ok()?.dyn_into().ok()?;
    if socket.ready_state() > web_sys::WebSocket::OPEN {
        return None;
    }
    Some((WebSocket::try_from(socket).ok()?, frames))
}

/// Reads the stream at `url` until `stopped`, opening it again whenever it drops.
async fn follow<T: DeserializeOwned>(
    url: String,
    mut on_open: impl FnMut(),
    mut on_frame: impl FnMut(T),
    mut stopped: oneshot::Receiver<()>,
) {
    let mut early = take_early(&url);
    loop {
        let (mut socket, kept) = match early.take() {
            Some(early) => early,
            None => match WebSocket::open(&url) {
                Ok(socket) => (socket, Vec::new()),
                Err(_) => {
                    leptos::logging::warn!("cannot open {url}: no WebSocket");
                    return;
                }
            },
        };
        // The socket takes messages to send once it is open (or has failed to open).
        let ready = futures_util::future::poll_fn(|cx| Pin::new(&mut socket).poll_ready(cx));
        let opened = match select(ready, &mut stopped).await {
            Either::Left((answer, _)) => answer.is_ok(),
            Either::Right(_) => return close(socket),
        };
        if opened && matches!(socket.state(), State::Open) {
            on_open();
        }
        for frame in kept.iter().filter_map(|text| serde_json::from_str::<T>(text).ok()) {
            on_frame(frame);
        }
        loop {
            match select(socket.next(), &mut stopped).await {
                Either::Left((Some(Ok(Message::Text(text))), _)) => {
                    if let Ok(frame) = serde_json::from_str::<T>(&text) {
                        on_frame(frame);
                    }
                }
                Either::Left((Some(Ok(Message::Bytes(_))), _)) => {}
                Either::Left((Some(Err(_)) | None, _)) => break,
                Either::Right(_) => return close(socket),
            }
        }
        if let Either::Right(_) = select(std::pin::pin!(sleep(RECONNECT_AFTER)), &mut stopped).await {
            return;
        }
    }
}

fn close(socket: WebSocket) {
    drop(socket.close(None, None));
}

/// Resolves after `duration`, on the browser's timer.
async fn sleep(duration: Duration) {
    let (done, wait) = oneshot::channel::<()>();
    set_timeout(
        move || {
            done.send(()).ok();
        },
        duration,
    );
    wait.await.ok();
}
