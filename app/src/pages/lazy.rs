//! The pages the browser loads only when it first goes to them: each is a
//! [`LazyRoute`] whose view (and all the code only it uses) `cargo leptos --split`
//! moves out of the first WASM into chunks of its own. The dashboard and the login page
//! are not here: they are where people arrive, and must be live with nothing more to load.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

/// A lazy route named like the page it shows, rendering that page's component.
macro_rules! lazy_pages {
    ($($page:ident),* $(,)?) => {$(
        pub struct $page;

        #[lazy_route]
        impl LazyRoute for $page {
            fn data() -> Self {
                $page
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                view! { <super::$page /> }.into_any()
            }
        }
    )*};
}

lazy_pages!(
    AuditPage,
    BeansPage,
    ComparePage,
    DevicePage,
    DevicesPage,
    FirmwarePage,
    MePage,
    PeoplePage,
    PipelinePage,
    SessionPage,
    ShotImportPage,
    ShotsPage,
    SimulatorPage,
    TokensPage,
);
