//! The embedded broker's front door. rumqttd checks credentials only when a client
//! connects and has no rules per topic, so every outside MQTT connection (TCP on
//! `WAGES_MQTT_LISTEN`, WebSocket at `{base}/mqtt`) passes this gate: it reads the
//! CONNECT, admits a device by its own password (or a program by an API token), hands
//! the CONNECT on with this process's secret in place of the client's, and then
//! forwards bytes as they are, looking only at PUBLISH topics and SUBSCRIBE filters.
//! The broker itself listens on loopback and admits only holders of that secret: the
//! gate and the ingest pipeline.
//!
//! A device may publish only under `wages/devices/{its client_id}/` (its last will
//! included) and subscribe only to `wages/firmware` and its own firmware and target topics. A client
//! that steps outside is disconnected: what it sent past its rights never reaches the
//! broker and is never acknowledged, so a scale cannot believe a refused reading was
//! taken. A read token may subscribe to anything and publish nothing; a write token may
//! do both (`wages simulate` speaks for many scales with one).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use std::collections::HashSet;

use bytes::{Buf, BytesMut};
use rumqttc::mqttbytes::v4::{ConnAck, Connect, ConnectReturnCode, Login, Publish, Subscribe};
use rumqttc::mqttbytes::{self, FixedHeader, PacketType, QoS};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use wages_codec::ClientId;
use wages_codec::topic::{self, Channel};
use wages_store::{Registry, Scope};

use super::relay::{self, Relay, RelayEnd};
use super::v5;
use super::{INTERNAL_USER, MAX_PACKET_BYTES, READ_ROOM};
use crate::pipeline::Delivery;

/// How long a new connection has to send its CONNECT.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// Who a connection was admitted as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Client {
    /// A scale, by its own password: confined to its topics.
    Device(ClientId),
    /// A program holding an API token.
    Token(Scope),
}

impl Client {
    /// Whether this client may publish on `topic`.
    pub fn may_publish(&self, topic: &str) -> bool {
        match self {
            // Anything under its own `wages/devices/{client_id}/`, never a wildcard.
            Client::Device(id) => {
                topic::split_device(topic).is_some_and(|(who, rest)| who == id.as_str() && !rest.contains(['+', '#']))
            }
            Client::Token(scope) => *scope == Scope::Write,
        }
    }

    /// Whether this client may subscribe to `filter`.
    pub fn may_subscribe(&self, filter: &str) -> bool {
        match self {
            Client::Device(id) => {
                filter == topic::FIRMWARE
                    || topic::parse(filter).is_some_and(|(who, channel)| {
                        who == *id && matches!(channel, Channel::Firmware | Channel::Target)
                    })
            }
            Client::Token(_) => true,
        }
    }
}

/// Why a connection was refused or cut, for the log and `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    NoCredentials,
    BadCredentials,
    ClientIdMismatch,
    WillTopic,
    PublishTopic,
    SubscribeFilter,
    Malformed,
    Unavailable,
    TooManyConnections,
    KeepAlive,
}

impl Refusal {
    const ALL: [Refusal; 10] = [
        Refusal::NoCredentials,
        Refusal::BadCredentials,
        Refusal::ClientIdMismatch,
        Refusal::WillTopic,
        Refusal::PublishTopic,
        Refusal::SubscribeFilter,
        Refusal::Malformed,
        Refusal::Unavailable,
        Refusal::TooManyConnections,
        Refusal::KeepAlive,
    ];

    /// The `reason` label in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::NoCredentials => "no_credentials",
            Refusal::BadCredentials => "bad_credentials",
            Refusal::ClientIdMismatch => "client_id_mismatch",
            Refusal::WillTopic => "will_topic",
            Refusal::PublishTopic => "publish_topic",
            Refusal::SubscribeFilter => "subscribe_filter",
            Refusal::Malformed => "malformed",
            Refusal::Unavailable => "unavailable",
            Refusal::TooManyConnections => "too_many_connections",
            Refusal::KeepAlive => "keep_alive",
        }
    }
}

