//! One module per page.

mod beans;
mod bluetooth;
mod brew_forms;
mod device;
mod devices;
mod firmware;
mod home;
mod import;
pub mod lazy;
mod login;
mod machine;
mod me;
mod not_found;
mod people;
mod pipeline;
mod session;
mod shots;
mod simulator;
mod tokens;

pub use beans::BeansPage;
pub use bluetooth::BluetoothPage;
pub use device::DevicePage;
pub use devices::DevicesPage;
pub use firmware::FirmwarePage;
pub use home::HomePage;
#[cfg(feature = "hydrate")]
pub use home::load_checker_if_shown;
pub use import::ShotImportPage;
pub use login::LoginPage;
pub use me::MePage;
pub use not_found::NotFound;
pub use people::{AuditPage, PeoplePage};
pub use pipeline::PipelinePage;
pub use session::SessionPage;
pub use shots::{ComparePage, ShotsPage};
pub use simulator::SimulatorPage;
pub use tokens::TokensPage;

use leptos::prelude::*;

/// A figure with its label under it, as the figure grids of the pages show them.
fn tile(label: &'static str, testid: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="tile">
            <span class="tile-value" data-testid=testid>{value}</span>
            <span class="tile-label">{label}</span>
        </div>
    }
}

/// `?site=` of the page's address: a site's id, or empty for every site.
fn site_in_query() -> Memo<String> {
    let query = leptos_router::hooks::use_query_map();
    Memo::new(move |_| query.read().get("site").unwrap_or_default())
}

/// Chooses a site to show (`?site=`), as a plain GET form that works before the WASM
/// loads. Shown only where there are sites.
#[component]
fn SitePicker() -> impl IntoView {
    let chosen = site_in_query();
    let sites = Resource::new(|| (), |()| crate::people::list_sites());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let sites = sites.await.unwrap_or_default();
                (!sites.is_empty()).then(|| {
                    let now = chosen.get_untracked();
                    view! {
                        <form method="get" class="site-picker" data-testid="site-picker">
                            <label for="site">"Site"</label>
                            <select id="site" name="site">
                                <option value="" selected=now.is_empty()>"Every site"</option>
                                {sites.into_iter().map(|s| {
                                    let selected = s.id == now;
                                    view! { <option value=s.id.clone() selected=selected>{s.name}</option> }
                                }).collect_view()}
                            </select>
                            <button type="submit" class="secondary">"Show"</button>
                        </form>
                    }
                })
            })}
        </Transition>
    }
}
