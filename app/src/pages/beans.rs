//! `{base}/beans`: the beans library. Add beans, edit them (`?edit={id}` fills the form),
//! archive them (they stay on their shots but leave the pickers); `?archived=1` lists
//! archived beans too.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wages_store::Beans;

use crate::brews::{SaveBeans, list_beans};
use crate::error::AppError;
use crate::form::{BasedActionForm, successes};

#[component]
pub fn BeansPage() -> impl IntoView {
    let save = ServerAction::<SaveBeans>::new();
    let query = use_query_map();
    let archived = move || query.read().get("archived").is_some_and(|a| a == "1");
    let editing = move || query.read().get("edit").and_then(|e| e.parse::<i64>().ok());
    let save_done = successes(save);
    let beans = Resource::new(move || (archived(), save_done.get()), |(archived, _)| list_beans(archived));
    let base = expect_context::<crate::base::BasePath>();
    let page = base.join("/beans");
    view! {
        <Title text="Beans" />
        <h1>"Beans"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading the beans…"</p> }>
            {move || {
                let page = page.clone();
                Suspend::new(async move {
                    match beans.await {
                        Ok(list) => {
                            let edited = editing().and_then(|id| list.iter().find(|b| b.id == id).cloned());
                            view! {
                                <div class="grid">
                                    <BeansForm save beans=edited />
                                    <section class="card" aria-labelledby="library-help">
                                        <h2 id="library-help">"The library"</h2>
                                        <p class="muted">"Beans are kept once and picked on a scale's recipe or a shot. \
                                            Each shot shows its days off roast. Archive a bag when it is finished: its shots keep it."</p>
                                        <p>
                                            {if archived() {
                                                view! { <a href=page.clone()>"Hide archived beans"</a> }.into_any()
                                            } else {
                                                view! { <a href=format!("{page}?archived=1") data-testid="show-archived">"Show archived beans too"</a> }.into_any()
                                            }}
                                        </p>
                                    </section>
                                </div>
                                <BeansTable beans=list page=page.clone() />
                            }
                            .into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn BeansForm(save: ServerAction<SaveBeans>, beans: Option<Beans>) -> impl IntoView {
    let value = save.value();
    let field_error = move |field: &'static str| {
        move || {
            value.get().and_then(Result::err).and_then(|e| e.for_field(field)).map(|e| {
                view! { <p class="field-error" role="alert" data-field=field>{e}</p> }
            })
        }
    };
    let saved = move || value.get().and_then(Result::ok).map(|b| format!("Saved {}.", b.label()));
    let other_error = move || {
        value.get().and_then(Result::err).and_then(|e| match e {
            AppError::Invalid { .. } => None,
            other => Some(other.to_string()),
        })
    };
    let b = beans.clone();
    let get = move |f: fn(&Beans) -> Option<String>| b.as_ref().and_then(f).unwrap_or_default();
    let title = if beans.is_some() { "Edit beans" } else { "Add beans" };
    let level = get(|b| b.roast_level.clone());
    view! {
        <section class="card" aria-labelledby="beans-form-title">
            <h2 id="beans-form-title">{title}</h2>
            <BasedActionForm action=save class="stacked" testid="beans-form">
                <input type="hidden" name="id" value=get(|b| Some(b.id.to_string())) />
                <label for="roaster">"Roaster"</label>
                <input id="roaster" name="roaster" required maxlength="100" value=get(|b| Some(b.roaster.clone())) />
                {field_error("roaster")}
                <label for="beans-name">"Name"</label>
                <input id="beans-name" name="name" required maxlength="100" value=get(|b| Some(b.name.clone())) />
                {field_error("name")}
                <label for="origin">"Origin"</label>
                <input id="origin" name="origin" maxlength="100" placeholder="Huila, Colombia" value=get(|b| b.origin.clone()) />
                {field_error("origin")}
                <label for="process">"Process"</label>
                <input id="process" name="process" maxlength="40" placeholder="washed" value=get(|b| b.process.clone()) />
                {field_error("process")}
                <label for="roast_level">"Roast level"</label>
                <select id="roast_level" name="roast_level">
                    <option value="" selected=level.is_empty()>"–"</option>
                    {wages_store::brew::ROAST_LEVELS.iter().map(|l| view! {
                        <option value=*l selected=level == *l>{*l}</option>
                    }).collect_view()}
                </select>
                {field_error("roast_level")}
                <label for="roast_date">"Roast date"</label>
                <input id="roast_date" name="roast_date" type="date" value=get(|b| b.roast_date.clone()) />
                {field_error("roast_date")}
                <label for="beans-notes">"Notes"</label>
                <textarea id="beans-notes" name="notes" maxlength="2000" rows="3">{get(|b| b.notes.clone())}</textarea>
                {field_error("notes")}
                <label class="check">
                    <input type="checkbox" name="archived" value="on" checked=beans.as_ref().is_some_and(|b| b.archived) />
                    " Archived"
                </label>
                <div class="actions">
                    <button type="submit" disabled=move || save.pending().get()>"Save"</button>
                    {move || saved().map(|m| view! { <span class="ok" role="status">{m}</span> })}
                    {move || other_error().map(|m| view! { <span class="error" role="alert">{m}</span> })}
                </div>
            </BasedActionForm>
        </section>
    }
}

#[component]
fn BeansTable(beans: Vec<Beans>, page: String) -> impl IntoView {
    let today = crate::brews::today();
    view! {
        <section class="card wide" aria-labelledby="beans-title">
            <h2 id="beans-title">"In the library"</h2>
            {if beans.is_empty() {
                view! { <p class="empty" data-testid="no-beans">"No beans yet. Add the bag on the bar above."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                    <table class="compact" data-testid="beans">
                        <thead><tr>
                            <th>"Roaster"</th><th>"Name"</th><th>"Origin"</th><th>"Process"</th><th>"Roast"</th>
                            <th>"Roasted"</th><th></th>
                        </tr></thead>
                        <tbody>
                            {beans.into_iter().map(|b| {
                                let off = b.roast_date.as_deref().and_then(wages_store::brew::days_from_date).map(|d| today - d);
                                view! {
                                    <tr data-beans-id=b.id.to_string() class:archived=b.archived>
                                        <td>{b.roaster.clone()}</td>
                                        <td>{b.name.clone()}{b.archived.then(|| view! { " " <span class="badge">"archived"</span> })}</td>
                                        <td>{b.origin.clone().unwrap_or_default()}</td>
                                        <td>{b.process.clone().unwrap_or_default()}</td>
                                        <td>{b.roast_level.clone().unwrap_or_default()}</td>
                                        <td>{b.roast_date.clone().map(|d| format!("{d} ({} days ago)", off.unwrap_or(0))).unwrap_or_default()}</td>
                                        <td><a href=format!("{page}?edit={}", b.id) data-testid="edit-beans">"Edit"</a></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}
