//! The Wages web app: every page and component, rendered on the server (feature `ssr`)
//! and hydrated in the browser (feature `hydrate`).
//!
//! # Layout
//!
//! - [`shell`] and [`App`]: the HTML document, the router and the navigation.
//! - [`base`]: the URL path prefix (`WAGES_BASE_PATH`) every link, asset and call follows.
//! - [`status`]: the server's facts (version, uptime, modes) through a server function.
//! - [`devices`]: server functions over the device registry.
//! - [`brews`]: server functions for beans, scales' recipes, shots and finding them.
//! - [`clock`]: times in the viewer's time zone and weights in grams or ounces.
//! - [`checker`]: checks a pasted MQTT payload with the shared codec, in the browser or on the server.
//! - [`error`]: the one error type server functions return.
//! - [`json`]: the JSON codec server functions answer with.
//! - [`form`]: an action form that follows the base path before the WASM loads.
//! - `graph` (browser only): extraction graphs drawn with plotters on a canvas.
//! - `live_socket` (browser only): follows the server's live WebSockets, reconnecting.
//! - [`firmware`]: the firmware rollout, scale by scale, and publishing an offer.
//! - [`pipeline`]: the ingest pipeline's figures and settings, and their server functions.
//! - [`tokens`]: API tokens, listed, created and revoked by people who logged in.
//! - `pages`: one module per page.

#![recursion_limit = "256"]

pub mod base;
pub mod brews;
pub mod checker;
pub mod clock;
pub mod devices;
pub mod error;
pub mod firmware;
pub mod form;
#[cfg(feature = "hydrate")]
pub mod graph;
pub mod json;
#[cfg(feature = "hydrate")]
mod live_socket;
mod pages;
pub mod people;
pub mod pipeline;
pub mod rights;
#[cfg(feature = "hydrate")]
pub mod scale_link;
pub mod status;
pub mod tokens;
#[cfg(feature = "hydrate")]
pub mod waiting;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};

use crate::base::BasePath;
use crate::pages::{HomePage, LoginPage, NotFound, lazy};

#[cfg(feature = "hydrate")]
pub use crate::pages::lazy::browser::destination as lazy_page_destination;

/// Fetches the code the server-rendered page needs to hydrate that its route does not
/// name: the payload checker's, when the dashboard shows a verdict.
#[cfg(feature = "hydrate")]
pub async fn load_before_hydrating() {
    pages::load_checker_if_shown().await;
}

/// The HTML document around the app. The server renders it for every page request.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let base = expect_context::<BasePath>();
    let root = base.as_str().to_owned();
    let me = people::Me::current();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name=base::META_NAME content=base.as_str().to_owned() />
                <meta name=people::META_USER content=me.user.clone() />
                <meta name=people::META_ROLE content=me.role.map_or("", |r| r.as_str()) />
                <meta name=clock::META_UNITS content=if clock::Viewer::current().ounces { "oz" } else { "g" } />
                <meta name="theme-color" content="#2b2118" />
                <link rel="manifest" href=format!("{root}/manifest.webmanifest") />
                <link rel="icon" href=format!("{root}/icon.svg") type="image/svg+xml" />
                <link rel="apple-touch-icon" href=format!("{root}/icon-192.png") />
                <HashedStylesheet options=options.clone() id="leptos" root=root.clone() />
                <AutoReload options=options.clone() />
                <HydrationScripts options root />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The weight unit, switched from the footer: a plain link, so it works before the WASM
/// loads; the server remembers it in a cookie and sends the person back.
#[component]
fn Units() -> impl IntoView {
    let base = expect_context::<BasePath>();
    let prefs = base.join("/prefs");
    let location = leptos_router::hooks::use_location();
    let ounces = clock::Viewer::current().ounces;
    let link = move |units: &'static str| {
        let back = location.pathname.get();
        format!("{prefs}?units={units}&back={}", clock::query_escape(&back))
    };
    view! {
        <span data-testid="units">
            "Weights in "
            {if ounces {
                view! { <a href=move || link("g") rel="external" data-testid="units-g">"grams"</a>" · ounces" }.into_any()
            } else {
                view! { "grams · "<a href=move || link("oz") rel="external" data-testid="units-oz">"ounces"</a> }.into_any()
            }}
        </span>
    }
}

