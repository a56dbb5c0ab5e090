//! An `ActionForm` whose plain-HTML `action` carries the base path.
//!
//! Leptos's own `ActionForm` renders `action="/api/fn/…"` without the base path, so
//! before the WASM loads, a form under `/wages` would post outside it (and past any
//! reverse proxy that serves only `/wages`). This one renders `{base}/api/fn/…` and,
//! once hydrated, dispatches the action without a page load, like the original. A form
//! for a server function the person's role does not allow is not shown at all. A form
//! given `keep_offline` keeps what is submitted while the browser is offline on this
//! device and sends it when the network is back (see [`crate::offline`]).

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::server_fn::codec::PostUrl;
use leptos::server_fn::{Http, client::Client, request::ClientReq};
use serde::de::DeserializeOwned;
use web_sys::FormData;

use crate::base::BasePath;

#[component]
pub fn BasedActionForm<ServFn, OutputProtocol>(
    /// The server action the form submits to.
    action: ServerAction<ServFn>,
    /// `class` of the `<form>`.
    #[prop(optional, into)]
    class: String,
    /// `data-testid` of the `<form>`, for tests.
    #[prop(optional, into)]
    testid: String,
    /// Keeps a submission made offline under this key, one per key, and sends it when the
    /// network is back.
    #[prop(optional, into)]
    keep_offline: Option<String>,
    children: Children,
) -> impl IntoView
where
    ServFn: DeserializeOwned + ServerFn<Protocol = Http<PostUrl, OutputProtocol>> + Clone + Send + Sync + 'static,
    <<ServFn::Client as Client<ServFn::Error>>::Request as ClientReq<ServFn::Error>>::FormData: From<FormData>,
    ServFn::Output: Send + Sync + 'static,
    ServFn::Error: Send + Sync + 'static,
    <ServFn as ServerFn>::Client: Client<<ServFn as ServerFn>::Error>,
{
    // A form for what the person may not do is not shown (the server refuses it anyway).
    let allowed = crate::rights::server_fn_rule(ServFn::url().trim_start_matches("/api/fn/"))
        .and_then(|rule| rule.need.role())
        .is_none_or(crate::people::may);
    if !allowed {
        return None;
    }
    let url = expect_context::<BasePath>().join(ServFn::url());
    let kept = keeping(action, keep_offline.clone());
    let post_to = url.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        // Without a usable form, let the browser post it as plain HTML.
        if let Some((input, body)) = submitted::<ServFn>(&ev) {
            ev.prevent_default();
            if let Some(key) = keep_offline.as_deref().filter(|_| is_offline()) {
                keep(key, &post_to, body);
                kept.set(Some("Offline: kept on this device, and saved when the network is back."));
            } else {
                kept.set(None);
                action.dispatch(input);
            }
        }
    };
    Some(view! {
        <form action=url method="post" class=class data-testid=testid on:submit=on_submit>
            {children()}
            {move || kept.get().map(|note| view! { <p class="notice span-all" role="status" data-testid="kept-offline">{note}</p> })}
        </form>
    })
}

/// What a form that keeps its submissions offline says of them; it follows the kept one
/// of `key` until it is saved, and drops it once a newer submission is saved.
fn keeping<ServFn>(action: ServerAction<ServFn>, key: Option<String>) -> RwSignal<Option<&'static str>>
where
    ServFn: ServerFn + Send + Sync + Clone + 'static,
    ServFn::Output: Send + Sync + 'static,
    ServFn::Error: Send + Sync + 'static,
{
    let note = RwSignal::new(None);
    let Some(key) = key else { return note };
    #[cfg(feature = "hydrate")]
    {
        let saved = key.clone();
        let on_saved = move |ev: web_sys::CustomEvent| {
            if ev.detail().as_string().as_deref() == Some(saved.as_str()) {
                note.set(Some("Saved: the change kept offline reached the server."));
            }
        };
        let handle = window_event_listener(leptos::ev::Custom::new(crate::offline::SAVED_EVENT), on_saved);
        on_cleanup(move || handle.remove());
    }
    Effect::new(move || {
        if action.value().with(|v| matches!(v, Some(Ok(_)))) {
            forget(&key);
        }
    });
    note
}

#[cfg(feature = "hydrate")]
use crate::offline::{forget, is_offline, keep};

#[cfg(not(feature = "hydrate"))]
fn is_offline() -> bool {
    false
}
#[cfg(not(feature = "hydrate"))]
fn keep(_: &str, _: &str, _: String) {}
#[cfg(not(feature = "hydrate"))]
fn forget(_: &str) {}

/// The submitted form's fields as the server function's arguments, or `None` when the
/// form cannot be read that way.
///
/// Our forms are flat (one value per name), so a plain `application/x-www-form-urlencoded`
/// reader does; Leptos's own (`FromFormData`, serde_qs with its tree of nested keys) puts
/// about 15 KB (brotli) more into the WASM of every page with a form.
#[cfg(feature = "hydrate")]
fn submitted<T: DeserializeOwned>(ev: &leptos::ev::SubmitEvent) -> Option<(T, String)> {
    let data = form_data_from_event(ev).ok()?;
    let fields = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok()?;
    let body = String::from(fields.to_string());
    Some((serde_urlencoded::from_str(&body).ok()?, body))
}

#[cfg(not(feature = "hydrate"))]
fn submitted<T>(_: &leptos::ev::SubmitEvent) -> Option<(T, String)> {
    None
}

/// How many times `action` has succeeded: what a page refetches its data on. A refused
/// submission changed nothing, and refetching after it would redraw the form under the
/// person's hands (a `<select>` back to its stored choice, losing what they picked).
pub fn successes<ServFn>(action: ServerAction<ServFn>) -> Signal<usize>
where
    ServFn: ServerFn + Send + Sync + Clone + 'static,
    ServFn::Output: Send + Sync + 'static,
    ServFn::Error: Send + Sync + 'static,
{
    let count = RwSignal::new(0);
    Effect::new(move || {
        if action.value().with(|v| matches!(v, Some(Ok(_)))) {
            count.update(|n| *n += 1);
        }
    });
    count.into()
}
