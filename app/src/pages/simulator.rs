//! `{base}/simulator/{client_id}`: a browser tab acting as a scale, through the shared
//! MQTT link ([`crate::scale_link`]): it publishes one reading on a click or a whole
//! extraction on "Brew" (the curve `wages simulate` uses), counts the scale's readings Wages has stored
//! (the server's figure when the page is rendered, then one more for each PUBACK, which
//! the server sends once a reading is stored, so a reload or another browser shows the
//! same), and shows firmware
//! offers as they arrive; "Install" reports the offered version. Ticked, "Brew on an
//! espresso machine" makes each reading carry the machine's pressure, flow, temperatures
//! and water beside the weight. When the scale's recipe
//! names a target yield (retained on `wages/devices/{client_id}/target`), a brew stops by
//! weight as firmware would: at the target minus the drip its flow predicts.
//!
//! `?seconds=N` shortens or lengthens a brew (default 30 s).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// What the tab shows; the MQTT client behind it writes these.
#[derive(Clone, Copy)]
struct TabState {
    connection: RwSignal<&'static str>,
    /// Readings acknowledged (so stored) since the page was rendered.
    sent: RwSignal<u64>,
    firmware: RwSignal<String>,
    offer: RwSignal<Option<wages_codec::FirmwareOffer>>,
    brewing: RwSignal<bool>,
    /// How readings are written: `text`, `json` or `protobuf` (docs/protocol.md).
    form: RwSignal<String>,
    /// The target yield the broker last gave the scale, grams.
    target: RwSignal<Option<f64>>,
    /// Whether a brew's readings carry what an espresso machine measures beside the weight.
    machine: RwSignal<bool>,
}

/// The firmware a new simulated scale starts with.
const FIRST_FIRMWARE: &str = "1.0.0";

