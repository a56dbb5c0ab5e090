use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Shown for any path no route matches, with a 404 status on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let home = expect_context::<crate::base::BasePath>().home();
    view! {
        <Title text="Not found" />
        <section class="card narrow">
            <h1>"Nothing here"</h1>
            <p>"This page does not exist. The overview lists what Wages can do."</p>
            <A href=home>"Go to the overview"</A>
        </section>
    }
}
