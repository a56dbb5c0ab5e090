//! A browser tab acting as a scale: a real MQTT 3.1.1 client (the `mqtt-proto` codec
//! over a WebSocket to `{base}/mqtt`), logged in with a password the server issues for
//! this scale only (`simulator_password`). It announces itself `online` with its firmware
//! (retained), leaves `offline` as its last will, follows the scale's target yield and
//! firmware offers, publishes readings at QoS 1 and reports each PUBACK (the server sends
//! it once the readings are stored). It reconnects by itself, asking for a new password
//! when the broker refused the old one. The simulator tab and the Bluetooth bridge both
//! speak through it.

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
use wages_codec::topic::{self, Channel};
use wages_codec::{ClientId, Reading};

/// What the link shows; the pages render these.
#[derive(Clone, Copy)]
pub struct LinkSignals {
    /// `signing in`, `connecting`, `online`, `offline`, `refused`, `not allowed`.
    pub connection: RwSignal<&'static str>,
    pub firmware: RwSignal<String>,
    pub offer: RwSignal<Option<wages_codec::FirmwareOffer>>,
    /// The target yield the broker last gave the scale, grams.
    pub target: RwSignal<Option<f64>>,
}

/// What the page hears of the link besides its signals.
pub struct LinkEvents {
    /// A publish of [`Link::publish_readings`] was acknowledged: its readings are stored.
    pub acked: Box<dyn Fn(u16)>,
    /// The broker took the connection (again): what waits may be sent.
    pub online: Box<dyn Fn()>,
}

/// How often the tab pings the broker (its keep-alive is twice that).
const PING_EVERY: Duration = Duration::from_secs(20);

struct Inner {
    id: ClientId,
    url: String,
    signals: LinkSignals,
    events: LinkEvents,
    /// What to send on the open connection, if there is one: its socket sends it in
    /// order once open.
    outgoing: RefCell<Option<mpsc::UnboundedSender<Vec<u8>>>>,
    received: RefCell<Vec<u8>>,
    next_pid: Cell<u16>,
    /// Publishes of readings not yet acknowledged, by packet id.
    unacked: RefCell<HashSet<u16>>,
    closed: Cell<bool>,
    /// The tab's MQTT password; fetched before connecting, and again after a refusal.
    password: RefCell<Option<String>>,
}

/// A handle on the link; cheap to clone.
#[derive(Clone)]
pub struct Link(Rc<Inner>);

/// How readings are written: `text`, `json` or `protobuf` (docs/protocol.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Text,
    Json,
    Protobuf,
}

impl Link {
    /// Starts the link for scale `id` once the page has hydrated; it lives as long as
    /// the page, and closing the page leaves the last will.
    pub fn open(id: ClientId, signals: LinkSignals, events: LinkEvents) -> Link {
        let location = window().location();
        let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
        let host = location.host().unwrap_or_default();
        let path = expect_context::<crate::base::BasePath>().join("/mqtt");
        let link = Link(Rc::new(Inner {
            id,
            url: format!("{scheme}://{host}{path}"),
            signals,
            events,
            outgoing: RefCell::new(None),
            received: RefCell::new(Vec::new()),
            next_pid: Cell::new(1),
            unacked: RefCell::new(HashSet::new()),
            closed: Cell::new(false),
            password: RefCell::new(None),
        }));
        // Once the page has hydrated (this may run while it does), and whether or not a
        // reactive owner is there (the Bluetooth bridge opens its link from a click).
        let starter = link.clone();
        set_timeout(move || starter.connect(), Duration::ZERO);
        let pinger = link.clone();
        if let Ok(ping) = set_interval_with_handle(move || pinger.send(&Packet::Pingreq), PING_EVERY) {
            let closer = StoredValue::new_local(link.clone());
            on_cleanup(move || {
                ping.clear();
                closer.with_value(Link::close);
            });
        }
        link
    }

    pub fn id(&self) -> &ClientId {
        &self.0.id
    }