#[component]
pub fn SimulatorPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.read_untracked().get("client_id").unwrap_or_default();
    let seconds: u32 = use_query_map()
        .read_untracked()
        .get("seconds")
        .and_then(|s| s.parse().ok())
        .filter(|s| (1..=600).contains(s))
        .unwrap_or(30);
    let valid = wages_codec::ClientId::parse(&id).is_ok();
    let state = TabState {
        connection: RwSignal::new("not connected"),
        sent: RwSignal::new(0),
        firmware: RwSignal::new(FIRST_FIRMWARE.to_owned()),
        offer: RwSignal::new(None),
        brewing: RwSignal::new(false),
        form: RwSignal::new("text".to_owned()),
        target: RwSignal::new(None),
        machine: RwSignal::new(false),
    };
    // The client lives in the browser only; the buttons reach it through this handle.
    #[cfg(feature = "hydrate")]
    let tab = StoredValue::new_local(wages_codec::ClientId::parse(&id).ok().map(|id| mqtt_tab::open(id, state)));
    #[cfg(not(feature = "hydrate"))]
    let tab = StoredValue::new(None::<()>);
    let _ = tab;
    let stored = Resource::new(
        {
            let id = id.clone();
            move || id.clone()
        },
        crate::devices::stored_readings,
    );
    let device_href = expect_context::<crate::base::BasePath>().join(&format!("/devices/{id}"));
    if !valid {
        return view! {
            <Title text="Simulator" />
            <section class="card narrow">
                <h1>"Not a scale id"</h1>
                <p>"A simulated scale needs a client id of 1 to 64 letters, digits, - or _, as in "
                    <code>"/simulator/scale-01"</code>"."</p>
            </section>
        }
        .into_any();
    }
    let title = format!("Simulator · {id}");
    view! {
        <Title text=title />
        <header class="device-head">
            <h1>"Simulated scale "<code>{id.clone()}</code></h1>
            <p class="muted">
                "This tab is a scale: it talks MQTT to Wages over a WebSocket. "
                <a href=device_href>"Watch it on its page"</a>"."
            </p>
        </header>
        <section class="card" aria-labelledby="sim-title">
            <h2 id="sim-title">"Scale"</h2>
            <div class="tiles">
                <div class="tile">
                    <span class="tile-value session" data-testid="sim-connection">{move || state.connection.get()}</span>
                    <span class="tile-label">"connection"</span>
                </div>
                <div class="tile">
                    <span class="tile-value" data-testid="sim-sent">
                        <Suspense fallback=|| "…">
                            {move || stored.get().map(|n| n.unwrap_or(0) + state.sent.get())}
                        </Suspense>
                    </span>
                    <span class="tile-label">"readings stored"</span>
                </div>
                <div class="tile">
                    <span class="tile-value session" data-testid="sim-firmware">{move || state.firmware.get()}</span>
                    <span class="tile-label">"firmware"</span>
                </div>
            </div>
            <div class="actions">
                <button
                    type="button"
                    data-testid="sim-one"
                    disabled=move || state.connection.get() != "online"
                    on:click=move |_| {
                        #[cfg(feature = "hydrate")]
                        tab.with_value(|t| if let Some(t) = t { t.send_one() });
                    }
                >
                    "Send one reading"
                </button>
                <button
                    type="button"
                    class="secondary"
                    data-testid="sim-brew"
                    disabled=move || state.connection.get() != "online" || state.brewing.get()
                    on:click=move |_| {
                        #[cfg(feature = "hydrate")]
                        tab.with_value(|t| if let Some(t) = t { t.brew(seconds) });
                    }
                >
                    {move || if state.brewing.get() { "Brewing…" } else { "Brew" }}
                </button>
            </div>
            <div class="inline-field">
                <label for="sim-form">"Payload form"</label>
                <select
                    id="sim-form"
                    data-testid="sim-form"
                    on:change=move |ev| state.form.set(event_target_value(&ev))
                    prop:value=move || state.form.get()
                >
                    <option value="text">"text (client_id=…;value=…)"</option>
                    <option value="json">"JSON"</option>
                    <option value="protobuf">"Protobuf (…/readings/protobuf)"</option>
                </select>
            </div>
            <label class="inline-field">
                <input
                    type="checkbox"
                    data-testid="sim-machine"
                    prop:checked=move || state.machine.get()
                    on:change=move |ev| state.machine.set(event_target_checked(&ev))
                />
                " Brew on an espresso machine: each reading also carries pressure, flow, temperatures and water"
            </label>
            <p class="hint" data-testid="sim-target">
                {move || match state.target.get() {
                    Some(grams) => format!(
                        "The recipe's target is {grams:.1} g: a brew stops by weight there, \
                         a little early for the drip its flow predicts. 10 readings a second, with sensor noise."
                    ),
                    None => format!("A brew is about 36 g in {seconds} s at 10 readings a second, with sensor noise. \
                        Set a target yield on the scale's recipe and it stops by weight."),
                }}
            </p>
        </section>
        <section class="card" aria-labelledby="offer-title">
            <h2 id="offer-title">"Firmware offers"</h2>
            {move || match state.offer.get() {
                None => view! { <p class="empty" data-testid="sim-no-offer">"No offer yet. One published on the Firmware page shows here at once."</p> }.into_any(),
                Some(offer) => {
                    let current = state.firmware.get() == offer.version();
                    let version = offer.version().to_owned();
                    view! {
                        <p data-testid="sim-offer">
                            "Offered: "<strong>{version.clone()}</strong>" · "<code>{offer.sha256()[..12].to_owned()}"…"</code>
                        </p>
                        <button
                            type="button"
                            data-testid="sim-install"
                            disabled=current
                            on:click=move |_| {
                                #[cfg(feature = "hydrate")]
                                tab.with_value(|t| if let Some(t) = t { t.install(&version) });
                            }
                        >
                            {if current { "Installed" } else { "Install" }}
                        </button>
                    }
                    .into_any()
                }
            }}
        </section>
    }
    .into_any()
}

/// The tab's scale: the shared MQTT link, and what a simulated scale does on it.
#[cfg(feature = "hydrate")]
mod mqtt_tab {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use wages_codec::ClientId;
    use wages_codec::clock::now_ms;

