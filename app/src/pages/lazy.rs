//! The pages the browser loads only when it first goes to them, in groups: each
//! group is a [`LazyRoute`] whose view (and all the code only it uses) `cargo leptos
//! --split` moves out of the first WASM into a file of its own. The dashboard and the
//! login page are not here: they are where people arrive, and must be live with nothing
//! more to load.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

/// Pages grouped by the code they share, each group one lazy route showing its pages by
/// their names (`crate::page_name`).
///
/// A page's parts come in one request however many there are (server/src/bundle.rs), so
/// the groups are as small as sharing allows: a page loads the code of every page in its
/// group. A scale's page is on its own; pages that share nearly all their code go
/// together (a shot and shots side by side, the two ways to be a scale from a browser
/// tab, the admin pages). The split makes a chunk for every set of routes sharing some
/// code: 16 routes made 216 chunks, and the loader every page fetches grew with them,
/// for pages no smaller than these groups give.
macro_rules! lazy_groups {
    ($($group:ident { $($name:literal => $page:ident),* $(,)? })*) => {$(
        pub struct $group(&'static str);

        #[lazy_route]
        impl LazyRoute for $group {
            fn data() -> Self {
                #[cfg(feature = "hydrate")]
                browser::going_to();
                let path = leptos_router::hooks::use_url().get_untracked().path().to_owned();
                let base = expect_context::<crate::base::BasePath>();
                $group(crate::page_name(path.strip_prefix(base.as_str()).unwrap_or(&path)))
            }

            fn view(this: Self) -> AnyView {
                #[cfg(feature = "ssr")]
                server::preload_chunks();
                match this.0 {
                    $($name => view! { <super::$page /> }.into_any(),)*
                    _ => ().into_any(),
                }
            }
        }
    )*};
}

lazy_groups! {
    // A scale live: the graph and the live stream.
    ScalePage { "Scale" => DevicePage }
    // Shots kept: their graphs, one or side by side.
    ShotPages { "Shot" => SessionPage, "Compare" => ComparePage }
    // The history and what it is made of, each with a form of its own.
    ShotsPage { "Shots" => ShotsPage }
    ImportPage { "Import shots" => ShotImportPage }
    BeansPage { "Beans" => BeansPage }
    ScalesPage { "Scales" => DevicesPage }
    // The ways to be a scale from a browser tab.
    BridgePages { "Simulator" => SimulatorPage, "Bluetooth" => BluetoothPage }
    // Running the node and its people.
    AdminPages {
        "Audit" => AuditPage, "Firmware" => FirmwarePage, "Your account" => MePage,
        "People" => PeoplePage, "Pipeline" => PipelinePage, "Tokens" => TokensPage,
    }
}

/// Where the router is taking the person, so that a page whose code cannot be fetched
/// can be loaded whole instead (see [`browser::destination`]).
#[cfg(feature = "hydrate")]
pub mod browser {
    use std::cell::RefCell;

    use leptos::prelude::GetUntracked;

    thread_local! {
        static DESTINATION: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Notes the address the router is going to (its URL is set before the page's
    /// chunks are fetched; the address bar follows only once they are in).
    pub(super) fn going_to() {
        let url = leptos_router::hooks::use_url().get_untracked();
        let mut address = url.path().to_owned();
        if !url.search().is_empty() {
            address.push('?');
            address.push_str(url.search());
        }
        if !url.hash().is_empty() && !url.hash().starts_with('#') {
            address.push('#');
        }
        address.push_str(url.hash());
        DESTINATION.with_borrow_mut(|d| *d = Some(address));
    }

    /// The address of the lazy page last gone to: when its chunks cannot be fetched (a
    /// newer build replaced this one's files on the server, or the network is down),
    /// loading this address whole shows the page from the server instead of leaving
    /// a tab that no longer answers.
    pub fn destination() -> Option<String> {
        DESTINATION.with_borrow(Clone::clone)
    }
}

/// Names the page's chunks in the `<head>` as it is rendered, so the browser fetches them
/// beside the first WASM, all in one request. Leptos 0.8 does this itself once the whole page is rendered,
/// but looks the chunk list up outside the page's reactive owner, so pages rendered
/// whole before they are sent (a scale's page, a shot) lost their preloads about every
/// other time (docs/benchmarks.md, "Build and bundle"). Here the lookup is in the page's
/// owner; the page's names are then taken out of Leptos's list, so it adds no second copy.
#[cfg(feature = "ssr")]
mod server {
    use leptos::nonce::use_nonce;
    use leptos::prelude::*;
    use leptos::{PrefetchLazyFn, WasmSplitManifest};
    use leptos_meta::Link;

    pub(super) fn preload_chunks() {
        let Some(manifest) = use_context::<WasmSplitManifest>().and_then(|m| m.0.try_get_value()) else {
            return;
        };
        let Some(pages) = use_context::<PrefetchLazyFn>()
            .and_then(|p| p.0.try_update_value(|pages| pages.drain().collect::<Vec<_>>()))
        else {
            return;
        };
        let (pkg, chunks_of, loader) = manifest;
        let nonce = use_nonce().map(|n| n.to_string()).unwrap_or_default();
        let mut parts: Vec<&str> =
            pages.iter().flat_map(|page| chunks_of.get(*page).into_iter().flatten()).map(String::as_str).collect();
        if parts.is_empty() {
            return;
        }
        parts.sort_unstable();
        parts.dedup();
        // Rendering a leptos_meta tag registers it with the page's `<head>`. The server
        // answers the parts together, and the loader asks for them by this address
        // (server/src/bundle.rs).
        _ = view! {
            <Link
                rel="preload"
                href=format!("{pkg}/parts?want={}", parts.join(","))
                as_="fetch"
                crossorigin=nonce.clone()
            />
        }
        .to_html();
        _ = view! { <Link rel="modulepreload" href=format!("{pkg}/{loader}") crossorigin=nonce /> }.to_html();
    }
}
