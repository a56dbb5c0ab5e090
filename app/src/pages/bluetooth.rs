//! `{base}/bluetooth`: a browser tab as the bridge between a Bluetooth scale and Wages.
//!
//! Web Bluetooth (Chrome and Edge on Android, Windows, macOS, Linux, ChromeOS) pairs
//! with the scale; `wages-scales` decodes its notifications and writes its commands; the
//! tab publishes the weights as the chosen Wages scale over the shared MQTT link
//! ([`crate::scale_link`]), with that scale's own password. A shot starts on the scale's
//! timer, the page's Start, or a rise from a tare, and ends on stop or once the weight
//! settles (`wages_sessions::watch`). Readings wait in the tab, in order, until their
//! PUBACK says they are stored: a dropped link loses none of them. `?scale=ID` chooses
//! the Wages scale beforehand.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// What the page shows; the bridge in the browser writes these.
#[derive(Clone, Copy)]
pub(crate) struct BridgeState {
    /// Why this browser cannot bridge a scale, once the page has looked.
    unsupported: RwSignal<Option<String>>,
    /// The paired scale's name and family.
    paired: RwSignal<Option<(String, &'static str)>>,
    /// `not paired`, `pairing`, `connected`, `reconnecting`.
    bluetooth: RwSignal<&'static str>,
    weight: RwSignal<Option<f64>>,
    battery: RwSignal<Option<u8>>,
    /// The Wages scale the tab publishes as.
    scale: RwSignal<Option<String>>,
    connection: RwSignal<&'static str>,
    /// What the link announces and hears of firmware: only the browser's link reads them.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    firmware: RwSignal<String>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    offer: RwSignal<Option<wages_codec::FirmwareOffer>>,
    target: RwSignal<Option<f64>>,
    /// The shot under way: its session id.
    shot: RwSignal<Option<String>>,
    /// Readings not yet acknowledged, and acknowledged since the page opened.
    waiting: RwSignal<usize>,
    stored: RwSignal<u64>,
    /// What went wrong last, in words.
    problem: RwSignal<Option<String>>,
}

#[component]
pub fn BluetoothPage() -> impl IntoView {
    let chosen = use_query_map().read_untracked().get("scale").filter(|s| wages_codec::ClientId::parse(s).is_ok());
    let state = BridgeState {
        unsupported: RwSignal::new(None),
        paired: RwSignal::new(None),
        bluetooth: RwSignal::new("not paired"),
        weight: RwSignal::new(None),
        battery: RwSignal::new(None),
        scale: RwSignal::new(None),
        connection: RwSignal::new("not connected"),
        firmware: RwSignal::new("bluetooth-bridge".to_owned()),
        offer: RwSignal::new(None),
        target: RwSignal::new(None),
        shot: RwSignal::new(None),
        waiting: RwSignal::new(0),
        stored: RwSignal::new(0),
        problem: RwSignal::new(None),
    };
    let choice = RwSignal::new(chosen.clone().unwrap_or_default());
    let new_name = RwSignal::new(String::new());
    let scales = Resource::new(|| (), |()| crate::devices::list_devices(String::new()));
    #[cfg(feature = "hydrate")]
    let bridge = StoredValue::new_local(browser::Bridge::new(state));
    #[cfg(feature = "hydrate")]
    Effect::new(move || state.unsupported.set(browser::unsupported()));
    let pair = move |_| {
        #[cfg(feature = "hydrate")]
        bridge.with_value(browser::Bridge::pair);
    };
    let use_scale = move |_| {
        let id = choice.get_untracked().trim().to_owned();
        if wages_codec::ClientId::parse(&id).is_err() {
            state.problem.set(Some("Choose a scale, or give a new one an id of letters, digits, - and _.".into()));
            return;
        }
        let name = new_name.get_untracked().trim().to_owned();
        leptos::task::spawn_local(async move {
            let known = crate::devices::list_devices(id.clone())
                .await
                .is_ok_and(|list| list.iter().any(|d| d.client_id.as_str() == id));
            if !known {
                let name = if name.is_empty() {
                    state.paired.get_untracked().map(|p| p.0).unwrap_or_else(|| id.clone())
                } else {
                    name
                };
                if let Err(e) = crate::devices::register_device(id.clone(), name).await {
                    state.problem.set(Some(format!("Cannot register {id}: {e}")));
                    return;
                }
            }
            state.problem.set(None);
            #[cfg(feature = "hydrate")]
            bridge.with_value(|b| b.use_scale(&id));
            #[cfg(not(feature = "hydrate"))]
            let _ = id;
        });
    };
    let command = move |what: &'static str| {
        move |_| {
            #[cfg(feature = "hydrate")]
            bridge.with_value(|b| b.command(what));
            let _ = what;
        }
    };
    let devices_href = expect_context::<crate::base::BasePath>().join("/devices");
    let scale_href =
        move || state.scale.get().map(|id| expect_context::<crate::base::BasePath>().join(&format!("/devices/{id}")));
    let paired = move || state.bluetooth.get() == "connected";
    view! {
        <Title text="Connect a Bluetooth scale" />
        <header class="device-head">
            <h1>"Connect a Bluetooth scale"</h1>
            <p class="muted">
                "This tab pairs with a Decent, Acaia, Felicita or Bookoo scale and brews as one of "
                <a href=devices_href>"your scales"</a>": every shot appears live on its page and in its history."
            </p>
        </header>
        {move || state.unsupported.get().map(|why| view! { <p class="error" role="alert" data-testid="bt-unsupported">{why}</p> })}
        {move || state.problem.get().map(|why| view! { <p class="error" role="alert" data-testid="bt-problem">{why}</p> })}
        <div class="bridge">
        <section class="card" aria-labelledby="bt-scale-title">
            <h2 id="bt-scale-title">"Bluetooth scale"</h2>
            <div class="tiles">
                <div class="tile weight-tile">
                    <span class="tile-value weight" data-testid="bt-weight">
                        {move || state.weight.get().map_or_else(|| "–".to_owned(), |g| format!("{g:.1} g"))}
                    </span>
                    <span class="tile-label">"on the scale"</span>
                </div>
                <div class="tile">
                    <span class="tile-value session" data-testid="bt-name">
                        {move || state.paired.get().map_or_else(|| "none".to_owned(), |p| p.0)}
                    </span>
                    <span class="tile-label">{move || state.paired.get().map_or("scale", |p| p.1)}</span>
                </div>
                <div class="tile">
                    <span class="tile-value session" data-testid="bt-state">{move || state.bluetooth.get()}</span>
                    <span class="tile-label">"Bluetooth"</span>
                </div>
                <div class="tile">
                    <span class="tile-value" data-testid="bt-battery">
                        {move || state.battery.get().map_or_else(|| "–".to_owned(), |b| format!("{b} %"))}
                    </span>
                    <span class="tile-label">"battery"</span>
                </div>
            </div>
            <div class="actions">
                <button type="button" data-testid="bt-pair" on:click=pair
                    disabled=move || state.unsupported.get().is_some() || state.bluetooth.get() == "pairing">
                    {move || if state.paired.get().is_some() { "Pair another scale" } else { "Pair a scale" }}
                </button>
            </div>
        </section>
        <section class="card" aria-labelledby="bt-brew-title">
            <h2 id="bt-brew-title">"Brew"</h2>
            <div class="tiles">
                <div class="tile">
                    <span class="tile-value session" data-testid="bt-shot">
                        {move || if state.shot.get().is_some() { "brewing" } else { "waiting" }}
                    </span>
                    <span class="tile-label">"shot"</span>
                </div>
                <div class="tile">
                    <span class="tile-value" data-testid="bt-countdown">
                        {move || match (state.target.get(), state.weight.get()) {
                            (Some(t), Some(w)) if state.shot.get().is_some() => format!("{:.1} g", (t - w).max(0.0)),
                            (Some(t), _) => format!("{t:.1} g"),
                            _ => "–".to_owned(),
                        }}
                    </span>
                    <span class="tile-label">{move || if state.shot.get().is_some() { "to the target" } else { "target" }}</span>
                </div>
                <div class="tile">
                    <span class="tile-value" data-testid="bt-waiting">{move || state.waiting.get()}</span>
                    <span class="tile-label">"readings waiting"</span>
                </div>
                <div class="tile">
                    <span class="tile-value" data-testid="bt-stored">{move || state.stored.get()}</span>
                    <span class="tile-label">"stored"</span>
                </div>
            </div>
            <div class="actions">
                <button type="button" class="secondary" data-testid="bt-tare" on:click=command("tare") disabled=move || !paired()>"Tare"</button>
                <button type="button" data-testid="bt-start" on:click=command("start")
                    disabled=move || !paired() || state.shot.get().is_some()>"Start"</button>
                <button type="button" class="secondary" data-testid="bt-stop" on:click=command("stop")
                    disabled=move || state.shot.get().is_none()>"Stop"</button>
            </div>
            <p class="hint">
                "A shot starts on the scale's timer, on Start, or when the weight rises after a tare, and ends on stop or once the weight settles. "
                "With a target yield on the scale's recipe, the tab counts down, signals at the target and stops the scale's timer."
            </p>
        </section>
        <section class="card" aria-labelledby="bt-as-title">
            <h2 id="bt-as-title">"Brew as"</h2>
            <div class="inline-field">
                <label for="bt-scale">"Wages scale"</label>
                <input id="bt-scale" data-testid="bt-scale" list="bt-scales" autocomplete="off" placeholder="bar-left"
                    prop:value=move || choice.get() on:input=move |ev| choice.set(event_target_value(&ev)) />
                <datalist id="bt-scales">
                    <Suspense fallback=|| ()>
                        {move || scales.get().and_then(Result::ok).map(|list| list.into_iter().map(|d| {
                            view! { <option value=d.client_id.to_string()>{d.name}</option> }
                        }).collect_view())}
                    </Suspense>
                </datalist>
            </div>
            <div class="inline-field">
                <label for="bt-new-name">"Name, if new"</label>
                <input id="bt-new-name" data-testid="bt-new-name" autocomplete="off" placeholder="the Bluetooth scale's name"
                    prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev)) />
            </div>
            <div class="actions">
                <button type="button" data-testid="bt-use" on:click=use_scale disabled=move || state.unsupported.get().is_some()>
                    "Use as this scale"
                </button>
                <span class="muted" data-testid="bt-link">
                    {move || state.scale.get().map(|id| format!("{id}: {}", state.connection.get()))}
                </span>
                {move || scale_href().map(|href| view! { <a href=href>"Watch it live"</a> })}
            </div>
            <p class="hint">"A new id registers a new scale. The tab gets that scale's own MQTT password, nothing more."</p>
        </section>
        </div>
    }
}

