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
    // Hydration waits for the current page's own chunk when it is a lazy route (see
    // `app::pages::lazy`); only when it is done has the WASM taken over the whole page.
    wasm_bindgen_futures::spawn_local(async move {
        let owner = hydrate_from_async(document().body().expect("a page has a body"), move || {
            provide_context(base.clone());
            view! { <App /> }
        })
        .await;
        owner.forget();
        // Lets tests and people see that the WASM took over the server-rendered page.
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
