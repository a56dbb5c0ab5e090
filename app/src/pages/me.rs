//! `{base}/me`: one's own account. The display name, a new password (first of all when
//! an admin set it), the browsers logged in (each can be logged out), and the shots one
//! shares by a link (each can be withdrawn).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::base::BasePath;
use crate::form::{BasedActionForm, successes};
use crate::people::{ChangeOwnPassword, EndOwnSession, MyAccount, SetOwnDisplayName, WithdrawShare, read_me};

#[component]
pub fn MePage() -> impl IntoView {
    let password = ServerAction::<ChangeOwnPassword>::new();
    let name = ServerAction::<SetOwnDisplayName>::new();
    let end = ServerAction::<EndOwnSession>::new();
    let withdraw = ServerAction::<WithdrawShare>::new();
    let password_done = successes(password);
    let name_done = successes(name);
    let end_done = successes(end);
    let withdraw_done = successes(withdraw);
    let account = Resource::new(
        move || (password_done.get(), name_done.get(), end_done.get(), withdraw_done.get()),
        |_| read_me(),
    );
    view! {
        <Title text="Your account" />
        <h1>"Your account"</h1>
        <Transition fallback=|| view! { <p class="muted">"Reading your account…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(me) => view! { <Account me password name end withdraw /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Account(
    me: MyAccount,
    password: ServerAction<ChangeOwnPassword>,
    name: ServerAction<SetOwnDisplayName>,
    end: ServerAction<EndOwnSession>,
    withdraw: ServerAction<WithdrawShare>,
) -> impl IntoView {
    let base = expect_context::<BasePath>();
    let viewer = crate::clock::Viewer::current();
    let time = move |ms: i64| viewer.time(u64::try_from(ms).unwrap_or(0));
    let password_value = password.value();
    let password_error = move |field: &str| password_value.get().and_then(Result::err).and_then(|e| e.for_field(field));
    let password_done = move || password_value.get().is_some_and(|r| r.is_ok());
    let name_error = move || name.value().get().and_then(Result::err).map(|e| e.to_string());
    let p = me.person;
    view! {
        {p.must_change_password.then(|| view! {
            <p class="notice" role="status" data-testid="must-change">
                "Choose your own password to go on: the one you were given was for your first login only."
            </p>
        })}
        <section class="card" aria-labelledby="who-title">
            <h2 id="who-title">{p.display_name.clone()}</h2>
            <p>"User name "<code>{p.username.clone()}</code>" · role "<strong data-testid="my-role">{p.role.as_str()}</strong></p>
            <BasedActionForm action=name class="stacked">
                <label for="me-display">"Name shown"</label>
                <input id="me-display" name="display_name" value=p.display_name.clone() maxlength="100" />
                <div class="actions">
                    <button type="submit">"Save name"</button>
                    {move || name_error().map(|m| view! { <span class="error" role="alert">{m}</span> })}
                </div>
            </BasedActionForm>
        </section>
        <section class="card" aria-labelledby="password-title">
            <h2 id="password-title">"Password"</h2>
            <BasedActionForm action=password class="stacked" testid="password-form">
                <label for="me-current">"Current password"</label>
                <input id="me-current" name="current_password" type="password" autocomplete="current-password" required />
                {move || password_error("current_password").map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                <label for="me-new">"New password"</label>
                <input id="me-new" name="password" type="password" autocomplete="new-password" required minlength="8" />
                {move || password_error("password").map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                <div class="actions">
                    <button type="submit">"Change password"</button>
                    {move || password_done().then(|| view! {
                        <span role="status" data-testid="password-changed">"Changed. Your other browsers are logged out."</span>
                    })}
                </div>
            </BasedActionForm>
        </section>
        <section class="card" aria-labelledby="sessions-title">
            <h2 id="sessions-title">"Where you are logged in"</h2>
            <table class="compact" data-testid="sessions">
                <thead><tr><th>"Since"</th><th>"Browser"</th><th></th></tr></thead>
                <tbody>
                    {me.sessions.into_iter().map(|s| view! {
                        <tr>
                            <td>{time(s.created_at)}</td>
                            <td>{s.user_agent}</td>
                            <td>
                                {if s.current {
                                    view! { <span class="badge online">"this browser"</span> }.into_any()
                                } else {
                                    view! {
                                        <BasedActionForm action=end class="inline">
                                            <input type="hidden" name="id" value=s.id />
                                            <button type="submit" class="danger">"Log out"</button>
                                        </BasedActionForm>
                                    }.into_any()
                                }}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="card" aria-labelledby="shares-title">
            <h2 id="shares-title">"Shots you share"</h2>
            {if me.shares.is_empty() {
                view! { <p class="empty">"None. A shot's page has a Share button."</p> }.into_any()
            } else {
                view! {
                    <table class="compact" data-testid="shares">
                        <thead><tr><th>"Shot"</th><th>"Since"</th><th>"Link"</th><th></th></tr></thead>
                        <tbody>
                            {me.shares.into_iter().map(|s| {
                                let link = base.join(&format!("/s/{}", s.code));
                                let shot = base.join(&format!("/devices/{}/sessions/{}", s.client_id, s.session_id));
                                view! {
                                    <tr>
                                        <td><a href=shot>{format!("{} · {}", s.client_id, s.session_id)}</a></td>
                                        <td>{time(s.created_at)}</td>
                                        <td><a href=link.clone() rel="external">{link.clone()}</a></td>
                                        <td>
                                            <BasedActionForm action=withdraw class="inline">
                                                <input type="hidden" name="code" value=s.code />
                                                <button type="submit" class="danger">"Withdraw"</button>
                                            </BasedActionForm>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