/// A refusal with what the log says about it.
struct Refused {
    why: Refusal,
    detail: String,
}

fn refused(why: Refusal, detail: impl Into<String>) -> Refused {
    Refused { why, detail: detail.into() }
}

/// The gate in front of the embedded broker. Shared by every connection.
pub struct Gate {
    broker: SocketAddr,
    registry: Registry,
    secret: String,
    /// Where reading messages go: straight into the pipeline.
    front_door: mpsc::Sender<Delivery>,
    refused: [AtomicU64; Refusal::ALL.len()],
    /// Connections open through the gate now, and the most it holds
    /// (`WAGES_MQTT_MAX_CONNECTIONS`, or fewer when open files are short).
    open: AtomicUsize,
    max_open: usize,
    /// Connections open now that subscribed to a filter readings could match: only while
    /// there is one do stored readings go on into the broker (no one else reads them
    /// there, and copying a large fleet's every message costs the broker its time).
    readers: AtomicUsize,
}

/// One connection counted in [`Gate::open`] while it lives.
struct Counted<'g>(&'g AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gate {
    /// A gate to the broker at `broker`, which admits `INTERNAL_USER` with `secret`,
    /// holding at most `max_open` connections.
    pub fn new(
        broker: SocketAddr,
        registry: Registry,
        secret: String,
        front_door: mpsc::Sender<Delivery>,
        max_open: usize,
    ) -> Arc<Gate> {
        Arc::new(Gate {
            broker,
            registry,
            secret,
            front_door,
            refused: Default::default(),
            open: AtomicUsize::new(0),
            max_open,
            readers: AtomicUsize::new(0),
        })
    }

