//! `{base}/simulator/{client_id}`: a browser tab acting as a scale. Once the
//! WASM runs it is a real MQTT 3.1.1 client (the `mqtt-proto` codec over a WebSocket to
//! `{base}/mqtt`), logged in with a password the server issues for this scale only
//! (`simulator_password`): it announces itself `online` with its firmware (retained), leaves
//! `offline` as its last will, publishes one reading on a click or a whole extraction on
//! "Brew" (the curve `wages simulate` uses), counts the scale's readings Wages has stored
//! (the server's figure when the page is rendered, then one more for each PUBACK, which
//! the server sends once a reading is stored, so a reload or another browser shows the
//! same), and shows firmware
//! offers as they arrive; "Install" reports the offered version. When the scale's recipe
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

/// The MQTT client of the tab.
#[cfg(feature = "hydrate")]
mod mqtt_tab {
    use std::cell::{Cell, RefCell};
    use std::collections::HashSet;
    use std::rc::Rc;
    use std::time::Duration;

    use futures_channel::mpsc;
    use futures_util::future::select;
    use futures_util::{SinkExt, StreamExt};
    use gloo_net::websocket::Message;
    use gloo_net::websocket::futures::WebSocket;
    use leptos::prelude::*;
    use mqtt_proto::v3::{Connect, ConnectReturnCode, LastWill, Packet, Publish, Subscribe};
    use mqtt_proto::{Pid, QoS, QosPid, TopicFilter, TopicName};

    use wages_codec::ClientId;
    use wages_codec::topic::{self, Channel};

    use super::TabState;

    /// How often the tab pings the broker (its keep-alive is twice that).
    const PING_EVERY: Duration = Duration::from_secs(20);

    struct Inner {
        id: ClientId,
        url: String,
        state: TabState,
        /// What to send on the open connection, if there is one: its socket sends it in
        /// order once open.
        outgoing: RefCell<Option<mpsc::UnboundedSender<Vec<u8>>>>,
        received: RefCell<Vec<u8>>,
        next_pid: Cell<u16>,
        /// Readings published and not yet acknowledged, by packet id.
        unacked: RefCell<HashSet<u16>>,
        closed: Cell<bool>,
        /// The tab's MQTT password (a ticket from the server, confined to this scale);
        /// fetched before connecting, and again after the broker refused it.
        password: RefCell<Option<String>>,
    }

    /// A handle the buttons use; cheap to clone.
    #[derive(Clone)]
    pub struct Tab(Rc<Inner>);

    fn storage() -> Option<web_sys::Storage> {
        window().local_storage().ok().flatten()
    }

    use wages_codec::clock::now_ms;

    /// Starts the client for scale `id`; it lives as long as the page.
    pub fn open(id: ClientId, state: TabState) -> Tab {
        let location = window().location();
        let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
        let host = location.host().unwrap_or_default();
        let path = expect_context::<crate::base::BasePath>().join("/mqtt");
        let tab = Tab(Rc::new(Inner {
            id,
            url: format!("{scheme}://{host}{path}"),
            state,
            outgoing: RefCell::new(None),
            received: RefCell::new(Vec::new()),
            next_pid: Cell::new(1),
            unacked: RefCell::new(HashSet::new()),
            closed: Cell::new(false),
            password: RefCell::new(None),
        }));
        // The firmware this tab "installed" before a reload; restored once the page has
        // hydrated (the server rendered the first values), and before connecting, so the
        // status names the right firmware.
        let restorer = StoredValue::new_local(tab.clone());
        Effect::new(move || {
            restorer.with_value(|tab| {
                if let Some(version) = storage().and_then(|store| store.get_item(&tab.key("firmware")).ok().flatten()) {
                    state.firmware.set(version);
                }
                tab.connect();
            });
        });
        let pinger = tab.clone();
        if let Ok(ping) = set_interval_with_handle(move || pinger.send(&Packet::Pingreq), PING_EVERY) {
            let closer = StoredValue::new_local(tab.clone());
            on_cleanup(move || {
                ping.clear();
                closer.with_value(Tab::close);
            });
        }
        tab
    }

    impl Tab {
        fn key(&self, what: &str) -> String {
            format!("wages-simulator-{}-{what}", self.0.id)
        }

        fn status_topic(&self) -> String {
            topic::device(&self.0.id, Channel::Status)
        }

