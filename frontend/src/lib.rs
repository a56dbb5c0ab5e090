//! The WASM entry point. cargo-leptos builds this crate to `pkg/wages.wasm`; the
//! server's `<HydrationScripts/>` loads it and calls [`hydrate`].

#![recursion_limit = "256"]

use app::App;
use app::base::BasePath;
use leptos::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

/// Takes over the server-rendered page: the same `App`, now interactive.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let base = BasePath::from_document();
    // Server functions are mounted under the base path too; the URL lives for the page's life.
    let _ = server_fn::client::try_set_server_url(Box::leak(base.as_str().to_owned().into_boxed_str()));
    hydrate_body(move || {
        provide_context(base.clone());
        view! { <App /> }
    });
}