    /// Connections open through the gate now.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections refused or cut, by reason.
    pub fn refusals(&self) -> impl Iterator<Item = (Refusal, u64)> + '_ {
        Refusal::ALL.iter().zip(&self.refused).map(|(why, n)| (*why, n.load(Ordering::Relaxed)))
    }

    /// Writes the refusal counters.
    pub fn write_metrics(&self, out: &mut crate::metrics::Exposition) {
        let refusals = self.refusals().map(|(why, n)| (why.label(), n));
        out.counters(
            "wages_mqtt_refused_total",
            "MQTT connections the gate refused or cut, by reason.",
            "reason",
            refusals,
        );
        out.gauge("wages_mqtt_connections", "MQTT connections open through the gate.", self.open_connections());
        out.gauge(
            "wages_mqtt_max_connections",
            "MQTT connections the gate holds at most (WAGES_MQTT_MAX_CONNECTIONS).",
            self.max_open,
        );
    }

    /// Serves one client connection until either side closes or the client oversteps.
    pub async fn serve<S>(self: Arc<Self>, client: S, peer: String)
    where
        S: AsyncRead + AsyncWrite + Send + Unpin,
    {
        self.open.fetch_add(1, Ordering::Relaxed);
        let _counted = Counted(&self.open);
        if let Err(Refused { why, detail }) = self.pass(client).await {
            self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
            tracing::info!(peer = %peer, reason = why.label(), "MQTT connection refused: {detail}");
        }
    }

    async fn pass<S>(&self, client: S) -> Result<(), Refused>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin,
    {
        let (mut from_client, mut to_client) = tokio::io::split(client);
        let mut buffer = BytesMut::with_capacity(4096);
        let first = match tokio::time::timeout(CONNECT_WAIT, next_frame(&mut from_client, &mut buffer)).await {
            Ok(Ok(Some(frame))) => frame,
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(e)) => return Err(refused(Refusal::Malformed, format!("{e:?}"))),
            Err(_) => return Err(refused(Refusal::Malformed, "no CONNECT within 10 s")),
        };
        // MQTT 5 or 3.1.1: the client's CONNECT in 3.1.1's form either way (see [`v5`]).
        let (connect, session) = match first.0.packet_type() {
            Ok(PacketType::Connect) if v5::is_v5_connect(&first.1) => v5::connect(first.1.freeze())
                .map(|(connect, session)| (connect, Some(session)))
                .map_err(|e| refused(Refusal::Malformed, format!("unreadable CONNECT: {e}")))?,
            Ok(PacketType::Connect) => Connect::read(first.0, first.1.freeze())
                .map(|connect| (connect, None))
                .map_err(|e| refused(Refusal::Malformed, format!("unreadable CONNECT: {e:?}")))?,
            _ => return Err(refused(Refusal::Malformed, "the first packet must be CONNECT")),
        };
        let v5 = session.is_some();
        if self.open.load(Ordering::Relaxed) > self.max_open {
            connack(&mut to_client, ConnectReturnCode::ServiceUnavailable, v5).await;
            let detail = format!(
                "{}: this node holds its most MQTT connections, {} (WAGES_MQTT_MAX_CONNECTIONS)",
                connect.client_id, self.max_open
            );
            return Err(refused(Refusal::TooManyConnections, detail));
        }
        let client = match self.admit(&connect).await {
            Ok(client) => client,
            Err((code, refusal)) => {
                connack(&mut to_client, code, v5).await;
                return Err(refusal);
            }
        };
        if let Some(will) = connect.last_will.as_ref().filter(|will| !client.may_publish(&will.topic)) {
            connack(&mut to_client, ConnectReturnCode::NotAuthorized, v5).await;
            return Err(refused(Refusal::WillTopic, format!("{}: last will on {}", connect.client_id, will.topic)));
        }
        let broker = match TcpStream::connect(self.broker).await {
            Ok(broker) => broker,
            Err(e) => {
                connack(&mut to_client, ConnectReturnCode::ServiceUnavailable, v5).await;
                return Err(refused(Refusal::Unavailable, format!("the embedded broker: {e}")));
            }
        };
        let _ = broker.set_nodelay(true);
        let (from_broker, mut to_broker) = broker.into_split();
        let mut handed_on = connect.clone();
        handed_on.login = Some(Login::new(INTERNAL_USER, self.secret.as_str()));
        // The broker sees only what is not a reading, so a scale that sends readings and
        // nothing else would look silent to it: the gate keeps the client's keep-alive
        // itself, and the broker is given the longest there is.
        handed_on.keep_alive = u16::MAX;
        let keep_alive = connect.keep_alive;
        let mut bytes = BytesMut::new();
        handed_on.write(&mut bytes).map_err(|e| refused(Refusal::Malformed, format!("{e:?}")))?;
        to_broker.write_all(&bytes).await.map_err(|e| refused(Refusal::Unavailable, e.to_string()))?;
        let mut admitted =
            Admitted { client, name: connect.client_id, v5, readings_released: HashSet::new(), reader: None };
        self.relay(&mut admitted, (from_client, to_client), (from_broker, to_broker), buffer, session, keep_alive).await
    }

    /// Passes an admitted connection's packets until either side closes or the client
    /// oversteps: the client's through [`Gate::take`], the broker's to the client, every
    /// answer in the client's order ([`Relay`]). Reads from the client only while fewer
    /// than [`relay::MAX_OWED`] answers are outstanding, so a slow store pushes back on
    /// the client's socket. A client silent for one and a half times its `keep_alive`
    /// (seconds; 0: no limit) is cut off, as MQTT says.
    async fn relay<'g, CR, CW, BR, BW>(
        &'g self,
        admitted: &mut Admitted<'g>,
        (mut from_client, mut to_client): (CR, CW),
        (mut from_broker, mut to_broker): (BR, BW),
        mut buffer: BytesMut,
        session: Option<v5::Session>,
        keep_alive: u16,
    ) -> Result<(), Refused>
    where
        CR: AsyncRead + Unpin,
        CW: AsyncWrite + Unpin,
        BR: AsyncRead + Unpin,
        BW: AsyncWrite + Unpin,
    {
        let name = admitted.name.clone();
        let silence = (keep_alive > 0).then(|| Duration::from_millis(u64::from(keep_alive) * 1500));
        let unavailable = |e: &dyn std::fmt::Display| refused(Refusal::Unavailable, format!("{name}: {e}"));
        let mut relay = Relay::new(session);
        let mut from_broker_buffer = BytesMut::new();
        let mut client_done = false;
        // The keep-alive's deadline moves only when it passes, not on every packet.
        let mut heard = Instant::now();
        let deadline = tokio::time::sleep(silence.unwrap_or(Duration::MAX / 4));
        tokio::pin!(deadline);
        // What the client sent before this connection read anything more.
        let mut taken = self.take(admitted, &mut buffer, &mut relay).await;
        loop {
            match taken {
                Ok(Next::More) => {}
                Ok(Next::End) => client_done = true,
                Err(refusal) => {
                    // What came before the refused packet was the client's right.
                    if relay.owes_broker() {
                        let _ = relay.flush(&mut to_broker, &mut tokio::io::sink()).await;
                    }
                    return Err(refusal);
                }
            }
            taken = Ok(Next::More);
            relay.release().map_err(|e| unavailable(&e))?;
            if relay.flush(&mut to_broker, &mut to_client).await.is_err() || client_done && relay.is_settled() {
                break;
            }
            if !relay.has_room() {
                // Not read while it waits for its answers, so not held to its keep-alive.
                heard = Instant::now();
            }
            buffer.reserve(READ_ROOM);
            from_broker_buffer.reserve(READ_ROOM);
            tokio::select! {
                read = from_client.read_buf(&mut buffer), if !client_done && relay.has_room() => match read {
                    Ok(0) | Err(_) => client_done = true,
                    Ok(_) => {
                        taken = self.take(admitted, &mut buffer, &mut relay).await;
                        // Heard from once taken: a wait for the pipeline is not silence.
                        heard = Instant::now();
                    }
                },
                read = from_broker.read_buf(&mut from_broker_buffer) => match read {
                    Ok(n) if n > 0 => relay.from_broker(&mut from_broker_buffer),
                    _ => break,
                },
                outcome = relay.front_stored() => match outcome {
                    Some(outcome) => relay.stored_front(outcome),
                    None => return Err(unavailable(&RelayEnd::NotStored)),
                },
                () = &mut deadline, if silence.is_some() && !client_done => {
                    let due = heard + silence.unwrap_or_default();
                    if due <= Instant::now() {
                        let detail = format!("{name}: nothing sent within 1.5 × its keep-alive of {keep_alive} s");
                        return Err(refused(Refusal::KeepAlive, detail));
                    }
                    deadline.as_mut().reset(due);
                }
            }
        }
        let _ = to_client.shutdown().await;
        Ok(())
    }

    /// Takes the client's whole packets at the front of `buffer` (an MQTT 5 client's in
    /// 3.1.1's form) and checks each: reading messages go into the pipeline, the rest on
    /// to the broker, all in the client's order through `relay`. Waits while the
    /// pipeline is full, so the client's socket pushes back. An MQTT 5 client that
    /// publishes or subscribes past its rights is told so with a reason code; a 3.1.1
    /// client, which cannot be, is cut off.
    async fn take<'g>(
        &'g self,
        admitted: &mut Admitted<'g>,
        buffer: &mut BytesMut,
        relay: &mut Relay,
    ) -> Result<Next, Refused> {
        let name = admitted.name.as_str();
        let malformed = |e: mqttbytes::Error| refused(Refusal::Malformed, format!("{name}: {e:?}"));
        loop {
            let header = match mqttbytes::check(buffer.iter(), MAX_PACKET_BYTES) {
                Ok(header) => header,
                Err(mqttbytes::Error::InsufficientBytes(_)) => return Ok(Next::More),
                Err(e) => return Err(malformed(e)),
            };
            let mut frame = take_frame(buffer, header.frame_length());
            let mut header = header;
            if admitted.v5 {
                frame = match v5::to_broker(frame.freeze()) {
                    Ok(Some(v4)) => v4,
                    // A DISCONNECT asking for the will: the connection just ends.
                    Ok(None) => return Ok(Next::End),
                    Err(e) => return Err(refused(Refusal::Malformed, format!("{name}: {e}"))),
                };
                header = mqttbytes::check(frame.iter(), MAX_PACKET_BYTES).map_err(malformed)?;
            }
            if let Err(refusal) = self.check(&admitted.client, name, header, &frame) {
                if let Some(answer) = admitted.v5.then(|| refusal_answer(&refusal, &frame)).flatten() {
                    self.note(&refusal, name);
                    relay.answer(answer);
                    continue;
                }
                return Err(refusal);
            }
            let kind = header.packet_type().map_err(malformed)?;
            if kind == PacketType::Subscribe && admitted.reader.is_none() && subscribes_to_readings(header, &frame) {
                self.readers.fetch_add(1, Ordering::Relaxed);
                admitted.reader = Some(Counted(&self.readers));
            }
            if kind == PacketType::Publish && publish_topic(&frame).is_some_and(is_readings) {
                let publish = Publish::read(header, frame.freeze()).map_err(malformed)?;
                if publish.qos == QoS::ExactlyOnce {
                    admitted.readings_released.insert(publish.pkid);
                }
                let (delivery, stored) = Delivery::from_gate(publish.topic.clone(), publish.payload.clone());
                if self.front_door.send(delivery).await.is_err() {
                    return Err(refused(Refusal::Unavailable, format!("{name}: the ingest pipeline has stopped")));
                }
                let copy = publish.retain || self.readers.load(Ordering::Relaxed) > 0;
                relay.reading(publish, stored, copy);
                continue;
            }
            let released = match kind {
                PacketType::PubRel => {
                    relay::leading_pkid(&frame).filter(|pkid| admitted.readings_released.remove(pkid))
                }
                _ => None,
            };
            match (kind, released) {
                (_, Some(pkid)) => relay.answer(relay::pubcomp(pkid)),
                (PacketType::Disconnect, None) => relay.disconnect(frame),
                _ => relay.forward(&frame, relay::owed_for(kind, &frame)),
            }
        }
    }

    /// Counts and logs a refusal the client was told of and stays connected after.
    fn note(&self, refusal: &Refused, name: &str) {
        self.refused[refusal.why as usize].fetch_add(1, Ordering::Relaxed);
        tracing::info!(client = name, reason = refusal.why.label(), "MQTT 5 packet refused: {}", refusal.detail);
    }

    /// One whole packet from an admitted client: PUBLISH topics and SUBSCRIBE filters
    /// must be its own; a second CONNECT is a protocol error.
    fn check(&self, client: &Client, name: &str, header: FixedHeader, frame: &[u8]) -> Result<(), Refused> {
        match header.packet_type() {
            Ok(PacketType::Publish) => {
                let topic = publish_topic(frame)
                    .ok_or_else(|| refused(Refusal::Malformed, format!("{name}: unreadable PUBLISH")))?;
                if !client.may_publish(topic) {
                    return Err(refused(Refusal::PublishTopic, format!("{name} may not publish on {topic}")));
                }
            }
            Ok(PacketType::Subscribe) => {
                let subscribe = Subscribe::read(header, bytes::Bytes::copy_from_slice(frame))
                    .map_err(|e| refused(Refusal::Malformed, format!("{name}: unreadable SUBSCRIBE: {e:?}")))?;
                if let Some(filter) = subscribe.filters.iter().find(|f| !client.may_subscribe(&f.path)) {
                    let detail = format!("{name} may not subscribe to {}", filter.path);
                    return Err(refused(Refusal::SubscribeFilter, detail));
                }
            }
            Ok(PacketType::Connect) => return Err(refused(Refusal::Malformed, format!("{name}: a second CONNECT"))),
            _ => {}
        }
        Ok(())
    }

    /// Who `connect` may act as, or the CONNACK code and the reason to refuse it.
    async fn admit(&self, connect: &Connect) -> Result<Client, (ConnectReturnCode, Refused)> {
        let Some(login) = &connect.login else {
            let detail = format!("{}: no user name and password", connect.client_id);
            return Err((ConnectReturnCode::NotAuthorized, refused(Refusal::NoCredentials, detail)));
        };
        let unavailable = |e: wages_store::RegistryError| {
            (ConnectReturnCode::ServiceUnavailable, refused(Refusal::Unavailable, format!("the registry: {e}")))
        };
        let bad = || {
            let detail = format!("{}: wrong user name or password (user {})", connect.client_id, login.username);
            (ConnectReturnCode::BadUserNamePassword, refused(Refusal::BadCredentials, detail))
        };
        if login.password.starts_with("wages_") {
            let token = self.registry.accounts().token(&login.password).await.map_err(unavailable)?;
            // Over MQTT a token writes (any scale's readings, the pipeline's settings)
            // only when its person is an admin; everyone else's tokens read.
            let scope = |role| if role == wages_store::Role::Admin { Scope::Write } else { Scope::Read };
            return token.map(|(_, role, _)| Client::Token(scope(role))).ok_or_else(bad);
        }
        let Ok(device) = ClientId::parse(&login.username) else { return Err(bad()) };
        if !self.registry.credentials().verify(&device, &login.password).await.map_err(unavailable)? {
            return Err(bad());
        }
        if connect.client_id != login.username {
            let detail = format!("client id {} is not the device's id {}", connect.client_id, login.username);
            return Err((ConnectReturnCode::NotAuthorized, refused(Refusal::ClientIdMismatch, detail)));
        }
        Ok(Client::Device(device))
    }
}