        /// Connects, asking the server for a password first when the tab has none.
        fn connect(&self) {
            if self.0.password.borrow().is_some() {
                self.open_socket();
                return;
            }
            self.0.state.connection.set("signing in");
            let tab = self.clone();
            leptos::task::spawn_local(async move {
                match crate::devices::simulator_password(tab.0.id.to_string()).await {
                    Ok(password) => {
                        *tab.0.password.borrow_mut() = Some(password);
                        tab.open_socket();
                    }
                    Err(_) => {
                        tab.0.state.connection.set("not allowed");
                        tab.retry_later();
                    }
                }
            });
        }

        /// Connects again in a moment, unless the page is closing.
        fn retry_later(&self) {
            if self.0.closed.get() {
                return;
            }
            let again = self.clone();
            set_timeout(
                move || {
                    if !again.0.closed.get() {
                        again.connect();
                    }
                },
                Duration::from_secs(2),
            );
        }

        /// Opens the WebSocket (gloo-net's: a sink of frames to send and a stream of frames
        /// received, each half worked by this connection's task) and says hello on it.
        fn open_socket(&self) {
            let inner = &self.0;
            inner.state.connection.set("connecting");
            let Ok(socket) = WebSocket::open_with_protocol(&inner.url, "mqtt") else {
                inner.state.connection.set("no WebSocket");
                return;
            };
            inner.received.borrow_mut().clear();
            let (outgoing, mut queued) = mpsc::unbounded::<Vec<u8>>();
            *inner.outgoing.borrow_mut() = Some(outgoing);
            // CONNECT goes first: the socket sends what is queued once it is open.
            self.hello();
            let tab = self.clone();
            leptos::task::spawn_local(async move {
                let (mut sink, mut stream) = socket.split();
                let write = async move {
                    while let Some(bytes) = queued.next().await {
                        if sink.send(Message::Bytes(bytes)).await.is_err() {
                            return;
                        }
                    }
                    // The queue was dropped ([`Tab::close`]).
                    sink.close().await.ok();
                };
                let read = async {
                    while let Some(Ok(message)) = stream.next().await {
                        if let Message::Bytes(bytes) = message {
                            tab.received(&bytes);
                        }
                    }
                };
                select(std::pin::pin!(write), std::pin::pin!(read)).await;
                tab.0.outgoing.borrow_mut().take();
                if tab.0.closed.get() {
                    return;
                }
                if tab.0.state.connection.get_untracked() != "refused" {
                    tab.0.state.connection.set("offline");
                }
                tab.retry_later();
            });
        }

        /// Closing the page drops the connection without a DISCONNECT: the broker then
        /// publishes the last will, `offline`.
        fn close(&self) {
            self.0.closed.set(true);
            // Its connection's task closes the socket once the queue is gone.
            self.0.outgoing.borrow_mut().take();
        }

        fn send(&self, packet: &Packet) {
            let Ok(bytes) = packet.encode() else { return };
            if let Some(outgoing) = self.0.outgoing.borrow().as_ref() {
                outgoing.unbounded_send(bytes.as_ref().to_vec()).ok();
            }
        }

        fn pid(&self) -> Pid {
            let n = self.0.next_pid.get();
            self.0.next_pid.set(if n == u16::MAX { 1 } else { n + 1 });
            Pid::try_from(n).unwrap_or_default()
        }

        fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>, retain: bool) -> Option<u16> {
            let topic = TopicName::try_from(topic).ok()?;
            let pid = self.pid();
            let mut publish = Publish::new(QosPid::Level1(pid), topic, payload.into().into());
            publish.retain = retain;
            self.send(&Packet::Publish(publish));
            Some(pid.value())
        }

        /// CONNECT with the last will; the rest follows the CONNACK.
        fn hello(&self) {
            let Ok(will_topic) = TopicName::try_from(self.status_topic().as_str()) else { return };
            let mut will = LastWill::new(QoS::Level1, will_topic, b"offline".to_vec().into());
            will.retain = true;
            let mut connect = Connect::new(self.0.id.as_str().into(), 40);
            connect.last_will = Some(will);
            connect.username = Some(self.0.id.as_str().into());
            connect.password = self.0.password.borrow().clone().map(|p| p.into_bytes().into());
            self.send(&Packet::Connect(connect));
        }

        fn announce(&self) {
            let status = format!("online;firmware={}", self.0.state.firmware.get_untracked());
            self.publish(&self.status_topic(), status, true);
        }