    pub fn is_online(&self) -> bool {
        self.0.outgoing.borrow().is_some() && self.0.signals.connection.get_untracked() == "online"
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
        self.0.signals.connection.set("signing in");
        let link = self.clone();
        leptos::task::spawn_local(async move {
            match crate::devices::simulator_password(link.0.id.to_string()).await {
                Ok(password) => {
                    *link.0.password.borrow_mut() = Some(password);
                    link.open_socket();
                }
                Err(_) => {
                    link.0.signals.connection.set("not allowed");
                    link.retry_later();
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
        inner.signals.connection.set("connecting");
        let Ok(socket) = WebSocket::open_with_protocol(&inner.url, "mqtt") else {
            inner.signals.connection.set("no WebSocket");
            return;
        };
        inner.received.borrow_mut().clear();
        // Publishes of the connection before are lost with it: the page sends again.
        inner.unacked.borrow_mut().clear();
        let (outgoing, mut queued) = mpsc::unbounded::<Vec<u8>>();
        *inner.outgoing.borrow_mut() = Some(outgoing);
        // CONNECT goes first: the socket sends what is queued once it is open.
        self.hello();
        let link = self.clone();
        leptos::task::spawn_local(async move {
            let (mut sink, mut stream) = socket.split();
            let write = async move {
                while let Some(bytes) = queued.next().await {
                    if sink.send(Message::Bytes(bytes)).await.is_err() {
                        return;
                    }
                }
                // The queue was dropped ([`Link::close`]).
                sink.close().await.ok();
            };
            let read = async {
                while let Some(Ok(message)) = stream.next().await {
                    if let Message::Bytes(bytes) = message {
                        link.received(&bytes);
                    }
                }
            };
            select(std::pin::pin!(write), std::pin::pin!(read)).await;
            link.0.outgoing.borrow_mut().take();
            if link.0.closed.get() {
                return;
            }
            if link.0.signals.connection.get_untracked() != "refused" {
                link.0.signals.connection.set("offline");
            }
            link.retry_later();
        });
    }

    /// Closing the page (or the link) drops the connection without a DISCONNECT: the
    /// broker then publishes the last will, `offline`.
    pub fn close(&self) {
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

    /// Publishes the scale's status: online, with its firmware (retained).
    pub fn announce(&self) {
        let status = format!("online;firmware={}", self.0.signals.firmware.get_untracked());
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
        let signals = self.0.signals;
        match packet {
            Packet::Connack(ack) if ack.code != ConnectReturnCode::Accepted => {
                // A ticket from before a server restart, say: the next try asks for a new one.
                signals.connection.set("refused");
                self.0.password.borrow_mut().take();
            }
            Packet::Connack(_) => {
                signals.connection.set("online");
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
                (self.0.events.online)();
            }
            Packet::Puback(pid) if self.0.unacked.borrow_mut().remove(&pid.value()) => {
                (self.0.events.acked)(pid.value());
            }
            Packet::Publish(publish) => {
                if let QosPid::Level1(pid) = publish.qos_pid {
                    self.send(&Packet::Puback(pid));
                }
                if topic::parse(&publish.topic_name).is_some_and(|(_, c)| c == Channel::Target) {
                    let target = wages_store::brew::Target::decode(&publish.payload);
                    signals.target.set(target.map(|t| t.target_yield));
                } else if let Ok(offer) = wages_codec::decode_offer(&publish.payload) {
                    signals.offer.set(Some(offer));
                }
            }
            _ => {}
        }
    }

    /// Publishes `readings` (all of this scale) in one message of `form`, encoded by the
    /// shared codec exactly as the server reads it; the packet id its PUBACK will carry,
    /// or `None` when there is no connection to publish on.
    pub fn publish_readings(&self, readings: &[Reading], form: Form) -> Option<u16> {
        if !self.is_online() || readings.is_empty() {
            return None;
        }
        let (topic, payload) = match form {
            Form::Protobuf => {
                let mut bytes = Vec::new();
                wages_codec::encode_protobuf(readings, &mut bytes);
                (topic::device(&self.0.id, Channel::ReadingsProtobuf), bytes)
            }
            Form::Json | Form::Text => {
                let mut text = String::new();
                if form == Form::Json {
                    wages_codec::encode_json(readings, &mut text);
                } else {
                    wages_codec::encode_text(readings, &mut text);
                }
                (topic::device(&self.0.id, Channel::Readings), text.into_bytes())
            }
        };
        let pid = self.publish(&topic, payload, false)?;
        self.0.unacked.borrow_mut().insert(pid);
        Some(pid)
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
