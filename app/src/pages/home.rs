//! `{base}/`: every scale at a glance (brewing ones first, following the fleet's live
//! stream), then the server's status, how a scale talks to it, and a payload checker
//! running the shared codec.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::checker::{EXAMPLE, PayloadReport, check_payload};
use crate::devices::{Fleet, ScaleCard, read_fleet};
use crate::status::{format_uptime, server_status};

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Every extraction, weighed live"</h1>
            <p>
                "Wages registers connected coffee scales, ingests their readings over MQTT, "
                "and keeps the weight curve of every brew."
            </p>
        </section>
        <FleetSection />
        <div class="grid">
            <StatusCard />
            <ProtocolCard />
        </div>
        <PayloadChecker />
    }
}

/// Every scale as a card; once hydrated, the cards follow `{base}/api/live`.
#[component]
fn FleetSection() -> impl IntoView {
    let site = super::site_in_query();
    let fleet = Resource::new(move || site.get(), read_fleet);
    view! {
        <section class="fleet" aria-labelledby="fleet-title">
            <Suspense fallback=|| view! { <p class="muted">"Finding your scales…"</p> }>
                {move || Suspend::new(async move {
                    match fleet.await {
                        Ok(fleet) => view! { <FleetBoard fleet site=site.get_untracked() /> }.into_any(),
                        Err(e) => view! {
                            <h2 id="fleet-title">"Scales"</h2>
                            <p class="error" role="alert">{e.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn FleetBoard(fleet: Fleet, site: String) -> impl IntoView {
    let base = expect_context::<crate::base::BasePath>();
    let scales_href = base.join("/devices");
    let Fleet { now, scales } = fleet;
    let now = RwSignal::new(now);
    let cards = RwSignal::new(scales);
    #[cfg(feature = "hydrate")]
    live::follow(cards, now, site);
    #[cfg(not(feature = "hydrate"))]
    let _ = site;
    let brewing = move || cards.with(|c| c.iter().filter(|c| c.latest.as_ref().is_some_and(|l| l.live)).count());
    let count = move || cards.with(Vec::len);
    view! {
        <header class="fleet-head">
            <h2 id="fleet-title">"Scales"</h2>
            <super::SitePicker />
            <p class="muted" data-testid="fleet-count" data-scales=count data-brewing=brewing>
                {move || match (count(), brewing()) {
                    (1, _) => format!("1 scale, {} brewing", brewing()),
                    (n, b) => format!("{n} scales, {b} brewing"),
                }}
            </p>
        </header>
        <Show
            when=move || { count() > 0 }
            fallback=move || view! {
                <p class="empty" data-testid="fleet-empty">
                    "No scales yet. "
                    <a href=scales_href.clone()>"Register one"</a>
                    ", or start Wages with WAGES_AUTO_REGISTER=true and let a scale publish its first reading."
                </p>
            }
        >
            <ul class="scale-cards" data-testid="scale-cards">
                {move || cards.get().into_iter().map(|card| view! { <ScaleTile card now /> }).collect_view()}
            </ul>
        </Show>
    }
}

/// One scale: name, presence, firmware, and its newest reading or brew in progress.
#[component]
fn ScaleTile(card: ScaleCard, now: RwSignal<u64>) -> impl IntoView {
    let ScaleCard { device, latest } = card;
    let id = device.client_id.to_string();
    let id_attr = id.clone();
    let href = expect_context::<crate::base::BasePath>().join(&format!("/devices/{id}"));
    let live = latest.as_ref().is_some_and(|l| l.live);
    let firmware = device.firmware_version.clone().unwrap_or_else(|| "unknown".into());
    let reading = match latest {
        Some(l) => {
            let grams = format!("{:.1}", l.grams);
            let when = move || {
                if l.live {
                    let elapsed = super::device::format_duration(l.at.saturating_sub(l.started_at));
                    format!("{elapsed} into {}", l.session_id)
                } else {
                    format!("{} · {}", l.session_id, ago(now.get(), l.at))
                }
            };
            view! {
                <p class="scale-weight"><span data-testid="card-weight">{grams}</span><span class="unit">" g"</span></p>
                <p class="muted scale-when" data-testid="card-when">{when}</p>
            }
            .into_any()
        }
        None => view! { <p class="muted scale-when" data-testid="card-when">"No readings yet"</p> }.into_any(),
    };
    view! {
        <li class="scale-card" class:brewing=live data-client-id=id_attr data-live=live.to_string()>
            <div class="scale-top">
                <a class="scale-name" href=href>{device.name}</a>
                {live.then(|| view! { <span class="pill brewing">"Brewing"</span> })}
            </div>
            <p class="scale-id"><code>{id}</code></p>
            <p class="muted scale-meta">
                <span class="badge" class:online=device.online class:offline=!device.online>
                    {if device.online { "online" } else { "offline" }}
                </span>
                " firmware "
                {firmware}
            </p>
            {reading}
        </li>
    }
}

/// `just now`, `42 s ago`, `5 min ago`, `3 h ago`, or the date.
fn ago(now: u64, at: u64) -> String {
    let s = now.saturating_sub(at) / 1000;
    match s {
        0..5 => "just now".into(),
        5..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h ago", s / 3600),
        _ => super::device::format_time(at)[..10].to_owned(),
    }
}

/// The browser side: the fleet's live stream and the clock that ends brews.
#[cfg(feature = "hydrate")]
mod live {
    use std::cell::{Cell, RefCell};
    use std::collections::{HashMap, HashSet};
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;

    use crate::devices::{FleetFrame, Latest, ScaleCard, dashboard_order};

    /// A scale counts as brewing while its readings keep coming within this long.
    use wages_sessions::LIVE_FOR_MS;

    fn clock() -> u64 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ms = web_sys::js_sys::Date::now() as u64;
        ms
    }

    /// Applies the fleet's readings to `cards` (redrawn at most once per animation frame)
    /// and, every second, moves `now` on and ends brews that went quiet. Quiet is judged
    /// by this browser's clock, so a scale's own clock does not matter.
    pub fn follow(cards: RwSignal<Vec<ScaleCard>>, now: RwSignal<u64>, site: String) {
        // With a site chosen, scales of other sites do not join the board.
        let belongs =
            move |device: &wages_store::Device| site.is_empty() || device.site.as_deref() == Some(site.as_str());
        Effect::new(move || {
            let belongs = belongs.clone();
            let opened = clock();
            let heard = Rc::new(RefCell::new(HashMap::<String, u64>::new()));
            let scheduled = Rc::new(Cell::new(false));
            {
                let heard = heard.clone();
                let path = expect_context::<crate::base::BasePath>().join("/api/live");
                let fetching = Rc::new(RefCell::new(HashSet::<String>::new()));
                // Caught up when the stream opens: presence that changed after the render.
                let catch_up = move || {
                    leptos::task::spawn_local(async move {
                        let Ok(fleet) = crate::devices::read_fleet(String::new()).await else { return };
                        cards.try_update(|cards| {
                            // Only where no newer frame came meanwhile.
                            for fresh in fleet.scales {
                                if let Some(card) = cards.iter_mut().find(|c| {
                                    c.device.client_id == fresh.device.client_id
                                        && c.device.last_seen_at <= fresh.device.last_seen_at
                                }) {
                                    card.device = fresh.device;
                                }
                            }
                        });
                    });
                };
                crate::live_socket::follow_and_catch_up(&path, catch_up, move |frame: FleetFrame| {
                    let reading = match frame {
                        FleetFrame::Reading(reading) => reading,
                        FleetFrame::Device { device } => {
                            // Presence: online or not, firmware; a scale new to the page joins it.
                            cards.try_update(|cards| {
                                match cards.iter_mut().find(|c| c.device.client_id == device.client_id) {
                                    Some(card) => card.device = device,
                                    None if belongs(&device) => cards.push(ScaleCard { device, latest: None }),
                                    None => {}
                                }
                                dashboard_order(cards);
                            });
                            return;
                        }
                    };
                    let id = reading.client_id.to_string();
                    heard.borrow_mut().insert(id.clone(), clock());
                    let same_session = cards.try_update_untracked(|cards| {
                        let card = cards.iter_mut().find(|c| c.device.client_id == reading.client_id)?;
                        let same = card.latest.as_ref().is_some_and(|l| l.session_id == reading.session_id.as_str());
                        Latest::follow(&mut card.latest, &reading);
                        Some(same)
                    });
                    // A session that started unseen, or a scale new to the page: ask for its card.
                    if same_session.flatten() != Some(true) && fetching.borrow_mut().insert(id.clone()) {
                        let fetching = fetching.clone();
                        let belongs = belongs.clone();
                        leptos::task::spawn_local(async move {
                            if let Ok(fetched) = crate::devices::read_scale_card(id.clone()).await {
                                cards.try_update(|cards| {
                                    match cards.iter_mut().find(|c| c.device.client_id == fetched.device.client_id) {
                                        Some(card) => {
                                            let streamed = card.latest.take();
                                            *card = fetched;
                                            card.latest = Latest::newer(streamed, card.latest.take());
                                        }
                                        None if belongs(&fetched.device) => cards.push(fetched),
                                        None => {}
                                    }
                                    dashboard_order(cards);
                                });
                            }
                            fetching.borrow_mut().remove(&id);
                        });
                    }
                    if !scheduled.replace(true) {
                        let scheduled = scheduled.clone();
                        request_animation_frame(move || {
                            scheduled.set(false);
                            cards.try_update(|cards| dashboard_order(cards));
                        });
                    }
                });
            }
            let tick = set_interval_with_handle(
                move || {
                    let t = clock();
                    now.set(t);
                    let heard = heard.borrow();
                    let quiet = |c: &ScaleCard| {
                        let last = heard.get(c.device.client_id.as_str()).copied().unwrap_or(opened);
                        c.latest.as_ref().is_some_and(|l| l.live) && t.saturating_sub(last) > LIVE_FOR_MS
                    };
                    if cards.with_untracked(|cards| cards.iter().any(quiet)) {
                        cards.update(|cards| {
                            for card in cards.iter_mut().filter(|c| quiet(c)) {
                                if let Some(l) = card.latest.as_mut() {
                                    l.live = false;
                                }
                            }
                            dashboard_order(cards);
                        });
                    }
                },
                Duration::from_secs(1),
            );
            if let Ok(tick) = tick {
                on_cleanup(move || tick.clear());
            }
        });
    }
}

/// Version and uptime, fetched from the server; "Check again" calls it once more.
#[component]
fn StatusCard() -> impl IntoView {
    let checks = RwSignal::new(0u32);
    let status = Resource::new(move || checks.get(), |_| server_status());
    view! {
        <section class="card" id="server-status" aria-labelledby="server-status-title">
            <h2 id="server-status-title">"Server"</h2>
            <Transition fallback=|| view! { <p class="muted">"Asking the server…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => {
                            let base = if s.base_path.is_empty() { "/ (root)".to_owned() } else { s.base_path };
                            view! {
                                <dl class="facts">
                                    <dt>"Version"</dt>
                                    <dd data-testid="version">{s.version}</dd>
                                    <dt>"Up for"</dt>
                                    <dd data-testid="uptime">{format_uptime(s.uptime_ms)}</dd>
                                    <dt>"Served under"</dt>
                                    <dd data-testid="base-path">{base}</dd>
                                </dl>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <button type="button" class="secondary" data-testid="refresh-status" on:click=move |_| checks.update(|n| *n += 1)>
                "Check again"
            </button>
        </section>
    }
}

/// The topics of docs/protocol.md, for whoever wires up a scale.
#[component]
fn ProtocolCard() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="protocol-title">
            <h2 id="protocol-title">"How a scale talks to Wages"</h2>
            <table class="topics">
                <thead>
                    <tr><th>"Topic"</th><th>"Payload"</th></tr>
                </thead>
                <tbody>
                    <tr><td><code>"wages/"<wbr />"devices/"<wbr />"{client_id}/"<wbr />"readings"</code></td><td>"one or more readings, QoS 1"</td></tr>
                    <tr><td><code>"wages/"<wbr />"devices/"<wbr />"{client_id}/"<wbr />"status"</code></td><td><code>"online"</code>" or "<code>"offline"</code>", with "<code>";firmware=1.4.2"</code>" if known, retained"</td></tr>
                    <tr><td><code>"wages/firmware"</code></td><td>"the fleet's firmware offer, retained"</td></tr>
                </tbody>
            </table>
            <p class="muted">
                "A reading: "<code>"client_id=scale-01;session_id=brew-0042;value=18.25;tstamp=1763805600123"</code>
                ", or the same keys as JSON. Up to 1000 per message, one per line."
            </p>
        </section>
    }
}

/// Percent-encodes `text` for a URL query value.
fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A textarea checked with the shared codec: live as you type once the WASM runs,
/// and by the server when the form is submitted before that.
#[component]
fn PayloadChecker() -> impl IntoView {
    let query = use_query_map();
    let submitted = move || query.read().get("payload").unwrap_or_default();
    let draft = RwSignal::new(query.read_untracked().get("payload").unwrap_or_default());
    // A submitted form or the example link changes the query: show what it carries.
    Effect::watch(submitted, move |payload, _, _| draft.set(payload.clone()), false);
    let report = move || {
        let payload = draft.get();
        (!payload.trim().is_empty()).then(|| Suspend::new(payload_report(payload)))
    };
    let example_href = format!("?payload={}#checker", query_value(EXAMPLE));
    let checker_action = expect_context::<crate::base::BasePath>().home();

    view! {
        <section class="card wide" id="checker" aria-labelledby="checker-title">
            <h2 id="checker-title">"Check a payload"</h2>
            <p class="muted">
                "Paste what a scale publishes. Each line is checked on its own, exactly as the ingest pipeline will."
            </p>
            // A plain GET form: leptos_router's <Form> prefixes the base path twice.
            <form method="get" action=checker_action>
                <label class="visually-hidden" for="payload">"Payload"</label>
                <textarea
                    id="payload"
                    name="payload"
                    rows="5"
                    spellcheck="false"
                    placeholder="client_id=scale-01;session_id=brew-0042;value=18.25;tstamp=1763805600123"
                    prop:value=move || draft.get()
                    on:input:target=move |ev| draft.set(ev.target().value())
                >
                    {draft.get_untracked()}
                </textarea>
                <div class="actions">
                    <button type="submit">"Check"</button>
                    <a href=example_href data-testid="example">"Try an example"</a>
                </div>
            </form>
            // Keeps the last verdict on screen while the next one is checked.
            <Transition>{report}</Transition>
        </section>
    }
}

/// The verdict on `payload`. Lazy: in the browser, the codec and its messages are
/// fetched the first time a payload is checked there, since they are a tenth of what the
/// dashboard would otherwise load before it is live (docs/benchmarks.md, "Build and
/// bundle"). A dashboard opened with a payload in its address needs them to hydrate the
/// verdict the server drew: [`load_checker_if_shown`] fetches them first.
#[lazy]
fn payload_report(payload: String) -> AnyView {
    view! { <Report report=check_payload(&payload) /> }.into_any()
}

/// Fetches the checker's code when the server-rendered page shows a verdict, so that
/// it hydrates at once (a verdict still waiting for its code would not match the page).
#[cfg(feature = "hydrate")]
pub async fn load_checker_if_shown() {
    let shown = document().query_selector("#checker [data-testid=report]").ok().flatten().is_some();
    if shown {
        __preload_payload_report().await;
    }
}

/// The verdict: refused message, readings table, line errors.
#[component]
fn Report(report: PayloadReport) -> impl IntoView {
    let PayloadReport { readings, errors, refused } = report;
    let (accepted, rejected) = (readings.len(), errors.len());
    let summary = format!(
        "{} reading{} accepted, {} line{} refused",
        readings.len(),
        if readings.len() == 1 { "" } else { "s" },
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
    );
    view! {
        <div class="report" data-testid="report" data-accepted=accepted data-refused=rejected>
            {refused.map(|why| view! { <p class="error" role="alert">"The whole message is refused: " {why}</p> })}
            <p class="summary">{summary}</p>
            {(!readings.is_empty()).then(|| view! {
                <table class="readings">
                    <thead>
                        <tr><th>"Scale"</th><th>"Session"</th><th class="num">"Weight (g)"</th><th class="num">"Time (ms)"</th></tr>
                    </thead>
                    <tbody>
                        {readings.into_iter().map(|r| view! {
                            <tr>
                                <td>{r.client_id.to_string()}</td>
                                <td>{r.session_id.to_string()}</td>
                                <td class="num">{r.value.to_string()}</td>
                                <td class="num">{r.tstamp.to_string()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {(!errors.is_empty()).then(|| view! {
                <ul class="line-errors">
                    {errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
                </ul>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::{ago, query_value};

    #[test]
    fn times_read_as_how_long_ago() {
        let now = 1_763_805_600_000;
        assert_eq!(ago(now, now - 2_000), "just now");
        assert_eq!(ago(now, now - 42_000), "42 s ago");
        assert_eq!(ago(now, now - 300_000), "5 min ago");
        assert_eq!(ago(now, now - 3 * 3_600_000), "3 h ago");
        assert_eq!(ago(now, now - 3 * 86_400_000), "2025-11-19");
        assert_eq!(ago(now, now + 5_000), "just now");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_value("a=b;c\nd é"), "a%3Db%3Bc%0Ad%20%C3%A9");
    }
}