/// The bridge in the browser: Web Bluetooth on one side, the MQTT link on the other.
#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use wages_codec::clock::now_ms;
    use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
    use wages_scales::{Button, Command, Decoder, Event, FAMILIES, Family};
    use wages_sessions::watch::{Cue, ShotWatch, Signal};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::{Closure, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::js_sys::{self, Array, Function, Object, Promise, Reflect, Uint8Array};

    use super::BridgeState;
    use crate::scale_link::{Form, Link, LinkEvents, LinkSignals};
    use crate::waiting::Waiting;

    /// Readings sent in one message at most.
    const BATCH: usize = 100;
    /// Readings kept waiting at most (an hour at 10 Hz); past that the oldest go, said so.
    const MOST_WAITING: usize = 36_000;

    /// Why this browser cannot bridge a scale, if it cannot.
    pub fn unsupported() -> Option<String> {
        let window = window();
        if !window.is_secure_context() {
            return Some(
                "Web Bluetooth needs a secure page: open Wages over https:// (see its operations guide, \"HTTPS on the LAN\"), or as localhost on this computer."
                    .into(),
            );
        }
        let bluetooth = Reflect::get(&window.navigator(), &"bluetooth".into()).unwrap_or(JsValue::UNDEFINED);
        if bluetooth.is_undefined() || bluetooth.is_null() {
            return Some(
                "This browser has no Web Bluetooth (Safari on iPhone and iPad, Firefox). Use Chrome or Edge on Android, Windows, macOS, Linux or ChromeOS."
                    .into(),
            );
        }
        None
    }

    fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
        Reflect::get(target, &key.into())
    }

    /// `target.method(...args)`, awaited when it returns a promise.
    async fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let function: Function = get(target, method)?.dyn_into()?;
        let result = function.apply(target, &args.iter().collect::<Array>())?;
        match result.dyn_into::<Promise>() {
            Ok(promise) => JsFuture::from(promise).await,
            Err(value) => Ok(value),
        }
    }

    fn words(e: &JsValue) -> String {
        get(e, "message").ok().and_then(|m| m.as_string()).or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"))
    }

    /// A listener handed to the browser; kept as long as it may be called.
    type Listener = Closure<dyn FnMut(JsValue)>;

    struct Inner {
        state: BridgeState,
        device: Option<JsValue>,
        family: Option<Family>,
        decoder: Option<Decoder>,
        write: Option<JsValue>,
        /// The characteristic notifying and the listener on it, taken off before a
        /// reconnection puts a new one on (the browser may hand back the same object).
        notify: Option<(JsValue, Listener)>,
        /// Commands to write, one GATT operation at a time.
        writes: VecDeque<Vec<u8>>,
        writing: bool,
        watch: ShotWatch,
        link: Option<Link>,
        /// Readings of the scale the tab brews as, not yet acknowledged, oldest first,
        /// with their keys in IndexedDB; the first `in_flight` are published.
        waiting: VecDeque<(f64, Reading)>,
        in_flight: Option<(u16, usize)>,
        /// The IndexedDB copy, once open; readings it held from an earlier visit; the
        /// next reading's key.
        store: Option<Rc<Waiting>>,
        earlier: Vec<(f64, Reading)>,
        next_key: f64,
        keep_alive: Option<IntervalHandle>,
        /// Whether the target was reached in this shot.
        signalled: bool,
        wake_lock: Option<JsValue>,
        /// Kept alive as long as the bridge: the listeners given to the browser.
        listeners: Vec<Listener>,
    }

    #[derive(Clone)]
    pub struct Bridge(Rc<RefCell<Inner>>);

    impl Bridge {
        pub fn new(state: BridgeState) -> Bridge {
            let bridge = Bridge(Rc::new(RefCell::new(Inner {
                state,
                device: None,
                family: None,
                decoder: None,
                write: None,
                notify: None,
                writes: VecDeque::new(),
                writing: false,
                watch: ShotWatch::default(),
                link: None,
                waiting: VecDeque::new(),
                in_flight: None,
                store: None,
                earlier: Vec::new(),
                next_key: 0.0,
                keep_alive: None,
                signalled: false,
                wake_lock: None,
                listeners: Vec::new(),
            })));
            bridge.open_store();
            bridge
        }

        /// Opens the IndexedDB copy of waiting readings; readings an earlier visit left
        /// there are sent as their scale at once.
        fn open_store(&self) {
            let bridge = self.clone();
            leptos::task::spawn_local(async move {
                let store = match Waiting::open().await {
                    Ok(store) => Rc::new(store),
                    Err(e) => {
                        leptos::logging::warn!("no IndexedDB: waiting readings live only as long as the tab: {e:?}");
                        return;
                    }
                };
                let earlier = store.all().await.unwrap_or_default();
                let scale = earlier.first().map(|(_, r)| r.client_id.to_string());
                {
                    let mut inner = bridge.0.borrow_mut();
                    inner.next_key = inner.next_key.max(earlier.last().map_or(0.0, |(k, _)| k + 1.0));
                    inner.earlier = earlier;
                    inner.store = Some(store);
                }
                if let Some(scale) = scale
                    && bridge.state().scale.get_untracked().is_none()
                {
                    bridge.use_scale(&scale);
                }
            });
        }

        fn state(&self) -> BridgeState {
            self.0.borrow().state
        }

        /// Asks the browser for a scale (its chooser lists the families' names) and
        /// connects to it.
        pub fn pair(&self) {
            let bridge = self.clone();
            leptos::task::spawn_local(async move {
                let state = bridge.state();
                state.bluetooth.set("pairing");
                match bridge.request().await {
                    Ok(device) => {
                        let name = get(&device, "name").ok().and_then(|n| n.as_string()).unwrap_or_default();
                        bridge.0.borrow_mut().device = Some(device.clone());
                        bridge.listen_for_drops(&device);
                        if let Err(e) = bridge.connect(&name).await {
                            state.bluetooth.set("not paired");
                            state.problem.set(Some(format!("Cannot connect to {name}: {e}")));
                        }
                    }
                    Err(e) => {
                        state.bluetooth.set(if bridge.0.borrow().device.is_some() {
                            "connected"
                        } else {
                            "not paired"
                        });
                        // Closing the chooser is not a problem worth a red line.
                        if !words(&e).to_lowercase().contains("cancel") {
                            state.problem.set(Some(format!("No scale paired: {}", words(&e))));
                        }
                    }
                }
            });
        }

        async fn request(&self) -> Result<JsValue, JsValue> {
            let bluetooth = get(&window().navigator(), "bluetooth")?;
            let filters = Array::new();
            let services = Array::new();
            for family in FAMILIES {
                for prefix in family.name_prefixes() {
                    let filter = Object::new();
                    Reflect::set(&filter, &"namePrefix".into(), &(*prefix).into())?;
                    filters.push(&filter);
                }
                services.push(&family.gatt().service.into());
            }
            let options = Object::new();
            Reflect::set(&options, &"filters".into(), &filters)?;
            Reflect::set(&options, &"optionalServices".into(), &services)?;
            call(&bluetooth, "requestDevice", &[options.into()]).await
        }

        /// Connects GATT, finds the family by its services, starts notifications and
        /// greets the scale. Also after a drop, with the same device.
        async fn connect(&self, name: &str) -> Result<(), String> {
            let device = self.0.borrow().device.clone().ok_or("no scale")?;
            let gatt = get(&device, "gatt").map_err(|e| words(&e))?;
            let server = call(&gatt, "connect", &[]).await.map_err(|e| words(&e))?;
            let found: Array = call(&server, "getPrimaryServices", &[])
                .await
                .map_err(|e| words(&e))?
                .dyn_into()
                .map_err(|e| words(&e))?;
            let uuids: Vec<String> = found.iter().filter_map(|s| get(&s, "uuid").ok()?.as_string()).collect();
            let family = Family::from_services(Family::from_name(name), uuids.iter().map(String::as_str))
                .ok_or("not a scale Wages knows (Decent, Acaia, Felicita, Bookoo)")?;
            let gatt_ids = family.gatt();
            let service =
                call(&server, "getPrimaryService", &[gatt_ids.service.into()]).await.map_err(|e| words(&e))?;
            let notify = call(&service, "getCharacteristic", &[gatt_ids.notify.into()]).await.map_err(|e| words(&e))?;
            let write = if gatt_ids.write == gatt_ids.notify {
                notify.clone()
            } else {
                call(&service, "getCharacteristic", &[gatt_ids.write.into()]).await.map_err(|e| words(&e))?
            };
            let bridge = self.clone();
            let listener = Listener::new(move |event: JsValue| {
                let Some(bytes) = get(&event, "target").and_then(|t| get(&t, "value")).ok().and_then(|v| {
                    let view: js_sys::DataView = v.dyn_into().ok()?;
                    Some(
                        Uint8Array::new_with_byte_offset_and_length(
                            &view.buffer(),
                            view.byte_offset() as u32,
                            view.byte_length() as u32,
                        )
                        .to_vec(),
                    )
                }) else {
                    return;
                };
                bridge.notified(&bytes);
            });
            let old = self.0.borrow_mut().notify.take();
            if let Some((characteristic, old)) = old {
                let event = "characteristicvaluechanged".into();
                let _ = call(&characteristic, "removeEventListener", &[event, old.as_ref().clone()]).await;
            }
            call(&notify, "addEventListener", &["characteristicvaluechanged".into(), listener.as_ref().clone()])
                .await
                .map_err(|e| words(&e))?;
            call(&notify, "startNotifications", &[]).await.map_err(|e| words(&e))?;
            {
                let mut inner = self.0.borrow_mut();
                inner.notify = Some((notify, listener));
                inner.family = Some(family);
                // A new decoder: a message cut by the drop is gone with it.
                inner.decoder = Some(Decoder::new(family));
                inner.write = Some(write);
                inner.state.paired.set(Some((name.to_owned(), family.label())));
                inner.state.bluetooth.set("connected");
                inner.state.problem.set(None);
            }
            for bytes in family.hello() {
                self.write(bytes);
            }
            self.keep_alive(family);
            Ok(())
        }

        fn keep_alive(&self, family: Family) {
            if let Some(old) = self.0.borrow_mut().keep_alive.take() {
                old.clear();
            }
            let Some((messages, every_ms)) = family.keep_alive() else { return };
            let bridge = self.clone();
            let tick = move || {
                for bytes in &messages {
                    bridge.write(bytes.clone());
                }
            };
            if let Ok(handle) = set_interval_with_handle(tick, Duration::from_millis(u64::from(every_ms))) {
                self.0.borrow_mut().keep_alive = Some(handle);
            }
        }

        /// A dropped Bluetooth link is connected again, every two seconds until it is;
        /// a shot under way goes on.
        fn listen_for_drops(&self, device: &JsValue) {
            let bridge = self.clone();
            let listener = Listener::new(move |_| {
                let state = bridge.state();
                state.bluetooth.set("reconnecting");
                let bridge = bridge.clone();
                leptos::task::spawn_local(async move {
                    let name = state.paired.get_untracked().map(|p| p.0).unwrap_or_default();
                    while bridge.connect(&name).await.is_err() {
                        gloo_timers_sleep(Duration::from_secs(2)).await;
                    }
                });
            });
            let add: Result<Function, _> = get(device, "addEventListener").and_then(|f| f.dyn_into());
            if let Ok(add) = add {
                drop(add.call2(device, &"gattserverdisconnected".into(), listener.as_ref()));
            }
            self.0.borrow_mut().listeners.push(listener);
        }

        /// Writes `bytes` to the scale after whatever is being written.
        fn write(&self, bytes: Vec<u8>) {
            self.0.borrow_mut().writes.push_back(bytes);
            if self.0.borrow().writing {
                return;
            }
            self.0.borrow_mut().writing = true;
            let bridge = self.clone();
            leptos::task::spawn_local(async move {
                loop {
                    let (next, characteristic) = {
                        let mut inner = bridge.0.borrow_mut();
                        (inner.writes.pop_front(), inner.write.clone())
                    };
                    let (Some(bytes), Some(characteristic)) = (next, characteristic) else { break };
                    let data: JsValue = Uint8Array::from(bytes.as_slice()).into();
                    let without_response = get(&characteristic, "properties")
                        .and_then(|p| get(&p, "writeWithoutResponse"))
                        .is_ok_and(|w| w.is_truthy());
                    let method = if without_response { "writeValueWithoutResponse" } else { "writeValueWithResponse" };
                    if let Err(e) = call(&characteristic, method, &[data]).await {
                        leptos::logging::warn!("cannot write to the scale: {}", words(&e));
                    }
                }
                bridge.0.borrow_mut().writing = false;
            });
        }

        /// The page's Tare, Start and Stop.
        pub fn command(&self, what: &str) {
            let Some(family) = self.0.borrow().family else { return };
            let (command, signal) = match what {
                "tare" => (Command::Tare, Signal::Tared),
                "start" => (Command::StartTimer, Signal::TimerStarted),
                _ => (Command::StopTimer, Signal::TimerStopped),
            };
            if command == Command::StartTimer {
                // From zero, as a barista would.
                if let Some(bytes) = family.command(Command::ResetTimer) {
                    self.write(bytes);
                }
            }
            if let Some(bytes) = family.command(command) {
                self.write(bytes);
            }
            self.signal(signal);
        }

        fn signal(&self, signal: Signal) {
            let cue = self.0.borrow_mut().watch.signal(signal, now_ms());
            self.cue(cue);
        }

        fn notified(&self, bytes: &[u8]) {
            let events = match self.0.borrow_mut().decoder.as_mut() {
                Some(decoder) => decoder.feed(bytes),
                None => return,
            };
            let state = self.state();
            for event in events {
                match event {
                    Event::Weight { grams, .. } => self.weighed(grams),
                    Event::Battery { percent } => state.battery.set(Some(percent)),
                    Event::Button(Button::Tare) => self.signal(Signal::Tared),
                    Event::Button(Button::TimerStart) => self.signal(Signal::TimerStarted),
                    Event::Button(Button::TimerStop) => self.signal(Signal::TimerStopped),
                    // Decent leaves its buttons to the app: ○ tares, □ starts and stops.
                    Event::Button(Button::Other { number: 1, .. }) => self.command("tare"),
                    Event::Button(Button::Other { number: 2, .. }) => {
                        self.command(if state.shot.get_untracked().is_some() { "stop" } else { "start" });
                    }
                    Event::Button(_) | Event::Timer { .. } | Event::Flow { .. } => {}
                }
            }
        }

        fn weighed(&self, grams: f64) {
            let state = self.state();
            state.weight.set(Some(grams));
            let now = now_ms();
            let cue = self.0.borrow_mut().watch.weight(grams, now);
            self.cue(cue);
            let Some(session) = state.shot.get_untracked() else { return };
            let (Some(id), Ok(session), Ok(value), Ok(tstamp)) = (
                state.scale.get_untracked().and_then(|s| ClientId::parse(&s).ok()),
                SessionId::parse(&session),
                Grams::new(grams),
                Timestamp::from_millis(now),
            ) else {
                return;
            };
            let reading = Reading::new(id, session, value, tstamp);
            {
                let mut inner = self.0.borrow_mut();
                if inner.waiting.len() >= MOST_WAITING {
                    inner.waiting.pop_front();
                    if inner.in_flight.is_some() {
                        inner.in_flight = None;
                    }
                    state.problem.set(Some("Readings waited too long for Wages: the oldest are dropped.".into()));
                }
                let key = inner.next_key;
                inner.next_key += 1.0;
                if let Some(store) = &inner.store {
                    store.keep(key, &reading);
                }
                inner.waiting.push_back((key, reading));
                state.waiting.set(inner.waiting.len());
            }
            // At the target: a sound, a buzz, and the scale's timer stopped.
            let signalled = self.0.borrow().signalled;
            if let Some(target) = state.target.get_untracked()
                && grams >= target
                && !signalled
            {
                self.0.borrow_mut().signalled = true;
                signal_target();
                self.command("stop");
            }
            self.flush();
        }

        fn cue(&self, cue: Option<Cue>) {
            let state = self.state();
            match cue {
                Some(Cue::Start) => {
                    state.shot.set(Some(format!("bt-{}", now_ms())));
                    self.0.borrow_mut().signalled = false;
                    self.keep_screen_on(true);
                }
                Some(Cue::Stop) => {
                    state.shot.set(None);
                    self.keep_screen_on(false);
                }
                None => {}
            }
        }

        /// Sends what waits, oldest first, one message at a time: the next goes once
        /// the one before is acknowledged, so the readings are stored in order.
        fn flush(&self) {
            let link = {
                let inner = self.0.borrow();
                if inner.in_flight.is_some() || inner.waiting.is_empty() {
                    return;
                }
                inner.link.clone()
            };
            let Some(link) = link else { return };
            let batch: Vec<Reading> = self.0.borrow().waiting.iter().take(BATCH).map(|(_, r)| *r).collect();
            if let Some(pid) = link.publish_readings(&batch, Form::Text) {
                self.0.borrow_mut().in_flight = Some((pid, batch.len()));
            }
        }

        fn acked(&self, pid: u16) {
            let state = self.state();
            {
                let mut inner = self.0.borrow_mut();
                let Some((expected, count)) = inner.in_flight else { return };
                if expected != pid {
                    return;
                }
                inner.in_flight = None;
                let count = count.min(inner.waiting.len());
                let keys: Vec<f64> = inner.waiting.drain(..count).map(|(k, _)| k).collect();
                if let (Some(store), Some(first), Some(last)) = (&inner.store, keys.first(), keys.last()) {
                    store.forget(*first, *last);
                }
                state.waiting.set(inner.waiting.len());
                state.stored.update(|n| *n += count as u64);
            }
            self.flush();
        }

        /// Publishes as scale `id` from now on.
        pub fn use_scale(&self, id: &str) {
            let Ok(client_id) = ClientId::parse(id) else { return };
            let state = self.state();
            state.scale.set(Some(id.to_owned()));
            let signals = LinkSignals {
                connection: state.connection,
                firmware: state.firmware,
                offer: state.offer,
                target: state.target,
            };
            let (on_ack, on_online) = (self.clone(), self.clone());
            let events = LinkEvents {
                acked: Box::new(move |pid| on_ack.acked(pid)),
                online: Box::new(move || {
                    // What was in flight on the lost connection goes again, in order.
                    on_online.0.borrow_mut().in_flight = None;
                    on_online.flush();
                }),
            };
            if let Some(old) = self.0.borrow_mut().link.take() {
                old.close();
            }
            let link = Link::open(client_id, signals, events);
            let mut inner = self.0.borrow_mut();
            inner.link = Some(link);
            inner.in_flight = None;
            // This scale's readings only, in the order they came: those of an earlier
            // visit first. Another scale's stay in IndexedDB for when it is chosen.
            let earlier = std::mem::take(&mut inner.earlier);
            let (mine, others): (Vec<_>, Vec<_>) = earlier.into_iter().partition(|(_, r)| r.client_id == client_id);
            inner.earlier = others;
            let mut queue: Vec<(f64, Reading)> = mine;
            queue.extend(inner.waiting.drain(..).filter(|(_, r)| r.client_id == client_id));
            queue.sort_by(|a, b| a.0.total_cmp(&b.0));
            inner.waiting = queue.into();
            state.waiting.set(inner.waiting.len());
        }

        /// Keeps the screen on while brewing (Screen Wake Lock, where the browser has it).
        fn keep_screen_on(&self, on: bool) {
            if !on {
                if let Some(lock) = self.0.borrow_mut().wake_lock.take() {
                    leptos::task::spawn_local(async move {
                        drop(call(&lock, "release", &[]).await);
                    });
                }
                return;
            }
            let bridge = self.clone();
            leptos::task::spawn_local(async move {
                let Ok(wake_lock) = get(&window().navigator(), "wakeLock") else { return };
                if wake_lock.is_undefined() {
                    return;
                }
                if let Ok(lock) = call(&wake_lock, "request", &["screen".into()]).await {
                    bridge.0.borrow_mut().wake_lock = Some(lock);
                }
            });
        }
    }

    /// A short tone and a buzz, where the device allows them.
    fn signal_target() {
        let navigator = window().navigator();
        let _ = navigator.vibrate_with_duration(300);
        let Ok(context) = web_sys::AudioContext::new() else { return };
        let Ok(tone) = context.create_oscillator() else { return };
        tone.frequency().set_value(880.0);
        if tone.connect_with_audio_node(&context.destination()).is_ok() {
            drop(tone.start());
            drop(tone.stop_with_when(context.current_time() + 0.25));
        }
    }

    /// Waits `duration` on the browser's clock.
    async fn gloo_timers_sleep(duration: Duration) {
        let (done, wait) = futures_channel::oneshot::channel::<()>();
        set_timeout(
            move || {
                let _ = done.send(());
            },
            duration,
        );
        let _ = wait.await;
    }
}
