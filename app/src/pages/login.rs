//! `{base}/login`: the one page open to everyone. A plain HTML form posting to
//! `{base}/login`, so it works before (and without) the WASM; the server sets the
//! session cookie and sends the person on to where they were going.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let base = expect_context::<crate::base::BasePath>();
    let action = base.join("/login");
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_else(|| base.home());
    let failed = move || query.with(|q| q.get("failed").is_some());
    view! {
        <Title text="Log in" />
        <section class="card narrow login" aria-labelledby="login-title">
            <h1 id="login-title">"Log in"</h1>
            <form action=action method="post" class="stacked" data-testid="login-form">
                <input type="hidden" name="next" value=next />
                <label for="username">"User"</label>
                <input id="username" name="username" value="admin" autocomplete="username" required />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" autofocus required />
                {move || failed().then(|| view! {
                    <p class="field-error" role="alert" data-testid="login-failed">"Wrong user or password."</p>
                })}
                <div class="actions">
                    <button type="submit">"Log in"</button>
                </div>
            </form>
            <p class="hint">
                "The admin's password is "<code>"WAGES_ADMIN_PASSWORD"</code>
                ", or the one printed in the log at the first start."
            </p>
        </section>
    }
}