        fn received(&self, bytes: &[u8]) {
            let mut buffer = self.0.received.borrow_mut();
            buffer.extend_from_slice(bytes);
            let mut packets = Vec::new();
            while let Some(length) = frame_length(&buffer) {
                if buffer.len() < length {
                    break;
                }
                if let Ok(Some(packet)) = Packet::decode(&buffer[..length]) {
                    packets.push(packet);
                }
                buffer.drain(..length);
            }
            drop(buffer);
            for packet in packets {
                self.handle(packet);
            }
        }

        fn handle(&self, packet: Packet) {
            let state = self.0.state;
            match packet {
                Packet::Connack(ack) if ack.code != ConnectReturnCode::Accepted => {
                    // A ticket from before a server restart, say: the next try asks for a new one.
                    state.connection.set("refused");
                    self.0.password.borrow_mut().take();
                }
                Packet::Connack(_) => {
                    state.connection.set("online");
                    self.announce();
                    let filters = [
                        topic::FIRMWARE.to_owned(),
                        topic::device(&self.0.id, Channel::Firmware),
                        topic::device(&self.0.id, Channel::Target),
                    ];
                    let topics = filters
                        .iter()
                        .filter_map(|f| TopicFilter::try_from(f.as_str()).ok())
                        .map(|f| (f, QoS::Level1))
                        .collect();
                    self.send(&Packet::Subscribe(Subscribe::new(self.pid(), topics)));
                }
                Packet::Puback(pid) if self.0.unacked.borrow_mut().remove(&pid.value()) => {
                    state.sent.update(|n| *n += 1);
                }
                Packet::Publish(publish) => {
                    if let QosPid::Level1(pid) = publish.qos_pid {
                        self.send(&Packet::Puback(pid));
                    }
                    if topic::parse(&publish.topic_name).is_some_and(|(_, c)| c == Channel::Target) {
                        let target = wages_store::brew::Target::decode(&publish.payload);
                        state.target.set(target.map(|t| t.target_yield));
                    } else if let Ok(offer) = wages_codec::decode_offer(&publish.payload) {
                        state.offer.set(Some(offer));
                    }
                }
                _ => {}
            }
        }

        fn send_reading(&self, session: &str, grams: f64, tstamp: u64) {
            let line = format!("client_id={};session_id={session};value={grams};tstamp={tstamp}", self.0.id);
            // Encoded by the shared codec, exactly as the server will read it.
            let Ok(reading) = wages_codec::decode_line(line.as_bytes()) else { return };
            let (topic, payload) = match self.0.state.form.get_untracked().as_str() {
                "protobuf" => {
                    let mut bytes = Vec::new();
                    wages_codec::encode_protobuf(&[reading], &mut bytes);
                    (topic::device(&self.0.id, Channel::ReadingsProtobuf), bytes)
                }
                form => {
                    let mut text = String::new();
                    if form == "json" {
                        wages_codec::encode_json(&[reading], &mut text);
                    } else {
                        wages_codec::encode_text(&[reading], &mut text);
                    }
                    (topic::device(&self.0.id, Channel::Readings), text.into_bytes())
                }
            };
            if let Some(pid) = self.publish(&topic, payload, false) {
                self.0.unacked.borrow_mut().insert(pid);
            }
        }

        pub fn send_one(&self) {
            self.send_reading(&format!("single-{}", now_ms()), 18.0, now_ms());
        }

        /// A whole extraction at 10 Hz, in real time; stopped by weight when there is a target.
        pub fn brew(&self, seconds: u32) {
            let state = self.0.state;
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
            let samples: Rc<RefCell<std::vec::IntoIter<(u64, f64)>>> = Rc::new(RefCell::new(samples.into_iter()));
            let (start, session) = (now_ms(), format!("brew-{}", now_ms()));
            let tab = self.clone();
            let handle: Rc<Cell<Option<IntervalHandle>>> = Rc::new(Cell::new(None));
            let stop = handle.clone();
            let tick = move || match samples.borrow_mut().next() {
                Some((t, grams)) => tab.send_reading(&session, grams, start + t),
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
            self.0.state.firmware.set(version.to_owned());
            if let Some(store) = storage() {
                drop(store.set_item(&self.key("firmware"), version));
            }
            self.announce();
        }
    }

    /// The length of the MQTT packet at the start of `buffer`, once its header is in.
    fn frame_length(buffer: &[u8]) -> Option<usize> {
        let mut remaining = 0usize;
        for (i, byte) in buffer.iter().skip(1).take(4).enumerate() {
            remaining |= usize::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Some(1 + i + 1 + remaining);
            }
        }
        None
    }
}