/// The topic of a whole PUBLISH packet, read in place: after the fixed header (a byte
/// and the remaining length's 1 to 4 bytes) comes the topic, as a 2-byte length and UTF-8.
fn publish_topic(frame: &[u8]) -> Option<&str> {
    let length_bytes = frame.iter().skip(1).take(4).position(|b| b & 0x80 == 0)? + 1;
    let body = frame.get(1 + length_bytes..)?;
    let len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    std::str::from_utf8(body.get(2..2 + len)?).ok()
}

/// Whether a PUBLISH on `topic` carries readings (`wages/devices/{id}/readings` or its
/// Protobuf twin), whatever `{id}` is: the pipeline checks the rest.
fn is_readings(topic: &str) -> bool {
    topic::split_device(topic)
        .is_some_and(|(_, rest)| rest == Channel::Readings.suffix() || rest == Channel::ReadingsProtobuf.suffix())
}

/// Whether a SUBSCRIBE (whole, checked) has a filter that some scale's readings topic
/// matches.
fn subscribes_to_readings(header: FixedHeader, frame: &[u8]) -> bool {
    Subscribe::read(header, bytes::Bytes::copy_from_slice(frame))
        .is_ok_and(|subscribe| subscribe.filters.iter().any(|f| may_match_readings(&f.path)))
}

