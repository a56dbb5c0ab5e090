//! The browser end of the server's live WebSockets (`{base}/api/devices/{id}/live` and
//! `{base}/api/live`): one reading per text frame.
//!
//! The socket reconnects two seconds after it drops (a server restart, a network blip on
//! a cafe's tablet) and closes when the reactive owner that opened it is cleaned up.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use wages_codec::Reading;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// How long to wait before opening a dropped socket again.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

struct Follower {
    url: String,
    on_reading: RefCell<Box<dyn FnMut(Reading)>>,
    socket: RefCell<Option<WebSocket>>,
    stopped: Cell<bool>,
}

/// Follows the live stream at `path` (already under the base), calling `on_reading`
/// with every reading, for as long as the current reactive owner lives.
pub fn follow(path: &str, on_reading: impl FnMut(Reading) + 'static) {
    let location = window().location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let Ok(host) = location.host() else { return };
    let follower = Rc::new(Follower {
        url: format!("{scheme}://{host}{path}"),
        on_reading: RefCell::new(Box::new(on_reading)),
        socket: RefCell::new(None),
        stopped: Cell::new(false),
    });
    connect(&follower);
    let follower = StoredValue::new_local(follower);
    on_cleanup(move || {
        follower.with_value(|f| {
            f.stopped.set(true);
            if let Some(socket) = f.socket.borrow_mut().take() {
                drop(socket.close());
            }
        });
    });
}

fn connect(follower: &Rc<Follower>) {
    let Ok(socket) = WebSocket::new(&follower.url) else {
        leptos::logging::warn!("cannot open {}: no WebSocket", follower.url);
        return;
    };
    let on_message = {
        let follower = follower.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else { return };
            if let Ok(reading) = serde_json::from_str::<Reading>(&text) {
                (follower.on_reading.borrow_mut())(reading);
            }
        })
    };
    let on_close = {
        let follower = follower.clone();
        Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            if follower.stopped.get() {
                return;
            }
            let follower = follower.clone();
            set_timeout(
                move || {
                    if !follower.stopped.get() {
                        connect(&follower);
                    }
                },
                RECONNECT_AFTER,
            );
        })
    };
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // The socket owns its handlers from now on; they live as long as the page.
    on_message.forget();
    on_close.forget();
    *follower.socket.borrow_mut() = Some(socket);
}
