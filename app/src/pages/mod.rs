//! One module per page.

mod beans;
mod brew_forms;
mod device;
mod devices;
mod firmware;
mod home;
mod import;
mod login;
mod me;
mod not_found;
mod people;
mod pipeline;
mod session;
mod shots;
mod simulator;
mod tokens;

pub use beans::BeansPage;
pub use device::DevicePage;
pub use devices::DevicesPage;
pub use firmware::FirmwarePage;
pub use home::HomePage;
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