    use super::TabState;
    use crate::scale_link::{Form, Link, LinkEvents, LinkSignals};

    /// A handle the buttons use; cheap to clone.
    #[derive(Clone)]
    pub struct Tab {
        link: Link,
        state: TabState,
    }

    fn storage() -> Option<web_sys::Storage> {
        window().local_storage().ok().flatten()
    }

    fn firmware_key(id: &ClientId) -> String {
        format!("wages-simulator-{id}-firmware")
    }

    /// Starts the client for scale `id`; it lives as long as the page.
    pub fn open(id: ClientId, state: TabState) -> Tab {
        // The firmware this tab "installed" before a reload, restored once the page has
        // hydrated (the server rendered the first values) and before the status names it.
        let key = firmware_key(&id);
        Effect::new(move || {
            if let Some(version) = storage().and_then(|store| store.get_item(&key).ok().flatten()) {
                state.firmware.set(version);
            }
        });
        let signals = LinkSignals {
            connection: state.connection,
            firmware: state.firmware,
            offer: state.offer,
            target: state.target,
        };
        let events = LinkEvents { acked: Box::new(move |_| state.sent.update(|n| *n += 1)), online: Box::new(|| {}) };
        Tab { link: Link::open(id, signals, events), state }
    }

    impl Tab {
        fn send_reading(&self, session: &str, grams: f64, tstamp: u64, measures: wages_codec::Measures) {
            let line = format!("client_id={};session_id={session};value={grams};tstamp={tstamp}", self.link.id());
            let Ok(mut reading) = wages_codec::decode_line(line.as_bytes()) else { return };
            reading.measures = measures;
            let form = match self.state.form.get_untracked().as_str() {
                "protobuf" => Form::Protobuf,
                "json" => Form::Json,
                _ => Form::Text,
            };
            self.link.publish_readings(&[reading], form);
        }

        pub fn send_one(&self) {
            self.send_reading(&format!("single-{}", now_ms()), 18.0, now_ms(), wages_codec::Measures::NONE);
        }

        /// A whole extraction at 10 Hz, in real time; stopped by weight when there is a target.
        pub fn brew(&self, seconds: u32) {
            let state = self.state;
            state.brewing.set(true);
            let stop_at = state.target.get_untracked();
            let shot = wages_sessions::simulate::Extraction {
                // Stopping by weight, the pump would run on past the target.
                target_grams: stop_at.map_or(36.0, |t| t * 1.25),
                duration_ms: u64::from(seconds) * 1000,
                rate_hz: 10,
                seed: now_ms(),
            };
            let samples = match stop_at {
                Some(grams) => shot.stopping_at(grams),
                None => shot.samples().collect(),
            };
            let pump_stop = stop_at.and_then(|grams| shot.stop_ms(grams)).unwrap_or(shot.duration_ms);
            let machine = state.machine.get_untracked();
            let samples: Rc<RefCell<std::vec::IntoIter<(u64, f64)>>> = Rc::new(RefCell::new(samples.into_iter()));
            let (start, session) = (now_ms(), format!("brew-{}", now_ms()));
            let tab = self.clone();
            let handle: Rc<Cell<Option<IntervalHandle>>> = Rc::new(Cell::new(None));
            let stop = handle.clone();
            let tick = move || match samples.borrow_mut().next() {
                Some((t, grams)) => {
                    let measures = if machine { shot.machine_at(t, pump_stop) } else { wages_codec::Measures::NONE };
                    tab.send_reading(&session, grams, start + t, measures);
                }
                None => {
                    state.brewing.set(false);
                    if let Some(h) = stop.take() {
                        h.clear();
                    }
                }
            };
            if let Ok(h) = set_interval_with_handle(tick, Duration::from_millis(100)) {
                handle.set(Some(h));
            }
        }

        /// "Installs" the offered version: remembers it and reports it in a new status.
        pub fn install(&self, version: &str) {
            self.state.firmware.set(version.to_owned());
            if let Some(store) = storage() {
                drop(store.set_item(&firmware_key(self.link.id()), version));
            }
            self.link.announce();
        }
    }
}
