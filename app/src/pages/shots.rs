//! `{base}/shots`: every shot of every scale, newest first, filtered by scale, beans,
//! method, tag, rating, starred, dates and free text; paged by cursor ("Older shots").
//! The filters are a plain GET form, so the page works, and links, before the WASM loads.
//! On a phone the shots come first: above them a "Filters" button (to the form, after
//! the shots) and the filters in use as chips, each a link without it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wages_store::{Method, Shot};

use super::device::{format_duration, format_time};
use crate::brews::{ShotQuery, find_shots, ratio_text};

#[component]
pub fn ShotsPage() -> impl IntoView {
    let query = use_query_map();
    let shot_query = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        ShotQuery {
            scale: get("scale"),
            beans_id: get("beans_id"),
            method: get("method"),
            tag: get("tag"),
            min_rating: get("min_rating"),
            starred: q.get("starred").is_some_and(|s| !s.is_empty()),
            from: get("from"),
            to: get("to"),
            q: get("q"),
            site: get("site"),
            cursor: get("cursor"),
        }
    };
    let shots = Resource::new(shot_query, find_shots);
    let page = expect_context::<crate::base::BasePath>().join("/shots");
    let import = format!("{page}/import");
    view! {
        <Title text="Shots" />
        <h1>"Shots"</h1>
        {crate::people::may(wages_store::Role::Barista).then(|| view! {
            <p><a href=import data-testid="import-link">"Import a shot from Beanconqueror or Visualizer"</a></p>
        })}
        <Transition fallback=|| view! { <p class="muted">"Finding shots…"</p> }>
            {move || {
                let page = page.clone();
                Suspend::new(async move {
                    let typed = shot_query();
                    match shots.await {
                        Ok(found) => {
                            let chips = active_filters(&typed, &found.beans, &found.scales, &found.sites);
                            view! {
                                <div class="shots-layout">
                                    <FilterBar chips page=page.clone() />
                                    <Filters typed=typed.clone() beans=found.beans scales=found.scales sites=found.sites page=page.clone() />
                                    <ShotTable shots=found.page.shots />
                                    {found.page.next_cursor.map(|c| {
                                        let next = older_link(&page, &query.read_untracked(), &c);
                                        view! { <p class="older"><a href=next class="button secondary" data-testid="older-shots">"Older shots"</a></p> }
                                    })}
                                </div>
                            }.into_any()
                        }
                        Err(e) => view! {
                            <Filters typed beans=Vec::new() scales=Vec::new() sites=Vec::new() page=page.clone() />
                            <p class="error banner" role="alert" data-testid="shots-error">{e.to_string()}</p>
                        }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// The filters in use, each as a label and the query key it comes from.
fn active_filters(
    typed: &ShotQuery,
    beans: &[wages_store::Beans],
    scales: &[(String, String)],
    sites: &[wages_store::Site],
) -> Vec<(&'static str, String)> {
    fn named(id: &str, mut names: impl Iterator<Item = (String, String)>) -> String {
        names.find(|(i, _)| i == id).map_or_else(|| id.to_owned(), |(_, n)| n)
    }
    let mut chips = Vec::new();
    let mut add = |key: &'static str, on: bool, label: String| {
        if on {
            chips.push((key, label));
        }
    };
    add("q", !typed.q.is_empty(), format!("“{}”", typed.q));
    add("site", !typed.site.is_empty(), named(&typed.site, sites.iter().map(|s| (s.id.clone(), s.name.clone()))));
    add("scale", !typed.scale.is_empty(), named(&typed.scale, scales.iter().cloned()));
    add(
        "beans_id",
        !typed.beans_id.is_empty(),
        named(&typed.beans_id, beans.iter().map(|b| (b.id.to_string(), b.label()))),
    );
    let method = Method::ALL
        .into_iter()
        .find(|m| m.as_str() == typed.method)
        .map_or(typed.method.clone(), |m| m.label().to_owned());
    add("method", !typed.method.is_empty(), method);
    add("tag", !typed.tag.is_empty(), format!("#{}", typed.tag));
    add("min_rating", !typed.min_rating.is_empty(), format!("rated {}+", typed.min_rating));
    add("starred", typed.starred, "starred".into());
    add("from", !typed.from.is_empty(), format!("from {}", typed.from));
    add("to", !typed.to.is_empty(), format!("to {}", typed.to));
    chips
}

/// Above the shots on a phone: the way to the filters, and those in use as chips.
#[component]
fn FilterBar(chips: Vec<(&'static str, String)>, page: String) -> impl IntoView {
    let query = use_query_map();
    let count = chips.len();
    view! {
        <nav class="filter-bar" aria-label="Filters in use" data-testid="filter-bar">
            <a href="#filters-card" class="filters-button">
                {if count == 0 { "Filters".to_owned() } else { format!("Filters ({count})") }}
            </a>
            {chips.into_iter().map(|(key, label)| {
                let without = without_filter(&page, &query.read_untracked(), key);
                let remove = format!("Remove filter {label}");
                view! { <a href=without class="filter-chip" aria-label=remove>{label}" ×"</a> }
            }).collect_view()}
        </nav>
    }
}

/// This page's address without filter `key` (and back at the newest shots).
fn without_filter(page: &str, query: &leptos_router::params::ParamsMap, key: &str) -> String {
    let parts: Vec<String> = query
        .into_iter()
        .filter(|(k, v)| k.as_ref() != key && k.as_ref() != "cursor" && !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::clock::query_escape(v)))
        .collect();
    if parts.is_empty() { page.to_owned() } else { format!("{page}?{}", parts.join("&")) }
}

/// The same filters, from the next page's cursor on.
fn older_link(page: &str, query: &leptos_router::params::ParamsMap, cursor: &str) -> String {
    let mut parts: Vec<String> = query
        .into_iter()
        .filter(|(k, v)| k.as_ref() != "cursor" && !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::clock::query_escape(v)))
        .collect();
    parts.push(format!("cursor={}", crate::clock::query_escape(cursor)));
    format!("{page}?{}", parts.join("&"))
}

#[component]
fn Filters(
    typed: ShotQuery,
    beans: Vec<wages_store::Beans>,
    scales: Vec<(String, String)>,
    sites: Vec<wages_store::Site>,
    page: String,
) -> impl IntoView {
    let clear = page.clone();
    view! {
        <section class="card wide filters-card" id="filters-card" aria-labelledby="filters-title">
            <h2 id="filters-title" class="visually-hidden">"Filters"</h2>
            <form method="get" action=page class="filters" data-testid="shot-filters">
                <label>"Text"<input type="search" name="q" value=typed.q.clone() placeholder="notes, beans, tags" maxlength="100" /></label>
                {(!sites.is_empty()).then(|| view! {
                    <label>"Site"
                        <select name="site">
                            <option value="">"any"</option>
                            {sites.into_iter().map(|site| {
                                let selected = typed.site == site.id;
                                view! { <option value=site.id.clone() selected=selected>{site.name}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                })}
                <label>"Scale"
                    <select name="scale">
                        <option value="">"any"</option>
                        {scales.into_iter().map(|(id, name)| {
                            let selected = typed.scale == id;
                            view! { <option value=id.clone() selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Beans"
                    <select name="beans_id">
                        <option value="">"any"</option>
                        {beans.into_iter().map(|b| {
                            let id = b.id.to_string();
                            let selected = typed.beans_id == id;
                            view! { <option value=id selected=selected>{b.label()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Method"
                    <select name="method">
                        <option value="">"any"</option>
                        {Method::ALL.into_iter().map(|m| view! {
                            <option value=m.as_str() selected=typed.method == m.as_str()>{m.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Tag"<input name="tag" value=typed.tag.clone() maxlength="32" /></label>
                <label>"Rated at least"<input name="min_rating" type="number" min="0" max="100" inputmode="numeric" value=typed.min_rating.clone() /></label>
                <label>"From"<input name="from" type="date" value=typed.from.clone() /></label>
                <label>"To"<input name="to" type="date" value=typed.to.clone() /></label>
                <label class="check"><input type="checkbox" name="starred" value="1" checked=typed.starred />" Starred only"</label>
                <div class="actions">
                    <button type="submit">"Find"</button>
                    <a href=clear>"Clear"</a>
                </div>
            </form>
        </section>
    }
}

#[component]
fn ShotTable(shots: Vec<Shot>) -> impl IntoView {
    let base = expect_context::<crate::base::BasePath>();
    let viewer = crate::clock::Viewer::current();
    view! {
        <section class="card wide" aria-labelledby="shots-title">
            <h2 id="shots-title">"Newest first"</h2>
            {if shots.is_empty() {
                view! { <p class="empty" data-testid="no-shots">"No shot matches. Shots appear here as scales brew."</p> }.into_any()
            } else {
                view! {
                    <form method="get" action=base.join("/compare") data-testid="compare-form">
                    <div class="table-scroll">
                    <table class="compact" data-testid="shots">
                        <thead><tr>
                            <th><span class="visually-hidden">"Compare"</span></th>
                            <th>"Shot"</th><th>"Started"</th><th>"Beans"</th><th>"Method"</th>
                            <th class="num">{format!("In → out {}", viewer.unit())}</th><th class="num">"Ratio"</th><th class="num">"Time"</th>
                            <th class="num">"Rating"</th><th>"Tags"</th>
                        </tr></thead>
                        <tbody>
                            {shots.into_iter().map(|shot| {
                                let s = &shot.summary;
                                let (cid, sid) = (s.client_id.to_string(), s.session_id.to_string());
                                let href = base.join(&format!("/devices/{cid}/sessions/{sid}"));
                                let d = &shot.details;
                                let dose = d.dose.map_or_else(|| "–".into(), |v| viewer.weight_number(v));
                                view! {
                                    <tr data-shot=format!("{cid}/{sid}")>
                                        <td><input type="checkbox" name="shot" value=format!("{cid}/{sid}") aria-label=format!("Compare {sid}") /></td>
                                        <td>
                                            {d.starred.then(|| view! { <span class="star" title="starred">"★ "</span> })}
                                            <a href=href><code>{sid.clone()}</code></a>
                                            <br /><span class="muted">{cid.clone()}</span>
                                        </td>
                                        <td>{format_time(s.started_at)}</td>
                                        <td>{shot.beans.as_ref().map(wages_store::Beans::label).unwrap_or_default()}
                                            {shot.days_off_roast.map(|d| view! { <br /><span class="muted">{format!("{d} days off roast")}</span> })}
                                        </td>
                                        <td>{d.method.map(Method::label).unwrap_or_default()}</td>
                                        <td class="num">{format!("{dose} → {}", viewer.weight_number(shot.effective_yield))}</td>
                                        <td class="num">{ratio_text(shot.ratio)}</td>
                                        <td class="num">{format_duration(s.duration_ms)}</td>
                                        <td class="num" data-testid="rating">{d.rating.map(|r| r.to_string()).unwrap_or_default()}</td>
                                        <td>{d.tags.iter().map(|t| view! { <span class="chip">{t.clone()}</span>" " }).collect_view()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                    <p class="actions"><button type="submit" class="secondary">"Compare the ticked shots"</button>
                        <span class="muted">" two to four, on one graph"</span></p>
                    </form>
                }.into_any()
            }}
        </section>
    }
}

/// `{base}/compare?shot=client_id/session_id&shot=…`: the Shots page's "Compare" sends
/// the ticked shots here; the first shot's page shows them on one graph.
#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let base = expect_context::<crate::base::BasePath>();
    let shots = query.read_untracked().get_all("shot").unwrap_or_default();
    let back = base.join("/shots");
    match shots.split_first() {
        Some((first, rest)) if !rest.is_empty() && rest.len() <= crate::devices::MAX_COMPARED && first.contains('/') => {
            let (id, sid) = first.split_once('/').unwrap_or_default();
            let to = base.join(&format!("/devices/{}/sessions/{}?compare={}", crate::clock::query_escape(id), crate::clock::query_escape(sid), crate::clock::query_escape(&rest.join(","))));
            view! { <leptos_router::components::Redirect path=to /> }.into_any()
        }
        _ => view! {
            <Title text="Compare" />
            <h1>"Compare shots"</h1>
            <p class="error banner" role="alert" data-testid="compare-error">"Tick two to four shots to compare them."</p>
            <p><a href=back>"Back to the shots"</a></p>
        }
        .into_any(),
    }
}