/// The top bar: the brand, the main navigation and "Log out"; on the login page, only
/// the brand.
#[component]
fn TopBar() -> impl IntoView {
    let base = expect_context::<BasePath>();
    // Router links are absolute paths: they carry the base path themselves.
    let home = base.home();
    let devices = base.join("/devices");
    let shots = base.join("/shots");
    let beans = base.join("/beans");
    let pipeline = base.join("/pipeline");
    let firmware = base.join("/firmware");
    let tokens = base.join("/tokens");
    let people = base.join("/people");
    let audit = base.join("/audit");
    let me_page = base.join("/me");
    let me = use_context::<people::Me>().unwrap_or_default();
    let admin = me.may(wages_store::Role::Admin);
    let my_name = StoredValue::new(me.user);
    let logout = base.join("/logout");
    let login = base.join("/login");
    let location = leptos_router::hooks::use_location();
    let logged_in = move || location.pathname.get() != login;
    view! {
        <header class="topbar">
            <A href=home.clone() attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◉"</span>
                "Wages"
            </A>
            <Show when=logged_in>
                // On a phone the first four are a tab bar at the bottom, in reach of a
                // thumb, and the rest fold into the menu beside the brand.
                <nav aria-label="Main">
                    <A href=home.clone() exact=true>"Overview"</A>
                    <A href=shots.clone()>"Shots"</A>
                    <A href=beans.clone()>"Beans"</A>
                    <A href=devices.clone()>"Scales"</A>
                    <A href=pipeline.clone() attr:class="secondary">"Pipeline"</A>
                    <A href=firmware.clone() attr:class="secondary">"Firmware"</A>
                    {admin.then(|| view! {
                        <A href=tokens.clone() attr:class="secondary">"Tokens"</A>
                        <A href=people.clone() attr:class="secondary">"People"</A>
                        <A href=audit.clone() attr:class="secondary">"Audit"</A>
                    })}
                </nav>
                <details class="menu" data-testid="menu">
                    <summary>"Menu"</summary>
                    <nav aria-label="More">
                        <A href=pipeline.clone()>"Pipeline"</A>
                        <A href=firmware.clone()>"Firmware"</A>
                        {admin.then(|| view! {
                            <A href=tokens.clone()>"Tokens"</A>
                            <A href=people.clone()>"People"</A>
                            <A href=audit.clone()>"Audit"</A>
                        })}
                    </nav>
                </details>
                <A href=me_page.clone() attr:class="me" attr:data-testid="me-link">{move || my_name.get_value()}</A>
                <form action=logout.clone() method="post" class="logout">
                    <button type="submit" class="link">"Log out"</button>
                </form>
            </Show>
        </header>
    }
}

/// The app: navigation and routes, under the configured base path.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let base = expect_context::<BasePath>();
    provide_context(people::Me::current());

    #[cfg(feature = "hydrate")]
    let zone_path = base.as_str().to_owned();
    #[cfg(feature = "hydrate")]
    Effect::new(move || clock::browser::tell_time_zone(&zone_path));

    view! {
        <Title formatter=|page: String| if page.is_empty() { "Wages".to_owned() } else { format!("{page} · Wages") } />
        <Router base=base.as_str().to_owned()>
            <TopBar />
            <main>
                // In-order streaming: each page arrives whole, so it reads (and its forms work)
                // before the WASM loads; out-of-order streaming needs JS to fill in its parts.
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/devices") view={Lazy::<lazy::DevicesPage>::new()} ssr=SsrMode::InOrder />
                    // Async: the whole page waits for its data, so an unknown scale answers 404.
                    <Route path=path!("/devices/:client_id") view={Lazy::<lazy::DevicePage>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/devices/:client_id/sessions/:session_id") view={Lazy::<lazy::SessionPage>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/shots") view={Lazy::<lazy::ShotsPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/shots/import") view={Lazy::<lazy::ShotImportPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/beans") view={Lazy::<lazy::BeansPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/compare") view={Lazy::<lazy::ComparePage>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/pipeline") view={Lazy::<lazy::PipelinePage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/firmware") view={Lazy::<lazy::FirmwarePage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/bluetooth") view={Lazy::<lazy::BluetoothPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/simulator/:client_id") view={Lazy::<lazy::SimulatorPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/tokens") view={Lazy::<lazy::TokensPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/people") view={Lazy::<lazy::PeoplePage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/audit") view={Lazy::<lazy::AuditPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/me") view={Lazy::<lazy::MePage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::InOrder />
                </Routes>
            </main>
            <footer class="footer">
                "Wages " {env!("CARGO_PKG_VERSION")} " · connected coffee scales · "
                <Units />
            </footer>
        </Router>
    }
}