/// Whether `filter` matches `wages/devices/{some id}/readings` or its Protobuf twin.
fn may_match_readings(filter: &str) -> bool {
    // A shared subscription's filter follows its group: `$share/{group}/{filter}`.
    let filter = match filter.strip_prefix("$share/") {
        Some(rest) => rest.split_once('/').map_or("", |(_, f)| f),
        None => filter,
    };
    let levels: Vec<&str> = filter.split('/').collect();
    [Channel::Readings, Channel::ReadingsProtobuf].into_iter().any(|channel| {
        // `*` stands for the scale's id, which any one level of a filter may name.
        let topic: Vec<&str> = ["wages", "devices", "*"].into_iter().chain(channel.suffix().split('/')).collect();
        matches_levels(&levels, &topic)
    })
}

fn matches_levels(filter: &[&str], topic: &[&str]) -> bool {
    match (filter.split_first(), topic.split_first()) {
        (Some((&"#", _)), _) => true,
        (Some((f, filter)), Some((t, topic))) => {
            (*f == "+" || *t == "*" && !f.is_empty() || f == t) && matches_levels(filter, topic)
        }
        (None, None) => true,
        _ => false,
    }
}

/// A connection admitted through the gate, as its packets are taken.
struct Admitted<'g> {
    client: Client,
    name: String,
    /// It speaks MQTT 5 (its packets reach here in 3.1.1's form).
    v5: bool,
    /// QoS 2 readings the gate answered: their PUBREL is answered here too.
    readings_released: HashSet<u16>,
    /// Counted among the readers once it subscribes where readings land, until it ends.
    reader: Option<Counted<'g>>,
}

