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
                #[cfg(feature = "hydrate")]
                browser::going_to();
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
