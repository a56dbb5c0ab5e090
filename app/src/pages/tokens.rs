//! `{base}/tokens`: API tokens for programs (dashboards, scripts, `wages simulate`).
//! Create one with a scope (read: GET only; write: everything), see its secret once,
//! revoke it at any time; a revoked token stops working with the next request.

use leptos::prelude::*;
use leptos_meta::Title;
use wages_store::{Scope, TokenInfo};

use crate::error::AppError;
use crate::form::{BasedActionForm, successes};
use crate::tokens::{CreateToken, RevokeToken, list_tokens};

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let create_done = successes(create);
    let revoke_done = successes(revoke);
    let tokens = Resource::new(move || (create_done.get(), revoke_done.get()), |_| list_tokens());
    view! {
        <Title text="API tokens" />
        <h1>"API tokens"</h1>
        <section class="card" aria-labelledby="create-title">
            <h2 id="create-title">"Create a token"</h2>
            <CreateForm create />
        </section>
        <section class="card" aria-labelledby="tokens-title">
            <h2 id="tokens-title">"Tokens"</h2>
            <Transition fallback=|| view! { <p class="muted">"Reading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) => view! { <TokenList list revoke /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CreateForm(create: ServerAction<CreateToken>) -> impl IntoView {
    let value = create.value();
    let field_error = move |field: &str| value.get().and_then(Result::err).and_then(|e| e.for_field(field));
    let other_error = move || {
        value.get().and_then(Result::err).and_then(|e| match e {
            AppError::Invalid { .. } => None,
            other => Some(other.to_string()),
        })
    };
    let created = move || value.get().and_then(Result::ok);
    view! {
        <BasedActionForm action=create class="stacked" testid="token-form">
            <label for="token-name">"Name"</label>
            <input id="token-name" name="name" autocomplete="off" placeholder="Grafana" required />
            <p class="hint">"What uses it, so you know what to revoke later."</p>
            {move || field_error("name").map(|e| view! { <p class="field-error" role="alert" data-field="name">{e}</p> })}
            <label for="token-scope">"Scope"</label>
            <select id="token-scope" name="scope">
                <option value="read">"read: look, never change"</option>
                <option value="write">"write: everything a logged-in person may do"</option>
            </select>
            <div class="actions">
                <button type="submit" disabled=move || create.pending().get()>"Create token"</button>
                {move || other_error().map(|m| view! { <span class="error" role="alert">{m}</span> })}
            </div>
        </BasedActionForm>
        {move || created().map(|t| view! {
            <div class="secret" role="status" data-testid="new-token">
                <p>"Token "<strong>{t.info.name}</strong>" ("{t.info.scope.as_str()}
                   "). Copy it now: it is not shown again."</p>
                <code class="secret-value" data-testid="token-secret">{t.secret}</code>
                <p class="hint">"Send it as "<code>"Authorization: Bearer …"</code>"."</p>
            </div>
        })}
    }
}

#[component]
fn TokenList(list: Vec<TokenInfo>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty" data-testid="no-tokens">"No tokens yet. Programs need one to use the API."</p> }
            .into_any();
    }
    view! {
        <table class="compact" data-testid="tokens">
            <thead>
                <tr><th>"Name"</th><th>"Scope"</th><th>"Id"</th><th>"Created by"</th><th></th></tr>
            </thead>
            <tbody>
                {list.into_iter().map(|t| {
                    let scope = match t.scope { Scope::Read => "badge offline", Scope::Write => "badge pending" };
                    let (id, row_id, shown_id) = (t.id.clone(), t.id.clone(), t.id);
                    view! {
                        <tr data-token-id=row_id>
                            <td>{t.name}</td>
                            <td><span class=scope>{t.scope.as_str()}</span></td>
                            <td><code>{shown_id}</code></td>
                            <td>{t.created_by}</td>
                            <td>
                                <BasedActionForm action=revoke class="inline">
                                    <input type="hidden" name="id" value=id />
                                    <button type="submit" class="danger">"Revoke"</button>
                                </BasedActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