/// What the client's packets so far call for.
enum Next {
    /// Read on.
    More,
    /// The client is done: what it is owed goes out, then the connection ends.
    End,
}

/// Tells a refused client why: a CONNACK with a return code (MQTT 5's reason code for
/// an MQTT 5 client).
async fn connack<W: AsyncWrite + Unpin>(to_client: &mut W, code: ConnectReturnCode, v5: bool) {
    let mut bytes = BytesMut::new();
    if v5 {
        bytes = v5::refusal(code);
    } else if ConnAck::new(code, false).write(&mut bytes).is_err() {
        return;
    }
    let _ = to_client.write_all(&bytes).await;
    let _ = to_client.shutdown().await;
}

/// What an MQTT 5 client is told of a PUBLISH or SUBSCRIBE outside its rights (`frame`,
/// in 3.1.1's form): a PUBACK or SUBACK saying not authorised. `None` where there is no
/// answer to give (a QoS 0 PUBLISH is dropped; anything else cuts the connection).
fn refusal_answer(refusal: &Refused, frame: &[u8]) -> Option<bytes::Bytes> {
    match refusal.why {
        Refusal::PublishTopic => {
            let qos = frame.first().map_or(0, |b| (b >> 1) & 0b11);
            let pkid = relay::publish_pkid(frame)?;
            let mut out = BytesMut::new();
            match qos {
                0 => return Some(bytes::Bytes::new()),
                1 => v5::rejected(QoS::AtLeastOnce, pkid, "unknown_device", &mut out),
                _ => v5::rejected(QoS::ExactlyOnce, pkid, "unknown_device", &mut out),
            }
            Some(out.freeze())
        }
        Refusal::SubscribeFilter => {
            let header = mqttbytes::check(frame.iter(), MAX_PACKET_BYTES).ok()?;
            let subscribe = Subscribe::read(header, bytes::Bytes::copy_from_slice(frame)).ok()?;
            Some(v5::suback_not_authorized(subscribe.pkid, subscribe.filters.len()))
        }
        _ => None,
    }
}

