//! The browser end of the server's live WebSockets (`{base}/api/devices/{id}/live`, one
//! reading per text frame, and `{base}/api/live`, one fleet frame per text frame).
//!
//! The socket reconnects two seconds after it drops (a server restart, a network blip on
//! a cafe's tablet) and closes when the reactive owner that opened it is cleaned up.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// How long to wait before opening a dropped socket again.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

struct Follower<T> {
    url: String,
    on_open: RefCell<Box<dyn FnMut()>>,
    on_frame: RefCell<Box<dyn FnMut(T)>>,
    socket: RefCell<Option<WebSocket>>,
    stopped: Cell<bool>,
}

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
    let follower = Rc::new(Follower {
        url: format!("{scheme}://{host}{path}"),
        on_open: RefCell::new(Box::new(on_open)),
        on_frame: RefCell::new(Box::new(on_frame)),
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

fn connect<T: DeserializeOwned + 'static>(follower: &Rc<Follower<T>>) {
    let Ok(socket) = WebSocket::new(&follower.url) else {
        leptos::logging::warn!("cannot open {}: no WebSocket", follower.url);
        return;
    };
    let on_message = {
        let follower = follower.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            // A frame already queued when the page was left finds its signals gone.
            if follower.stopped.get() {
                return;
            }
            let Some(text) = event.data().as_string() else { return };
            if let Ok(frame) = serde_json::from_str::<T>(&text) {
                (follower.on_frame.borrow_mut())(frame);
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
    let on_open = {
        let follower = follower.clone();
        Closure::<dyn FnMut()>::new(move || {
            if !follower.stopped.get() {
                (follower.on_open.borrow_mut())();
            }
        })
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // The socket owns its handlers from now on; they live as long as the page.
    on_open.forget();
    on_message.forget();
    on_close.forget();
    *follower.socket.borrow_mut() = Some(socket);
}
