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
    std::panic::set_hook(Box::new(|panic| {
        console_error_panic_hook::hook(panic);
        reload_if_code_is_gone(panic);
    }));
    let base = BasePath::from_document();
    // Server functions are mounted under the base path too; the URL lives for the page's life.
    let _ = server_fn::client::try_set_server_url(Box::leak(base.as_str().to_owned().into_boxed_str()));
    // Hydration waits for the current page's own chunk when it is a lazy route (see
    // `app::pages::lazy`); only when it is done has the WASM taken over the whole page.
    wasm_bindgen_futures::spawn_local(async move {
        app::load_before_hydrating().await;
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

/// A lazy page whose code could not be fetched, after the page had hydrated: typically a
/// tab left open across an upgrade (the server now has a newer build's files) or a
/// network drop. The WASM stops at this panic, so the browser loads the page the
/// person was going to from the server instead. A chunk missing while the first page
/// hydrates changes nothing: that page, rendered by the server, still reads and its
/// links and forms still work, and loading it again would fail the same way.
fn reload_if_code_is_gone(panic: &std::panic::PanicHookInfo<'_>) {
    // The panic of Leptos's chunk loader (`wasm_split_helpers`) when a fetch failed.
    if !panic.to_string().contains("load callback should succeed") {
        return;
    }
    let hydrated = document().body().is_some_and(|body| body.has_attribute("data-hydrated"));
    if !hydrated {
        return;
    }
    let location = window().location();
    let _ = match app::lazy_page_destination() {
        Some(address) => location.assign(&address),
        None => location.reload(),
    };
}

/// Room for the split build to give each page its own strings and tables.
/// `cargo leptos build --split` lays the read-only data out again, file by file, and the
/// alignment between files makes it a few hundred bytes longer than the linker's layout;
/// with no room to grow it keeps all of the app's data in the first WASM file. Nothing
/// refers to this array, so the split leaves it out and its room is free; `#[used]` keeps
/// the linker from dropping it first.
#[used]
static SPLIT_DATA_ROOM: [u8; 4096] = [0; 4096];