/// Takes the whole packet of `len` bytes at the front of the read buffer. A small one
/// is copied out, so the buffer's memory serves the next read in place: split off, it
/// would stay pinned while the packet waits to be stored, and each read would take a
/// fresh buffer (with thousands of scales each sending ten messages a second, that
/// churn cost the allocator more than the copy costs). A large one is handed on as it
/// is.
fn take_frame(buffer: &mut BytesMut, len: usize) -> BytesMut {
    if len > READ_ROOM / 4 {
        return buffer.split_to(len);
    }
    let frame = BytesMut::from(&buffer[..len]);
    buffer.advance(len);
    frame
}

/// The next whole packet from `from`, or `None` once it has closed.
async fn next_frame<R: AsyncRead + Unpin>(
    from: &mut R,
    buffer: &mut BytesMut,
) -> Result<Option<(FixedHeader, BytesMut)>, mqttbytes::Error> {
    loop {
        match mqttbytes::check(buffer.iter(), MAX_PACKET_BYTES) {
            Ok(header) => return Ok(Some((header, buffer.split_to(header.frame_length())))),
            Err(mqttbytes::Error::InsufficientBytes(_)) => {}
            Err(e) => return Err(e),
        }
        buffer.reserve(READ_ROOM);
        match from.read_buf(buffer).await {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) => {}
        }
    }
}

