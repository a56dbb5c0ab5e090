//! `{base}/people` (admins): everyone who logs in, with their role; add a person, change
//! a role, reset a password, disable or delete an account (never the last admin).
//! `{base}/audit` (admins): who changed what, newest first.

use leptos::prelude::*;
use leptos_meta::Title;
use wages_store::{AuditEntry, Person, Role};

use crate::error::AppError;
use crate::form::{BasedActionForm, successes};
use crate::people::{AddPerson, AddSite, DeletePerson, DeleteSite, UpdatePerson, list_people, list_sites, read_audit};

/// What an action's last error says, if it failed.
fn failure<T: Clone + Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Copy,
) -> impl Fn() -> Option<String> + Copy {
    move || value.get().and_then(Result::err).map(|e| e.to_string())
}

#[component]
pub fn PeoplePage() -> impl IntoView {
    let add = ServerAction::<AddPerson>::new();
    let update = ServerAction::<UpdatePerson>::new();
    let delete = ServerAction::<DeletePerson>::new();
    let add_done = successes(add);
    let update_done = successes(update);
    let delete_done = successes(delete);
    let people = Resource::new(move || (add_done.get(), update_done.get(), delete_done.get()), |_| list_people());
    let add_error = failure(add.value());
    let (update_error, delete_error) = (failure(update.value()), failure(delete.value()));
    let change_error = move || update_error().or_else(delete_error);
    view! {
        <Title text="People" />
        <h1>"People"</h1>
        <section class="card" aria-labelledby="add-title">
            <h2 id="add-title">"Add a person"</h2>
            <BasedActionForm action=add class="stacked" testid="person-form">
                <label for="person-username">"User name"</label>
                <input id="person-username" name="username" autocomplete="off" required maxlength="50"
                    pattern="[A-Za-z0-9._\\-]+" placeholder="sam" />
                <label for="person-display">"Name shown"</label>
                <input id="person-display" name="display_name" autocomplete="off" maxlength="100" placeholder="Sam K." />
                <label for="person-role">"Role"</label>
                <select id="person-role" name="role">
                    <option value="viewer">"viewer: reads everything, changes nothing"</option>
                    <option value="barista" selected>"barista: brews, edits shots, beans and recipes"</option>
                    <option value="admin">"admin: also scales, firmware, tokens, people"</option>
                </select>
                <label for="person-password">"First password"</label>
                <input id="person-password" name="password" type="password" autocomplete="new-password" required minlength="8" />
                <p class="hint">"They choose their own at their first login."</p>
                <div class="actions">
                    <button type="submit" disabled=move || add.pending().get()>"Add person"</button>
                    {move || add_error().map(|m| view! { <span class="error" role="alert">{m}</span> })}
                </div>
            </BasedActionForm>
        </section>
        <section class="card" aria-labelledby="people-title">
            <h2 id="people-title">"Accounts"</h2>
            {move || change_error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Reading accounts…"</p> }>
                {move || Suspend::new(async move {
                    match people.await {
                        Ok(list) => view! { <PeopleList list update delete /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <SitesCard />
    }
}

/// The sites (shops): listed, added, deleted once no scale belongs to them.
#[component]
fn SitesCard() -> impl IntoView {
    let add = ServerAction::<AddSite>::new();
    let delete = ServerAction::<DeleteSite>::new();
    let (add_done, delete_done) = (successes(add), successes(delete));
    let sites = Resource::new(move || (add_done.get(), delete_done.get()), |_| list_sites());
    let (add_error, delete_error) = (failure(add.value()), failure(delete.value()));
    view! {
        <section class="card" aria-labelledby="sites-title">
            <h2 id="sites-title">"Sites"</h2>
            <p class="muted">"A cafe's shops. A scale belongs to one (on its page); a person limited to some sites sees only their scales, shots and rollout."</p>
            <Transition fallback=|| view! { <p class="muted">"Reading sites…"</p> }>
                {move || Suspend::new(async move {
                    let sites = sites.await.unwrap_or_default();
                    if sites.is_empty() {
                        return view! { <p class="empty">"No sites yet: every scale is in no site, and everyone sees every scale."</p> }.into_any();
                    }
                    view! {
                        <table class="compact" data-testid="sites">
                            <thead><tr><th>"Id"</th><th>"Name"</th><th>"Time zone"</th><th></th></tr></thead>
                            <tbody>
                                {sites.into_iter().map(|site| {
                                    let (id, row, shown) = (site.id.clone(), site.id.clone(), site.id);
                                    view! {
                                    <tr data-site=row>
                                        <td><code>{shown}</code></td>
                                        <td>{site.name}</td>
                                        <td>{site.time_zone}</td>
                                        <td>
                                            <BasedActionForm action=delete class="inline">
                                                <input type="hidden" name="id" value=id />
                                                <button type="submit" class="danger">"Delete"</button>
                                            </BasedActionForm>
                                        </td>
                                    </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                })}
            </Transition>
            {move || delete_error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <BasedActionForm action=add class="stacked" testid="site-form">
                <label for="site-id">"Id"</label>
                <input id="site-id" name="id" required maxlength="32" pattern="[a-z0-9\\-]+" placeholder="soho" />
                <label for="site-name">"Name"</label>
                <input id="site-name" name="name" required maxlength="100" placeholder="Soho, Old Compton St" />
                <label for="site-zone">"Time zone"</label>
                <input id="site-zone" name="time_zone" required maxlength="64" placeholder="Europe/London" />
                <div class="actions">
                    <button type="submit">"Add site"</button>
                    {move || add_error().map(|m| view! { <span class="error" role="alert">{m}</span> })}
                </div>
            </BasedActionForm>
        </section>
    }
}

#[component]
fn PeopleList(
    list: Vec<Person>,
    update: ServerAction<UpdatePerson>,
    delete: ServerAction<DeletePerson>,
) -> impl IntoView {
    view! {
        <table class="compact" data-testid="people">
            <thead><tr><th>"User"</th><th>"Role"</th><th>"Sites"</th><th>"State"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|p| {
                    let name = p.username.clone();
                    let state = if p.disabled { "disabled" } else if p.must_change_password { "must choose a password" } else { "active" };
                    let (n1, n2, n3, n4, n5) = (name.clone(), name.clone(), name.clone(), name.clone(), name.clone());
                    let sites = if p.sites.is_empty() { "every site".to_owned() } else { p.sites.join(", ") };
                    let sites_typed = p.sites.join(", ");
                    let current = p.role;
                    view! {
                        <tr data-person=name.clone()>
                            <td>
                                <strong>{p.display_name.clone()}</strong>
                                {(p.display_name != p.username).then(|| view! { <br /><code>{p.username.clone()}</code> })}
                            </td>
                            <td>{p.role.as_str()}</td>
                            <td>{sites}</td>
                            <td>{state}</td>
                            <td class="person-actions"><details><summary>"Change…"</summary>
                                <BasedActionForm action=update class="inline">
                                    <input type="hidden" name="username" value=n1 />
                                    <select name="role" aria-label="Role">
                                        {Role::ALL.into_iter().map(|r| view! {
                                            <option value=r.as_str() selected=r == current>{r.as_str()}</option>
                                        }).collect_view()}
                                    </select>
                                    <button type="submit">"Set role"</button>
                                </BasedActionForm>
                                <BasedActionForm action=update class="inline">
                                    <input type="hidden" name="username" value=n2 />
                                    <input name="password" type="password" autocomplete="new-password" minlength="8" required
                                        placeholder="new password" aria-label="New password" />
                                    <button type="submit">"Reset password"</button>
                                </BasedActionForm>
                                <BasedActionForm action=update class="inline">
                                    <input type="hidden" name="username" value=n5 />
                                    <input name="sites" value=sites_typed placeholder="site ids, or empty for every site"
                                        aria-label="Sites" maxlength="2000" />
                                    <button type="submit">"Set sites"</button>
                                </BasedActionForm>
                                <BasedActionForm action=update class="inline">
                                    <input type="hidden" name="username" value=n3 />
                                    <input type="hidden" name="disabled" value=(!p.disabled).to_string() />
                                    <button type="submit">{if p.disabled { "Enable" } else { "Disable" }}</button>
                                </BasedActionForm>
                                <BasedActionForm action=delete class="inline">
                                    <input type="hidden" name="username" value=n4 />
                                    <button type="submit" class="danger">"Delete"</button>
                                </BasedActionForm>
                            </details></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    // Pages back by the last entry shown: `(at, id)`.
    let before = RwSignal::new(None::<(i64, String)>);
    let entries = Resource::new(
        move || before.get(),
        |b| {
            let (at, id) = b.map_or((None, None), |(at, id)| (Some(at), Some(id)));
            read_audit(at, id)
        },
    );
    view! {
        <Title text="Audit" />
        <h1>"Audit"</h1>
        <p class="muted">"Changes to scales, firmware, people, tokens and the pipeline's settings; the newest 10,000 are kept."</p>
        <section class="card">
            <Transition fallback=|| view! { <p class="muted">"Reading the audit list…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(list) => view! { <AuditList list before /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AuditList(list: Vec<AuditEntry>, before: RwSignal<Option<(i64, String)>>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"Nothing recorded yet."</p> }.into_any();
    }
    let viewer = crate::clock::Viewer::current();
    let last = list.last().map(|e| (e.at, e.id.clone()));
    let full = list.len() >= 50;
    view! {
        <table class="compact" data-testid="audit">
            <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"To what"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|e| view! {
                    <tr>
                        <td>{viewer.time(u64::try_from(e.at).unwrap_or(0))}</td>
                        <td>{e.who}</td>
                        <td>{e.action}</td>
                        <td>{e.target}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {full.then(|| view! {
            <button type="button" on:click=move |_| before.set(last.clone())>"Older"</button>
        })}
    }
    .into_any()
}
