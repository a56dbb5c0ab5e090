//! `{base}/devices/{client_id}`: one scale. The live extraction graph (weight and flow
//! against seconds since the session started, drawn with plotters on a canvas from the
//! readings of `{base}/api/devices/{client_id}/live`), the current weight, time and flow
//! as numbers, and the session history with each session's summary.
//!
//! The page renders on the server with the history; once the WASM runs, it opens the
//! WebSocket and draws. Redraws happen at most once per animation frame.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use wages_sessions::Summary;

use crate::devices::{ScaleHistory, read_scale};

/// A time in the viewer's zone (`2026-11-22 11:00:05`), or in UTC, said, until the
/// browser has told its zone (see [`crate::clock`]).
pub fn format_time(ms: u64) -> String {
    crate::clock::Viewer::current().time(ms)
}

/// `27.4 s` or `1 min 05 s`.
pub fn format_duration(ms: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let s = ms as f64 / 1000.0;
    if ms < 60_000 { format!("{s:.1} s") } else { format!("{} min {:02} s", ms / 60_000, ms / 1000 % 60) }
}

#[component]
pub fn DevicePage() -> impl IntoView {
    let params = use_params_map();
    let client_id = move || params.read().get("client_id").unwrap_or_default();
    // Bumped when a new session starts, so the history picks it up; the live graph,
    // which is not in the history's part of the page, stays as it is.
    let sessions_seen = RwSignal::new(0u32);
    let query = leptos_router::hooks::use_query_map();
    let before = move || query.read().get("before").and_then(|b| b.parse::<u64>().ok());
    let scale = scale_resource(Signal::derive(move || (client_id(), 0, None)));
    // The recipe's target yield: the recipe card sets it, the live graph draws it.
    provide_context(crate::brews::TargetYield(RwSignal::new(None)));
    let history = scale_resource(Signal::derive(move || (client_id(), sessions_seen.get(), before())));
    let base = StoredValue::new(expect_context::<crate::base::BasePath>());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the scale…"</p> }>
            {move || Suspend::new(async move {
                match scale.await {
                    Ok(ScaleHistory { device, recipe, .. }) => {
                        let id = device.client_id.to_string();
                        view! {
                            <Title text=device.name.clone() />
                            <header class="device-head">
                                <h1>{device.name.clone()}</h1>
                                <PresenceLine device=device.clone() />
                                <p class="muted">
                                    <a href=base.with_value(|b| b.join(&format!("/bluetooth?scale={id}"))) data-testid="bt-bridge-link">
                                        "Brew on a Bluetooth scale as this one"
                                    </a>
                                </p>
                            </header>
                            <LiveGraph client_id=id.clone() name=device.name.clone() sessions_seen />
                            <super::brew_forms::RecipeCard client_id=id.clone() view=recipe />
                            <Transition fallback=|| view! { <p class="muted">"Loading sessions…"</p> }>
                                {move || {
                                    let id = id.clone();
                                    Suspend::new(async move {
                                        match history.await {
                                            Ok(h) => view! { <History client_id=id sessions=h.sessions paged=before().is_some() /> }.into_any(),
                                            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                                        }
                                    })
                                }}
                            </Transition>
                            {crate::people::may(wages_store::Role::Admin).then(|| view! {
                                <SiteCard client_id=device.client_id.to_string() site=device.site.clone() />
                                <MqttLogin client_id=device.client_id.to_string() />
                            })}
                        }
                            .into_any()
                    }
                    Err(e) => view! {
                        <Title text="Scale not found" />
                        <h1>"No such scale"</h1>
                        <p class="error banner" role="alert">{e.to_string()}</p>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

/// The scale and its sessions for `(client_id, refresh count, before)`. One function for
/// the page's two reads, so the browser's code for such a resource is there once.
fn scale_resource(key: Signal<(String, u32, Option<u64>)>) -> Resource<Result<ScaleHistory, crate::error::AppError>> {
    Resource::new(move || key.get(), |(id, _, before)| read_scale(id, before))
}

/// The machine's card on the live page: the kinds the running session's readings
/// carried, those shown, and its canvas.
#[derive(Clone, Copy)]
struct Machine {
    kinds: RwSignal<Vec<wages_store::series::SeriesKind>>,
    shown: RwSignal<Vec<wages_store::series::SeriesKind>>,
    canvas: NodeRef<leptos::html::Canvas>,
}

/// What the live panel shows.
#[derive(Clone, Debug, Default, PartialEq)]
struct LiveFigures {
    session_id: Option<String>,
    points: usize,
    grams: Option<f64>,
    seconds: f64,
    flow: Option<f64>,
}

#[component]
fn LiveGraph(client_id: String, name: String, sessions_seen: RwSignal<u32>) -> impl IntoView {
    let figures = RwSignal::new(LiveFigures::default());
    let target = expect_context::<crate::brews::TargetYield>().0;
    let to_target = move || {
        let f = figures.read();
        match (target.get(), f.grams) {
            (None, _) => "—".to_owned(),
            (Some(t), None) => format!("{t:.1} g"),
            (Some(t), Some(grams)) => match wages_sessions::to_target(grams, f.flow, t) {
                wages_sessions::ToTarget::Reached => "target reached".to_owned(),
                wages_sessions::ToTarget::StopIn(s) => format!("stop in {s:.1} s"),
                wages_sessions::ToTarget::Waiting => format!("{t:.1} g"),
            },
        }
    };
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    // What a machine measures beside the weight, once readings carry any.
    let machine = Machine {
        kinds: RwSignal::new(Vec::new()),
        shown: RwSignal::new(Vec::new()),
        canvas: NodeRef::<leptos::html::Canvas>::new(),
    };
    #[cfg(feature = "hydrate")]
    live::follow(&client_id, canvas, figures, sessions_seen, target, machine);
    #[cfg(not(feature = "hydrate"))]
    let _ = (&client_id, sessions_seen);
    let number = |x: Option<f64>, digits: usize| x.map_or_else(|| "—".to_owned(), |x| format!("{x:.digits$}"));
    view! {
        <section class="card wide live" aria-labelledby="live-title">
            <h2 id="live-title">"Live"</h2>
            <div class="live-figures">
                <div class="tile">
                    <span class="tile-value" data-testid="live-weight">{move || number(figures.read().grams, 1)}</span>
                    <span class="tile-label">"grams"</span>
                </div>
                <div class="tile">
                    <span class="tile-value" data-testid="live-elapsed">{move || format!("{:.1}", figures.read().seconds)}</span>
                    <span class="tile-label">"seconds"</span>
                </div>
                <div class="tile">
                    <span class="tile-value" data-testid="live-flow">{move || number(figures.read().flow, 2)}</span>
                    <span class="tile-label">"g/s flow"</span>
                </div>
                <div class="tile">
                    <span class="tile-value target" data-testid="live-target">{to_target}</span>
                    <span class="tile-label">{move || match target.get() {
                        Some(t) => format!("target {t:.1} g"),
                        None => "target (set a recipe)".to_owned(),
                    }}</span>
                </div>
                <div class="tile">
                    <span class="tile-value session" data-testid="live-session">
                        {move || figures.read().session_id.clone().unwrap_or_else(|| "—".into())}
                    </span>
                    <span class="tile-label">"session"</span>
                </div>
            </div>
            <canvas
                node_ref=canvas
                class="graph"
                width="960"
                height="360"
                data-testid="live-graph"
                data-points=move || figures.read().points.to_string()
                data-last-value=move || figures.read().grams.map(|g| g.to_string()).unwrap_or_default()
                aria-label="Weight and flow of the current extraction"
            ></canvas>
            <p class="muted legend">
                <span class="swatch weight"></span>" weight (g, left) "
                <span class="swatch flow"></span>" flow (g/s, right)"
                {move || target.get().map(|_| view! { " " <span class="swatch target"></span>" target yield" })}
            </p>
            {move || (figures.read().points == 0).then(|| view! {
                <p class="empty" data-testid="live-empty">
                    "Waiting for readings. Start brewing on " {name.clone()} " and the graph draws itself."
                </p>
            })}
        </section>
        <super::machine::MachineCard
            kinds=machine.kinds.into()
            shown=machine.shown
            canvas=machine.canvas
            test_id="live-machine-graph"
        />
    }
}

#[component]
fn History(client_id: String, sessions: Vec<Summary>, paged: bool) -> impl IntoView {
    let base = expect_context::<crate::base::BasePath>();
    let viewer = crate::clock::Viewer::current();
    let page = base.join(&format!("/devices/{client_id}"));
    // A full page has more before it: link to the sessions older than its last.
    let older = (sessions.len() == crate::devices::HISTORY_LENGTH as usize)
        .then(|| sessions.last().map(|s| format!("{page}?before={}", s.started_at)))
        .flatten();
    let pager = view! {
        <p class="pager">
            {paged.then(|| view! { <a href=page.clone() data-testid="newest-sessions">"Newest sessions"</a>" " })}
            {older.map(|href| view! { <a href=href data-testid="older-sessions">"Older sessions"</a> })}
        </p>
    };
    view! {
        <section class="card wide" aria-labelledby="history-title">
            <h2 id="history-title">"Sessions"</h2>
            {if sessions.is_empty() {
                view! { <p class="empty" data-testid="no-sessions">"No sessions yet. Each extraction this scale sends appears here."</p> }.into_any()
            } else {
                view! {
                    <table class="compact" data-testid="sessions">
                        <thead>
                            <tr>
                                <th>"Session"</th><th>"Started"</th><th class="num">"Time"</th><th class="num">{format!("Final {}", viewer.unit())}</th>
                                <th class="num">"Peak g/s"</th><th class="num">"Mean g/s"</th><th class="num">"Readings"</th><th>"Export"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {sessions.into_iter().map(|s| {
                                let sid = s.session_id.to_string();
                                let csv = base.join(&format!("/api/devices/{client_id}/sessions/{sid}/readings?format=csv"));
                                let json = base.join(&format!("/api/devices/{client_id}/sessions/{sid}/readings"));
                                view! {
                                    <tr data-session-id=sid.clone()>
                                        <td>
                                            <a href=base.join(&format!("/devices/{client_id}/sessions/{sid}"))><code>{sid.clone()}</code></a>
                                            {s.live.then(|| view! { " " <span class="badge online">"live"</span> })}
                                            {s.compacted.map(|c| view! {
                                                " " <span class="badge compacted" title="Old readings folded into buckets (WAGES_RETENTION_*)">
                                                    {if c.graph_kept { "compacted" } else { "summary only" }}
                                                </span>
                                            })}
                                        </td>
                                        <td>{format_time(s.started_at)}</td>
                                        <td class="num">{format_duration(s.duration_ms)}</td>
                                        <td class="num">{viewer.weight_number(s.final_weight)}</td>
                                        <td class="num">{format!("{:.2}", s.peak_flow)}</td>
                                        <td class="num">{format!("{:.2}", s.mean_flow)}</td>
                                        <td class="num">{s.count}</td>
                                        <td><a href=csv rel="external">"CSV"</a>" · "<a href=json rel="external">"JSON"</a></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {pager}
        </section>
    }
}

/// A scale's MQTT login, right after it was issued: the only time it is shown.
#[component]
pub fn ShownOnce(credential: wages_store::MqttCredential) -> impl IntoView {
    view! {
        <div class="secret" data-testid="mqtt-login">
            <p>"The scale's MQTT login. Copy the password into its settings now: it is not shown again."</p>
            <p>"User name "<code data-testid="mqtt-username">{credential.mqtt_username}</code></p>
            <p>"Password "<code class="secret-value" data-testid="mqtt-password">{credential.mqtt_password}</code></p>
        </div>
    }
}

/// Which site (shop) the scale belongs to (admins).
#[component]
fn SiteCard(client_id: String, site: Option<String>) -> impl IntoView {
    let set = ServerAction::<crate::people::SetDeviceSite>::new();
    let sites = Resource::new(|| (), |()| crate::people::list_sites());
    let value = set.value();
    let current = move || value.get().and_then(Result::ok).map_or_else(|| site.clone(), |d| d.site);
    let failed = move || value.get().and_then(Result::err).map(|e| e.to_string());
    view! {
        <section class="card" aria-labelledby="site-title">
            <h2 id="site-title">"Site"</h2>
            <Transition fallback=|| ()>
                {move || {
                    let (client_id, now) = (client_id.clone(), current());
                    Suspend::new(async move {
                        let sites = sites.await.unwrap_or_default();
                        if sites.is_empty() {
                            return view! { <p class="muted">"No sites yet: an admin adds them on the People page."</p> }.into_any();
                        }
                        view! {
                            <crate::form::BasedActionForm action=set class="inline" testid="site-form">
                                <input type="hidden" name="client_id" value=client_id />
                                <select name="site" aria-label="Site">
                                    <option value="" selected=now.is_none()>"no site"</option>
                                    {sites.into_iter().map(|s| {
                                        let selected = now.as_deref() == Some(s.id.as_str());
                                        view! { <option value=s.id.clone() selected=selected>{s.name}</option> }
                                    }).collect_view()}
                                </select>
                                <button type="submit" class="secondary">"Move"</button>
                            </crate::form::BasedActionForm>
                        }.into_any()
                    })
                }}
            </Transition>
            {move || failed().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </section>
    }
}

/// Issues the scale a new MQTT password (when the old one is lost or leaked).
#[component]
fn MqttLogin(client_id: String) -> impl IntoView {
    let rotate = ServerAction::<crate::devices::RotateDevicePassword>::new();
    let value = rotate.value();
    let failed = move || value.get().and_then(Result::err).map(|e| format!("No new password: {e}"));
    view! {
        <section class="card" aria-labelledby="login-title">
            <h2 id="login-title">"MQTT login"</h2>
            <p class="muted">
                "The scale connects to the embedded broker as "<code>{client_id.clone()}</code>
                " with its own password, and may only publish under its own topics. "
                "A new password replaces the old one at once."
            </p>
            <crate::form::BasedActionForm action=rotate class="inline" testid="rotate-form">
                <input type="hidden" name="client_id" value=client_id />
                <button type="submit" class="secondary" disabled=move || rotate.pending().get()>"New password"</button>
            </crate::form::BasedActionForm>
            {move || failed().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            {move || value.get().and_then(Result::ok).map(|c| view! { <ShownOnce credential=c /> })}
        </section>
    }
}

/// The scale's id, online or not, and firmware; kept current from the fleet's live stream.
#[component]
fn PresenceLine(device: wages_store::Device) -> impl IntoView {
    let id = device.client_id.to_string();
    let presence = RwSignal::new((device.online, device.firmware_version.clone()));
    // When the presence shown was true: catch-up reads older than a frame are not applied.
    #[cfg(feature = "hydrate")]
    let last_seen = RwSignal::new(device.last_seen_at);
    #[cfg(feature = "hydrate")]
    {
        use crate::devices::FleetFrame;
        let path = expect_context::<crate::base::BasePath>().join("/api/live");
        let mine = device.client_id;
        Effect::new(move || {
            // Caught up when the stream opens: a status that came after the render.
            // A frame is always news; a catch-up read only when no newer frame came meanwhile.
            let catch_up = move || {
                leptos::task::spawn_local(async move {
                    if let Ok(scale) = read_scale(mine.to_string(), None).await
                        && last_seen.try_get_untracked().is_some_and(|seen| seen <= scale.device.last_seen_at)
                    {
                        last_seen.try_set(scale.device.last_seen_at);
                        presence.try_set((scale.device.online, scale.device.firmware_version));
                    }
                });
            };
            crate::live_socket::follow_and_catch_up(&path, catch_up, move |frame: FleetFrame| {
                if let FleetFrame::Device { device } = frame
                    && device.client_id == mine
                {
                    last_seen.try_set(device.last_seen_at);
                    presence.try_set((device.online, device.firmware_version));
                }
            });
        });
    }
    let online = move || presence.with(|p| p.0);
    view! {
        <p class="muted" data-testid="presence" data-online=move || online().to_string()>
            <code>{id}</code>
            " · "
            <span class="badge" class:online=online class:offline=move || !online()>
                {move || if online() { "online" } else { "offline" }}
            </span>
            " · firmware "
            <span data-testid="firmware">{move || presence.with(|p| p.1.clone().unwrap_or_else(|| "unknown".into()))}</span>
        </p>
    }
}

/// The browser side: the WebSocket, the running session, and the drawing.
#[cfg(feature = "hydrate")]
mod live {
    use std::cell::RefCell;
    use std::rc::Rc;

    use leptos::prelude::*;
    use wages_codec::Reading;
    use wages_sessions::{GraphPoint, Session};

    use super::LiveFigures;
    use super::Machine;
    use crate::devices::MachineCurve;

    /// Points the live graph keeps (an hour at 10 Hz); later readings still update the numbers.
    const MAX_LIVE_POINTS: usize = 36_000;

    /// The session being drawn.
    #[derive(Default)]
    struct Live {
        session: Session,
        session_id: Option<wages_codec::SessionId>,
        start: u64,
        points: Vec<GraphPoint>,
        /// What the machine measured, as the readings carried it.
        machine: Vec<MachineCurve>,
        /// A redraw is scheduled for the next animation frame.
        drawing: bool,
        /// The reading time the history was last fetched at.
        history_at: u64,
        /// The latest reading time drawn.
        last_at: u64,
    }

    /// Readings that came over the socket while the running session's stored readings
    /// were being fetched (at each opening of the socket); added after them.
    #[derive(Default)]
    struct Seeding {
        done: bool,
        pending: Vec<Reading>,
    }

    /// How often (in reading time) the history is fetched again while a session runs.
    const HISTORY_EVERY_MS: u64 = 5000;

    /// Opens the live WebSocket of `client_id` and keeps `figures` and the canvas current.
    pub fn follow(
        client_id: &str,
        canvas: NodeRef<leptos::html::Canvas>,
        figures: RwSignal<LiveFigures>,
        sessions_seen: RwSignal<u32>,
        target: RwSignal<Option<f64>>,
        machine: Machine,
    ) {
        let path = expect_context::<crate::base::BasePath>().join(&format!("/api/devices/{client_id}/live"));
        let client_id = client_id.to_owned();
        Effect::new(move || {
            let live = Rc::new(RefCell::new(Live::default()));
            let seeding = Rc::new(RefCell::new(Seeding::default()));
            // A box ticked or cleared: the machine's graph again.
            Effect::new({
                let live = live.clone();
                move || {
                    machine.shown.track();
                    draw_machine(&live.borrow(), machine);
                }
            });
            // Each time the socket opens (again), what is stored of the running session is
            // drawn first: readings stored before the stream started came as no frame.
            let catch_up = {
                let (live, seeding, id) = (live.clone(), seeding.clone(), client_id.clone());
                move || {
                    seeding.borrow_mut().done = false;
                    let (live, seeding, id) = (live.clone(), seeding.clone(), id.clone());
                    leptos::task::spawn_local(async move {
                        let stored = crate::devices::live_readings(id).await.unwrap_or_default();
                        // The page may have been left while the readings were on their way.
                        if figures.is_disposed() {
                            return;
                        }
                        for reading in stored.iter().filter(|r| !drawn(&live, r)) {
                            add(&live, reading, canvas, figures, None, target, machine);
                        }
                        let mut seeding = seeding.borrow_mut();
                        seeding.done = true;
                        for reading in std::mem::take(&mut seeding.pending) {
                            if !drawn(&live, &reading) {
                                add(&live, &reading, canvas, figures, Some(sessions_seen), target, machine);
                            }
                        }
                    });
                }
            };
            crate::live_socket::follow_and_catch_up(&path, catch_up, move |reading: Reading| {
                let mut seeding = seeding.borrow_mut();
                if seeding.done {
                    // A frame can come after the catch-up already read its reading from
                    // storage (the hub sends once the batch is committed): drawn once.
                    if !drawn(&live, &reading) {
                        add(&live, &reading, canvas, figures, Some(sessions_seen), target, machine);
                    }
                } else {
                    seeding.pending.push(reading);
                }
            });
        });
    }

    /// Whether the graph has the reading already (its session, at or before the last one drawn).
    fn drawn(live: &Rc<RefCell<Live>>, reading: &Reading) -> bool {
        let state = live.borrow();
        state.session_id == Some(reading.session_id) && reading.tstamp.millis() <= state.last_at
    }

    /// Adds a reading to the graph; `history`, when given, is bumped to fetch the history
    /// again at a new session and every [`HISTORY_EVERY_MS`] of a running one.
    fn add(
        live: &Rc<RefCell<Live>>,
        reading: &Reading,
        canvas: NodeRef<leptos::html::Canvas>,
        figures: RwSignal<LiveFigures>,
        history: Option<RwSignal<u32>>,
        target: RwSignal<Option<f64>>,
        machine: Machine,
    ) {
        let mut state = live.borrow_mut();
        let t = reading.tstamp.millis();
        if state.session_id != Some(reading.session_id) {
            // A fresh graph for a new session.
            *state = Live { session_id: Some(reading.session_id), start: t, history_at: t, ..Live::default() };
            // The machine's card shows what this session's readings carry.
            machine.kinds.try_set(Vec::new());
            if let Some(history) = history {
                history.try_update(|n| *n += 1);
            }
        } else if t >= state.history_at + HISTORY_EVERY_MS
            && let Some(history) = history
        {
            state.history_at = t;
            history.try_update(|n| *n += 1);
        }
        state.session.push(reading);
        state.last_at = state.last_at.max(t);
        #[allow(clippy::cast_precision_loss)]
        let seconds = reading.tstamp.millis().saturating_sub(state.start) as f64 / 1000.0;
        if state.points.len() < MAX_LIVE_POINTS {
            let flow = state.session.flow();
            state.points.push(GraphPoint { seconds, grams: reading.value.get(), flow });
            for (kind, v) in reading.measures.iter() {
                match state.machine.iter_mut().find(|c| c.kind == kind) {
                    Some(curve) => curve.points.push((seconds, v)),
                    None => {
                        state.machine.push(MachineCurve { kind, points: vec![(seconds, v)] });
                        // A kind the card has not had yet: its box, ticked.
                        if machine.kinds.try_with_untracked(|k| !k.contains(&kind)) == Some(true) {
                            machine.kinds.try_update(|k| k.push(kind));
                            machine.shown.try_update(|s| {
                                if !s.contains(&kind) {
                                    s.push(kind);
                                }
                            });
                        }
                    }
                }
            }
        }
        figures.try_set(LiveFigures {
            session_id: Some(reading.session_id.to_string()),
            points: state.points.len(),
            grams: Some(reading.value.get()),
            seconds,
            flow: state.session.flow(),
        });
        if !state.drawing {
            state.drawing = true;
            let live = live.clone();
            request_animation_frame(move || {
                let mut state = live.borrow_mut();
                state.drawing = false;
                // The page may have been left before the frame.
                if let (Some(Some(canvas)), Some(target)) = (canvas.try_get_untracked(), target.try_get_untracked()) {
                    crate::graph::draw(&canvas, &[&state.points], target);
                }
                draw_machine(&state, machine);
            });
        }
    }

    /// Draws the machine's curves of the session, on the weight graph's seconds; nothing
    /// while its readings carried none.
    fn draw_machine(state: &Live, machine: Machine) {
        if state.machine.is_empty() {
            return;
        }
        let (Some(Some(canvas)), Some(shown)) = (machine.canvas.try_get_untracked(), machine.shown.try_get_untracked())
        else {
            return;
        };
        let last = state.points.last().map_or(0.0, |p| p.seconds);
        crate::graph::draw_machine(&canvas, &state.machine, &shown, (0.0, last.max(30.0)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations_read_naturally() {
        assert_eq!(crate::clock::civil(0), "1970-01-01 00:00:00");
        assert_eq!(crate::clock::civil(1_763_805_600_123), "2025-11-22 10:00:00");
        assert_eq!(crate::clock::civil(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(format_duration(27_400), "27.4 s");
        assert_eq!(format_duration(65_000), "1 min 05 s");
    }
}
