//! The app when the network is gone.
//!
//! - The service worker (`{base}/sw.js`, served by the server) is registered, so the
//!   installed app opens to the last pages viewed, marked as offline.
//! - A form that keeps its submission offline (a shot's notes and rating) saves it on this
//!   device when the browser says it is offline; the kept submissions go out when the
//!   network is back (or at the next start), oldest first, one per shot: a newer edit of
//!   the same shot replaces the kept one. Each is sent only for the person who made it;
//!   another person logging in on the device drops it.

/// The `localStorage` key holding the kept submissions.
#[cfg(feature = "hydrate")]
const KEPT: &str = "wages-kept";

/// The window event fired once a kept submission is saved; its `detail` is its key.
#[cfg(feature = "hydrate")]
pub const SAVED_EVENT: &str = "wages-kept-saved";

/// One kept submission: whose, where it goes and the form's fields, URL-encoded.
#[cfg(feature = "hydrate")]
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
struct Kept {
    user: String,
    key: String,
    url: String,
    body: String,
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::Closure;
    use web_sys::js_sys::Reflect;

    use super::{KEPT, Kept, SAVED_EVENT};

    /// Registers the service worker at `url`, where the browser has them (a secure
    /// context: HTTPS or this machine).
    pub fn register_worker(url: &str) {
        let Some(window) = web_sys::window() else { return };
        let navigator = window.navigator();
        let has_workers = Reflect::get(&navigator, &"serviceWorker".into()).is_ok_and(|c| !c.is_undefined());
        if has_workers {
            // Awaited so that a refusal (a browser that blocks workers) is not an
            // unhandled rejection; the app works the same without one.
            let registered = wasm_bindgen_futures::JsFuture::from(navigator.service_worker().register(url));
            leptos::task::spawn_local(async move {
                let _ = registered.await;
            });
        }
    }

    /// Whether the browser says the network is gone.
    pub fn is_offline() -> bool {
        web_sys::window().is_some_and(|w| !w.navigator().on_line())
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    fn load() -> Vec<Kept> {
        let text = storage().and_then(|s| s.get_item(KEPT).ok().flatten()).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    }

    fn store(kept: &[Kept]) {
        if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(kept)) {
            let _ = storage.set_item(KEPT, &text);
        }
    }

    /// Keeps a submission for later, replacing one kept for the same `key`.
    pub fn keep(key: &str, url: &str, body: String) {
        let mut kept = load();
        kept.retain(|k| k.key != key);
        let user = crate::people::Me::current().user;
        kept.push(Kept { user, key: key.to_owned(), url: url.to_owned(), body });
        store(&kept);
    }

    /// Drops what is kept for `key`: a newer submission reached the server.
    pub fn forget(key: &str) {
        let mut kept = load();
        let before = kept.len();
        kept.retain(|k| k.key != key);
        if kept.len() != before {
            store(&kept);
        }
    }

    /// Sends every kept submission now and whenever the network comes back.
    pub fn send_kept_when_online() {
        leptos::task::spawn_local(send_kept());
        let Some(window) = web_sys::window() else { return };
        let on_online = Closure::<dyn Fn()>::new(|| leptos::task::spawn_local(send_kept()));
        let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        on_online.forget();
    }

    /// Sends the kept submissions in order. One the server refuses is dropped (it would
    /// be refused again), and one of another person; one that does not get through, or
    /// meets a logged-out session or a failing server, stays for the next time.
    async fn send_kept() {
        if is_offline() {
            return;
        }
        let me = crate::people::Me::current().user;
        if me.is_empty() {
            return;
        }
        for kept in load() {
            if kept.user != me {
                forget(&kept.key);
                continue;
            }
            let Some(response) = post_form(&kept.url, &kept.body).await else { return };
            // Logged out meanwhile, or the server in trouble: it waits for the next time.
            if response.status() == 401 || response.status() >= 500 {
                return;
            }
            forget(&kept.key);
            if response.ok() {
                let detail = web_sys::CustomEventInit::new();
                detail.set_detail(&kept.key.as_str().into());
                if let (Some(window), Ok(event)) =
                    (web_sys::window(), web_sys::CustomEvent::new_with_event_init_dict(SAVED_EVENT, &detail))
                {
                    let _ = window.dispatch_event(&event);
                }
            } else {
                leptos::logging::warn!("a change kept offline was refused: {}", response.status());
            }
        }
    }

    /// Posts a URL-encoded form, as a server function takes it; `None` when it did not
    /// get through. The browser's own `fetch`: an HTTP client here would weigh on the
    /// WASM every page loads first.
    async fn post_form(url: &str, body: &str) -> Option<web_sys::Response> {
        let headers = web_sys::js_sys::Object::new();
        Reflect::set(&headers, &"content-type".into(), &"application/x-www-form-urlencoded".into()).ok()?;
        Reflect::set(&headers, &"accept".into(), &"application/json".into()).ok()?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&body.into());
        init.set_headers(&headers);
        let pending = web_sys::window()?.fetch_with_str_and_init(url, &init);
        wasm_bindgen_futures::JsFuture::from(pending).await.ok()?.dyn_into().ok()
    }
}

#[cfg(feature = "hydrate")]
pub use browser::{forget, is_offline, keep, register_worker, send_kept_when_online};
