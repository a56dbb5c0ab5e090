//! An `ActionForm` whose plain-HTML `action` carries the base path.
//!
//! Leptos's own `ActionForm` renders `action="/api/fn/…"` without the base path, so
//! before the WASM loads, a form under `/wages` would post outside it (and past any
//! reverse proxy that serves only `/wages`). This one renders `{base}/api/fn/…` and,
//! once hydrated, dispatches the action without a page load, like the original.

use leptos::form::FromFormData;
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
    children: Children,
) -> impl IntoView
where
    ServFn: DeserializeOwned + ServerFn<Protocol = Http<PostUrl, OutputProtocol>> + Clone + Send + Sync + 'static,
    <<ServFn::Client as Client<ServFn::Error>>::Request as ClientReq<ServFn::Error>>::FormData: From<FormData>,
    ServFn::Output: Send + Sync + 'static,
    ServFn::Error: Send + Sync + 'static,
    <ServFn as ServerFn>::Client: Client<<ServFn as ServerFn>::Error>,
{
    let url = expect_context::<BasePath>().join(ServFn::url());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        // Without a usable form, let the browser post it as plain HTML.
        if let Ok(input) = ServFn::from_event(&ev) {
            ev.prevent_default();
            action.dispatch(input);
        }
    };
    view! {
        <form action=url method="post" class=class data-testid=testid on:submit=on_submit>
            {children()}
        </form>
    }
}
