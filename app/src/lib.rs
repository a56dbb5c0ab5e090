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
pub mod offline;
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
                <HydrationScripts options root=root.clone() />
                // Opens a watched page's live stream as the page arrives (early_stream.js).
                <script nonce=use_nonce() inner_html=early_stream(&root) />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The script that opens a watched page's stream before its WASM runs, for the site at
/// `base`: early_stream.js without its comments.
fn early_stream(base: &str) -> String {
    let base = serde_json::Value::from(base).to_string();
    let code: Vec<&str> =
        include_str!("early_stream.js").lines().filter(|line| !line.trim_start().starts_with("//")).collect();
    code.join("\n").replacen("__BASE__", &base, 1)
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

/// The page's name (in a phone's compact header; the lazy routes show their pages by it),
/// from its path under the base path.
pub(crate) fn page_name(path: &str) -> &'static str {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [] => "Overview",
        ["devices"] => "Scales",
        ["devices", _] => "Scale",
        ["devices", _, "sessions", ..] => "Shot",
        ["shots"] => "Shots",
        ["shots", "import"] => "Import shots",
        ["beans"] => "Beans",
        ["compare"] => "Compare",
        ["pipeline"] => "Pipeline",
        ["firmware"] => "Firmware",
        ["bluetooth"] => "Bluetooth",
        ["simulator", ..] => "Simulator",
        ["tokens"] => "Tokens",
        ["people"] => "People",
        ["audit"] => "Audit",
        ["me"] => "Your account",
        _ => "",
    }
}

/// The top bar: the brand, the main navigation and "Log out"; on the login page, only
/// the brand. On a phone it is compact: the brand, the page's name and a menu holding
/// the whole navigation and the account, while the five most used places are a tab bar
/// at the bottom of the screen, in reach of a thumb.
#[component]
fn TopBar() -> impl IntoView {
    let base = expect_context::<BasePath>();
    // Router links are absolute paths: they carry the base path themselves.
    let home = base.home();
    let me = use_context::<people::Me>().unwrap_or_default();
    let admin = me.may(wages_store::Role::Admin);
    let my_name = StoredValue::new(me.user);
    let me_page = base.join("/me");
    let logout = base.join("/logout");
    let login = base.join("/login");
    let location = leptos_router::hooks::use_location();
    let logged_in = move || location.pathname.get() != login;
    let prefix = base.as_str().to_owned();
    let name = move || page_name(location.pathname.get().strip_prefix(prefix.as_str()).unwrap_or_default());
    // (label, path, on a phone's tab bar, admins only)
    let places: Vec<(&'static str, String, bool)> = [
        ("Overview", "/", true, false),
        ("Shots", "/shots", true, false),
        ("Beans", "/beans", true, false),
        ("Scales", "/devices", true, false),
        ("Bluetooth", "/bluetooth", true, false),
        ("Pipeline", "/pipeline", false, false),
        ("Firmware", "/firmware", false, false),
        ("Tokens", "/tokens", false, true),
        ("People", "/people", false, true),
        ("Audit", "/audit", false, true),
    ]
    .into_iter()
    .filter(|place| admin || !place.3)
    .map(|(label, path, tab, _)| (label, if path == "/" { home.clone() } else { base.join(path) }, tab))
    .collect();
    let places = StoredValue::new(places);
    let links = move |in_menu: bool| {
        places.with_value(|places| {
            places
                .iter()
                .map(|&(label, ref href, tab)| {
                    let label: &'static str = label;
                    let class: &'static str = if in_menu || tab { "" } else { "secondary" };
                    let exact = label == "Overview";
                    view! { <A href=href.clone() exact attr:class=class>{label}</A> }
                })
                .collect_view()
        })
    };
    view! {
        <header class="topbar">
            <A href=home.clone() attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◉"</span>
                <span class="brand-name">"Wages"</span>
            </A>
            <Show when=logged_in>
                <span class="page-name" data-testid="page-name">{name.clone()}</span>
                <nav aria-label="Main">{links(false)}</nav>
                <details class="menu" data-testid="menu">
                    <summary>"Menu"</summary>
                    <nav aria-label="Everything">
                        {links(true)}
                        <A href=me_page.clone() attr:class="menu-account" attr:data-testid="menu-me">{move || my_name.get_value()}</A>
                        <form action=logout.clone() method="post" class="menu-account">
                            <button type="submit" class="link">"Log out"</button>
                        </form>
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
    #[cfg(feature = "hydrate")]
    {
        let worker = base.join("/sw.js");
        Effect::new(move || {
            offline::register_worker(&worker);
            offline::send_kept_when_online();
        });
    }

    view! {
        <Title formatter=|page: String| if page.is_empty() { "Wages".to_owned() } else { format!("{page} · Wages") } />
        <Router base=base.as_str().to_owned()>
            <TopBar />
            <main>
                // In-order streaming: each page arrives whole, so it reads (and its forms work)
                // before the WASM loads; out-of-order streaming needs JS to fill in its parts.
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/devices") view={Lazy::<lazy::ScalesPage>::new()} ssr=SsrMode::InOrder />
                    // Async: the whole page waits for its data, so an unknown scale answers 404.
                    <Route path=path!("/devices/:client_id") view={Lazy::<lazy::ScalePage>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/devices/:client_id/sessions/:session_id") view={Lazy::<lazy::ShotPages>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/shots") view={Lazy::<lazy::ShotsPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/shots/import") view={Lazy::<lazy::ImportPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/beans") view={Lazy::<lazy::BeansPage>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/compare") view={Lazy::<lazy::ShotPages>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/pipeline") view={Lazy::<lazy::AdminPages>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/firmware") view={Lazy::<lazy::AdminPages>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/bluetooth") view={Lazy::<lazy::BridgePages>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/simulator/:client_id") view={Lazy::<lazy::BridgePages>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/tokens") view={Lazy::<lazy::AdminPages>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/people") view={Lazy::<lazy::AdminPages>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/audit") view={Lazy::<lazy::AdminPages>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("/me") view={Lazy::<lazy::AdminPages>::new()} ssr=SsrMode::InOrder />
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

#[cfg(test)]
mod tests {
    use super::{early_stream, page_name};

    #[test]
    fn the_early_stream_script_knows_the_base_path_and_leaves_its_comments_out() {
        let script = early_stream("/wages");
        assert!(script.starts_with("(() => {"), "{script}");
        assert!(script.contains(r#"const base = "/wages";"#));
        assert!(!script.contains("__BASE__"));
        assert!(script.lines().all(|line| !line.trim_start().starts_with("//")));
        assert!(early_stream("").contains(r#"const base = "";"#));
    }

    #[test]
    fn a_phone_header_names_each_page() {
        assert_eq!(page_name(""), "Overview");
        assert_eq!(page_name("/"), "Overview");
        assert_eq!(page_name("/shots"), "Shots");
        assert_eq!(page_name("/shots/import"), "Import shots");
        assert_eq!(page_name("/devices"), "Scales");
        assert_eq!(page_name("/devices/bar-1"), "Scale");
        assert_eq!(page_name("/devices/bar-1/sessions/s-9"), "Shot");
        assert_eq!(page_name("/simulator/bar-1"), "Simulator");
        assert_eq!(page_name("/nowhere/at/all"), "");
    }
}