/// Accepts MQTT over TCP on `listener` and passes each connection through `gate`.
pub async fn accept(listener: tokio::net::TcpListener, gate: Arc<Gate>) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(gate.clone().serve(tcp, peer.to_string()));
            }
            Err(e) => {
                // Out of file descriptors, usually: wait rather than spin.
                tracing::warn!(error = %e, "MQTT listener: cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str) -> Client {
        Client::Device(ClientId::parse(id).expect("valid id"))
    }

    #[test]
    fn a_device_publishes_under_its_own_id_only() {
        let a = device("scale-a");
        assert!(a.may_publish("wages/devices/scale-a/readings"));
        assert!(a.may_publish("wages/devices/scale-a/status"));
        for topic in [
            "wages/devices/scale-b/readings",
            "wages/devices/scale-ab/readings",
            "wages/devices/scale-a",
            "wages/devices/scale-a/",
            "wages/devices/scale/readings",
            "wages/firmware",
            "wages/devices/scale-a/#",
            "Wages/devices/scale-a/readings",
        ] {
            assert!(!a.may_publish(topic), "{topic}");
        }
    }

    #[test]
    fn a_device_subscribes_to_firmware_only() {
        let a = device("scale-a");
        assert!(a.may_subscribe("wages/firmware"));
        assert!(a.may_subscribe("wages/devices/scale-a/firmware"));
        assert!(a.may_subscribe("wages/devices/scale-a/target"));
        for filter in [
            "wages/devices/scale-b/target",
            "wages/devices/+/target",
            "#",
            "wages/#",
            "wages/devices/+/firmware",
            "wages/devices/scale-b/firmware",
            "wages/devices/scale-a/readings",
            "wages/devices/scale-a/#",
            "$share/g/wages/firmware",
        ] {
            assert!(!a.may_subscribe(filter), "{filter}");
        }
    }

    #[test]
    fn publish_topics_are_read_in_place() {
        use rumqttc::mqttbytes::v4::Publish;
        for (topic, payload_len) in [("wages/devices/s/readings", 10), ("t", 0), ("wages/devices/s/readings", 300_000)]
        {
            let mut bytes = BytesMut::new();
            let mut publish = Publish::new(topic, QoS::AtLeastOnce, vec![b'x'; payload_len]);
            publish.pkid = 7;
            publish.write(&mut bytes).expect("encodes");
            assert_eq!(publish_topic(&bytes), Some(topic), "{payload_len}-byte payload");
        }
        assert_eq!(publish_topic(&[0x30]), None);
        assert_eq!(publish_topic(&[0x30, 0x05, 0x00, 0x09, b'a']), None, "a topic longer than the packet");
    }

    #[test]
    fn filters_that_readings_match() {
        for filter in [
            "#",
            "wages/#",
            "wages/devices/#",
            "wages/devices/+/readings",
            "wages/devices/scale-a/readings",
            "wages/devices/scale-a/readings/protobuf",
            "wages/devices/+/+",
            "wages/devices/scale-a/#",
            "+/+/+/readings",
            "$share/ha/wages/devices/+/readings",
        ] {
            assert!(may_match_readings(filter), "{filter}");
        }
        for filter in [
            "wages/firmware",
            "wages/devices/+/status",
            "wages/devices/+",
            "wages/devices/scale-a/readings/x",
            "wages/devices/+/state",
            "homeassistant/#",
            "wages/devices//readings",
            "$share/ha/wages/devices/+/status",
        ] {
            assert!(!may_match_readings(filter), "{filter}");
        }
    }

    #[test]
    fn tokens_read_or_write_by_scope() {
        let read = Client::Token(Scope::Read);
        assert!(read.may_subscribe("wages/#"));
        assert!(!read.may_publish("wages/devices/scale-a/readings"));
        let write = Client::Token(Scope::Write);
        assert!(write.may_publish("wages/devices/scale-a/readings"));
        assert!(write.may_subscribe("wages/devices/+/readings"));
    }
}
